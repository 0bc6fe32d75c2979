//! Provisioning work orders over the API (`docs/supply.md` §3): the agent raises them
//! with a `supply:agent` token, the supplier decides and fills them back, the consumer
//! reads its own; another supplier, a customer and a token without the scope are kept
//! out; bad input answers its code next to its field and changes nothing. The trade
//! chain is a test double of the `AgentKeys` port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use suanli_platform_http::PortError;
use suanli_platform_http::agent_keys::{AgentKeyFacts, AgentKeys, TradeFacts, TradeStage};
use suanli_platform_http::keys::DidRegistry;
use suanli_platform_http::payment::SignedTx;
use suanli_primitives::{PublicKey, SecretKey, Signature};

/// DIDs derived from keys, "created" at once.
#[derive(Debug, Default)]
struct Dids;

impl DidRegistry for Dids {
    fn did_of(&self, key: &PublicKey) -> String {
        format!("did:suanli:test:{}", &key.to_hex()[..32])
    }
    fn sign_create(&self, key: &SecretKey) -> Result<SignedTx, PortError> {
        Ok(SignedTx {
            reference: key.public().to_hex(),
            encoded_hex: key.public().to_hex(),
        })
    }
    fn send(&self, _: &SignedTx) -> Result<(), PortError> {
        Ok(())
    }
}

/// The trade chain's trades, by serial, and agent keys, by supplier DID.
#[derive(Debug, Default)]
struct Trades(
    Mutex<BTreeMap<String, TradeFacts>>,
    Mutex<Vec<(String, AgentKeyFacts)>>,
);

impl AgentKeys for Trades {
    fn trade(&self, serial: &str) -> Result<Option<TradeFacts>, PortError> {
        Ok(self.0.lock().unwrap().get(serial).cloned())
    }
    fn agents(&self, supplier_did: &str) -> Result<Vec<AgentKeyFacts>, PortError> {
        let keys = self.1.lock().unwrap();
        Ok(keys
            .iter()
            .filter(|(d, _)| d == supplier_did)
            .map(|(_, k)| k.clone())
            .collect())
    }
    fn delegate(
        &self,
        supplier: &SecretKey,
        agent: &PublicKey,
        _proof: &Signature,
        fragment: &str,
    ) -> Result<(), PortError> {
        let did = Dids.did_of(&supplier.public());
        self.1.lock().unwrap().push((
            did,
            AgentKeyFacts {
                key: agent.to_hex(),
                fragment: fragment.to_owned(),
                authorised_at_ms: 1,
                revoked_at_ms: None,
            },
        ));
        Ok(())
    }
    fn revoke(&self, supplier: &SecretKey, agent: &PublicKey) -> Result<(), PortError> {
        let did = Dids.did_of(&supplier.public());
        let mut keys = self.1.lock().unwrap();
        let found = keys
            .iter_mut()
            .find(|(d, k)| *d == did && k.key == agent.to_hex());
        match found {
            Some((_, k)) => {
                k.revoked_at_ms = Some(2);
                Ok(())
            }
            None => Err(PortError::Refused {
                code: "chain_refused",
                message: "not an agent key".into(),
            }),
        }
    }
}

