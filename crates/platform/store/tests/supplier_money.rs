//! Supplier money on both backends (issue 16, `SupplierMoneyStore`): agreement versions
//! and acceptance, statements that settle each check-in once with a balanced journal
//! entry, payouts bounded by the payable and approved with four eyes. Same harness as
//! `conformance.rs`: SQLite always, PostgreSQL when `SUANLI_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use suanli_platform_domain::journal::Account;
use suanli_platform_domain::money::{Bp, Fen};
use suanli_platform_domain::rejection::MoneyRejection;
use suanli_platform_domain::supply::settlement::{
    AgreementTerms, AgreementText, CheckIn, PeriodKey, SalesMode, SettlementPeriod, TradeSerial,
    settle,
};
use suanli_platform_domain::{OrgId, OrgKind, OrgStatus, Role, UserId};
use suanli_platform_store::*;

#[macro_use]
mod common;
use common::*;

conformance!(
    agreements_are_versioned_and_accepted,
    statements_settle_each_checkin_once,
    payouts_need_four_eyes_and_stay_within_the_payable,
);

/// 2026-12-06 (after November 2026 ended).
const NOW: i64 = 1_796_600_000_000;

struct World {
    supplier: OrgId,
    other: OrgId,
    admin: UserId,
    operator: UserId,
    finance: [UserId; 2],
}

async fn world(s: &dyn OpsStore) -> World {
    let new_org = |kind, name: &str| NewOrg {
        kind,
        name: name.into(),
        status: OrgStatus::Active,
        distributor: None,
        created_ms: NOW,
    };
    let op = s
        .create_org(&new_org(OrgKind::Operator, "op"))
        .await
        .unwrap()
        .id;
    let supplier = s
        .create_org(&new_org(OrgKind::SupplierResource, "dc"))
        .await
        .unwrap()
        .id;
    let other = s
        .create_org(&new_org(OrgKind::SupplierApi, "api"))
        .await
        .unwrap()
        .id;
    let user = |org, login: &str, role| NewUser {
        org,
        login: login.into(),
        display_name: login.into(),
        password_hash: "x".into(),
        roles: vec![role],
        created_ms: NOW,
    };
    let id = |r: UserRecord| r.id;
    World {
        supplier,
        other,
        admin: id(s
            .create_user(&user(supplier, "dcadmin", Role::SupplierAdmin))
            .await
            .unwrap()),
        operator: id(s
            .create_user(&user(op, "opadmin", Role::OperatorAdmin))
            .await
            .unwrap()),
        finance: [
            id(s.create_user(&user(op, "fin1", Role::Finance))
                .await
                .unwrap()),
            id(s.create_user(&user(op, "fin2", Role::Finance))
                .await
                .unwrap()),
        ],
    }
}

fn terms(bp: u32, text: &str) -> AgreementTerms {
    AgreementTerms {
        text: AgreementText::parse(text).unwrap(),
        sales_mode: SalesMode::Rebate,
        commission: Bp::new(bp).unwrap(),
        period: SettlementPeriod::Monthly,
    }
}

fn money(e: StoreError) -> MoneyRejection {
    match e {
        StoreError::Money(m) => m,
        other => panic!("expected a money refusal, got {other:?}"),
    }
}

/// A stand-in signed chain transaction (the store keeps it, it does not read it).
fn ctx(reference: &str) -> PayoutChainTx {
    PayoutChainTx {
        reference: reference.to_owned(),
        encoded_hex: format!("00{reference}"),
    }
}

fn fen(n: i64) -> Fen {
    Fen::new(n).unwrap()
}

