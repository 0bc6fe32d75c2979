#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Service channels on the trade chain, end to end through the ledger engine: the happy
//! path, unilateral closes with their challenge window, stale states caught and
//! penalised, every refusal with its exact code and nothing changed, low funds, and a
//! conservation property over random interleavings of channel operations.

mod common;

use common::{MINUTE, Net, Party, fen, pos, signed_state};
use suanli_primitives::SecretKey;
use suanli_trade::channel::{ChannelOp, SignedState, Statement};
use suanli_trade::records::{ChannelStatus, Penalty, RecordData, RecordKind, Status};
use suanli_trade::{CloseReason, Role, Serial, TradeOp};

const WINDOW: u64 = 10 * MINUTE;

fn open(serial: &Serial, deposit_fen: i64, bond_fen: i64) -> ChannelOp {
    ChannelOp::Open {
        serial: *serial,
        deposit_fen: fen(deposit_fen),
        bond_fen: fen(bond_fen),
        challenge_window_ms: WINDOW,
    }
}

fn bond(serial: &Serial, amount_fen: i64) -> ChannelOp {
    ChannelOp::Bond {
        serial: *serial,
        amount_fen: pos(amount_fen),
    }
}

fn top_up(serial: &Serial, amount_fen: i64) -> ChannelOp {
    ChannelOp::TopUp {
        serial: *serial,
        amount_fen: pos(amount_fen),
    }
}

fn checkin(state: SignedState) -> ChannelOp {
    ChannelOp::Checkin {
        serial: state.statement.serial,
        state,
    }
}

fn coop_close(state: SignedState) -> ChannelOp {
    ChannelOp::CoopClose {
        serial: state.statement.serial,
        state,
    }
}

fn force_close(serial: &Serial, state: Option<SignedState>, reason: CloseReason) -> ChannelOp {
    ChannelOp::ForceClose {
        serial: *serial,
        state,
        reason,
    }
}

fn challenge(state: SignedState) -> ChannelOp {
    ChannelOp::Challenge {
        serial: state.statement.serial,
        state,
    }
}

fn settle(serial: &Serial) -> ChannelOp {
    ChannelOp::Settle { serial: *serial }
}

/// A supplier (with 10,000 fen for bonds), a consumer (100,000 fen) and a contracted trade
/// of `minutes` minutes escrowing `value_fen`.
fn setup(minutes: u64, value_fen: i64) -> (Net, Party, Party, Serial) {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    net.mint(&s, 10_000);
    let serial = net.contracted(&c, &s, 1, offer, minutes, value_fen);
    (net, s, c, serial)
}

/// The dual-signed state `seq` at `minutes`, priced by the channel's terms.
fn state(net: &Net, s: &Party, c: &Party, serial: &Serial, seq: u64, minutes: u64) -> SignedState {
    signed_state(&s.key, &c.key, net.statement(serial, seq, minutes))
}

fn assert_bonds_match(net: &Net, serial: &Serial) {
    let ch = net.channel(serial);
    if ch.status == ChannelStatus::Closed {
        assert_eq!(net.bond(serial, Role::Consumer), 0);
        assert_eq!(net.bond(serial, Role::Supplier), 0);
    } else {
        assert_eq!(net.bond(serial, Role::Consumer), ch.consumer_bond_fen.get());
        assert_eq!(net.bond(serial, Role::Supplier), ch.supplier_bond_fen.get());
    }
    let t = net.trade(serial);
    assert_eq!(net.escrow(serial), t.escrow_expected_fen());
    assert_eq!(t.charged_fen.get(), t.paid_fen.get() + t.unpaid_fen.get());
    let (sum, supply) = net.conservation();
    assert_eq!(sum, supply);
}

// ---- the happy path -------------------------------------------------------------------

#[test]
fn a_channel_runs_from_opening_through_checkins_to_a_cooperative_close() {
    let (mut net, s, c, serial) = setup(240, 1_000);
    assert_eq!(net.balance(&c), 99_000);
    let start_ms = net.trade(&serial).billed_until_ms.unwrap();

    net.channel_op(&c.key, &open(&serial, 2_000, 300)).unwrap();
    assert_eq!(net.balance(&c), 96_700);
    assert_eq!(net.escrow(&serial), 3_000);
    assert_eq!(net.bond(&serial, Role::Consumer), 300);
    let ch = net.channel(&serial);
    assert_eq!(ch.status, ChannelStatus::Open);
    assert_eq!(ch.consumer_bond_fen.get(), 300);
    assert_eq!(ch.terms.start_ms, start_ms);
    assert_eq!(net.trade(&serial).funded_fen.get(), 3_000);

    net.channel_op(&s.key, &bond(&serial, 400)).unwrap();
    assert_eq!(net.balance(&s), 9_600);
    assert_eq!(net.bond(&serial, Role::Supplier), 400);
    assert_eq!(net.channel(&serial).supplier_bond_fen.get(), 400);
    assert_bonds_match(&net, &serial);

    // Check-ins of increasing states, by either party: each pays exactly its cost delta.
    net.advance(30 * MINUTE);
    let steps = [
        // (signer is the supplier, seq, minutes, cumulative cost, delta)
        (true, 1, 20, 500, 500), // the flag-fall: 20 minutes cost the minimum charge
        (false, 3, 30, 500, 0),  // still covered by the minimum charge; seq may skip
        (true, 7, 80, 800, 300),
    ];
    let mut supplier_balance = net.balance(&s);
    let mut escrow = net.escrow(&serial);
    for (i, (by_supplier, seq, minutes, cost, delta)) in steps.into_iter().enumerate() {
        if i == 2 {
            net.advance(60 * MINUTE);
        }
        let st = state(&net, &s, &c, &serial, seq, minutes);
        assert_eq!(st.statement.cost_fen.get(), cost);
        let records_before = net.records(&serial).len();
        let key = if by_supplier { &s.key } else { &c.key };
        net.channel_op(key, &checkin(st)).unwrap();
        supplier_balance += delta;
        escrow -= delta;
        assert_eq!(net.balance(&s), supplier_balance);
        assert_eq!(net.escrow(&serial), escrow);
        assert_eq!(
            net.balance(&c),
            96_700,
            "the consumer pays from escrow only"
        );
        let t = net.trade(&serial);
        assert_eq!(t.billed_minutes, minutes);
        assert_eq!(t.charged_fen.get(), cost);
        assert_eq!(t.paid_fen.get(), cost);
        assert_eq!(t.checkins, i as u32 + 1);
        assert_eq!(t.billed_until_ms, Some(start_ms + minutes * MINUTE));
        let records = net.records(&serial);
        assert_eq!(records.len(), records_before + 1);
        let last = records.last().unwrap();
        assert_eq!(last.kind, RecordKind::Checkin);
        let by = if by_supplier { &s.did } else { &c.did };
        assert_eq!(&last.by, by);
        let RecordData::ChannelCheckin(data) = &last.data else {
            panic!("{:?}", last.data)
        };
        assert_eq!(data.cost_fen.get(), delta);
        assert_eq!(data.cumulative_cost_fen.get(), cost);
        let ch = net.channel(&serial);
        assert_eq!((ch.settled.seq, ch.settled.minutes), (seq, minutes));
        assert_bonds_match(&net, &serial);
    }

    // The final state, with the reason both agree on.
    let final_state = Statement {
        close: Some(CloseReason::StoppedByConsumer),
        ..net.statement(&serial, 8, 90)
    };
    assert_eq!(final_state.cost_fen.get(), 900);
    net.channel_op(
        &c.key,
        &coop_close(signed_state(&s.key, &c.key, final_state)),
    )
    .unwrap();
    // Tail 100 paid, 2,100 refunded, both bonds back.
    assert_eq!(net.balance(&s), 10_000 + 900);
    assert_eq!(net.balance(&c), 100_000 - 900);
    assert_eq!(net.escrow(&serial), 0);
    assert_eq!(net.bond(&serial, Role::Consumer), 0);
    assert_eq!(net.bond(&serial, Role::Supplier), 0);
    let t = net.trade(&serial);
    assert_eq!(t.status, Status::Closed);
    let closure = t.closure.clone().unwrap();
    assert_eq!(closure.reason, CloseReason::StoppedByConsumer);
    assert_eq!(closure.by, Role::Consumer);
    assert_eq!(closure.tail_minutes, 10);
    assert_eq!(closure.tail_cost_fen.get(), 100);
    assert_eq!(closure.refund_fen.get(), 2_100);
    assert_eq!(
        (
            t.billed_minutes,
            t.charged_fen.get(),
            t.paid_fen.get(),
            t.unpaid_fen.get()
        ),
        (90, 900, 900, 0)
    );
    assert_eq!(t.billed_until_ms, Some(start_ms + 90 * MINUTE));
    assert_eq!(net.channel(&serial).status, ChannelStatus::Closed);
    assert_bonds_match(&net, &serial);
    let kinds: Vec<RecordKind> = net.records(&serial).iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RecordKind::Order,
            RecordKind::Contract,
            RecordKind::Fund,
            RecordKind::ChannelOpen,
            RecordKind::ChannelBond,
            RecordKind::Checkin,
            RecordKind::Checkin,
            RecordKind::Checkin,
            RecordKind::Close,
        ]
    );

    // Nothing more on the channel; the trade is rated as any other.
    let next = state(&net, &s, &c, &serial, 9, 95);
    net.channel_refused(&s.key, &checkin(next), "channel_closed");
    net.channel_refused(&c.key, &top_up(&serial, 10), "channel_closed");
    let rate = net.rate_op(&c, &serial, 90);
    net.trade_op(&c.key, &rate).unwrap();
    assert!(net.trade(&serial).rating.is_some());
}

