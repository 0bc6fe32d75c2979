//! Typed offer and demand attributes.
//!
//! An [`Offer`] is a supplier's listing of identical slots (`units`) on one resource node:
//! resource attributes (GPU model and count, memory, cores, TFLOPS, storage, region,
//! availability window) and commercial/social attributes (price per minute, minimum
//! charge, green-energy share, carbon intensity, PUE, utilisation, public-good
//! discount, supplier reputation). Offers are built from an [`OfferSpec`] by
//! [`Offer::new`], which checks every range; once built, an offer is valid.
//!
//! Every attribute has a name and a type ([`Attr`], [`Ty`]); the constraint language
//! ([`crate::constraint`]) refers to attributes by these names.

use serde::{Deserialize, Serialize};

use crate::MarketError;

/// Longest accepted string attribute (GPU model, region), in bytes.
pub const STRING_ATTR_LEN_MAX_BYTES: usize = 32;
/// Largest number of slots one offer may list.
pub const OFFER_UNITS_MAX: u32 = 1_000_000;
/// Highest price per minute accepted, in fen (10,000 yuan a minute).
pub const PRICE_MAX_FEN_PER_MIN: i64 = 1_000_000;
/// Highest reputation score (scores are 0..=5 like the trade-chain ratings).
pub const REPUTATION_MAX: f64 = 5.0;

/// Identifier of an offer, unique within one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OfferId(pub u64);

/// Identifier of a demand, unique within one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DemandId(pub u64);

/// Identifier of a consumer (the party behind demands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConsumerId(pub u64);

/// Identifier of a supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SupplierId(pub u64);

/// Type of an attribute or of a constraint sub-expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Float,
    Str,
    Bool,
}

impl Ty {
    pub fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "integer",
            Ty::Float => "number",
            Ty::Str => "string",
            Ty::Bool => "boolean",
        }
    }
}

/// Every attribute an offer carries, by its name in the constraint language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attr {
    GpuModel,
    GpuCount,
    MemGb,
    CpuCores,
    RamGb,
    Tflops,
    StorageGb,
    Region,
    AvailableFromMin,
    AvailableUntilMin,
    Units,
    PriceFenPerMin,
    MinChargeFen,
    GreenShare,
    CarbonGPerKwh,
    Pue,
    Utilisation,
    PublicGoodDiscountPct,
    Reputation,
}

impl Attr {
    /// All attributes, in documentation order.
    pub const ALL: [Attr; 19] = [
        Attr::GpuModel,
        Attr::GpuCount,
        Attr::MemGb,
        Attr::CpuCores,
        Attr::RamGb,
        Attr::Tflops,
        Attr::StorageGb,
        Attr::Region,
        Attr::AvailableFromMin,
        Attr::AvailableUntilMin,
        Attr::Units,
        Attr::PriceFenPerMin,
        Attr::MinChargeFen,
        Attr::GreenShare,
        Attr::CarbonGPerKwh,
        Attr::Pue,
        Attr::Utilisation,
        Attr::PublicGoodDiscountPct,
        Attr::Reputation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attr::GpuModel => "gpu_model",
            Attr::GpuCount => "gpu_count",
            Attr::MemGb => "mem_gb",
            Attr::CpuCores => "cpu_cores",
            Attr::RamGb => "ram_gb",
            Attr::Tflops => "tflops",
            Attr::StorageGb => "storage_gb",
            Attr::Region => "region",
            Attr::AvailableFromMin => "available_from_min",
            Attr::AvailableUntilMin => "available_until_min",
            Attr::Units => "units",
            Attr::PriceFenPerMin => "price_fen_per_min",
            Attr::MinChargeFen => "min_charge_fen",
            Attr::GreenShare => "green_share",
            Attr::CarbonGPerKwh => "carbon_g_per_kwh",
            Attr::Pue => "pue",
            Attr::Utilisation => "utilisation",
            Attr::PublicGoodDiscountPct => "public_good_discount_pct",
            Attr::Reputation => "reputation",
        }
    }

    pub fn from_name(name: &str) -> Option<Attr> {
        Attr::ALL.into_iter().find(|a| a.name() == name)
    }

    pub fn ty(self) -> Ty {
        match self {
            Attr::GpuModel | Attr::Region => Ty::Str,
            Attr::Tflops
            | Attr::GreenShare
            | Attr::CarbonGPerKwh
            | Attr::Pue
            | Attr::Utilisation
            | Attr::Reputation => Ty::Float,
            _ => Ty::Int,
        }
    }
}

