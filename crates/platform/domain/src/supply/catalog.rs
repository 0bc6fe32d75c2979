//! A supplier's resources, trade modes and offers, and the listing review (issue 16,
//! `docs/supply.md` §2).
//!
//! - **Resources** are devices or nodes with the market's typed attributes
//!   (`docs/market.md`). Each attribute's range is the market core's one definition:
//!   [`ResourceDraft::check`] asks [`suanli_market::attrs::Offer::new`] about every
//!   attribute (one attribute at a time on a known-good offer, so every bad attribute is
//!   named, not only the first). GPU models come from one normalised vocabulary
//!   ([`GpuModel`]): `a100`, `A100` and `gpu-a100` are one model.
//! - **CSV import** ([`parse_csv`]): a header line naming the documented columns
//!   ([`CSV_COLUMNS`]), then one resource per line; the answer is every resource or every
//!   bad cell (line and column) — never part of a file.
//! - **Trade modes** ([`ModeDraft`]): price per minute, minimum charge, check-in period,
//!   per-resource rating weights (per mille, summing to 1000, as the trade chain's
//!   `Weights`), prepaid term options beside pay-as-you-go, and the trade-start and
//!   check-in CPT ids the supplier's credentials use.
//! - **Offers** and their listing review ([`OfferStatus`], [`next_status`]): draft →
//!   in review (published on the trade chain) → listed or rejected; unpublished
//!   (withdrawn on the chain) from any published state; an edit is a new version, refused
//!   while another version of the same offer is in review.
//!
//! Pure: no I/O, no clock reads (times are given).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use suanli_market::MarketError;
use suanli_market::attrs::{Offer, OfferId, OfferSpec, PRICE_MAX_FEN_PER_MIN, SupplierId};

/// GPU models of the vocabulary, in their canonical spelling.
pub const GPU_MODELS: &[&str] = &[
    "A10", "A100", "A100-40G", "A800", "H100", "H800", "H20", "L20", "L40S", "T4", "V100", "3090",
    "4090", "910B", "MI300X", "NONE",
];
/// Prefixes dropped when a GPU model is normalised (after upper-casing).
const GPU_MODEL_PREFIXES: &[&str] = &[
    "NVIDIA-",
    "GPU-",
    "ASCEND-",
    "GEFORCE-",
    "RTX-",
    "AMD-",
    "INSTINCT-",
    "TESLA-",
];
/// Longest free-text field (resource name, location, mode or offer title), in characters.
pub const TEXT_CHARS_MAX: usize = 120;
/// Most data lines one CSV import holds.
pub const CSV_ROWS_MAX: usize = 1_000;
/// Largest CSV import, in bytes.
pub const CSV_BYTES_MAX: usize = 512 * 1024;
/// Longest check-in period of a mode, in minutes (31 days, as the trade chain).
pub const CHECKIN_PERIOD_MAX_MINUTES: u64 = 31 * 24 * 60;
/// Largest minimum charge of a mode, in fen (as the trade chain's limit).
pub const MIN_CHARGE_MAX_FEN: i64 = 1_000_000_000;
/// Rating weights are per mille and sum to exactly this.
pub const WEIGHTS_TOTAL_PER_MILLE: u32 = 1_000;
/// Resource dimensions a mode's rating weights may name (the trade chain's `Resource`).
pub const WEIGHT_DIMENSIONS: &[&str] = &["cpu", "memory", "storage", "disk_io", "gpu", "network"];
/// Most prepaid term options of one mode.
pub const TERM_OPTIONS_MAX: usize = 8;
/// Longest prepaid term, in months.
pub const TERM_MAX_MONTHS: u32 = 36;
/// Largest term discount, in basis points (90 %).
pub const TERM_DISCOUNT_MAX_BP: u32 = 9_000;
/// Most resources in one offer.
pub const OFFER_RESOURCES_MAX: usize = 64;
/// Longest reason of a listing rejection, in characters.
pub const REASON_CHARS_MAX: usize = 500;

