//! Money in the store, on SQLite and PostgreSQL (same rules as `conformance.rs`: the
//! PostgreSQL half needs `SUANLI_TEST_DATABASE_URL`, is skipped without it and fails in CI
//! without it).
//!
//! The centre is the money-conservation property: after any random sequence of recharges,
//! withdrawals, vouchers, orders, renewals, changes of spec, unsubscribes (refunds),
//! pay-as-you-go usage and idempotent replays, Σ customer balances + operator revenue +
//! supplier payables = Σ money in − Σ money out, to the fen, and the balance projection
//! equals the journal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use std::collections::BTreeMap;
use suanli_platform_domain::instance::{InstanceStatus, LifecycleSettings, MeteredUsage};
use suanli_platform_domain::journal::{Account, IdemKey};
use suanli_platform_domain::money::{Bp, DAY_MS, Fen};
use suanli_platform_domain::pricing::{
    ChargingMode, CouponValue, DiscountScope, Payg, Prepaid, SpecPricing, TermTier,
};
use suanli_platform_domain::{OrgId, OrgKind, OrgStatus, Role, UserId};
use suanli_platform_store::*;

enum Backend {
    Sqlite(SqliteStore, #[allow(dead_code)] tempfile::TempDir),
    Pg(PgStore, String, String),
}

impl Backend {
    fn store(&self) -> &dyn OpsStore {
        match self {
            Backend::Sqlite(s, _) => s,
            Backend::Pg(s, _, _) => s,
        }
    }
    async fn raw(&self, sql: &str) -> StoreResult<()> {
        match self {
            Backend::Sqlite(s, _) => s.execute_raw(sql).await,
            Backend::Pg(s, _, _) => s.execute_raw(sql).await,
        }
    }
    async fn cleanup(self) {
        if let Backend::Pg(store, admin_url, db_url) = self {
            store.close().await;
            let name = db_url.rsplit('/').next().unwrap_or_default().to_owned();
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("admin");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .expect("drop test database");
        }
    }
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("ops.db"))
        .await
        .expect("open");
    Backend::Sqlite(store, dir)
}

async fn postgres() -> Option<Backend> {
    let Ok(admin_url) = std::env::var("SUANLI_TEST_DATABASE_URL") else {
        if std::env::var_os("CI").is_some() {
            panic!("SUANLI_TEST_DATABASE_URL is not set but CI is");
        }
        eprintln!("SKIPPED: SUANLI_TEST_DATABASE_URL not set; PostgreSQL money tests not run");
        return None;
    };
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).expect("random");
    let name = format!("suanli_test_{}", hex::encode(rnd));
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
    }
    let (base, _) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
    let cut = base.rfind('/').expect("path");
    let db_url = format!("{}/{name}", &base[..cut]);
    let store = PgStore::connect(&db_url).await.expect("connect test db");
    Some(Backend::Pg(store, admin_url, db_url))
}

macro_rules! both {
    ($($check:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let b = super::sqlite().await;
                    super::$check(&b).await;
                    b.cleanup().await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(b) = super::postgres().await else { return };
                    super::$check(&b).await;
                    b.cleanup().await;
                }
            )*
        }
    };
}

/// Switching spec and back never pays the customer: the rest of the term costs what was
/// refunded, scaled by the specs' monthly list prices.
async fn change_of_spec_keeps_the_paid_terms(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    s.set_spec_pricing(w.prepaid_specs[1], &prepaid(10_000))
        .await
        .unwrap();
    recharge(s, &w, 0, 1_000_000, T0).await;
    let o = s
        .place_order(&PlaceOrder {
            ctx: ctx(&w, 0, "o", T0),
            spec_id: w.prepaid_specs[0],
            mode: ChargingMode::Prepaid,
            months: 1,
            quantity: 1,
            coupon: None,
        })
        .await
        .unwrap();
    for i in 0..11 {
        s.renew(&ctx(&w, 0, &format!("r{i}"), T0 + 1 + i), o.instance.id, 1)
            .await
            .unwrap();
    }
    let day = 86_400_000;
    let before = s.balances(w.customers[0].0).await.unwrap().cash_fen;
    let there = s
        .change_spec(
            &ctx(&w, 0, "c1", T0 + day),
            o.instance.id,
            w.prepaid_specs[1],
        )
        .await
        .unwrap();
    assert!(there.order.charged_fen >= there.order.refunded_fen);
    let back = s
        .change_spec(
            &ctx(&w, 0, "c2", T0 + day),
            o.instance.id,
            w.prepaid_specs[0],
        )
        .await
        .unwrap();
    assert!(back.order.charged_fen >= back.order.refunded_fen);
    let after = s.balances(w.customers[0].0).await.unwrap().cash_fen;
    assert!(
        after <= before && before - after <= 2,
        "before {before}, after {after}"
    );
    // A dearer spec costs the list-price ratio for the rest of the term.
    let up = s
        .change_spec(
            &ctx(&w, 0, "c3", T0 + day),
            o.instance.id,
            w.prepaid_specs[2],
        )
        .await
        .unwrap();
    let expected = (up.order.refunded_fen.get() * 7_777 + 9_999) / 10_000;
    assert_eq!(up.order.charged_fen.get(), expected);
    // On the statement the old spec's rest comes back as a refund and the new spec's rest
    // is a consumption.
    let lines = s
        .statements(w.customers[0].0, 0, PAGE_SIZE_MAX)
        .await
        .unwrap();
    let memo_kind = |memo_end: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.memo.ends_with(memo_end))
            .map(|l| l.kind.clone())
            .collect()
    };
    let refunds = memo_kind("rest of the old spec");
    assert!(!refunds.is_empty());
    assert!(refunds.iter().all(|k| k == "refund"), "{refunds:?}");
    let charges = memo_kind("rest of the new spec");
    assert!(!charges.is_empty());
    assert!(charges.iter().all(|k| k == "consumption"), "{charges:?}");
}

/// A renewal never charges for a term that has already ended.
async fn renewing_never_charges_for_time_already_past(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    recharge(s, &w, 0, 1_000_000, T0).await;
    let o = s
        .place_order(&PlaceOrder {
            ctx: ctx(&w, 0, "o", T0),
            spec_id: w.prepaid_specs[0],
            mode: ChargingMode::Prepaid,
            months: 1,
            quantity: 1,
            coupon: None,
        })
        .await
        .unwrap();
    let late = T0 + 90 * 86_400_000;
    match s.renew(&ctx(&w, 0, "r1", late), o.instance.id, 1).await {
        Err(StoreError::Money(MoneyRejection::TermAlreadyEnded)) => {}
        other => panic!("renewal into the past: {other:?}"),
    }
    let r = s
        .renew(&ctx(&w, 0, "r2", late), o.instance.id, 4)
        .await
        .unwrap();
    assert!(r.instance.ends_ms.unwrap() > late);
}

