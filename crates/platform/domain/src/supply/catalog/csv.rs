//! CSV import of resources (`docs/supply.md` §2): a header naming the documented columns
//! ([`CSV_COLUMNS`]) in any order, one resource per line; every resource or every bad
//! cell with its line and column, never part of a file.

use std::collections::BTreeMap;

use super::{CSV_BYTES_MAX, CSV_ROWS_MAX, FieldProblem, Problem, ResourceDraft, ResourceSpec, fp};
use serde::Serialize;

/// The CSV columns of a resource import, in their documented order (`docs/supply.md`).
pub const CSV_COLUMNS: [&str; 17] = [
    "name",
    "location",
    "status",
    "gpu_model",
    "gpu_count",
    "gpu_mem_gb",
    "cpu_cores",
    "ram_gb",
    "storage_gb",
    "tflops",
    "region",
    "available_from_min",
    "available_until_min",
    "green_share",
    "carbon_g_per_kwh",
    "pue",
    "utilisation",
];

/// A bad cell of a CSV import: its line (1 is the header) and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsvProblem {
    /// The line in the file, counting from 1 (the header).
    pub line: usize,
    /// The column (a [`CSV_COLUMNS`] name, or `header` / `file`).
    pub column: &'static str,
    /// What is wrong.
    pub problem: Problem,
}

impl std::fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.problem
        )
    }
}

/// Splits one CSV line: comma-separated, double quotes around a cell allow commas and
/// `""` for a quote (RFC 4180 within one line).
fn split_line(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

fn header(line: &str) -> Result<Vec<usize>, Vec<CsvProblem>> {
    let names = split_line(line);
    let mut at = [usize::MAX; CSV_COLUMNS.len()];
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let n = n.trim().trim_start_matches('\u{feff}').to_lowercase();
        match CSV_COLUMNS.iter().position(|c| *c == n) {
            Some(k) if at[k] != usize::MAX => out.push(CsvProblem {
                line: 1,
                column: CSV_COLUMNS[k],
                problem: Problem::DuplicateColumn,
            }),
            Some(k) => at[k] = i,
            None => out.push(CsvProblem {
                line: 1,
                column: "header",
                problem: Problem::UnknownColumn { name: n },
            }),
        }
    }
    for (k, pos) in at.iter().enumerate() {
        if *pos == usize::MAX {
            out.push(CsvProblem {
                line: 1,
                column: CSV_COLUMNS[k],
                problem: Problem::MissingColumn,
            });
        }
    }
    if out.is_empty() {
        Ok(at.to_vec())
    } else {
        Err(out)
    }
}

fn num<T: std::str::FromStr>(
    cells: &BTreeMap<&'static str, String>,
    col: &'static str,
    bad: Problem,
    out: &mut Vec<FieldProblem>,
) -> Option<T> {
    let v = cells.get(col).map(|s| s.trim()).unwrap_or_default();
    if v.is_empty() {
        out.push(fp(col, Problem::Missing));
        return None;
    }
    v.parse().map_err(|_| out.push(fp(col, bad))).ok()
}

