//! The pre-signed order path (`POST /api/v1/trades/presigned`, `docs/exchange.md` §2):
//! a member without a DID is refused with `no_did` before anything is decoded or stored;
//! the wallet's answer and page when the chain cannot be reached; the same pre-signed
//! bytes under a new `Idempotency-Key` answer the stored trade, another transaction with
//! that serial answers `trade_exists`, and nothing is escrowed twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use suanli_platform_http::PortError;
use suanli_platform_http::trade_book::ChainTrade;
use suanli_platform_http::trade_ledger::{
    OrderDraft, OrderFacts, RatingDraft, SignedOrder, Submitted, TradeLedger, WalletView,
};
use suanli_primitives::SecretKey;

/// A chain whose answers the test sets.
#[derive(Debug, Default)]
struct Scripted {
    submit: Mutex<Option<Submitted>>,
    submits: Mutex<u32>,
    trades: Mutex<BTreeMap<String, ChainTrade>>,
    facts: Mutex<Option<OrderFacts>>,
}

fn unused() -> PortError {
    PortError::Refused {
        code: "unused",
        message: "not used by this test".into(),
    }
}

impl TradeLedger for Scripted {
    fn channel_key(&self) -> (String, String) {
        ("ab".repeat(32), "tcp://127.0.0.1:7420".into())
    }
    fn sign_order(&self, _: &SecretKey, _: &OrderDraft) -> Result<SignedOrder, PortError> {
        Err(unused())
    }
    fn check_order(&self, _: &str) -> Result<OrderFacts, PortError> {
        self.facts.lock().unwrap().clone().ok_or_else(unused)
    }
    fn submit(&self, _: &str) -> Result<Submitted, PortError> {
        *self.submits.lock().unwrap() += 1;
        self.submit
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| PortError::ledger(std::io::Error::other("unreachable")))
    }
    fn trade_status(&self, serial: &str) -> Result<Option<ChainTrade>, PortError> {
        Ok(self.trades.lock().unwrap().get(serial).cloned())
    }
    fn stop(&self, _: &SecretKey, _: &str) -> Result<String, PortError> {
        Err(unused())
    }
    fn rate(&self, _: &SecretKey, _: &RatingDraft) -> Result<String, PortError> {
        Err(unused())
    }
    fn consumer_orders(
        &self,
        _: &str,
        from: u64,
        _: u32,
    ) -> Result<(u64, Vec<suanli_platform_http::trade_ledger::ChainOrder>), PortError> {
        Ok((from, Vec::new()))
    }
    fn wallet_view(&self, _: &str) -> Result<Option<WalletView>, PortError> {
        // This chain cannot be reached for wallets.
        Err(PortError::ledger(std::io::Error::other("unreachable")))
    }
    fn set_member(&self, _: &str, _: &str, _: i64) -> Result<String, PortError> {
        Err(unused())
    }
    fn set_suspended(&self, _: &str, _: bool) -> Result<String, PortError> {
        Err(unused())
    }
}

fn presigned(srv: &TestServer, cred: &Cred, key: &str, body: Value) -> (u16, Value) {
    post_keyed(srv, "/api/v1/trades/presigned", cred, key, body)
}

fn post_keyed(srv: &TestServer, path: &str, cred: &Cred, key: &str, body: Value) -> (u16, Value) {
    let mut b = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{}{path}", srv.base))
        .header("content-type", "application/json")
        .header("idempotency-key", key);
    if let Cred::Session { cookie, csrf } = cred {
        b = b
            .header("cookie", format!("suanli_session={cookie}"))
            .header("x-csrf-token", csrf);
    }
    let agent = ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .build(),
    );
    let mut res = agent
        .run(b.body(serde_json::to_vec(&body).unwrap()).unwrap())
        .unwrap();
    let s = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn a_presigned_order_needs_the_callers_did() {
    let chain: Arc<dyn TradeLedger> = Arc::new(Scripted::default());
    let srv = TestServer::start_platform(|_| {}, Box::new(move |p| p.with_trade_ledger(chain)));
    let op = srv.admin();
    let (_, _, buyer) = srv.org(&op, "enterprise", "Buyer Co", "buyer-admin");
    // Its own password creates its key; no identity chain is attached, so no DID.
    let new_pw = "Buyer-Own-Passphrase-7";
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &buyer,
        json!({"current_password": pw("buyer-admin"), "new_password": new_pw}),
    );
    assert_eq!(s, 204, "{v}");
    let buyer = srv.login("buyer-admin", new_pw);
    let (s, v) = srv.get("/api/v1/me/key", &buyer);
    assert_eq!(s, 200, "{v}");
    assert!(v["key"]["did"].is_null(), "{v}");
    let (s, v) = presigned(&srv, &buyer, "k-1", json!({"tx": "00ff"}));
    assert_eq!(v["error"]["code"], "no_did", "{s} {v}");
    // The prefix of imported trades' keys is reserved: a client cannot take an
    // import's key (`chain:{serial}`).
    let (s, v) = presigned(
        &srv,
        &buyer,
        &format!("chain:{}", "ab".repeat(16)),
        json!({"tx": "00ff"}),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_idempotency_key")),
        "{v}"
    );

    // An order with neither a term nor a budget (or both) answers `invalid_term` on the
    // term's field before anything is looked up.
    for body in [
        json!({"offer_id": 1, "units": 1, "password": new_pw}),
        json!({"offer_id": 1, "units": 1, "term_minutes": 60, "budget_fen": 500, "password": new_pw}),
    ] {
        let (s, v) = post_keyed(&srv, "/api/v1/trades", &buyer, "k-2", body);
        assert_eq!(
            (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
            (422, Some("invalid_term"), Some("term_minutes")),
            "{v}"
        );
    }
}

