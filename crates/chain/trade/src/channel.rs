//! Service channels (seed 001 §3.2, §4.4): per-minute usage of a contracted trade is
//! metered off the chain as a stream of numbered **statements** that both parties sign;
//! only the channel's opening, periodic check-ins of the latest dual-signed state, its
//! close and any dispute go on the chain (`docs/channel-protocol.md`).
//!
//! This module is the protocol's pure core, shared by the on-chain contract
//! ([`crate::channel_contract`]) and the off-chain controller (crate `suanli-channel-controller`):
//! - [`Statement`]: channel (= trade serial), sequence number, cumulative minutes,
//!   cumulative cost, SHA-256 of the usage detail, and — on the last one — the close
//!   reason both parties agree on;
//! - [`statement_digest`]: the 32 bytes both parties sign;
//! - [`ChannelTerms`] and [`ChannelTerms::check_successor`]: the rules every next state
//!   obeys (sequence numbers only grow, cumulative values never decrease, the cost is
//!   exactly what the trade's pricing gives for the minutes, no minute is billed before it
//!   has passed);
//! - [`ChannelOp`]: the channel contract's operations.

use serde::{Deserialize, Serialize};
use suanli_ledger::{ContractCall, ContractId};
use suanli_primitives::hash::sha256_parts;
use suanli_primitives::keys::verify_many;
use suanli_primitives::{Fen, PositiveFen, PublicKey, SecretKey, Signature};

use crate::model::{CloseReason, InvalidValue, MINUTE_MS, Serial};
use crate::pricing;

/// Shortest challenge window a channel may be opened with, in ms (5 minutes: the other
/// party's controller must have time to see a unilateral close and answer it).
pub const CHALLENGE_WINDOW_MS_MIN: u64 = 5 * MINUTE_MS;
/// Longest challenge window, in ms (7 days).
pub const CHALLENGE_WINDOW_MS_MAX: u64 = 7 * 24 * 60 * MINUTE_MS;

/// One off-chain channel state. Cumulative values count from the channel's opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// The channel: the serial of the trade it meters (one channel per trade).
    pub serial: Serial,
    /// Grows by at least one with every new state.
    pub seq: u64,
    /// Minutes of service metered since the channel's minute 0 (the end of what the trade
    /// had settled when the channel opened).
    pub minutes: u64,
    /// What those minutes cost, in fen: [`ChannelTerms::cost_of`] of `minutes`.
    pub cost_fen: Fen,
    /// SHA-256 (hex) of the usage detail the supplier's metering produced for this state.
    #[serde(with = "hex32")]
    pub usage_sha256: [u8; 32],
    /// Set on the final state of a cooperative close: the reason both parties agree on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<CloseReason>,
}

/// A statement with both parties' signatures over [`statement_digest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedState {
    pub statement: Statement,
    pub supplier_signature: Signature,
    pub consumer_signature: Signature,
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| serde::de::Error::custom("usage_sha256 must be 64 hex characters"))
    }
}

/// The one-byte code of a close reason in the signed digest (0: none).
pub fn close_code(close: Option<CloseReason>) -> u8 {
    match close {
        None => 0,
        Some(CloseReason::Completed) => 1,
        Some(CloseReason::StoppedByConsumer) => 2,
        Some(CloseReason::SupplierFault) => 3,
        Some(CloseReason::OutOfFunds) => 4,
        Some(CloseReason::Expired) => 5,
    }
}

/// The inverse of [`close_code`].
pub fn close_from_code(code: u8) -> Result<Option<CloseReason>, u8> {
    Ok(match code {
        0 => None,
        1 => Some(CloseReason::Completed),
        2 => Some(CloseReason::StoppedByConsumer),
        3 => Some(CloseReason::SupplierFault),
        4 => Some(CloseReason::OutOfFunds),
        5 => Some(CloseReason::Expired),
        other => return Err(other),
    })
}

/// What both parties sign: SHA-256("suanli/channel/state/v1" ‖ serial ‖ seq ‖ minutes ‖
/// cost ‖ usage hash ‖ close code), integers big-endian, close code 0 for none and 1–5 for
/// completed, stopped_by_consumer, supplier_fault, out_of_funds, expired.
pub fn statement_digest(s: &Statement) -> [u8; 32] {
    *sha256_parts(&[
        b"suanli/channel/state/v1".as_slice(),
        s.serial.as_bytes(),
        &s.seq.to_be_bytes(),
        &s.minutes.to_be_bytes(),
        &s.cost_fen.get().to_be_bytes(),
        &s.usage_sha256,
        &[close_code(s.close)],
    ])
    .as_bytes()
}

