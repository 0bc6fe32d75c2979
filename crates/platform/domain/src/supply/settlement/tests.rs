//! Unit and property tests of supplier settlement.

use super::*;
use crate::journal::Side;
use proptest::prelude::*;

fn f(n: i64) -> Fen {
    Fen::new(n).unwrap_or_else(|_| unreachable!())
}
fn bp(n: u32) -> Bp {
    Bp::new(n).unwrap_or_else(|_| unreachable!())
}
fn serial(i: u32) -> TradeSerial {
    TradeSerial::parse(&format!("{i:032x}")).unwrap_or_else(|_| unreachable!())
}
fn nov() -> PeriodKey {
    PeriodKey::parse("2026-11", SettlementPeriod::Monthly).unwrap_or_else(|_| unreachable!())
}
fn ci(s: u32, n: u32, end_ms: i64, cost: i64) -> CheckIn {
    CheckIn {
        serial: serial(s),
        n,
        start_ms: end_ms - 60_000,
        end_ms,
        cost: f(cost),
    }
}
fn key(s: &str) -> IdemKey {
    IdemKey::parse(s).unwrap_or_else(|_| unreachable!())
}
fn org(n: i64) -> OrgId {
    OrgId::new(n).unwrap_or_else(|| unreachable!())
}
fn user(n: i64) -> UserId {
    UserId::new(n).unwrap_or_else(|| unreachable!())
}

#[test]
fn periods_parse_and_bound_in_cst() {
    let p = nov();
    assert_eq!(p.label(), "2026-11");
    let (s, e) = p.bounds();
    assert_eq!(s, cst_midnight(2026, 11, 1));
    assert_eq!(e, cst_midnight(2026, 12, 1));
    let q = PeriodKey::parse("2026-Q4", SettlementPeriod::Quarterly);
    let q = q.unwrap_or_else(|_| unreachable!());
    assert_eq!(q.label(), "2026-Q4");
    assert_eq!(
        q.bounds(),
        (cst_midnight(2026, 10, 1), cst_midnight(2027, 1, 1))
    );
    for bad in ["2026-13", "2026-1", "26-11", "2026-Q4", "x", "2026-00"] {
        assert_eq!(
            PeriodKey::parse(bad, SettlementPeriod::Monthly),
            Err(SettlementError::PeriodLabel),
            "{bad}"
        );
    }
    assert!(PeriodKey::parse("2026-Q5", SettlementPeriod::Quarterly).is_err());
    assert!(PeriodKey::parse("2026-11", SettlementPeriod::Quarterly).is_err());
}

#[test]
fn terms_parse() {
    assert_eq!(SalesMode::parse("rebate"), Ok(SalesMode::Rebate));
    assert_eq!(SalesMode::parse("agency"), Err(SettlementError::SalesMode));
    assert_eq!(
        SettlementPeriod::parse("weekly"),
        Err(SettlementError::Period)
    );
    assert!(AgreementText::parse("  ").is_err());
    assert!(AgreementText::parse(&"x".repeat(AGREEMENT_TEXT_CHARS_MAX + 1)).is_err());
    assert_eq!(
        AgreementText::parse(" terms ").map(|t| t.as_str().to_owned()),
        Ok("terms".to_owned())
    );
    assert!(TradeSerial::parse("zz").is_err());
    assert_eq!(
        TradeSerial::parse(&"AB".repeat(16)).map(|s| s.as_str().to_owned()),
        Ok("ab".repeat(16))
    );
}

#[test]
fn statement_takes_the_period_once_and_rounds_commission_down() {
    let (s, e) = nov().bounds();
    let list = vec![
        ci(1, 1, s, 333),
        ci(1, 2, e - 1, 334),
        ci(1, 2, e - 1, 334), // listed twice: taken once
        ci(2, 1, e, 1_000),   // next period
        ci(3, 1, s - 1, 500), // previous period
        ci(4, 1, s + 5, 77),  // settled before
    ];
    let settled: BTreeSet<CheckInKey> = [(serial(4), 1)].into_iter().collect();
    assert_eq!(
        settle(&nov(), &list, &settled, bp(1_000), e - 1),
        Err(SettlementError::PeriodOpen)
    );
    let st = settle(&nov(), &list, &settled, bp(1_000), e).unwrap_or_else(|_| unreachable!());
    assert_eq!(st.gross, f(667));
    assert_eq!(st.commission, f(66)); // ⌊66.7⌋
    assert_eq!(st.net, f(601));
    assert_eq!(st.checkins.len(), 2);
    let tx = settlement_tx(key("settle:1"), org(9), &st, "").unwrap_or_else(|_| unreachable!());
    assert_eq!(tx.imbalance(), 0);
    assert_eq!(tx.total(), f(667));
    assert_eq!(tx.kind(), TxKind::SupplierSettlement);
    // A period without check-ins settles nothing and posts nothing.
    let empty = settle(&nov(), &[], &settled, bp(1_000), e).unwrap_or_else(|_| unreachable!());
    assert!(empty.gross.is_zero());
    assert!(settlement_tx(key("settle:2"), org(9), &empty, "").is_err());
}

