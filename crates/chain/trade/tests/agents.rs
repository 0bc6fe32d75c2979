//! Agent keys (`docs/trade.md` §1.1): what a supplier's delegated key may sign, what it
//! may not, and that a revoked key is refused from then on — each rule with its code, each
//! refusal leaving the state and every balance exactly as they were.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{MINUTE, Net, Party};
use suanli_identity::document::Relationships;
use suanli_identity::op::IdentityOp;
use suanli_identity::{DidId, Fragment};
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, PublicKey, SecretKey};
use suanli_trade::model::OfferTerms;
use suanli_trade::records::RecordKind;
use suanli_trade::view::{self, ReadDenied, SignedRead};
use suanli_trade::{CloseReason, Role, Serial, TradeOp, op};

const FRAGMENT: &str = "agent-1";

fn authorise(key: &PublicKey, fragment: &str) -> TradeOp {
    TradeOp::AuthoriseAgent {
        key: *key,
        key_fragment: fragment.into(),
    }
}

/// Adds `agent` to the supplier's DID document as an assertion key, signed by the
/// supplier's DID key (what `authorise_agent_key` in the client does first).
fn add_to_did(net: &mut Net, supplier: &Party, agent: &SecretKey, fragment: &str) {
    let op = IdentityOp::AddKey {
        did: DidId::derive(&supplier.key.public()),
        fragment: Fragment::new(fragment).unwrap(),
        key: agent.public(),
        relationships: Relationships::ASSERTION_METHOD,
    };
    let call = op.to_call().unwrap();
    net.block(
        ChainKind::Identity,
        vec![(&supplier.key, Payload::Call(call))],
    )
    .remove(0)
    .unwrap();
}

fn accept_by(net: &Net, key: &SecretKey, fragment: &str, serial: &Serial) -> TradeOp {
    net.accept_op_by(key, fragment, serial)
}

fn checkin_by(
    net: &Net,
    key: &SecretKey,
    fragment: &str,
    serial: &Serial,
    minutes: u64,
) -> TradeOp {
    net.checkin_op_by(key, fragment, serial, minutes)
}

/// A supplier with an offer, a consumer, and an agent key authorised on both chains.
fn setup(net: &mut Net) -> (Party, Party, u64, SecretKey) {
    let (s, c, offer) = net.pair(4);
    let agent = SecretKey::from_label("agent");
    add_to_did(net, &s, &agent, FRAGMENT);
    net.trade_op(&s.key, &authorise(&agent.public(), FRAGMENT))
        .unwrap();
    (s, c, offer, agent)
}

#[test]
fn an_agent_key_accepts_checks_in_and_closes_for_its_supplier() {
    let mut net = Net::new();
    let (s, c, offer, agent) = setup(&mut net);
    let serial = net.ordered(&c, &s, 1, offer, 120, 5_000);
    let accept = accept_by(&net, &agent, FRAGMENT, &serial);
    net.trade_op(&agent, &accept).unwrap();
    let trade = net.trade(&serial);
    assert_eq!(trade.agent_key, Some(agent.public()));
    net.advance(60 * MINUTE);
    let balance = net.balance(&s);
    let checkin = checkin_by(&net, &agent, FRAGMENT, &serial, 60);
    net.trade_op(&agent, &checkin).unwrap();
    // The supplier is paid, not the agent.
    assert_eq!(net.balance(&s), balance + 600);
    net.advance(60 * MINUTE);
    net.trade_op(&agent, &Net::close_op(&serial, CloseReason::Completed))
        .unwrap();
    let records = view::records(net.trade.state(), &serial, 0, 100);
    let kinds: Vec<RecordKind> = records.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RecordKind::Order,
            RecordKind::Contract,
            RecordKind::Checkin,
            RecordKind::Close
        ]
    );
    for r in &records[1..] {
        assert_eq!(r.by, s.did, "records name the supplier");
        assert_eq!(
            r.agent_key,
            Some(agent.public()),
            "and the agent key that signed"
        );
    }
    assert_eq!(records[0].agent_key, None);
    // The agent's credentials name its method and verify on their own on the identity
    // chain, where the key is in the supplier's DID document.
    for r in &records[1..3] {
        let vc = r.data.credential().unwrap();
        assert_eq!(
            vc["proof"]["verificationMethod"],
            format!("{}#{FRAGMENT}", s.did)
        );
        let report = net.verify(vc);
        assert!(report.ok(), "{report:?}");
    }
}

