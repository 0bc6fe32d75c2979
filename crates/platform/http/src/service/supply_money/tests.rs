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
        consumer: consumer.into(),
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
            })
            .collect(),
        topups: Vec::new(),
        close: None,
        rating: None,
    }
}

struct World {
    state: AppState,
    book: Arc<FakeBook>,
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
    let platform = crate::Platform::open(&config, clock)
        .await
        .unwrap()
        .with_trade_book(book.clone());
    let s = platform.state;
    let dc = user(
        &s,
        OrgKind::SupplierResource,
        "dc",
        Role::SupplierAdmin,
        Some("did:suanli:dc"),
    )
    .await;
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
    book.trades.lock().unwrap().extend([
        (
            "did:suanli:dc".to_owned(),
            vec![
                trade(1, "did:suanli:alice", &[(nov, 500), (nov + 60_000, 100)]),
                trade(2, "did:suanli:bob", &[(nov, 1_000)]),
            ],
        ),
        (
            "did:suanli:other".to_owned(),
            vec![trade(3, "did:suanli:carol", &[(nov, 777)])],
        ),
    ]);
    World {
        state: s,
        book,
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

async fn agreed(w: &World, bp: u32) {
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
    w.book
        .trades
        .lock()
        .unwrap()
        .get_mut("did:suanli:dc")
        .unwrap()[1]
        .checkins
        .push(ChainCheckIn {
            n: 2,
            start_ms: late - 60_000,
            end_ms: late,
            minutes: 1,
            cost_fen: fen(50),
            at_ms: late,
            kind: "checkin",
        });
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
    let e = request_payout(s, &w.dc, 1_486).await.unwrap_err();
    assert_eq!(
        (e.code(), e.field()),
        ("payout_above_payable", Some("amount_fen"))
    );
    assert_eq!(code(request_payout(s, &w.fin[0], 10).await), "forbidden");
    let p = request_payout(s, &w.dc, 1_000).await.unwrap();
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
    // Reconciliation: check-ins = settled, settled = payable + paid; the burn on the
    // chain is not built, so the paid amount is named as not burned.
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
    let names: Vec<_> = r.differences.iter().map(|d| d.check).collect();
    assert_eq!(names, ["burned_vs_paid"]);
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