// ---- unilateral close ------------------------------------------------------------------

#[test]
fn a_unilateral_close_settles_by_its_state_once_the_window_has_passed() {
    let (mut net, s, c, serial) = setup(240, 1_000);
    net.channel_op(&c.key, &open(&serial, 1_000, 200)).unwrap();
    net.channel_op(&s.key, &bond(&serial, 300)).unwrap();
    net.advance(60 * MINUTE);
    let s1 = state(&net, &s, &c, &serial, 1, 30);
    let s2 = state(&net, &s, &c, &serial, 2, 60);
    net.channel_op(&s.key, &checkin(s1)).unwrap();
    assert_eq!(net.escrow(&serial), 1_500);

    net.channel_op(
        &c.key,
        &force_close(&serial, Some(s2), CloseReason::StoppedByConsumer),
    )
    .unwrap();
    let fc_ms = net.now_ms;
    let ch = net.channel(&serial);
    assert_eq!(ch.status, ChannelStatus::Closing);
    let closing = ch.closing.unwrap();
    assert_eq!(closing.deadline_ms, fc_ms + WINDOW);
    assert_eq!((closing.posted.seq, closing.posted_by), (2, Role::Consumer));
    assert_eq!(
        net.records(&serial).last().unwrap().kind,
        RecordKind::ChannelForceClose
    );
    assert_eq!(net.trade(&serial).status, Status::Active);
    assert_bonds_match(&net, &serial);

    // Nothing else while closing; settle only after the window.
    net.channel_refused(&s.key, &settle(&serial), "window_open");
    net.channel_refused(&c.key, &top_up(&serial, 100), "channel_closing");
    net.channel_refused(&s.key, &bond(&serial, 100), "channel_closing");
    let s3 = state(&net, &s, &c, &serial, 3, 61);
    net.channel_refused(&s.key, &checkin(s3), "channel_closing");
    net.channel_refused(
        &s.key,
        &force_close(&serial, None, CloseReason::SupplierFault),
        "channel_closing",
    );
    // The last block inside the window (each block is one second after the last).
    net.now_ms = fc_ms + WINDOW - 2_000;
    net.channel_refused(&c.key, &settle(&serial), "window_open");
    assert_eq!(net.now_ms, fc_ms + WINDOW - 1_000);

    // The first block at the deadline: settled by state 2.
    net.channel_op(&s.key, &settle(&serial)).unwrap();
    let t = net.trade(&serial);
    assert_eq!(t.status, Status::Closed);
    let closure = t.closure.clone().unwrap();
    assert_eq!(
        (closure.reason, closure.by),
        (CloseReason::StoppedByConsumer, Role::Consumer)
    );
    assert_eq!(
        (closure.tail_minutes, closure.tail_cost_fen.get()),
        (30, 100)
    );
    assert_eq!(closure.refund_fen.get(), 1_400);
    assert_eq!(
        (t.billed_minutes, t.charged_fen.get(), t.paid_fen.get()),
        (60, 600, 600)
    );
    assert_eq!(net.balance(&s), 10_000 + 600);
    assert_eq!(net.balance(&c), 100_000 - 600);
    assert_eq!(net.channel(&serial).status, ChannelStatus::Closed);
    assert_eq!(net.channel(&serial).penalty, None);
    assert_bonds_match(&net, &serial);
    net.channel_refused(&c.key, &settle(&serial), "channel_closed");
}

#[test]
fn a_unilateral_close_without_a_state_settles_by_the_last_checkin() {
    let (mut net, s, c, serial) = setup(240, 1_000);
    net.channel_op(&c.key, &open(&serial, 0, 100)).unwrap();
    net.advance(40 * MINUTE);
    let s1 = state(&net, &s, &c, &serial, 1, 40);
    net.channel_op(&c.key, &checkin(s1)).unwrap();
    net.channel_op(
        &s.key,
        &force_close(&serial, None, CloseReason::SupplierFault),
    )
    .unwrap();
    net.advance(WINDOW);
    net.channel_op(&c.key, &settle(&serial)).unwrap();
    let t = net.trade(&serial);
    let closure = t.closure.clone().unwrap();
    assert_eq!(
        (closure.reason, closure.by, closure.tail_cost_fen.get()),
        (CloseReason::SupplierFault, Role::Supplier, 0)
    );
    assert_eq!(t.charged_fen.get(), 500);
    assert_eq!(net.balance(&c), 100_000 - 500);
    assert_eq!(net.balance(&s), 10_000 + 500);
    assert_bonds_match(&net, &serial);
}

