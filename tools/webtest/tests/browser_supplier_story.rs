#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The supplier's whole story (issue 16) in headless Chromium, on a platform with an
//! embedded ledger whose clock the test moves: a data centre registers as a supplier with
//! its qualification credential, the operator sees it verified and approves (the DID is
//! enrolled), the supplier registers its own trade-start and check-in CPTs, imports its
//! resources from CSV, defines a mode with its own CPTs and publishes it and an offer
//! (signed by its key), the operator approves the listing, an anonymous visitor finds the
//! offer with its attributes; the supplier delegates an agent key, a consumer orders on
//! the chain (as `suanli trade order` does), the agent accepts it and raises a work order,
//! the supplier fills it back in the browser, the agent checks in after a period, and the
//! supplier's revenue and settlement statement show the chain's amounts; the supplier asks
//! for its payout (its key moves the credits to custody), one finance user checks it, a
//! second approves it (custody burns them; the checker cannot approve), and the books
//! reconcile with no difference.
//! Needs `chromium` and `chromium-driver` (as `tests/browser.rs`); without them it FAILS.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use suanli_agent::platform::HttpPlatform;
use suanli_agent::policy::{Limits, Policy};
use suanli_agent::provision::ManualWorkOrders;
use suanli_agent::store::DoneStore;
use suanli_identity::{IdentityOp, SuanliDid};
use suanli_ledger::Payload;
use suanli_ledger::credit::CreditOp;
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::supply;
use suanli_platform_domain::clock::ManualClock;
use suanli_primitives::{ChainKind, Clock, PositiveFen, SecretKey};
use suanli_trade::cpts::CptPurpose;
use suanli_trade::{PartyDid, Role, Serial, TradeOp, op};
use suanli_webtest::harness::{Client, HARNESS_ADMIN_PASSWORD, Harness, config};
use suanli_webtest::onboarding::Certifier;
use suanli_webtest::shots::login;
use suanli_webtest::webdriver::{Driver, MISSING, Session, available};

const CODE: &str = "91510100MA6CGREEN8";
const LOGIN: &str = "gpupark";
const PASSWORD: &str = "Green-A100-Park-9";
const WAIT: Duration = Duration::from_secs(15);
const CSV: &str = "name,location,status,gpu_model,gpu_count,gpu_mem_gb,cpu_cores,ram_gb,storage_gb,tflops,region,available_from_min,available_until_min,green_share,carbon_g_per_kwh,pue,utilisation
hydro-a100-01,Ya'an hall 1,online,gpu-a100,8,80,128,1024,7680,2496,cn-west,0,5256000,0.92,35,1.15,0.4
";

/// Real time plus an offset the test moves forward (the chain's and the agent's clock).
#[derive(Debug, Default)]
struct Skip(AtomicI64);

impl Clock for Skip {
    fn now_ms(&self) -> u64 {
        suanli_primitives::SystemClock
            .now_ms()
            .saturating_add_signed(self.0.load(Ordering::SeqCst))
    }
}

fn real_ms() -> i64 {
    i64::try_from(suanli_primitives::SystemClock.now_ms()).unwrap()
}

fn session(d: &Driver) -> Session {
    d.session(1280, 900).expect("browser session")
}

/// The supplier registers in the portal with its credential; the operator approves it.
fn onboard(d: &Driver, base: &str, vc: &str) -> (Session, Session) {
    let sup = session(d);
    sup.goto(&format!("{base}/register?lang=en")).unwrap();
    sup.click("#f-kind option[value=supplier]").unwrap();
    sup.fill("#f-login", LOGIN).unwrap();
    sup.fill("#f-password", PASSWORD).unwrap();
    sup.fill("#f-password2", PASSWORD).unwrap();
    sup.click("#f-supplier_type option[value=supplier_resource]")
        .unwrap();
    sup.fill("#f-s_display_name", "Li Si").unwrap();
    sup.fill("#f-s_company_name", "GPU Park Ya'an").unwrap();
    sup.fill("#f-s_credit_code", CODE).unwrap();
    sup.fill("#f-s_licence_ref", "BL-2026-0815").unwrap();
    sup.fill("#f-s_legal_person", "Wang Wu").unwrap();
    sup.fill("#f-s_phone", "13800138001").unwrap();
    sup.fill("#f-qualification", vc).unwrap();
    sup.click("main form button[type=submit]").unwrap();
    let op = session(d);
    login(&op, base, "admin", HARNESS_ADMIN_PASSWORD).unwrap();
    op.goto(&format!("{base}/ops/registrations?lang=en"))
        .unwrap();
    op.click("tr[data-registration] a.button").unwrap();
    assert_eq!(
        op.text("#qualification-state").unwrap(),
        "Verified",
        "{}",
        op.text("#qualification-checks").unwrap_or_default()
    );
    op.click("button.approve").unwrap();
    login(&sup, base, LOGIN, PASSWORD).unwrap();
    sup.goto(&format!("{base}/supplier?lang=en")).unwrap();
    assert!(
        sup.text("#supplier-enrolment")
            .unwrap()
            .starts_with("Enrolled on the trade chain as supplier")
    );
    (sup, op)
}