both!(
    renewing_never_charges_for_time_already_past,
    change_of_spec_keeps_the_paid_terms,
    money_is_conserved_under_random_operations,
    journal_refuses_edits_and_unbalanced_lines,
    idempotent_orders_and_payments,
    offline_transfers_need_a_second_person,
    grants_beyond_the_limit_need_a_second_person,
    concurrent_orders_keep_money_consistent,
    prepaid_lifecycle_and_bills,
    bills_and_lifecycle_are_paged,
    payg_pauses_when_out_of_money_and_resumes,
    page_queries_read_many_rows_at_once,
);

/// The web consoles' one-query reads: organisations and specs by ids, orders per day,
/// instances per status.
async fn page_queries_read_many_rows_at_once(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    recharge(s, &w, 0, 10_000_000, T0).await;
    const DAY: i64 = 86_400_000;
    for (i, at) in [T0, T0 + 60_000, T0 + DAY].into_iter().enumerate() {
        s.place_order(&PlaceOrder {
            ctx: ctx(&w, 0, &format!("d{i}"), at),
            spec_id: w.prepaid_specs[0],
            mode: ChargingMode::Prepaid,
            months: 1,
            quantity: 1,
            coupon: None,
        })
        .await
        .unwrap();
    }
    let days = s
        .order_counts_by_day(T0 - 2 * DAY, T0 + 3 * DAY)
        .await
        .unwrap();
    assert_eq!(days.iter().map(|d| d.1).sum::<i64>(), 3, "{days:?}");
    assert!(days.windows(2).all(|p| p[0].0 < p[1].0), "by day");
    for (start, _) in &days {
        // Each day starts at a China-Standard-Time midnight.
        assert_eq!((start + 8 * 3_600_000).rem_euclid(DAY), 0, "{days:?}");
    }
    assert!(
        s.order_counts_by_day(T0 + 10 * DAY, T0 + 11 * DAY)
            .await
            .unwrap()
            .is_empty()
    );
    let by_status = s.instance_counts_by_status().await.unwrap();
    assert_eq!(by_status, vec![("active".to_owned(), 3)]);
    let spec = s.get_spec(w.prepaid_specs[0]).await.unwrap().unwrap();
    let specs = s
        .specs_of_products(&[spec.product_id, spec.product_id, 999_999])
        .await
        .unwrap();
    assert_eq!(specs.len(), 4);
    assert!(specs.iter().all(|x| x.product_id == spec.product_id));
    assert!(s.specs_of_products(&[]).await.unwrap().is_empty());
    let ids = [
        w.customers[1].0,
        w.customers[0].0,
        OrgId::new(999_999).unwrap(),
    ];
    let orgs = s.orgs_by_ids(&ids).await.unwrap();
    assert_eq!(
        orgs.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![w.customers[0].0, w.customers[1].0]
    );
    assert!(s.orgs_by_ids(&[]).await.unwrap().is_empty());
}

/// 2025-01-15 00:00 CST.
const T0: i64 = 1_736_870_400_000;

fn f(n: i64) -> Fen {
    Fen::new(n).unwrap()
}
fn k(s: &str) -> IdemKey {
    IdemKey::parse(s).unwrap()
}

struct World {
    customers: Vec<(OrgId, UserId)>,
    finance: (UserId, UserId),
    prepaid_specs: Vec<i64>,
    payg_spec: i64,
    manual_spec: i64,
}

async fn org(s: &dyn OpsStore, kind: OrgKind, name: &str) -> OrgId {
    s.create_org(&NewOrg {
        kind,
        name: name.into(),
        status: OrgStatus::Active,
        distributor: None,
        created_ms: T0,
    })
    .await
    .unwrap()
    .id
}

async fn user(s: &dyn OpsStore, org: OrgId, login: &str, role: Role) -> UserId {
    s.create_user(&NewUser {
        org,
        login: login.into(),
        display_name: login.into(),
        password_hash: "h".into(),
        roles: vec![role],
        created_ms: T0,
    })
    .await
    .unwrap()
    .id
}

fn prepaid(monthly: i64) -> SpecPricing {
    SpecPricing {
        prepaid: Some(Prepaid {
            monthly_fen: f(monthly),
            yearly_fen: Some(f(monthly * 10)),
            term_discounts: vec![TermTier {
                min_months: 3,
                off_bp: Bp::new(500).unwrap(),
            }],
        }),
        payg: None,
    }
}

async fn world(s: &dyn OpsStore) -> World {
    let op = org(s, OrgKind::Operator, "Operator").await;
    let f1 = user(s, op, "fin1", Role::Finance).await;
    let f2 = user(s, op, "fin2", Role::Finance).await;
    let sup = org(s, OrgKind::SupplierResource, "Supplier").await;
    let mut customers = Vec::new();
    for i in 0..2 {
        let c = org(s, OrgKind::Enterprise, &format!("C{i}")).await;
        let u = user(s, c, &format!("c{i}"), Role::CustomerAdmin).await;
        customers.push((c, u));
    }
    let cat = s.create_category("GPU", T0).await.unwrap();
    let mk = |region: &str, manual: bool| NewProduct {
        category_id: cat.id,
        name: "A100".into(),
        supplier: sup,
        region: region.into(),
        manual_provisioning: manual,
        supplier_share: Bp::new(3_000).unwrap(),
        at_ms: T0,
    };
    let p = s.create_product(&mk("cn-east", false)).await.unwrap();
    let manual = s.create_product(&mk("cn-west", true)).await.unwrap();
    s.set_product_published(p.id, true).await.unwrap();
    s.set_product_published(manual.id, true).await.unwrap();
    let mut prepaid_specs = Vec::new();
    for (i, price) in [10_000, 25_000, 7_777].into_iter().enumerate() {
        let spec = s
            .create_spec(&NewSpec {
                product_id: p.id,
                family: "gpu".into(),
                name: format!("s{i}"),
                pricing: prepaid(price),
                at_ms: T0,
            })
            .await
            .unwrap();
        prepaid_specs.push(spec.id);
    }
    let payg = s
        .create_spec(&NewSpec {
            product_id: p.id,
            family: "gpu".into(),
            name: "payg".into(),
            pricing: SpecPricing {
                prepaid: None,
                payg: Some(Payg {
                    per_minute_fen: f(3),
                    minimum_fen: f(500),
                    deposit_fen: f(2_000),
                }),
            },
            at_ms: T0,
        })
        .await
        .unwrap();
    let manual_spec = s
        .create_spec(&NewSpec {
            product_id: manual.id,
            family: "bare-metal".into(),
            name: "m1".into(),
            pricing: prepaid(50_000),
            at_ms: T0,
        })
        .await
        .unwrap();
    s.create_discount(&DiscountScope::Global, Bp::new(300).unwrap(), T0)
        .await
        .unwrap();
    s.create_discount(
        &DiscountScope::Customer {
            org_id: customers[0].0,
        },
        Bp::new(700).unwrap(),
        T0,
    )
    .await
    .unwrap();
    s.create_discount(
        &DiscountScope::Volume { min_quantity: 3 },
        Bp::new(1_000).unwrap(),
        T0,
    )
    .await
    .unwrap();
    s.set_credit_line(customers[1].0, f(30_000), f1, T0)
        .await
        .unwrap();
    World {
        customers,
        finance: (f1, f2),
        prepaid_specs,
        payg_spec: payg.id,
        manual_spec: manual_spec.id,
    }
}

