#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The platform-hosted supplier agent (issue 16, `docs/supply.md` §3.5) over the API, on a
//! platform with an embedded ledger and its hosted-agent worker, as `suanli serve` runs
//! them: a supplier registers and is enrolled, publishes a mode and an offer with its key,
//! and lets the platform host its agent. Only the supplier's own administrator, with a
//! session and its password, can start and stop it (a customer is forbidden, an API token
//! needs a session, another supplier sees nothing — `404`); bad fragments, policies and
//! passwords answer their codes with their fields. A consumer orders on the chain; the
//! hosted agent accepts the order and raises the trade's work order with no process of
//! the supplier's running. Stopping revokes the key on the chain and wipes the sealed key.
//! The agent's key, its sealed form and the password never appear in any answer or in
//! the logs (captured at TRACE).

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use suanli_identity::{IdentityOp, SuanliDid};
use suanli_ledger::Payload;
use suanli_ledger::credit::CreditOp;
use suanli_ledger_client::{LedgerClient, supply};
use suanli_platform_domain::OrgId;
use suanli_platform_domain::clock::ManualClock;
use suanli_platform_http::hosted_agents::{HOSTED_KEY_FILE, Keyring, SealedFor};
use suanli_platform_http::store::{HostedAgentStore, SqliteStore};
use suanli_primitives::{ChainKind, Clock, Fen, PositiveFen, SecretKey, SystemClock};
use suanli_trade::model::{MINUTE_MS, ModeTerms, OfferTerms, Requirements, Resource, Weights};
use suanli_trade::records::Status;
use suanli_trade::{PartyDid, Role, Serial, TradeOp, op};
use suanli_webtest::harness::{Answer, Client, HARNESS_ADMIN_PASSWORD, Harness, config};
use suanli_webtest::onboarding::Certifier;

const CODE: &str = "91350100M000100Y43";
const PASSWORD: &str = "Gpu-Park-Password-9";
const WAIT: Duration = Duration::from_secs(15);
/// How long the test waits for the hosted agent's round (it runs every second).
const AGENT_WAIT: Duration = Duration::from_secs(90);

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every answer the test saw, to look for secrets in at the end.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn keep(&mut self, a: Answer) -> Answer {
        self.0.push(a.body.clone());
        a
    }
}

/// The supplier registers with its credential; the operator approves it (enrolled).
fn onboard(h: &Harness, admin: &Client, ledger: &dyn LedgerClient, dir: &Path) -> Client {
    let certifier = Certifier::open(ledger, dir).unwrap();
    let cpt = certifier.register_cpt(ledger).unwrap();
    let vc = certifier
        .issue(cpt, CODE, 0, SystemClock.now_ms())
        .unwrap()
        .to_string();
    let anon = Client::new(&h.base);
    let form = [
        ("kind", "supplier"),
        ("login", "gpupark"),
        ("password", PASSWORD),
        ("password2", PASSWORD),
        ("supplier_type", "supplier_resource"),
        ("s_display_name", "Li Si"),
        ("s_company_name", "GPU Park"),
        ("s_credit_code", CODE),
        ("s_licence_ref", "LIC-1"),
        ("s_legal_person", "Zhang San"),
        ("s_phone", "13800138000"),
        ("qualification", &vc),
    ];
    let a = anon.form("/register", &form).unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let pending = admin.get("/api/v1/registrations?status=pending").unwrap();
    let id = pending.json()["items"][0]["id"].as_i64().unwrap();
    let ok = admin
        .form(&format!("/ops/registrations/{id}/approve"), &[])
        .unwrap();
    assert_eq!(ok.status, 303, "{}", ok.body);
    let mut sup = Client::new(&h.base);
    sup.login("gpupark", PASSWORD).unwrap();
    sup
}

/// A mode and an offer published with the supplier's key (as `suanli trade` would with
/// the exported key); the chain's offer id.
fn publish(ledger: &dyn LedgerClient, key: &SecretKey) -> u64 {
    let weights = Weights::new([(Resource::Cpu, 500), (Resource::Gpu, 500)].into()).unwrap();
    let terms = ModeTerms {
        trade_start_cpt: 1,
        checkin_cpt: 2,
        price_fen_per_minute: Fen::new(10).unwrap(),
        min_cost_fen: Fen::new(0).unwrap(),
        checkin_period_minutes: 30,
        weights,
        encryption: suanli_trade::model::Encryption::Plaintext,
        trade_type: "payg-minute".into(),
    };
    let mode = supply::publish_mode(ledger, key, terms).unwrap().id;
    let now = SystemClock.now_ms();
    let offer = OfferTerms {
        mode_id: mode,
        spec: "gpu-a100".into(),
        quantity: 16,
        valid_from_ms: now - MINUTE_MS,
        valid_until_ms: now + 24 * 60 * MINUTE_MS,
    };
    supply::publish_offer(ledger, key, offer).unwrap().id
}

