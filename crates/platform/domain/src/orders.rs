//! The rules of order operations, pure: whether a coupon may be presented, the plan of a
//! purchase (price, funding in the order cash → voucher → credit, supplier shares, the
//! instance's first status and term, whether the coupon is used up, the balances after),
//! the checks of a renewal, the price of the rest of a term on another spec, and where the
//! money of a refund goes back to. The store reads the facts, asks these functions and
//! applies the answer (the same on every backend).
//!
//! Every money-moving answer is checked for conservation with `debug_assert!`s: what is
//! funded is what is charged, what is shared is what is paid.

use crate::ids::OrgId;
use crate::instance::InstanceStatus;
use crate::journal::{Balances, Funding, Shares, fund};
use crate::money::{Bp, Fen, add_months};
use crate::pricing::{
    Breakdown, ChargingMode, Coupon, Discount, QuoteRequest, SpecPricing, TERM_MONTHS_MAX, quote,
};
use crate::proration::{refund_amount, refund_shares, shares_of, split_refund};
use crate::rejection::MoneyRejection;

/// A stored coupon with the facts that decide whether it can be presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCoupon {
    /// The coupon.
    pub coupon: Coupon,
    /// Restricted to this customer, or anyone.
    pub owner: Option<OrgId>,
    /// Whether an order already used it.
    pub used: bool,
    /// Expiry.
    pub expires_ms: i64,
}

/// The coupon `customer` presents at `at_ms`, given what the store found for its code:
/// refused when there is none, it belongs to another customer (answered as none, so
/// codes cannot be probed), it was used, or it expired.
pub fn eligible_coupon(
    found: Option<StoredCoupon>,
    customer: OrgId,
    at_ms: i64,
) -> Result<Coupon, MoneyRejection> {
    let c = found.ok_or(MoneyRejection::CouponNotFound)?;
    if c.owner.is_some_and(|o| o != customer) {
        return Err(MoneyRejection::CouponNotFound);
    }
    if c.used {
        return Err(MoneyRejection::CouponUsed);
    }
    if at_ms >= c.expires_ms {
        return Err(MoneyRejection::CouponExpired);
    }
    Ok(c.coupon)
}

/// What a purchase is decided from.
#[derive(Debug, Clone)]
pub struct PurchaseRequest<'a> {
    /// The customer.
    pub customer: OrgId,
    /// When.
    pub at_ms: i64,
    /// Charging mode.
    pub mode: ChargingMode,
    /// Months (prepaid).
    pub months: u32,
    /// Units.
    pub quantity: u32,
    /// The spec's current pricing.
    pub pricing: &'a SpecPricing,
    /// The product's region.
    pub region: &'a str,
    /// The product's supplier share.
    pub supplier_share: Bp,
    /// Whether an operator provisions the order by hand.
    pub manual_provisioning: bool,
    /// Active discounts.
    pub discounts: &'a [Discount],
    /// The coupon presented (already found eligible).
    pub coupon: Option<&'a Coupon>,
    /// The customer's balances, read under the customer's write lock.
    pub balances: &'a Balances,
}

/// The decisions of a purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchasePlan {
    /// Price breakdown.
    pub breakdown: Breakdown,
    /// How the price is paid (prepaid); zero for pay-as-you-go.
    pub funding: Funding,
    /// How the payment is shared (prepaid); zero for pay-as-you-go.
    pub shares: Shares,
    /// The instance's first status.
    pub status: InstanceStatus,
    /// End of the paid term (prepaid).
    pub ends_ms: Option<i64>,
    /// Months paid (prepaid) or 0.
    pub months: u32,
    /// Whether the coupon presented is used up: only by an order it discounted (below
    /// its minimum spend, or on pay-as-you-go, it stays available).
    pub coupon_used: bool,
    /// The balances after the payment and the deposit hold.
    pub balances_after: Balances,
}