// ---- stale states ----------------------------------------------------------------------

/// States 1..=5 at 60..=100 minutes (600..=1,000 fen), escrow 2,000, consumer bond 300,
/// supplier bond 400, state 1 checked in.
fn five_states(net: &mut Net, s: &Party, c: &Party, serial: &Serial) -> Vec<SignedState> {
    net.channel_op(&c.key, &open(serial, 1_000, 300)).unwrap();
    net.channel_op(&s.key, &bond(serial, 400)).unwrap();
    net.advance(95 * MINUTE);
    let states: Vec<SignedState> = (1..=5)
        .map(|seq| state(net, s, c, serial, seq, 50 + 10 * seq))
        .collect();
    net.channel_op(&s.key, &checkin(states[0])).unwrap();
    states
}

#[test]
fn a_consumer_posting_a_stale_state_loses_its_bond_to_the_supplier() {
    let (mut net, s, c, serial) = setup(240, 1_000);
    let states = five_states(&mut net, &s, &c, &serial);
    net.channel_op(
        &c.key,
        &force_close(&serial, Some(states[1]), CloseReason::StoppedByConsumer),
    )
    .unwrap();
    let supplier_before = net.balance(&s);

    net.channel_op(&s.key, &challenge(states[4])).unwrap();
    assert_eq!(net.balance(&s), supplier_before + 300);
    assert_eq!(net.bond(&serial, Role::Consumer), 0);
    let ch = net.channel(&serial);
    assert_eq!(ch.consumer_bond_fen.get(), 0);
    assert_eq!(ch.supplier_bond_fen.get(), 400);
    assert_eq!(
        ch.penalty,
        Some(Penalty {
            party: Role::Consumer,
            fen: fen(300),
            stale_seq: 2,
            proven_by_seq: 5
        })
    );
    let closing = ch.closing.unwrap();
    assert_eq!((closing.posted.seq, closing.posted_by), (5, Role::Supplier));
    let record = net.records(&serial).last().unwrap().clone();
    assert_eq!(record.kind, RecordKind::ChannelChallenge);
    let RecordData::ChannelChallenge(data) = &record.data else {
        panic!("{:?}", record.data)
    };
    assert_eq!(data.penalty_fen.get(), 300);
    assert_eq!(data.penalised_role, Some(Role::Consumer));
    assert_bonds_match(&net, &serial);

    // Not newer than what is posted: refused, by either party.
    net.channel_refused(&c.key, &challenge(states[3]), "state_not_newer");
    net.channel_refused(&s.key, &challenge(states[4]), "state_not_newer");

    // After the window no challenge is taken, however new.
    net.advance(WINDOW);
    let s6 = state(&net, &s, &c, &serial, 6, 110);
    net.channel_refused(&c.key, &challenge(s6), "window_passed");

    net.channel_op(&c.key, &settle(&serial)).unwrap();
    let t = net.trade(&serial);
    assert_eq!(
        (t.billed_minutes, t.charged_fen.get(), t.paid_fen.get()),
        (100, 1_000, 1_000)
    );
    let closure = t.closure.clone().unwrap();
    assert_eq!(closure.reason, CloseReason::StoppedByConsumer);
    assert_eq!(closure.refund_fen.get(), 1_000);
    // The supplier: paid by state 5, the consumer's bond, its own bond back.
    assert_eq!(net.balance(&s), 10_000 + 1_000 + 300);
    assert_eq!(net.balance(&c), 100_000 - 1_000 - 300);
    assert_bonds_match(&net, &serial);
}

#[test]
fn a_supplier_posting_an_older_state_is_corrected_but_not_penalised() {
    // Only the consumer gains from an older state, and a supplier whose answer was lost
    // holds one state less than the consumer: the newer state replaces the supplier's, and
    // its bond is not forfeited.
    let (mut net, s, c, serial) = setup(240, 1_000);
    let states = five_states(&mut net, &s, &c, &serial);
    net.channel_op(
        &s.key,
        &force_close(&serial, Some(states[1]), CloseReason::SupplierFault),
    )
    .unwrap();
    let consumer_before = net.balance(&c);
    net.channel_op(&c.key, &challenge(states[4])).unwrap();
    assert_eq!(net.balance(&c), consumer_before);
    assert_eq!(net.bond(&serial, Role::Supplier), 400);
    let ch = net.channel(&serial);
    assert_eq!(ch.penalty, None);
    assert_eq!(ch.closing.as_ref().unwrap().posted.seq, 5);
    assert_bonds_match(&net, &serial);
    // The consumer cannot win a supplier's bond by answering its own stale state either.
    net.advance(WINDOW);
    net.channel_op(&s.key, &settle(&serial)).unwrap();
    let t = net.trade(&serial);
    assert_eq!(t.charged_fen.get(), 1_000);
    assert_eq!(net.balance(&s), 10_000 + 1_000);
    assert_eq!(net.balance(&c), 100_000 - 1_000);
    assert_bonds_match(&net, &serial);
}

#[test]
fn final_states_close_only_cooperatively() {
    let (mut net, s, c, serial) = setup(240, 1_000);
    let states = five_states(&mut net, &s, &c, &serial);
    let last = Statement {
        close: Some(CloseReason::StoppedByConsumer),
        ..net.statement(&serial, 6, 100)
    };
    let final_state = signed_state(&s.key, &c.key, last);
    net.channel_refused(
        &s.key,
        &force_close(&serial, Some(final_state), CloseReason::SupplierFault),
        "final_state",
    );
    net.channel_op(
        &c.key,
        &force_close(&serial, Some(states[1]), CloseReason::StoppedByConsumer),
    )
    .unwrap();
    net.channel_refused(&s.key, &challenge(final_state), "final_state");
}

#[test]
fn the_closer_updating_its_own_state_is_not_penalised() {
    let (mut net, s, c, serial) = setup(240, 1_000);
    let states = five_states(&mut net, &s, &c, &serial);
    net.channel_op(
        &c.key,
        &force_close(&serial, Some(states[1]), CloseReason::StoppedByConsumer),
    )
    .unwrap();
    net.channel_op(&c.key, &challenge(states[2])).unwrap();
    let ch = net.channel(&serial);
    assert_eq!(ch.penalty, None);
    assert_eq!(
        (ch.consumer_bond_fen.get(), ch.supplier_bond_fen.get()),
        (300, 400)
    );
    assert_bonds_match(&net, &serial);
    // The parties may still agree on a final state while closing.
    let last = Statement {
        close: Some(CloseReason::StoppedByConsumer),
        ..net.statement(&serial, 6, 100)
    };
    net.channel_op(&s.key, &coop_close(signed_state(&s.key, &c.key, last)))
        .unwrap();
    assert_eq!(net.trade(&serial).charged_fen.get(), 1_000);
    assert_eq!(net.balance(&s), 10_000 + 1_000);
    assert_eq!(net.balance(&c), 100_000 - 1_000);
    assert_bonds_match(&net, &serial);
}

// ---- refusals --------------------------------------------------------------------------