/// A consumer enrolled with credits orders 2 units for 60 minutes of `offer_id`.
fn consumer_orders(
    ledger: &dyn LedgerClient,
    operator: &SecretKey,
    supplier: &PartyDid,
    offer_id: u64,
) -> Serial {
    let key = SecretKey::from_label("hosted/consumer");
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
        kyc_credential_id: Some("urn:uuid:hosted-consumer-kyc".into()),
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
    let requirements = Requirements {
        spec: "gpu-a100".into(),
        quantity: 2,
        duration_minutes: 60,
    };
    let serial = Serial::from_bytes([9; 16]);
    let now = SystemClock.now_ms();
    let value = PositiveFen::new(2 * 60 * 10).unwrap();
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

fn trade_status(ledger: &dyn LedgerClient, serial: &Serial) -> Option<Status> {
    let bytes = ledger
        .state_get(ChainKind::Trade, &suanli_trade::records::trade_key(serial))
        .unwrap()?;
    let t: suanli_trade::records::Trade = serde_json::from_slice(&bytes).unwrap();
    Some(t.status)
}

fn code(a: &Answer) -> (u16, String, String) {
    let v = a.json();
    (
        a.status,
        v["error"]["code"].as_str().unwrap_or_default().to_owned(),
        v["error"]["field"].as_str().unwrap_or_default().to_owned(),
    )
}

fn start_body(fragment: &str, policy: Value, password: &str) -> Value {
    let mut b = json!({"fragment": fragment, "password": password});
    if let (Some(b), Value::Object(p)) = (b.as_object_mut(), policy) {
        b.extend(p);
    }
    b
}

/// Bad input answers its code with its field, and nothing is hosted.
fn bad_input(sup: &Client, seen: &mut Seen) {
    let auto = json!({"mode": "auto", "max_units": 4, "max_minutes": 600, "max_value_fen": 100000});
    let cases = [
        (
            start_body("key-1", auto.clone(), PASSWORD),
            (422, "invalid_fragment", "fragment"),
        ),
        (
            start_body("Agent_1", auto.clone(), PASSWORD),
            (422, "invalid_fragment", "fragment"),
        ),
        (
            start_body("hosted-1", json!({"mode": "sometimes"}), PASSWORD),
            (422, "invalid_policy", "mode"),
        ),
        (
            start_body(
                "hosted-1",
                json!({"mode": "auto", "max_units": 1, "max_minutes": 1}),
                PASSWORD,
            ),
            (422, "invalid_policy", "max_value_fen"),
        ),
        (
            start_body(
                "hosted-1",
                json!({"mode": "auto", "max_units": 0, "max_minutes": 1, "max_value_fen": 1}),
                PASSWORD,
            ),
            (422, "invalid_policy", "policy"),
        ),
        (
            start_body(
                "hosted-1",
                json!({"mode": "manual", "max_units": 3}),
                PASSWORD,
            ),
            (422, "invalid_policy", "policy"),
        ),
        (
            start_body(
                "hosted-1",
                json!({"mode": "auto", "max_units": 1, "max_minutes": 1, "max_value_fen": 1, "offers": [0]}),
                PASSWORD,
            ),
            (422, "invalid_policy", "offers"),
        ),
        (
            start_body("hosted-1", auto, "Wrong-Password-1"),
            (422, "invalid_credentials", "password"),
        ),
    ];
    for (body, (status, want, field)) in cases {
        let a = seen.keep(
            sup.api_post("/api/v1/supplier/hosted-agent", &body, None)
                .unwrap(),
        );
        let (s, c, f) = code(&a);
        assert_eq!(
            (s, c.as_str(), f.as_str()),
            (status, want, field),
            "{body}: {}",
            a.body
        );
    }
    let none = seen.keep(sup.get("/api/v1/supplier/hosted-agent").unwrap());
    assert_eq!(code(&none).0, 404, "{}", none.body);
}

/// The page's start form: its own checks and the service's, each next to its field.
fn page_refusals(sup: &Client, seen: &mut Seen) {
    let form = |offers: &'static str, mode: &'static str, units: &'static str| {
        vec![
            ("fragment", "hosted-1"),
            ("mode", mode),
            ("max_units", units),
            ("max_minutes", "600"),
            ("max_value", "1000.00"),
            ("offers", offers),
            ("password", PASSWORD),
        ]
    };
    // Each refused rule says which one it is (not only "the policy is not valid").
    for (fields, field, says) in [
        (form("1, x", "auto", "4"), "offers", "Offer ids"),
        (
            form("", "auto", "four"),
            "max_units",
            "positive whole number",
        ),
        (
            form("", "auto", "0"),
            "general",
            "must all be greater than zero",
        ),
        (
            form("", "manual", "4"),
            "general",
            "A manual policy takes no limits",
        ),
        (form("0", "auto", "4"), "offers", "Offer ids start at 1"),
        (
            form("", "auto", ""),
            "max_units",
            "Required with automatic acceptance",
        ),
    ] {
        let a = seen.keep(
            sup.form("/supplier/agent-keys/hosted/start?lang=en", &fields)
                .unwrap(),
        );
        assert_eq!(a.status, 422, "{fields:?}: {}", a.body);
        let marker = if field == "general" {
            "class=\"general\"".to_owned()
        } else {
            format!("id=\"f-{field}-err\"")
        };
        assert!(a.body.contains(&marker), "{fields:?}: {}", a.body);
        assert!(a.body.contains(says), "{fields:?}: {says}: {}", a.body);
    }
    let en = seen.keep(sup.get("/supplier/agent-keys?lang=en").unwrap());
    assert!(
        en.body.contains("Let the platform host your agent"),
        "{}",
        en.body
    );
    let zh = seen.keep(sup.get("/supplier/agent-keys?lang=zh").unwrap());
    assert!(zh.body.contains("由平台托管代理"), "{}", zh.body);
}

