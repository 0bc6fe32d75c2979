//! Catalogue pricing strategies, discounts and coupons, and the quote that turns them into
//! the price breakdown an order records (and keeps: later price changes never alter what
//! was sold, because the order stores this breakdown and the strategy it came from).
//!
//! Precedence and stacking (docs/money.md):
//! 1. list = the spec's price for the term × quantity (yearly price per whole year when the
//!    strategy has one, monthly price for the other months);
//! 2. term discount of the strategy (the largest tier whose `min_months` ≤ term);
//! 3. one account discount — the most specific that applies: customer > region > global
//!    (they do not stack with each other);
//! 4. volume discount (largest tier whose `min_quantity` ≤ quantity), stacks on 3;
//! 5. at most one coupon, last: amount off (capped at the running total) or percent off,
//!    only when the running total reaches its minimum spend.
//!
//! Every percentage step takes `⌊base × bp / 10 000⌋` off the running total, so each
//! discount is rounded down to the fen (never more than the exact percentage).

use crate::ids::OrgId;
use crate::money::{Bp, Fen, MoneyError};
use serde::{Deserialize, Serialize};

/// Why a strategy, discount or quote was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// Arithmetic.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The spec has no strategy for the requested charging mode.
    #[error("the spec is not sold {0}")]
    ModeNotOffered(&'static str),
    /// A term outside 1..=[`TERM_MONTHS_MAX`].
    #[error("term must be 1 to {TERM_MONTHS_MAX} months")]
    Term,
    /// A quantity outside 1..=[`QUANTITY_MAX`].
    #[error("quantity must be 1 to {QUANTITY_MAX}")]
    Quantity,
    /// A strategy that makes no sense (e.g. zero price, too many tiers).
    #[error("invalid pricing: {0}")]
    Invalid(&'static str),
}

/// Longest prepaid term, in months (five years).
pub const TERM_MONTHS_MAX: u32 = 60;
/// Largest quantity of one order line.
pub const QUANTITY_MAX: u32 = 1_000;
/// Most tiers of one term-discount or volume-discount table.
pub const TIERS_MAX: usize = 16;

/// Prepaid or pay-as-you-go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargingMode {
    /// Paid up front for a term (包年包月).
    Prepaid,
    /// Charged per minute of use (按量付费), against a frozen deposit.
    Payg,
}

impl ChargingMode {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargingMode::Prepaid => "prepaid",
            ChargingMode::Payg => "payg",
        }
    }
    /// Parses [`ChargingMode::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "prepaid" => Some(ChargingMode::Prepaid),
            "payg" => Some(ChargingMode::Payg),
            _ => None,
        }
    }
}

/// A term discount tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermTier {
    /// Applies to terms of at least this many months.
    pub min_months: u32,
    /// Off the list price.
    pub off_bp: Bp,
}

/// Prepaid monthly/yearly pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prepaid {
    /// Price per month.
    pub monthly_fen: Fen,
    /// Price per whole year, if different from 12 months.
    #[serde(default)]
    pub yearly_fen: Option<Fen>,
    /// Term discounts.
    #[serde(default)]
    pub term_discounts: Vec<TermTier>,
}

/// Pay-as-you-go per-minute pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payg {
    /// Price per minute of use.
    pub per_minute_fen: Fen,
    /// Least an instance is charged over its life.
    pub minimum_fen: Fen,
    /// Deposit frozen when ordering.
    pub deposit_fen: Fen,
}

/// A spec's pricing strategies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecPricing {
    /// Prepaid strategy, if sold prepaid.
    #[serde(default)]
    pub prepaid: Option<Prepaid>,
    /// Pay-as-you-go strategy, if sold pay-as-you-go.
    #[serde(default)]
    pub payg: Option<Payg>,
}

