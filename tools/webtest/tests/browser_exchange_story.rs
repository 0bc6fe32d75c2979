#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The exchange (issue 18, `docs/exchange.md`) in headless Chromium, on a platform with an
//! embedded ledger whose clock the test moves: a supplier lists an offer and delegates its
//! agent key (as in `browser_supplier_story.rs`, with the built-in CPTs); a consumer
//! registers, is approved (its DID enrolled on the trade chain), recharges — the mirror
//! mints into its organisation's wallet —, orders the offer on the offer page with its
//! password (its own key signs the order, escrowed from the wallet), the supplier's agent
//! accepts it and checks in an hour later; the trade shows in My trades with its chain
//! records, the check-in is in the journal (wallet on chain = journal cash, escrow = value
//! − paid); the consumer stops it (refund to cash and wallet alike) and rates it on the
//! chain. The same story runs on SQLite and on PostgreSQL (a fresh database on the server
//! named by `SUANLI_TEST_DATABASE_URL`, which `scripts/test.sh` sets; without it the
//! PostgreSQL run is skipped with a message, and fails when `CI` is set). Needs `chromium`
//! and `chromium-driver` (as `tests/browser.rs`); without them it FAILS.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use suanli_agent::platform::HttpPlatform;
use suanli_agent::policy::{Limits, Policy};
use suanli_agent::provision::ManualWorkOrders;
use suanli_agent::store::DoneStore;
use suanli_ledger_client::supply;
use suanli_primitives::{Clock, SecretKey};
use suanli_trade::{PartyDid, op};
use suanli_webtest::exchange_setup::{
    BUYER, BUYER_PASSWORD, LOGIN, PASSWORD, TradingPlatform, consumer, list_offer, onboard_supplier,
};
use suanli_webtest::harness::{Client, HARNESS_ADMIN_PASSWORD};
use suanli_webtest::webdriver::{Driver, MISSING, available};

/// Longest the test waits for the exchange worker to follow the chain.
const FOLLOW_WAIT: Duration = Duration::from_secs(60);