#[test]
fn a_checkin_read_twice_with_different_costs_is_refused_and_zero_costs_are_skipped() {
    let (s, e) = nov().bounds();
    let settled = BTreeSet::new();
    // The same (serial, n) with two costs: refused, not the first one kept.
    let list = vec![ci(1, 1, s, 100), ci(1, 1, s, 900)];
    assert_eq!(
        settle(&nov(), &list, &settled, bp(0), e),
        Err(SettlementError::CheckInConflict {
            serial: serial(1).as_str().to_owned(),
            n: 1
        })
    );
    // Check-ins that cost 0 move no money: nothing to settle, no journal entry.
    let zero = settle(
        &nov(),
        &[ci(2, 1, s, 0), ci(2, 2, s + 1, 0)],
        &settled,
        bp(0),
        e,
    )
    .unwrap_or_else(|_| unreachable!());
    assert!(zero.checkins.is_empty() && zero.gross.is_zero());
    let mixed = settle(
        &nov(),
        &[ci(2, 1, s, 0), ci(2, 2, s + 1, 5)],
        &settled,
        bp(0),
        e,
    )
    .unwrap_or_else(|_| unreachable!());
    assert_eq!((mixed.checkins.len(), mixed.gross), (1, f(5)));
}

#[test]
fn a_trades_settlements_must_be_numbered_without_gaps_and_add_up_to_paid() {
    let (s, _) = nov().bounds();
    let items = [ci(1, 1, s, 100), ci(1, 2, s + 1, 50)];
    assert!(check_trade_items(&serial(1), &items, f(150)).is_ok());
    assert!(check_trade_items(&serial(1), &[], Fen::ZERO).is_ok());
    let code = |r: Result<(), SettlementError>| r.map_err(|e| e.code());
    // A record missed: the sum is short of what the trade paid.
    assert_eq!(
        code(check_trade_items(&serial(1), &items[..1], f(150))),
        Err("chain_inconsistent")
    );
    // Numbers with a gap or a repeat.
    let gap = [ci(1, 1, s, 100), ci(1, 3, s + 1, 50)];
    assert_eq!(
        code(check_trade_items(&serial(1), &gap, f(150))),
        Err("chain_inconsistent")
    );
    // A channel's opening settlement is number 0, once.
    let open = [ci(1, 0, s, 7), ci(1, 1, s, 100), ci(1, 2, s + 1, 50)];
    assert!(check_trade_items(&serial(1), &open, f(157)).is_ok());
    let zeros = [ci(1, 0, s, 7), ci(1, 0, s, 100)];
    assert_eq!(
        code(check_trade_items(&serial(1), &zeros, f(107))),
        Err("chain_inconsistent")
    );
    let twice = [ci(1, 1, s, 100), ci(1, 1, s, 50)];
    assert_eq!(
        code(check_trade_items(&serial(1), &twice, f(150))),
        Err("chain_inconsistent")
    );
}

#[test]
fn statements_and_payouts_use_the_chain_payable_not_the_order_shares() {
    let (s, e) = nov().bounds();
    let st = settle(
        &nov(),
        &[ci(1, 1, s, 1_000)],
        &BTreeSet::new(),
        bp(1_000),
        e,
    )
    .unwrap_or_else(|_| unreachable!());
    let tx = settlement_tx(key("settle:c"), org(9), &st, "").unwrap_or_else(|_| unreachable!());
    let payable: Vec<_> = tx.lines().iter().map(|l| l.account).collect();
    assert!(payable.contains(&Account::SupplierChainPayable(org(9))));
    assert!(!payable.contains(&Account::SupplierPayable(org(9))));
    let p =
        payout_tx(key("payout:c"), org(9), f(10), f(900), "").unwrap_or_else(|_| unreachable!());
    assert!(
        p.lines()
            .iter()
            .any(|l| l.account == chain_payable(org(9)) && l.side == Side::Debit)
    );
    assert_eq!(chain_payable(org(9)).key(), "supplier:9:chain_payable");
}

