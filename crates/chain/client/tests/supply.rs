//! The supplier side end to end through a node's HTTP API (`docs/trade.md` §1.1, §2.1) — and the
//! consumer side's wallet orders and trade bundles (§1.2, §10):
//! modes, offers and CPTs signed by the supplier's own key, an order accepted by its
//! delegated agent key — each read back through the node API down to the signing key —
//! and the agent key refused after its revocation.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use serde_json::{Value, json};
use suanli_identity::op::IdentityOp;
use suanli_identity::{Fragment, SuanliDid};
use suanli_ledger::MempoolConfig;
use suanli_ledger_client::embedded::{NETWORK_DEFAULT, Running, open_node, stop};
use suanli_ledger_client::supply;
use suanli_ledger_client::trade::{self as trade_client, OrderRequest};
use suanli_ledger_client::wallet::now_ms;
use suanli_ledger_client::{HttpLedger, LedgerClient, LedgerError};
use suanli_primitives::{ChainKind, Fen, PositiveFen, SecretKey, sha256};
use suanli_trade::model::{Encryption, ModeTerms, OfferTerms, Resource, Weights};
use suanli_trade::{PartyDid, Role, TradeOp};

const TOKEN: &str = "member-token-0123456789";

struct World {
    running: Option<Running>,
    http: HttpLedger,
    operator: SecretKey,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            stop(r);
        }
    }
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let operator = SecretKey::from_label("supply/operator");
    let mempool = MempoolConfig {
        block_interval_ms: 5,
        ..Default::default()
    };
    let running = open_node(
        dir.path(),
        NETWORK_DEFAULT,
        Some(operator.public()),
        mempool,
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(suanli_node_http::serve(
        Arc::clone(&running.0),
        suanli_node_http::Access::tokens(&[TOKEN]),
        listener,
        std::future::pending(),
    ));
    World {
        running: Some(running),
        http: HttpLedger::new(&url, Some(TOKEN)),
        operator,
        _runtime: runtime,
        _dir: dir,
    }
}

/// A DID on the identity chain for `key`, enrolled on the trade chain in `role` (the
/// operator's attestation names a KYC credential by id and digest; checking it is the
/// enrolment's business, `docs/trade.md` §1).
fn party(w: &World, key: &SecretKey, role: Role) -> PartyDid {
    suanli_ledger_client::identity::submit(&w.http, key, IdentityOp::CreateDid).unwrap();
    let network = w.http.network().unwrap();
    let did = SuanliDid::for_initial_key(network, &key.public());
    let did = PartyDid::parse(&did.to_string()).unwrap();
    let enroll = TradeOp::Enroll {
        did: did.clone(),
        role,
        key: key.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: Some(format!("urn:uuid:kyc-{}", role.as_str())),
        kyc_credential_sha256: Some(sha256(role.as_str().as_bytes()).to_hex()),
    };
    trade_client::submit(&w.http, &w.operator, &enroll, "enroll").unwrap();
    did
}

fn mode_terms() -> ModeTerms {
    ModeTerms {
        trade_start_cpt: 1,
        checkin_cpt: 2,
        price_fen_per_minute: Fen::new(10).unwrap(),
        min_cost_fen: Fen::new(100).unwrap(),
        checkin_period_minutes: 60,
        weights: Weights::new([(Resource::Gpu, 600), (Resource::Network, 400)].into()).unwrap(),
        encryption: Encryption::Plaintext,
        trade_type: "payg-minute".into(),
    }
}

/// `GET /v1/trade/signers/{tx}`: the signer key and whom it acts for.
fn signer(w: &World, tx: &Value) -> Value {
    w.http
        .get_ok(&format!("/v1/trade/signers/{}", tx.as_str().unwrap()))
        .unwrap()
}

fn order(w: &World, consumer: &SecretKey, offer: u64) -> suanli_trade::Serial {
    let request = OrderRequest {
        offer,
        minutes: 120,
        value_fen: PositiveFen::new(2_000).unwrap(),
        quantity: 1,
        serial: None,
    };
    trade_client::order(&w.http, consumer, request).unwrap().0
}