async fn agreements_are_versioned_and_accepted(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    assert_eq!(s.governing_agreement(w.supplier).await.unwrap(), None);
    let v1 = s
        .record_agreement(w.supplier, &terms(1_000, "v1"), w.operator, NOW)
        .await
        .unwrap();
    assert_eq!((v1.version, v1.accepted_ms), (1, None));
    // Not accepted yet: nothing governs.
    assert_eq!(s.governing_agreement(w.supplier).await.unwrap(), None);
    // Another organisation's agreement is not found.
    assert!(matches!(
        s.accept_agreement(w.other, v1.id, w.admin, NOW).await,
        Err(StoreError::NotFound)
    ));
    let a1 = s
        .accept_agreement(w.supplier, v1.id, w.admin, NOW + 1)
        .await
        .unwrap();
    assert_eq!(a1.accepted_by, Some(w.admin));
    assert_eq!(
        money(
            s.accept_agreement(w.supplier, v1.id, w.admin, NOW + 2)
                .await
                .unwrap_err()
        ),
        MoneyRejection::NotPending("agreement")
    );
    // A new version needs a new acceptance; until then version 1 governs.
    let v2 = s
        .record_agreement(w.supplier, &terms(500, "v2"), w.operator, NOW + 3)
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(
        s.governing_agreement(w.supplier)
            .await
            .unwrap()
            .map(|a| a.id),
        Some(v1.id)
    );
    s.accept_agreement(w.supplier, v2.id, w.admin, NOW + 4)
        .await
        .unwrap();
    let g = s.governing_agreement(w.supplier).await.unwrap().unwrap();
    assert_eq!((g.id, g.commission.get()), (v2.id, 500));
    let all = s.supply_agreements(w.supplier).await.unwrap();
    assert_eq!(all.iter().map(|a| a.version).collect::<Vec<_>>(), [2, 1]);
    assert!(s.supply_agreements(w.other).await.unwrap().is_empty());
}

fn checkins(period: &PeriodKey) -> Vec<CheckIn> {
    let (start, _) = period.bounds();
    (1..=3u32)
        .map(|n| CheckIn {
            serial: TradeSerial::parse(&format!("{:032x}", 7)).unwrap(),
            n,
            start_ms: start + i64::from(n) * 60_000,
            end_ms: start + i64::from(n + 1) * 60_000,
            cost: fen(i64::from(n) * 333),
        })
        .collect()
}

