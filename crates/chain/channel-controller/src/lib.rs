//! suanli channel: the service channel controller (seed 001 §3.2, §4.4;
//! `docs/channel-protocol.md`).
//!
//! Owns the off-chain side of service channels: a [`Controller`] keeps many channels, each
//! between this party and one counterparty for one trade. On the supplier's side it meters
//! usage ([`Meter`]), signs the next statement and proposes it; on the consumer's side it
//! checks the statement against the channel's rules (`suanli_trade::channel`), countersigns
//! it and answers. Either side stores the latest dual-signed state durably (redb, one
//! fsync per batch of channels) **before** it acknowledges, so a crash at any moment loses
//! nothing either side acknowledged; after a restart the two sides exchange their latest
//! states and go on. It pauses metering when the escrow left is below a margin (and tells
//! the consumer), resumes after a top-up, and checks the latest state in on the trade
//! chain through a [`ChainPort`] the embedding program provides.
//!
//! Invariants: sequence numbers only grow; cumulative minutes and cost never decrease;
//! the cost is exactly the trade's pricing; a state is acknowledged only once durable; a
//! connection acts only on channels whose counterparty key signed its hello.
//!
//! Start reading at [`Controller`] (`controller.rs`), then [`wire`] and [`store`].

mod controller;
pub mod store;
pub mod wire;

use std::fmt;

use serde::{Deserialize, Serialize};
use suanli_primitives::Fen;
use suanli_primitives::hash::sha256_parts;
use suanli_trade::Serial;
use suanli_trade::channel::{ChannelOp, ChannelTerms, Statement};
use suanli_trade::model::{MINUTE_MS, Role};

pub use controller::{Controller, ControllerConfig, TickReport};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("channel store: {0}")]
    Store(String),
    #[error("channel transport: {0}")]
    Wire(String),
    #[error("no channel {0} in this controller")]
    UnknownChannel(Serial),
    #[error("channel {0} is not ours to do this in that role")]
    WrongRole(Serial),
    #[error(
        "channel {serial} is paused: {remaining_fen} fen of escrow left, the margin is {margin_fen}; the consumer tops up to resume"
    )]
    Paused {
        serial: Serial,
        remaining_fen: i64,
        margin_fen: i64,
    },
    #[error("the peer refused state {seq} of channel {serial}: {code}: {message}")]
    Rejected {
        serial: Serial,
        seq: u64,
        code: String,
        message: String,
    },
    #[error("the channel rules refuse this state: {0}")]
    Rule(String),
    #[error("channel {0} has no peer endpoint to send to")]
    NoPeer(Serial),
    #[error("the peer did not answer in time")]
    Timeout,
    #[error("the connection to the peer was lost before it answered")]
    Disconnected,
    #[error("trade chain: {0}")]
    Chain(String),
    #[error("too many {what}: at most {max}")]
    Limit { what: &'static str, max: usize },
}

/// What the controller knows about one channel besides its states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSetup {
    pub terms: ChannelTerms,
    /// This controller's side of the channel.
    pub role: Role,
    /// The consumer's channel endpoint (`tcp://host:port`), for the supplier's side: from the
    /// consumer DID document's `SuanliChannel` service.
    #[serde(default)]
    pub peer: Option<String>,
    /// Metering pauses when the escrow left would cover fewer minutes than this.
    pub margin_minutes: u64,
    /// Last seen on the chain: the escrow, and the settled state's seq and cost.
    pub escrow_fen: Fen,
    pub settled_seq: u64,
    pub settled_cost_fen: Fen,
    /// Paused since this time (ms), if paused; and the total paused time before.
    #[serde(default)]
    pub paused_since_ms: Option<u64>,
    #[serde(default)]
    pub paused_total_ms: u64,
    /// Set when the chain reports the channel closed: the controller stops metering it.
    #[serde(default)]
    pub closed: bool,
    /// Set while the chain shows a unilateral close in progress, and by this party before
    /// it posts one (so its controller countersigns nothing more meanwhile).
    #[serde(default)]
    pub closing: bool,
    /// Consumer's side: it asked the supplier to stop (kept across restarts).
    #[serde(default)]
    pub stop_requested: bool,
    /// Supplier's policy: serve only while the consumer's bond and the challenge window
    /// (as the chain shows them) are at least these (0: no minimum).
    #[serde(default)]
    pub policy: ServePolicy,
    /// Last seen on the chain: the consumer's bond and the challenge window.
    #[serde(default)]
    pub consumer_bond_fen: Fen,
    #[serde(default)]
    pub challenge_window_ms: u64,
}

impl ChannelSetup {
    /// The margin in fen: `margin_minutes` at the trade's rate (saturating).
    pub fn margin_fen(&self) -> i64 {
        i64::try_from(self.margin_minutes)
            .unwrap_or(i64::MAX)
            .saturating_mul(self.terms.rate_fen_per_minute.get())
    }

