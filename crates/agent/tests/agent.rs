//! The agent against an embedded node: it accepts an order within its policy, leaves one
//! outside it to the supplier (and accepts it once approved), raises the work orders,
//! checks in only after the fill-back, closes at the end of the term, releases the work
//! order and remembers the trade as done. The platform is an in-memory double of the
//! work-order API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use suanli_agent::channels::SupplierChannels;
use suanli_agent::platform::{Access, Platform, WorkOrder};
use suanli_agent::policy::{Limits, Policy};
use suanli_agent::provision::ManualWorkOrders;
use suanli_agent::store::DoneStore;
use suanli_agent::{Agent, AgentError};
use suanli_identity::SuanliDid;
use suanli_ledger::credit::CreditOp;
use suanli_ledger::{MempoolConfig, Payload};
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::embedded::{open_node_with_clock, stop};
use suanli_ledger_client::trade::submit;
use suanli_primitives::{ChainKind, Clock, Fen, NetworkName, PositiveFen, SecretKey};
use suanli_trade::model::{MINUTE_MS, ModeTerms, OfferTerms, Requirements, Resource, Weights};
use suanli_trade::records::Status;
use suanli_trade::{PartyDid, Role, Serial, TradeOp, op};

const NETWORK: &str = "suanli-test";
const WAIT: Duration = Duration::from_secs(15);

/// Real time plus an offset the test moves forward (the node's and the agent's clock).
#[derive(Debug, Default)]
struct Skip(AtomicI64);

impl Clock for Skip {
    fn now_ms(&self) -> u64 {
        let real = suanli_primitives::SystemClock.now_ms();
        real.saturating_add_signed(self.0.load(Ordering::SeqCst))
    }
}

impl Skip {
    fn minutes(&self, m: i64) {
        self.0.fetch_add(m * 60_000, Ordering::SeqCst);
    }
}

/// The platform's work orders, in memory.
#[derive(Debug, Default)]
struct Orders(Mutex<BTreeMap<String, WorkOrder>>);

impl Platform for Orders {
    fn raise(&self, serial: &Serial, needs_approval: bool) -> Result<WorkOrder, AgentError> {
        let mut m = self.0.lock().unwrap();
        let id = m.len() as i64 + 1;
        let status = if needs_approval {
            "awaiting_approval"
        } else {
            "open"
        };
        Ok(m.entry(serial.to_string())
            .or_insert_with(|| WorkOrder {
                id,
                serial: serial.to_string(),
                status: status.into(),
                access: None,
            })
            .clone())
    }
    fn close(&self, id: i64) -> Result<WorkOrder, AgentError> {
        let mut m = self.0.lock().unwrap();
        let w = m.values_mut().find(|w| w.id == id).unwrap();
        w.status = "closed".into();
        Ok(w.clone())
    }
}

impl Orders {
    fn status(&self, serial: &Serial) -> Option<String> {
        self.0
            .lock()
            .unwrap()
            .get(&serial.to_string())
            .map(|w| w.status.clone())
    }
    fn set(&self, serial: &Serial, status: &str, access: Option<Access>) {
        let mut m = self.0.lock().unwrap();
        let w = m.get_mut(&serial.to_string()).unwrap();
        w.status = status.into();
        w.access = access;
    }
}

struct Party {
    key: SecretKey,
    did: PartyDid,
}

fn party(label: &str) -> Party {
    let key = SecretKey::from_label(label);
    let did = SuanliDid::for_initial_key(NetworkName::new(NETWORK).unwrap(), &key.public());
    Party {
        did: PartyDid::parse(&did.to_string()).unwrap(),
        key,
    }
}

fn weights() -> Weights {
    Weights::new([(Resource::Cpu, 500), (Resource::Gpu, 500)].into()).unwrap()
}

fn enroll(ledger: &dyn LedgerClient, operator: &SecretKey, p: &Party, role: Role) {
    let op = TradeOp::Enroll {
        did: p.did.clone(),
        role,
        key: p.key.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: Some(format!("urn:test:kyc:{}", p.did.as_str())),
        kyc_credential_sha256: Some("00".repeat(32)),
    };
    submit(ledger, operator, &op, "enroll").unwrap();
}