async fn statements_settle_each_checkin_once(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    let a = s
        .record_agreement(w.supplier, &terms(1_000, "v1"), w.operator, NOW)
        .await
        .unwrap();
    let a = s
        .accept_agreement(w.supplier, a.id, w.admin, NOW)
        .await
        .unwrap();
    let nov = PeriodKey::parse("2026-11", SettlementPeriod::Monthly).unwrap();
    let list = checkins(&nov);
    let done = s.settled_checkins(w.supplier).await.unwrap();
    let st = settle(&nov, &list, &done, a.commission, NOW).unwrap();
    let new = NewStatement {
        org: w.supplier,
        period: &nov,
        agreement: &a,
        statement: &st,
        by: w.finance[0],
        at_ms: NOW,
    };
    let rec = s.record_statement(&new).await.unwrap().statement.unwrap();
    assert_eq!(
        (rec.gross.get(), rec.commission.get(), rec.net.get()),
        (1_998, 199, 1_799)
    );
    assert_eq!(
        (rec.seq, rec.checkins, rec.period.as_str()),
        (1, 3, "2026-11")
    );
    // The same check-ins again (a concurrent run): refused whole, nothing written.
    assert!(s.record_statement(&new).await.is_err());
    assert_eq!(
        s.settlement_statements(Some(w.supplier), 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // A rerun of the period settles nothing new and stores nothing.
    let done = s.settled_checkins(w.supplier).await.unwrap();
    assert_eq!(done.len(), 3);
    let again = settle(&nov, &list, &done, a.commission, NOW).unwrap();
    let out = s
        .record_statement(&NewStatement {
            statement: &again,
            ..new.clone()
        })
        .await
        .unwrap();
    assert_eq!(out.statement, None);
    // The journal: consumption → payable + revenue, balanced.
    let ledger = s.supplier_ledger(w.supplier).await.unwrap();
    assert_eq!(ledger.payable, fen(1_799));
    assert_eq!(ledger.settled_gross, fen(1_998));
    let balances: std::collections::BTreeMap<String, i64> =
        s.journal_balances().await.unwrap().into_iter().collect();
    assert_eq!(
        balances.get(&Account::TradeConsumption.key()),
        Some(&-1_998)
    );
    // On the chain payable, apart from the catalogue order shares' payable.
    assert_eq!(
        balances.get(&Account::SupplierChainPayable(w.supplier).key()),
        Some(&1_799)
    );
    assert_eq!(
        balances.get(&Account::SupplierPayable(w.supplier).key()),
        None
    );
    // Other suppliers see none of it.
    assert!(
        s.settlement_statements(Some(w.other), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.settled_checkins(w.other).await.unwrap(), BTreeSet::new());
    assert_eq!(
        s.supplier_ledger(w.other).await.unwrap(),
        SupplierLedger::default()
    );
}

async fn payouts_need_four_eyes_and_stay_within_the_payable(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    let a = s
        .record_agreement(w.supplier, &terms(1_000, "v1"), w.operator, NOW)
        .await
        .unwrap();
    let a = s
        .accept_agreement(w.supplier, a.id, w.admin, NOW)
        .await
        .unwrap();
    let nov = PeriodKey::parse("2026-11", SettlementPeriod::Monthly).unwrap();
    let st = settle(&nov, &checkins(&nov), &BTreeSet::new(), a.commission, NOW).unwrap();
    let new = NewStatement {
        org: w.supplier,
        period: &nov,
        agreement: &a,
        statement: &st,
        by: w.finance[0],
        at_ms: NOW,
    };
    s.record_statement(&new).await.unwrap();
    // 1 799 payable.
    assert_eq!(
        money(
            s.request_payout(w.supplier, fen(1_800), w.admin, NOW, &ctx("t0"))
                .await
                .unwrap_err()
        ),
        MoneyRejection::PayoutAbovePayable {
            requested: 1_800,
            payable: 1_799
        }
    );
    let p = s
        .request_payout(w.supplier, fen(1_000), w.admin, NOW, &ctx("t1"))
        .await
        .unwrap();
    assert_eq!(p.status, PayoutStatus::Requested);
    assert_eq!(p.transfer, Some(ctx("t1")));
    assert_eq!(p.unsent().map(|(leg, _)| leg), Some(PayoutLeg::Transfer));
    // An open request holds its part of the payable.
    assert_eq!(
        money(
            s.request_payout(w.supplier, fen(800), w.admin, NOW, &ctx("t2"))
                .await
                .unwrap_err()
        ),
        MoneyRejection::PayoutAbovePayable {
            requested: 800,
            payable: 799
        }
    );
    // Approving before the check is refused; so is the requester checking.
    assert_eq!(
        money(
            s.approve_payout(p.id, w.finance[1], NOW, Some(&ctx("b1")))
                .await
                .unwrap_err()
        ),
        MoneyRejection::NotPending("payout")
    );
    assert_eq!(
        money(s.check_payout(p.id, w.admin, NOW).await.unwrap_err()),
        MoneyRejection::FourEyes
    );
    // Not checked before its transfer to custody is applied on the chain.
    assert_eq!(
        money(s.check_payout(p.id, w.finance[0], NOW).await.unwrap_err()),
        MoneyRejection::NotPending("payout")
    );
    let sent = s.payout_sent(p.id, PayoutLeg::Transfer, NOW).await.unwrap();
    assert_eq!(sent.transfer_sent_ms, Some(NOW));
    assert!(sent.unsent().is_none());
    // Marking it again changes nothing; an applied transfer's payout is not dropped.
    let again = s
        .payout_sent(p.id, PayoutLeg::Transfer, NOW + 9)
        .await
        .unwrap();
    assert_eq!(again.transfer_sent_ms, Some(NOW));
    assert!(!s.drop_refused_payout(p.id).await.unwrap());
    let c = s.check_payout(p.id, w.finance[0], NOW + 1).await.unwrap();
    assert_eq!(
        (c.status, c.checked_by),
        (PayoutStatus::Checked, Some(w.finance[0]))
    );
    // The checker cannot approve: a second finance user must.
    assert_eq!(
        money(
            s.approve_payout(p.id, w.finance[0], NOW, Some(&ctx("b1")))
                .await
                .unwrap_err()
        ),
        MoneyRejection::FourEyes
    );
    let ok = s
        .approve_payout(p.id, w.finance[1], NOW + 2, Some(&ctx("b1")))
        .await
        .unwrap();
    assert_eq!(ok.status, PayoutStatus::Approved);
    assert!(ok.journal_tx_id.is_some());
    assert_eq!(ok.settle, Some(ctx("b1")));
    assert_eq!(ok.unsent().map(|(leg, _)| leg), Some(PayoutLeg::Settle));
    assert_eq!(
        money(
            s.approve_payout(p.id, w.finance[1], NOW, Some(&ctx("b2")))
                .await
                .unwrap_err()
        ),
        MoneyRejection::NotPending("payout")
    );
    let burned = s
        .payout_sent(p.id, PayoutLeg::Settle, NOW + 3)
        .await
        .unwrap();
    assert_eq!(
        (burned.settle, burned.settle_sent_ms),
        (Some(ctx("b1")), Some(NOW + 3))
    );
    let l = s.supplier_ledger(w.supplier).await.unwrap();
    assert_eq!(
        (l.payable.get(), l.paid.get(), l.pending_payouts.get()),
        (799, 1_000, 0)
    );
    // A rejected request frees its part again.
    let p2 = s
        .request_payout(w.supplier, fen(799), w.admin, NOW, &ctx("t3"))
        .await
        .unwrap();
    s.payout_sent(p2.id, PayoutLeg::Transfer, NOW)
        .await
        .unwrap();
    let r = s
        .reject_payout(p2.id, w.finance[1], "bank details", NOW, Some(&ctx("r3")))
        .await
        .unwrap();
    assert_eq!(r.settle, Some(ctx("r3")));
    assert_eq!(
        (r.status, r.reason.as_deref()),
        (PayoutStatus::Rejected, Some("bank details"))
    );
    assert_eq!(
        s.supplier_ledger(w.supplier).await.unwrap().free_payable(),
        fen(799)
    );
    // A request whose transfer the chain refused is dropped whole: it frees its part and
    // is not listed.
    let p3 = s
        .request_payout(w.supplier, fen(700), w.admin, NOW, &ctx("t4"))
        .await
        .unwrap();
    assert_eq!(
        s.supplier_ledger(w.supplier).await.unwrap().free_payable(),
        fen(99)
    );
    assert!(s.drop_refused_payout(p3.id).await.unwrap());
    assert!(s.get_payout(p3.id).await.unwrap().is_none());
    assert_eq!(
        s.supplier_ledger(w.supplier).await.unwrap().free_payable(),
        fen(799)
    );
    assert_eq!(
        s.supplier_payouts(Some(w.supplier), 0, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        s.supplier_payouts(Some(w.other), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.get_payout(p.id).await.unwrap().map(|p| p.org),
        Some(w.supplier)
    );
    // The journal still balances: Σ non-bank = bank.
    let balances = s.journal_balances().await.unwrap();
    let bank = balances
        .iter()
        .find(|(k, _)| k == "bank")
        .map_or(0, |(_, v)| *v);
    let rest: i64 = balances
        .iter()
        .filter(|(k, _)| k != "bank")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(rest, bank);
    assert_eq!(bank, -1_000);
}