    /// Escrow not yet spent by states that are signed but not checked in, for a state
    /// costing `cost_fen` in all. Signed: negative when the signed states owe more than
    /// the escrow holds (the channel pauses long before, but the sum is shown as it is).
    pub fn remaining_fen(&self, cost_fen: Fen) -> i64 {
        self.escrow_fen
            .get()
            .saturating_sub(cost_fen.get().saturating_sub(self.settled_cost_fen.get()))
    }

    /// Whole minutes of service up to `now_ms`: time since the channel's minute 0, less
    /// the time it was paused, capped at the contract.
    pub fn service_minutes(&self, now_ms: u64) -> u64 {
        let paused_now = self
            .paused_since_ms
            .map_or(0, |since| now_ms.saturating_sub(since));
        let served = now_ms
            .saturating_sub(self.terms.start_ms)
            .saturating_sub(self.paused_total_ms)
            .saturating_sub(paused_now);
        (served / MINUTE_MS).min(self.terms.minutes_max())
    }
}

/// What a supplier requires of a channel before it serves it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServePolicy {
    pub consumer_bond_min_fen: Fen,
    pub challenge_window_min_ms: u64,
}

impl ChannelSetup {
    /// Why the supplier does not serve this channel under its policy, if it does not.
    pub fn policy_refusal(&self) -> Option<String> {
        if self.consumer_bond_fen < self.policy.consumer_bond_min_fen {
            return Some(format!(
                "the consumer's bond is {} fen, the policy asks for {}",
                self.consumer_bond_fen.get(),
                self.policy.consumer_bond_min_fen.get()
            ));
        }
        if self.challenge_window_ms < self.policy.challenge_window_min_ms {
            return Some(format!(
                "the challenge window is {} ms, the policy asks for {}",
                self.challenge_window_ms, self.policy.challenge_window_min_ms
            ));
        }
        None
    }
}

/// Cumulative usage of a channel, as the supplier's metering reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub minutes: u64,
    /// SHA-256 of the usage detail behind these minutes (kept by the supplier).
    pub detail_sha256: [u8; 32],
}

/// The supplier's metering.
pub trait Meter: Send + Sync + fmt::Debug {
    fn usage(&self, setup: &ChannelSetup, now_ms: u64) -> Option<Usage>;
}

/// Meters service time: the whole minutes the channel has run and not been paused
/// ([`ChannelSetup::service_minutes`]). The usage detail is the channel and the minute
/// count. A supplier agent with finer metering (GPU-seconds, samples) implements [`Meter`]
/// itself and hashes its own detail.
#[derive(Debug, Default, Clone, Copy)]
pub struct ServiceTimeMeter;

impl Meter for ServiceTimeMeter {
    fn usage(&self, setup: &ChannelSetup, now_ms: u64) -> Option<Usage> {
        let minutes = setup.service_minutes(now_ms);
        let detail = sha256_parts(&[
            b"suanli/channel/service-time/v1".as_slice(),
            setup.terms.serial.as_bytes(),
            &minutes.to_be_bytes(),
        ]);
        Some(Usage {
            minutes,
            detail_sha256: *detail.as_bytes(),
        })
    }
}

/// A channel as the trade chain shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainView {
    pub open: bool,
    pub escrow_fen: Fen,
    pub settled_seq: u64,
    pub settled_cost_fen: Fen,
    /// A unilateral close in progress: the posted state's seq and the window's end.
    pub closing: Option<ClosingView>,
    /// The consumer's bond and the challenge window the channel was opened with.
    pub consumer_bond_fen: Fen,
    pub challenge_window_ms: u64,
}

impl ChainView {
    /// The view of `channel` as the trade chain stores it, with its trade's escrow.
    pub fn of(channel: &suanli_trade::records::Channel, escrow_fen: Fen) -> Self {
        ChainView {
            open: channel.status == suanli_trade::records::ChannelStatus::Open,
            escrow_fen,
            settled_seq: channel.settled.seq,
            settled_cost_fen: channel.settled.cost_fen,
            closing: channel.closing.as_ref().map(|c| ClosingView {
                posted_seq: c.posted.seq,
                deadline_ms: c.deadline_ms,
            }),
            consumer_bond_fen: channel.consumer_bond_fen,
            challenge_window_ms: channel.challenge_window_ms,
        }
    }
}

/// A unilateral close as the chain shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosingView {
    pub posted_seq: u64,
    pub deadline_ms: u64,
}

/// The trade chain, as the embedding program reaches it (the `suanli` binary implements
/// it over a node's HTTP API). Calls block; the controller runs them off its runtime.
pub trait ChainPort: Send + Sync + fmt::Debug {
    fn view(&self, serial: &Serial) -> Result<ChainView, ChannelError>;
    /// Signs `op` with this party's key, submits it and waits for its outcome.
    fn submit(&self, op: &ChannelOp) -> Result<(), ChannelError>;
    /// Supplier's side: whether to check in `latest` (dual-signed, not final, newer than
    /// the chain's settled state) in this round — the embedding program's check-in
    /// cadence, e.g. once a period (the supplier agent). By default every new state is
    /// checked in at the round after it was countersigned. Final states are posted with
    /// `coop_close` whatever this says.
    fn checkin_due(&self, _serial: &Serial, _latest: &Statement) -> bool {
        true
    }
}
