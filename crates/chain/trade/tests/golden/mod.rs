//! Golden commitments of the trade chain (and of the identity chain the parties' DIDs and
//! KYC credentials live on): a fixed scenario, with fixed keys and fixed block times, that
//! runs every trade and channel operation and the credit and anchor payloads through the
//! real engines (policy, enrolment, modes and offers, browse, order, contract, top-up,
//! check-ins, each kind of close, rating; agent keys authorised, accepting, checking in,
//! closing and revoked; a supplier's own CPT registered, adopted and named by a mode;
//! channel open, bond, top-up, check-in, cooperative
//! close, unilateral close, challenge with a penalty, settlement; mint, transfer, burn,
//! anchor; failed calls, whose outcomes are committed too) and pins the head hashes, the
//! state commitments and a digest of every state entry.
//!
//! Any change of an encoding (operation, stored record, key layout, outcome text) changes
//! one of them: such a change must be deliberate, documented in `docs/ledger-format.md`,
//! and the constants below updated in the same commit.

use suanli_ledger::anchor::AnchorRecord;
use suanli_ledger::credit::{CreditOp, PositiveFen};
use suanli_ledger::{Payload, State};
use suanli_primitives::{ChainKind, SecretKey, sha256};
use suanli_trade::channel::{ChannelOp, SignedState, Statement};
use suanli_trade::records::{Record, RecordData, encode};
use suanli_trade::{CloseReason, Role, Serial, TradeOp, op};

use crate::common::{MINUTE, Net, Party, fen, pos, signed_state};

/// Trade chain: head block hash, its state commitment, and the digest of every entry.
const TRADE: [&str; 3] = [
    "c059e120cad9e9f6f5546f05e1cfb493a8cd85cb706bab99254081229fca1dd2",
    "3a904ca921c24c1f46e3432e5756d61261ffe5e2069b92ab52cc49721c64df4f",
    "3428a93a6dd67c105bb7e119c085907e0aba0ae116ca1b82e45c187064b08fd2",
];
/// Identity chain, likewise.
const IDENTITY: [&str; 3] = [
    "47d062a8683f461b407aac81d8561eca8fb6f98236ecbb44b1a29c78d23ff4bf",
    "75bac337a9de41066300df35df30572f262251b93bb250d67e24e764dc5f4a19",
    "9b156b624db95e2505627758b48ec0ebfbf34d0e79ce23ace7d460eb470d6d1d",
];
/// Heights of the trade and identity chains' heads after the scenario.
const HEIGHTS: (u64, u64) = (51, 4);

const WINDOW: u64 = 10 * MINUTE;

/// SHA-256 over every state entry sorted by key (`u32 BE len ‖ key ‖ u32 BE len ‖ value`).
fn state_digest(state: &State) -> String {
    let mut entries: Vec<(&[u8], &[u8])> = state.scan_prefix(b"").collect();
    entries.sort();
    let mut bytes = Vec::new();
    for (key, value) in entries {
        bytes.extend_from_slice(&(key.len() as u32).to_be_bytes());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(&(value.len() as u32).to_be_bytes());
        bytes.extend_from_slice(value);
    }
    sha256(&bytes).to_hex()
}

fn state(net: &Net, s: &Party, c: &Party, serial: &Serial, seq: u64, minutes: u64) -> SignedState {
    signed_state(&s.key, &c.key, net.statement(serial, seq, minutes))
}

fn open(serial: &Serial, deposit_fen: i64, bond_fen: i64) -> ChannelOp {
    ChannelOp::Open {
        serial: *serial,
        deposit_fen: fen(deposit_fen),
        bond_fen: fen(bond_fen),
        challenge_window_ms: WINDOW,
    }
}

fn credit(net: &mut Net, key: &SecretKey, op: CreditOp) {
    net.block(ChainKind::Trade, vec![(key, Payload::Credit(op))])
        .remove(0)
        .unwrap();
}