/// What is wrong with one input value; [`Problem::code`] is stable (the pages translate
/// `supply.err.<code>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    /// Empty where a value is needed.
    Missing,
    /// Not a number.
    NotANumber,
    /// Not a whole number in the type's range.
    NotAWholeNumber,
    /// Outside the allowed range (`range` in the market's notation, e.g. `1..=3`).
    OutOfRange { range: String },
    /// Longer than allowed.
    TooLong { max: usize },
    /// Holds control characters.
    NotPrintable,
    /// A GPU model outside the vocabulary.
    UnknownGpuModel,
    /// A status other than online, offline, maintenance.
    UnknownStatus,
    /// A rating-weight dimension outside [`WEIGHT_DIMENSIONS`].
    UnknownDimension { name: String },
    /// Rating weights that do not sum to 1000.
    WeightsSum { sum: u32 },
    /// A term option given twice.
    DuplicateTerm { months: u32 },
    /// A CSV column that is not documented.
    UnknownColumn { name: String },
    /// A CSV column named twice.
    DuplicateColumn,
    /// A documented CSV column absent from the header.
    MissingColumn,
    /// A CSV line with another number of cells than the header.
    CellCount { expected: usize, found: usize },
    /// Too many lines or bytes.
    TooLarge { max: usize },
    /// A resource name given on an earlier line (`line`) of the import, or already one of
    /// the supplier's resources (`line` 0).
    DuplicateName { line: usize },
}

impl Problem {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Missing => "missing",
            Problem::NotANumber => "not_a_number",
            Problem::NotAWholeNumber => "not_a_whole_number",
            Problem::OutOfRange { .. } => "out_of_range",
            Problem::TooLong { .. } => "too_long",
            Problem::NotPrintable => "not_printable",
            Problem::UnknownGpuModel => "unknown_gpu_model",
            Problem::UnknownStatus => "unknown_status",
            Problem::UnknownDimension { .. } => "unknown_dimension",
            Problem::WeightsSum { .. } => "weights_sum",
            Problem::DuplicateTerm { .. } => "duplicate_term",
            Problem::UnknownColumn { .. } => "unknown_column",
            Problem::DuplicateColumn => "duplicate_column",
            Problem::MissingColumn => "missing_column",
            Problem::CellCount { .. } => "cell_count",
            Problem::TooLarge { .. } => "too_large",
            Problem::DuplicateName { line: 0 } => "name_in_use",
            Problem::DuplicateName { .. } => "duplicate_name",
        }
    }

    /// The value a message fills in (a range, a limit, a name), if any.
    pub fn arg(&self) -> String {
        match self {
            Problem::OutOfRange { range } => range.clone(),
            Problem::TooLong { max } | Problem::TooLarge { max } => max.to_string(),
            Problem::UnknownDimension { name } | Problem::UnknownColumn { name } => name.clone(),
            Problem::WeightsSum { sum } => sum.to_string(),
            Problem::DuplicateTerm { months } => months.to_string(),
            Problem::DuplicateName { line } if *line > 0 => line.to_string(),
            Problem::CellCount { expected, found } => format!("{found}/{expected}"),
            Problem::UnknownGpuModel => GPU_MODELS.join(", "),
            Problem::UnknownStatus => "online, offline, maintenance".to_owned(),
            _ => String::new(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing => write!(f, "is required"),
            Problem::NotANumber => write!(f, "is not a number"),
            Problem::NotAWholeNumber => write!(f, "is not a whole number in range"),
            Problem::OutOfRange { range } => write!(f, "must be within {range}"),
            Problem::TooLong { max } => write!(f, "is longer than {max} characters"),
            Problem::NotPrintable => write!(f, "holds control characters"),
            Problem::UnknownGpuModel => write!(f, "is not a known GPU model ({})", self.arg()),
            Problem::UnknownStatus => write!(f, "must be one of {}", self.arg()),
            Problem::UnknownDimension { name } => write!(
                f,
                "names {name:?}, not one of {}",
                WEIGHT_DIMENSIONS.join(", ")
            ),
            Problem::WeightsSum { sum } => {
                write!(
                    f,
                    "must sum to {WEIGHTS_TOTAL_PER_MILLE} per mille, not {sum}"
                )
            }
            Problem::DuplicateTerm { months } => write!(f, "names {months} months twice"),
            Problem::UnknownColumn { name } => write!(f, "{name:?} is not a column"),
            Problem::DuplicateColumn => write!(f, "is named twice in the header"),
            Problem::DuplicateName { line: 0 } => write!(f, "is the name of one of your resources"),
            Problem::DuplicateName { line } => write!(f, "is the name given on line {line}"),
            Problem::MissingColumn => write!(f, "is missing from the header"),
            Problem::CellCount { expected, found } => {
                write!(f, "has {found} cells, the header {expected}")
            }
            Problem::TooLarge { max } => write!(f, "is above the limit of {max}"),
        }
    }
}