impl SpecPricing {
    /// Checks the strategy: at least one mode, positive prices, bounded tiers.
    pub fn validate(&self) -> Result<(), PricingError> {
        if self.prepaid.is_none() && self.payg.is_none() {
            return Err(PricingError::Invalid("at least one of prepaid, payg"));
        }
        if let Some(p) = &self.prepaid {
            if p.monthly_fen.is_zero() {
                return Err(PricingError::Invalid("monthly_fen must be positive"));
            }
            if p.term_discounts.len() > TIERS_MAX {
                return Err(PricingError::Invalid("too many term discount tiers"));
            }
            if p.term_discounts
                .iter()
                .any(|t| t.min_months == 0 || t.min_months > TERM_MONTHS_MAX)
            {
                return Err(PricingError::Invalid("term tier min_months out of range"));
            }
        }
        if let Some(p) = &self.payg
            && p.per_minute_fen.is_zero()
        {
            return Err(PricingError::Invalid("per_minute_fen must be positive"));
        }
        Ok(())
    }
}

/// Where an account discount applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scope")]
pub enum DiscountScope {
    /// Every order.
    Global,
    /// Orders of one customer.
    Customer {
        /// The customer.
        org_id: OrgId,
    },
    /// Products of one region.
    Region {
        /// The region name.
        region: String,
    },
    /// Orders of at least `min_quantity` units.
    Volume {
        /// Least quantity.
        min_quantity: u32,
    },
}

/// A discount rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    /// Row id.
    pub id: i64,
    /// Where it applies.
    pub scope: DiscountScope,
    /// Off.
    pub off_bp: Bp,
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CouponValue {
    /// A fixed amount (capped at the running total).
    AmountOff {
        /// How much.
        fen: Fen,
    },
    /// A percentage.
    PercentOff {
        /// How much.
        bp: Bp,
    },
}

/// A coupon (one use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    /// Row id.
    pub id: i64,
    /// The code.
    pub code: String,
    /// What it takes off.
    pub value: CouponValue,
    /// Least running total it applies to.
    pub min_spend_fen: Fen,
}

/// One step of a price breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// `term`, `customer`, `region`, `global`, `volume` or `coupon`.
    pub kind: String,
    /// Discount or coupon id (0 for term discounts).
    pub id: i64,
    /// Taken off.
    pub off_fen: Fen,
}

/// The price of an order, step by step. Stored with the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Charging mode.
    pub mode: ChargingMode,
    /// Months (prepaid) or 0.
    pub months: u32,
    /// Units.
    pub quantity: u32,
    /// List price before any discount (prepaid) or 0.
    pub list_fen: Fen,
    /// Discounts and coupon applied, in order.
    pub steps: Vec<Step>,
    /// What is paid now (prepaid) or 0.
    pub total_fen: Fen,
    /// Deposit frozen (pay-as-you-go) or 0.
    pub deposit_fen: Fen,
    /// The strategy priced from (snapshot).
    pub pricing: SpecPricing,
}

impl Breakdown {
    /// Σ of discounts and coupon.
    pub fn discount_fen(&self) -> Fen {
        Fen::sum(self.steps.iter().map(|s| s.off_fen)).unwrap_or(Fen::ZERO)
    }
}

/// What is being quoted.
#[derive(Debug, Clone)]
pub struct QuoteRequest<'a> {
    /// Strategy.
    pub pricing: &'a SpecPricing,
    /// Mode.
    pub mode: ChargingMode,
    /// Term in months (prepaid).
    pub months: u32,
    /// Units.
    pub quantity: u32,
    /// Customer.
    pub customer: OrgId,
    /// The product's region.
    pub region: &'a str,
    /// Active discounts (all scopes).
    pub discounts: &'a [Discount],
    /// The coupon presented, if any.
    pub coupon: Option<&'a Coupon>,
}

/// The list price of `months` of `p` for one unit.
pub fn term_price(p: &Prepaid, months: u32) -> Result<Fen, PricingError> {
    if months == 0 || months > TERM_MONTHS_MAX {
        return Err(PricingError::Term);
    }
    let years = u64::from(months / 12);
    let rest = u64::from(months % 12);
    let per_year = match p.yearly_fen {
        Some(y) => y,
        None => p.monthly_fen.checked_mul(12)?,
    };
    Ok(per_year
        .checked_mul(years)?
        .checked_add(p.monthly_fen.checked_mul(rest)?)?)
}