#[test]
fn modes_offers_and_acceptances_are_signed_by_the_supplier_and_its_agent_key() {
    let w = world();
    let supplier_key = SecretKey::from_label("supply/supplier");
    let consumer_key = SecretKey::from_label("supply/consumer");
    let agent = SecretKey::from_label("supply/agent");
    let supplier = party(&w, &supplier_key, Role::Supplier);
    party(&w, &consumer_key, Role::Consumer);
    let mint = suanli_ledger::Payload::Credit(suanli_ledger::credit::CreditOp::Mint {
        to: consumer_key.public(),
        amount: PositiveFen::new(100_000).unwrap(),
    });
    w.http
        .transact(
            ChainKind::Trade,
            &w.operator,
            mint,
            std::time::Duration::from_secs(10),
        )
        .unwrap();

    let mode = supply::publish_mode(&w.http, &supplier_key, mode_terms()).unwrap();
    let now = now_ms();
    let offer_terms = OfferTerms {
        mode_id: mode.id,
        spec: "A100-80G x1".into(),
        quantity: 2,
        valid_from_ms: now - 60_000,
        valid_until_ms: now + 3_600_000,
    };
    let offer = supply::publish_offer(&w.http, &supplier_key, offer_terms).unwrap();
    let fragment = Fragment::new("agent-1").unwrap();
    let proof = suanli_trade::op::agent_proof(&agent, &supplier, "agent-1");
    let delegated =
        supply::authorise_agent_key(&w.http, &supplier_key, &agent.public(), &proof, &fragment)
            .unwrap();
    assert!(delegated.identity_tx.is_some() && delegated.trade_tx.is_some());
    // Repeated (e.g. after a timeout), nothing is sent again.
    let again =
        supply::authorise_agent_key(&w.http, &supplier_key, &agent.public(), &proof, &fragment)
            .unwrap();
    assert_eq!((again.identity_tx, again.trade_tx), (None, None));

    // The supplier's mode and offer, read through the node API, name their transactions,
    // signed by the supplier's own key.
    let modes = w
        .http
        .get_ok(&format!("/v1/trade/suppliers/{supplier}/modes"))
        .unwrap();
    assert_eq!(modes["total"], json!(1));
    let offers = w
        .http
        .get_ok(&format!("/v1/trade/suppliers/{supplier}/offers"))
        .unwrap();
    assert_eq!(offers["offers"][0]["id"], json!(offer.id));
    for published in [&modes["modes"][0], &offers["offers"][0]] {
        let who = signer(&w, &published["tx_id"]);
        assert_eq!(who["signer"], json!(supplier_key.public().to_hex()));
        assert_eq!(who["acts_for"]["did"], json!(supplier.as_str()));
        assert_eq!(who["acts_for"]["as"], json!("party"));
    }

    // The agent key accepts an order; the contract record's transaction is the agent's,
    // acting for the supplier, and its credential verifies on the identity chain.
    let serial = order(&w, &consumer_key, offer.id);
    let page = supply::supplier_trades(&w.http, &supplier, 0, 10).unwrap();
    assert_eq!(page.total, 1);
    assert!(page.trades[0].awaiting_acceptance());
    supply::accept_order(&w.http, &agent, "agent-1", &serial, now_ms()).unwrap();
    let trade = supply::trade_records(&w.http, &serial, 0).unwrap().unwrap();
    let contract = &trade.records[1];
    assert_eq!(contract.agent_key, Some(agent.public()));
    let who = signer(&w, &json!(contract.tx_id.to_string()));
    assert_eq!(who["signer"], json!(agent.public().to_hex()));
    assert_eq!(who["acts_for"]["as"], json!("agent"));
    assert_eq!(who["acts_for"]["did"], json!(supplier.as_str()));
    assert_eq!(who["acts_for"]["key_fragment"], json!("agent-1"));
    let credential = contract.data.credential().unwrap();
    let verified = w
        .http
        .post_ok(
            "/1.0/credentials/verify",
            &json!({"credential": credential}),
        )
        .unwrap();
    assert_eq!(verified["verified"], json!(true), "{verified}");
    let key = w
        .http
        .get_ok(&format!("/v1/trade/keys/{}", agent.public()))
        .unwrap();
    assert_eq!(key["did"], json!(supplier.as_str()));

    // Revoked: the agent key's next acceptance is refused with its code, and the node API
    // shows the revocation.
    let revoked = supply::revoke_agent_key(&w.http, &supplier_key, &agent.public()).unwrap();
    assert!(revoked.identity_tx.is_some() && revoked.trade_tx.is_some());
    let again = supply::revoke_agent_key(&w.http, &supplier_key, &agent.public()).unwrap();
    assert_eq!((again.identity_tx, again.trade_tx), (None, None));
    // The agent's method left the supplier's DID document.
    let doc = w
        .http
        .get_ok(&format!("/1.0/identifiers/{supplier}"))
        .unwrap();
    assert!(!doc.to_string().contains("#agent-1"), "{doc}");
    let second = order(&w, &consumer_key, offer.id);
    let refused = supply::accept_order(&w.http, &agent, "agent-1", &second, now_ms()).unwrap_err();
    match refused {
        suanli_ledger_client::ClientError::Context { source, .. } => match *source {
            suanli_ledger_client::ClientError::Ledger(LedgerError::Failed { reason, .. }) => {
                assert!(reason.starts_with("agent_key_revoked"), "{reason}");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let agents = w
        .http
        .get_ok(&format!("/v1/trade/suppliers/{supplier}/agents"))
        .unwrap();
    assert!(agents["agents"][0]["revoked_at_ms"].is_u64(), "{agents}");
    // The supplier's own key still accepts.
    supply::accept_order(&w.http, &supplier_key, "key-1", &second, now_ms()).unwrap();
    let page = supply::supplier_trades(&w.http, &supplier, 0, 10).unwrap();
    assert_eq!(page.total, 2);
    assert!(page.trades.iter().all(|t| !t.awaiting_acceptance()));
    let reputation = supply::supplier_reputation(&w.http, &supplier, now_ms()).unwrap();
    assert_eq!(reputation.contracted, 2);
    assert_eq!(supply::supplier_modes(&w.http, &supplier).unwrap().len(), 1);
    assert_eq!(
        supply::supplier_agents(&w.http, &supplier).unwrap().len(),
        1
    );
}

fn rejected_code(e: suanli_ledger_client::ClientError) -> String {
    match e {
        suanli_ledger_client::ClientError::Context { source, .. } => rejected_code(*source),
        suanli_ledger_client::ClientError::Ledger(
            LedgerError::Rejected { code, .. } | LedgerError::RefusedRemote { code, .. },
        ) => code,
        suanli_ledger_client::ClientError::Ledger(LedgerError::Failed { reason, .. }) => {
            reason.split(':').next().unwrap_or_default().to_owned()
        }
        other => panic!("{other:?}"),
    }
}

/// The built-in template `n` (0: trade-start, 1: check-in) under the supplier's title.
fn own_schema(n: usize) -> Value {
    let mut s = suanli_vc::cpt::builtin_templates()[n].1.clone();
    s["title"] = json!("闽算 own template");
    s
}

#[test]
fn a_supplier_s_own_cpts_are_signed_by_its_key_and_usable_only_by_its_modes() {
    use suanli_trade::cpts::CptPurpose;
    let w = world();
    let supplier_key = SecretKey::from_label("supply/cpt-supplier");
    let rival_key = SecretKey::from_label("supply/rival");
    let consumer_key = SecretKey::from_label("supply/cpt-consumer");
    let supplier = party(&w, &supplier_key, Role::Supplier);
    let rival = party(&w, &rival_key, Role::Supplier);
    party(&w, &consumer_key, Role::Consumer);
    let start = supply::register_supplier_cpt(
        &w.http,
        &supplier_key,
        CptPurpose::TradeStart,
        &own_schema(0),
    )
    .unwrap();
    let checkin =
        supply::register_supplier_cpt(&w.http, &supplier_key, CptPurpose::Checkin, &own_schema(1))
            .unwrap();
    // Through the node API: the registry names the supplier's DID as publisher, the
    // registration was signed by the supplier's key, and so was the adoption.
    let did_id = SuanliDid::parse(supplier.as_str())
        .unwrap()
        .id()
        .to_string();
    let cpt = w.http.get_ok(&format!("/1.0/cpts/{}", start.cpt)).unwrap();
    assert_eq!(cpt["publisher"], json!(did_id));
    let registered = signer(&w, &json!(start.identity_tx));
    assert_eq!(registered["signer"], json!(supplier_key.public().to_hex()));
    assert_eq!(registered["chain"], json!("identity"));
    let adopted = w
        .http
        .get_ok(&format!("/v1/trade/cpts/{}", start.cpt))
        .unwrap();
    assert_eq!(adopted["cpt"]["supplier"], json!(supplier.as_str()));
    assert_eq!(adopted["cpt"]["purpose"], json!("trade_start"));
    let who = signer(&w, &adopted["cpt"]["tx_id"]);
    assert_eq!(who["signer"], json!(supplier_key.public().to_hex()));
    assert_eq!(who["acts_for"]["did"], json!(supplier.as_str()));

    // A rival cannot adopt it (the node refuses at admission) nor name it in a mode.
    let steal = TradeOp::AdoptCpt {
        cpt: start.cpt,
        purpose: CptPurpose::TradeStart,
        schema: own_schema(0),
    };
    let refused = trade_client::submit(&w.http, &rival_key, &steal, "adopt").unwrap_err();
    assert_eq!(rejected_code(refused), "not_cpt_owner");
    let mut foreign = mode_terms();
    foreign.trade_start_cpt = start.cpt;
    let refused = supply::publish_mode(&w.http, &rival_key, foreign).unwrap_err();
    assert_eq!(rejected_code(refused), "not_cpt_owner");
    assert!(supply::supplier_modes(&w.http, &rival).unwrap().is_empty());

    // The supplier's mode with its own CPTs; the contract's credential names the CPT and
    // verifies on the identity chain.
    let mut own = mode_terms();
    own.trade_start_cpt = start.cpt;
    own.checkin_cpt = checkin.cpt;
    let mode = supply::publish_mode(&w.http, &supplier_key, own).unwrap();
    let now = now_ms();
    let offer = supply::publish_offer(
        &w.http,
        &supplier_key,
        OfferTerms {
            mode_id: mode.id,
            spec: "H800 x8".into(),
            quantity: 1,
            valid_from_ms: now - 60_000,
            valid_until_ms: now + 3_600_000,
        },
    )
    .unwrap();
    let mint = suanli_ledger::Payload::Credit(suanli_ledger::credit::CreditOp::Mint {
        to: consumer_key.public(),
        amount: PositiveFen::new(100_000).unwrap(),
    });
    w.http
        .transact(
            ChainKind::Trade,
            &w.operator,
            mint,
            std::time::Duration::from_secs(10),
        )
        .unwrap();
    let serial = order(&w, &consumer_key, offer.id);
    supply::accept_order(&w.http, &supplier_key, "key-1", &serial, now_ms()).unwrap();
    let trade = supply::trade_records(&w.http, &serial, 0).unwrap().unwrap();
    let credential = trade.records[1].data.credential().unwrap();
    assert!(
        credential["credentialSchema"]["id"]
            .as_str()
            .unwrap()
            .contains(&format!(":{}:", start.cpt)),
        "{credential}"
    );
    let verified = w
        .http
        .post_ok(
            "/1.0/credentials/verify",
            &json!({"credential": credential}),
        )
        .unwrap();
    assert_eq!(verified["verified"], json!(true), "{verified}");
}

/// A node that skipped the CPT admission rule lets a rival adopt another supplier's CPT;
/// `verify_all_with` (what `suanli chain verify` runs) finds it afterwards.
#[test]
fn verification_re_checks_cpt_adoptions_a_node_did_not_check() {
    use suanli_trade::cpts::CptPurpose;
    let dir = tempfile::tempdir().unwrap();
    let operator = SecretKey::from_label("verify/operator");
    let config = suanli_node::NodeConfig {
        network: suanli_primitives::NetworkName::new("suanli-test").unwrap(),
        credit_operator: operator.public(),
        mempool: MempoolConfig {
            block_interval_ms: 5,
            ..Default::default()
        },
        extensions: suanli_ledger_client::embedded::network_contracts(),
        admission: Vec::new(),
    };
    let node = suanli_node::Node::open(
        dir.path(),
        config,
        Arc::new(suanli_node::Solo::new(SecretKey::from_label("verify/node"))),
        Arc::new(suanli_primitives::SystemClock),
    )
    .unwrap();
    let producers = node.start();
    let client: &dyn LedgerClient = node.as_ref();
    let enrol = |key: &SecretKey| {
        suanli_ledger_client::identity::submit(client, key, IdentityOp::CreateDid).unwrap();
        let did = SuanliDid::for_initial_key(
            suanli_primitives::NetworkName::new("suanli-test").unwrap(),
            &key.public(),
        );
        let enroll = TradeOp::Enroll {
            did: PartyDid::parse(&did.to_string()).unwrap(),
            role: Role::Supplier,
            key: key.public(),
            key_fragment: "key-1".into(),
            kyc_credential_id: Some("urn:uuid:kyc".into()),
            kyc_credential_sha256: Some(sha256(b"kyc").to_hex()),
        };
        trade_client::submit(client, &operator, &enroll, "enroll").unwrap();
    };
    let (owner, rival) = (
        SecretKey::from_label("verify/owner"),
        SecretKey::from_label("verify/rival"),
    );
    enrol(&owner);
    enrol(&rival);
    // The owner registers a CPT on the identity chain (not adopting it); without the rule
    // the rival's adoption of it gets in.
    let schema = own_schema(1);
    let register = IdentityOp::RegisterCpt {
        publisher: SuanliDid::for_initial_key(
            suanli_primitives::NetworkName::new("suanli-test").unwrap(),
            &owner.public(),
        )
        .id()
        .clone(),
        cpt: None,
        qualification: false,
        schema_json: schema.to_string(),
    };
    suanli_ledger_client::identity::submit(client, &owner, register).unwrap();
    let steal = TradeOp::AdoptCpt {
        cpt: suanli_identity::contract::CPT_ID_FIRST,
        purpose: CptPurpose::Checkin,
        schema,
    };
    trade_client::submit(client, &rival, &steal, "adopt").unwrap();
    node.stop();
    for p in producers {
        p.join().unwrap();
    }
    drop(node);
    let store = suanli_node::ChainStore::open(&dir.path().join("chain.redb")).unwrap();
    let contracts = suanli_ledger_client::embedded::network_contracts();
    suanli_node::verify::verify_all(&store, &contracts).unwrap();
    let found = suanli_node::verify::verify_all_with(
        &store,
        &contracts,
        &suanli_ledger_client::embedded::network_admission(),
    )
    .unwrap_err();
    assert!(found.to_string().contains("not_cpt_owner"), "{found}");
}

/// The method #fragment of `did`'s document on the identity chain, if any.
fn has_method(w: &World, key: &SecretKey, fragment: &Fragment) -> bool {
    let state = supply::ChainState::new(&w.http, ChainKind::Identity);
    let id = SuanliDid::for_initial_key(w.http.network().unwrap(), &key.public())
        .id()
        .clone();
    let head = suanli_identity::contract::head(&state, &id);
    let head = state.done(head).unwrap().unwrap();
    head.state.method(fragment).is_some()
}

/// The two-chain steps' partial paths (M3): a delegation the trade chain refuses leaves no
/// key in the DID document, one the state already refuses adds none, and a revocation
/// whose second step (the DID document) is missing is finished by running it again.
#[test]
fn delegation_and_revocation_recover_from_a_partial_step() {
    let w = world();
    let supplier_key = SecretKey::from_label("supply/partial-supplier");
    let agent = SecretKey::from_label("supply/partial-agent");
    let fragment = Fragment::new("agent-1").unwrap();
    // Enrolled as a consumer only: the trade chain refuses after the DID document step.
    let did = party(&w, &supplier_key, Role::Consumer);
    let proof = suanli_trade::op::agent_proof(&agent, &did, "agent-1");
    let refused =
        supply::authorise_agent_key(&w.http, &supplier_key, &agent.public(), &proof, &fragment)
            .unwrap_err();
    assert_eq!(refused.code(), "tx_failed", "{refused:?}");
    assert!(!has_method(&w, &supplier_key, &fragment), "rolled back");
    // A proof by another key is refused before anything is written.
    let other = SecretKey::from_label("supply/partial-other");
    let bad = suanli_trade::op::agent_proof(&other, &did, "agent-1");
    let refused =
        supply::authorise_agent_key(&w.http, &supplier_key, &agent.public(), &bad, &fragment)
            .unwrap_err();
    assert_eq!(refused.code(), "invalid", "{refused:?}");
    assert!(!has_method(&w, &supplier_key, &fragment));

    // Enrolled as a supplier too: delegated, then revoked on the trade chain alone (as if
    // the identity step had failed); the client's revoke finishes the identity step.
    let enroll = TradeOp::Enroll {
        did: did.clone(),
        role: Role::Supplier,
        key: supplier_key.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: Some("urn:uuid:kyc-supplier".into()),
        kyc_credential_sha256: Some(sha256(b"supplier").to_hex()),
    };
    trade_client::submit(&w.http, &w.operator, &enroll, "enroll").unwrap();
    supply::authorise_agent_key(&w.http, &supplier_key, &agent.public(), &proof, &fragment)
        .unwrap();
    assert!(has_method(&w, &supplier_key, &fragment));
    let revoke = TradeOp::RevokeAgent {
        key: agent.public(),
    };
    trade_client::submit(&w.http, &supplier_key, &revoke, "revoke").unwrap();
    let again = supply::revoke_agent_key(&w.http, &supplier_key, &agent.public()).unwrap();
    assert_eq!(again.trade_tx, None);
    assert!(again.identity_tx.is_some());
    assert!(!has_method(&w, &supplier_key, &fragment));
    // Re-delegating the revoked key is refused before the DID document is touched.
    let refused =
        supply::authorise_agent_key(&w.http, &supplier_key, &agent.public(), &proof, &fragment)
            .unwrap_err();
    assert!(
        refused.to_string().contains("agent_key_revoked"),
        "{refused}"
    );
    assert!(!has_method(&w, &supplier_key, &fragment));
}

/// The consumer side of the exchange (`docs/trade.md` §1.2, §10): an organisation wallet
/// the operator fills and whose member orders with a channel delegation, a pre-signed
/// order checked before it is sent, and the trade's bundle verified offline — and refused
/// once any part of it is changed.
#[test]
fn wallet_orders_are_checked_submitted_and_verifiable_offline() {
    use suanli_ledger_client::exchange::{self, OrderDraft, WalletOp};
    use suanli_trade::bundle;
    use suanli_trade::wallet::{ChannelDelegation, WalletName};

    let w = world();
    let supplier_key = SecretKey::from_label("exchange/supplier");
    let consumer_key = SecretKey::from_label("exchange/consumer");
    party(&w, &supplier_key, Role::Supplier);
    let consumer = party(&w, &consumer_key, Role::Consumer);
    let mode = supply::publish_mode(&w.http, &supplier_key, mode_terms()).unwrap();
    let now = now_ms();
    let offer_terms = OfferTerms {
        mode_id: mode.id,
        spec: "A100-80G x1".into(),
        quantity: 2,
        valid_from_ms: now - 60_000,
        valid_until_ms: now + 3_600_000,
    };
    let offer = supply::publish_offer(&w.http, &supplier_key, offer_terms).unwrap();
    let wallet = WalletName::parse("org:7").unwrap();
    let mint = WalletOp::Mint {
        amount_fen: PositiveFen::new(50_000).unwrap(),
        reference: "recharge:1".into(),
    };
    exchange::wallet_op(&w.http, &w.operator, &wallet, mint).unwrap();
    let member = WalletOp::Member {
        did: consumer.clone(),
        limit_fen: Fen::new(10_000).unwrap(),
    };
    exchange::wallet_op(&w.http, &w.operator, &wallet, member).unwrap();

    let delegate = SecretKey::from_label("exchange/platform channel key");
    let draft = OrderDraft {
        serial: suanli_trade::Serial::from_bytes([7; 16]),
        offer_id: offer.id,
        requirements: suanli_trade::model::Requirements {
            spec: "A100-80G x1".into(),
            quantity: 1,
            duration_minutes: 120,
        },
        value_fen: PositiveFen::new(2_000).unwrap(),
        wallet: Some(wallet.clone()),
        channel: Some(ChannelDelegation {
            key: delegate.public(),
            endpoint: "tcp://127.0.0.1:7420".into(),
            valid_until_ms: now + 86_400_000,
        }),
        time_ms: now_ms(),
    };
    let tx = exchange::sign_order(&w.http, &consumer_key, &draft).unwrap();
    let facts = exchange::check_order(&w.http, &tx).unwrap();
    assert_eq!(
        (facts.consumer, facts.draft.clone()),
        (consumer.clone(), draft.clone())
    );
    // An order signed by one key inside a transaction of another is not the signer's.
    let stranger = SecretKey::from_label("exchange/stranger");
    let forged_op = exchange::order_op(&stranger, &facts.supplier, &draft);
    let forged = w
        .http
        .sign_next(
            ChainKind::Trade,
            &consumer_key,
            suanli_ledger::Payload::Call(forged_op.to_call().unwrap()),
        )
        .unwrap();
    let refused = exchange::check_order(&w.http, &forged).unwrap_err();
    assert!(refused.to_string().contains("does not verify"), "{refused}");

    exchange::submit(&w.http, &tx, 10_000).unwrap();
    exchange::submit(&w.http, &tx, 10_000).unwrap(); // the same bytes again: applied once
    let view = exchange::wallet_view(&w.http, &wallet).unwrap().unwrap();
    assert_eq!(view.balance_fen, 48_000);
    assert_eq!(view.members[0].spent_fen, 2_000);

    supply::accept_order(&w.http, &supplier_key, "key-1", &draft.serial, now_ms()).unwrap();
    supply::close_trade(
        &w.http,
        &consumer_key,
        &draft.serial,
        suanli_trade::CloseReason::StoppedByConsumer,
    )
    .unwrap();
    let scores =
        suanli_trade::model::Scores::new([(Resource::Gpu, 90), (Resource::Network, 80)].into())
            .unwrap();
    exchange::rate(&w.http, &consumer_key, &draft.serial, scores, now_ms()).unwrap();
    let status = exchange::trade_status(&w.http, &draft.serial)
        .unwrap()
        .unwrap();
    let refund = status.trade.closure.as_ref().unwrap().refund_fen.get();
    let view = exchange::wallet_view(&w.http, &wallet).unwrap().unwrap();
    assert_eq!(
        view.balance_fen,
        48_000 + refund,
        "the refund went back to the wallet"
    );

    // The bundle verifies offline, through a JSON round trip, and names its producer.
    let made = suanli_ledger_client::bundle::trade_bundle(&w.http, &draft.serial)
        .unwrap()
        .unwrap();
    let text = serde_json::to_string(&made).unwrap();
    let bundle: bundle::Bundle = serde_json::from_str(&text).unwrap();
    let report = bundle::verify(&bundle, &[]).unwrap();
    assert_eq!((report.records, report.credentials), (4, 1));
    assert_eq!(report.producers.len(), 1);
    bundle::verify(&bundle, &report.producers).unwrap();
    let wrong = bundle::verify(&bundle, &[stranger.public()]).unwrap_err();
    assert_eq!(wrong.check, "producer");

    // Any change is caught: a record's amount, a transaction, a proof.
    let mut changed = bundle.clone();
    if let suanli_trade::records::RecordData::Order(d) = &mut changed.entries[0].record.data {
        d.value_fen = PositiveFen::new(1).unwrap();
    }
    assert_eq!(
        bundle::verify(&changed, &[]).unwrap_err().check,
        "order_signature"
    );
    let mut changed = bundle.clone();
    changed.entries[0].tx_hex = bundle.entries[1].tx_hex.clone();
    assert_eq!(bundle::verify(&changed, &[]).unwrap_err().check, "tx_id");
    let mut changed = bundle.clone();
    changed.entries[1].proof.leaf_index ^= 1;
    changed.entries[1].proof.tree_size += 1;
    assert_eq!(
        bundle::verify(&changed, &[]).unwrap_err().check,
        "inclusion"
    );
}