/// A hosted agent whose sealed key does not open under the platform's hosted-agent key
/// (here sealed under another key file) is answered not runnable, with why, on the API and
/// the page; nothing runs it. No hosted agent was started on this platform yet, so its
/// key file does not exist — and reading the agent does not create it.
fn unrunnable(h: &Harness, dir: &Path, seen: &mut Seen) -> Client {
    let mut c = Client::new(&h.base);
    c.login("apico", "Outsider-Pass-77").unwrap();
    let me = c.get("/api/v1/me").unwrap().json();
    let org = OrgId::new(me["org"]["id"].as_i64().unwrap()).unwrap();
    let user = suanli_platform_domain::UserId::new(me["user"]["id"].as_i64().unwrap()).unwrap();
    let key = SecretKey::from_label("hosted/elsewhere");
    let public = key.public().to_hex();
    let did = "did:suanli:test:apico";
    let other = tempfile::tempdir().unwrap();
    let to = SealedFor {
        org: org.get(),
        supplier_did: did,
        public_key: &public,
    };
    let sealed = Keyring::new(other.path().join(HOSTED_KEY_FILE))
        .seal(&key, to)
        .unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let s = SqliteStore::open(&dir.join("ops.db")).await.unwrap();
        let new = suanli_platform_http::store::NewHostedAgent {
            supplier_org: org,
            supplier_did: did.into(),
            public_key: public.clone(),
            fragment: "hosted-9".into(),
            sealed_key: sealed,
            policy: suanli_platform_http::store::HostedPolicy {
                mode: "manual".into(),
                ..Default::default()
            },
            created_by: user,
            created_ms: 1,
        };
        s.create_hosted_agent(&new).await.unwrap();
    });
    let api = seen.keep(c.get("/api/v1/supplier/hosted-agent").unwrap());
    let got = api.json()["hosted_agent"].clone();
    assert_eq!(
        (&got["runnable"], &got["problem"]),
        (&json!(false), &json!("hosted_key_missing")),
        "{got}"
    );
    let page = seen.keep(c.get("/supplier/agent-keys?lang=en").unwrap());
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "data-problem=\"hosted_key_missing\"",
        "data-runnable=\"false\"",
        "cannot find its hosted-agent key file",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    assert!(!dir.join(HOSTED_KEY_FILE).exists());
    c
}