impl Statement {
    pub fn sign(&self, key: &SecretKey) -> Signature {
        key.sign(&statement_digest(self))
    }

    pub fn verify(&self, key: &PublicKey, signature: &Signature) -> bool {
        key.verify(&statement_digest(self), signature)
    }
}

impl SignedState {
    /// Both signatures verify with the parties' keys (one batch).
    pub fn verify(&self, supplier: &PublicKey, consumer: &PublicKey) -> bool {
        let digest = statement_digest(&self.statement);
        verify_many(&[
            (&digest, &self.supplier_signature, supplier),
            (&digest, &self.consumer_signature, consumer),
        ])
        .iter()
        .all(|ok| *ok)
    }
}

/// Why a next state is refused. Each variant has a stable code ([`StateError::code`]),
/// used by the contract and on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the state is for channel {got}, not {expected}")]
    WrongChannel { expected: Serial, got: Serial },
    #[error("sequence number {got} does not follow {last}: sequence numbers only grow")]
    SeqNotIncreasing { last: u64, got: u64 },
    #[error("cumulative minutes fell from {last} to {got}: cumulative values never decrease")]
    MinutesDecreased { last: u64, got: u64 },
    #[error("cumulative cost fell from {last} to {got} fen: cumulative values never decrease")]
    CostDecreased { last: i64, got: i64 },
    #[error("{minutes} minutes cost {expected} fen under the trade's terms, not {got}")]
    CostMismatch {
        minutes: u64,
        expected: i64,
        got: i64,
    },
    #[error(
        "{minutes} minutes are more than the {allowed} that have passed since the channel opened"
    )]
    MinutesInFuture { minutes: u64, allowed: u64 },
    #[error("{minutes} minutes run past the contract's end ({max} minutes after the opening)")]
    BeyondContract { minutes: u64, max: u64 },
    #[error("the state's signatures do not verify with the parties' enrolled keys")]
    BadSignature,
    #[error("the amount overflows the fen range")]
    Overflow,
}

impl StateError {
    pub fn code(&self) -> &'static str {
        match self {
            StateError::WrongChannel { .. } => "wrong_channel",
            StateError::SeqNotIncreasing { .. } => "seq_not_increasing",
            StateError::MinutesDecreased { .. } => "minutes_decreased",
            StateError::CostDecreased { .. } => "cost_decreased",
            StateError::CostMismatch { .. } => "cost_mismatch",
            StateError::MinutesInFuture { .. } => "minutes_in_future",
            StateError::BeyondContract { .. } => "beyond_contract",
            StateError::BadSignature => "bad_signature",
            StateError::Overflow => "overflow",
        }
    }
}

/// What a channel's states are checked against: fixed when the channel opens (from the
/// trade's contract and what was billed before the channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTerms {
    pub serial: Serial,
    pub supplier_key: PublicKey,
    pub consumer_key: PublicKey,
    pub rate_fen_per_minute: Fen,
    pub min_cost_fen: Fen,
    /// Minutes and charge the trade had billed before the channel opened.
    pub base_minutes: u64,
    pub base_charged_fen: Fen,
    /// Minute 0 of the channel (the end of what was billed before it), ms.
    pub start_ms: u64,
    /// The contract's end, ms.
    pub end_ms: u64,
}

impl ChannelTerms {
    /// The channel's cumulative cost of `minutes`: what the trade's pricing charges for
    /// them on top of what was charged before the channel (the minimum charge included),
    /// and 0 for 0 minutes.
    pub fn cost_of(&self, minutes: u64) -> Result<Fen, StateError> {
        if minutes == 0 {
            return Ok(Fen::ZERO);
        }
        pricing::settlement_cost(
            self.base_minutes,
            self.base_charged_fen,
            minutes,
            self.rate_fen_per_minute,
            self.min_cost_fen,
        )
        .map_err(|_| StateError::Overflow)
    }