/// A value read from an offer (or written as a literal in a constraint).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<'a> {
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bool(bool),
}

impl std::fmt::Display for Val<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Int(v) => write!(f, "{v}"),
            Val::Float(v) => write!(f, "{v}"),
            Val::Str(s) => write!(f, "{s:?}"),
            Val::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// The unchecked description of an offer, as a supplier submits it (also the JSON shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferSpec {
    pub supplier: SupplierId,
    pub gpu_model: String,
    pub gpu_count: u32,
    /// Memory per GPU, GiB.
    pub mem_gb: u32,
    pub cpu_cores: u32,
    /// Host memory, GiB.
    pub ram_gb: u32,
    /// Peak throughput of one slot, TFLOPS.
    pub tflops: f64,
    pub storage_gb: u32,
    pub region: String,
    /// Availability window, minutes on the platform clock (given, never read here).
    pub available_from_min: i64,
    pub available_until_min: i64,
    /// Identical slots on offer.
    pub units: u32,
    pub price_fen_per_min: i64,
    pub min_charge_fen: i64,
    /// Share of the node's energy from renewable sources, 0..=1.
    pub green_share: f64,
    /// Grid carbon intensity at the node, gCO2/kWh, 0..=2000.
    pub carbon_g_per_kwh: f64,
    /// Power usage effectiveness, 1..=3.
    pub pue: f64,
    /// Current utilisation of the node, 0..=1.
    pub utilisation: f64,
    /// Discount granted to public-good use (research, education), percent 0..=100.
    pub public_good_discount_pct: u32,
    /// Supplier reputation from ratings, 0..=5.
    pub reputation: f64,
}

/// A validated offer. Fields are private; read them through [`Offer::value`] or the
/// accessors.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    id: OfferId,
    spec: OfferSpec,
}

fn check_range(name: &'static str, v: f64, lo: f64, hi: f64) -> Result<(), MarketError> {
    if !v.is_finite() || v < lo || v > hi {
        return Err(MarketError::AttrOutOfRange {
            attr: name,
            value: v.to_string(),
            range: format!("{lo}..={hi}"),
        });
    }
    Ok(())
}

fn check_str(name: &'static str, s: &str) -> Result<(), MarketError> {
    if s.is_empty() || s.len() > STRING_ATTR_LEN_MAX_BYTES {
        return Err(MarketError::AttrOutOfRange {
            attr: name,
            value: format!("{} bytes", s.len()),
            range: format!("1..={STRING_ATTR_LEN_MAX_BYTES} bytes"),
        });
    }
    Ok(())
}

impl Offer {
    /// Check every attribute's range and build the offer.
    pub fn new(id: OfferId, spec: OfferSpec) -> Result<Offer, MarketError> {
        check_str("gpu_model", &spec.gpu_model)?;
        check_str("region", &spec.region)?;
        check_range(
            "units",
            f64::from(spec.units),
            1.0,
            f64::from(OFFER_UNITS_MAX),
        )?;
        check_range("tflops", spec.tflops, 0.0, 1.0e6)?;
        check_range(
            "price_fen_per_min",
            spec.price_fen_per_min as f64,
            0.0,
            PRICE_MAX_FEN_PER_MIN as f64,
        )?;
        check_range("min_charge_fen", spec.min_charge_fen as f64, 0.0, 1.0e12)?;
        check_range("green_share", spec.green_share, 0.0, 1.0)?;
        check_range("carbon_g_per_kwh", spec.carbon_g_per_kwh, 0.0, 2000.0)?;
        check_range("pue", spec.pue, 1.0, 3.0)?;
        check_range("utilisation", spec.utilisation, 0.0, 1.0)?;
        check_range(
            "public_good_discount_pct",
            f64::from(spec.public_good_discount_pct),
            0.0,
            100.0,
        )?;
        check_range("reputation", spec.reputation, 0.0, REPUTATION_MAX)?;
        if spec.available_until_min < spec.available_from_min {
            return Err(MarketError::AttrOutOfRange {
                attr: "available_until_min",
                value: spec.available_until_min.to_string(),
                range: format!(">= available_from_min ({})", spec.available_from_min),
            });
        }
        Ok(Offer { id, spec })
    }