#[test]
fn an_agent_key_never_publishes_withdraws_delegates_or_acts_for_others() {
    let mut net = Net::new();
    let (s, c, offer, agent) = setup(&mut net);
    let mode = view::mode(net.trade.state(), 1).unwrap();
    net.refused(
        &agent,
        &TradeOp::PublishMode { terms: mode.terms },
        "agent_not_allowed",
    );
    let terms = OfferTerms {
        mode_id: 1,
        spec: common::SPEC.into(),
        quantity: 1,
        valid_from_ms: net.now_ms,
        valid_until_ms: net.now_ms + 3_600_000,
    };
    net.refused(
        &agent,
        &TradeOp::PublishOffer { terms },
        "agent_not_allowed",
    );
    net.refused(
        &agent,
        &TradeOp::WithdrawOffer { offer_id: offer },
        "agent_not_allowed",
    );
    let other = SecretKey::from_label("agent-2");
    net.refused(
        &agent,
        &authorise(&other.public(), "agent-2"),
        "agent_not_allowed",
    );
    net.refused(
        &agent,
        &TradeOp::RevokeAgent {
            key: agent.public(),
        },
        "agent_not_allowed",
    );
    // Not a consumer's operations, and not another supplier's trades.
    let serial = net.ordered(&c, &s, 1, offer, 60, 1_000);
    net.refused(
        &agent,
        &TradeOp::Fund {
            serial,
            amount_fen: common::pos(10),
        },
        "agent_not_allowed",
    );
    let s2 = net.party("supplier-2", Role::Supplier);
    let offer2 = net.mode_and_offer(&s2, 1);
    let serial2 = net.ordered(&c, &s2, 2, offer2, 60, 1_000);
    let accept2 = accept_by(&net, &agent, FRAGMENT, &serial2);
    net.refused(&agent, &accept2, "not_supplier");
    net.refused(
        &agent,
        &Net::close_op(&serial2, CloseReason::SupplierFault),
        "agent_not_allowed",
    );
    // Its credentials must name its own method, and it countersigns with its own key.
    let wrong_method = accept_by(&net, &agent, "key-1", &serial);
    net.refused(&agent, &wrong_method, "credential_proof_invalid");
    let main_signed = accept_by(&net, &s.key, "key-1", &serial);
    net.refused(&agent, &main_signed, "bad_signature");
}

#[test]
fn authorising_an_agent_key_follows_its_rules() {
    let mut net = Net::new();
    let (s, c, _, agent) = setup(&mut net);
    let fresh = SecretKey::from_label("agent-fresh");
    net.refused(
        &c.key,
        &authorise(&fresh.public(), "agent-9"),
        "role_missing",
    );
    let operator = net.operator.clone();
    net.refused(
        &operator,
        &authorise(&fresh.public(), "agent-9"),
        "not_enrolled",
    );
    net.refused(&s.key, &authorise(&agent.public(), "agent-9"), "key_in_use");
    net.refused(&s.key, &authorise(&c.key.public(), "agent-9"), "key_in_use");
    net.refused(
        &s.key,
        &authorise(&fresh.public(), "key-1"),
        "fragment_in_use",
    );
    net.refused(
        &s.key,
        &authorise(&fresh.public(), FRAGMENT),
        "fragment_in_use",
    );
    assert!(
        net.trade_op(&s.key, &authorise(&fresh.public(), "not a fragment"))
            .unwrap_err()
            .starts_with("rejected"),
        "a malformed fragment is refused at admission"
    );
    // An agent key cannot be enrolled as a party.
    let enroll = TradeOp::Enroll {
        did: s.did.clone(),
        role: Role::Supplier,
        key: agent.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: Some("urn:uuid:x".into()),
        kyc_credential_sha256: Some(suanli_primitives::sha256(b"x").to_hex()),
    };
    net.refused(&operator, &enroll, "key_in_use");
    for i in 2..=suanli_trade::agents::AGENTS_PER_SUPPLIER_MAX {
        let key = SecretKey::from_label(&format!("agent-{i}"));
        net.trade_op(&s.key, &authorise(&key.public(), &format!("agent-{i}")))
            .unwrap();
    }
    net.refused(
        &s.key,
        &authorise(&fresh.public(), "agent-99"),
        "limit_reached",
    );
    assert_eq!(
        view::agents(net.trade.state(), &s.did).len() as u64,
        suanli_trade::agents::AGENTS_PER_SUPPLIER_MAX
    );
}