fn ctx(w: &World, c: usize, key: &str, at: i64) -> OrderCtx {
    OrderCtx {
        key: k(key),
        digest: format!("digest-{key}"),
        org: w.customers[c].0,
        user: w.customers[c].1,
        at_ms: at,
    }
}

async fn recharge(s: &dyn OpsStore, w: &World, c: usize, amount: i64, at: i64) {
    let r = format!("ref-{c}-{at}-{amount}");
    s.create_payment(
        w.customers[c].0,
        w.customers[c].1,
        "sandbox",
        &r,
        f(amount),
        at,
    )
    .await
    .unwrap();
    s.confirm_payment("sandbox", &r, f(amount), at)
        .await
        .unwrap();
}

#[derive(Debug, Clone)]
enum Op {
    Recharge(usize, i64),
    Withdraw(usize, i64),
    Voucher(usize, i64),
    Order {
        c: usize,
        spec: usize,
        payg: bool,
        months: u32,
        qty: u32,
        coupon: bool,
    },
    Renew(usize, usize, u32),
    Unsubscribe(usize, usize),
    Change(usize, usize, usize),
    Advance(i64),
    Replay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 1i64..200_000).prop_map(|(c, a)| Op::Recharge(c, a)),
        1 => (0..2usize, 1i64..50_000).prop_map(|(c, a)| Op::Withdraw(c, a)),
        1 => (0..2usize, 1i64..20_000).prop_map(|(c, a)| Op::Voucher(c, a)),
        4 => (0..2usize, 0..4usize, any::<bool>(), 1u32..15, 1u32..5, any::<bool>())
            .prop_map(|(c, spec, payg, months, qty, coupon)| Op::Order { c, spec, payg, months, qty, coupon }),
        2 => (0..2usize, 0..8usize, 1u32..13).prop_map(|(c, i, m)| Op::Renew(c, i, m)),
        2 => (0..2usize, 0..8usize).prop_map(|(c, i)| Op::Unsubscribe(c, i)),
        1 => (0..2usize, 0..8usize, 0..3usize).prop_map(|(c, i, sp)| Op::Change(c, i, sp)),
        2 => (1i64..(40 * 24 * 60)).prop_map(Op::Advance),
        1 => Just(Op::Replay),
    ]
}

/// What the test itself counts: money that entered and left the platform.
#[derive(Default)]
struct Model {
    money_in: i64,
    money_out: i64,
    now: i64,
    seq: u64,
    last_order: Option<(PlaceOrder, i64)>,
}

async fn apply(s: &dyn OpsStore, w: &World, m: &mut Model, op: &Op) {
    m.seq += 1;
    let key = format!("k{}", m.seq);
    m.now += 60_000;
    let now = m.now;
    let instances = |c: usize| async move {
        s.list_instances(Some(w.customers[c].0), 0, 200)
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.status != InstanceStatus::Released)
            .collect::<Vec<_>>()
    };
    match op {
        Op::Recharge(c, a) => {
            recharge(s, w, *c, *a, now).await;
            m.money_in += a;
        }
        Op::Withdraw(c, a) => {
            let t = s
                .create_offline(&NewOffline {
                    org: w.customers[*c].0,
                    direction: Direction::Out,
                    amount: f(*a),
                    reference: key.clone(),
                    entered_by: w.finance.0,
                    at_ms: now,
                })
                .await
                .unwrap();
            match s.approve_offline(t.id, w.finance.1, now).await {
                Ok(_) => m.money_out += a,
                Err(StoreError::Money(MoneyRejection::InsufficientFunds { .. })) => {}
                Err(e) => panic!("withdraw: {e}"),
            }
        }
        Op::Voucher(c, a) => {
            s.grant_voucher(w.customers[*c].0, f(*a), &k(&key), now)
                .await
                .unwrap();
        }
        Op::Order {
            c,
            spec,
            payg,
            months,
            qty,
            coupon,
        } => {
            let (spec_id, mode) = if *payg {
                (w.payg_spec, ChargingMode::Payg)
            } else if *spec == 3 {
                (w.manual_spec, ChargingMode::Prepaid)
            } else {
                (w.prepaid_specs[*spec], ChargingMode::Prepaid)
            };
            let code = if *coupon {
                let code = format!("C{}", m.seq);
                s.create_coupon(&NewCoupon {
                    code: code.clone(),
                    org: None,
                    value: if m.seq % 2 == 0 {
                        CouponValue::AmountOff { fen: f(1_234) }
                    } else {
                        CouponValue::PercentOff {
                            bp: Bp::new(1_500).unwrap(),
                        }
                    },
                    min_spend: f(0),
                    expires_ms: now + DAY_MS,
                    at_ms: now,
                })
                .await
                .unwrap();
                Some(code)
            } else {
                None
            };
            let po = PlaceOrder {
                ctx: ctx(w, *c, &key, now),
                spec_id,
                mode,
                months: *months,
                quantity: *qty,
                coupon: code,
            };
            match s.place_order(&po).await {
                Ok(o) => {
                    assert!(!o.replayed);
                    // The balances an order answers with are the stored ones.
                    assert_eq!(o.balances, s.balances(w.customers[*c].0).await.unwrap());
                    m.last_order = Some((po, o.order.id));
                }
                Err(StoreError::Money(MoneyRejection::InsufficientFunds { .. })) => {}
                Err(e) => panic!("order: {e}"),
            }
        }
        Op::Renew(c, i, months) => {
            let live = instances(*c).await;
            if let Some(inst) = live.get(i % live.len().max(1)) {
                match s.renew(&ctx(w, *c, &key, now), inst.id, *months).await {
                    Ok(_) | Err(StoreError::Money(_)) => {}
                    Err(e) => panic!("renew: {e}"),
                }
            }
        }
        Op::Unsubscribe(c, i) => {
            let live = instances(*c).await;
            if let Some(inst) = live.get(i % live.len().max(1)) {
                let o = match s.unsubscribe(&ctx(w, *c, &key, now), inst.id).await {
                    Ok(o) => o,
                    // Owed pay-as-you-go usage blocks the release until it is paid.
                    Err(StoreError::Money(MoneyRejection::UsageUnpaid { .. })) => return,
                    Err(e) => panic!("unsubscribe: {e}"),
                };
                assert_eq!(o.instance.status, InstanceStatus::Released);
                // Never more back than was paid for the span.
                assert!(o.order.refunded_fen <= inst.paid.total().unwrap());
            }
        }
        Op::Change(c, i, sp) => {
            let live = instances(*c).await;
            if let Some(inst) = live.get(i % live.len().max(1)) {
                match s
                    .change_spec(&ctx(w, *c, &key, now), inst.id, w.prepaid_specs[*sp])
                    .await
                {
                    Ok(_) | Err(StoreError::Money(_)) => {}
                    Err(e) => panic!("change: {e}"),
                }
            }
        }
        Op::Advance(minutes) => {
            m.now += minutes * 60_000;
            // A pass in batches of 50 until nothing remains.
            let mut after = 0;
            loop {
                let r = s
                    .advance_lifecycle(
                        m.now,
                        &LifecycleSettings::default(),
                        &MeteredUsage,
                        after,
                        50,
                    )
                    .await
                    .unwrap();
                match r.next_after {
                    Some(a) => after = a,
                    None => break,
                }
            }
        }
        Op::Replay => {
            if let Some((po, id)) = &m.last_order {
                let o = s.place_order(po).await.unwrap();
                assert!(o.replayed);
                assert_eq!(o.order.id, *id);
            }
        }
    }
}