    pub fn id(&self) -> OfferId {
        self.id
    }

    pub fn spec(&self) -> &OfferSpec {
        &self.spec
    }

    pub fn supplier(&self) -> SupplierId {
        self.spec.supplier
    }

    pub fn price_fen_per_min(&self) -> i64 {
        self.spec.price_fen_per_min
    }

    pub fn units(&self) -> u32 {
        self.spec.units
    }

    /// The value of one attribute.
    pub fn value(&self, attr: Attr) -> Val<'_> {
        let s = &self.spec;
        match attr {
            Attr::GpuModel => Val::Str(&s.gpu_model),
            Attr::GpuCount => Val::Int(i64::from(s.gpu_count)),
            Attr::MemGb => Val::Int(i64::from(s.mem_gb)),
            Attr::CpuCores => Val::Int(i64::from(s.cpu_cores)),
            Attr::RamGb => Val::Int(i64::from(s.ram_gb)),
            Attr::Tflops => Val::Float(s.tflops),
            Attr::StorageGb => Val::Int(i64::from(s.storage_gb)),
            Attr::Region => Val::Str(&s.region),
            Attr::AvailableFromMin => Val::Int(s.available_from_min),
            Attr::AvailableUntilMin => Val::Int(s.available_until_min),
            Attr::Units => Val::Int(i64::from(s.units)),
            Attr::PriceFenPerMin => Val::Int(s.price_fen_per_min),
            Attr::MinChargeFen => Val::Int(s.min_charge_fen),
            Attr::GreenShare => Val::Float(s.green_share),
            Attr::CarbonGPerKwh => Val::Float(s.carbon_g_per_kwh),
            Attr::Pue => Val::Float(s.pue),
            Attr::Utilisation => Val::Float(s.utilisation),
            Attr::PublicGoodDiscountPct => Val::Int(i64::from(s.public_good_discount_pct)),
            Attr::Reputation => Val::Float(s.reputation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec() -> OfferSpec {
        OfferSpec {
            supplier: SupplierId(1),
            gpu_model: "A100".into(),
            gpu_count: 8,
            mem_gb: 80,
            cpu_cores: 64,
            ram_gb: 512,
            tflops: 312.0,
            storage_gb: 2000,
            region: "cn-west".into(),
            available_from_min: 0,
            available_until_min: 10_000,
            units: 4,
            price_fen_per_min: 300,
            min_charge_fen: 1000,
            green_share: 0.6,
            carbon_g_per_kwh: 300.0,
            pue: 1.2,
            utilisation: 0.7,
            public_good_discount_pct: 10,
            reputation: 4.5,
        }
    }

    #[test]
    fn every_attr_name_round_trips() {
        for a in Attr::ALL {
            assert_eq!(Attr::from_name(a.name()), Some(a));
        }
        assert_eq!(Attr::from_name("nope"), None);
    }

    #[test]
    fn offer_ranges_are_checked() {
        assert!(Offer::new(OfferId(1), spec()).is_ok());
        let mut s = spec();
        s.green_share = 1.5;
        assert!(matches!(
            Offer::new(OfferId(1), s),
            Err(MarketError::AttrOutOfRange {
                attr: "green_share",
                ..
            })
        ));
        let mut s = spec();
        s.pue = f64::NAN;
        assert!(Offer::new(OfferId(1), s).is_err());
        let mut s = spec();
        s.units = 0;
        assert!(Offer::new(OfferId(1), s).is_err());
        let mut s = spec();
        s.available_until_min = -1;
        assert!(Offer::new(OfferId(1), s).is_err());
        let mut s = spec();
        s.region = String::new();
        assert!(Offer::new(OfferId(1), s).is_err());
    }

    #[test]
    fn values_have_declared_types() {
        let o = Offer::new(OfferId(1), spec()).unwrap();
        for a in Attr::ALL {
            let ty = match o.value(a) {
                Val::Int(_) => Ty::Int,
                Val::Float(_) => Ty::Float,
                Val::Str(_) => Ty::Str,
                Val::Bool(_) => Ty::Bool,
            };
            assert_eq!(ty, a.ty(), "{}", a.name());
        }
    }
}