/// One bad input value: the field (a column name) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field or CSV column.
    pub field: &'static str,
    /// What is wrong.
    pub problem: Problem,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.field, self.problem)
    }
}

fn fp(field: &'static str, problem: Problem) -> FieldProblem {
    FieldProblem { field, problem }
}

/// A GPU model of the vocabulary ([`GPU_MODELS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GpuModel(&'static str);

impl GpuModel {
    /// Normalises `raw` (case, `_`/space as `-`, vendor prefixes such as `gpu-`,
    /// `nvidia-`) and finds it in the vocabulary.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let mut s = raw.trim().to_uppercase().replace(['_', ' '], "-");
        if s.is_empty() {
            return Err(Problem::Missing);
        }
        let mut changed = true;
        while changed {
            changed = false;
            for p in GPU_MODEL_PREFIXES {
                if let Some(rest) = s.strip_prefix(p) {
                    s = rest.to_owned();
                    changed = true;
                }
            }
        }
        GPU_MODELS
            .iter()
            .find(|m| **m == s)
            .map(|m| GpuModel(m))
            .ok_or(Problem::UnknownGpuModel)
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// A resource's operating status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    /// Running and schedulable.
    Online,
    /// Switched off or unreachable.
    Offline,
    /// Under maintenance.
    Maintenance,
}

impl ResourceStatus {
    /// Every status.
    pub const ALL: [ResourceStatus; 3] = [
        ResourceStatus::Online,
        ResourceStatus::Offline,
        ResourceStatus::Maintenance,
    ];
    /// `online`, `offline`, `maintenance`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceStatus::Online => "online",
            ResourceStatus::Offline => "offline",
            ResourceStatus::Maintenance => "maintenance",
        }
    }
    /// Parses [`ResourceStatus::as_str`] (case-insensitive).
    pub fn parse(s: &str) -> Result<Self, Problem> {
        let s = s.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or(Problem::UnknownStatus)
    }
}

/// A resource as submitted (the API's JSON body; a CSV line after its cells are read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDraft {
    /// The supplier's name for the device or node (e.g. a host name).
    pub name: String,
    /// Where it is (data centre, hall, rack).
    pub location: String,
    /// `online`, `offline` or `maintenance`.
    pub status: String,
    /// GPU model (vocabulary, normalised).
    pub gpu_model: String,
    /// GPUs.
    pub gpu_count: u32,
    /// Memory per GPU, GiB.
    pub gpu_mem_gb: u32,
    /// CPU cores.
    pub cpu_cores: u32,
    /// Host memory, GiB.
    pub ram_gb: u32,
    /// Storage, GiB.
    pub storage_gb: u32,
    /// Peak throughput, TFLOPS.
    pub tflops: f64,
    /// Region, e.g. `cn-west`.
    pub region: String,
    /// Availability window, minutes on the platform clock.
    pub available_from_min: i64,
    /// Availability window end (≥ its start), minutes on the platform clock.
    pub available_until_min: i64,
    /// Renewable share of the energy, 0..=1.
    pub green_share: f64,
    /// Grid carbon intensity, gCO2/kWh, 0..=2000.
    pub carbon_g_per_kwh: f64,
    /// Power usage effectiveness, 1..=3.
    pub pue: f64,
    /// Current utilisation, 0..=1.
    pub utilisation: f64,
}

/// A checked resource: every attribute in the market's range, the GPU model canonical.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceSpec(ResourceDraft);

impl ResourceSpec {
    /// The checked values (the GPU model and status in canonical spelling).
    pub fn get(&self) -> &ResourceDraft {
        &self.0
    }
    /// The status.
    pub fn status(&self) -> ResourceStatus {
        ResourceStatus::parse(&self.0.status).unwrap_or(ResourceStatus::Offline)
    }
}

fn text_field(field: &'static str, v: &str, out: &mut Vec<FieldProblem>) -> String {
    let v = v.trim();
    if v.is_empty() {
        out.push(fp(field, Problem::Missing));
    } else if v.chars().count() > TEXT_CHARS_MAX {
        out.push(fp(
            field,
            Problem::TooLong {
                max: TEXT_CHARS_MAX,
            },
        ));
    } else if v.chars().any(char::is_control) {
        out.push(fp(field, Problem::NotPrintable));
    }
    v.to_owned()
}