/// Plain trades: browse, an order that lapses, a trade checked in, topped up, closed and
/// rated, a withdrawn offer, a failed call.
fn trades(net: &mut Net, s: &Party, c: &Party, offer: u64) {
    let operator = net.operator.clone();
    net.trade_op(
        &operator,
        &TradeOp::SetPolicy {
            record_browse: true,
        },
    )
    .unwrap();
    let browsed = Net::serial(9);
    let time_ms = net.now_ms;
    let digest = op::browse_digest(&browsed, time_ms, &s.did);
    let browse = TradeOp::Browse {
        serial: browsed,
        supplier: s.did.clone(),
        time_ms,
        signature: op::sign_digest(&c.key, &digest),
    };
    net.trade_op(&c.key, &browse).unwrap();

    let lapsed = net.ordered(c, s, 2, offer, 60, 600);
    net.trade_op(
        &c.key,
        &Net::close_op(&lapsed, CloseReason::StoppedByConsumer),
    )
    .unwrap();

    let serial = net.contracted(c, s, 1, offer, 120, 1_000);
    net.trade_op(
        &c.key,
        &TradeOp::Fund {
            serial,
            amount_fen: pos(500),
        },
    )
    .unwrap();
    net.advance(60 * MINUTE);
    let checkin = net.checkin_op(s, &serial, 60);
    net.trade_op(&s.key, &checkin).unwrap();
    net.advance(30 * MINUTE);
    net.trade_op(
        &c.key,
        &Net::close_op(&serial, CloseReason::StoppedByConsumer),
    )
    .unwrap();
    let rate = net.rate_op(c, &serial, 4);
    net.trade_op(&c.key, &rate).unwrap();
    // A failed call: its outcome (code and message) is committed.
    assert_eq!(
        net.trade_op(
            &c.key,
            &TradeOp::Fund {
                serial,
                amount_fen: pos(5)
            }
        ),
        Err("trade_closed".into())
    );
}

/// Agent keys: authorised, accepting, checking in and closing for the supplier, then
/// revoked, and a revoked key's refused call.
fn agents(net: &mut Net, s: &Party, c: &Party, offer: u64) {
    let agent = SecretKey::from_label("golden-agent");
    let authorise = TradeOp::AuthoriseAgent {
        key: agent.public(),
        key_fragment: "agent-1".into(),
        proof: suanli_trade::op::agent_proof(&agent, &s.did, "agent-1"),
    };
    net.trade_op(&s.key, &authorise).unwrap();
    let serial = net.ordered(c, s, 6, offer, 60, 1_000);
    let accept = net.accept_op_by(&agent, "agent-1", &serial);
    net.trade_op(&agent, &accept).unwrap();
    net.advance(60 * MINUTE);
    let checkin = net.checkin_op_by(&agent, "agent-1", &serial, 60);
    net.trade_op(&agent, &checkin).unwrap();
    net.trade_op(&agent, &Net::close_op(&serial, CloseReason::Completed))
        .unwrap();
    let revoke = TradeOp::RevokeAgent {
        key: agent.public(),
    };
    net.trade_op(&s.key, &revoke).unwrap();
    assert_eq!(
        net.trade_op(&agent, &Net::close_op(&serial, CloseReason::Completed)),
        Err("agent_key_revoked".into())
    );
}

/// A supplier's own check-in CPT: registered on the identity chain, adopted, named by a
/// mode.
fn own_cpt(net: &mut Net, s: &Party) {
    let mut schema = suanli_vc::cpt::builtin_templates()[1].1.clone();
    schema["title"] = serde_json::json!("golden check-in");
    let register = suanli_identity::op::IdentityOp::RegisterCpt {
        publisher: suanli_identity::DidId::derive(&s.key.public()),
        cpt: None,
        qualification: false,
        schema_json: schema.to_string(),
    };
    net.block(
        ChainKind::Identity,
        vec![(&s.key, Payload::Call(register.to_call().unwrap()))],
    )
    .remove(0)
    .unwrap();
    let adopt = TradeOp::AdoptCpt {
        cpt: 1000,
        purpose: suanli_trade::cpts::CptPurpose::Checkin,
        schema,
    };
    net.trade_op(&s.key, &adopt).unwrap();
    let terms = suanli_trade::model::ModeTerms {
        checkin_cpt: 1000,
        ..Net::mode_terms()
    };
    net.trade_op(&s.key, &TradeOp::PublishMode { terms })
        .unwrap();
}