    /// Whole minutes from the opening to the contract's end.
    pub fn minutes_max(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms) / MINUTE_MS
    }

    /// Whole minutes that have passed at `now_ms` (capped at the contract).
    pub fn minutes_elapsed(&self, now_ms: u64) -> u64 {
        (now_ms.saturating_sub(self.start_ms) / MINUTE_MS).min(self.minutes_max())
    }

    /// The rules of a next state (signatures aside): same channel, a greater sequence
    /// number, cumulative values that do not decrease, exactly the priced cost, within
    /// the contract and not ahead of `now_ms` (plus `skew_ms`). `last` is the latest
    /// state the checker holds (none: the channel's opening, seq 0, nothing metered).
    pub fn check_successor(
        &self,
        last: Option<&Statement>,
        next: &Statement,
        now_ms: u64,
        skew_ms: u64,
    ) -> Result<(), StateError> {
        if next.serial != self.serial {
            return Err(StateError::WrongChannel {
                expected: self.serial,
                got: next.serial,
            });
        }
        let (last_seq, last_minutes, last_cost) =
            last.map_or((0, 0, Fen::ZERO), |s| (s.seq, s.minutes, s.cost_fen));
        if next.seq <= last_seq {
            return Err(StateError::SeqNotIncreasing {
                last: last_seq,
                got: next.seq,
            });
        }
        if next.minutes < last_minutes {
            return Err(StateError::MinutesDecreased {
                last: last_minutes,
                got: next.minutes,
            });
        }
        if next.cost_fen < last_cost {
            return Err(StateError::CostDecreased {
                last: last_cost.get(),
                got: next.cost_fen.get(),
            });
        }
        self.check_priced(next, now_ms, skew_ms)
    }

    /// The parts of the rules that need no predecessor: priced cost, within the
    /// contract, not in the future.
    pub fn check_priced(
        &self,
        next: &Statement,
        now_ms: u64,
        skew_ms: u64,
    ) -> Result<(), StateError> {
        let max = self.minutes_max();
        if next.minutes > max {
            return Err(StateError::BeyondContract {
                minutes: next.minutes,
                max,
            });
        }
        let allowed = self.minutes_elapsed(now_ms.saturating_add(skew_ms));
        if next.minutes > allowed {
            return Err(StateError::MinutesInFuture {
                minutes: next.minutes,
                allowed,
            });
        }
        let expected = self.cost_of(next.minutes)?;
        if next.cost_fen != expected {
            return Err(StateError::CostMismatch {
                minutes: next.minutes,
                expected: expected.get(),
                got: next.cost_fen.get(),
            });
        }
        Ok(())
    }

    /// Both signatures of `state` verify with the terms' keys.
    pub fn verify(&self, state: &SignedState) -> Result<(), StateError> {
        if state.verify(&self.supplier_key, &self.consumer_key) {
            Ok(())
        } else {
            Err(StateError::BadSignature)
        }
    }
}