/// The supplier's own CPTs, registered and adopted with its key (as `suanli trade cpt`
/// does with the exported key file).
fn own_cpts(ledger: &dyn LedgerClient, key: &SecretKey) -> (u32, u32) {
    let mut ids = Vec::new();
    for (n, purpose) in [(0, CptPurpose::TradeStart), (1, CptPurpose::Checkin)] {
        let mut schema = suanli_vc::cpt::builtin_templates()[n].1.clone();
        schema["title"] = json!("GPU Park template");
        ids.push(
            supply::register_supplier_cpt(ledger, key, purpose, &schema)
                .unwrap()
                .cpt,
        );
    }
    (ids[0], ids[1])
}

/// Resources, a mode with the supplier's CPTs, an offer, all on the supplier's pages;
/// returns the platform's offer id.
fn list_on_pages(s: &Session, base: &str, cpts: (u32, u32)) -> i64 {
    s.goto(&format!("{base}/supplier/resources?lang=en"))
        .unwrap();
    s.fill("#f-csv", CSV).unwrap();
    s.click("#import-form button[type=submit]").unwrap();
    assert_eq!(s.find_all("#resources tbody tr").unwrap().len(), 1);
    s.goto(&format!("{base}/supplier/modes?lang=en")).unwrap();
    s.fill("#f-name", "A100 by the minute").unwrap();
    s.fill("#f-price_fen_per_min", "180").unwrap();
    s.fill("#f-min_charge_fen", "0").unwrap();
    s.fill("#f-checkin_period_min", "60").unwrap();
    s.fill("#f-trade_start_cpt", &cpts.0.to_string()).unwrap();
    s.fill("#f-checkin_cpt", &cpts.1.to_string()).unwrap();
    s.click("#mode-form button[type=submit]").unwrap();
    s.goto(&format!("{base}/supplier/modes?lang=en")).unwrap();
    s.fill("form[data-publish-mode] input[name=password]", PASSWORD)
        .unwrap();
    s.click("form[data-publish-mode] button[type=submit]")
        .unwrap();
    s.goto(&format!("{base}/supplier/offers?lang=en")).unwrap();
    s.fill("#f-title", "Hydro-powered A100 80GB").unwrap();
    s.click("#offer-form input[name=resource]").unwrap();
    s.fill("#f-units", "1").unwrap();
    s.fill("#f-days", "30").unwrap();
    s.click("#offer-form button[type=submit]").unwrap();
    s.goto(&format!("{base}/supplier/offers?lang=en")).unwrap();
    let row = s.find_all("#offers tr[data-offer]").unwrap();
    assert_eq!(row.len(), 1);
    s.click("#offers tr[data-offer] a").unwrap();
    s.fill("#offer-action input[name=password]", PASSWORD)
        .unwrap();
    s.click("#offer-action button[type=submit]").unwrap();
    assert_eq!(
        s.find_all("span[data-status=in_review]").unwrap().len(),
        1,
        "the offer is in review"
    );
    let url = s.url().unwrap();
    url.rsplit('/')
        .next()
        .and_then(|t| t.split('?').next())
        .unwrap()
        .parse()
        .unwrap()
}

