//! Service tests of supplier money: isolation (a supplier sees only its own trades and
//! money, 404 otherwise), four eyes, payouts above the payable, idempotent statements,
//! and the reconciliation naming differences — over a real SQLite store and a fake
//! `TradeBook`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::*;
use crate::auth::Via;
use crate::config::{Argon2Config, Config};
use crate::trade_book::{ChainCheckIn, ChainReputation};
use suanli_platform_domain::money::cst_midnight;
use suanli_platform_domain::{ManualClock, OrgKind, OrgStatus, Principal};
use suanli_platform_store::{NewOrg, NewUser, NewUserKey, SealedKey, UserRecord};

// --- payout burns (issue 16, payout helper)
mod fake_payouts;
use fake_payouts::{CUSTODY, FakePayouts, NextSend};

/// The supplier administrator's password in these tests (it opens its DID key).
const DC_PASSWORD: &str = "dc-password-1";

/// The chain, as the fake sees it: trades per supplier DID.
#[derive(Debug, Default)]
struct FakeBook {
    trades: Mutex<BTreeMap<String, Vec<ChainTrade>>>,
}

impl TradeBook for FakeBook {
    fn supplier_trades(&self, did: &str) -> Result<Vec<ChainTrade>, crate::PortError> {
        Ok(self
            .trades
            .lock()
            .unwrap()
            .get(did)
            .cloned()
            .unwrap_or_default())
    }
    fn reputation(&self, did: &str) -> Result<ChainReputation, crate::PortError> {
        let n = self.trades.lock().unwrap().get(did).map_or(0, Vec::len) as u64;
        Ok(ChainReputation {
            orders: n,
            contracted: n,
            ratings: 1,
            completion_rate: Some(1.0),
            overall: Some(88.0),
            per_resource: vec![("gpu".into(), 90.0), ("network".into(), 80.0)],
        })
    }
}

fn fen(n: i64) -> Fen {
    Fen::new(n).unwrap()
}

/// 2026-12-06 12:00 CST: November has ended.
fn now() -> i64 {
    cst_midnight(2026, 12, 6) + 12 * 3_600_000
}

fn trade(serial: u32, consumer: &str, costs: &[(i64, i64)]) -> ChainTrade {
    ChainTrade {
        serial: format!("{serial:032x}"),
        offer_id: 1,
        mode_id: 1,
        supplier: String::new(),
        consumer: consumer.into(),
        wallet: None,
        status: "active".into(),
        ordered_ms: costs.first().map_or(0, |c| c.0 - 60_000),
        contract_start_ms: None,
        contract_end_ms: None,
        funded_fen: fen(100_000),
        paid_fen: fen(costs.iter().map(|c| c.1).sum()),
        unpaid_fen: Fen::ZERO,
        checkins: costs
            .iter()
            .enumerate()
            .map(|(i, &(end, cost))| ChainCheckIn {
                n: u32::try_from(i + 1).unwrap(),
                start_ms: end - 60_000,
                end_ms: end,
                minutes: 1,
                cost_fen: fen(cost),
                at_ms: end,
                kind: "checkin",
                seq: 0,
                height: 0,
                tx_ref: String::new(),
            })
            .collect(),
        topups: Vec::new(),
        close: None,
        rating: None,
    }
}

struct World {
    state: AppState,
    clock: Arc<ManualClock>,
    book: Arc<FakeBook>,
    payouts: Arc<FakePayouts>,
    /// The supplier `dc`'s DID key, hex (its account on the fake chain).
    dc_key: String,
    dc: Authed,
    other: Authed,
    operator: Authed,
    fin: [Authed; 2],
    customer: Authed,
    _dir: tempfile::TempDir,
}