/// One channel-contract operation ([`ContractId::Channel`]), JSON like the trade
/// operations. Who may sign each is written on the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelOp {
    /// Consumer: opens the channel of an active trade. `deposit_fen` more credits go into
    /// the trade's escrow (0: the escrow as it is), `bond_fen` into the consumer's bond.
    Open {
        serial: Serial,
        deposit_fen: Fen,
        bond_fen: Fen,
        challenge_window_ms: u64,
    },
    /// Supplier: posts (adds to) its bond while the channel is open.
    Bond {
        serial: Serial,
        amount_fen: PositiveFen,
    },
    /// Consumer: adds credits to the escrow while the channel is open (resumes a paused
    /// channel).
    TopUp {
        serial: Serial,
        amount_fen: PositiveFen,
    },
    /// Either party: settles the latest dual-signed state up to now (the trade's check-in
    /// record).
    Checkin { serial: Serial, state: SignedState },
    /// Either party: cooperative close with a final state (its `close` set) signed by both.
    CoopClose { serial: Serial, state: SignedState },
    /// Either party: unilateral close with the latest state it holds (none: nothing
    /// metered since the last check-in), opening the challenge window.
    ForceClose {
        serial: Serial,
        state: Option<SignedState>,
        reason: CloseReason,
    },
    /// Either party, inside the window: a later dual-signed state replaces the posted one.
    /// A stale state the consumer posted, proven by the supplier, costs the consumer its
    /// bond.
    Challenge { serial: Serial, state: SignedState },
    /// Either party, after the window: settles by the latest posted state and closes the
    /// trade.
    Settle { serial: Serial },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelOpError {
    #[error("the channel operation is not valid JSON of a known shape: {0}")]
    Decode(String),
    #[error("{0}")]
    Invalid(#[from] InvalidValue),
    #[error("the operation is {0} bytes, more than a contract call may carry")]
    TooLarge(usize),
}

impl ChannelOp {
    pub fn decode(body: &[u8]) -> Result<Self, ChannelOpError> {
        let op: ChannelOp =
            serde_json::from_slice(body).map_err(|e| ChannelOpError::Decode(e.to_string()))?;
        op.check()?;
        Ok(op)
    }

    pub fn encode(&self) -> Vec<u8> {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn to_call(&self) -> Result<ContractCall, ChannelOpError> {
        let body = self.encode();
        let len = body.len();
        ContractCall::new(ContractId::Channel, body).map_err(|_| ChannelOpError::TooLarge(len))
    }

    pub fn serial(&self) -> &Serial {
        match self {
            ChannelOp::Open { serial, .. }
            | ChannelOp::Bond { serial, .. }
            | ChannelOp::TopUp { serial, .. }
            | ChannelOp::Checkin { serial, .. }
            | ChannelOp::CoopClose { serial, .. }
            | ChannelOp::ForceClose { serial, .. }
            | ChannelOp::Challenge { serial, .. }
            | ChannelOp::Settle { serial } => serial,
        }
    }

    /// Stateless checks of the fields.
    pub fn check(&self) -> Result<(), InvalidValue> {
        let state_of_this_channel = |state: &SignedState| {
            if state.statement.serial != *self.serial() {
                return Err(InvalidValue::from(
                    "the state's serial is not the operation's serial".to_owned(),
                ));
            }
            Ok(())
        };
        match self {
            ChannelOp::Open {
                challenge_window_ms,
                ..
            } => {
                // Amounts are never negative (`Fen`), bonds and top-ups never zero
                // (`PositiveFen`): decoding refuses them.
                if !(CHALLENGE_WINDOW_MS_MIN..=CHALLENGE_WINDOW_MS_MAX)
                    .contains(challenge_window_ms)
                {
                    return Err(InvalidValue::from(format!(
                        "challenge_window_ms must be {CHALLENGE_WINDOW_MS_MIN}..={CHALLENGE_WINDOW_MS_MAX}"
                    )));
                }
                Ok(())
            }
            ChannelOp::Checkin { state, .. } | ChannelOp::Challenge { state, .. } => {
                state_of_this_channel(state)
            }
            ChannelOp::CoopClose { state, .. } => {
                state_of_this_channel(state)?;
                if state.statement.close.is_none() {
                    return Err(InvalidValue::from(
                        "a cooperative close needs a final state (its close reason set)".to_owned(),
                    ));
                }
                Ok(())
            }
            ChannelOp::ForceClose { state, .. } => {
                state.as_ref().map_or(Ok(()), state_of_this_channel)
            }
            ChannelOp::Bond { .. } | ChannelOp::TopUp { .. } | ChannelOp::Settle { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> ChannelTerms {
        ChannelTerms {
            serial: Serial::from_bytes([7; 16]),
            supplier_key: SecretKey::from_label("s").public(),
            consumer_key: SecretKey::from_label("c").public(),
            rate_fen_per_minute: f(10),
            min_cost_fen: f(100),
            base_minutes: 0,
            base_charged_fen: Fen::ZERO,
            start_ms: 0,
            end_ms: 60 * MINUTE_MS,
        }
    }

    fn f(raw: i64) -> Fen {
        Fen::new(raw).unwrap()
    }

    fn st(seq: u64, minutes: u64, cost_fen: i64) -> Statement {
        Statement {
            serial: Serial::from_bytes([7; 16]),
            seq,
            minutes,
            cost_fen: f(cost_fen),
            usage_sha256: [seq as u8; 32],
            close: None,
        }
    }

    #[test]
    fn the_cost_follows_the_trade_pricing_with_its_flag_fall() {
        let t = terms();
        assert_eq!(t.cost_of(0), Ok(f(0)));
        assert_eq!(t.cost_of(1), Ok(f(100)));
        assert_eq!(t.cost_of(10), Ok(f(100)));
        assert_eq!(t.cost_of(11), Ok(f(110)));
        let after = ChannelTerms {
            base_minutes: 20,
            base_charged_fen: f(200),
            ..t
        };
        assert_eq!(after.cost_of(1), Ok(f(10)));
    }

    #[test]
    fn successors_obey_every_rule() {
        let t = terms();
        let now = 30 * MINUTE_MS;
        let last = st(5, 12, 120);
        assert_eq!(
            t.check_successor(Some(&last), &st(6, 13, 130), now, 0),
            Ok(())
        );
        assert_eq!(
            t.check_successor(Some(&last), &st(9, 12, 120), now, 0),
            Ok(())
        );
        let code = |next: Statement| {
            t.check_successor(Some(&last), &next, now, 0)
                .map_err(|e| e.code())
        };
        assert_eq!(code(st(5, 13, 130)), Err("seq_not_increasing"));
        assert_eq!(code(st(4, 13, 130)), Err("seq_not_increasing"));
        assert_eq!(code(st(6, 11, 110)), Err("minutes_decreased"));
        assert_eq!(code(st(6, 12, 110)), Err("cost_decreased"));
        assert_eq!(code(st(6, 13, 131)), Err("cost_mismatch"));
        assert_eq!(code(st(6, 31, 310)), Err("minutes_in_future"));
        assert_eq!(code(st(6, 61, 610)), Err("beyond_contract"));
        let mut other = st(6, 13, 130);
        other.serial = Serial::from_bytes([8; 16]);
        assert_eq!(code(other), Err("wrong_channel"));
    }

    #[test]
    fn signatures_cover_every_field() {
        let (s, c) = (SecretKey::from_label("s"), SecretKey::from_label("c"));
        let base = st(3, 4, 100);
        let signed = SignedState {
            statement: base,
            supplier_signature: base.sign(&s),
            consumer_signature: base.sign(&c),
        };
        assert_eq!(terms().verify(&signed), Ok(()));
        let variants = [
            Statement { seq: 4, ..base },
            Statement { minutes: 5, ..base },
            Statement {
                cost_fen: f(101),
                ..base
            },
            Statement {
                usage_sha256: [0; 32],
                ..base
            },
            Statement {
                close: Some(CloseReason::Completed),
                ..base
            },
            Statement {
                serial: Serial::from_bytes([1; 16]),
                ..base
            },
        ];
        for v in variants {
            let forged = SignedState {
                statement: v,
                ..signed
            };
            assert_eq!(
                terms().verify(&forged),
                Err(StateError::BadSignature),
                "{v:?}"
            );
        }
        let swapped = SignedState {
            supplier_signature: signed.consumer_signature,
            consumer_signature: signed.supplier_signature,
            ..signed
        };
        assert_eq!(terms().verify(&swapped), Err(StateError::BadSignature));
    }

    #[test]
    fn operations_are_checked_before_admission() {
        let serial = "07070707070707070707070707070707";
        let bad_window = format!(
            r#"{{"op":"open","serial":"{serial}","deposit_fen":0,"bond_fen":0,"challenge_window_ms":5}}"#
        );
        assert!(matches!(
            ChannelOp::decode(bad_window.as_bytes()),
            Err(ChannelOpError::Invalid(_))
        ));
        let ok = format!(
            r#"{{"op":"open","serial":"{serial}","deposit_fen":0,"bond_fen":10,"challenge_window_ms":600000}}"#
        );
        assert!(ChannelOp::decode(ok.as_bytes()).is_ok());
        let unknown = format!(r#"{{"op":"settle","serial":"{serial}","x":1}}"#);
        assert!(matches!(
            ChannelOp::decode(unknown.as_bytes()),
            Err(ChannelOpError::Decode(_))
        ));
        let s = SecretKey::from_label("s");
        let state = st(1, 1, 100);
        let signed = SignedState {
            statement: state,
            supplier_signature: state.sign(&s),
            consumer_signature: state.sign(&s),
        };
        let not_final = ChannelOp::CoopClose {
            serial: state.serial,
            state: signed,
        };
        assert!(not_final.check().is_err());
        let round = ChannelOp::decode(
            &ChannelOp::Checkin {
                serial: state.serial,
                state: signed,
            }
            .encode(),
        );
        assert!(round.is_ok());
    }
}