/// A consumer enrolled on the trade chain with credits, ordering `units` of the chain
/// offer for `minutes` (the order request `suanli trade order` signs).
fn consumer_orders(
    ledger: &dyn LedgerClient,
    clock: &dyn Clock,
    operator: &SecretKey,
    supplier: &PartyDid,
    offer: &Value,
) -> Serial {
    let key = SecretKey::from_label("story/consumer");
    suanli_ledger_client::identity::submit(ledger, &key, IdentityOp::CreateDid).unwrap();
    let network = ledger
        .chain_id(ChainKind::Identity)
        .unwrap()
        .network()
        .clone();
    let did =
        PartyDid::parse(&SuanliDid::for_initial_key(network, &key.public()).to_string()).unwrap();
    let enroll = TradeOp::Enroll {
        did,
        role: Role::Consumer,
        key: key.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: Some("urn:uuid:story-consumer-kyc".into()),
        kyc_credential_sha256: Some("00".repeat(32)),
    };
    suanli_ledger_client::trade::submit(ledger, operator, &enroll, "enroll").unwrap();
    let mint = Payload::Credit(CreditOp::Mint {
        to: key.public(),
        amount: PositiveFen::new(1_000_000).unwrap(),
    });
    ledger
        .transact(ChainKind::Trade, operator, mint, WAIT)
        .unwrap();
    let offer_id = offer["id"].as_u64().unwrap();
    let requirements = suanli_trade::model::Requirements {
        spec: offer["terms"]["spec"].as_str().unwrap().to_owned(),
        quantity: 1,
        duration_minutes: 180,
    };
    let serial = Serial::from_bytes([7; 16]);
    let now = clock.now_ms();
    let value = PositiveFen::new(180 * 180).unwrap();
    let digest = op::order_digest(&serial, now, supplier, offer_id, &requirements, value);
    let order = TradeOp::Order {
        serial,
        offer_id,
        time_ms: now,
        requirements,
        value_fen: value,
        signature: op::sign_digest(&key, &digest),
        wallet: None,
        channel: None,
    };
    suanli_ledger_client::trade::submit(ledger, &key, &order, "order").unwrap();
    serial
}