async fn user(s: &AppState, kind: OrgKind, login: &str, role: Role, did: Option<&str>) -> Authed {
    let org = s
        .store
        .create_org(&NewOrg {
            kind,
            name: login.into(),
            status: OrgStatus::Active,
            distributor: None,
            created_ms: now(),
        })
        .await
        .unwrap();
    let u: UserRecord = s
        .store
        .create_user(&NewUser {
            org: org.id,
            login: login.into(),
            display_name: login.into(),
            password_hash: "x".into(),
            roles: vec![role],
            created_ms: now(),
        })
        .await
        .unwrap();
    if let Some(did) = did {
        let sealed = SealedKey {
            ciphertext: vec![0; 48],
            nonce: vec![0; 24],
            kdf_salt: vec![0; 16],
            kdf: "argon2id-v19".into(),
            kdf_memory_kib: 64,
            kdf_iterations: 1,
            kdf_parallelism: 1,
        };
        let key = NewUserKey {
            did: Some(did.into()),
            public_key: format!("{:0>64}", hex::encode(login)),
            sealed,
            at_ms: now(),
            did_tx: None,
        };
        s.store
            .set_password(u.id, "x", now(), Some(&key))
            .await
            .unwrap();
    }
    Authed {
        principal: Principal::new(u.id, org.id, org.kind, u.roles.iter().copied()),
        user: u,
        org,
        via: Via::Session(String::new()),
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().join("data"),
        argon2: Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        key_wrap: Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        ..Config::default()
    };
    let clock = Arc::new(ManualClock::new(now().unsigned_abs()));
    let book = Arc::new(FakeBook::default());
    let payouts = Arc::new(FakePayouts::default());
    let platform = crate::Platform::open(&config, clock.clone())
        .await
        .unwrap()
        .with_trade_book(book.clone())
        .with_payout_ledger(payouts.clone());
    let s = platform.state;
    let dc = user(
        &s,
        OrgKind::SupplierResource,
        "dc",
        Role::SupplierAdmin,
        None,
    )
    .await;
    // The supplier administrator's real password and DID key, holding 10 000 fen of
    // settlement credits on the (fake) chain.
    let mut dc = dc;
    let hash = crate::service::security::hash_password(&s, DC_PASSWORD.into())
        .await
        .unwrap();
    let mut key = s.custody.create(DC_PASSWORD, None, now()).await.unwrap();
    key.did = Some("did:suanli:dc".into());
    let dc_key = key.public_key.clone();
    s.store
        .set_password(dc.user.id, &hash, now(), Some(&key))
        .await
        .unwrap();
    dc.user.password_hash = hash;
    payouts
        .balances
        .lock()
        .unwrap()
        .insert(dc_key.clone(), 10_000);
    let other = user(
        &s,
        OrgKind::SupplierApi,
        "other",
        Role::SupplierAdmin,
        Some("did:suanli:other"),
    )
    .await;
    let operator = user(&s, OrgKind::Operator, "opadmin", Role::OperatorAdmin, None).await;
    let fin = [
        user(&s, OrgKind::Operator, "fin1", Role::Finance, None).await,
        user(&s, OrgKind::Operator, "fin2", Role::Finance, None).await,
    ];
    let customer = user(&s, OrgKind::Enterprise, "cust", Role::CustomerAdmin, None).await;
    let nov = cst_midnight(2026, 11, 10);
    let of = |did: &str, mut trades: Vec<ChainTrade>| {
        for t in &mut trades {
            t.supplier = did.to_owned();
        }
        (did.to_owned(), trades)
    };
    book.trades.lock().unwrap().extend([
        of(
            "did:suanli:dc",
            vec![
                trade(1, "did:suanli:alice", &[(nov, 500), (nov + 60_000, 100)]),
                trade(2, "did:suanli:bob", &[(nov, 1_000)]),
            ],
        ),
        of(
            "did:suanli:other",
            vec![trade(3, "did:suanli:carol", &[(nov, 777)])],
        ),
    ]);
    World {
        state: s,
        clock,
        book,
        payouts,
        dc_key,
        dc,
        other,
        operator,
        fin,
        customer,
        _dir: dir,
    }
}

fn code<T: std::fmt::Debug>(r: ServiceResult<T>) -> String {
    match r {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(ServiceError::Store(e)) => crate::error::ApiError::from(e).code.to_owned(),
        Err(e) => e.code().to_owned(),
    }
}

/// Both suppliers accept an agreement on 2026-10-01 (before November's end), at `bp`.
async fn agreed(w: &World, bp: u32) {
    w.clock.set_ms(cst_midnight(2026, 10, 1).unsigned_abs());
    let req = AgreementRequest {
        body: "Supply agreement".into(),
        sales_mode: "rebate".into(),
        commission_bp: bp,
        period: "monthly".into(),
    };
    for org in [&w.dc, &w.other] {
        let a = record_agreement(&w.state, &w.operator, org.org.id.get(), &req)
            .await
            .unwrap();
        accept_agreement(&w.state, org, a.id).await.unwrap();
    }
    w.clock.set_ms(now().unsigned_abs());
}