/// Reads a resource from its cells by column name (a CSV line, or a form's fields): every
/// cell that is not a number where one is needed is named.
pub fn draft_from_cells(
    cells: &BTreeMap<&'static str, String>,
) -> Result<ResourceDraft, Vec<FieldProblem>> {
    let mut out = Vec::new();
    let t = |c: &str| cells.get(c).cloned().unwrap_or_default();
    let whole = Problem::NotAWholeNumber;
    let gpu_count = num(cells, "gpu_count", whole.clone(), &mut out);
    let gpu_mem_gb = num(cells, "gpu_mem_gb", whole.clone(), &mut out);
    let cpu_cores = num(cells, "cpu_cores", whole.clone(), &mut out);
    let ram_gb = num(cells, "ram_gb", whole.clone(), &mut out);
    let storage_gb = num(cells, "storage_gb", whole.clone(), &mut out);
    let tflops = num(cells, "tflops", Problem::NotANumber, &mut out);
    let from = num(cells, "available_from_min", whole.clone(), &mut out);
    let until = num(cells, "available_until_min", whole, &mut out);
    let green = num(cells, "green_share", Problem::NotANumber, &mut out);
    let carbon = num(cells, "carbon_g_per_kwh", Problem::NotANumber, &mut out);
    let pue = num(cells, "pue", Problem::NotANumber, &mut out);
    let util = num(cells, "utilisation", Problem::NotANumber, &mut out);
    let draft = ResourceDraft {
        name: t("name"),
        location: t("location"),
        status: t("status"),
        gpu_model: t("gpu_model"),
        gpu_count: gpu_count.unwrap_or(0),
        gpu_mem_gb: gpu_mem_gb.unwrap_or(0),
        cpu_cores: cpu_cores.unwrap_or(0),
        ram_gb: ram_gb.unwrap_or(0),
        storage_gb: storage_gb.unwrap_or(0),
        tflops: tflops.unwrap_or(0.0),
        region: t("region"),
        available_from_min: from.unwrap_or(0),
        available_until_min: until.unwrap_or_else(|| from.unwrap_or(0)),
        green_share: green.unwrap_or(0.0),
        carbon_g_per_kwh: carbon.unwrap_or(0.0),
        pue: pue.unwrap_or(1.0),
        utilisation: util.unwrap_or(0.0),
    };
    if out.is_empty() {
        return Ok(draft);
    }
    // Unreadable numbers stand in as valid values, so that the other cells are still
    // checked and every bad cell is named at once.
    if let Err(more) = draft.check() {
        let named: Vec<&'static str> = out.iter().map(|p| p.field).collect();
        out.extend(more.into_iter().filter(|p| !named.contains(&p.field)));
    }
    Err(out)
}

/// Reads a resource import: every resource, or every bad cell with its line and column
/// (a name given twice in the file is a problem of its later line).
pub fn parse_csv(text: &str) -> Result<Vec<ResourceSpec>, Vec<CsvProblem>> {
    parse_csv_lines(text).map(|v| v.into_iter().map(|(_, spec)| spec).collect())
}

/// [`parse_csv`] with each resource's line in the file.
pub fn parse_csv_lines(text: &str) -> Result<Vec<(usize, ResourceSpec)>, Vec<CsvProblem>> {
    let whole_file = |problem| {
        Err(vec![CsvProblem {
            line: 1,
            column: "file",
            problem,
        }])
    };
    if text.len() > CSV_BYTES_MAX {
        return whole_file(Problem::TooLarge { max: CSV_BYTES_MAX });
    }
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, head)) = lines.next() else {
        return whole_file(Problem::Missing);
    };
    let at = header(head)?;
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let mut names = std::collections::HashMap::new();
    for (n, (i, line)) in lines.enumerate() {
        if n >= CSV_ROWS_MAX {
            return whole_file(Problem::TooLarge { max: CSV_ROWS_MAX });
        }
        let cells = split_line(line);
        let line_no = i + 1;
        if cells.len() != at.len() {
            bad.push(CsvProblem {
                line: line_no,
                column: "file",
                problem: Problem::CellCount {
                    expected: at.len(),
                    found: cells.len(),
                },
            });
            continue;
        }
        let by_name = CSV_COLUMNS
            .iter()
            .zip(&at)
            .map(|(c, pos)| (*c, cells[*pos].clone()))
            .collect();
        match draft_from_cells(&by_name).and_then(|d| d.check()) {
            Ok(spec) => {
                let name = spec.get().name.clone();
                match names.get(&name) {
                    Some(first) => bad.push(CsvProblem {
                        line: line_no,
                        column: "name",
                        problem: Problem::DuplicateName { line: *first },
                    }),
                    None => {
                        names.insert(name, line_no);
                        good.push((line_no, spec));
                    }
                }
            }
            Err(ps) => bad.extend(ps.into_iter().map(|p| CsvProblem {
                line: line_no,
                column: p.field,
                problem: p.problem,
            })),
        }
    }
    if bad.is_empty() { Ok(good) } else { Err(bad) }
}
