//! Why a money rule refused an operation: [`MoneyRejection`], one variant per rule, each
//! with a stable snake_case [`MoneyRejection::code`] that the API answers as its error code
//! (docs/api-errors.md). The message (`Display`) is for people and may change; the code
//! does not.

use crate::journal::JournalError;
use crate::money::MoneyError;
use crate::pricing::{PricingError, QUANTITY_MAX, TERM_MONTHS_MAX};

/// A money rule refused the operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyRejection {
    /// The customer's balances cannot pay (cash + vouchers + available credit; cash alone
    /// for a deposit or a withdrawal).
    #[error("insufficient balance: {needed} fen needed, {available} fen available")]
    InsufficientFunds {
        /// What had to be paid, in fen.
        needed: i64,
        /// What could be paid, in fen.
        available: i64,
    },
    /// No coupon with this code is available to the customer.
    #[error("no such coupon")]
    CouponNotFound,
    /// The coupon was already used by an order.
    #[error("coupon already used")]
    CouponUsed,
    /// The coupon is past its expiry.
    #[error("coupon expired")]
    CouponExpired,
    /// The spec has no strategy for the requested charging mode.
    #[error("the spec is not sold {0}")]
    ModeNotOffered(&'static str),
    /// A term outside 1..=[`TERM_MONTHS_MAX`] months.
    #[error("term must be 1 to {TERM_MONTHS_MAX} months")]
    InvalidTerm,
    /// A quantity outside 1..=[`QUANTITY_MAX`].
    #[error("quantity must be 1 to {QUANTITY_MAX}")]
    InvalidQuantity,
    /// A pricing strategy that makes no sense.
    #[error("invalid pricing: {0}")]
    InvalidPricing(&'static str),
    /// An amount out of range (overflow, or negative where it cannot be).
    #[error(transparent)]
    Amount(MoneyError),
    /// A journal transaction the journal refuses (unbalanced, empty, bad key).
    #[error("journal: {0}")]
    Journal(JournalError),
    /// A renewal of an instance that is not prepaid.
    #[error("only prepaid instances are renewed")]
    NotPrepaid,
    /// An operation on a released (or, for a renewal, paused) instance.
    #[error("the instance is released")]
    InstanceReleased,
    /// A renewal beyond twice the longest term in total.
    #[error("the instance's total term would be too long")]
    TermTooLong,
    /// A renewal whose new end is already past.
    #[error("the renewed term would already have ended: renew for more months or order anew")]
    TermAlreadyEnded,
    /// An unsubscribe while usage is owed (it must be paid, never written off).
    #[error("{unpaid_fen} fen of usage is unpaid; recharge, then unsubscribe")]
    UsageUnpaid {
        /// The owed usage, in fen.
        unpaid_fen: i64,
    },
    /// A change of spec of an instance that is not active and prepaid.
    #[error("only active prepaid instances change spec")]
    SpecChangeNotAllowed,
    /// A change to a spec of another (or an unpublished) product.
    #[error("the new spec must belong to the same published product")]
    SpecOfOtherProduct,
    /// A change to the spec the instance already has.
    #[error("the instance already has this spec")]
    SameSpec,
    /// A payment confirmation whose amount differs from the payment's.
    #[error("amount does not match the payment")]
    AmountMismatch,
    /// A decision on something that is no longer pending (a transfer, a grant, an
    /// instance to accept).
    #[error("the {0} is not pending")]
    NotPending(&'static str),
    /// Four eyes: the approver is the user who entered or asked for it.
    #[error("four eyes: the approver must not be the user who entered or asked for it")]
    FourEyes,
    // ── supplier money (issue 16, `supply::settlement`) ──
    /// A supplier payout of nothing or above the net payable still free.
    #[error("payout of {requested} fen refused: {payable} fen is payable")]
    PayoutAbovePayable {
        /// The amount asked for, in fen.
        requested: i64,
        /// What the supplier may still be paid, in fen.
        payable: i64,
    },
}

impl MoneyRejection {
    /// Every code [`MoneyRejection::code`] can answer.
    pub const CODES: &'static [&'static str] = &[
        "insufficient_balance",
        "coupon_not_found",
        "coupon_used",
        "coupon_expired",
        "mode_not_offered",
        "invalid_term",
        "invalid_quantity",
        "invalid_pricing",
        "amount_out_of_range",
        "journal_refused",
        "not_prepaid",
        "instance_released",
        "term_too_long",
        "term_already_ended",
        "usage_unpaid",
        "spec_change_not_allowed",
        "spec_of_other_product",
        "same_spec",
        "amount_mismatch",
        "not_pending",
        "four_eyes",
        "payout_above_payable",
    ];

    /// The stable code (what the API answers as `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            MoneyRejection::InsufficientFunds { .. } => "insufficient_balance",
            MoneyRejection::CouponNotFound => "coupon_not_found",
            MoneyRejection::CouponUsed => "coupon_used",
            MoneyRejection::CouponExpired => "coupon_expired",
            MoneyRejection::ModeNotOffered(_) => "mode_not_offered",
            MoneyRejection::InvalidTerm => "invalid_term",
            MoneyRejection::InvalidQuantity => "invalid_quantity",
            MoneyRejection::InvalidPricing(_) => "invalid_pricing",
            MoneyRejection::Amount(_) => "amount_out_of_range",
            MoneyRejection::Journal(_) => "journal_refused",
            MoneyRejection::NotPrepaid => "not_prepaid",
            MoneyRejection::InstanceReleased => "instance_released",
            MoneyRejection::TermTooLong => "term_too_long",
            MoneyRejection::TermAlreadyEnded => "term_already_ended",
            MoneyRejection::UsageUnpaid { .. } => "usage_unpaid",
            MoneyRejection::SpecChangeNotAllowed => "spec_change_not_allowed",
            MoneyRejection::SpecOfOtherProduct => "spec_of_other_product",
            MoneyRejection::SameSpec => "same_spec",
            MoneyRejection::AmountMismatch => "amount_mismatch",
            MoneyRejection::NotPending(_) => "not_pending",
            MoneyRejection::FourEyes => "four_eyes",
            MoneyRejection::PayoutAbovePayable { .. } => "payout_above_payable",
        }
    }
}