/// Prices an order (see the module docs for precedence and rounding).
pub fn quote(q: &QuoteRequest<'_>) -> Result<Breakdown, PricingError> {
    if q.quantity == 0 || q.quantity > QUANTITY_MAX {
        return Err(PricingError::Quantity);
    }
    match q.mode {
        ChargingMode::Payg => {
            let p = q
                .pricing
                .payg
                .as_ref()
                .ok_or(PricingError::ModeNotOffered("pay-as-you-go"))?;
            Ok(Breakdown {
                mode: q.mode,
                months: 0,
                quantity: q.quantity,
                list_fen: Fen::ZERO,
                steps: Vec::new(),
                total_fen: Fen::ZERO,
                deposit_fen: p.deposit_fen.checked_mul(u64::from(q.quantity))?,
                pricing: q.pricing.clone(),
            })
        }
        ChargingMode::Prepaid => {
            let p = q
                .pricing
                .prepaid
                .as_ref()
                .ok_or(PricingError::ModeNotOffered("prepaid"))?;
            let list = term_price(p, q.months)?.checked_mul(u64::from(q.quantity))?;
            let mut total = list;
            let mut steps = Vec::new();
            let mut take = |kind: &str, id: i64, off: Fen, total: &mut Fen| {
                if !off.is_zero() {
                    *total = total.saturating_sub(off);
                    steps.push(Step {
                        kind: kind.to_owned(),
                        id,
                        off_fen: off,
                    });
                }
            };
            if let Some(t) = p
                .term_discounts
                .iter()
                .filter(|t| t.min_months <= q.months)
                .max_by_key(|t| t.min_months)
            {
                let off = total.part(t.off_bp);
                take("term", 0, off, &mut total);
            }
            let pick = |want: &dyn Fn(&DiscountScope) -> bool| {
                q.discounts
                    .iter()
                    .filter(|d| want(&d.scope))
                    .max_by_key(|d| (d.off_bp, -d.id))
            };
            let account = pick(
                &|s| matches!(s, DiscountScope::Customer { org_id } if *org_id == q.customer),
            )
            .map(|d| ("customer", d))
            .or_else(|| {
                pick(&|s| matches!(s, DiscountScope::Region { region } if region == q.region))
                    .map(|d| ("region", d))
            })
            .or_else(|| pick(&|s| matches!(s, DiscountScope::Global)).map(|d| ("global", d)));
            if let Some((kind, d)) = account {
                let off = total.part(d.off_bp);
                take(kind, d.id, off, &mut total);
            }
            let volume = q
                .discounts
                .iter()
                .filter_map(|d| match d.scope {
                    DiscountScope::Volume { min_quantity } if min_quantity <= q.quantity => {
                        Some((min_quantity, d))
                    }
                    _ => None,
                })
                .max_by_key(|(m, d)| (*m, d.off_bp));
            if let Some((_, d)) = volume {
                let off = total.part(d.off_bp);
                take("volume", d.id, off, &mut total);
            }
            if let Some(c) = q.coupon
                && total >= c.min_spend_fen
            {
                let off = match c.value {
                    CouponValue::AmountOff { fen } => fen.min(total),
                    CouponValue::PercentOff { bp } => total.part(bp),
                };
                take("coupon", c.id, off, &mut total);
            }
            Ok(Breakdown {
                mode: q.mode,
                months: q.months,
                quantity: q.quantity,
                list_fen: list,
                steps,
                total_fen: total,
                deposit_fen: Fen::ZERO,
                pricing: q.pricing.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(n: i64) -> Fen {
        Fen::new(n).unwrap_or_else(|_| unreachable!())
    }
    fn bp(n: u32) -> Bp {
        Bp::new(n).unwrap_or_else(|_| unreachable!())
    }
    fn o(n: i64) -> OrgId {
        OrgId::new(n).unwrap_or_else(|| unreachable!())
    }

    fn pricing() -> SpecPricing {
        SpecPricing {
            prepaid: Some(Prepaid {
                monthly_fen: f(10_000),
                yearly_fen: Some(f(100_000)),
                term_discounts: vec![
                    TermTier {
                        min_months: 3,
                        off_bp: bp(500),
                    },
                    TermTier {
                        min_months: 6,
                        off_bp: bp(1_000),
                    },
                ],
            }),
            payg: Some(Payg {
                per_minute_fen: f(2),
                minimum_fen: f(100),
                deposit_fen: f(5_000),
            }),
        }
    }

    #[test]
    fn precedence_and_stacking() {
        let p = pricing();
        let discounts = vec![
            Discount {
                id: 1,
                scope: DiscountScope::Global,
                off_bp: bp(2_000),
            },
            Discount {
                id: 2,
                scope: DiscountScope::Region {
                    region: "cn-east".into(),
                },
                off_bp: bp(1_500),
            },
            Discount {
                id: 3,
                scope: DiscountScope::Customer { org_id: o(7) },
                off_bp: bp(300),
            },
            Discount {
                id: 4,
                scope: DiscountScope::Volume { min_quantity: 2 },
                off_bp: bp(1_000),
            },
        ];
        let coupon = Coupon {
            id: 9,
            code: "C".into(),
            value: CouponValue::AmountOff { fen: f(1_000) },
            min_spend_fen: f(50_000),
        };
        let q = QuoteRequest {
            pricing: &p,
            mode: ChargingMode::Prepaid,
            months: 6,
            quantity: 2,
            customer: o(7),
            region: "cn-east",
            discounts: &discounts,
            coupon: Some(&coupon),
        };
        let b = quote(&q).unwrap_or_else(|e| unreachable!("{e}"));
        // list 2 × 6 × 10 000 = 120 000; term 10 % → 108 000; customer 3 % (beats region
        // and global) → 104 760; volume 10 % → 94 284; coupon −1 000 → 93 284.
        assert_eq!(b.list_fen, f(120_000));
        let kinds: Vec<&str> = b.steps.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["term", "customer", "volume", "coupon"]);
        assert_eq!(b.total_fen, f(93_284));
        assert_eq!(b.discount_fen(), f(26_716));
        // Another customer in the region gets the region discount, not the global one.
        let q2 = QuoteRequest {
            customer: o(8),
            coupon: None,
            quantity: 1,
            ..q.clone()
        };
        let b2 = quote(&q2).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(b2.steps[1].kind, "region");
        // 12 months use the yearly price.
        let q3 = QuoteRequest {
            months: 13,
            discounts: &[],
            coupon: None,
            quantity: 1,
            ..q.clone()
        };
        assert_eq!(quote(&q3).map(|b| b.list_fen), Ok(f(110_000)));
        assert_eq!(
            quote(&QuoteRequest {
                months: 61,
                ..q3.clone()
            }),
            Err(PricingError::Term)
        );
        assert_eq!(
            quote(&QuoteRequest { quantity: 0, ..q3 }),
            Err(PricingError::Quantity)
        );
    }

    #[test]
    fn coupon_respects_min_spend_and_caps() {
        let p = pricing();
        let c = Coupon {
            id: 1,
            code: "BIG".into(),
            value: CouponValue::AmountOff { fen: f(1_000_000) },
            min_spend_fen: f(0),
        };
        let q = QuoteRequest {
            pricing: &p,
            mode: ChargingMode::Prepaid,
            months: 1,
            quantity: 1,
            customer: o(1),
            region: "x",
            discounts: &[],
            coupon: Some(&c),
        };
        assert_eq!(quote(&q).map(|b| b.total_fen), Ok(Fen::ZERO));
        let c2 = Coupon {
            min_spend_fen: f(10_001),
            ..c.clone()
        };
        let q2 = QuoteRequest {
            coupon: Some(&c2),
            ..q
        };
        assert_eq!(quote(&q2).map(|b| b.total_fen), Ok(f(10_000)));
    }

    #[test]
    fn payg_freezes_deposit_and_validation() {
        let p = pricing();
        let q = QuoteRequest {
            pricing: &p,
            mode: ChargingMode::Payg,
            months: 0,
            quantity: 3,
            customer: o(1),
            region: "x",
            discounts: &[],
            coupon: None,
        };
        assert_eq!(quote(&q).map(|b| b.deposit_fen), Ok(f(15_000)));
        assert!(
            SpecPricing {
                prepaid: None,
                payg: None
            }
            .validate()
            .is_err()
        );
        assert!(p.validate().is_ok());
    }
}
