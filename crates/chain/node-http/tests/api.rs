//! The node's HTTP API: happy path and every kind of bad input answered with a 4xx JSON
//! error carrying a reason (never a panic, never a 500).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use serde_json::Value;
use suanli_ledger::credit::{CreditOp, PositiveFen};
use suanli_ledger::{MempoolConfig, Payload, Transaction};
use suanli_node::{Node, NodeConfig, Solo};
use suanli_primitives::{ChainKind, NetworkName, SecretKey, SystemClock};

struct Harness {
    base: String,
    node: Arc<Node>,
    _dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn operator() -> SecretKey {
    SecretKey::from_label("operator")
}

fn start(mempool: MempoolConfig, producers: bool) -> Harness {
    start_with(mempool, producers, suanli_node_http::Access::open())
}

fn start_with(
    mempool: MempoolConfig,
    producers: bool,
    access: suanli_node_http::Access,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig {
        network: NetworkName::new("suanli-test").unwrap(),
        credit_operator: operator().public(),
        mempool,
        extensions: suanli_ledger::Extensions::new()
            .with(Arc::new(suanli_identity::IdentityContract))
            .with(Arc::new(suanli_trade::TradeContract)),
        admission: Vec::new(),
    };
    let node = Node::open(
        dir.path(),
        config,
        Arc::new(Solo::new(SecretKey::from_label("node"))),
        Arc::new(SystemClock),
    )
    .unwrap();
    if producers {
        node.start();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(suanli_node_http::serve(
        Arc::clone(&node),
        access,
        listener,
        std::future::pending(),
    ));
    Harness {
        base,
        node,
        _dir: dir,
        _runtime: runtime,
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.node.stop();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(h: &Harness, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut resp = agent()
        .post(&format!("{}{path}", h.base))
        .header("content-type", content_type)
        .send(body)
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(10_000_000)
        .read_to_string()
        .unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn get(h: &Harness, path: &str) -> (u16, Value) {
    let mut resp = agent().get(&format!("{}{path}", h.base)).call().unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn mint(h: &Harness, nonce: u64) -> Transaction {
    Transaction::sign(
        &h.node.chain_id(ChainKind::Trade),
        &operator(),
        nonce,
        Payload::Credit(CreditOp::Mint {
            to: SecretKey::from_label("alice").public(),
            amount: PositiveFen::new(10).unwrap(),
        }),
    )
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

#[test]
fn submit_binary_hex_and_json_forms_then_query() {
    let h = start(
        MempoolConfig {
            block_interval_ms: 5,
            ..MempoolConfig::default()
        },
        true,
    );
    let tx = mint(&h, 0);
    let (status, body) = post(
        &h,
        "/v1/txs?wait_ms=5000",
        "application/octet-stream",
        tx.encoded(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["status"], "committed");
    assert_eq!(body["result"]["outcome"]["status"], "applied");

    let tx = mint(&h, 1);
    let json = serde_json::json!({"tx_hex": hex::encode(tx.encoded())});
    let (status, body) = post(
        &h,
        "/v1/txs?wait_ms=5000",
        "application/json",
        json.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");

    let tx = mint(&h, 2);
    let json = serde_json::json!({"tx": {
        "chain": tx.chain().to_string(), "signer": tx.signer(), "nonce": 2,
        "payload": tx.payload(), "signature": tx.signature(),
    }});
    let (status, body) = post(
        &h,
        "/v1/txs?wait_ms=5000",
        "application/json",
        json.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tx_id"], tx.id().to_string());

    let (status, body) = get(&h, &format!("/v1/txs/{}", tx.id()));
    assert_eq!(status, 200);
    assert_eq!(body["result"]["status"], "committed");
    let (status, body) = get(&h, &format!("/v1/txs/{}/proof", tx.id()));
    assert_eq!(status, 200, "{body}");
    assert!(body["proof"]["proof"]["path"].is_array());
    let (status, body) = get(&h, "/v1/chains/trade/head");
    assert_eq!(status, 200);
    assert!(body["head"]["height"].as_u64().unwrap() >= 1);
    let (status, body) = get(&h, "/v1/chains/trade/blocks?from=0&limit=2");
    assert_eq!(status, 200);
    assert_eq!(body["blocks"].as_array().unwrap().len(), 2);
    let (status, body) = get(&h, "/v1/chains/trade/blocks/1");
    assert_eq!(status, 200);
    assert!(body["block_hex"].is_string());
    let (_, body) = get(
        &h,
        &format!(
            "/v1/chains/trade/credit/{}",
            SecretKey::from_label("alice").public()
        ),
    );
    assert_eq!(body["balance_fen"], 30);
    let (_, body) = get(
        &h,
        &format!("/v1/chains/trade/nonces/{}", operator().public()),
    );
    assert_eq!(body["next_nonce"], 3);
}

#[test]
fn bad_input_gets_4xx_json_with_reason() {
    let h = start(MempoolConfig::default(), true);
    let cases: Vec<(u16, &str, (u16, Value))> = vec![
        (
            400,
            "malformed",
            post(&h, "/v1/txs", "application/octet-stream", &[1, 2, 3]),
        ),
        (
            400,
            "unsupported_version",
            post(&h, "/v1/txs", "application/octet-stream", b"garbage bytes"),
        ),
        (
            413,
            "body_too_large",
            post(
                &h,
                "/v1/txs",
                "application/octet-stream",
                &vec![0u8; 200_000],
            ),
        ),
        (
            400,
            "bad_json",
            post(&h, "/v1/txs", "application/json", b"{not json"),
        ),
        (
            400,
            "bad_json",
            post(
                &h,
                "/v1/txs",
                "application/json",
                br#"{"tx_hex":"00","extra":1}"#,
            ),
        ),
        (
            400,
            "bad_hex",
            post(&h, "/v1/txs", "application/json", br#"{"tx_hex":"zz"}"#),
        ),
        (
            415,
            "unsupported_media_type",
            post(&h, "/v1/txs", "text/plain", b"hi"),
        ),
        (
            400,
            "nonce_gap",
            post(
                &h,
                "/v1/txs",
                "application/octet-stream",
                mint(&h, 9).encoded(),
            ),
        ),
        (
            400,
            "bad_query",
            post(
                &h,
                "/v1/txs?wait_ms=soon",
                "application/octet-stream",
                mint(&h, 0).encoded(),
            ),
        ),
        (404, "unknown_chain", get(&h, "/v1/chains/payments/head")),
        (400, "bad_tx_id", get(&h, "/v1/txs/xyz")),
        (
            404,
            "not_found",
            get(&h, &format!("/v1/txs/{}", "00".repeat(32))),
        ),
        (400, "bad_height", get(&h, "/v1/chains/trade/blocks/-1")),
        (404, "not_found", get(&h, "/v1/chains/trade/blocks/999999")),
        (
            400,
            "bad_query",
            get(&h, "/v1/chains/trade/blocks?limit=100000"),
        ),
        (
            400,
            "bad_public_key",
            get(&h, "/v1/chains/trade/credit/abcd"),
        ),
        (400, "bad_key", get(&h, "/v1/chains/trade/state/nothex")),
        (404, "not_found", get(&h, "/v2/anything")),
    ];
    for (want_status, want_code, (status, body)) in cases {
        assert_eq!(
            (status, error_code(&body)),
            (want_status, want_code),
            "{body}"
        );
        assert!(!body["error"]["message"].as_str().unwrap_or("").is_empty());
    }
    // Wrong chain: a transaction for another network.
    let other = Transaction::sign(
        &"elsewhere/trade".parse().unwrap(),
        &operator(),
        0,
        mint(&h, 0).payload().clone(),
    );
    let (status, body) = post(&h, "/v1/txs", "application/octet-stream", other.encoded());
    assert_eq!((status, error_code(&body)), (400, "wrong_chain"));
}

#[test]
fn full_mempool_answers_503_retryable() {
    let h = start(
        MempoolConfig {
            txs_max: 1,
            block_txs_max: 64,
            block_interval_ms: 5,
            ..MempoolConfig::default()
        },
        false,
    );
    let (status, _) = post(
        &h,
        "/v1/txs",
        "application/octet-stream",
        mint(&h, 0).encoded(),
    );
    assert_eq!(status, 202);
    let (status, body) = post(
        &h,
        "/v1/txs",
        "application/octet-stream",
        mint(&h, 1).encoded(),
    );
    assert_eq!(status, 503);
    assert_eq!(error_code(&body), "mempool_full");
    assert_eq!(body["error"]["retryable"], true);
}

#[test]
fn member_tokens_guard_every_endpoint() {
    let token = "member-token-0123456789";
    let h = start_with(
        MempoolConfig::default(),
        true,
        suanli_node_http::Access::tokens(&[token]),
    );
    for path in [
        "/v1/chains/trade/head",
        "/v1/chains/trade/blocks/0",
        "/v2/unknown",
    ] {
        let (status, body) = get(&h, path);
        assert_eq!((status, error_code(&body)), (401, "unauthorized"), "{path}");
    }
    let (status, body) = post(
        &h,
        "/v1/txs",
        "application/octet-stream",
        mint(&h, 0).encoded(),
    );
    assert_eq!((status, error_code(&body)), (401, "unauthorized"));
    let wrong = agent()
        .get(&format!("{}/v1/chains/trade/head", h.base))
        .header("authorization", "Bearer not-the-token")
        .call()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let right = agent()
        .get(&format!("{}/v1/chains/trade/head", h.base))
        .header("authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(right.status().as_u16(), 200);
}

fn identity_tx(h: &Harness, key: &SecretKey, op: suanli_identity::IdentityOp) -> (u16, Value) {
    let chain = h.node.chain_id(ChainKind::Identity);
    let nonce = h.node.next_nonce(ChainKind::Identity, &key.public());
    let tx = Transaction::sign(&chain, key, nonce, Payload::Call(op.to_call().unwrap()));
    post(
        h,
        "/v1/txs?wait_ms=10000",
        "application/octet-stream",
        tx.encoded(),
    )
}

#[test]
fn identity_endpoints_answer_in_the_resolver_shape() {
    let h = start(
        MempoolConfig {
            block_interval_ms: 5,
            ..MempoolConfig::default()
        },
        true,
    );
    let alice = SecretKey::from_label("alice");
    let (status, body) = identity_tx(&h, &alice, suanli_identity::IdentityOp::CreateDid);
    assert_eq!(status, 200, "{body}");
    let did = suanli_identity::SuanliDid::for_initial_key(
        NetworkName::new("suanli-test").unwrap(),
        &alice.public(),
    );

    let (status, res) = get(&h, &format!("/1.0/identifiers/{did}"));
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["didDocument"]["id"], did.to_string());
    assert_eq!(res["didDocumentMetadata"]["versionId"], "1");
    let (status, res) = get(
        &h,
        &format!("/1.0/identifiers/{did}?versionTime=2000-01-01T00%3A00%3A00Z"),
    );
    assert_eq!(
        (status, res["didResolutionMetadata"]["error"].as_str()),
        (404, Some("notFound"))
    );
    let (status, res) = get(&h, "/1.0/identifiers/did:suanli:suanli-test:0OIl");
    assert_eq!(
        (status, res["didResolutionMetadata"]["error"].as_str()),
        (400, Some("invalidDid"))
    );
    let (status, res) = get(&h, "/1.0/identifiers/did:web:example.com");
    assert_eq!(
        (status, res["didResolutionMetadata"]["error"].as_str()),
        (501, Some("methodNotSupported"))
    );
    let (status, res) = get(&h, &format!("/1.0/identifiers/{did}?versionTime=yesterday"));
    assert_eq!((status, error_code(&res)), (400, "bad_query"));

    // A malformed identity call is refused at submission with the contract's code.
    let (status, res) = identity_tx(
        &h,
        &alice,
        suanli_identity::IdentityOp::SetService {
            did: did.id().clone(),
            fragment: suanli_identity::Fragment::new("s").unwrap(),
            service_type: "T".into(),
            endpoint: "not a uri".into(),
        },
    );
    assert_eq!((status, error_code(&res)), (400, "malformed_call"), "{res}");

    let (status, cpts) = get(&h, "/1.0/cpts");
    assert_eq!(status, 200);
    assert!(
        cpts["builtin"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "trade-start")
    );
    assert_eq!(get(&h, "/1.0/cpts/99999").0, 404);
    assert_eq!(error_code(&get(&h, "/1.0/cpts?limit=0").1), "bad_query");
    let (status, issuers) = get(&h, "/1.0/issuers");
    assert_eq!(status, 200);
    assert!(
        issuers["authority"]
            .as_str()
            .unwrap()
            .starts_with("did:suanli:suanli-test:")
    );

    let list = format!("urn:suanli:suanli-test:status:{}:revocation:0", did.id());
    let (status, cred) = get(&h, &format!("/1.0/status/{list}"));
    assert_eq!(status, 200, "{cred}");
    assert_eq!(cred["credentialSubject"]["type"], "BitstringStatusList");
    assert_eq!(get(&h, "/1.0/status/urn:nope").0, 400);

    let (status, res) = post(
        &h,
        "/1.0/credentials/verify",
        "application/json",
        br#"{"credential": {"hello": 1}}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(res["verified"], false);
    assert_eq!(res["report"]["first_failure"]["code"], "proof_missing");
    let (status, res) = post(
        &h,
        "/1.0/credentials/verify",
        "application/json",
        b"{not json",
    );
    assert_eq!((status, error_code(&res)), (400, "bad_json"));
    let (status, res) = post(
        &h,
        "/1.0/presentations/verify",
        "application/json",
        br#"{"presentation": {}, "challenge": "", "domain": "d"}"#,
    );
    assert_eq!((status, error_code(&res)), (400, "bad_request"));
    let big = vec![b' '; suanli_node_http::BODY_BYTES_MAX + 1];
    let (status, res) = post(&h, "/1.0/credentials/verify", "application/json", &big);
    assert_eq!((status, error_code(&res)), (413, "body_too_large"));
}

#[test]
fn identity_operations_over_http_with_the_key_kept_by_the_client() {
    let h = start(
        MempoolConfig {
            block_interval_ms: 5,
            ..MempoolConfig::default()
        },
        true,
    );
    let bob = SecretKey::from_label("bob");
    let prepare = |op: serde_json::Value| {
        let body = serde_json::json!({"signer": bob.public(), "op": op});
        post(
            &h,
            "/1.0/identity/prepare",
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    let submit = |prepared: &Value| {
        let message = hex::decode(prepared["signing_message_hex"].as_str().unwrap()).unwrap();
        let mut tx = prepared["tx"].clone();
        tx["signature"] = serde_json::json!(bob.sign(&message));
        let body = serde_json::json!({"tx": tx});
        post(
            &h,
            "/v1/txs?wait_ms=10000",
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    let (status, prepared) = prepare(serde_json::json!({"op": "create_did"}));
    assert_eq!(status, 200, "{prepared}");
    let (status, res) = submit(&prepared);
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["result"]["outcome"]["status"], "applied", "{res}");
    let did = suanli_identity::SuanliDid::for_initial_key(
        NetworkName::new("suanli-test").unwrap(),
        &bob.public(),
    );
    let (status, prepared) = prepare(serde_json::json!({
        "op": "set_service", "did": did.to_string(), "fragment": "channel",
        "type": "SuanliChannel", "endpoint": "https://bob.example/channel"
    }));
    assert_eq!(status, 200, "{prepared}");
    assert_eq!(
        submit(&prepared).1["result"]["outcome"]["status"],
        "applied"
    );
    let (_, res) = get(&h, &format!("/1.0/identifiers/{did}"));
    assert_eq!(
        res["didDocument"]["service"][0]["serviceEndpoint"],
        "https://bob.example/channel"
    );

    // Bad operations are named.
    let (status, res) = prepare(
        serde_json::json!({"op": "set_service", "did": "did:x", "fragment": "f", "type": "T", "endpoint": "https://x"}),
    );
    assert_eq!((status, error_code(&res)), (400, "bad_op"));
    let (status, res) = prepare(serde_json::json!({"op": "launch_rockets"}));
    assert_eq!((status, error_code(&res)), (400, "bad_json"));
}

fn trade_tx(h: &Harness, key: &SecretKey, op: &suanli_trade::TradeOp) -> Value {
    let chain = h.node.chain_id(ChainKind::Trade);
    let nonce = h.node.next_nonce(ChainKind::Trade, &key.public());
    let tx = Transaction::sign(&chain, key, nonce, Payload::Call(op.to_call().unwrap()));
    let (status, body) = post(
        h,
        "/v1/txs?wait_ms=10000",
        "application/octet-stream",
        tx.encoded(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["outcome"]["status"], "applied", "{body}");
    body
}

fn party_did(key: &SecretKey) -> suanli_trade::PartyDid {
    let did = suanli_identity::SuanliDid::for_initial_key(
        NetworkName::new("suanli-test").unwrap(),
        &key.public(),
    );
    suanli_trade::PartyDid::parse(&did.to_string()).unwrap()
}

fn read_body(
    key: &SecretKey,
    reader: &suanli_trade::PartyDid,
    subject: &str,
    time_ms: u64,
) -> Vec<u8> {
    use suanli_trade::op::{read_digest, sign_digest};
    serde_json::json!({
        "reader": reader, "time_ms": time_ms,
        "signature": sign_digest(key, &read_digest("suanli-test/trade", reader, subject, time_ms)),
    })
    .to_string()
    .into_bytes()
}

#[test]
fn trade_endpoints_show_full_records_only_to_parties_and_regulators() {
    use suanli_primitives::Clock;
    use suanli_trade::model::{ModeTerms, OfferTerms, Requirements, Resource, Weights};
    use suanli_trade::{Role, Serial, TradeOp, op};
    let h = start(
        MempoolConfig {
            block_interval_ms: 5,
            ..MempoolConfig::default()
        },
        true,
    );
    let (supplier, consumer, stranger, regulator) = (
        SecretKey::from_label("supplier"),
        SecretKey::from_label("consumer"),
        SecretKey::from_label("stranger"),
        SecretKey::from_label("regulator"),
    );
    for (key, role) in [
        (&supplier, Role::Supplier),
        (&consumer, Role::Consumer),
        (&stranger, Role::Consumer),
        (&regulator, Role::Regulator),
    ] {
        let kyc = (role != Role::Regulator).then(|| "urn:uuid:kyc".to_owned());
        let enroll = TradeOp::Enroll {
            did: party_did(key),
            role,
            key: key.public(),
            key_fragment: "key-1".into(),
            kyc_credential_id: kyc.clone(),
            kyc_credential_sha256: kyc.map(|_| "00".repeat(32)),
        };
        trade_tx(&h, &operator(), &enroll);
    }
    let terms = ModeTerms {
        trade_start_cpt: 1,
        checkin_cpt: 2,
        price_fen_per_minute: suanli_primitives::Fen::new(10).unwrap(),
        min_cost_fen: suanli_primitives::Fen::ZERO,
        checkin_period_minutes: 60,
        weights: Weights::new([(Resource::Gpu, 1000)].into()).unwrap(),
        encryption: suanli_trade::model::Encryption::Plaintext,
        trade_type: "payg-minute".into(),
    };
    trade_tx(&h, &supplier, &TradeOp::PublishMode { terms });
    let now = SystemClock.now_ms();
    let offer = OfferTerms {
        mode_id: 1,
        spec: "GPU".into(),
        quantity: 1,
        valid_from_ms: now - 60_000,
        valid_until_ms: now + 3_600_000,
    };
    trade_tx(&h, &supplier, &TradeOp::PublishOffer { terms: offer });
    let mint = Transaction::sign(
        &h.node.chain_id(ChainKind::Trade),
        &operator(),
        h.node.next_nonce(ChainKind::Trade, &operator().public()),
        Payload::Credit(CreditOp::Mint {
            to: consumer.public(),
            amount: PositiveFen::new(1_000).unwrap(),
        }),
    );
    let (status, _) = post(
        &h,
        "/v1/txs?wait_ms=10000",
        "application/octet-stream",
        mint.encoded(),
    );
    assert_eq!(status, 200);
    let serial = Serial::from_bytes([7; 16]);
    let requirements = Requirements {
        spec: "GPU".into(),
        quantity: 1,
        duration_minutes: 60,
    };
    let time_ms = SystemClock.now_ms();
    let digest = op::order_digest(
        &serial,
        time_ms,
        &party_did(&supplier),
        1,
        &requirements,
        suanli_primitives::PositiveFen::new(600).unwrap(),
    );
    let order = TradeOp::Order {
        serial,
        offer_id: 1,
        time_ms,
        requirements,
        value_fen: suanli_primitives::PositiveFen::new(600).unwrap(),
        signature: op::sign_digest(&consumer, &digest),
        wallet: None,
        channel: None,
    };
    trade_tx(&h, &consumer, &order);

    // The public view names the supplier but not the consumer or the money.
    let (status, public) = get(&h, &format!("/v1/trade/trades/{serial}"));
    assert_eq!(status, 200, "{public}");
    assert_eq!(public["status"], "ordered");
    let consumer_did = party_did(&consumer);
    assert!(
        !public.to_string().contains(consumer_did.as_str()),
        "{public}"
    );
    assert!(public.get("funded_fen").is_none());

    // Full records: the parties and the regulator, each with a fresh signed request.
    let full = format!("/v1/trade/trades/{serial}/full");
    let subject = serial.to_string();
    let t = SystemClock.now_ms();
    for (key, who) in [
        (&consumer, "consumer"),
        (&supplier, "supplier"),
        (&regulator, "regulator"),
    ] {
        let (status, body) = post(
            &h,
            &full,
            "application/json",
            &read_body(key, &party_did(key), &subject, t),
        );
        assert_eq!(status, 200, "{who}: {body}");
        assert_eq!(body["trade"]["consumer"], consumer_did.as_str());
        assert_eq!(body["escrow_fen"], 600);
        assert_eq!(body["records"][0]["kind"], "order");
    }
    let refusals = [
        (
            read_body(&stranger, &party_did(&stranger), &subject, t),
            403,
        ),
        // Signed by the stranger's key but claiming to be the consumer.
        (read_body(&stranger, &consumer_did, &subject, t), 401),
        // Stale.
        (
            read_body(&consumer, &consumer_did, &subject, t - 3_600_000),
            401,
        ),
        // Signed for another subject (replayed from another trade).
        (
            read_body(&consumer, &consumer_did, &"00".repeat(16), t),
            401,
        ),
        // Not enrolled.
        (
            read_body(
                &SecretKey::from_label("nobody"),
                &party_did(&SecretKey::from_label("nobody")),
                &subject,
                t,
            ),
            401,
        ),
    ];
    for (body, expected) in refusals {
        let (status, answer) = post(&h, &full, "application/json", &body);
        assert_eq!(status, expected, "{answer}");
        assert_eq!(error_code(&answer), "read_denied");
    }
    // Histories: the party itself and regulators only.
    let history = format!("/v1/trade/parties/{consumer_did}/history");
    let own = read_body(&consumer, &consumer_did, consumer_did.as_str(), t);
    let (status, body) = post(&h, &history, "application/json", &own);
    assert_eq!((status, body["total"].as_u64()), (200, Some(1)), "{body}");
    let other = read_body(&supplier, &party_did(&supplier), consumer_did.as_str(), t);
    assert_eq!(post(&h, &history, "application/json", &other).0, 403);

    // Bad input: 4xx JSON with a reason.
    for (path, status, code) in [
        ("/v1/trade/trades/xyz".to_owned(), 400, "bad_serial"),
        (
            format!("/v1/trade/trades/{}", "ab".repeat(16)),
            404,
            "not_found",
        ),
        ("/v1/trade/modes/-1".to_owned(), 400, "bad_id"),
        ("/v1/trade/modes/99".to_owned(), 404, "not_found"),
        ("/v1/trade/offers?open=maybe".to_owned(), 400, "bad_query"),
        ("/v1/trade/parties/did:web:x".to_owned(), 400, "bad_did"),
        ("/v1/trade/keys/zz".to_owned(), 400, "bad_key"),
        (
            format!("/v1/trade/suppliers/{consumer_did}/reputation"),
            404,
            "not_found",
        ),
    ] {
        let (got, body) = get(&h, &path);
        assert_eq!((got, error_code(&body)), (status, code), "{path}: {body}");
    }
    let (status, body) = post(&h, &full, "application/json", b"{\"reader\": 1}");
    assert_eq!((status, error_code(&body)), (400, "bad_json"));
    let (status, body) = post(
        &h,
        "/v1/trade/prepare",
        "application/json",
        format!("{{\"signer\": \"{}\", \"op\": {{\"op\": \"fund\", \"serial\": \"{serial}\", \"amount_fen\": 0}}}}", consumer.public()).as_bytes(),
    );
    assert_eq!((status, error_code(&body)), (400, "bad_op"), "{body}");
    let (status, body) = post(
        &h,
        "/v1/trade/prepare",
        "application/json",
        format!("{{\"signer\": \"{}\", \"op\": {{\"op\": \"fund\", \"serial\": \"{serial}\", \"amount_fen\": 5}}}}", consumer.public()).as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body["signing_message_hex"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let (status, offers) = get(&h, "/v1/trade/offers?open=true");
    assert_eq!(status, 200);
    assert_eq!(offers["offers"][0]["available"], 0);
}

#[test]
fn reader_tokens_reach_the_public_api_but_not_the_raw_ledger() {
    let (member, reader) = ("member-token-0123456789", "reader-token-0123456789");
    let h = start_with(
        MempoolConfig::default(),
        true,
        suanli_node_http::Access::tokens(&[member]).with_readers(&[reader]),
    );
    let call = |token: &str, path: &str| {
        agent()
            .get(&format!("{}{path}", h.base))
            .header("authorization", format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    let serial = "ab".repeat(16);
    let trade_state = hex::encode(format!("trade/t/{serial}"));
    let public = [
        "/v1/chains/trade/head".to_owned(),
        format!("/v1/chains/trade/nonces/{}", operator().public()),
        "/v1/trade/offers".to_owned(),
        "/1.0/issuers".to_owned(),
    ];
    let raw = [
        "/v1/chains/trade/blocks/0".to_owned(),
        "/v1/chains/trade/blocks".to_owned(),
        format!("/v1/chains/trade/state/{trade_state}"),
        format!("/v1/chains/trade/credit/{}", operator().public()),
        format!("/v1/txs/{}/proof", "00".repeat(32)),
    ];
    for path in &public {
        assert_eq!(call(reader, path), 200, "reader {path}");
        assert_eq!(call(member, path), 200, "member {path}");
    }
    for path in &raw {
        assert_eq!(call(reader, path), 401, "reader {path}");
        assert_ne!(call(member, path), 401, "member {path}");
    }
}