/// Prices a purchase and decides how it is paid: prepaid from the balances in the
/// funding order, pay-as-you-go only when cash covers the deposit.
pub fn plan_purchase(r: &PurchaseRequest<'_>) -> Result<PurchasePlan, MoneyRejection> {
    let breakdown = quote(&QuoteRequest {
        pricing: r.pricing,
        mode: r.mode,
        months: r.months,
        quantity: r.quantity,
        customer: r.customer,
        region: r.region,
        discounts: r.discounts,
        coupon: r.coupon,
    })?;
    let (funding, shares) = match r.mode {
        ChargingMode::Prepaid => fund_and_share(breakdown.total_fen, r.balances, r.supplier_share)?,
        ChargingMode::Payg => {
            let cash = Fen::new(r.balances.cash_fen.max(0))?;
            if breakdown.deposit_fen > cash {
                return Err(MoneyRejection::InsufficientFunds {
                    needed: breakdown.deposit_fen.get(),
                    available: cash.get(),
                });
            }
            (Funding::default(), Shares::default())
        }
    };
    let status = if r.manual_provisioning {
        InstanceStatus::Pending
    } else {
        InstanceStatus::Active
    };
    let (ends_ms, months) = match r.mode {
        ChargingMode::Prepaid => (Some(add_months(r.at_ms, r.months)), r.months),
        ChargingMode::Payg => (None, 0),
    };
    let coupon_used = r.coupon.is_some() && breakdown.steps.iter().any(|s| s.kind == "coupon");
    let mut after = *r.balances;
    after.cash_fen -= funding.cash_fen.get() + breakdown.deposit_fen.get();
    after.voucher_fen -= funding.voucher_fen.get();
    after.credit_used_fen += funding.credit_fen.get();
    after.frozen_fen += breakdown.deposit_fen.get();
    Ok(PurchasePlan {
        breakdown,
        funding,
        shares,
        status,
        ends_ms,
        months,
        coupon_used,
        balances_after: after,
    })
}

/// How a charge of `amount` is paid from the balances (in the funding order cash →
/// voucher → credit) and shared between the supplier (`supplier_share`) and the operator.
pub fn fund_and_share(
    amount: Fen,
    b: &Balances,
    supplier_share: Bp,
) -> Result<(Funding, Shares), MoneyRejection> {
    let funding = fund(amount, b)?;
    let shares = shares_of(amount, supplier_share)?;
    // Conservation: what is funded is what is charged, what is shared is what is paid.
    debug_assert_eq!(funding.total().ok(), Some(amount));
    debug_assert_eq!(
        shares.supplier_fen.checked_add(shares.operator_fen).ok(),
        Some(amount)
    );
    Ok((funding, shares))
}

/// A renewal's term: 1..=[`TERM_MONTHS_MAX`] months.
pub fn check_renewal_months(months: u32) -> Result<(), MoneyRejection> {
    if months == 0 || months > TERM_MONTHS_MAX {
        return Err(MoneyRejection::InvalidTerm);
    }
    Ok(())
}

/// The facts of an instance a renewal is checked against.
#[derive(Debug, Clone, Copy)]
pub struct RenewalFacts {
    /// Charging mode.
    pub mode: ChargingMode,
    /// Status.
    pub status: InstanceStatus,
    /// Months paid so far.
    pub months_total: u32,
    /// Start of the first term.
    pub anchor_ms: i64,
}

/// Whether an instance may be renewed for `months` more at `at_ms`; the new total of
/// months. Terms run from the first start without gaps, so a renewal whose new end is
/// already past (it would charge for time nobody can use) is refused.
pub fn check_renewal(f: &RenewalFacts, months: u32, at_ms: i64) -> Result<u32, MoneyRejection> {
    check_renewal_months(months)?;
    if f.mode != ChargingMode::Prepaid {
        return Err(MoneyRejection::NotPrepaid);
    }
    if matches!(f.status, InstanceStatus::Released | InstanceStatus::Paused) {
        return Err(MoneyRejection::InstanceReleased);
    }
    let total = f.months_total.saturating_add(months);
    if total > TERM_MONTHS_MAX * 2 {
        return Err(MoneyRejection::TermTooLong);
    }
    if f.status != InstanceStatus::Pending && add_months(f.anchor_ms, total) <= at_ms {
        return Err(MoneyRejection::TermAlreadyEnded);
    }
    Ok(total)
}

/// What a renewal is decided from.
#[derive(Debug, Clone)]
pub struct RenewalRequest<'a> {
    /// The instance's facts.
    pub facts: RenewalFacts,
    /// The customer.
    pub customer: OrgId,
    /// Units.
    pub quantity: u32,
    /// Months added.
    pub months: u32,
    /// When.
    pub at_ms: i64,
    /// The instance's pricing snapshot (renewals keep the price sold).
    pub pricing: &'a SpecPricing,
    /// The product's region.
    pub region: &'a str,
    /// Active discounts (applied as today; no coupon).
    pub discounts: &'a [Discount],
    /// The instance's supplier share.
    pub supplier_share: Bp,
    /// The customer's balances, read under the customer's write lock.
    pub balances: &'a Balances,
}

/// The decisions of a renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalPlan {
    /// Price breakdown of the months added.
    pub breakdown: Breakdown,
    /// How they are paid.
    pub funding: Funding,
    /// How the payment is shared.
    pub shares: Shares,
    /// Months paid in total after the renewal.
    pub months_total: u32,
    /// The new end of the term; `None` while the instance is pending (its term starts
    /// when it is accepted).
    pub new_end_ms: Option<i64>,
}