/// The conservation law and the balance invariants, checked after every operation.
async fn check(s: &dyn OpsStore, w: &World, m: &Model) {
    let balances: BTreeMap<String, i64> = s.journal_balances().await.unwrap().into_iter().collect();
    let mut customers = 0i64;
    let mut revenue = 0i64;
    let mut payables = 0i64;
    let mut bank = 0i64;
    let mut cash = 0i64;
    for (acc, b) in &balances {
        match Account::parse(acc).unwrap() {
            Account::Bank => bank += b,
            Account::Revenue => revenue += b,
            Account::SupplierPayable(_) => payables += b,
            Account::Cash(_) => {
                cash += b;
                customers += b;
            }
            _ => customers += b,
        }
    }
    let net = m.money_in - m.money_out;
    assert_eq!(
        customers + revenue + payables,
        net,
        "conservation: {balances:?}"
    );
    assert_eq!(bank, net, "bank");
    assert_eq!(s.check_projection().await.unwrap(), Vec::<String>::new());
    for (c, _) in &w.customers {
        let b = s.balances(*c).await.unwrap();
        assert!(
            b.cash_fen >= 0 && b.voucher_fen >= 0 && b.frozen_fen >= 0,
            "{b:?}"
        );
        assert!(
            b.credit_used_fen >= 0 && b.credit_used_fen <= b.credit_line_fen,
            "{b:?}"
        );
    }
    let mirror: i64 = s
        .mirror_expected()
        .await
        .unwrap()
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert_eq!(mirror, cash, "the wallets mirror the cash accounts");
}

async fn money_is_conserved_under_random_operations(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    let mut m = Model {
        now: T0,
        ..Model::default()
    };
    let cases = if matches!(b, Backend::Pg(..)) { 12 } else { 24 };
    let mut runner = TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let strategy = proptest::collection::vec(op(), 1..30);
    for _ in 0..cases {
        let ops = strategy.new_tree(&mut runner).expect("generate").current();
        for o in &ops {
            apply(s, &w, &mut m, o).await;
            check(s, &w, &m).await;
        }
    }
    assert!(m.money_in > 0);
}

async fn journal_refuses_edits_and_unbalanced_lines(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    recharge(s, &w, 0, 5_000, T0).await;
    for sql in [
        "UPDATE journal_lines SET amount_fen = 1",
        "DELETE FROM journal_lines",
        "UPDATE journal_tx SET total_fen = 1",
        "DELETE FROM journal_tx",
    ] {
        assert!(b.raw(sql).await.is_err(), "{sql} must be refused");
    }
    // A line beyond its transaction's total is refused by the schema.
    assert!(
        b.raw("INSERT INTO journal_lines (tx_id, account, side, amount_fen) VALUES (1, 'bank', 'debit', 1)")
            .await
            .is_err()
    );
    assert!(b.raw("INSERT INTO journal_tx (idem_key, body_digest, kind, channel, memo, total_fen, at_ms) VALUES ('x', 'd', 'recharge', 'x', '', 0, 0)").await.is_err());
    // Corrections are reversing entries.
    let before = s.balances(w.customers[0].0).await.unwrap();
    assert_eq!(before.cash_fen, 5_000);
    let rev = s.reverse_journal_tx(1, &k("fix-1"), T0 + 1).await.unwrap();
    assert_eq!(s.balances(w.customers[0].0).await.unwrap().cash_fen, 0);
    // Replaying the same correction key returns the first result.
    assert_eq!(
        s.reverse_journal_tx(1, &k("fix-1"), T0 + 2).await.unwrap(),
        rev
    );
    // A second reversal of the same transaction, or a reversal of the reversal, is
    // refused by name and changes nothing.
    assert!(matches!(
        s.reverse_journal_tx(1, &k("fix-2"), T0 + 3).await,
        Err(StoreError::AlreadyReversed { tx_id: 1 })
    ));
    assert!(matches!(
        s.reverse_journal_tx(rev, &k("fix-3"), T0 + 3).await,
        Err(StoreError::ReversalOfReversal { tx_id }) if tx_id == rev
    ));
    assert_eq!(s.balances(w.customers[0].0).await.unwrap().cash_fen, 0);
    assert!(
        b.raw("DELETE FROM journal_reversals").await.is_err(),
        "the reversal links are append-only"
    );
    assert_eq!(s.check_projection().await.unwrap(), Vec::<String>::new());
    // Vouchers with the same key and a different body conflict.
    s.grant_voucher(w.customers[0].0, f(100), &k("v1"), T0)
        .await
        .unwrap();
    s.grant_voucher(w.customers[0].0, f(100), &k("v1"), T0)
        .await
        .unwrap();
    assert_eq!(s.balances(w.customers[0].0).await.unwrap().voucher_fen, 100);
    assert!(matches!(
        s.grant_voucher(w.customers[0].0, f(101), &k("v1"), T0)
            .await,
        Err(StoreError::KeyReuse)
    ));
    let st = s.statements(w.customers[0].0, 0, 50).await.unwrap();
    let types: Vec<&str> = st.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(types, ["recharge", "deduction", "recharge"]);
    assert_eq!(st[0].channel, "sandbox");
    assert_eq!(st[0].balance_after_fen, 5_000);
    assert_eq!(st[1].balance_after_fen, 0);
}