#[test]
fn a_supplier_lists_sells_through_its_agent_and_sees_the_chain_s_amounts() {
    let dir = tempfile::tempdir().unwrap();
    let pclock = Arc::new(ManualClock::new(real_ms().unsigned_abs()));
    let chain_clock = Arc::new(Skip::default());
    let h = Harness::start_with_ledger_on(config(dir.path()), pclock.clone(), chain_clock.clone())
        .unwrap();
    let base = h.base.clone();
    let ledger = h.ledger.as_ref().unwrap().client.clone();
    let certifier = Certifier::open(ledger.as_ref(), dir.path()).unwrap();
    let cpt = certifier.register_cpt(ledger.as_ref()).unwrap();
    let vc = certifier
        .issue(cpt, CODE, 0, chain_clock.now_ms())
        .unwrap()
        .to_string();
    assert!(available(), "{MISSING}");
    let d = Driver::start().expect(MISSING);
    let (sup, op) = onboard(&d, &base, &vc);
    let supplier_did = PartyDid::parse(&sup.text("#supplier-did").unwrap()).unwrap();

    // Its own CPTs, with its key (exported with its password, as a data centre would).
    let mut api = Client::new(&base);
    api.login(LOGIN, PASSWORD).unwrap();
    let pem = api
        .api_post(
            "/api/v1/me/key/export",
            &json!({"password": PASSWORD}),
            None,
        )
        .unwrap();
    assert_eq!(pem.status, 200, "{}", pem.body);
    let key = SecretKey::from_pem(pem.json()["pkcs8_pem"].as_str().unwrap()).unwrap();
    let cpts = own_cpts(ledger.as_ref(), &key);

    // Resources, a mode with its CPTs and an offer on its pages; the operator lists it.
    let offer = list_on_pages(&sup, &base, cpts);
    op.goto(&format!("{base}/ops/suppliers/listings?lang=en"))
        .unwrap();
    op.click(&format!("tr[data-listing='{offer}'] button.approve"))
        .unwrap();
    let visitor = session(&d);
    visitor.goto(&format!("{base}/?lang=en")).unwrap();
    let card = visitor
        .text(&format!("#supply-offers li[data-offer='{offer}']"))
        .unwrap();
    assert!(card.contains("A100"), "{card}");
    visitor
        .goto(&format!("{base}/offers/{offer}?lang=en"))
        .unwrap();
    let attrs = visitor.text("#offer-resources").unwrap();
    assert!(
        attrs.contains("cn-west") && attrs.contains("0.92"),
        "{attrs}"
    );

    // The supplier delegates an agent key and makes the agent's API token.
    let agent_key = SecretKey::from_label("story/agent");
    sup.goto(&format!("{base}/supplier/agent-keys?lang=en"))
        .unwrap();
    sup.fill("#f-public_key", &agent_key.public().to_hex())
        .unwrap();
    let proof = op::agent_proof(&agent_key, &supplier_did, "agent-1");
    sup.fill("#f-proof", &proof.to_hex()).unwrap();
    sup.fill("#f-password", PASSWORD).unwrap();
    sup.click("form[action='/supplier/agent-keys/delegate'] button[type=submit]")
        .unwrap();
    assert!(sup.source().unwrap().contains(&agent_key.public().to_hex()));
    let token = api
        .api_post(
            "/api/v1/me/tokens",
            &json!({"name": "agent", "scopes": ["supply:agent"], "ttl_secs": 2_592_000}),
            None,
        )
        .unwrap()
        .json();
    let token = token["token"].as_str().unwrap().to_owned();

    // A consumer orders on the chain; the agent accepts it and raises a work order.
    let chain_offers = supply::supplier_offers(ledger.as_ref(), &supplier_did, 0).unwrap();
    let chain_offer = serde_json::to_value(chain_offers.last().unwrap()).unwrap();
    let serial = consumer_orders(
        ledger.as_ref(),
        chain_clock.as_ref(),
        &dir_operator(dir.path()),
        &supplier_did,
        &chain_offer,
    );
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
            offers: vec![chain_offer["id"].as_u64().unwrap()],
        }),
        store: DoneStore::open(&dir.path().join("agent")).unwrap(),
        clock: chain_clock.clone(),
        channels: suanli_agent::channels::SupplierChannels::own_runtime(&dir.path().join("agent"))
            .unwrap(),
    };
    let r = agent.tick().unwrap();
    assert_eq!(r.accepted, 1, "{r:?}");

    // The supplier fills the work order back; a period later the agent checks in.
    sup.goto(&format!("{base}/supplier/work-orders?lang=en"))
        .unwrap();
    sup.fill("#f-address", "10.8.0.21:22").unwrap();
    sup.fill("#f-credentials_ref", "vault:gpupark/trade-7")
        .unwrap();
    sup.fill("#f-pool_id", "yaan-a100-pool").unwrap();
    sup.click("form[action$='/fill'] button[type=submit]")
        .unwrap();
    agent.tick().unwrap();
    chain_clock.0.fetch_add(61 * 60_000, Ordering::SeqCst);
    agent.tick().unwrap();
    let records = supply::trade_records(ledger.as_ref(), &serial, 0)
        .unwrap()
        .unwrap();
    let paid = records.trade.paid_fen.get();
    assert_eq!(paid, 60 * 180, "one hour at ¥1.80 a minute");

    // Revenue from the chain; the operator's agreement, accepted; November's statement.
    sup.goto(&format!("{base}/supplier/revenue?lang=en"))
        .unwrap();
    assert!(sup.source().unwrap().contains("¥108.00"));
    supplier_books(&d, &base, &op, &sup, pclock.as_ref(), paid);
}