#[tokio::test]
async fn suppliers_see_only_their_own_trades_and_money() {
    let w = world().await;
    let s = &w.state;
    let mine = my_trades(s, &w.dc).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|t| t.consumer != "did:suanli:carol"));
    assert_eq!(
        code(my_trade(s, &w.dc, &format!("{:032x}", 3)).await),
        "not_found"
    );
    assert!(my_trade(s, &w.other, &format!("{:032x}", 3)).await.is_ok());
    // A customer cannot reach supplier operations; an operator has no own supplier.
    assert_eq!(code(my_trades(s, &w.customer).await), "forbidden");
    assert_eq!(code(my_revenue(s, &w.customer).await), "forbidden");
    // The operator's per-supplier operations need their permissions and a supplier.
    let req = AgreementRequest {
        body: "x".into(),
        sales_mode: "rebate".into(),
        commission_bp: 1_000,
        period: "monthly".into(),
    };
    assert_eq!(
        code(record_agreement(s, &w.dc, w.other.org.id.get(), &req).await),
        "forbidden"
    );
    assert_eq!(
        code(record_agreement(s, &w.operator, w.customer.org.id.get(), &req).await),
        "not_found"
    );
    // Another supplier's agreement cannot be accepted by id.
    let a = record_agreement(s, &w.operator, w.other.org.id.get(), &req)
        .await
        .unwrap();
    assert_eq!(code(accept_agreement(s, &w.dc, a.id).await), "not_found");
    assert!(my_agreements(s, &w.dc).await.unwrap().is_empty());
    // Bad agreement input names its field.
    let bad = AgreementRequest {
        sales_mode: "agency".into(),
        ..req.clone()
    };
    let e = record_agreement(s, &w.operator, w.dc.org.id.get(), &bad)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        ("sales_mode_invalid", Some("sales_mode"))
    );
    let bad = AgreementRequest {
        commission_bp: 10_001,
        ..req
    };
    let e = record_agreement(s, &w.operator, w.dc.org.id.get(), &bad)
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("commission_bp"));
    // Reputation of its own DID.
    let r = my_reputation(s, &w.dc).await.unwrap().unwrap();
    assert_eq!(r.orders, 2);
    let _ = &w.book;
}