async fn idempotent_orders_and_payments(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    recharge(s, &w, 0, 100_000, T0).await;
    // Confirming twice changes nothing the second time.
    let r = "ref-0-idem";
    s.create_payment(w.customers[0].0, w.customers[0].1, "sandbox", r, f(7), T0)
        .await
        .unwrap();
    assert!(matches!(
        s.confirm_payment("sandbox", r, f(8), T0).await,
        Err(StoreError::Money(MoneyRejection::AmountMismatch))
    ));
    s.confirm_payment("sandbox", r, f(7), T0).await.unwrap();
    s.confirm_payment("sandbox", r, f(7), T0).await.unwrap();
    assert_eq!(
        s.balances(w.customers[0].0).await.unwrap().cash_fen,
        100_007
    );
    let po = PlaceOrder {
        ctx: ctx(&w, 0, "o1", T0),
        spec_id: w.prepaid_specs[0],
        mode: ChargingMode::Prepaid,
        months: 1,
        quantity: 1,
        coupon: None,
    };
    let a = s.place_order(&po).await.unwrap();
    // 10 000 − customer discount 7 % (beats global 3 %) = 9 300.
    assert_eq!(a.order.charged_fen, f(9_300));
    assert_eq!(a.balances.cash_fen, 100_007 - 9_300);
    let again = s.place_order(&po).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.order.id, a.order.id);
    assert_eq!(again.balances.cash_fen, a.balances.cash_fen);
    let mut other = po.clone();
    other.quantity = 2;
    other.ctx.digest = "different".into();
    assert!(matches!(
        s.place_order(&other).await,
        Err(StoreError::KeyReuse)
    ));
    // The same key from another customer is a different key.
    recharge(s, &w, 1, 50_000, T0).await;
    let mut theirs = po.clone();
    theirs.ctx = ctx(&w, 1, "o1", T0);
    assert!(!s.place_order(&theirs).await.unwrap().replayed);
    // A coupon that does not apply (below its minimum spend) is not used up.
    s.create_coupon(&NewCoupon {
        code: "BIG".into(),
        org: None,
        value: CouponValue::AmountOff { fen: f(500) },
        min_spend: f(50_000),
        expires_ms: T0 + DAY_MS,
        at_ms: T0,
    })
    .await
    .unwrap();
    let mut small = po.clone();
    small.ctx = ctx(&w, 0, "b1", T0);
    small.coupon = Some("BIG".into());
    let below = s.place_order(&small).await.unwrap();
    assert!(
        !below
            .order
            .breakdown
            .steps
            .iter()
            .any(|st| st.kind == "coupon")
    );
    small.ctx = ctx(&w, 0, "b2", T0);
    small.months = 6;
    let six = s.place_order(&small).await.unwrap();
    assert!(
        six.order
            .breakdown
            .steps
            .iter()
            .any(|st| st.kind == "coupon"),
        "{:?}",
        six.order.breakdown
    );
    // A client key at the length limit still works where the journal prefixes it.
    let mut long = po.clone();
    long.ctx = ctx(
        &w,
        0,
        &"k".repeat(suanli_platform_domain::journal::IDEM_KEY_CHARS_MAX),
        T0,
    );
    assert!(!s.place_order(&long).await.unwrap().replayed);
    assert!(s.place_order(&long).await.unwrap().replayed);
    // A coupon is used once.
    s.create_coupon(&NewCoupon {
        code: "ONCE".into(),
        org: None,
        value: CouponValue::AmountOff { fen: f(300) },
        min_spend: f(0),
        expires_ms: T0 + DAY_MS,
        at_ms: T0,
    })
    .await
    .unwrap();
    let mut with_coupon = po.clone();
    with_coupon.ctx = ctx(&w, 0, "c1", T0);
    with_coupon.coupon = Some("ONCE".into());
    assert_eq!(
        s.place_order(&with_coupon).await.unwrap().order.charged_fen,
        f(9_000)
    );
    with_coupon.ctx = ctx(&w, 0, "c2", T0);
    assert!(matches!(
        s.place_order(&with_coupon).await,
        Err(StoreError::Money(MoneyRejection::CouponUsed))
    ));
    // Later price changes never alter what was sold.
    s.set_spec_pricing(w.prepaid_specs[0], &prepaid(99_999))
        .await
        .unwrap();
    let o = s.list_orders(Some(w.customers[0].0), 0, 10).await.unwrap();
    assert_eq!(o[0].breakdown.pricing, prepaid(10_000));
    let inst = s.get_instance(a.instance.id).await.unwrap().unwrap();
    assert_eq!(inst.pricing, prepaid(10_000));
    let renewed = s
        .renew(&ctx(&w, 0, "r1", T0 + 1), inst.id, 1)
        .await
        .unwrap();
    assert_eq!(renewed.order.charged_fen, f(9_300));
    // Another customer's instance is invisible.
    assert!(matches!(
        s.unsubscribe(&ctx(&w, 1, "u1", T0 + 2), inst.id).await,
        Err(StoreError::NotFound)
    ));
    // Unpublished products cannot be ordered.
    let spec = s.get_spec(w.prepaid_specs[1]).await.unwrap().unwrap();
    s.set_product_published(spec.product_id, false)
        .await
        .unwrap();
    let mut hidden = po.clone();
    hidden.ctx = ctx(&w, 0, "h1", T0);
    hidden.spec_id = spec.id;
    assert!(matches!(
        s.place_order(&hidden).await,
        Err(StoreError::NotFound)
    ));
}