/// Checks a renewal ([`check_renewal`]), prices the months added from the instance's
/// snapshot with today's discounts and no coupon, and funds them in the funding order.
pub fn plan_renewal(r: &RenewalRequest<'_>) -> Result<RenewalPlan, MoneyRejection> {
    let months_total = check_renewal(&r.facts, r.months, r.at_ms)?;
    let breakdown = quote(&QuoteRequest {
        pricing: r.pricing,
        mode: ChargingMode::Prepaid,
        months: r.months,
        quantity: r.quantity,
        customer: r.customer,
        region: r.region,
        discounts: r.discounts,
        coupon: None,
    })?;
    let (funding, shares) = fund_and_share(breakdown.total_fen, r.balances, r.supplier_share)?;
    let new_end_ms = (r.facts.status != InstanceStatus::Pending)
        .then(|| add_months(r.facts.anchor_ms, months_total));
    Ok(RenewalPlan {
        breakdown,
        funding,
        shares,
        months_total,
        new_end_ms,
    })
}

/// The price of the rest of a term on a new spec (change of spec): the terms already paid
/// keep their prices and discounts, so the rest costs what is refunded of the old spec,
/// scaled by the specs' monthly list prices and rounded up. (Re-pricing the whole term at
/// the new spec's long-term rate would let a customer switch back and forth for money.)
pub fn rest_of_term_charge(
    refund: Fen,
    old: &SpecPricing,
    new: &SpecPricing,
) -> Result<Fen, MoneyRejection> {
    let old_monthly = old
        .prepaid
        .as_ref()
        .map(|p| p.monthly_fen)
        .ok_or(MoneyRejection::ModeNotOffered("prepaid"))?;
    let new_monthly = new
        .prepaid
        .as_ref()
        .map(|p| p.monthly_fen)
        .ok_or(MoneyRejection::ModeNotOffered("prepaid"))?;
    let wide = |f: Fen| u128::try_from(f.get()).unwrap_or(0);
    let scaled = (wide(refund) * wide(new_monthly)).div_ceil(wide(old_monthly).max(1));
    let charge = i64::try_from(scaled)
        .map_err(|_| MoneyRejection::Amount(crate::money::MoneyError::Overflow))?;
    Ok(Fen::new(charge)?)
}

/// Where a refund's money goes back to: to the credit account only as far as credit is
/// still drawn (a recharge may have repaid it since), the rest of the credit part to cash.
pub fn refund_destination(by_source: &Funding, b: &Balances) -> Result<Funding, MoneyRejection> {
    let drawn = Fen::new(b.credit_used_fen.max(0))?;
    let to_credit = by_source.credit_fen.min(drawn);
    let out = Funding {
        cash_fen: by_source
            .cash_fen
            .checked_add(by_source.credit_fen.checked_sub(to_credit)?)?,
        voucher_fen: by_source.voucher_fen,
        credit_fen: to_credit,
    };
    debug_assert_eq!(out.total().ok(), by_source.total().ok());
    Ok(out)
}