#[test]
fn forged_swapped_and_outsider_signatures_are_refused() {
    let (mut net, s, c, serial) = setup(240, 1_000);
    net.channel_op(&c.key, &open(&serial, 1_000, 300)).unwrap();
    net.advance(60 * MINUTE);
    let good = state(&net, &s, &c, &serial, 1, 30);
    let other = net.statement(&serial, 2, 40);
    let mallory = SecretKey::from_label("mallory");

    let forged_supplier = SignedState {
        supplier_signature: good.statement.sign(&mallory),
        ..good
    };
    let forged_consumer = SignedState {
        consumer_signature: other.sign(&c.key),
        ..good
    };
    let swapped = SignedState {
        supplier_signature: good.consumer_signature,
        consumer_signature: good.supplier_signature,
        ..good
    };
    let outsider = signed_state(&mallory, &mallory, good.statement);
    let by_one = signed_state(&s.key, &s.key, good.statement);
    for bad in [forged_supplier, forged_consumer, swapped, outsider, by_one] {
        for key in [&s.key, &c.key] {
            net.channel_refused(key, &checkin(bad), "bad_signature");
        }
        net.channel_refused(
            &c.key,
            &force_close(&serial, Some(bad), CloseReason::StoppedByConsumer),
            "bad_signature",
        );
        let final_bad = Statement {
            close: Some(CloseReason::StoppedByConsumer),
            ..bad.statement
        };
        let final_bad = SignedState {
            statement: final_bad,
            ..bad
        };
        net.channel_refused(&c.key, &coop_close(final_bad), "bad_signature");
    }
    // A challenge with a forged state.
    net.channel_op(
        &c.key,
        &force_close(&serial, None, CloseReason::StoppedByConsumer),
    )
    .unwrap();
    net.channel_refused(&s.key, &challenge(forged_consumer), "bad_signature");
    net.channel_op(&s.key, &challenge(good)).unwrap();
    assert_bonds_match(&net, &serial);
}

#[test]
fn states_that_break_the_successor_rules_are_refused() {
    let (mut net, s, c, serial) = setup(120, 1_000);
    net.channel_op(&c.key, &open(&serial, 1_000, 300)).unwrap();
    net.advance(70 * MINUTE);
    let s3 = state(&net, &s, &c, &serial, 3, 60);
    net.channel_op(&s.key, &checkin(s3)).unwrap();
    let sign = |st: Statement| signed_state(&s.key, &c.key, st);
    let base = net.statement(&serial, 4, 65);
    let cases = [
        // Sequence regression and an equal sequence number.
        (net.statement(&serial, 2, 65), "state_not_newer"),
        (net.statement(&serial, 3, 65), "state_not_newer"),
        // Fewer minutes than the chain holds.
        (net.statement(&serial, 4, 59), "minutes_decreased"),
        // Same minutes, a lower cost.
        (
            Statement {
                cost_fen: fen(590),
                ..net.statement(&serial, 4, 60)
            },
            "cost_decreased",
        ),
        // Not the trade's pricing.
        (
            Statement {
                cost_fen: fen(base.cost_fen.get() + 1),
                ..base
            },
            "cost_mismatch",
        ),
        (
            Statement {
                cost_fen: fen(base.cost_fen.get() - 1),
                ..base
            },
            "cost_mismatch",
        ),
        // More minutes than have passed (beyond the allowed skew of ten minutes).
        (net.statement(&serial, 4, 81), "minutes_in_future"),
        // Past the contract's 120 minutes.
        (net.statement(&serial, 4, 121), "beyond_contract"),
    ];
    for (st, code) in cases {
        net.channel_refused(&s.key, &checkin(sign(st)), code);
        net.channel_refused(
            &c.key,
            &force_close(&serial, Some(sign(st)), CloseReason::StoppedByConsumer),
            code,
        );
        let final_st = Statement {
            close: Some(CloseReason::StoppedByConsumer),
            ..st
        };
        net.channel_refused(&c.key, &coop_close(sign(final_st)), code);
    }
    // A final state is not a check-in.
    let final_st = Statement {
        close: Some(CloseReason::StoppedByConsumer),
        ..base
    };
    net.channel_refused(&s.key, &checkin(sign(final_st)), "final_state");
    // The same rules against the posted state during a challenge.
    net.channel_op(
        &c.key,
        &force_close(&serial, Some(sign(base)), CloseReason::StoppedByConsumer),
    )
    .unwrap();
    for (st, code) in [
        (net.statement(&serial, 4, 66), "state_not_newer"),
        (net.statement(&serial, 5, 64), "minutes_decreased"),
        (net.statement(&serial, 5, 121), "beyond_contract"),
    ] {
        net.channel_refused(&s.key, &challenge(sign(st)), code);
    }
    assert_bonds_match(&net, &serial);
}