#[test]
fn a_revoked_agent_key_is_refused_from_then_on() {
    let mut net = Net::new();
    let (s, c, offer, agent) = setup(&mut net);
    let s2 = net.party("supplier-2", Role::Supplier);
    let unknown = SecretKey::from_label("nobody");
    net.refused(
        &s.key,
        &TradeOp::RevokeAgent {
            key: unknown.public(),
        },
        "agent_not_found",
    );
    let revoke = TradeOp::RevokeAgent {
        key: agent.public(),
    };
    net.refused(&s2.key, &revoke, "not_agent_owner");
    let serial = net.ordered(&c, &s, 1, offer, 120, 5_000);
    // Before the revocation the agent could read the trade as the supplier.
    let read = |net: &Net, key: &SecretKey| {
        let time_ms = net.now_ms;
        let subject = serial.to_string();
        let sig = key.sign(&op::read_digest(
            "suanli-test/trade",
            &s.did,
            &subject,
            time_ms,
        ));
        view::authorize_read(
            net.trade.state(),
            "suanli-test/trade",
            &subject,
            &[&s.did],
            &SignedRead {
                reader: &s.did,
                time_ms,
                signature: &sig,
            },
            time_ms,
        )
        .map(|_| ())
    };
    assert_eq!(read(&net, &agent), Ok(()));
    net.trade_op(&s.key, &revoke).unwrap();
    let accept = accept_by(&net, &agent, FRAGMENT, &serial);
    net.refused(&agent, &accept, "agent_key_revoked");
    net.refused(
        &agent,
        &Net::close_op(&serial, CloseReason::SupplierFault),
        "agent_key_revoked",
    );
    net.refused(&s.key, &revoke, "agent_key_revoked");
    net.refused(
        &s.key,
        &authorise(&agent.public(), "agent-2"),
        "agent_key_revoked",
    );
    assert_eq!(read(&net, &agent), Err(ReadDenied::BadSignature));
    assert!(
        view::agent(net.trade.state(), &agent.public())
            .unwrap()
            .is_revoked()
    );
    // The supplier's own key goes on.
    let accept = net.accept_op(&s, &serial);
    net.trade_op(&s.key, &accept).unwrap();
    assert_eq!(net.trade(&serial).agent_key, None);
}

#[test]
fn an_agent_key_runs_the_supplier_side_of_a_service_channel() {
    use suanli_trade::channel::ChannelOp;
    let mut net = Net::new();
    let (s, c, offer, agent) = setup(&mut net);
    net.mint(&s, 1_000);
    let serial = net.ordered(&c, &s, 1, offer, 120, 5_000);
    let accept = accept_by(&net, &agent, FRAGMENT, &serial);
    net.trade_op(&agent, &accept).unwrap();
    let open = ChannelOp::Open {
        serial,
        deposit_fen: common::fen(0),
        bond_fen: common::fen(100),
        challenge_window_ms: 10 * MINUTE,
    };
    net.channel_op(&c.key, &open).unwrap();
    // The agent key that accepted signs the supplier's statements.
    assert_eq!(net.channel(&serial).terms.supplier_key, agent.public());
    let supplier_balance = net.balance(&s);
    let bond = ChannelOp::Bond {
        serial,
        amount_fen: common::pos(50),
    };
    net.channel_op(&agent, &bond).unwrap();
    // The bond comes from the supplier's balance, not the agent key's.
    assert_eq!(net.balance(&s), supplier_balance - 50);
    net.advance(10 * MINUTE);
    let state = common::signed_state(&agent, &c.key, net.statement(&serial, 1, 10));
    net.channel_op(&agent, &ChannelOp::Checkin { serial, state })
        .unwrap();
    // A statement signed by the supplier's own key does not match the channel's key.
    let wrong = common::signed_state(&s.key, &c.key, net.statement(&serial, 2, 11));
    assert!(
        net.channel_op(
            &agent,
            &ChannelOp::Checkin {
                serial,
                state: wrong
            }
        )
        .is_err()
    );
    net.trade_op(
        &s.key,
        &TradeOp::RevokeAgent {
            key: agent.public(),
        },
    )
    .unwrap();
    net.channel_refused(&agent, &bond, "agent_key_revoked");
    net.channel_refused(&agent, &ChannelOp::Settle { serial }, "agent_key_revoked");
}
