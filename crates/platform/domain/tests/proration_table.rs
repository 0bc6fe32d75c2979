//! Prorated refunds from a table of cases (docs/money.md, "Proration"): same-day
//! unsubscribe, month ends (Jan 31 → Feb 28/29), leap years, yearly terms, discounts and
//! coupons combined, and the split of a refund back to the balances it came from.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use suanli_platform_domain::OrgId;
use suanli_platform_domain::journal::Funding;
use suanli_platform_domain::money::{Bp, Fen, add_months, cst_midnight};
use suanli_platform_domain::pricing::{
    ChargingMode, Coupon, CouponValue, Discount, DiscountScope, Prepaid, QuoteRequest, SpecPricing,
    TermTier, quote,
};
use suanli_platform_domain::proration::{days, refund_amount, split_refund};

const H: i64 = 3_600_000;

fn f(n: i64) -> Fen {
    Fen::new(n).unwrap()
}

/// (name, start (y, m, d, hour CST), months, unsubscribe at (y, m, d, hour CST), paid,
/// expected total days, expected used days, expected refund)
type Case = (
    &'static str,
    (i64, u32, u32, i64),
    u32,
    (i64, u32, u32, i64),
    i64,
    i64,
    i64,
    i64,
);

const CASES: &[Case] = &[
    // Every started day counts as used: a same-day unsubscribe pays one day of 31.
    (
        "same day",
        (2025, 3, 10, 10),
        1,
        (2025, 3, 10, 18),
        31_000,
        31,
        1,
        30_000,
    ),
    // Jan 31 + 1 month = Feb 28 (2025 is not a leap year): 28 days.
    (
        "jan 31 → feb 28",
        (2025, 1, 31, 0),
        1,
        (2025, 2, 14, 0),
        10_000,
        28,
        14,
        5_000,
    ),
    // In a leap year Jan 31 + 1 month = Feb 29: 29 days; ⌊10 000 × 28 / 29⌋ = 9 655.
    (
        "jan 31 → feb 29",
        (2024, 1, 31, 0),
        1,
        (2024, 2, 1, 0),
        10_000,
        29,
        1,
        9_655,
    ),
    // Dec 31 + 2 months = Feb 29 2024: 31 + 29 = 60 days; 31.5 days used → 32.
    (
        "dec 31 + 2 months",
        (2023, 12, 31, 0),
        2,
        (2024, 1, 31, 12),
        6_000,
        60,
        32,
        2_800,
    ),
    // A yearly term over a leap day has 366 days; half a year used (182 days).
    (
        "leap yearly",
        (2024, 1, 1, 0),
        12,
        (2024, 7, 1, 0),
        1_000_000,
        366,
        182,
        502_732,
    ),
    // A yearly term without a leap day has 365 days.
    (
        "plain yearly",
        (2025, 3, 1, 0),
        12,
        (2025, 9, 1, 0),
        365_000,
        365,
        184,
        181_000,
    ),
    // Unsubscribed before the term starts: everything back.
    (
        "before start",
        (2025, 5, 1, 0),
        3,
        (2025, 4, 30, 0),
        90_000,
        92,
        0,
        90_000,
    ),
    // At the end nothing is left.
    (
        "at end",
        (2025, 5, 1, 0),
        1,
        (2025, 6, 1, 0),
        90_000,
        31,
        31,
        0,
    ),
    // Mid-day start: the end keeps the time of day.
    (
        "mid-day start",
        (2025, 2, 28, 15),
        1,
        (2025, 3, 1, 14),
        2_800,
        28,
        1,
        2_700,
    ),
];

#[test]
fn proration_table() {
    for &(name, (y, m, d, h), months, (uy, um, ud, uh), paid, total, used, refund) in CASES {
        let start = cst_midnight(y, m, d) + h * H;
        let end = add_months(start, months);
        let now = cst_midnight(uy, um, ud) + uh * H;
        assert_eq!(days(start, end, now), (total, used), "{name}: days");
        assert_eq!(
            refund_amount(f(paid), start, end, now),
            Ok(f(refund)),
            "{name}: refund"
        );
    }
}

#[test]
fn month_end_terms_do_not_drift() {
    // Terms are counted from the first start (anchor), so Jan 31 + 1 = Feb 28 but
    // Jan 31 + 2 = Mar 31 (not Mar 28).
    let jan31 = cst_midnight(2025, 1, 31);
    assert_eq!(add_months(jan31, 1), cst_midnight(2025, 2, 28));
    assert_eq!(add_months(jan31, 2), cst_midnight(2025, 3, 31));
    assert_eq!(
        add_months(cst_midnight(2024, 2, 29), 12),
        cst_midnight(2025, 2, 28)
    );
    assert_eq!(
        add_months(cst_midnight(2024, 2, 29), 48),
        cst_midnight(2028, 2, 29)
    );
}

#[test]
fn discounts_and_coupons_combined_then_prorated_back_to_sources() {
    let pricing = SpecPricing {
        prepaid: Some(Prepaid {
            monthly_fen: f(10_000),
            yearly_fen: Some(f(100_000)),
            term_discounts: vec![TermTier {
                min_months: 12,
                off_bp: Bp::new(1_000).unwrap(),
            }],
        }),
        payg: None,
    };
    let discounts = [Discount {
        id: 1,
        scope: DiscountScope::Global,
        off_bp: Bp::new(500).unwrap(),
    }];
    let coupon = Coupon {
        id: 2,
        code: "Y2K".into(),
        value: CouponValue::AmountOff { fen: f(2_000) },
        min_spend_fen: f(100_000),
    };
    let b = quote(&QuoteRequest {
        pricing: &pricing,
        mode: ChargingMode::Prepaid,
        months: 12,
        quantity: 2,
        customer: OrgId::new(9).unwrap(),
        region: "cn-north",
        discounts: &discounts,
        coupon: Some(&coupon),
    })
    .unwrap();
    // list 2 × 100 000 = 200 000; term 10 % → 180 000; global 5 % → 171 000;
    // coupon −2 000 → 169 000.
    assert_eq!(b.list_fen, f(200_000));
    assert_eq!(b.total_fen, f(169_000));
    assert_eq!(b.discount_fen(), f(31_000));
    let start = cst_midnight(2025, 3, 1);
    let end = add_months(start, 12);
    // One millisecond in: one day of 365 used.
    let refund = refund_amount(b.total_fen, start, end, start + 1).unwrap();
    assert_eq!(refund, f(168_536));
    // Paid 100 000 cash, 50 000 voucher, 19 000 credit: proportional floors
    // (99 725, 49 862, 18 947) leave 2 fen, which go to cash.
    let paid = Funding {
        cash_fen: f(100_000),
        voucher_fen: f(50_000),
        credit_fen: f(19_000),
    };
    let back = split_refund(refund, &paid).unwrap();
    assert_eq!(
        back,
        Funding {
            cash_fen: f(99_727),
            voucher_fen: f(49_862),
            credit_fen: f(18_947),
        }
    );
    assert_eq!(back.total().unwrap(), refund);
}