#[test]
fn only_the_parties_act_each_in_its_role_and_a_channel_trade_is_not_run_by_trade_ops() {
    let mut net = Net::new();
    let (s, c, offer) = net.pair(4);
    net.mint(&s, 10_000);
    let c2 = net.party("consumer-2", Role::Consumer);
    let s2 = net.party("supplier-2", Role::Supplier);
    net.mint(&c2, 10_000);
    net.mint(&s2, 10_000);

    // Opening on a trade that has no contract yet.
    let ordered = net.ordered(&c, &s, 1, offer, 240, 1_000);
    net.channel_refused(&c.key, &open(&ordered, 0, 0), "not_contracted");
    // Not a trade at all.
    net.channel_refused(&c.key, &open(&Net::serial(99), 0, 0), "trade_not_found");

    let serial = net.contracted(&c, &s, 2, offer, 240, 1_000);
    // No channel yet.
    net.channel_refused(&s.key, &bond(&serial, 10), "channel_not_found");
    // Only the trade's consumer opens.
    net.channel_refused(&s.key, &open(&serial, 0, 0), "not_consumer");
    net.channel_refused(&c2.key, &open(&serial, 0, 0), "not_consumer");
    // A bond beyond the balance: refused, the deposit not taken either.
    net.channel_refused(
        &c.key,
        &open(&serial, 1_000, 1_000_000),
        "insufficient_balance",
    );
    net.channel_op(&c.key, &open(&serial, 1_000, 300)).unwrap();
    net.channel_refused(&c.key, &open(&serial, 0, 0), "channel_exists");

    // Only the trade's supplier posts a bond, only the consumer tops up.
    net.channel_refused(&c.key, &bond(&serial, 10), "not_supplier");
    net.channel_refused(&s2.key, &bond(&serial, 10), "not_supplier");
    net.channel_refused(&s.key, &top_up(&serial, 10), "not_consumer");
    net.channel_refused(&c2.key, &top_up(&serial, 10), "not_consumer");

    // Enrolled parties of other trades, and unenrolled keys.
    net.advance(40 * MINUTE);
    let st = state(&net, &s, &c, &serial, 1, 30);
    let mallory = net.outsider("mallory");
    for key in [&c2.key, &s2.key] {
        net.channel_refused(key, &checkin(st), "not_a_party");
        net.channel_refused(
            key,
            &force_close(&serial, Some(st), CloseReason::SupplierFault),
            "not_a_party",
        );
        net.channel_refused(key, &settle(&serial), "not_a_party");
    }
    net.channel_refused(&mallory.key, &checkin(st), "not_enrolled");

    // The trade contract's own check-in and close are refused on a channel trade.
    let trade_checkin = net.checkin_op(&s, &serial, 30);
    net.refused(&s.key, &trade_checkin, "channel_open");
    for (key, reason) in [
        (&c.key, CloseReason::StoppedByConsumer),
        (&s.key, CloseReason::SupplierFault),
        (&c.key, CloseReason::SupplierFault),
    ] {
        net.refused(key, &Net::close_op(&serial, reason), "channel_open");
    }

    // Close reasons.
    for (key, reason, code) in [
        (&c.key, CloseReason::Completed, "contract_not_ended"),
        (&s.key, CloseReason::Completed, "contract_not_ended"),
        (&c.key, CloseReason::Expired, "reason_not_allowed"),
        (&s.key, CloseReason::Expired, "reason_not_allowed"),
        (&c.key, CloseReason::OutOfFunds, "reason_not_allowed"),
        (&s.key, CloseReason::StoppedByConsumer, "reason_not_allowed"),
    ] {
        net.channel_refused(key, &force_close(&serial, Some(st), reason), code);
    }
    let expired = Statement {
        close: Some(CloseReason::Expired),
        ..st.statement
    };
    net.channel_refused(
        &c.key,
        &coop_close(signed_state(&s.key, &c.key, expired)),
        "reason_not_allowed",
    );

    // A cooperative close without a final state never reaches a block.
    let before = net.snapshot();
    let got = net.channel_op(&c.key, &coop_close(st)).unwrap_err();
    assert!(
        got.starts_with("rejected") && got.contains("malformed_call"),
        "{got}"
    );
    // As is a state of another channel.
    let foreign = ChannelOp::Checkin {
        serial: ordered,
        state: st,
    };
    let got = net.channel_op(&c.key, &foreign).unwrap_err();
    assert!(
        got.starts_with("rejected") && got.contains("malformed_call"),
        "{got}"
    );
    net.assert_unchanged(&before, "malformed_call");

    // Closing: no top-up, no bond, no second force close.
    net.channel_op(
        &c.key,
        &force_close(&serial, Some(st), CloseReason::StoppedByConsumer),
    )
    .unwrap();
    net.channel_refused(&c.key, &top_up(&serial, 100), "channel_closing");
    net.channel_refused(&s.key, &bond(&serial, 100), "channel_closing");
    // Trade top-ups go on into the escrow and come back at the close.
    net.trade_op(
        &c.key,
        &TradeOp::Fund {
            serial,
            amount_fen: pos(50),
        },
    )
    .unwrap();
    assert_bonds_match(&net, &serial);
    net.refused(
        &c.key,
        &Net::close_op(&serial, CloseReason::StoppedByConsumer),
        "channel_open",
    );
    net.advance(WINDOW);
    net.channel_op(&s.key, &settle(&serial)).unwrap();
    assert_eq!(
        net.trade(&serial).closure.unwrap().refund_fen.get(),
        2_000 + 50 - 500
    );
    assert_bonds_match(&net, &serial);
}

#[test]
fn completed_is_a_close_reason_once_the_contract_has_ended() {
    let (mut net, s, c, serial) = setup(60, 600);
    net.channel_op(&c.key, &open(&serial, 0, 100)).unwrap();
    net.channel_op(&s.key, &bond(&serial, 100)).unwrap();
    net.advance(61 * MINUTE);
    let st = state(&net, &s, &c, &serial, 1, 60);
    // The contract has ended: no new channel on another trade would open, but this one
    // completes.
    net.channel_op(
        &s.key,
        &force_close(&serial, Some(st), CloseReason::Completed),
    )
    .unwrap();
    net.advance(WINDOW);
    net.channel_op(&c.key, &settle(&serial)).unwrap();
    let t = net.trade(&serial);
    assert_eq!(t.closure.unwrap().reason, CloseReason::Completed);
    assert_eq!((t.charged_fen.get(), t.paid_fen.get()), (600, 600));
    assert_bonds_match(&net, &serial);
}

#[test]
fn a_cooperative_close_as_completed_waits_for_the_contract_end() {
    let (mut net, s, c, serial) = setup(60, 600);
    net.channel_op(&c.key, &open(&serial, 0, 100)).unwrap();
    net.advance(30 * MINUTE);
    let early = Statement {
        close: Some(CloseReason::Completed),
        ..net.statement(&serial, 1, 30)
    };
    for key in [&s.key, &c.key] {
        net.channel_refused(
            key,
            &coop_close(signed_state(&s.key, &c.key, early)),
            "contract_not_ended",
        );
    }
    net.advance(31 * MINUTE);
    let done = Statement {
        close: Some(CloseReason::Completed),
        ..net.statement(&serial, 2, 60)
    };
    net.channel_op(&s.key, &coop_close(signed_state(&s.key, &c.key, done)))
        .unwrap();
    let t = net.trade(&serial);
    assert_eq!(t.closure.unwrap().reason, CloseReason::Completed);
    assert_eq!((t.charged_fen.get(), t.paid_fen.get()), (600, 600));
    assert_bonds_match(&net, &serial);
}

#[test]
fn a_channel_opened_after_trade_checkins_prices_on_top_of_them() {
    let (mut net, s, c, serial) = setup(240, 1_000);
    net.advance(60 * MINUTE);
    let period = net.checkin_op(&s, &serial, 60);
    net.trade_op(&s.key, &period).unwrap();
    let billed = net.trade(&serial);
    assert_eq!((billed.billed_minutes, billed.charged_fen.get()), (60, 600));
    net.channel_op(&c.key, &open(&serial, 0, 0)).unwrap();
    let terms = net.channel(&serial).terms;
    assert_eq!(terms.start_ms, billed.billed_until_ms.unwrap());
    assert_eq!(
        (terms.base_minutes, terms.base_charged_fen.get()),
        (60, 600)
    );
    // The flag-fall was charged by the trade's check-in: the channel's minutes cost the
    // rate only.
    assert_eq!(terms.cost_of(1), Ok(fen(10)));
    // The channel's minutes count from the end of what was billed.
    let ahead = net.statement(&serial, 1, 12);
    net.channel_refused(
        &s.key,
        &checkin(signed_state(&s.key, &c.key, ahead)),
        "minutes_in_future",
    );
    net.advance(5 * MINUTE);
    let st = state(&net, &s, &c, &serial, 1, 15);
    net.channel_op(&s.key, &checkin(st)).unwrap();
    let t = net.trade(&serial);
    assert_eq!(
        (t.billed_minutes, t.charged_fen.get(), t.paid_fen.get()),
        (75, 750, 750)
    );
    assert_eq!(t.billed_until_ms, Some(terms.start_ms + 15 * MINUTE));
    assert_eq!(net.escrow(&serial), 250);
    assert_bonds_match(&net, &serial);
}