#[test]
fn an_unreachable_chain_marks_the_wallet_unavailable() {
    let chain: Arc<dyn TradeLedger> = Arc::new(Scripted::default());
    let srv = TestServer::start_platform(|_| {}, Box::new(move |p| p.with_trade_ledger(chain)));
    let op = srv.admin();
    let (_, _, buyer) = srv.org(&op, "enterprise", "Buyer Co", "buyer-admin");
    let (s, v) = srv.get("/api/v1/trades/wallet", &buyer);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["chain_available"], false);
    assert!(v["chain_balance_fen"].is_null());
    assert_eq!(v["cash_fen"], 0);
}

/// A DID registry that creates every DID at once.
#[derive(Debug, Default)]
struct Dids;

impl suanli_platform_http::keys::DidRegistry for Dids {
    fn did_of(&self, key: &suanli_primitives::PublicKey) -> String {
        format!("did:suanli:test:{}", &key.to_hex()[..32])
    }
    fn sign_create(
        &self,
        key: &SecretKey,
    ) -> Result<suanli_platform_http::payment::SignedTx, PortError> {
        Ok(suanli_platform_http::payment::SignedTx {
            reference: key.public().to_hex(),
            encoded_hex: "00".into(),
        })
    }
    fn send(&self, _: &suanli_platform_http::payment::SignedTx) -> Result<(), PortError> {
        Ok(())
    }
}

#[test]
fn the_same_presigned_bytes_under_a_new_key_never_escrow_twice() {
    use suanli_platform_http::domain::money::Fen;
    use suanli_platform_http::domain::{OrgId, UserId};
    use suanli_platform_http::store::MoneyStore as _;
    let chain = Arc::new(Scripted::default());
    *chain.submit.lock().unwrap() = Some(Submitted::Applied);
    let port: Arc<dyn TradeLedger> = chain.clone();
    let srv = TestServer::start_platform(
        |_| {},
        Box::new(move |p| p.with_trade_ledger(port).with_did_registry(Arc::new(Dids))),
    );
    let op = srv.admin();
    let (org, user, buyer) = srv.org(&op, "enterprise", "Buyer Co", "buyer-admin");
    let new_pw = "Buyer-Own-Passphrase-7";
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &buyer,
        json!({"current_password": pw("buyer-admin"), "new_password": new_pw}),
    );
    assert_eq!(s, 204, "{v}");
    let buyer = srv.login("buyer-admin", new_pw);
    let mut key = Value::Null;
    for _ in 0..500 {
        let (_, v) = srv.get("/api/v1/me/key", &buyer);
        if v["key"]["did"].is_string() {
            key = v["key"].clone();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let public = key["public_key"]
        .as_str()
        .expect("a key with a DID")
        .to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = suanli_platform_http::store::SqliteStore::open(&srv.db_path())
            .await
            .unwrap();
        common::offers::listed_offer(&store, UserId::new(user).unwrap(), 9).await;
        let (o, u) = (OrgId::new(org).unwrap(), UserId::new(user).unwrap());
        let cash = Fen::new(10_000).unwrap();
        store
            .create_payment(o, u, "sandbox", "r1", cash, T0_MS)
            .await
            .unwrap();
        store
            .confirm_payment("sandbox", "r1", cash, T0_MS)
            .await
            .unwrap();
    });
    let facts = |tx_ref: &str| OrderFacts {
        signer_key_hex: public.clone(),
        tx_ref: tx_ref.into(),
        serial: "5".repeat(32),
        chain_offer_id: 9,
        spec: "t".into(),
        units: 1,
        duration_minutes: 30,
        value_fen: 3_000,
        wallet: Some(format!("org:{org}")),
        channel: None,
    };
    *chain.facts.lock().unwrap() = Some(facts("tx-1"));
    let (s, v) = presigned(&srv, &buyer, "k-1", json!({"tx": "00ff"}));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["trade"]["serial"], "5".repeat(32));
    // The same bytes under another key: the stored trade, replayed.
    let (s, v) = presigned(&srv, &buyer, "k-2", json!({"tx": "00ff"}));
    assert_eq!((s, &v["replayed"]), (200, &json!(true)), "{v}");
    assert_eq!(v["trade"]["serial"], "5".repeat(32));
    // Another transaction with that serial: 409 trade_exists.
    *chain.facts.lock().unwrap() = Some(facts("tx-2"));
    let (s, v) = presigned(&srv, &buyer, "k-3", json!({"tx": "00fe"}));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("trade_exists")),
        "{v}"
    );
    let (_, w) = srv.get("/api/v1/trades/wallet", &buyer);
    assert_eq!(w["cash_fen"], 7_000, "escrowed once: {w}");
    let (_, list) = srv.get("/api/v1/trades", &buyer);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(*chain.submits.lock().unwrap(), 1, "submitted once");
}

#[test]
fn a_delegation_lasts_until_the_latest_end_of_its_contract() {
    use suanli_platform_http::service::trades::delegation_end;
    let day = 86_400_000u64;
    let now = T0_MS.unsigned_abs();
    // Accepted at the offer's last moment, the contract runs its 90 minutes after it.
    assert_eq!(
        delegation_end(T0_MS + 30 * 86_400_000, now, 90),
        now + 30 * day + 90 * 60_000
    );
    // An offer ending before now (the order is then refused) never shortens it below
    // the order's own time + duration.
    assert_eq!(delegation_end(0, now, 60), now + 60 * 60_000);
    assert_eq!(delegation_end(-5, now, 1), now + 60_000);
}