/// A market offer every attribute of which is in range: the base each attribute is
/// checked on.
fn base_spec() -> OfferSpec {
    OfferSpec {
        supplier: SupplierId(0),
        gpu_model: "A100".to_owned(),
        gpu_count: 1,
        mem_gb: 80,
        cpu_cores: 1,
        ram_gb: 1,
        tflops: 1.0,
        storage_gb: 1,
        region: "cn".to_owned(),
        available_from_min: 0,
        available_until_min: 0,
        units: 1,
        price_fen_per_min: 1,
        min_charge_fen: 0,
        green_share: 0.0,
        carbon_g_per_kwh: 0.0,
        pue: 1.0,
        utilisation: 0.0,
        public_good_discount_pct: 0,
        reputation: 0.0,
    }
}

/// The market's verdict on one attribute (`set` changes it on a good base offer).
fn market_check(field: &'static str, set: impl FnOnce(&mut OfferSpec)) -> Option<FieldProblem> {
    let mut spec = base_spec();
    set(&mut spec);
    match Offer::new(OfferId(0), spec) {
        Ok(_) => None,
        Err(MarketError::AttrOutOfRange { range, .. }) => {
            Some(fp(field, Problem::OutOfRange { range }))
        }
        Err(_) => Some(fp(
            field,
            Problem::OutOfRange {
                range: "the market's range".to_owned(),
            },
        )),
    }
}

impl ResourceDraft {
    /// Checks every attribute; the answer names every bad one.
    pub fn check(&self) -> Result<ResourceSpec, Vec<FieldProblem>> {
        let mut out = Vec::new();
        let name = text_field("name", &self.name, &mut out);
        let location = text_field("location", &self.location, &mut out);
        let region = text_field("region", &self.region, &mut out);
        let status = ResourceStatus::parse(&self.status)
            .map_err(|p| out.push(fp("status", p)))
            .ok();
        let gpu = GpuModel::parse(&self.gpu_model)
            .map_err(|p| out.push(fp("gpu_model", p)))
            .ok();
        let d = self.clone();
        let checks = [
            market_check("region", |s| s.region = region.clone()),
            market_check("tflops", |s| s.tflops = d.tflops),
            market_check("green_share", |s| s.green_share = d.green_share),
            market_check("carbon_g_per_kwh", |s| {
                s.carbon_g_per_kwh = d.carbon_g_per_kwh
            }),
            market_check("pue", |s| s.pue = d.pue),
            market_check("utilisation", |s| s.utilisation = d.utilisation),
            market_check("available_until_min", |s| {
                s.available_from_min = d.available_from_min;
                s.available_until_min = d.available_until_min;
            }),
        ];
        out.extend(checks.into_iter().flatten());
        match (status, gpu) {
            (Some(status), Some(gpu)) if out.is_empty() => Ok(ResourceSpec(ResourceDraft {
                name,
                location,
                region,
                status: status.as_str().to_owned(),
                gpu_model: gpu.as_str().to_owned(),
                ..self.clone()
            })),
            _ => Err(out),
        }
    }
}

/// A prepaid term beside pay-as-you-go: `months` paid ahead at `discount_bp` off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermOption {
    /// Months paid ahead (1..=[`TERM_MAX_MONTHS`]).
    pub months: u32,
    /// Discount, basis points (0..=[`TERM_DISCOUNT_MAX_BP`]).
    pub discount_bp: u32,
}

/// A trade mode as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeDraft {
    /// The supplier's name for the mode.
    pub name: String,
    /// Price of one unit for one minute, fen.
    pub price_fen_per_min: i64,
    /// Minimum charge of one trade, fen.
    pub min_charge_fen: i64,
    /// Check-in period, minutes.
    pub checkin_period_min: u64,
    /// Rating weights per resource dimension, per mille, summing to 1000.
    pub weights: BTreeMap<String, u16>,
    /// Prepaid terms offered beside pay-as-you-go (may be empty).
    #[serde(default)]
    pub terms: Vec<TermOption>,
    /// CPT id of the trade-start credential (1 is the built-in one).
    pub trade_start_cpt: u32,
    /// CPT id of the check-in credentials (2 is the built-in one).
    pub checkin_cpt: u32,
}

/// A checked trade mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModeSpec(ModeDraft);

impl ModeSpec {
    /// The checked values (terms sorted by months).
    pub fn get(&self) -> &ModeDraft {
        &self.0
    }
}