#[test]
fn a_channel_does_not_open_after_the_contract_has_ended() {
    let (mut net, _s, c, serial) = setup(60, 600);
    net.advance(60 * MINUTE);
    net.channel_refused(&c.key, &open(&serial, 0, 0), "contract_ended");
}

// ---- low funds -------------------------------------------------------------------------

#[test]
fn a_checkin_beyond_the_escrow_waits_for_a_top_up() {
    let (mut net, s, c, serial) = setup(240, 600);
    net.channel_op(&c.key, &open(&serial, 0, 0)).unwrap();
    assert_eq!(net.escrow(&serial), 600);
    net.advance(80 * MINUTE);
    let s1 = state(&net, &s, &c, &serial, 1, 70);
    assert_eq!(s1.statement.cost_fen.get(), 700);
    net.channel_refused(&s.key, &checkin(s1), "insufficient_escrow");
    net.channel_op(&c.key, &top_up(&serial, 100)).unwrap();
    assert_eq!(net.trade(&serial).funded_fen.get(), 700);
    net.channel_op(&s.key, &checkin(s1)).unwrap();
    assert_eq!(net.escrow(&serial), 0);
    assert_eq!(net.balance(&s), 10_000 + 700);
    // A top-up must be positive: a zero amount does not even decode.
    let body = format!(r#"{{"op":"top_up","serial":"{serial}","amount_fen":0}}"#);
    let call =
        suanli_ledger::ContractCall::new(suanli_ledger::ContractId::Channel, body.into_bytes())
            .unwrap();
    let got = net.block(
        suanli_primitives::ChainKind::Trade,
        vec![(&c.key, suanli_ledger::Payload::Call(call))],
    );
    assert!(
        matches!(&got[0], Err(e) if e.contains("malformed_call")),
        "{got:?}"
    );
    assert_bonds_match(&net, &serial);
}

#[test]
fn a_close_beyond_the_escrow_leaves_the_rest_unpaid() {
    let (mut net, s, c, serial) = setup(240, 600);
    net.channel_op(&c.key, &open(&serial, 0, 0)).unwrap();
    net.advance(80 * MINUTE);
    let last = Statement {
        close: Some(CloseReason::StoppedByConsumer),
        ..net.statement(&serial, 1, 70)
    };
    net.channel_op(&s.key, &coop_close(signed_state(&s.key, &c.key, last)))
        .unwrap();
    let t = net.trade(&serial);
    assert_eq!(
        (t.charged_fen.get(), t.paid_fen.get(), t.unpaid_fen.get()),
        (700, 600, 100)
    );
    assert_bonds_match(&net, &serial);
}

// ---- conservation under random interleavings --------------------------------------------

mod property {
    use super::*;
    use proptest::prelude::*;
    use suanli_ledger::Payload;
    use suanli_primitives::ChainKind;

    /// One channel operation of a random run. `ch` picks the trade, `pick` a state counted
    /// from the newest the parties signed (so larger picks are stale), `corrupt` spoils it.
    #[derive(Debug, Clone)]
    enum Act {
        Open {
            ch: usize,
            deposit: i64,
            bond: i64,
            wrong: bool,
        },
        Bond {
            ch: usize,
            amount: i64,
            wrong: bool,
        },
        TopUp {
            ch: usize,
            amount: i64,
        },
        Fund {
            ch: usize,
            amount: i64,
        },
        Sign {
            ch: usize,
            minutes: u64,
        },
        Checkin {
            ch: usize,
            pick: usize,
            supplier: bool,
            corrupt: u8,
        },
        CoopClose {
            ch: usize,
            pick: usize,
            reason: usize,
            supplier: bool,
            corrupt: u8,
        },
        ForceClose {
            ch: usize,
            pick: Option<usize>,
            reason: usize,
            supplier: bool,
            corrupt: u8,
        },
        Challenge {
            ch: usize,
            pick: usize,
            supplier: bool,
            corrupt: u8,
        },
        Settle {
            ch: usize,
            supplier: bool,
        },
    }

    const CHANNELS: usize = 3;

    /// `CloseReason::ALL[n]`, or for n ≥ 5 the reason the closing party may always give.
    fn reason_of(n: usize, supplier: bool) -> CloseReason {
        match CloseReason::ALL.get(n) {
            Some(reason) => *reason,
            None if supplier => CloseReason::SupplierFault,
            None => CloseReason::StoppedByConsumer,
        }
    }

    fn act() -> impl Strategy<Value = Act> {
        let ch = 0..CHANNELS;
        prop_oneof![
            3 => (ch.clone(), 0..2_000i64, 0..500i64, prop::bool::weighted(0.15))
                .prop_map(|(ch, deposit, bond, wrong)| Act::Open { ch, deposit, bond, wrong }),
            2 => (ch.clone(), 1..500i64, prop::bool::weighted(0.15))
                .prop_map(|(ch, amount, wrong)| Act::Bond { ch, amount, wrong }),
            1 => (ch.clone(), 0..800i64).prop_map(|(ch, amount)| Act::TopUp { ch, amount }),
            1 => (ch.clone(), 1..300i64).prop_map(|(ch, amount)| Act::Fund { ch, amount }),
            6 => (ch.clone(), 0..15u64).prop_map(|(ch, minutes)| Act::Sign { ch, minutes }),
            5 => (ch.clone(), 0..3usize, any::<bool>(), 0..5u8).prop_map(
                |(ch, pick, supplier, corrupt)| Act::Checkin { ch, pick, supplier, corrupt }
            ),
            1 => (ch.clone(), 0..2usize, 0..8usize, any::<bool>(), 0..5u8).prop_map(
                |(ch, pick, reason, supplier, corrupt)| Act::CoopClose {
                    ch, pick, reason, supplier, corrupt
                }
            ),
            3 => (ch.clone(), prop::option::of(0..4usize), 0..8usize, any::<bool>(), 0..5u8)
                .prop_map(|(ch, pick, reason, supplier, corrupt)| Act::ForceClose {
                    ch, pick, reason, supplier, corrupt
                }),
            3 => (ch.clone(), 0..3usize, any::<bool>(), 0..5u8).prop_map(
                |(ch, pick, supplier, corrupt)| Act::Challenge { ch, pick, supplier, corrupt }
            ),
            2 => (ch, any::<bool>()).prop_map(|(ch, supplier)| Act::Settle { ch, supplier }),
        ]
    }

    /// Blocks: minutes to advance before each, and its one to three operations.
    fn blocks() -> impl Strategy<Value = Vec<(u64, Vec<Act>)>> {
        prop::collection::vec(
            (
                prop_oneof![4 => Just(0u64), 3 => 1..8u64, 1 => 8..30u64],
                prop::collection::vec(act(), 1..=3),
            ),
            20..60,
        )
    }

    struct World {
        net: Net,
        parties: Vec<Party>,
        /// Per channel: trade serial, consumer index, supplier index.
        trades: Vec<(Serial, usize, usize)>,
        /// Per channel: the statements both parties have signed off the chain.
        signed: Vec<Vec<Statement>>,
    }

    fn world() -> World {
        let mut net = Net::new();
        let (s1, c1, offer1) = net.pair(4);
        let s2 = net.party("supplier-2", Role::Supplier);
        let c2 = net.party("consumer-2", Role::Consumer);
        net.mint(&c2, 100_000);
        net.mint(&s1, 10_000);
        net.mint(&s2, 10_000);
        let offer2 = net.mode_and_offer(&s2, 4);
        let t1 = net.contracted(&c1, &s1, 1, offer1, 300, 600);
        let t2 = net.contracted(&c2, &s1, 2, offer1, 400, 3_000);
        let t3 = net.contracted(&c1, &s2, 3, offer2, 240, 1_000);
        // parties: 0 s1, 1 c1, 2 s2, 3 c2
        World {
            net,
            parties: vec![s1, c1, s2, c2],
            trades: vec![(t1, 1, 0), (t2, 3, 0), (t3, 1, 2)],
            signed: vec![Vec::new(); CHANNELS],
        }
    }

    impl World {
        fn has_channel(&self, ch: usize) -> bool {
            self.net
                .trade
                .state()
                .get(&suanli_trade::records::channel_key(&self.trades[ch].0))
                .is_some()
        }

        /// The signing key for a party of channel `ch`, or one of another trade.
        fn key(&self, ch: usize, supplier: bool, wrong: bool) -> SecretKey {
            let (_, c, s) = self.trades[ch];
            let idx = match (supplier, wrong) {
                (true, false) => s,
                (false, false) => c,
                // A party of the wrong role, or of another trade.
                (true, true) => c,
                (false, true) => {
                    if c == 1 {
                        3
                    } else {
                        1
                    }
                }
            };
            self.parties[idx].key.clone()
        }

        /// `ch`, or if its channel is not in `status` the next one that is (to reach the
        /// operations of each status often).
        fn prefer(&self, ch: usize, status: ChannelStatus) -> usize {
            (0..CHANNELS)
                .map(|k| (ch + k) % CHANNELS)
                .find(|&i| {
                    self.has_channel(i) && self.net.channel(&self.trades[i].0).status == status
                })
                .unwrap_or(ch)
        }

        fn pick(&self, ch: usize, pick: usize) -> Option<Statement> {
            let states = &self.signed[ch];
            states.len().checked_sub(pick + 1).map(|i| states[i])
        }

        /// `st` signed by both parties of `ch`, spoilt by `corrupt` 3 (forged signature)
        /// or 4 (a cost off the pricing).
        fn sign(&self, ch: usize, mut st: Statement, corrupt: u8) -> SignedState {
            let (_, c, s) = self.trades[ch];
            if corrupt == 4 {
                st.cost_fen = fen(st.cost_fen.get() + 1);
            }
            let mut signed = signed_state(&self.parties[s].key, &self.parties[c].key, st);
            if corrupt == 3 {
                signed.consumer_signature = st.sign(&self.parties[s].key);
            }
            signed
        }

        fn op(&mut self, act: &Act) -> Option<(SecretKey, ChannelOp)> {
            Some(match *act {
                Act::Open {
                    ch,
                    deposit,
                    bond,
                    wrong,
                } => (
                    self.key(ch, wrong, false),
                    open(&self.trades[ch].0, deposit, bond),
                ),
                Act::Bond { ch, amount, wrong } => (
                    self.key(ch, !wrong, false),
                    bond(&self.trades[ch].0, amount),
                ),
                // A zero top-up cannot be built (`PositiveFen`); that it does not even
                // decode is tested in `a_checkin_beyond_the_escrow_waits_for_a_top_up`.
                Act::TopUp { amount: 0, .. } => return None,
                Act::TopUp { ch, amount } => (
                    self.key(ch, false, false),
                    top_up(&self.trades[ch].0, amount),
                ),
                Act::Fund { .. } => return None,
                Act::Sign { ch, minutes } => {
                    if !self.has_channel(ch) {
                        return None;
                    }
                    let (serial, ..) = self.trades[ch];
                    let last = self.signed[ch].last().copied();
                    let seq = last.map_or(0, |l| l.seq) + 1;
                    let minutes = last.map_or(0, |l| l.minutes) + minutes;
                    let terms = self.net.channel(&serial).terms;
                    let st = Statement {
                        serial,
                        seq,
                        minutes,
                        cost_fen: terms.cost_of(minutes).unwrap(),
                        usage_sha256: [seq as u8; 32],
                        close: None,
                    };
                    self.signed[ch].push(st);
                    return None;
                }
                Act::Checkin {
                    ch,
                    pick,
                    supplier,
                    corrupt,
                } => {
                    let ch = self.prefer(ch, ChannelStatus::Open);
                    let st = self.pick(ch, pick)?;
                    (
                        self.key(ch, supplier, corrupt == 2),
                        checkin(self.sign(ch, st, corrupt)),
                    )
                }
                Act::CoopClose {
                    ch,
                    pick,
                    reason,
                    supplier,
                    corrupt,
                } => {
                    let mut st = self.pick(ch, pick)?;
                    st.close = Some(reason_of(reason, supplier));
                    (
                        self.key(ch, supplier, corrupt == 2),
                        coop_close(self.sign(ch, st, corrupt)),
                    )
                }
                Act::ForceClose {
                    ch,
                    pick,
                    reason,
                    supplier,
                    corrupt,
                } => {
                    let state = match pick {
                        Some(p) => Some(self.sign(ch, self.pick(ch, p)?, corrupt)),
                        None => None,
                    };
                    (
                        self.key(ch, supplier, corrupt == 2),
                        force_close(&self.trades[ch].0, state, reason_of(reason, supplier)),
                    )
                }
                Act::Challenge {
                    ch,
                    pick,
                    supplier,
                    corrupt,
                } => {
                    let ch = self.prefer(ch, ChannelStatus::Closing);
                    let st = self.pick(ch, pick)?;
                    (
                        self.key(ch, supplier, corrupt == 2),
                        challenge(self.sign(ch, st, corrupt)),
                    )
                }
                Act::Settle { ch, supplier } => {
                    let ch = self.prefer(ch, ChannelStatus::Closing);
                    (self.key(ch, supplier, false), settle(&self.trades[ch].0))
                }
            })
        }

        fn check(&self) {
            let (sum, supply) = self.net.conservation();
            assert_eq!(sum, supply, "Σ balances = supply");
            for (serial, ..) in &self.trades {
                let t = self.net.trade(serial);
                assert_eq!(
                    self.net.escrow(serial),
                    t.escrow_expected_fen(),
                    "escrow of {serial}"
                );
                assert_eq!(
                    t.charged_fen.get(),
                    t.paid_fen.get() + t.unpaid_fen.get(),
                    "charged of {serial}"
                );
                if self
                    .net
                    .trade
                    .state()
                    .get(&suanli_trade::records::channel_key(serial))
                    .is_none()
                {
                    assert_eq!(self.net.bond(serial, Role::Consumer), 0);
                    assert_eq!(self.net.bond(serial, Role::Supplier), 0);
                    continue;
                }
                let ch = self.net.channel(serial);
                let (cb, sb) = if ch.status == ChannelStatus::Closed {
                    assert_eq!(t.status, Status::Closed);
                    (0, 0)
                } else {
                    assert_ne!(t.status, Status::Closed);
                    (ch.consumer_bond_fen.get(), ch.supplier_bond_fen.get())
                };
                assert_eq!(
                    self.net.bond(serial, Role::Consumer),
                    cb,
                    "consumer bond of {serial}"
                );
                assert_eq!(
                    self.net.bond(serial, Role::Supplier),
                    sb,
                    "supplier bond of {serial}"
                );
                assert!(ch.consumer_bond_fen.get() >= 0 && ch.supplier_bond_fen.get() >= 0);
                if ch.status != ChannelStatus::Closed {
                    // Until the close, the trade has charged and paid exactly the settled
                    // state on top of what it had billed before the channel.
                    let terms = ch.terms;
                    assert_eq!(
                        t.charged_fen.get(),
                        terms.base_charged_fen.get() + ch.settled.cost_fen.get()
                    );
                    assert_eq!(t.paid_fen.get(), t.charged_fen.get());
                    assert_eq!(t.billed_minutes, terms.base_minutes + ch.settled.minutes);
                } else {
                    assert!(t.closure.as_ref().unwrap().refund_fen.get() >= 0);
                }
            }
        }
    }

    fn run(blocks: Vec<(u64, Vec<Act>)>) -> std::collections::BTreeMap<String, usize> {
        let mut w = world();
        let mut tally = std::collections::BTreeMap::<String, usize>::new();
        for (advance, acts) in blocks {
            w.net.advance(advance * MINUTE);
            let mut txs = Vec::new();
            let mut names = Vec::new();
            for a in &acts {
                if let Act::Fund { ch, amount } = *a {
                    let op = TradeOp::Fund {
                        serial: w.trades[ch].0,
                        amount_fen: pos(amount),
                    };
                    txs.push((
                        w.key(ch, false, false),
                        Payload::Call(op.to_call().unwrap()),
                    ));
                    names.push("fund".to_string());
                    continue;
                }
                if let Some((key, op)) = w.op(a) {
                    let name = serde_json::to_value(&op).unwrap()["op"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    let Ok(call) = op.to_call() else { continue };
                    txs.push((key, Payload::Call(call)));
                    names.push(name);
                }
            }
            if txs.is_empty() {
                continue;
            }
            let before = w.net.snapshot();
            let single = txs.len() == 1;
            let refs: Vec<(&SecretKey, Payload)> =
                txs.iter().map(|(k, p)| (k, p.clone())).collect();
            let results = w.net.block(ChainKind::Trade, refs);
            for (name, result) in names.iter().zip(&results) {
                let outcome = match result {
                    Ok(()) => "ok".to_string(),
                    Err(e) => e.split(':').next().unwrap_or_default().to_owned(),
                };
                assert_ne!(outcome, "state_corrupt", "{name}: {result:?}");
                assert_ne!(outcome, "overflow", "{name}: {result:?}");
                *tally.entry(format!("{name} {outcome}")).or_default() += 1;
            }
            if single && results[0].is_err() {
                w.net.assert_unchanged(&before, &names[0]);
            }
            w.check();
        }
        tally
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn credits_bonds_and_escrows_are_conserved_under_any_interleaving(blocks in blocks()) {
            let tally = run(blocks);
            if std::env::var_os("CHANNEL_TALLY").is_some() {
                eprintln!("{tally:?}");
            }
        }
    }
}

#[test]
fn opening_late_settles_the_whole_minutes_served_before_the_channel() {
    // The consumer cannot skip the time since the contract (or the last check-in) by
    // opening a channel and closing it with no state.
    let (mut net, s, c, serial) = setup(240, 1_000);
    let billed_until = net.trade(&serial).billed_until_ms.unwrap();
    net.advance(30 * MINUTE + 20_000);
    net.channel_op(&c.key, &open(&serial, 0, 0)).unwrap();
    let t = net.trade(&serial);
    // Rate 10 fen/min and a minimum charge of 500 fen: 30 minutes cost 500.
    assert_eq!(
        (t.billed_minutes, t.charged_fen.get(), t.paid_fen.get()),
        (30, 500, 500)
    );
    let ch = net.channel(&serial);
    assert_eq!(ch.terms.start_ms, billed_until + 30 * MINUTE);
    assert_eq!(
        (ch.terms.base_minutes, ch.terms.base_charged_fen.get()),
        (30, 500)
    );
    assert_eq!(net.balance(&s), 10_000 + 500);
    net.channel_op(
        &c.key,
        &force_close(&serial, None, CloseReason::StoppedByConsumer),
    )
    .unwrap();
    net.advance(WINDOW);
    net.channel_op(&c.key, &settle(&serial)).unwrap();
    assert_eq!(net.trade(&serial).charged_fen.get(), 500);
    assert_eq!(net.balance(&c), 100_000 - 500);
    assert_bonds_match(&net, &serial);
}

#[test]
fn one_party_cannot_use_up_the_others_challenges() {
    // The consumer posts an old state and updates it itself as often as it may; the
    // supplier can still answer with its newest state.
    let (mut net, s, c, serial) = setup(240, 1_000);
    five_states(&mut net, &s, &c, &serial);
    let at = |net: &Net, seq: u64| state(net, &s, &c, &serial, seq, 60);
    let first = at(&net, 10);
    net.channel_op(
        &c.key,
        &force_close(&serial, Some(first), CloseReason::StoppedByConsumer),
    )
    .unwrap();
    let cap = suanli_trade::channel_contract::CHALLENGES_PER_CHANNEL_MAX as u64;
    for seq in 11..11 + cap {
        let st = at(&net, seq);
        net.channel_op(&c.key, &challenge(st)).unwrap();
    }
    let over = at(&net, 11 + cap);
    net.channel_refused(&c.key, &challenge(over), "limit_reached");
    let newest = state(&net, &s, &c, &serial, 1_000, 100);
    net.channel_op(&s.key, &challenge(newest)).unwrap();
    let ch = net.channel(&serial);
    assert_eq!(ch.closing.as_ref().unwrap().posted.seq, 1_000);
    assert_eq!(ch.penalty.as_ref().map(|p| p.party), Some(Role::Consumer));
}

#[test]
fn a_supplier_closes_for_out_of_funds_only_when_the_escrow_runs_short() {
    let (mut net, s, c, serial) = setup(240, 1_000);
    let states = five_states(&mut net, &s, &c, &serial);
    // 2,000 fen escrowed, 600 settled: the next hour (600 fen) is still covered.
    net.channel_refused(
        &s.key,
        &force_close(&serial, Some(states[1]), CloseReason::OutOfFunds),
        "escrow_still_covers",
    );
    // At 190 minutes (1,900 fen) the 100 fen left do not cover the next period.
    net.advance(100 * MINUTE);
    let late = state(&net, &s, &c, &serial, 6, 190);
    net.channel_op(
        &s.key,
        &force_close(&serial, Some(late), CloseReason::OutOfFunds),
    )
    .unwrap();
}