/// Service channels: a cooperative close, and a unilateral close answered by a challenge
/// that costs the consumer its bond, then settled.
fn channels(net: &mut Net, s: &Party, c: &Party, offer: u64) {
    let serial = net.contracted(c, s, 4, offer, 240, 1_000);
    net.channel_op(&c.key, &open(&serial, 2_000, 300)).unwrap();
    net.channel_op(
        &s.key,
        &ChannelOp::Bond {
            serial,
            amount_fen: pos(400),
        },
    )
    .unwrap();
    net.channel_op(
        &c.key,
        &ChannelOp::TopUp {
            serial,
            amount_fen: pos(100),
        },
    )
    .unwrap();
    net.advance(30 * MINUTE);
    let first = state(net, s, c, &serial, 1, 20);
    net.channel_op(
        &s.key,
        &ChannelOp::Checkin {
            serial,
            state: first,
        },
    )
    .unwrap();
    let last = Statement {
        close: Some(CloseReason::StoppedByConsumer),
        ..net.statement(&serial, 2, 25)
    };
    let state_ = signed_state(&s.key, &c.key, last);
    net.channel_op(
        &c.key,
        &ChannelOp::CoopClose {
            serial,
            state: state_,
        },
    )
    .unwrap();

    let serial = net.contracted(c, s, 3, offer, 240, 1_000);
    net.channel_op(&c.key, &open(&serial, 1_000, 300)).unwrap();
    net.channel_op(
        &s.key,
        &ChannelOp::Bond {
            serial,
            amount_fen: pos(400),
        },
    )
    .unwrap();
    net.advance(95 * MINUTE);
    let states: Vec<SignedState> = (1..=5)
        .map(|seq| state(net, s, c, &serial, seq, 50 + 10 * seq))
        .collect();
    net.channel_op(
        &s.key,
        &ChannelOp::Checkin {
            serial,
            state: states[0],
        },
    )
    .unwrap();
    net.channel_op(
        &c.key,
        &ChannelOp::ForceClose {
            serial,
            state: Some(states[1]),
            reason: CloseReason::StoppedByConsumer,
        },
    )
    .unwrap();
    net.channel_op(
        &s.key,
        &ChannelOp::Challenge {
            serial,
            state: states[4],
        },
    )
    .unwrap();
    net.advance(WINDOW);
    net.channel_op(&c.key, &ChannelOp::Settle { serial })
        .unwrap();

    // A unilateral close without a state, by the supplier, settled after the window.
    let serial = net.contracted(c, s, 5, offer, 240, 1_000);
    net.channel_op(&c.key, &open(&serial, 0, 0)).unwrap();
    net.channel_op(
        &s.key,
        &ChannelOp::ForceClose {
            serial,
            state: None,
            reason: CloseReason::SupplierFault,
        },
    )
    .unwrap();
    net.advance(WINDOW);
    net.channel_op(&s.key, &ChannelOp::Settle { serial })
        .unwrap();
}

fn scenario() -> Net {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    net.mint(&s, 10_000);
    trades(&mut net, &s, &c, offer);
    channels(&mut net, &s, &c, offer);
    agents(&mut net, &s, &c, offer);
    own_cpt(&mut net, &s);

    net.trade_op(&s.key, &TradeOp::WithdrawOffer { offer_id: offer })
        .unwrap();
    let operator = net.operator.clone();
    net.trade_op(
        &operator,
        &TradeOp::Unenroll {
            did: s.did.clone(),
            role: Role::Supplier,
        },
    )
    .unwrap();
    credit(
        &mut net,
        &c.key,
        CreditOp::Transfer {
            to: s.key.public(),
            amount: PositiveFen::new(1_234).unwrap(),
        },
    );
    credit(
        &mut net,
        &s.key,
        CreditOp::Burn {
            amount: PositiveFen::new(34).unwrap(),
        },
    );
    let anchor = AnchorRecord::new("audit-log", sha256(b"golden audit head")).unwrap();
    net.block(ChainKind::Trade, vec![(&s.key, Payload::Anchor(anchor))])
        .remove(0)
        .unwrap();
    let (sum, supply) = net.conservation();
    assert_eq!(sum, supply);
    net
}

fn commitments(net: &Net) -> ([String; 3], [String; 3], (u64, u64)) {
    let of = |engine: &suanli_ledger::ChainEngine| {
        let head = engine.head();
        [
            head.hash.to_hex(),
            head.unsigned.state_root.to_hex(),
            state_digest(engine.state()),
        ]
    };
    (
        of(&net.trade),
        of(&net.identity),
        (
            net.trade.head().unsigned.height,
            net.identity.head().unsigned.height,
        ),
    )
}

#[test]
fn the_trade_and_identity_chain_commitments_of_a_fixed_scenario_are_pinned() {
    let net = scenario();
    assert_eq!(
        commitments(&net),
        (
            TRADE.map(str::to_owned),
            IDENTITY.map(str::to_owned),
            HEIGHTS
        ),
        "an encoding changed a chain's commitment ([head hash, state root, state digest] \
         of the trade chain, of the identity chain, heights); if deliberate, document it \
         in docs/ledger-format.md and update the constants"
    );
}

#[test]
fn the_scenario_is_deterministic() {
    assert_eq!(commitments(&scenario()), commitments(&scenario()));
}

#[test]
fn every_stored_record_reads_back_to_its_exact_bytes() {
    let net = scenario();
    let mut kinds = std::collections::BTreeSet::new();
    for (key, bytes) in net.trade.state().scan_prefix(b"trade/r/") {
        let record: Record = serde_json::from_slice(bytes).unwrap();
        assert_eq!(
            encode(&record),
            bytes,
            "record {} does not re-encode to its stored bytes",
            String::from_utf8_lossy(key)
        );
        kinds.insert(format!("{:?}", record.data.kind()));
        if let RecordData::ChannelCheckin(_) = record.data {
            kinds.insert("ChannelCheckin".into());
        }
    }
    // Every kind of record (and both kinds of check-in) is in the scenario.
    assert_eq!(kinds.len(), 12, "{kinds:?}");
}