/// A customer is forbidden; another supplier sees no hosted agent and stops none; an API
/// token (even with `supply:manage`) needs a session.
fn outsiders(h: &Harness, admin: &Client, sup: &Client, seen: &mut Seen) {
    for (kind, login) in [("enterprise", "acme"), ("supplier_api", "apico")] {
        let made = admin
            .api_post(
                "/api/v1/orgs",
                &json!({"kind": kind, "name": login,
                    "admin": {"login": login, "display_name": "X", "password": "Outsider-Pass-77"}}),
                None,
            )
            .unwrap();
        assert_eq!(made.status, 201, "{}", made.body);
        let mut c = Client::new(&h.base);
        c.login(login, "Outsider-Pass-77").unwrap();
        let want = if kind == "enterprise" { 403 } else { 404 };
        let read = seen.keep(c.get("/api/v1/supplier/hosted-agent").unwrap());
        assert_eq!(read.status, want, "{kind}: {}", read.body);
        let stop = seen.keep(
            c.api_post(
                "/api/v1/supplier/hosted-agent/stop",
                &json!({"password": "Outsider-Pass-77"}),
                None,
            )
            .unwrap(),
        );
        assert_eq!(stop.status, want, "{kind}: {}", stop.body);
        let body = start_body("hosted-1", json!({"mode": "manual"}), "Outsider-Pass-77");
        let start = seen.keep(
            c.api_post("/api/v1/supplier/hosted-agent", &body, None)
                .unwrap(),
        );
        assert_ne!(start.status, 201, "{kind}: {}", start.body);
        if kind == "enterprise" {
            assert_eq!(code(&start).1, "forbidden", "{}", start.body);
        }
    }
    let token = sup
        .api_post(
            "/api/v1/me/tokens",
            &json!({"name": "t", "scopes": ["supply:manage", "supply:read"], "ttl_secs": 600}),
            None,
        )
        .unwrap()
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(format!("{}/api/v1/supplier/hosted-agent", h.base))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(start_body("hosted-1", json!({"mode": "manual"}), PASSWORD))
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status().as_u16(), 403, "{text}");
    assert!(text.contains("session_required"), "{text}");
    seen.0.push(text);
}

