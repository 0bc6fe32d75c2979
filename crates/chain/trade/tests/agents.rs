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
use suanli_primitives::{ChainKind, SecretKey};
use suanli_trade::model::OfferTerms;
use suanli_trade::records::RecordKind;
use suanli_trade::view::{self, ReadDenied, SignedRead};
use suanli_trade::{CloseReason, Role, Serial, TradeOp, op};

const FRAGMENT: &str = "agent-1";

/// `authorise_agent` of `agent` for `supplier`, with the agent key's proof of possession.
fn authorise(agent: &SecretKey, supplier: &Party, fragment: &str) -> TradeOp {
    TradeOp::AuthoriseAgent {
        key: agent.public(),
        key_fragment: fragment.into(),
        proof: op::agent_proof(agent, &supplier.did, fragment),
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
    net.trade_op(&s.key, &authorise(&agent, &s, FRAGMENT))
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
        &authorise(&other, &s, "agent-2"),
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
    net.refused(&c.key, &authorise(&fresh, &s, "agent-9"), "role_missing");
    let operator = net.operator.clone();
    net.refused(&operator, &authorise(&fresh, &s, "agent-9"), "not_enrolled");
    net.refused(&s.key, &authorise(&agent, &s, "agent-9"), "key_in_use");
    net.refused(&s.key, &authorise(&c.key, &s, "agent-9"), "key_in_use");
    // M1: a supplier cannot claim a key it does not hold (and so block its enrolment):
    // the proof must be the key's own signature, for this supplier and this fragment.
    let s2 = net.party("supplier-2", Role::Supplier);
    let squat = |proof| TradeOp::AuthoriseAgent {
        key: fresh.public(),
        key_fragment: "agent-9".into(),
        proof,
    };
    net.refused(
        &s2.key,
        &squat(op::agent_proof(&s2.key, &s2.did, "agent-9")),
        "bad_signature",
    );
    net.refused(
        &s2.key,
        &squat(op::agent_proof(&fresh, &s.did, "agent-9")),
        "bad_signature",
    );
    net.refused(
        &s2.key,
        &squat(op::agent_proof(&fresh, &s2.did, "agent-8")),
        "bad_signature",
    );
    net.refused(&s.key, &authorise(&fresh, &s, "key-1"), "fragment_in_use");
    net.refused(&s.key, &authorise(&fresh, &s, FRAGMENT), "fragment_in_use");
    assert!(
        net.trade_op(&s.key, &authorise(&fresh, &s, "not a fragment"))
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
        net.trade_op(&s.key, &authorise(&key, &s, &format!("agent-{i}")))
            .unwrap();
    }
    net.refused(&s.key, &authorise(&fresh, &s, "agent-99"), "limit_reached");
    assert_eq!(
        view::agents(net.trade.state(), &s.did).len() as u64,
        suanli_trade::agents::AGENTS_PER_SUPPLIER_MAX
    );
    // The limit is on active keys: a revoked one makes room (L1) …
    net.trade_op(
        &s.key,
        &TradeOp::RevokeAgent {
            key: agent.public(),
        },
    )
    .unwrap();
    net.trade_op(&s.key, &authorise(&fresh, &s, "agent-99"))
        .unwrap();
    // … up to the cap on keys recorded in all, revoked ones included.
    let recorded = suanli_trade::agents::AGENTS_RECORDED_PER_SUPPLIER_MAX;
    let mut last = fresh.public();
    for i in (AGENTS + 1)..=recorded {
        net.trade_op(&s.key, &TradeOp::RevokeAgent { key: last })
            .unwrap();
        let key = SecretKey::from_label(&format!("agent-{i}"));
        net.trade_op(&s.key, &authorise(&key, &s, &format!("agent-{i}")))
            .unwrap();
        last = key.public();
    }
    net.trade_op(&s.key, &TradeOp::RevokeAgent { key: last })
        .unwrap();
    let over = SecretKey::from_label("agent-over");
    net.refused(&s.key, &authorise(&over, &s, "agent-over"), "limit_reached");
    assert_eq!(
        view::agents(net.trade.state(), &s.did).len() as u64,
        recorded
    );
}

const AGENTS: u64 = suanli_trade::agents::AGENTS_PER_SUPPLIER_MAX + 1;

/// M2: re-enrolling the supplier with a new key revokes the agent keys the old key
/// authorised.
#[test]
fn re_enrolling_the_supplier_with_a_new_key_revokes_its_agent_keys() {
    let mut net = Net::new();
    let (s, c, offer, agent) = setup(&mut net);
    let serial = net.ordered(&c, &s, 1, offer, 120, 5_000);
    let rotated = SecretKey::from_label("supplier-rotated");
    let enroll = TradeOp::Enroll {
        did: s.did.clone(),
        role: Role::Supplier,
        key: rotated.public(),
        key_fragment: "key-2".into(),
        kyc_credential_id: Some("urn:uuid:y".into()),
        kyc_credential_sha256: Some(suanli_primitives::sha256(b"y").to_hex()),
    };
    let operator = net.operator.clone();
    net.trade_op(&operator, &enroll).unwrap();
    let record = view::agent(net.trade.state(), &agent.public()).unwrap();
    assert!(record.is_revoked(), "{record:?}");
    let accept = accept_by(&net, &agent, FRAGMENT, &serial);
    net.refused(&agent, &accept, "agent_key_revoked");
    // Re-enrolling with the same key (another role) leaves agent keys alone.
    let s2 = net.party("supplier-2", Role::Supplier);
    let agent2 = SecretKey::from_label("agent-of-2");
    add_to_did(&mut net, &s2, &agent2, FRAGMENT);
    net.trade_op(&s2.key, &authorise(&agent2, &s2, FRAGMENT))
        .unwrap();
    let enroll = TradeOp::Enroll {
        did: s2.did.clone(),
        role: Role::Consumer,
        key: s2.key.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: Some("urn:uuid:y".into()),
        kyc_credential_sha256: Some(suanli_primitives::sha256(b"y").to_hex()),
    };
    net.trade_op(&operator, &enroll).unwrap();
    assert!(
        !view::agent(net.trade.state(), &agent2.public())
            .unwrap()
            .is_revoked()
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
            Some(&s.did),
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
        &authorise(&agent, &s, "agent-2"),
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

/// H1: a channel opened on a trade an agent key accepted takes that key's statements
/// only while it is not revoked; after the revocation the supplier's enrolled key (or
/// another active agent key) signs for the supplier, and the revoked key's statements —
/// a thief's cheap final state included — are refused.
#[test]
fn a_revoked_agent_key_signs_no_more_channel_states() {
    use common::signed_state;
    use suanli_trade::channel::ChannelOp;
    let mut net = Net::new();
    let (s, c, offer, agent) = setup(&mut net);
    let serial = net.ordered(&c, &s, 1, offer, 240, 5_000);
    let accept = accept_by(&net, &agent, FRAGMENT, &serial);
    net.trade_op(&agent, &accept).unwrap();
    let open = ChannelOp::Open {
        serial,
        deposit_fen: common::fen(0),
        bond_fen: common::fen(0),
        challenge_window_ms: 10 * MINUTE,
    };
    net.channel_op(&c.key, &open).unwrap();
    assert_eq!(net.channel(&serial).terms.supplier_key, agent.public());
    // L6: a bond moves the supplier's own money: its enrolled key only.
    let bond = ChannelOp::Bond {
        serial,
        amount_fen: common::pos(10),
    };
    net.channel_refused(&agent, &bond, "agent_not_allowed");
    net.mint(&s, 10);
    net.channel_op(&s.key, &bond).unwrap();
    net.advance(60 * MINUTE);
    let checkin = |state| ChannelOp::Checkin { serial, state };
    // Before the revocation the agent key signs the supplier's statements.
    let st = signed_state(&agent, &c.key, net.statement(&serial, 1, 20));
    net.channel_op(&c.key, &checkin(st)).unwrap();
    // The supplier's enrolled key does not while the agent key is active.
    let st = signed_state(&s.key, &c.key, net.statement(&serial, 2, 30));
    net.channel_refused(&c.key, &checkin(st), "bad_signature");

    net.trade_op(
        &s.key,
        &TradeOp::RevokeAgent {
            key: agent.public(),
        },
    )
    .unwrap();
    // The stolen key and the consumer agree on a cheap final state: refused.
    let mut cheap = net.statement(&serial, 9, 21);
    cheap.close = Some(CloseReason::StoppedByConsumer);
    let coop = ChannelOp::CoopClose {
        serial,
        state: signed_state(&agent, &c.key, cheap),
    };
    net.channel_refused(&c.key, &coop, "bad_signature");
    let st = signed_state(&agent, &c.key, net.statement(&serial, 2, 30));
    net.channel_refused(&c.key, &checkin(st), "bad_signature");
    // The supplier's enrolled key signs for it now.
    let st = signed_state(&s.key, &c.key, net.statement(&serial, 2, 30));
    net.channel_op(&s.key, &checkin(st)).unwrap();
    assert_eq!(net.channel(&serial).settled.seq, 2);
    // So does another active agent key of the supplier.
    let agent2 = SecretKey::from_label("agent-2");
    add_to_did(&mut net, &s, &agent2, "agent-2");
    net.trade_op(&s.key, &authorise(&agent2, &s, "agent-2"))
        .unwrap();
    let st = signed_state(&agent2, &c.key, net.statement(&serial, 3, 40));
    net.channel_op(&agent2, &checkin(st)).unwrap();
    assert_eq!(net.channel(&serial).settled.seq, 3);
}

/// L3: an agent key reads its supplier's trades as the supplier only — not a trade where
/// its supplier is the consumer, not its supplier's history (which holds those too).
#[test]
fn an_agent_key_reads_only_its_suppliers_supplier_side() {
    let mut net = Net::new();
    let (s, c, _, agent) = setup(&mut net);
    let chain = "suanli-test/trade";
    let read = |net: &Net,
                key: &SecretKey,
                parties: &[&suanli_trade::PartyDid],
                as_: Option<&suanli_trade::PartyDid>| {
        let time_ms = net.now_ms;
        let subject = "subject";
        let sig = key.sign(&op::read_digest(chain, &s.did, subject, time_ms));
        view::authorize_read(
            net.trade.state(),
            chain,
            subject,
            parties,
            as_,
            &SignedRead {
                reader: &s.did,
                time_ms,
                signature: &sig,
            },
            time_ms,
        )
        .map(|_| ())
    };
    // A trade where the supplier supplies: its agent reads it.
    assert_eq!(read(&net, &agent, &[&c.did, &s.did], Some(&s.did)), Ok(()));
    // A trade where the supplier is the consumer (`c` supplies): the agent may not, the
    // supplier's own key may.
    assert_eq!(
        read(&net, &agent, &[&s.did, &c.did], Some(&c.did)),
        Err(ReadDenied::NotEntitled)
    );
    assert_eq!(read(&net, &s.key, &[&s.did, &c.did], Some(&c.did)), Ok(()));
    // The supplier's history: its own key only.
    assert_eq!(
        read(&net, &agent, &[&s.did], None),
        Err(ReadDenied::NotEntitled)
    );
    assert_eq!(read(&net, &s.key, &[&s.did], None), Ok(()));
}