/// Many concurrent orders of one customer — new ones, replays of the same keys, and more
/// than the balance pays for — are serialised correctly: on SQLite they are group-committed
/// on the writer thread, where a failing order is rolled back alone.
async fn concurrent_orders_keep_money_consistent(b: &Backend) {
    let shared: std::sync::Arc<dyn OpsStore> = match b {
        Backend::Sqlite(s, _) => std::sync::Arc::new(s.clone()),
        Backend::Pg(s, _, _) => std::sync::Arc::new(s.clone()),
    };
    let s = b.store();
    let w = world(s).await;
    let c = w.customers[0].0;
    let po = |key: &str| PlaceOrder {
        ctx: ctx(&w, 0, key, T0 + 1),
        spec_id: w.prepaid_specs[0],
        mode: ChargingMode::Prepaid,
        months: 1,
        quantity: 1,
        coupon: None,
    };
    // The price of one order (at most the 10 000 fen list price), then money for about
    // half of the orders below.
    recharge(s, &w, 0, 10_000, T0).await;
    let probe = s.place_order(&po("probe")).await.unwrap();
    let price = probe.order.charged_fen.get();
    assert!(price > 0);
    let left = s.balances(c).await.unwrap();
    let orders = 24i64;
    let topup = price * (orders / 2) + price / 2 - left.cash_fen;
    if topup > 0 {
        recharge(s, &w, 0, topup, T0 + 1).await;
    }
    let before = s.balances(c).await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..orders {
        // Every third request repeats the key of the one before it (same body).
        let key = if i % 3 == 2 {
            format!("c{}", i - 1)
        } else {
            format!("c{i}")
        };
        let (st, o) = (std::sync::Arc::clone(&shared), po(&key));
        set.spawn(async move { (key, st.place_order(&o).await) });
    }
    let mut by_key: BTreeMap<String, i64> = BTreeMap::new();
    let (mut placed, mut refused) = (0i64, 0i64);
    while let Some(r) = set.join_next().await {
        let (key, r) = r.unwrap();
        match r {
            Ok(o) => {
                if let Some(id) = by_key.insert(key, o.order.id) {
                    assert_eq!(id, o.order.id, "a replay answers the same order");
                }
                if !o.replayed {
                    placed += 1;
                }
            }
            Err(StoreError::Money(MoneyRejection::InsufficientFunds { .. })) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        placed > 0 && refused > 0,
        "placed {placed}, refused {refused}"
    );
    let after = s.balances(c).await.unwrap();
    let spent = (before.cash_fen - after.cash_fen)
        + (before.voucher_fen - after.voucher_fen)
        + (after.credit_used_fen - before.credit_used_fen);
    assert_eq!(spent, placed * price);
    let listed = s.list_orders(Some(c), 0, PAGE_SIZE_MAX).await.unwrap();
    assert_eq!(i64::try_from(listed.len()).unwrap(), placed + 1);
    assert_eq!(s.check_projection().await.unwrap(), Vec::<String>::new());
    assert!(after.cash_fen >= 0);
}

/// Voucher grants and credit-line changes beyond the asking user's limit wait for a
/// second finance user; within it they take effect at once.
async fn grants_beyond_the_limit_need_a_second_person(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    let c = w.customers[0].0;
    let req = |kind, amount: i64, key: Option<&str>, by, at| GrantRequest {
        org: c,
        kind,
        amount: f(amount),
        key: key.map(k),
        by,
        at_ms: at,
        day_start_ms: T0,
        alone_max: f(1_000),
    };
    let v0 = s.balances(c).await.unwrap().voucher_fen;
    // 600 + 400 fen alone: within the daily limit of 1 000.
    for (key, amount) in [("g1", 600), ("g2", 400)] {
        let g = s
            .request_grant(&req(
                GrantKind::Voucher,
                amount,
                Some(key),
                w.finance.0,
                T0 + 1,
            ))
            .await
            .unwrap();
        assert_eq!(g.grant.status, "alone");
        assert!(g.balances.is_some());
    }
    assert_eq!(s.balances(c).await.unwrap().voucher_fen, v0 + 1_000);
    // One fen more the same day waits; a replay of its key answers the same request.
    let p = s
        .request_grant(&req(GrantKind::Voucher, 1, Some("g3"), w.finance.0, T0 + 2))
        .await
        .unwrap();
    assert_eq!(p.grant.status, "pending");
    assert_eq!(p.balances, None);
    let again = s
        .request_grant(&req(GrantKind::Voucher, 1, Some("g3"), w.finance.0, T0 + 3))
        .await
        .unwrap();
    assert_eq!(again.grant.id, p.grant.id);
    assert!(matches!(
        s.request_grant(&req(GrantKind::Voucher, 2, Some("g3"), w.finance.0, T0 + 3))
            .await,
        Err(StoreError::KeyReuse)
    ));
    assert_eq!(s.balances(c).await.unwrap().voucher_fen, v0 + 1_000);
    // Not by the asker; by another finance user once.
    assert!(matches!(
        s.approve_grant(p.grant.id, w.finance.0, T0 + 4).await,
        Err(StoreError::Money(MoneyRejection::FourEyes))
    ));
    let done = s
        .approve_grant(p.grant.id, w.finance.1, T0 + 4)
        .await
        .unwrap();
    assert_eq!(done.grant.status, "approved");
    assert_eq!(done.grant.decided_by, Some(w.finance.1));
    assert_eq!(s.balances(c).await.unwrap().voucher_fen, v0 + 1_001);
    assert!(
        s.approve_grant(p.grant.id, w.finance.1, T0 + 5)
            .await
            .is_err()
    );
    assert_eq!(s.balances(c).await.unwrap().voucher_fen, v0 + 1_001);
    // Another user has its own limit; the next day the limit starts again.
    let g = s
        .request_grant(&req(
            GrantKind::Voucher,
            1_000,
            Some("g4"),
            w.finance.1,
            T0 + 6,
        ))
        .await
        .unwrap();
    assert_eq!(g.grant.status, "alone");
    let next_day = GrantRequest {
        day_start_ms: T0 + DAY_MS,
        ..req(
            GrantKind::Voucher,
            1_000,
            Some("g5"),
            w.finance.0,
            T0 + DAY_MS,
        )
    };
    assert_eq!(
        s.request_grant(&next_day).await.unwrap().grant.status,
        "alone"
    );
    // A credit line within the limit is set at once, above it waits.
    let line = s
        .request_grant(&req(
            GrantKind::CreditLine,
            1_000,
            None,
            w.finance.0,
            T0 + 7,
        ))
        .await
        .unwrap();
    assert_eq!(line.balances.unwrap().credit_line_fen, 1_000);
    let high = s
        .request_grant(&req(
            GrantKind::CreditLine,
            50_000,
            None,
            w.finance.0,
            T0 + 8,
        ))
        .await
        .unwrap();
    assert_eq!(high.grant.status, "pending");
    assert_eq!(s.balances(c).await.unwrap().credit_line_fen, 1_000);
    let set = s
        .approve_grant(high.grant.id, w.finance.1, T0 + 9)
        .await
        .unwrap();
    assert_eq!(set.balances.unwrap().credit_line_fen, 50_000);
    assert_eq!(
        s.list_grants(0, PAGE_SIZE_MAX).await.unwrap().len(),
        7,
        "every request is on record"
    );
    let work = s.grant_worklist(PAGE_SIZE_MAX).await.unwrap();
    assert_eq!(work.len(), 7);
    let in_order =
        |a: &GrantRecord, b: &GrantRecord| match (a.status == "pending", b.status == "pending") {
            (true, true) => a.id < b.id,
            (true, false) => true,
            (false, true) => false,
            (false, false) => a.id > b.id,
        };
    assert!(
        work.windows(2).all(|p| in_order(&p[0], &p[1])),
        "pending grants first (oldest first), then the newest: {work:?}"
    );
    // The schema itself refuses a self-approval.
    assert!(
        b.raw(&format!(
            "UPDATE money_grants SET decided_by = entered_by WHERE id = {}",
            high.grant.id
        ))
        .await
        .is_err()
    );
    assert_eq!(s.check_projection().await.unwrap(), Vec::<String>::new());
}

async fn offline_transfers_need_a_second_person(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    let t = s
        .create_offline(&NewOffline {
            org: w.customers[0].0,
            direction: Direction::In,
            amount: f(80_000),
            reference: "BANK-1".into(),
            entered_by: w.finance.0,
            at_ms: T0,
        })
        .await
        .unwrap();
    assert_eq!(s.balances(w.customers[0].0).await.unwrap().cash_fen, 0);
    assert!(matches!(
        s.approve_offline(t.id, w.finance.0, T0).await,
        Err(StoreError::Money(MoneyRejection::FourEyes))
    ));
    assert_eq!(s.balances(w.customers[0].0).await.unwrap().cash_fen, 0);
    let done = s.approve_offline(t.id, w.finance.1, T0).await.unwrap();
    assert_eq!(done.status, "approved");
    assert_eq!(done.decided_by, Some(w.finance.1));
    assert_eq!(s.balances(w.customers[0].0).await.unwrap().cash_fen, 80_000);
    assert!(s.approve_offline(t.id, w.finance.1, T0).await.is_err());
    // The work list puts what waits for a decision first, however old.
    let waiting = s
        .create_offline(&NewOffline {
            org: w.customers[0].0,
            direction: Direction::In,
            amount: f(10),
            reference: "BANK-2".into(),
            entered_by: w.finance.0,
            at_ms: T0,
        })
        .await
        .unwrap();
    let work = s.offline_worklist(1).await.unwrap();
    assert_eq!(
        work.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![waiting.id]
    );
    let all = s.offline_worklist(10).await.unwrap();
    assert_eq!(
        all.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![waiting.id, t.id]
    );
    // The schema itself refuses a self-approval.
    assert!(
        b.raw(&format!(
            "UPDATE offline_transfers SET decided_by = entered_by WHERE id = {}",
            t.id
        ))
        .await
        .is_err()
    );
    // Recharges repay drawn credit first.
    let c1 = w.customers[1].0;
    let o = s
        .place_order(&PlaceOrder {
            ctx: ctx(&w, 1, "credit", T0),
            spec_id: w.prepaid_specs[0],
            mode: ChargingMode::Prepaid,
            months: 1,
            quantity: 1,
            coupon: None,
        })
        .await
        .unwrap();
    assert_eq!(o.order.funding.credit_fen, f(9_700));
    assert_eq!(o.balances.credit_used_fen, 9_700);
    recharge(s, &w, 1, 10_000, T0).await;
    let bal = s.balances(c1).await.unwrap();
    assert_eq!((bal.credit_used_fen, bal.cash_fen), (0, 300));
    let mirror = s.mirror_pending(100).await.unwrap();
    assert_eq!(mirror.len(), 2);
    assert!(mirror.iter().all(|m| m.op == "mint"));
    // The signed chain transaction is stored before it is sent, once; a retry reads it back.
    let m = &mirror[0];
    assert_eq!(
        (m.signed_ref.as_deref(), m.signed_tx.as_deref()),
        (None, None)
    );
    s.mirror_signed(m.id, "tx-1", "00ff").await.unwrap();
    assert!(matches!(
        s.mirror_signed(m.id, "tx-2", "0102").await,
        Err(StoreError::NotFound)
    ));
    let again = s.mirror_pending(100).await.unwrap();
    assert_eq!(
        (
            again[0].signed_ref.as_deref(),
            again[0].signed_tx.as_deref()
        ),
        (Some("tx-1"), Some("00ff"))
    );
    s.mirror_sent(m.id, "tx-1", T0).await.unwrap();
    assert_eq!(s.mirror_pending(100).await.unwrap().len(), 1);
    assert!(s.mirror_signed(m.id, "tx-3", "03").await.is_err());
}

async fn prepaid_lifecycle_and_bills(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    recharge(s, &w, 0, 1_000_000, T0).await;
    s.grant_voucher(w.customers[0].0, f(5_000), &k("welcome"), T0)
        .await
        .unwrap();
    // Manual product: pending until accepted; the term starts at opening.
    let o = s
        .place_order(&PlaceOrder {
            ctx: ctx(&w, 0, "m", T0),
            spec_id: w.manual_spec,
            mode: ChargingMode::Prepaid,
            months: 1,
            quantity: 1,
            coupon: None,
        })
        .await
        .unwrap();
    assert_eq!(o.instance.status, InstanceStatus::Pending);
    assert_eq!(o.order.funding.cash_fen, o.order.charged_fen);
    let waiting = s.pending_instances(PAGE_SIZE_MAX).await.unwrap();
    assert!(waiting.iter().any(|i| i.id == o.instance.id), "{waiting:?}");
    assert!(waiting.iter().all(|i| i.status == InstanceStatus::Pending));
    let opened = T0 + DAY_MS;
    let acc = s
        .accept_instance(
            o.instance.id,
            &Provisioning {
                resource_id: "bm-42".into(),
                access_address: "ssh root@10.0.0.42".into(),
                opened_ms: opened,
            },
            w.finance.0,
            opened,
        )
        .await
        .unwrap();
    assert!(
        !s.pending_instances(PAGE_SIZE_MAX)
            .await
            .unwrap()
            .iter()
            .any(|i| i.id == o.instance.id),
        "an accepted instance no longer waits"
    );
    assert_eq!(acc.status, InstanceStatus::Active);
    assert_eq!(acc.resource_id.as_deref(), Some("bm-42"));
    // Opened 2025-01-16 → ends 2025-02-16.
    let end = acc.ends_ms.unwrap();
    assert_eq!(end, opened + 31 * DAY_MS);
    let settings = LifecycleSettings::default();
    let r = s
        .advance_lifecycle(end - 7 * DAY_MS, &settings, &MeteredUsage, 0, 10)
        .await
        .unwrap();
    assert_eq!(r.messages, 1);
    assert_eq!(
        s.get_instance(acc.id).await.unwrap().unwrap().status,
        InstanceStatus::Expiring
    );
    s.advance_lifecycle(end, &settings, &MeteredUsage, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        s.get_instance(acc.id).await.unwrap().unwrap().status,
        InstanceStatus::Expired
    );
    s.advance_lifecycle(end + 7 * DAY_MS, &settings, &MeteredUsage, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        s.get_instance(acc.id).await.unwrap().unwrap().status,
        InstanceStatus::Released
    );
    let msgs = s.list_messages(w.customers[0].0, 0, 50).await.unwrap();
    assert!(msgs.len() >= 4, "{msgs:?}");
    // The newest first, for the console's overview.
    let recent = s.recent_messages(w.customers[0].0, 2).await.unwrap();
    let newest: Vec<i64> = msgs.iter().rev().take(2).map(|m| m.id).collect();
    assert_eq!(recent.iter().map(|m| m.id).collect::<Vec<_>>(), newest);
    // Bills for January: the manual order; filters by product and mode.
    let jan = BillFilter {
        from_ms: T0 - 14 * DAY_MS,
        to_ms: T0 + 17 * DAY_MS,
        ..BillFilter::default()
    };
    let lines = s.bills(&jan).await.unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].prepaid_fen, o.order.charged_fen.get());
    assert_eq!(lines[0].discount_fen, o.order.discount_fen.get());
    assert_eq!(lines[0].amount_due_fen, o.order.charged_fen.get());
    let payg_only = BillFilter {
        mode: Some(ChargingMode::Payg),
        ..jan.clone()
    };
    assert!(s.bills(&payg_only).await.unwrap().is_empty());
    let other_user = BillFilter {
        user: Some(w.customers[1].1),
        ..jan
    };
    assert!(s.bills(&other_user).await.unwrap().is_empty());
}

