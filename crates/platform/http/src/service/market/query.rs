//! A search's parameters: form filters and the advanced constraint, checked one by one
//! (every refusal names its parameter) and composed into one constraint of the market
//! core's language (`docs/market.md`).

use serde::{Deserialize, Serialize};
use suanli_market::attrs::{PRICE_MAX_FEN_PER_MIN, REPUTATION_MAX, STRING_ATTR_LEN_MAX_BYTES};
use suanli_market::constraint::{Constraint, ConstraintError, Expr};
use suanli_market::matching::{DEMAND_UNITS_MAX, DURATION_MAX_MIN, SearchOrder};
use suanli_platform_domain::supply::catalog::GpuModel;

use super::MarketError;

/// Results one search answers at most.
pub const RESULTS_MAX: usize = 50;
/// Results a search answers when `limit` is not given.
pub const RESULTS_DEFAULT: usize = 20;
/// Rejections one explanation lists at most.
pub const WHY_NOT_MAX: usize = 50;
/// Rejections an explanation lists when `limit` is not given.
pub const WHY_NOT_DEFAULT: usize = 10;
/// Duration of the estimate when none is given, in minutes.
pub const DURATION_DEFAULT_MIN: u32 = 60;
/// Longest text of one parameter, in bytes (the constraint has the core's own limit).
pub const PARAM_LEN_MAX_BYTES: usize = 64;
/// Highest carbon intensity a filter may name, gCO2/kWh (the market's range).
pub const CARBON_MAX_G_PER_KWH: u32 = 2000;
/// Highest PUE a filter may name (the market's range).
pub const PUE_FILTER_MAX: f64 = 3.0;

/// A search's parameters as given (query string or form): every one optional text, so
/// that a bad value is refused naming its parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// A GPU model of the vocabulary (normalised: `a100`, `gpu-a100` are `A100`).
    pub gpu_model: Option<String>,
    /// At least this many GPUs per resource.
    pub gpu_count_min: Option<String>,
    /// At least this much memory per GPU, GiB.
    pub gpu_mem_gb_min: Option<String>,
    /// Exactly this region.
    pub region: Option<String>,
    /// At most this price per unit-minute, fen (the demand's limit).
    pub max_price_fen_per_min: Option<String>,
    /// The resource's window starts at or before this minute of the platform clock.
    pub available_from_min: Option<String>,
    /// The resource's window ends at or after this minute of the platform clock.
    pub available_until_min: Option<String>,
    /// At least this renewable share, whole percent 0..=100.
    pub green_pct_min: Option<String>,
    /// At most this carbon intensity, gCO2/kWh.
    pub carbon_max: Option<String>,
    /// At most this PUE.
    pub pue_max: Option<String>,
    /// At least this reputation, 0..=5 (unrated suppliers have none and fail it).
    pub reputation_min: Option<String>,
    /// The advanced box: a constraint in the market's language, and-ed with the filters.
    pub constraint: Option<String>,
    /// `rank` (default), `price`, `score` or `reputation`.
    pub sort: Option<String>,
    /// Minutes of the estimate (default [`DURATION_DEFAULT_MIN`]).
    pub duration_min: Option<String>,
    /// Units wanted (default 1): offers with fewer free units do not match.
    pub units: Option<String>,
    /// Results (search) or rejections (explain) to answer.
    pub limit: Option<String>,
    /// Explain only: the listed offer to explain.
    pub offer: Option<String>,
}

/// Checked parameters.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The composed constraint (filters and the advanced text).
    pub constraint: Constraint,
    /// The price limit, fen per unit-minute.
    pub max_price_fen_per_min: i64,
    /// Units wanted.
    pub units: u32,
    /// Minutes of the estimate.
    pub duration_min: u32,
    /// Order of results.
    pub sort: SearchOrder,
    /// The `limit` given, if any (its default depends on the operation).
    pub limit: Option<usize>,
    /// The offer to explain.
    pub offer: Option<i64>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn bad(field: &'static str, message: impl Into<String>) -> MarketError {
    MarketError::Param {
        field,
        message: message.into(),
    }
}

fn int(
    field: &'static str,
    v: &Option<String>,
    min: i64,
    max: i64,
) -> Result<Option<i64>, MarketError> {
    let Some(t) = given(v) else { return Ok(None) };
    match t.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(bad(
            field,
            format!("must be a whole number from {min} to {max}"),
        )),
    }
}