#[test]
fn payouts_stay_within_the_payable_and_need_four_eyes() {
    assert!(check_payout(f(100), f(100)).is_ok());
    assert_eq!(
        check_payout(f(101), f(100)),
        Err(MoneyRejection::PayoutAbovePayable {
            requested: 101,
            payable: 100
        })
    );
    assert!(check_payout(f(0), f(100)).is_err());
    let tx = payout_tx(key("payout:1"), org(9), f(60), f(100), "");
    let tx = tx.unwrap_or_else(|_| unreachable!());
    assert_eq!(tx.imbalance(), 0);
    assert!(
        tx.lines()
            .iter()
            .any(|l| l.account == Account::Bank && l.side == Side::Credit)
    );
    assert!(payout_tx(key("payout:2"), org(9), f(101), f(100), "").is_err());
    assert!(check_four_eyes(user(1), user(2), user(3)).is_ok());
    assert_eq!(
        check_four_eyes(user(1), user(2), user(2)),
        Err(MoneyRejection::FourEyes)
    );
    assert_eq!(
        check_four_eyes(user(1), user(2), user(1)),
        Err(MoneyRejection::FourEyes)
    );
    assert_eq!(
        check_four_eyes(user(1), user(1), user(3)),
        Err(MoneyRejection::FourEyes)
    );
}

#[test]
fn reconciliation_names_each_difference() {
    let agree = SupplierBooks {
        chain_checkins: f(1_000),
        settled_gross: f(1_000),
        settled_net: f(900),
        payable: f(400),
        paid: f(500),
        burned: f(500),
    };
    assert!(reconcile_books(&agree).is_empty());
    let off = SupplierBooks {
        chain_checkins: f(1_100),
        burned: f(300),
        ..agree
    };
    let names: Vec<_> = reconcile_books(&off).iter().map(|d| d.check).collect();
    assert_eq!(names, ["checkins_vs_settled", "burned_vs_paid"]);
}

proptest! {
    /// Settling random check-ins over consecutive months: each check-in is settled exactly
    /// once, every statement has gross = commission + net, every journal entry balances
    /// and Σ gross = Σ costs of the periods run.
    #[test]
    fn random_checkins_settle_once_and_balance(
        costs in prop::collection::vec((0u32..20, 1u32..5, 0i64..90, 0i64..10_000), 0..80),
        commission in 0u32..=10_000,
    ) {
        let months = ["2026-09", "2026-10", "2026-11"];
        let periods: Vec<PeriodKey> = months
            .iter()
            .map(|m| PeriodKey::parse(m, SettlementPeriod::Monthly).unwrap_or_else(|_| unreachable!()))
            .collect();
        let start = periods[0].bounds().0;
        let end = periods[2].bounds().1;
        // One record per check-in, as on the chain, each listed twice (a read that
        // overlaps the previous one).
        let uniq: std::collections::BTreeMap<(u32, u32), (i64, i64)> =
            costs.iter().map(|&(s, n, day, c)| ((s, n), (day, c))).collect();
        let list: Vec<CheckIn> = uniq
            .iter()
            .chain(uniq.iter())
            .map(|(&(s, n), &(day, c))| ci(s, n, start + day * 86_400_000, c))
            .collect();
        let mut settled = BTreeSet::new();
        let mut total = 0i64;
        for (i, p) in periods.iter().enumerate() {
            // Every statement is run twice: the second run settles nothing new.
            for run in 0..2 {
                let st = settle(p, &list, &settled, bp(commission), end)
                    .unwrap_or_else(|_| unreachable!());
                prop_assert_eq!(st.commission.get() + st.net.get(), st.gross.get());
                prop_assert!(st.commission <= st.gross);
                if run == 1 {
                    prop_assert!(st.gross.is_zero() && st.checkins.is_empty());
                }
                for c in &st.checkins {
                    prop_assert!(settled.insert((c.serial.clone(), c.n)), "settled twice");
                }
                total += st.gross.get();
                if let Ok(tx) = settlement_tx(key(&format!("s:{i}:{run}")), org(3), &st, "") {
                    prop_assert_eq!(tx.imbalance(), 0);
                    prop_assert_eq!(tx.total(), st.gross);
                }
            }
        }
        // Σ gross = Σ distinct check-ins in the three months.
        let mut distinct = std::collections::BTreeMap::new();
        for c in &list {
            if c.end_ms < end && c.cost.get() > 0 {
                distinct.entry((c.serial.clone(), c.n)).or_insert(c.cost.get());
            }
        }
        prop_assert_eq!(total, distinct.values().sum::<i64>());
        prop_assert_eq!(settled.len(), distinct.len());
    }
}