/// Bills come in pages with a cursor; a lifecycle pass works in bounded batches and says
/// whether more remain.
async fn bills_and_lifecycle_are_paged(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    let mut expected = Vec::new();
    for c in 0..2 {
        recharge(s, &w, c, 1_000_000, T0).await;
        for (i, spec) in w.prepaid_specs.iter().enumerate() {
            s.place_order(&PlaceOrder {
                ctx: ctx(&w, c, &format!("p{c}-{i}"), T0 + 1),
                spec_id: *spec,
                mode: ChargingMode::Prepaid,
                months: 1,
                quantity: 1,
                coupon: None,
            })
            .await
            .unwrap();
        }
    }
    let month = BillFilter {
        from_ms: T0 - 14 * DAY_MS,
        to_ms: T0 + 17 * DAY_MS,
        ..BillFilter::default()
    };
    let all = s.bills(&month).await.unwrap();
    assert!(all.len() >= 2, "{all:?}");
    expected.extend(all.iter().cloned());
    // Page by page with one line each, following the cursor, gives the same lines.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .bills(&BillFilter {
                after: after.clone(),
                limit: Some(1),
                ..month.clone()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        assert_eq!(page.len(), 1);
        after = Some(last.key());
        paged.extend(page);
    }
    assert_eq!(paged, expected);
    // A lifecycle pass with batches of one: each batch reports where to go on, the last
    // reports nothing more, and every live instance was looked at once.
    let live = s
        .list_instances(None, 0, PAGE_SIZE_MAX)
        .await
        .unwrap()
        .iter()
        .filter(|i| {
            matches!(
                i.status,
                InstanceStatus::Active
                    | InstanceStatus::Expiring
                    | InstanceStatus::Expired
                    | InstanceStatus::Paused
            )
        })
        .count();
    assert!(live >= 2);
    let (mut after, mut examined, mut batches) = (0, 0, 0);
    loop {
        let r = s
            .advance_lifecycle(
                T0 + 2,
                &LifecycleSettings::default(),
                &MeteredUsage,
                after,
                1,
            )
            .await
            .unwrap();
        examined += r.examined;
        batches += 1;
        assert!(r.examined <= 1);
        match r.next_after {
            Some(a) => after = a,
            None => break,
        }
    }
    assert_eq!(usize::try_from(examined).unwrap(), live);
    assert!(batches >= live);
}