fn serial(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

fn facts(supplier: &str, consumer: &str, stage: TradeStage) -> TradeFacts {
    TradeFacts {
        supplier_did: supplier.into(),
        consumer_did: consumer.into(),
        offer_id: 3,
        units: 2,
        minutes: 120,
        value_fen: 6_000,
        stage,
    }
}

/// Gives an operator-created admin its own key (first own password change) and logs in.
fn own_key(srv: &TestServer, cred: &Cred, login: &str) -> (Cred, String) {
    let new_pw = format!("{}-Own", pw(login));
    let (s, v) = srv.post(
        "/api/v1/me/password",
        cred,
        json!({"current_password": pw(login), "new_password": new_pw}),
    );
    assert_eq!(s, 204, "{v}");
    let cred = srv.login(login, &new_pw);
    (cred, did_of(srv, &srv.login(login, &new_pw)))
}

fn did_of(srv: &TestServer, cred: &Cred) -> String {
    let (s, v) = srv.get("/api/v1/me/key", cred);
    assert_eq!(s, 200, "{v}");
    v["key"]["did"].as_str().unwrap().to_owned()
}

fn agent_token(srv: &TestServer, cred: &Cred, scopes: &[&str]) -> Cred {
    let (s, v) = srv.post(
        "/api/v1/me/tokens",
        cred,
        json!({"name": "agent", "scopes": scopes, "ttl_secs": 3600}),
    );
    assert_eq!(s, 201, "{v}");
    Cred::Bearer(v["token"].as_str().unwrap().to_owned())
}

fn wo(v: &Value) -> &Value {
    &v["work_order"]
}

#[test]
fn work_orders_raised_decided_filled_seen_by_the_consumer_and_kept_apart() {
    let trades = Arc::new(Trades::default());
    let srv = TestServer::start_ports(|_| {}, Some(Arc::new(Dids)), None, Some(trades.clone()));
    let admin = srv.admin();
    let (_, _, sup1) = srv.org(&admin, "supplier_resource", "DC One", "sup1");
    let (_, _, sup2) = srv.org(&admin, "supplier_api", "DC Two", "sup2");
    let (sup1, sup1_did) = own_key(&srv, &sup1, "sup1");
    let (sup2, sup2_did) = own_key(&srv, &sup2, "sup2");
    let (_, _, ent1) = srv.enterprise(&admin, "ent1", CODES[0], None);
    let (_, _, ent2) = srv.enterprise(&admin, "ent2", CODES[1], None);
    let ent1_did = did_of(&srv, &ent1);
    {
        let mut t = trades.0.lock().unwrap();
        for n in 1..=4 {
            t.insert(serial(n), facts(&sup1_did, &ent1_did, TradeStage::Active));
        }
        t.insert(serial(5), facts(&sup2_did, &ent1_did, TradeStage::Active));
        t.insert(serial(6), facts(&sup1_did, &ent1_did, TradeStage::Closed));
    }
    let agent = agent_token(&srv, &sup1, &["supply:agent"]);
    let reader = agent_token(&srv, &sup1, &["supply:read"]);

    // Raised from the chain's facts; raising again answers the same one.
    let (s, v) = srv.post(
        "/api/v1/supplier/work-orders",
        &agent,
        json!({"serial": serial(1)}),
    );
    assert_eq!(s, 201, "{v}");
    let id = wo(&v)["id"].as_i64().unwrap();
    assert_eq!(wo(&v)["status"], "open");
    assert_eq!(wo(&v)["consumer_did"], ent1_did.as_str());
    assert_eq!(
        (wo(&v)["units"].as_i64(), wo(&v)["value_fen"].as_i64()),
        (Some(2), Some(6_000))
    );
    let (s, again) = srv.post(
        "/api/v1/supplier/work-orders",
        &agent,
        json!({"serial": serial(1).to_uppercase()}),
    );
    assert_eq!(
        (s, wo(&again)["id"].as_i64(), again["created"].as_bool()),
        (200, Some(id), Some(false))
    );

    // Refusals: bad serial at its field, unknown trade, another supplier's trade, a closed
    // trade, a token without the scope, a customer, the console session (no supply:agent
    // scope issue: sessions hold every permission of the role).
    assert_err(
        srv.post(
            "/api/v1/supplier/work-orders",
            &agent,
            json!({"serial": "xyz"}),
        ),
        422,
        "invalid_serial",
    );
    let (_, v) = srv.post(
        "/api/v1/supplier/work-orders",
        &agent,
        json!({"serial": "xyz"}),
    );
    assert_eq!(v["error"]["field"], "serial");
    assert_err(
        srv.post(
            "/api/v1/supplier/work-orders",
            &agent,
            json!({"serial": serial(9)}),
        ),
        404,
        "not_found",
    );
    assert_err(
        srv.post(
            "/api/v1/supplier/work-orders",
            &agent,
            json!({"serial": serial(5)}),
        ),
        404,
        "not_found",
    );
    assert_err(
        srv.post(
            "/api/v1/supplier/work-orders",
            &agent,
            json!({"serial": serial(6)}),
        ),
        409,
        "trade_closed",
    );
    assert_err(
        srv.post(
            "/api/v1/supplier/work-orders",
            &reader,
            json!({"serial": serial(2)}),
        ),
        403,
        "insufficient_scope",
    );
    assert_err(
        srv.post(
            "/api/v1/supplier/work-orders",
            &ent1,
            json!({"serial": serial(2)}),
        ),
        403,
        "forbidden",
    );
    assert_err(
        srv.post(
            "/api/v1/supplier/work-orders",
            &sup2,
            json!({"serial": serial(1)}),
        ),
        404,
        "not_found",
    );

    // Only the owner sees and fills it.
    let path = format!("/api/v1/supplier/work-orders/{id}");
    assert_eq!(srv.get(&path, &agent).0, 200);
    assert_err(srv.get(&path, &sup2), 404, "not_found");
    assert_err(
        srv.post(
            &format!("{path}/fill"),
            &sup2,
            json!({"address": "h", "credentials_ref": "vault:x", "pool_id": "p"}),
        ),
        404,
        "not_found",
    );
    assert!(
        srv.get("/api/v1/supplier/work-orders", &sup2).1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_err(
        srv.get("/api/v1/supplier/work-orders", &ent1),
        403,
        "forbidden",
    );
    assert_err(
        srv.post(
            &format!("{path}/fill"),
            &agent,
            json!({"address": "h", "credentials_ref": "vault:x", "pool_id": "p"}),
        ),
        403,
        "insufficient_scope",
    );

    // Bad access details: the code at its field, nothing written.
    for (body, code, field) in [
        (
            json!({"address": "a b", "credentials_ref": "vault:x", "pool_id": "p"}),
            "invalid_address",
            "address",
        ),
        (
            json!({"address": "h", "credentials_ref": "-----BEGIN PRIVATE KEY-----", "pool_id": "p"}),
            "secret_in_reference",
            "credentials_ref",
        ),
        (
            json!({"address": "h", "credentials_ref": "vault:x", "pool_id": "p/1"}),
            "invalid_pool_id",
            "pool_id",
        ),
    ] {
        let (s, v) = srv.post(&format!("{path}/fill"), &sup1, body);
        assert_eq!(
            (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
            (422, Some(code), Some(field)),
            "{v}"
        );
    }
    let (_, v) = srv.get(&path, &sup1);
    assert_eq!(
        (wo(&v)["status"].as_str(), &wo(&v)["access"]),
        (Some("open"), &Value::Null)
    );
    // The consumer sees no access details yet.
    let (s, v) = srv.get("/api/v1/me/work-orders", &ent1);
    assert_eq!(s, 200);
    assert_eq!(v["items"][0]["access"], Value::Null);

    // Filled: the consumer (and only it) sees the details.
    let (s, v) = srv.post(&format!("{path}/fill"), &sup1, json!({"address": "ssh://10.0.0.7:22", "credentials_ref": "vault:kv/dc1/n7", "pool_id": "pool-a"}));
    assert_eq!((s, wo(&v)["status"].as_str()), (200, Some("filled")), "{v}");
    let (_, v) = srv.get("/api/v1/me/work-orders", &ent1);
    assert_eq!(v["items"][0]["access"]["address"], "ssh://10.0.0.7:22");
    assert!(
        srv.get("/api/v1/me/work-orders", &ent2).1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_err(srv.get("/api/v1/me/work-orders", &sup1), 403, "forbidden");
    assert_err(
        srv.post(&format!("{path}/approve"), &sup1, json!({})),
        409,
        "work_order_status",
    );

    // Manual acceptance: approve one, decline another; the agent reads the decision.
    let raise = |n: u8| {
        let (s, v) = srv.post(
            "/api/v1/supplier/work-orders",
            &agent,
            json!({"serial": serial(n), "needs_approval": true}),
        );
        assert_eq!(
            (s, wo(&v)["status"].as_str()),
            (201, Some("awaiting_approval")),
            "{v}"
        );
        wo(&v)["id"].as_i64().unwrap()
    };
    let (m1, m2) = (raise(2), raise(3));
    assert_err(
        srv.post(
            &format!("/api/v1/supplier/work-orders/{m1}/approve"),
            &agent,
            json!({}),
        ),
        403,
        "insufficient_scope",
    );
    assert_eq!(
        srv.post(
            &format!("/api/v1/supplier/work-orders/{m1}/approve"),
            &sup1,
            json!({})
        )
        .0,
        200
    );
    assert_eq!(
        srv.post(
            &format!("/api/v1/supplier/work-orders/{m2}/decline"),
            &sup1,
            json!({})
        )
        .0,
        200
    );
    assert_eq!(
        wo(&srv
            .get(&format!("/api/v1/supplier/work-orders/{m1}"), &agent)
            .1)["status"],
        "open"
    );
    assert_eq!(
        wo(&srv
            .get(&format!("/api/v1/supplier/work-orders/{m2}"), &agent)
            .1)["status"],
        "declined"
    );
    let (_, v) = srv.get(
        "/api/v1/supplier/work-orders?status=awaiting_approval",
        &sup1,
    );
    assert!(v["items"].as_array().unwrap().is_empty());
    assert_err(
        srv.get("/api/v1/supplier/work-orders?status=nope", &sup1),
        400,
        "invalid_query",
    );

    // Once the trade closed, raising again still answers its work order (the agent's
    // release), and the agent closes it; nothing moves after.
    trades.0.lock().unwrap().get_mut(&serial(1)).unwrap().stage = TradeStage::Closed;
    let (s, v) = srv.post(
        "/api/v1/supplier/work-orders",
        &agent,
        json!({"serial": serial(1)}),
    );
    assert_eq!((s, wo(&v)["id"].as_i64()), (200, Some(id)), "{v}");
    assert_err(
        srv.post(&format!("{path}/close"), &sup2, json!({})),
        404,
        "not_found",
    );
    let (s, v) = srv.post(&format!("{path}/close"), &agent, json!({}));
    assert_eq!((s, wo(&v)["status"].as_str()), (200, Some("closed")));
    assert_err(
        srv.post(
            &format!("{path}/fill"),
            &sup1,
            json!({"address": "h", "credentials_ref": "vault:x", "pool_id": "p"}),
        ),
        409,
        "work_order_status",
    );
}

#[test]
fn without_a_trade_chain_nothing_is_raised() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let (_, _, sup) = srv.org(&admin, "supplier_resource", "DC", "sup1");
    let agent = agent_token(&srv, &sup, &["supply:agent"]);
    assert_err(
        srv.post(
            "/api/v1/supplier/work-orders",
            &agent,
            json!({"serial": serial(1)}),
        ),
        403,
        "ledger_unavailable",
    );
    assert!(
        srv.get("/api/v1/supplier/work-orders", &sup).1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn agent_keys_are_delegated_and_revoked_with_the_suppliers_password_only() {
    let trades = Arc::new(Trades::default());
    let srv = TestServer::start_ports(|_| {}, Some(Arc::new(Dids)), None, Some(trades.clone()));
    let admin = srv.admin();
    let (_, _, sup1) = srv.org(&admin, "supplier_resource", "DC One", "sup1");
    let (_, _, sup2) = srv.org(&admin, "supplier_api", "DC Two", "sup2");
    let (sup1, _) = own_key(&srv, &sup1, "sup1");
    let (sup2, _) = own_key(&srv, &sup2, "sup2");
    let (_, _, ent1) = srv.enterprise(&admin, "ent1", CODES[0], None);
    let token = agent_token(&srv, &sup1, &["supply:manage", "supply:read"]);
    let password = format!("{}-Own", pw("sup1"));
    let agent = SecretKey::from_label("work-orders/agent").public().to_hex();
    let path = "/api/v1/supplier/agent-keys";
    let proof = "11".repeat(64);
    let body = |key: &str, fragment: &str, password: &str| json!({"public_key": key, "proof": proof, "fragment": fragment, "password": password});

    // Refusals change nothing: each code at its field.
    for (b, status, code) in [
        (body("zz", "agent-1", &password), 422, "invalid_public_key"),
        (body(&agent, "Agent 1", &password), 422, "invalid_fragment"),
        (
            json!({"public_key": agent, "proof": "zz", "fragment": "agent-1", "password": password}),
            422,
            "invalid_proof",
        ),
        (body(&agent, "key-1", &password), 422, "invalid_fragment"),
        (
            body(&agent, "agent-1", "wrong password"),
            422,
            "invalid_credentials",
        ),
    ] {
        assert_err(srv.post(path, &sup1, b), status, code);
    }
    assert_err(
        srv.post(path, &token, body(&agent, "agent-1", &password)),
        403,
        "session_required",
    );
    assert_err(
        srv.post(path, &ent1, body(&agent, "agent-1", &password)),
        403,
        "forbidden",
    );
    assert!(trades.1.lock().unwrap().is_empty());

    // Delegated by the supplier's own key; listed for it, not for another supplier.
    let (s, v) = srv.post(path, &sup1, body(&agent, "agent-1", &password));
    assert_eq!(s, 204, "{v}");
    let (s, v) = srv.get(path, &sup1);
    assert_eq!(s, 200);
    assert_eq!(v["items"][0]["key"], agent.as_str());
    assert_eq!(v["items"][0]["revoked_at_ms"], Value::Null);
    assert!(
        srv.get(path, &sup2).1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Revoked.
    let revoke = format!("{path}/revoke");
    assert_err(
        srv.post(
            &revoke,
            &sup1,
            json!({"public_key": agent, "password": "nope"}),
        ),
        422,
        "invalid_credentials",
    );
    let (s, v) = srv.post(
        &revoke,
        &sup1,
        json!({"public_key": agent, "password": password}),
    );
    assert_eq!(s, 204, "{v}");
    assert_eq!(srv.get(path, &sup1).1["items"][0]["revoked_at_ms"], 2);
    // Another supplier cannot revoke it (its key is not the delegating one).
    let other = format!("{}-Own", pw("sup2"));
    assert_err(
        srv.post(
            &revoke,
            &sup2,
            json!({"public_key": agent, "password": other}),
        ),
        409,
        "chain_refused",
    );
}