fn order(
    ledger: &dyn LedgerClient,
    c: &Party,
    supplier: &Party,
    n: u8,
    quantity: u32,
    now: u64,
) -> Serial {
    let serial = Serial::from_bytes([n; 16]);
    let requirements = Requirements {
        spec: "gpu-a100".into(),
        quantity,
        duration_minutes: 60,
    };
    let value = PositiveFen::new(10_000).unwrap();
    let digest = op::order_digest(&serial, now, &supplier.did, 1, &requirements, value);
    let op = TradeOp::Order {
        serial,
        offer_id: 1,
        time_ms: now,
        requirements,
        value_fen: value,
        signature: op::sign_digest(&c.key, &digest),
        wallet: None,
        channel: None,
    };
    submit(ledger, &c.key, &op, "order").unwrap();
    serial
}

fn trade(ledger: &dyn LedgerClient, serial: &Serial) -> suanli_trade::records::Trade {
    let bytes = ledger
        .state_get(ChainKind::Trade, &suanli_trade::records::trade_key(serial))
        .unwrap()
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn accepts_within_policy_leaves_the_rest_provisions_checks_in_and_closes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(Skip::default());
    let operator = SecretKey::from_label("agent-test/operator");
    let mempool = MempoolConfig {
        block_interval_ms: 5,
        ..MempoolConfig::default()
    };
    let running = open_node_with_clock(
        &dir.path().join("node"),
        NETWORK,
        Some(operator.public()),
        mempool,
        clock.clone(),
    )
    .unwrap();
    let ledger: Arc<dyn LedgerClient> = running.0.clone();
    let (supplier, consumer) = (party("agent-test/supplier"), party("agent-test/consumer"));
    enroll(ledger.as_ref(), &operator, &supplier, Role::Supplier);
    enroll(ledger.as_ref(), &operator, &consumer, Role::Consumer);
    let mint = Payload::Credit(CreditOp::Mint {
        to: consumer.key.public(),
        amount: PositiveFen::new(100_000).unwrap(),
    });
    ledger
        .transact(ChainKind::Trade, &operator, mint, WAIT)
        .unwrap();
    let terms = ModeTerms {
        trade_start_cpt: 1,
        checkin_cpt: 2,
        price_fen_per_minute: Fen::new(10).unwrap(),
        min_cost_fen: Fen::new(0).unwrap(),
        checkin_period_minutes: 30,
        weights: weights(),
        encryption: suanli_trade::model::Encryption::Plaintext,
        trade_type: "payg-minute".into(),
    };
    submit(
        ledger.as_ref(),
        &supplier.key,
        &TradeOp::PublishMode { terms },
        "mode",
    )
    .unwrap();
    let now = clock.now_ms();
    let offer = OfferTerms {
        mode_id: 1,
        spec: "gpu-a100".into(),
        quantity: 16,
        valid_from_ms: now - MINUTE_MS,
        valid_until_ms: now + 24 * 60 * MINUTE_MS,
    };
    submit(
        ledger.as_ref(),
        &supplier.key,
        &TradeOp::PublishOffer { terms: offer },
        "offer",
    )
    .unwrap();
    let small = order(ledger.as_ref(), &consumer, &supplier, 1, 2, now);
    let big = order(ledger.as_ref(), &consumer, &supplier, 2, 8, now);

    let platform = Arc::new(Orders::default());
    let agent = Agent {
        ledger: ledger.clone(),
        platform: platform.clone(),
        provisioner: Arc::new(ManualWorkOrders::new(platform.clone())),
        supplier: PartyDid::parse(supplier.did.as_str()).unwrap(),
        // Until agent keys can be delegated on the chain, the agent signs with the key the
        // configuration names: here the supplier's enrolled key.
        key: SecretKey::from_label("agent-test/supplier"),
        key_fragment: "key-1".into(),
        policy: Policy::Auto(Limits {
            max_units: 4,
            max_minutes: 120,
            max_value_fen: 20_000,
            offers: vec![1],
        }),
        store: DoneStore::open(&dir.path().join("agent")).unwrap(),
        clock: clock.clone(),
        channels: SupplierChannels::own_runtime(&dir.path().join("agent")).unwrap(),
    };

    // Round 1: the small order is accepted and its work order raised; the big one waits.
    let r = agent.tick().unwrap();
    assert_eq!(
        (r.accepted, r.awaiting_approval, r.failed),
        (1, 1, 0),
        "{r:?}"
    );
    assert_eq!(trade(ledger.as_ref(), &small).status, Status::Active);
    assert_eq!(trade(ledger.as_ref(), &big).status, Status::Ordered);
    assert_eq!(platform.status(&small).as_deref(), Some("open"));
    assert_eq!(platform.status(&big).as_deref(), Some("awaiting_approval"));

    // A period passes without the fill-back: no check-in.
    clock.minutes(31);
    let r = agent.tick().unwrap();
    assert_eq!(
        (r.checked_in, r.provisioning, r.awaiting_approval),
        (0, 1, 1),
        "{r:?}"
    );
    assert_eq!(trade(ledger.as_ref(), &small).checkins, 0);

    // Filled back and approved: the small trade checks in its first period at the mode's
    // price (10 fen × 2 units × 30 minutes), the big one is accepted.
    let access = Access {
        address: "ssh://10.0.0.7:22".into(),
        credentials_ref: "vault:kv/dc1/n7".into(),
        pool_id: "pool-a".into(),
    };
    platform.set(&small, "filled", Some(access.clone()));
    platform.set(&big, "open", None);
    let r = agent.tick().unwrap();
    assert_eq!((r.checked_in, r.accepted, r.failed), (1, 1, 0), "{r:?}");
    let t = trade(ledger.as_ref(), &small);
    assert_eq!(
        (t.checkins, t.billed_minutes, t.charged_fen.get()),
        (1, 30, 600)
    );
    assert_eq!(trade(ledger.as_ref(), &big).status, Status::Active);

    // The end of the term: the last period, then the close, then the release.
    clock.minutes(30);
    let r = agent.tick().unwrap();
    assert_eq!(r.checked_in, 1, "{r:?}");
    let r = agent.tick().unwrap();
    assert_eq!(r.completed, 1, "{r:?}");
    let t = trade(ledger.as_ref(), &small);
    assert_eq!((t.status, t.charged_fen.get()), (Status::Closed, 1_200));
    let r = agent.tick().unwrap();
    assert_eq!(r.released, 1, "{r:?}");
    assert_eq!(platform.status(&small).as_deref(), Some("closed"));
    assert!(agent.store.is_done(&small).unwrap());
    // Done trades are not looked at again.
    let r = agent.tick().unwrap();
    assert_eq!((r.released, r.completed), (0, 0), "{r:?}");

    // A delegated agent key (docs/trade.md §1.1) accepts for the supplier; once revoked,
    // it can no longer accept, and the order stays open.
    let agent_key = SecretKey::from_label("agent-test/agent-key");
    let authorise = TradeOp::AuthoriseAgent {
        key: agent_key.public(),
        key_fragment: "agent-1".into(),
        proof: suanli_trade::op::agent_proof(&agent_key, &supplier.did, "agent-1"),
    };
    submit(ledger.as_ref(), &supplier.key, &authorise, "authorise").unwrap();
    let delegated = Agent {
        key: agent_key.clone(),
        key_fragment: "agent-1".into(),
        store: DoneStore::open(&dir.path().join("agent-2")).unwrap(),
        ..agent
    };
    let now = clock.now_ms();
    let third = order(ledger.as_ref(), &consumer, &supplier, 3, 1, now);
    let r = delegated.tick().unwrap();
    assert_eq!((r.accepted, r.failed), (1, 0), "{r:?}");
    let t = trade(ledger.as_ref(), &third);
    assert_eq!(
        (t.status, t.agent_key),
        (Status::Active, Some(agent_key.public()))
    );
    let revoke = TradeOp::RevokeAgent {
        key: agent_key.public(),
    };
    submit(ledger.as_ref(), &supplier.key, &revoke, "revoke").unwrap();
    let fourth = order(ledger.as_ref(), &consumer, &supplier, 4, 1, now);
    let r = delegated.tick().unwrap();
    assert_eq!((r.accepted, r.failed), (0, 1), "{r:?}");
    assert_eq!(trade(ledger.as_ref(), &fourth).status, Status::Ordered);
    stop(running);
}