/// The prorated refund of the current paid span of a prepaid instance at `now_ms` — all
/// of it while the instance is pending (never provisioned), nothing without an end — split
/// back over the sources it was paid from, and the shares that give it back.
pub fn span_refund(
    status: InstanceStatus,
    paid: &Funding,
    paid_shares: &Shares,
    span_start_ms: i64,
    ends_ms: Option<i64>,
    now_ms: i64,
) -> Result<(Funding, Shares), MoneyRejection> {
    let total = paid.total()?;
    let refund = match (status, ends_ms) {
        (InstanceStatus::Pending, _) => total,
        (_, Some(end)) => refund_amount(total, span_start_ms, end, now_ms)?,
        (_, None) => Fen::ZERO,
    };
    let by_source = split_refund(refund, paid)?;
    let shares = refund_shares(refund, total, paid_shares)?;
    debug_assert_eq!(by_source.total().ok(), Some(refund));
    debug_assert_eq!(
        shares.supplier_fen.checked_add(shares.operator_fen).ok(),
        Some(refund)
    );
    Ok((by_source, shares))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{CouponValue, Prepaid};

    fn f(n: i64) -> Fen {
        Fen::new(n).unwrap_or_else(|_| unreachable!())
    }
    fn o(n: i64) -> OrgId {
        OrgId::new(n).unwrap_or_else(|| unreachable!())
    }
    fn stored(owner: Option<i64>, used: bool) -> StoredCoupon {
        StoredCoupon {
            coupon: Coupon {
                id: 1,
                code: "C".into(),
                value: CouponValue::AmountOff { fen: f(100) },
                min_spend_fen: f(0),
            },
            owner: owner.map(o),
            used,
            expires_ms: 1_000,
        }
    }

    #[test]
    fn coupon_eligibility_refuses_in_a_fixed_order() {
        assert_eq!(
            eligible_coupon(None, o(1), 0),
            Err(MoneyRejection::CouponNotFound)
        );
        assert_eq!(
            eligible_coupon(Some(stored(Some(2), false)), o(1), 0),
            Err(MoneyRejection::CouponNotFound)
        );
        assert_eq!(
            eligible_coupon(Some(stored(Some(1), true)), o(1), 0),
            Err(MoneyRejection::CouponUsed)
        );
        assert_eq!(
            eligible_coupon(Some(stored(None, false)), o(1), 1_000),
            Err(MoneyRejection::CouponExpired)
        );
        assert!(eligible_coupon(Some(stored(None, false)), o(1), 999).is_ok());
    }

    fn pricing(monthly: i64) -> SpecPricing {
        SpecPricing {
            prepaid: Some(Prepaid {
                monthly_fen: f(monthly),
                yearly_fen: None,
                term_discounts: Vec::new(),
            }),
            payg: None,
        }
    }

    #[test]
    fn a_purchase_is_funded_cash_first_and_uses_a_coupon_only_when_it_discounts() {
        let p = pricing(1_000);
        let bal = Balances {
            cash_fen: 1_500,
            voucher_fen: 400,
            ..Balances::default()
        };
        let c = stored(None, false).coupon;
        let req = PurchaseRequest {
            customer: o(1),
            at_ms: 0,
            mode: ChargingMode::Prepaid,
            months: 2,
            quantity: 1,
            pricing: &p,
            region: "r",
            supplier_share: Bp::new(7_000).unwrap_or_else(|_| unreachable!()),
            manual_provisioning: false,
            discounts: &[],
            coupon: Some(&c),
            balances: &bal,
        };
        let plan = plan_purchase(&req).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.breakdown.total_fen, f(1_900));
        assert_eq!(
            (plan.funding.cash_fen, plan.funding.voucher_fen),
            (f(1_500), f(400))
        );
        assert!(plan.coupon_used);
        assert_eq!(
            (
                plan.balances_after.cash_fen,
                plan.balances_after.voucher_fen
            ),
            (0, 0)
        );
        let poorer = Balances {
            cash_fen: 10,
            ..Balances::default()
        };
        assert!(matches!(
            plan_purchase(&PurchaseRequest {
                balances: &poorer,
                ..req
            }),
            Err(MoneyRejection::InsufficientFunds { .. })
        ));
    }

    #[test]
    fn renewals_are_checked_and_the_rest_of_a_term_scales_by_monthly_price() {
        let facts = RenewalFacts {
            mode: ChargingMode::Prepaid,
            status: InstanceStatus::Active,
            months_total: 1,
            anchor_ms: 0,
        };
        assert_eq!(
            check_renewal(&facts, 0, 0),
            Err(MoneyRejection::InvalidTerm)
        );
        assert_eq!(check_renewal(&facts, 2, 0), Ok(3));
        assert_eq!(
            check_renewal(&facts, 1, i64::MAX / 2),
            Err(MoneyRejection::TermAlreadyEnded)
        );
        let p = pricing(1_000);
        let bal = Balances {
            cash_fen: 5_000,
            ..Balances::default()
        };
        let req = RenewalRequest {
            facts: RenewalFacts {
                status: InstanceStatus::Pending,
                ..facts
            },
            customer: o(1),
            quantity: 2,
            months: 2,
            at_ms: 0,
            pricing: &p,
            region: "r",
            discounts: &[],
            supplier_share: Bp::new(5_000).unwrap_or_else(|_| unreachable!()),
            balances: &bal,
        };
        let plan = plan_renewal(&req).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((plan.months_total, plan.new_end_ms), (3, None));
        assert_eq!(plan.funding.cash_fen, f(4_000));
        assert_eq!(plan.shares.supplier_fen, f(2_000));
        assert_eq!(
            rest_of_term_charge(f(10), &pricing(3), &pricing(4)),
            Ok(f(14))
        );
        let back = refund_destination(
            &Funding {
                cash_fen: f(5),
                voucher_fen: f(0),
                credit_fen: f(10),
            },
            &Balances {
                credit_used_fen: 4,
                ..Balances::default()
            },
        );
        assert_eq!(back.map(|b| (b.cash_fen, b.credit_fen)), Ok((f(11), f(4))));
    }
}