#[tokio::test]
async fn statements_are_idempotent_and_payouts_need_four_eyes() {
    let w = world().await;
    let s = &w.state;
    // No accepted agreement: nothing to settle under.
    assert_eq!(
        code(run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-11").await),
        "no_accepted_agreement"
    );
    agreed(&w, 1_000).await;
    assert_eq!(
        code(run_statement(s, &w.dc, w.dc.org.id.get(), "2026-11").await),
        "forbidden"
    );
    assert_eq!(
        code(run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-12").await),
        "period_not_ended"
    );
    assert_eq!(
        code(run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-Q4").await),
        "period_invalid"
    );
    let run = run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-11")
        .await
        .unwrap();
    let st = run.statement.unwrap();
    assert_eq!(
        (st.gross.get(), st.commission.get(), st.net.get()),
        (1_600, 160, 1_440)
    );
    // Idempotent: the rerun settles nothing.
    let again = run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-11")
        .await
        .unwrap();
    assert_eq!(again.statement, None);
    // A late check-in of November is settled by the next run, once.
    let late = cst_midnight(2026, 11, 30);
    {
        let mut book = w.book.trades.lock().unwrap();
        let t2 = &mut book.get_mut("did:suanli:dc").unwrap()[1];
        t2.paid_fen = fen(1_050);
        t2.checkins.push(ChainCheckIn {
            n: 2,
            start_ms: late - 60_000,
            end_ms: late,
            minutes: 1,
            cost_fen: fen(50),
            at_ms: late,
            kind: "checkin",
            seq: 0,
            height: 0,
            tx_ref: String::new(),
        });
    }
    let st2 = run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-11")
        .await
        .unwrap()
        .statement
        .unwrap();
    assert_eq!((st2.seq, st2.gross.get(), st2.net.get()), (2, 50, 45));
    // The supplier sees its own statements and revenue only.
    assert_eq!(
        my_statements(s, &w.dc, Page::new(None, 50).unwrap())
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        my_statements(s, &w.other, Page::new(None, 50).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    let rev = my_revenue(s, &w.dc).await.unwrap();
    assert_eq!(rev.ledger.payable, fen(1_485));
    assert!(rev.trades.iter().all(|t| t.earned_fen == t.settled_fen));
    // Payouts: above the payable refused, at the field.
    let e = request_payout(s, &w.dc, 1_486, "ip", DC_PASSWORD.into())
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        ("payout_above_payable", Some("amount_fen"))
    );
    assert_eq!(
        code(request_payout(s, &w.fin[0], 10, "ip", DC_PASSWORD.into()).await),
        "forbidden"
    );
    let p = request_payout(s, &w.dc, 1_000, "ip", DC_PASSWORD.into())
        .await
        .unwrap();
    // Another supplier's payouts are not its own.
    assert!(
        my_payouts(s, &w.other, Page::new(None, 50).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    // Four eyes: the checker cannot approve.
    assert_eq!(
        code(approve_payout(s, &w.fin[0], p.id).await),
        "not_pending"
    );
    check_payout(s, &w.fin[0], p.id).await.unwrap();
    assert_eq!(code(approve_payout(s, &w.fin[0], p.id).await), "four_eyes");
    assert_eq!(code(approve_payout(s, &w.dc, p.id).await), "forbidden");
    let ok = approve_payout(s, &w.fin[1], p.id).await.unwrap();
    assert!(ok.journal_tx_id.is_some());
    // Reconciliation: check-ins = settled, settled = payable + paid, burned on the chain
    // = paid.
    let r = reconcile_supplier(s, &w.fin[0], w.dc.org.id.get())
        .await
        .unwrap();
    assert_eq!(
        (
            r.chain_checkins_fen,
            r.settled_gross_fen,
            r.paid_fen,
            r.payable_fen
        ),
        (Some(1_650), 1_650, 1_000, 485)
    );
    assert_eq!(r.burned_fen, 1_000);
    assert!(r.differences.is_empty(), "{:?}", r.differences);
    // The other supplier's November is not settled yet: the check names it.
    let r = reconcile_supplier(s, &w.fin[0], w.other.org.id.get())
        .await
        .unwrap();
    assert_eq!(
        r.differences.iter().map(|d| d.check).collect::<Vec<_>>(),
        ["checkins_vs_settled"]
    );
    assert_eq!(
        code(reconcile_supplier(s, &w.dc, w.dc.org.id.get()).await),
        "forbidden"
    );
    // The operator's supplier list summary.
    let sum = supplier_summary(s, &w.operator, w.dc.org.id.get())
        .await
        .unwrap();
    assert_eq!((sum.settled_gross_fen, sum.payable_fen), (1_650, 485));
    assert!(sum.reputation.is_some());
}

// --- payout burns (issue 16, payout helper)

/// Payable 1 440 (November: gross 1 600, commission 10 %).
async fn payable(w: &World) {
    agreed(w, 1_000).await;
    run_statement(&w.state, &w.fin[0], w.dc.org.id.get(), "2026-11")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_payout_moves_the_suppliers_credits_to_custody_then_burns_or_returns_them() {
    let w = world().await;
    let s = &w.state;
    payable(&w).await;
    let mine = || async {
        my_payouts(s, &w.dc, Page::new(None, 50).unwrap())
            .await
            .unwrap()
    };
    // A wrong password: refused at the field, nothing recorded, nothing moved.
    let e = request_payout(s, &w.dc, 1_000, "ip", "wrong".into())
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        ("invalid_credentials", Some("password"))
    );
    assert!(mine().await.is_empty());
    assert_eq!(w.payouts.held(&w.dc_key), 10_000);
    // Above the payable: refused by the SQL checks before the key is opened or anything
    // signed.
    assert_eq!(
        code(request_payout(s, &w.dc, 1_441, "ip", "wrong".into()).await),
        "payout_above_payable"
    );
    // Above the chain balance: refused, nothing recorded.
    w.payouts
        .balances
        .lock()
        .unwrap()
        .insert(w.dc_key.clone(), 900);
    let e = request_payout(s, &w.dc, 1_000, "ip", DC_PASSWORD.into())
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        ("chain_balance_short", Some("amount_fen"))
    );
    assert!(mine().await.is_empty());
    w.payouts
        .balances
        .lock()
        .unwrap()
        .insert(w.dc_key.clone(), 10_000);
    // A transfer the chain refuses: the request is dropped whole.
    *w.payouts.next.lock().unwrap() = NextSend::Refuse;
    assert_eq!(
        code(request_payout(s, &w.dc, 1_000, "ip", DC_PASSWORD.into()).await),
        "chain_refused"
    );
    assert!(mine().await.is_empty());
    assert_eq!(w.payouts.held(&w.dc_key), 10_000);
    // A transfer whose commit wait timed out (applied anyway): the payout is recorded,
    // the check sends the stored transfer again, and it moves the credits once.
    *w.payouts.next.lock().unwrap() = NextSend::ApplyThenTimeOut;
    assert_eq!(
        code(request_payout(s, &w.dc, 1_000, "ip", DC_PASSWORD.into()).await),
        "ledger_unreachable"
    );
    let p = mine().await.remove(0);
    assert_eq!(
        (p.status, p.transfer_sent_ms),
        (PayoutStatus::Requested, None)
    );
    check_payout(s, &w.fin[0], p.id).await.unwrap();
    assert_eq!(
        (w.payouts.held(&w.dc_key), w.payouts.held(CUSTODY)),
        (9_000, 1_000)
    );
    // Approval: the journal and a burn from custody; a burn whose wait timed out is
    // sent again by approving again, and burns once.
    *w.payouts.next.lock().unwrap() = NextSend::TimeOut;
    assert_eq!(
        code(approve_payout(s, &w.fin[1], p.id).await),
        "ledger_unreachable"
    );
    let r = reconcile_supplier(s, &w.fin[0], w.dc.org.id.get())
        .await
        .unwrap();
    assert_eq!((r.paid_fen, r.burned_fen), (1_000, 0));
    assert_eq!(
        r.differences.iter().map(|d| d.check).collect::<Vec<_>>(),
        ["burned_vs_paid"]
    );
    let ok = approve_payout(s, &w.fin[1], p.id).await.unwrap();
    assert_eq!(ok.status, PayoutStatus::Approved);
    assert!(ok.settle_sent_ms.is_some());
    assert_eq!(w.payouts.held(CUSTODY), 0);
    assert_eq!(
        code(approve_payout(s, &w.fin[1], p.id).await),
        "not_pending"
    );
    assert_eq!(w.payouts.held(CUSTODY), 0, "burned once");
    let r = reconcile_supplier(s, &w.fin[0], w.dc.org.id.get())
        .await
        .unwrap();
    assert_eq!(r.burned_fen, 1_000);
    assert!(r.differences.is_empty(), "{:?}", r.differences);
    // Rejection: custody returns the amount to the supplier's key.
    let p2 = request_payout(s, &w.dc, 400, "ip", DC_PASSWORD.into())
        .await
        .unwrap();
    assert!(p2.transfer_sent_ms.is_some());
    assert_eq!(
        (w.payouts.held(&w.dc_key), w.payouts.held(CUSTODY)),
        (8_600, 400)
    );
    let r = reject_payout(s, &w.fin[0], p2.id, "bank details")
        .await
        .unwrap();
    assert_eq!(r.status, PayoutStatus::Rejected);
    assert_eq!(
        (w.payouts.held(&w.dc_key), w.payouts.held(CUSTODY)),
        (9_000, 0)
    );
    // Still no difference: a rejected payout is neither paid nor burned.
    let r = reconcile_supplier(s, &w.fin[0], w.dc.org.id.get())
        .await
        .unwrap();
    assert!(r.differences.is_empty(), "{:?}", r.differences);
}

#[tokio::test]
async fn without_a_trade_chain_no_payout_is_requested() {
    let w = world().await;
    let mut s = w.state.clone();
    s.payout_ledger = None;
    payable(&w).await;
    assert_eq!(
        code(request_payout(&s, &w.dc, 100, "ip", DC_PASSWORD.into()).await),
        "ledger_unavailable"
    );
}

/// Sets the trades of `did` in the fake chain.
fn set_trades(w: &World, did: &str, trades: Vec<ChainTrade>) {
    w.book.trades.lock().unwrap().insert(did.to_owned(), trades);
}

#[tokio::test]
async fn trades_of_another_supplier_are_dropped_and_inconsistent_reads_refused() {
    let w = world().await;
    let s = &w.state;
    agreed(&w, 1_000).await;
    let nov = cst_midnight(2026, 11, 10);
    // The book answers a trade whose supplier is someone else: not the caller's.
    let mut foreign = trade(9, "did:suanli:zed", &[(nov, 5_000)]);
    foreign.supplier = "did:suanli:other".into();
    let mut own = trade(1, "did:suanli:alice", &[(nov, 500)]);
    own.supplier = "did:suanli:dc".into();
    set_trades(&w, "did:suanli:dc", vec![own.clone(), foreign]);
    assert_eq!(my_trades(s, &w.dc).await.unwrap().len(), 1);
    let r = reconcile_supplier(s, &w.fin[0], w.dc.org.id.get())
        .await
        .unwrap();
    assert_eq!(r.chain_checkins_fen, Some(500));
    // A read that lost a check-in (Σ settlements ≠ paid) is refused, nothing settled.
    let mut short = own.clone();
    short.paid_fen = fen(900);
    set_trades(&w, "did:suanli:dc", vec![short]);
    assert_eq!(
        code(run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-11").await),
        "chain_inconsistent"
    );
    assert_eq!(code(my_revenue(s, &w.dc).await), "chain_inconsistent");
    assert!(
        s.store
            .settled_checkins(w.dc.org.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Numbers with a gap: refused as well.
    let mut gap = own.clone();
    gap.checkins[0].n = 2;
    set_trades(&w, "did:suanli:dc", vec![gap]);
    assert_eq!(
        code(run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-11").await),
        "chain_inconsistent"
    );
    // A serial that does not parse is an error, not a silent drop.
    let mut bad = own;
    bad.serial = "not-a-serial".into();
    set_trades(&w, "did:suanli:dc", vec![bad]);
    assert_eq!(code(my_revenue(s, &w.dc).await), "serial_invalid");
}

#[tokio::test]
async fn zero_cost_periods_settle_nothing_without_failing() {
    let w = world().await;
    let s = &w.state;
    agreed(&w, 1_000).await;
    let nov = cst_midnight(2026, 11, 10);
    let mut free = trade(4, "did:suanli:alice", &[(nov, 0), (nov + 60_000, 0)]);
    free.supplier = "did:suanli:dc".into();
    set_trades(&w, "did:suanli:dc", vec![free]);
    for _ in 0..2 {
        let run = run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-11")
            .await
            .unwrap();
        assert_eq!(run.statement, None);
    }
}

#[tokio::test]
async fn the_agreement_accepted_before_the_period_end_governs_it() {
    let w = world().await;
    let s = &w.state;
    let req = |bp: u32| AgreementRequest {
        body: "Supply agreement".into(),
        sales_mode: "rebate".into(),
        commission_bp: bp,
        period: "monthly".into(),
    };
    // Accepted on 2026-12-06 (now): after November ended, so it cannot govern November.
    let a = record_agreement(s, &w.operator, w.dc.org.id.get(), &req(1_000))
        .await
        .unwrap();
    accept_agreement(s, &w.dc, a.id).await.unwrap();
    assert_eq!(
        code(run_statement(s, &w.fin[0], w.dc.org.id.get(), "2026-11").await),
        "no_accepted_agreement"
    );
    // An earlier version accepted in October governs November, not the newer one.
    let early = s
        .store
        .record_agreement(
            w.dc.org.id,
            &AgreementTerms {
                text: AgreementText::parse("old").unwrap(),
                sales_mode: SalesMode::Rebate,
                commission: suanli_platform_domain::money::Bp::new(2_000).unwrap(),
                period: SettlementPeriod::Monthly,
            },
            w.operator.user.id,
            cst_midnight(2026, 10, 1),
        )
        .await
        .unwrap();
    let versions = [
        AgreementRecord {
            accepted_ms: Some(cst_midnight(2026, 10, 2)),
            ..early.clone()
        },
        AgreementRecord {
            version: early.version + 1,
            commission: suanli_platform_domain::money::Bp::new(1_000).unwrap(),
            accepted_ms: Some(now()),
            ..early
        },
    ];
    let (g, _) = governing_for(&versions, "2026-11").unwrap();
    assert_eq!(g.commission.get(), 2_000);
}

#[tokio::test]
async fn finance_reads_one_suppliers_statements_and_agreements() {
    let w = world().await;
    let s = &w.state;
    agreed(&w, 1_000).await;
    let page = || Page::new(None, 50).unwrap();
    assert!(
        supplier_statements(s, &w.fin[0], w.dc.org.id.get(), page())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        code(supplier_statements(s, &w.dc, w.dc.org.id.get(), page()).await),
        "forbidden"
    );
    assert_eq!(
        code(supplier_statements(s, &w.fin[0], w.customer.org.id.get(), page()).await),
        "not_found"
    );
    let theirs = supplier_statements(s, &w.fin[0], w.other.org.id.get(), page())
        .await
        .unwrap();
    assert!(theirs.is_empty());
}