impl ModeDraft {
    /// Checks every field; the answer names every bad one. Price and minimum charge are
    /// checked against the market's ranges (and the trade chain's, which are wider).
    pub fn check(&self) -> Result<ModeSpec, Vec<FieldProblem>> {
        let mut out = Vec::new();
        let name = text_field("name", &self.name, &mut out);
        if self.price_fen_per_min < 1 {
            out.push(fp(
                "price_fen_per_min",
                Problem::OutOfRange {
                    range: format!("1..={PRICE_MAX_FEN_PER_MIN}"),
                },
            ));
        } else if let Some(p) = market_check("price_fen_per_min", |s| {
            s.price_fen_per_min = self.price_fen_per_min
        }) {
            out.push(p);
        }
        if !(0..=MIN_CHARGE_MAX_FEN).contains(&self.min_charge_fen) {
            out.push(fp(
                "min_charge_fen",
                Problem::OutOfRange {
                    range: format!("0..={MIN_CHARGE_MAX_FEN}"),
                },
            ));
        }
        if !(1..=CHECKIN_PERIOD_MAX_MINUTES).contains(&self.checkin_period_min) {
            out.push(fp(
                "checkin_period_min",
                Problem::OutOfRange {
                    range: format!("1..={CHECKIN_PERIOD_MAX_MINUTES}"),
                },
            ));
        }
        check_weights(&self.weights, &mut out);
        let terms = check_terms(&self.terms, &mut out);
        for (field, v) in [
            ("trade_start_cpt", self.trade_start_cpt),
            ("checkin_cpt", self.checkin_cpt),
        ] {
            if v == 0 {
                out.push(fp(
                    field,
                    Problem::OutOfRange {
                        range: "1..".into(),
                    },
                ));
            }
        }
        if !out.is_empty() {
            return Err(out);
        }
        Ok(ModeSpec(ModeDraft {
            name,
            terms,
            ..self.clone()
        }))
    }
}

fn check_weights(w: &BTreeMap<String, u16>, out: &mut Vec<FieldProblem>) {
    for k in w.keys() {
        if !WEIGHT_DIMENSIONS.contains(&k.as_str()) {
            out.push(fp("weights", Problem::UnknownDimension { name: k.clone() }));
        }
    }
    let sum: u32 = w.values().map(|v| u32::from(*v)).sum();
    if sum != WEIGHTS_TOTAL_PER_MILLE {
        out.push(fp("weights", Problem::WeightsSum { sum }));
    }
}

fn check_terms(terms: &[TermOption], out: &mut Vec<FieldProblem>) -> Vec<TermOption> {
    if terms.len() > TERM_OPTIONS_MAX {
        out.push(fp(
            "terms",
            Problem::TooLarge {
                max: TERM_OPTIONS_MAX,
            },
        ));
    }
    let mut sorted = terms.to_vec();
    sorted.sort_by_key(|t| t.months);
    for (i, t) in sorted.iter().enumerate() {
        if !(1..=TERM_MAX_MONTHS).contains(&t.months) {
            out.push(fp(
                "terms",
                Problem::OutOfRange {
                    range: format!("1..={TERM_MAX_MONTHS} months"),
                },
            ));
        }
        if t.discount_bp > TERM_DISCOUNT_MAX_BP {
            out.push(fp(
                "terms",
                Problem::OutOfRange {
                    range: format!("0..={TERM_DISCOUNT_MAX_BP} bp"),
                },
            ));
        }
        if i > 0 && sorted[i - 1].months == t.months {
            out.push(fp("terms", Problem::DuplicateTerm { months: t.months }));
        }
    }
    sorted
}

/// Where an offer version stands in its listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    /// Saved, not yet on the chain.
    Draft,
    /// Published on the trade chain, waiting for the operator's listing review.
    InReview,
    /// Approved: in the catalogue.
    Listed,
    /// Rejected by the operator (reason kept): not in the catalogue.
    Rejected,
    /// Replaced by a newer approved version: off the catalogue.
    Superseded,
    /// Withdrawn by the supplier (on the chain too): off the catalogue.
    Withdrawn,
}

impl OfferStatus {
    /// Every status.
    pub const ALL: [OfferStatus; 6] = [
        OfferStatus::Draft,
        OfferStatus::InReview,
        OfferStatus::Listed,
        OfferStatus::Rejected,
        OfferStatus::Superseded,
        OfferStatus::Withdrawn,
    ];
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Draft => "draft",
            OfferStatus::InReview => "in_review",
            OfferStatus::Listed => "listed",
            OfferStatus::Rejected => "rejected",
            OfferStatus::Superseded => "superseded",
            OfferStatus::Withdrawn => "withdrawn",
        }
    }
    /// Parses [`OfferStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What happens to an offer version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferEvent {
    /// The supplier published it on the chain.
    Publish,
    /// The operator approved the listing.
    Approve,
    /// The operator rejected the listing.
    Reject,
    /// A newer version was approved.
    Supersede,
    /// The supplier withdrew it.
    Withdraw,
}