impl From<MoneyError> for MoneyRejection {
    fn from(e: MoneyError) -> Self {
        MoneyRejection::Amount(e)
    }
}

impl From<JournalError> for MoneyRejection {
    fn from(e: JournalError) -> Self {
        match e {
            JournalError::Insufficient { needed, available } => {
                MoneyRejection::InsufficientFunds { needed, available }
            }
            JournalError::Money(m) => MoneyRejection::Amount(m),
            other => MoneyRejection::Journal(other),
        }
    }
}

impl From<PricingError> for MoneyRejection {
    fn from(e: PricingError) -> Self {
        match e {
            PricingError::Money(m) => MoneyRejection::Amount(m),
            PricingError::ModeNotOffered(m) => MoneyRejection::ModeNotOffered(m),
            PricingError::Term => MoneyRejection::InvalidTerm,
            PricingError::Quantity => MoneyRejection::InvalidQuantity,
            PricingError::Invalid(w) => MoneyRejection::InvalidPricing(w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_and_distinct_per_rule() {
        let all = [
            MoneyRejection::InsufficientFunds {
                needed: 2,
                available: 1,
            },
            MoneyRejection::CouponNotFound,
            MoneyRejection::CouponUsed,
            MoneyRejection::CouponExpired,
            MoneyRejection::ModeNotOffered("prepaid"),
            MoneyRejection::InvalidTerm,
            MoneyRejection::InvalidQuantity,
            MoneyRejection::InvalidPricing("x"),
            MoneyRejection::Amount(MoneyError::Overflow),
            MoneyRejection::Journal(JournalError::Empty),
            MoneyRejection::NotPrepaid,
            MoneyRejection::InstanceReleased,
            MoneyRejection::TermTooLong,
            MoneyRejection::TermAlreadyEnded,
            MoneyRejection::UsageUnpaid { unpaid_fen: 3 },
            MoneyRejection::SpecChangeNotAllowed,
            MoneyRejection::SpecOfOtherProduct,
            MoneyRejection::SameSpec,
            MoneyRejection::AmountMismatch,
            MoneyRejection::NotPending("grant"),
            MoneyRejection::FourEyes,
        ];
        let codes: Vec<&str> = all.iter().map(MoneyRejection::code).collect();
        assert_eq!(codes, MoneyRejection::CODES);
        for c in &codes {
            assert!(
                c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{c}"
            );
        }
        let mut dedup = codes.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), codes.len());
    }

    #[test]
    fn journal_and_pricing_errors_keep_their_meaning() {
        assert_eq!(
            MoneyRejection::from(JournalError::Insufficient {
                needed: 5,
                available: 4
            })
            .code(),
            "insufficient_balance"
        );
        assert_eq!(
            MoneyRejection::from(PricingError::Term).to_string(),
            format!("term must be 1 to {TERM_MONTHS_MAX} months")
        );
        assert_eq!(
            MoneyRejection::UsageUnpaid { unpaid_fen: 300 }.to_string(),
            "300 fen of usage is unpaid; recharge, then unsubscribe"
        );
    }
}