/// The operator records an agreement (10 % commission), the supplier accepts it, finance
/// runs the statement of the check-in's month: gross = the chain's amount.
fn supplier_books(
    _d: &Driver,
    base: &str,
    op: &Session,
    sup: &Session,
    pclock: &ManualClock,
    paid: i64,
) {
    let mut admin = Client::new(base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD).unwrap();
    let mut me = Client::new(base);
    me.login(LOGIN, PASSWORD).unwrap();
    let overview = me.get("/api/v1/supplier").unwrap().json();
    let org = overview["org"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{overview}"));
    let a = admin
        .api_post(
            &format!("/api/v1/ops/suppliers/{org}/agreements"),
            &json!({"body": "GPU Park supply agreement", "sales_mode": "discount",
                    "commission_bp": 1000, "period": "monthly"}),
            None,
        )
        .unwrap();
    assert!(a.status < 300, "{}", a.body);
    sup.goto(&format!("{base}/supplier/agreement?lang=en"))
        .unwrap();
    sup.click("main form button[type=submit]").unwrap();
    let month = suanli_platform_domain::money::civil_from_days(
        (pclock.now_unix_ms() + suanli_platform_domain::money::CST_OFFSET_MS)
            / suanli_platform_domain::money::DAY_MS,
    );
    pclock.advance_ms(32 * suanli_platform_domain::money::DAY_MS);
    let period = format!("{}-{:02}", month.0, month.1);
    // A month later the sessions have expired: log in again.
    admin.login("admin", HARNESS_ADMIN_PASSWORD).unwrap();
    login(op, base, "admin", HARNESS_ADMIN_PASSWORD).unwrap();
    login(sup, base, LOGIN, PASSWORD).unwrap();
    let st = admin
        .api_post(
            &format!("/api/v1/ops/suppliers/{org}/statements"),
            &json!({"period": period}),
            None,
        )
        .unwrap();
    assert!(st.status < 300, "{}", st.body);
    let st = st.json();
    assert_eq!(st["statement"]["gross"], json!(paid), "{st}");
    assert_eq!(st["statement"]["commission"], json!(paid / 10), "{st}");
    assert_eq!(st["statement"]["net"], json!(paid - paid / 10), "{st}");
    op.goto(&format!("{base}/ops/suppliers/{org}/money?lang=en"))
        .unwrap();
    sup.goto(&format!("{base}/supplier/revenue?lang=en"))
        .unwrap();
    assert!(
        sup.source().unwrap().contains("¥97.20"),
        "net = 108 − 10.80"
    );
    payout_four_eyes(base, &admin, sup, org, paid - paid / 10);
}

/// The supplier asks for its net payable (its key moves the credits to custody); one
/// finance user checks it, a second approves it (custody burns them); the books agree.
fn payout_four_eyes(base: &str, admin: &Client, sup: &Session, org: i64, net: i64) {
    sup.fill("#f-amount", &format!("{}.{:02}", net / 100, net % 100))
        .unwrap();
    sup.fill(
        "form[action='/supplier/revenue'] input[name=password]",
        PASSWORD,
    )
    .unwrap();
    sup.click("form[action='/supplier/revenue'] button[type=submit]")
        .unwrap();
    assert_eq!(sup.find_all("#payouts tbody tr").unwrap().len(), 1);
    let mut finance = Vec::new();
    for login in ["fin-li", "fin-zhou"] {
        let made = admin
            .api_post(
                "/api/v1/orgs/1/users",
                &json!({"login": login, "display_name": login, "password": "Finance-Pw-2026x",
                        "roles": ["finance"]}),
                None,
            )
            .unwrap();
        assert!(made.status < 300, "{}", made.body);
        let mut c = Client::new(base);
        c.login(login, "Finance-Pw-2026x").unwrap();
        finance.push(c);
    }
    let list = finance[0]
        .get("/api/v1/ops/supplier-payouts")
        .unwrap()
        .json();
    let id = list["payouts"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{list}"));
    let check = format!("/api/v1/ops/supplier-payouts/{id}/check");
    let approve = format!("/api/v1/ops/supplier-payouts/{id}/approve");
    let checked = finance[0].api_post(&check, &json!({}), None).unwrap();
    assert!(checked.status < 300, "{}", checked.body);
    // Four eyes: the user who checked it cannot approve it.
    let own = finance[0].api_post(&approve, &json!({}), None).unwrap();
    assert_eq!(own.status, 403, "{}", own.body);
    let ok = finance[1].api_post(&approve, &json!({}), None).unwrap();
    assert!(ok.status < 300, "{}", ok.body);
    let rec = finance[0]
        .get(&format!("/api/v1/ops/suppliers/{org}/reconciliation"))
        .unwrap()
        .json();
    assert_eq!(rec["reconciliation"]["differences"], json!([]), "{rec}");
    assert_eq!(rec["reconciliation"]["burned_fen"], json!(net), "{rec}");
    assert_eq!(
        rec["reconciliation"]["chain_checkins_fen"],
        json!(net * 10 / 9),
        "{rec}"
    );
}

/// The genesis operator's key of the harness's embedded node.
fn dir_operator(dir: &std::path::Path) -> SecretKey {
    SecretKey::load(&dir.join("node").join("operator.key")).unwrap()
}