fn number(
    field: &'static str,
    v: &Option<String>,
    min: f64,
    max: f64,
) -> Result<Option<f64>, MarketError> {
    let Some(t) = given(v) else { return Ok(None) };
    if t.len() > PARAM_LEN_MAX_BYTES {
        return Err(bad(
            field,
            format!("longer than {PARAM_LEN_MAX_BYTES} bytes"),
        ));
    }
    match t.parse::<f64>() {
        Ok(n) if n.is_finite() && (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(bad(field, format!("must be a number from {min} to {max}"))),
    }
}

/// A string literal of the constraint language.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The `gpu_model` parameter, normalised by the vocabulary (`a100`, `gpu-a100` → `A100`).
pub(super) fn gpu_model_param(v: &Option<String>) -> Result<Option<GpuModel>, MarketError> {
    given(v)
        .map(|m| GpuModel::parse(m).map_err(|e| bad("gpu_model", e.to_string())))
        .transpose()
}

/// The `region` parameter: 1 to 32 bytes of printable text.
pub(super) fn region_param(v: &Option<String>) -> Result<Option<&str>, MarketError> {
    let Some(r) = given(v) else { return Ok(None) };
    if r.len() > STRING_ATTR_LEN_MAX_BYTES || r.chars().any(char::is_control) {
        return Err(bad(
            "region",
            format!("must be 1 to {STRING_ATTR_LEN_MAX_BYTES} bytes of printable text"),
        ));
    }
    Ok(Some(r))
}

/// The filters' clauses, in the form's order.
fn clauses(p: &SearchParams) -> Result<Vec<String>, MarketError> {
    let mut c = Vec::new();
    if let Some(m) = gpu_model_param(&p.gpu_model)? {
        c.push(format!("gpu_model == {}", quoted(m.as_str())));
    }
    let u32_max = i64::from(u32::MAX);
    if let Some(n) = int("gpu_count_min", &p.gpu_count_min, 0, u32_max)? {
        c.push(format!("gpu_count >= {n}"));
    }
    if let Some(n) = int("gpu_mem_gb_min", &p.gpu_mem_gb_min, 0, u32_max)? {
        c.push(format!("mem_gb >= {n}"));
    }
    if let Some(r) = region_param(&p.region)? {
        c.push(format!("region == {}", quoted(r)));
    }
    if let Some(n) = int(
        "available_from_min",
        &p.available_from_min,
        i64::MIN,
        i64::MAX,
    )? {
        c.push(format!("available_from_min <= {n}"));
    }
    if let Some(n) = int(
        "available_until_min",
        &p.available_until_min,
        i64::MIN,
        i64::MAX,
    )? {
        c.push(format!("available_until_min >= {n}"));
    }
    if let Some(n) = int("green_pct_min", &p.green_pct_min, 0, 100)? {
        c.push(format!("green_share >= {}.{:02}", n / 100, n % 100));
    }
    if let Some(n) = int(
        "carbon_max",
        &p.carbon_max,
        0,
        i64::from(CARBON_MAX_G_PER_KWH),
    )? {
        c.push(format!("carbon_g_per_kwh <= {n}"));
    }
    if let Some(x) = number("pue_max", &p.pue_max, 1.0, PUE_FILTER_MAX)? {
        c.push(format!("pue <= {x:.6}"));
    }
    if let Some(x) = number("reputation_min", &p.reputation_min, 0.0, REPUTATION_MAX)? {
        c.push(format!("reputation >= {x:.6}"));
    }
    Ok(c)
}

/// The advanced text checked on its own (so an error's span points into what the user
/// typed), then as one clause of the composed constraint: as typed when it is a
/// conjunction or a single comparison, in parentheses when it is a disjunction.
fn advanced(p: &SearchParams) -> Result<Option<String>, MarketError> {
    let Some(raw) = p.constraint.as_deref().filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let c = Constraint::parse(raw).map_err(|error: ConstraintError| MarketError::Constraint {
        error,
        text: raw.to_owned(),
    })?;
    Ok(Some(match c.expr() {
        Expr::Or(..) => format!("({raw})"),
        _ => raw.to_owned(),
    }))
}

impl SearchParams {
    /// Checks every parameter and composes the constraint.
    pub fn check(&self) -> Result<SearchRequest, MarketError> {
        let mut parts = clauses(self)?;
        parts.extend(advanced(self)?);
        let text = if parts.is_empty() {
            "true".to_owned()
        } else {
            parts.join(" and ")
        };
        // The composed text can pass the core's limits even when its parts did not.
        let constraint = Constraint::parse(&text).map_err(|error| MarketError::Constraint {
            error,
            text: text.clone(),
        })?;
        let sort = match given(&self.sort) {
            None => SearchOrder::Rank,
            Some(s) => SearchOrder::parse(s)
                .ok_or_else(|| bad("sort", "must be rank, price, score or reputation"))?,
        };
        let n = |v: Option<i64>, d: u32| v.and_then(|x| u32::try_from(x).ok()).unwrap_or(d);
        Ok(SearchRequest {
            constraint,
            max_price_fen_per_min: int(
                "max_price_fen_per_min",
                &self.max_price_fen_per_min,
                0,
                PRICE_MAX_FEN_PER_MIN,
            )?
            .unwrap_or(PRICE_MAX_FEN_PER_MIN),
            units: n(
                int("units", &self.units, 1, i64::from(DEMAND_UNITS_MAX))?,
                1,
            ),
            duration_min: n(
                int(
                    "duration_min",
                    &self.duration_min,
                    1,
                    i64::from(DURATION_MAX_MIN),
                )?,
                DURATION_DEFAULT_MIN,
            ),
            sort,
            limit: int("limit", &self.limit, 1, RESULTS_MAX.max(WHY_NOT_MAX) as i64)?
                .and_then(|x| usize::try_from(x).ok()),
            offer: int("offer", &self.offer, 1, i64::MAX)?,
        })
    }
}