/// Why an offer event is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfferRefusal {
    /// The event does not apply in the version's status.
    #[error("the offer is {0:?}: this step does not apply")]
    WrongStatus(OfferStatus),
    /// Another version of the same offer is in review: edits wait for its decision.
    #[error("another version of this offer is in review; edit it after the operator decides")]
    InReview,
}

impl OfferRefusal {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            OfferRefusal::WrongStatus(_) => "offer_wrong_status",
            OfferRefusal::InReview => "offer_in_review",
        }
    }
}

/// The status after `event`, or why it is refused.
pub fn next_status(from: OfferStatus, event: OfferEvent) -> Result<OfferStatus, OfferRefusal> {
    use OfferEvent as E;
    use OfferStatus as S;
    match (from, event) {
        (S::Draft, E::Publish) => Ok(S::InReview),
        (S::InReview, E::Approve) => Ok(S::Listed),
        (S::InReview, E::Reject) => Ok(S::Rejected),
        (S::Listed, E::Supersede) => Ok(S::Superseded),
        (S::InReview | S::Listed | S::Rejected | S::Superseded, E::Withdraw) => Ok(S::Withdrawn),
        (s, _) => Err(OfferRefusal::WrongStatus(s)),
    }
}

/// Whether a new version of an offer may be made now: not while any version of it is in
/// review (`statuses` are all its versions').
pub fn may_edit(statuses: &[OfferStatus]) -> Result<(), OfferRefusal> {
    if statuses.contains(&OfferStatus::InReview) {
        return Err(OfferRefusal::InReview);
    }
    Ok(())
}

/// An offer as submitted: a title, a mode, the resources grouped, units on offer and
/// the validity (unix ms, start inclusive, end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferDraft {
    /// What the catalogue shows as the offer's name.
    pub title: String,
    /// The platform id of the supplier's trade mode.
    pub mode_id: i64,
    /// The supplier's resources in the offer (1..=[`OFFER_RESOURCES_MAX`], distinct).
    pub resource_ids: Vec<i64>,
    /// Units on offer (1..=the trade chain's limit, checked there too).
    pub units: u32,
    /// Start of validity, unix ms.
    pub valid_from_ms: i64,
    /// End of validity (after the start), unix ms.
    pub valid_until_ms: i64,
}

impl OfferDraft {
    /// Checks the fields that need no store; the answer names every bad one.
    pub fn check(&self) -> Result<OfferDraft, Vec<FieldProblem>> {
        let mut out = Vec::new();
        let title = text_field("title", &self.title, &mut out);
        let mut ids = self.resource_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            out.push(fp("resource_ids", Problem::Missing));
        } else if ids.len() > OFFER_RESOURCES_MAX {
            out.push(fp(
                "resource_ids",
                Problem::TooLarge {
                    max: OFFER_RESOURCES_MAX,
                },
            ));
        }
        // The market's range of units on offer (the trade chain may allow fewer).
        if let Some(p) = market_check("units", |s| s.units = self.units) {
            out.push(p);
        }
        if self.valid_from_ms < 0 || self.valid_until_ms <= self.valid_from_ms {
            out.push(fp(
                "valid_until_ms",
                Problem::OutOfRange {
                    range: "> valid_from_ms ≥ 0".into(),
                },
            ));
        }
        if !out.is_empty() {
            return Err(out);
        }
        Ok(OfferDraft {
            title,
            resource_ids: ids,
            ..self.clone()
        })
    }
}

/// A reason for a listing rejection: 1..=[`REASON_CHARS_MAX`] printable characters.
pub fn rejection_reason(raw: &str) -> Result<String, FieldProblem> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(fp("reason", Problem::Missing));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(fp("reason", Problem::NotPrintable));
    }
    if v.chars().count() > REASON_CHARS_MAX {
        return Err(fp(
            "reason",
            Problem::TooLong {
                max: REASON_CHARS_MAX,
            },
        ));
    }
    Ok(v.to_owned())
}

mod csv;
pub use csv::*;

#[cfg(test)]
mod tests;