async fn payg_pauses_when_out_of_money_and_resumes(b: &Backend) {
    let s = b.store();
    let w = world(s).await;
    recharge(s, &w, 0, 3_000, T0).await;
    let o = s
        .place_order(&PlaceOrder {
            ctx: ctx(&w, 0, "p", T0),
            spec_id: w.payg_spec,
            mode: ChargingMode::Payg,
            months: 0,
            quantity: 1,
            coupon: None,
        })
        .await
        .unwrap();
    assert_eq!(o.balances.frozen_fen, 2_000);
    assert_eq!(o.balances.cash_fen, 1_000);
    let settings = LifecycleSettings::default();
    // 100 minutes × 3 fen = 300 < minimum 500: 500 charged.
    let r = s
        .advance_lifecycle(T0 + 100 * 60_000, &settings, &MeteredUsage, 0, 10)
        .await
        .unwrap();
    assert_eq!(r.usage_charged_fen, 500);
    assert_eq!(s.balances(w.customers[0].0).await.unwrap().cash_fen, 500);
    // 600 more minutes: 2 100 due in total, 1 600 more: 500 from cash, 1 100 from the
    // deposit — the deposit still covers it, so the instance keeps running.
    let r = s
        .advance_lifecycle(T0 + 700 * 60_000, &settings, &MeteredUsage, 0, 10)
        .await
        .unwrap();
    assert_eq!((r.usage_charged_fen, r.paused), (1_600, 0));
    // 400 more minutes: 3 300 fen due in total, 1 200 more: 900 left in the deposit,
    // 300 owed — out of money: paused, not deleted.
    let r = s
        .advance_lifecycle(T0 + 1_100 * 60_000, &settings, &MeteredUsage, 0, 10)
        .await
        .unwrap();
    assert_eq!(r.paused, 1);
    let inst = s.get_instance(o.instance.id).await.unwrap().unwrap();
    assert_eq!(inst.status, InstanceStatus::Paused);
    assert_eq!(inst.usage_charged_fen, f(3_000));
    assert_eq!(inst.usage_unpaid_fen, f(300));
    let bal = s.balances(w.customers[0].0).await.unwrap();
    assert_eq!((bal.cash_fen, bal.frozen_fen), (0, 0));
    // Paused time is not metered; a recharge resumes it.
    s.advance_lifecycle(T0 + 5_000 * 60_000, &settings, &MeteredUsage, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        s.get_instance(inst.id).await.unwrap().unwrap().status,
        InstanceStatus::Paused
    );
    // Owed usage is never written off: no unsubscribe while it is unpaid.
    match s
        .unsubscribe(&ctx(&w, 0, "u0", T0 + 5_000 * 60_000), inst.id)
        .await
    {
        Err(StoreError::Money(MoneyRejection::UsageUnpaid { unpaid_fen: 300 })) => {}
        other => panic!("unsubscribe with unpaid usage: {other:?}"),
    }
    recharge(s, &w, 0, 10_000, T0 + 5_001 * 60_000).await;
    let r = s
        .advance_lifecycle(T0 + 5_002 * 60_000, &settings, &MeteredUsage, 0, 10)
        .await
        .unwrap();
    assert_eq!(r.resumed, 1);
    let u = s
        .unsubscribe(&ctx(&w, 0, "u", T0 + 5_012 * 60_000), inst.id)
        .await
        .unwrap();
    assert_eq!(u.instance.status, InstanceStatus::Released);
    assert_eq!(u.order.charged_fen, f(30));
    // The 300 owed was settled on resume; 10 more minutes cost 30.
    assert_eq!(u.balances.cash_fen, 10_000 - 300 - 30);
    let st = s.statements(w.customers[0].0, 0, 100).await.unwrap();
    assert!(
        st.iter()
            .any(|l| l.kind == "consumption" && l.channel == "frozen")
    );
}