/// Waits until `f` answers something, the hosted agent's worker running meanwhile.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < AGENT_WAIT, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_hosted_agent_accepts_a_chain_order_and_raises_its_work_order() {
    let buf = Buf::default();
    let writer = buf.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,ureq=off,ureq_proto=off",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let h = Harness::start_with_ledger(config(dir.path()), clock).unwrap();
    let ledger = h.ledger.as_ref().unwrap().client.clone();
    let mut admin = Client::new(&h.base);
    admin.login("admin", HARNESS_ADMIN_PASSWORD).unwrap();
    let sup = onboard(&h, &admin, ledger.as_ref(), dir.path());
    let mut seen = Seen::default();
    let me = sup.get("/api/v1/me/key").unwrap().json();
    let supplier_did = PartyDid::parse(me["key"]["did"].as_str().unwrap()).unwrap();
    let pem = sup
        .api_post(
            "/api/v1/me/key/export",
            &json!({"password": PASSWORD}),
            None,
        )
        .unwrap();
    let supplier_key = SecretKey::from_pem(pem.json()["pkcs8_pem"].as_str().unwrap()).unwrap();
    let offer_id = publish(ledger.as_ref(), &supplier_key);

    bad_input(&sup, &mut seen);
    page_refusals(&sup, &mut seen);
    outsiders(&h, &admin, &sup, &mut seen);
    let apico = unrunnable(&h, dir.path(), &mut seen);

    // The supplier lets the platform host its agent; a second one is refused.
    let policy = json!({"mode": "auto", "max_units": 4, "max_minutes": 600,
        "max_value_fen": 100000, "offers": [offer_id]});
    let body = start_body("hosted-1", policy, PASSWORD);
    let started = seen.keep(
        sup.api_post("/api/v1/supplier/hosted-agent", &body, None)
            .unwrap(),
    );
    assert_eq!(started.status, 201, "{}", started.body);
    let hosted = started.json()["hosted_agent"].clone();
    assert_eq!(hosted["status"], "active", "{hosted}");
    assert_eq!(
        (&hosted["runnable"], &hosted["problem"]),
        (&json!(true), &Value::Null),
        "{hosted}"
    );
    // That start created the key file; the agent sealed under another one still does not
    // open under it.
    let other = apico.get("/api/v1/supplier/hosted-agent").unwrap().json();
    assert_eq!(
        other["hosted_agent"]["problem"], "hosted_key_unopenable",
        "{other}"
    );
    assert_eq!(hosted["policy"]["offers"], json!([offer_id]), "{hosted}");
    let public = hosted["public_key"].as_str().unwrap().to_owned();
    let again = seen.keep(
        sup.api_post("/api/v1/supplier/hosted-agent", &body, None)
            .unwrap(),
    );
    assert_eq!(code(&again).1, "hosted_agent_exists", "{}", again.body);
    let keys = seen
        .keep(sup.get("/api/v1/supplier/agent-keys").unwrap())
        .json();
    let listed = keys["items"].as_array().unwrap();
    assert!(
        listed.iter().any(|k| k["key"] == public.as_str()
            && k["fragment"] == "hosted-1"
            && k["revoked_at_ms"].is_null()),
        "{keys}"
    );
    let page = seen.keep(sup.get("/supplier/agent-keys?lang=en").unwrap());
    assert!(
        page.body.contains("data-status=\"active\""),
        "{}",
        page.body
    );

    // A consumer orders on the chain: the hosted agent accepts it and raises the work order.
    let operator = SecretKey::load(&dir.path().join("node").join("operator.key")).unwrap();
    let serial = consumer_orders(ledger.as_ref(), &operator, &supplier_did, offer_id);
    let work_order = wait_for("the hosted agent's work order", || {
        let list = sup.get("/api/v1/supplier/work-orders").unwrap().json();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["serial"] == serial.to_string().as_str())
            .cloned()
    });
    assert_eq!(work_order["status"], "open", "{work_order}");
    assert_eq!(work_order["units"], 2, "{work_order}");
    assert_eq!(trade_status(ledger.as_ref(), &serial), Some(Status::Active));
    seen.0.push(work_order.to_string());
    // The worker's change is audited as the supplier's administrator, as an API call is.
    let org = work_order["supplier_org"].as_i64().unwrap();
    let audit = admin
        .get(&format!("/api/v1/audit?actor_org={org}&limit=200"))
        .unwrap()
        .json();
    let target = format!("/api/v1/supplier/work-orders/{}", work_order["id"]);
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"] == target.as_str()
                && e["user_agent"] == "suanli hosted agent"
                && e["action"] == "POST /api/v1/supplier/work-orders"),
        "{audit}"
    );

    // The key is sealed in the database, never answered: open it as the server would.
    let store = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let s = SqliteStore::open(&dir.path().join("ops.db")).await.unwrap();
        let org = OrgId::new(work_order["supplier_org"].as_i64().unwrap()).unwrap();
        s.latest_hosted_agent(org).await.unwrap().unwrap()
    });
    let sealed = store.sealed_key.clone().unwrap();
    let ring = Keyring::new(dir.path().join(HOSTED_KEY_FILE));
    let sealed_for = SealedFor {
        org: store.supplier_org.get(),
        supplier_did: &store.supplier_did,
        public_key: &public,
    };
    let agent_key = ring.open(&sealed, sealed_for).unwrap();
    let seed = hex::encode(agent_key.seed());

    // Stopping: a wrong password changes nothing (the page marks the field; the API
    // answers the code); the password revokes the key and wipes it.
    let wrong = seen.keep(
        sup.form(
            "/supplier/agent-keys/hosted/stop?lang=en",
            &[("password", "Nope-Nope-77")],
        )
        .unwrap(),
    );
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(
        wrong.body.contains("id=\"f-password-err\""),
        "{}",
        wrong.body
    );
    let wrong = seen.keep(
        sup.api_post(
            "/api/v1/supplier/hosted-agent/stop",
            &json!({"password": "Nope-Nope-77"}),
            None,
        )
        .unwrap(),
    );
    assert_eq!(code(&wrong).1, "invalid_credentials", "{}", wrong.body);
    let stopped = seen.keep(
        sup.api_post(
            "/api/v1/supplier/hosted-agent/stop",
            &json!({"password": PASSWORD}),
            None,
        )
        .unwrap(),
    );
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    assert_eq!(stopped.json()["hosted_agent"]["status"], "stopped");
    let keys = seen
        .keep(sup.get("/api/v1/supplier/agent-keys").unwrap())
        .json();
    let k = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == public.as_str())
        .cloned()
        .unwrap();
    assert!(k["revoked_at_ms"].is_u64(), "{k}");
    let twice = seen.keep(
        sup.api_post(
            "/api/v1/supplier/hosted-agent/stop",
            &json!({"password": PASSWORD}),
            None,
        )
        .unwrap(),
    );
    assert_eq!(twice.status, 404, "{}", twice.body);
    let wiped = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let s = SqliteStore::open(&dir.path().join("ops.db")).await.unwrap();
        s.latest_hosted_agent(store.supplier_org)
            .await
            .unwrap()
            .unwrap()
    });
    assert_eq!(wiped.sealed_key, None);

    drop(h);
    let logs = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    assert!(logs.contains("hosted agent started"), "the worker ran");
    let pem = agent_key.to_pem().unwrap();
    let pem_body = pem.lines().nth(1).unwrap().to_owned();
    for secret in [seed.as_str(), sealed.as_str(), pem_body.as_str(), PASSWORD] {
        assert!(!logs.contains(secret), "a secret reached the logs");
        for body in &seen.0 {
            assert!(!body.contains(secret), "a secret reached an answer: {body}");
        }
    }
}