/// The trade as the API answers it, once `done` holds (the exchange worker follows the
/// chain on its own timer).
fn follow(api: &Client, serial: &str, done: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + FOLLOW_WAIT;
    loop {
        let v = api.get(&format!("/api/v1/trades/{serial}")).unwrap().json();
        if done(&v) || Instant::now() > until {
            return v;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wallet(api: &Client) -> (i64, i64) {
    let w = api.get("/api/v1/trades/wallet").unwrap().json();
    (
        w["cash_fen"].as_i64().unwrap(),
        w["chain_balance_fen"].as_i64().unwrap_or(-1),
    )
}

/// Each refusal with its own code, nothing escrowed: a forged pre-signed order, one whose
/// channel delegation has expired, and — once the administrator set the member's limit
/// to 0 and the platform mirrored it — an order beyond the member's limit.
fn refusals(
    api: &Client,
    ledger: &dyn suanli_ledger_client::LedgerClient,
    offer: &suanli_trade::records::Offer,
    platform_offer: i64,
    now_ms: u64,
) {
    let before = (
        wallet(api),
        api.get("/api/v1/trades").unwrap().json()["items"].clone(),
    );
    let code = |a: &suanli_webtest::harness::Answer| a.json()["error"]["code"].clone();
    let r = api
        .api_post(
            "/api/v1/trades/presigned",
            &json!({"tx": "00ff"}),
            Some("forged-1"),
        )
        .unwrap();
    assert_eq!(
        (r.status, code(&r)),
        (422, json!("forged_order")),
        "{}",
        r.body
    );
    let pem = api
        .api_post(
            "/api/v1/me/key/export",
            &json!({"password": BUYER_PASSWORD}),
            None,
        )
        .unwrap()
        .json();
    let key = SecretKey::from_pem(pem["pkcs8_pem"].as_str().unwrap()).unwrap();
    let name = api.get("/api/v1/trades/wallet").unwrap().json()["wallet"]
        .as_str()
        .unwrap()
        .to_owned();
    let order = |signer: &SecretKey, valid_until_ms: u64, serial: u8| {
        let draft = suanli_ledger_client::exchange::OrderDraft {
            serial: suanli_trade::Serial::from_bytes([serial; 16]),
            offer_id: offer.id,
            requirements: suanli_trade::model::Requirements {
                spec: offer.terms.spec.clone(),
                quantity: 1,
                duration_minutes: 60,
            },
            value_fen: suanli_primitives::PositiveFen::new(60 * 180).unwrap(),
            wallet: Some(suanli_trade::wallet::WalletName::parse(&name).unwrap()),
            channel: Some(suanli_trade::wallet::ChannelDelegation {
                key: SecretKey::from_label("exchange/channel").public(),
                endpoint: "tcp://127.0.0.1:7420".into(),
                valid_until_ms,
                max_fen: suanli_primitives::Fen::new(60 * 180).unwrap(),
            }),
            time_ms: now_ms,
        };
        let tx = suanli_ledger_client::exchange::sign_order(ledger, signer, &draft).unwrap();
        hex::encode(tx.encoded())
    };
    // Signed by a key that is not the caller's.
    let stranger = order(
        &SecretKey::from_label("exchange/stranger"),
        now_ms + 3_600_000,
        9,
    );
    let r = api
        .api_post(
            "/api/v1/trades/presigned",
            &json!({"tx": stranger}),
            Some("forged-2"),
        )
        .unwrap();
    assert_eq!(
        (r.status, code(&r)),
        (422, json!("forged_order")),
        "{}",
        r.body
    );
    // Ended two hours ago: before the platform's clock too, so it is refused before
    // anything is stored (the chain would refuse it as well).
    let expired = order(&key, now_ms - 2 * 3_600_000, 10);
    let r = api
        .api_post(
            "/api/v1/trades/presigned",
            &json!({"tx": expired}),
            Some("expired-1"),
        )
        .unwrap();
    assert_eq!(
        (r.status, code(&r)),
        (422, json!("delegation_expired")),
        "{}",
        r.body
    );
    // The administrator sets its own limit to 0; the worker mirrors it on the chain.
    let me = api.get("/api/v1/trades/members").unwrap().json()["items"][0]["user_id"]
        .as_i64()
        .unwrap();
    let set = api
        .form(
            "/console/trades/members",
            &[("user_id", &me.to_string()), ("limit_yuan", "0")],
        )
        .unwrap();
    assert_eq!(set.status, 303, "{}", set.body);
    let until = Instant::now() + FOLLOW_WAIT;
    while api.get("/api/v1/trades/members").unwrap().json()["items"][0]["limit"]["chain_ref"]
        .is_null()
        && Instant::now() < until
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = api
        .api_post(
            "/api/v1/trades",
            &json!({"offer_id": platform_offer, "units": 1, "term_minutes": 60,
                "password": BUYER_PASSWORD}),
            Some("over-limit-1"),
        )
        .unwrap();
    assert_eq!(
        (r.status, code(&r)),
        (422, json!("member_limit_exceeded")),
        "{}",
        r.body
    );
    let after = (
        wallet(api),
        api.get("/api/v1/trades").unwrap().json()["items"].clone(),
    );
    assert_eq!(after, before, "nothing escrowed, nothing stored");

    // The operator suspends the organisation: the worker suspends its wallet, and the
    // chain refuses an order paid from it, even one sent past the platform.
    let org: i64 = name.trim_start_matches("org:").parse().unwrap();
    suspend(&api.base, org);
    let wname = suanli_trade::wallet::WalletName::parse(&name).unwrap();
    let until = Instant::now() + FOLLOW_WAIT;
    let suspended = loop {
        let v = suanli_ledger_client::exchange::wallet_view(ledger, &wname)
            .unwrap()
            .unwrap();
        if v.suspended || Instant::now() > until {
            break v;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(suspended.suspended, "{suspended:?}");
    let direct = order(&key, now_ms + 3_600_000, 11);
    let tx = suanli_ledger::Transaction::decode(&hex::decode(direct).unwrap()).unwrap();
    let refused = suanli_ledger_client::exchange::submit(ledger, &tx, 10_000).unwrap_err();
    assert!(
        refused.to_string().contains("wallet_suspended"),
        "{refused}"
    );
    let v = suanli_ledger_client::exchange::wallet_view(ledger, &wname)
        .unwrap()
        .unwrap();
    assert_eq!(v.balance_fen, (after.0).1, "nothing escrowed");
}

/// `DELETE /api/v1/orgs/{org}` (suspend) as the operator administrator.
fn suspend(base: &str, org: i64) {
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .build(),
    );
    let mut r = agent
        .post(format!("{base}/api/v1/auth/login"))
        .header("content-type", "application/json")
        .send(
            json!({"login": "admin", "password": HARNESS_ADMIN_PASSWORD})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    let body: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    let r = agent
        .delete(format!("{base}/api/v1/orgs/{org}"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .call()
        .unwrap();
    assert!(r.status().is_success(), "suspend: {}", r.status());
}

/// A fresh PostgreSQL database on the server named by `SUANLI_TEST_DATABASE_URL` (dropped
/// with the server's data when the machine is reset), or `None` — a skip with a message,
/// and a failure when `CI` is set — without it.
fn fresh_postgres() -> Option<String> {
    use sqlx::Connection;
    let Ok(admin_url) = std::env::var("SUANLI_TEST_DATABASE_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SUANLI_TEST_DATABASE_URL is not set but CI is: the PostgreSQL run must not be skipped"
        );
        eprintln!(
            "SKIPPED: SUANLI_TEST_DATABASE_URL not set; the exchange story on PostgreSQL not run"
        );
        return None;
    };
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).unwrap();
    let name = format!("suanli_test_story_{}", hex::encode(rnd));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut c = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .await
                .unwrap();
        });
    let (base, _) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
    let cut = base.rfind('/').unwrap();
    Some(format!("{}/{name}", &base[..cut]))
}

#[test]
fn a_consumer_orders_an_offer_as_a_trade_uses_stops_and_rates_it() {
    story(None);
}

#[test]
fn the_same_story_on_postgresql() {
    if let Some(url) = fresh_postgres() {
        story(Some(url));
    }
}

/// The whole story on a platform over `database_url` (PostgreSQL), or SQLite without one.
fn story(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let TradingPlatform {
        h,
        pclock,
        chain_clock,
        vc,
    } = TradingPlatform::start_on(dir.path(), database_url.as_deref()).unwrap();
    let base = h.base.clone();
    let ledger = h.ledger.as_ref().unwrap().client.clone();
    assert!(available(), "{MISSING}");
    let d = Driver::start().expect(MISSING);

    // The supplier lists an offer; the operator approves the listing.
    let (sup, op) = onboard_supplier(&d, &base, &vc).unwrap();
    let supplier_did = PartyDid::parse(&sup.text("#supplier-did").unwrap()).unwrap();
    let offer = list_offer(&sup, &base).unwrap();
    op.goto(&format!("{base}/ops/suppliers/listings?lang=en"))
        .unwrap();
    op.click(&format!("tr[data-listing='{offer}'] button.approve"))
        .unwrap();

    // Its agent key, delegated on the page, and the agent's API token.
    let agent_key = SecretKey::from_label("exchange/agent");
    sup.goto(&format!("{base}/supplier/agent-keys?lang=en"))
        .unwrap();
    sup.fill("#f-public_key", &agent_key.public().to_hex())
        .unwrap();
    let proof = op::agent_proof(&agent_key, &supplier_did, "agent-1");
    sup.fill("#f-proof", &proof.to_hex()).unwrap();
    sup.fill("#f-password", PASSWORD).unwrap();
    sup.click("form[action='/supplier/agent-keys/delegate'] button[type=submit]")
        .unwrap();
    let mut sapi = Client::new(&base);
    sapi.login(LOGIN, PASSWORD).unwrap();
    let token = sapi
        .api_post(
            "/api/v1/me/tokens",
            &json!({"name": "agent", "scopes": ["supply:agent"], "ttl_secs": 2_592_000}),
            None,
        )
        .unwrap()
        .json();
    let token = token["token"].as_str().unwrap().to_owned();

    // The consumer, approved and recharged: the wallet holds its cash.
    let c = consumer(&d, &base, &op).unwrap();
    let mut api = Client::new(&base);
    api.login(BUYER, BUYER_PASSWORD).unwrap();

    // It orders the offer on its page: 180 minutes at ¥1.80, signed with its password.
    c.goto(&format!("{base}/offers/{offer}?lang=en")).unwrap();
    c.click("#order-trade").unwrap();
    c.fill("#f-units", "1").unwrap();
    c.fill("#f-term_minutes", "180").unwrap();
    c.fill("#f-password", BUYER_PASSWORD).unwrap();
    c.click("#trade-order button[type=submit]").unwrap();
    let url = c.url().unwrap();
    let serial = url
        .rsplit('/')
        .next()
        .and_then(|t| t.split('?').next())
        .unwrap()
        .to_owned();
    assert_eq!(
        serial.len(),
        32,
        "{url}: {}",
        c.text("main").unwrap_or_default()
    );
    assert_eq!(
        c.find_all("#trade[data-status=placed]").unwrap().len(),
        1,
        "{}",
        c.text("main").unwrap_or_default()
    );
    let value = 180 * 180;
    let (cash, chain) = wallet(&api);
    assert_eq!(
        (cash, chain),
        (100_000 - value, 100_000 - value),
        "wallet = cash"
    );

    // The supplier's agent accepts it; the worker follows the contract.
    let chain_offers = supply::supplier_offers(ledger.as_ref(), &supplier_did, 0).unwrap();
    let chain_offer = chain_offers.last().unwrap();
    let platform = Arc::new(HttpPlatform::new(&base, token));
    let agent = suanli_agent::Agent {
        ledger: ledger.clone(),
        platform: platform.clone(),
        provisioner: Arc::new(ManualWorkOrders::new(platform)),
        supplier: supplier_did.clone(),
        key: agent_key,
        key_fragment: "agent-1".into(),
        policy: Policy::Auto(Limits {
            max_units: 4,
            max_minutes: 600,
            max_value_fen: 1_000_000,
            offers: vec![chain_offer.id],
        }),
        store: DoneStore::open(&dir.path().join("agent")).unwrap(),
        clock: chain_clock.clone(),
        channels: suanli_agent::channels::SupplierChannels::own_runtime(&dir.path().join("agent"))
            .unwrap(),
    };
    let r = agent.tick().unwrap();
    assert_eq!(r.accepted, 1, "{r:?}");
    let t = follow(&api, &serial, |v| v["trade"]["status"] == "active");
    assert_eq!(t["trade"]["status"], "active", "{t}");
    sup.goto(&format!("{base}/supplier/work-orders?lang=en"))
        .unwrap();
    sup.fill("#f-address", "10.8.0.21:22").unwrap();
    sup.fill("#f-credentials_ref", "vault:gpupark/trade-9")
        .unwrap();
    sup.fill("#f-pool_id", "yaan-a100-pool").unwrap();
    sup.click("form[action$='/fill'] button[type=submit]")
        .unwrap();
    agent.tick().unwrap();

    // An hour later the agent checks in; the journal follows it.
    chain_clock.0.fetch_add(61 * 60_000, Ordering::SeqCst);
    pclock.advance_ms(61 * 60_000);
    agent.tick().unwrap();
    let t = follow(&api, &serial, |v| v["trade"]["checkins"] == 1);
    let paid = 60 * 180;
    assert_eq!(t["trade"]["paid_fen"], paid, "{t}");
    assert_eq!(t["escrow_fen"], value - paid);
    assert_eq!(t["running_cost_fen"], paid);
    assert_eq!(t["chain"]["checkins"][0]["cost_fen"], paid);
    assert_eq!(t["work_order"]["access"]["address"], "10.8.0.21:22");
    let (cash, chain) = wallet(&api);
    assert_eq!((cash, chain), (100_000 - value, 100_000 - value));

    // My trades shows it with its records.
    c.goto(&format!("{base}/console/trades?lang=en")).unwrap();
    assert_eq!(
        c.find_all(&format!(
            "#my-trades tr[data-trade='{serial}'][data-status=active]"
        ))
        .unwrap()
        .len(),
        1
    );
    c.goto(&format!("{base}/console/trades/{serial}?lang=en"))
        .unwrap();
    assert_eq!(
        c.find_all("#trade-checkins tr[data-checkin]")
            .unwrap()
            .len(),
        1
    );
    assert!(c.text("#trade-cost").unwrap().contains("¥108.00"));

    // It stops the trade: the chain charges the started minutes since the check-in and
    // refunds the rest to the wallet; cash follows at once.
    c.fill("#stop-form input[name=password]", BUYER_PASSWORD)
        .unwrap();
    c.click("#stop-form button[type=submit]").unwrap();
    let t = follow(&api, &serial, |v| v["trade"]["status"] == "closed");
    assert_eq!(t["trade"]["status"], "closed", "{t}");
    assert_eq!(t["trade"]["close_reason"], "stopped_by_consumer");
    let paid_all = t["trade"]["paid_fen"].as_i64().unwrap();
    let refund = t["trade"]["refunded_fen"].as_i64().unwrap();
    assert!(paid_all >= paid, "{t}");
    assert_eq!(
        paid_all + refund,
        value,
        "escrow emptied: paid + refunded = value"
    );
    assert_eq!(t["escrow_fen"], 0);
    assert_eq!(t["chain"]["close"]["refund_fen"], refund);
    let (cash, chain) = wallet(&api);
    assert_eq!(cash, 100_000 - paid_all, "cash = recharge − consumption");
    assert_eq!(chain, cash, "wallet on chain = journal cash");

    // It rates the trade on the chain.
    c.goto(&format!("{base}/console/trades/{serial}?lang=en"))
        .unwrap();
    // The mode weighs gpu, memory and network (the mode form's default): those are scored.
    c.fill("#f-score_gpu", "90").unwrap();
    c.fill("#f-score_memory", "85").unwrap();
    c.fill("#f-score_network", "80").unwrap();
    c.fill("#rate-form input[name=password]", BUYER_PASSWORD)
        .unwrap();
    c.click("#rate-form button[type=submit]").unwrap();
    assert_eq!(
        c.find_all("#trade-rating").unwrap().len(),
        1,
        "{}",
        c.text("main").unwrap_or_default()
    );
    let t = api.get(&format!("/api/v1/trades/{serial}")).unwrap().json();
    assert!(t["chain"]["rating"].is_object(), "{t}");

    refusals(
        &api,
        ledger.as_ref(),
        chain_offer,
        offer,
        chain_clock.now_ms(),
    );

    // Isolation: the supplier's session does not see the consumer's trade.
    let other = sapi.get(&format!("/api/v1/trades/{serial}")).unwrap();
    assert!(matches!(other.status, 403 | 404), "{}", other.body);
    assert!(!other.body.contains(&serial), "{}", other.body);
}
