//! The agent's round: every trade of its supplier, moved one step on (see the crate
//! documentation for the steps).

use crate::AgentError;
use crate::chain;
use crate::channels::SupplierChannels;
use crate::platform::Platform;
use crate::policy::{Decision, OrderFacts, Policy};
use crate::provision::{Provisioned, Provisioner};
use crate::store::DoneStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use suanli_ledger_client::LedgerClient;
use suanli_primitives::{Clock, SecretKey};
use suanli_trade::model::MINUTE_MS;
use suanli_trade::records::{Status, Trade};
use suanli_trade::{CloseReason, PartyDid};

/// How often a sleeping agent looks at its stop flag, in milliseconds.
pub const STOP_CHECK_MS: u64 = 200;

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Orders accepted (automatically or after the supplier's approval).
    pub accepted: u32,
    /// Orders waiting for the supplier's decision.
    pub awaiting_approval: u32,
    /// Orders declined (the supplier declined them) or expired, closed on the chain.
    pub declined: u32,
    /// Running trades whose provisioning waits for the supplier's fill-back.
    pub provisioning: u32,
    /// Check-ins made.
    pub checked_in: u32,
    /// Trades closed at the end of their term.
    pub completed: u32,
    /// Closed trades released and marked done.
    pub released: u32,
    /// Trades whose step failed this round (logged; tried again next round), and
    /// channel operations the controller's round reported failing.
    pub failed: u32,
    /// Provisioned trades metered by their service channel (`channels`).
    pub metered: u32,
    /// Provisioned trades whose order delegated a channel the consumer's side has not
    /// opened yet.
    pub channel_waiting: u32,
    /// Statements countersigned this round (one per channel with a new minute).
    pub statements: u32,
    /// Channels paused this round (the escrow left is below the margin).
    pub paused: u32,
    /// Final states countersigned (a cooperative close follows).
    pub finals: u32,
    /// Channel operations the controller submitted (check-ins, closes, disputes).
    pub channel_submitted: u32,
}

/// The supplier agent.
#[derive(Debug)]
pub struct Agent {
    /// The trade chain.
    pub ledger: Arc<dyn LedgerClient>,
    /// The platform (work orders, decisions).
    pub platform: Arc<dyn Platform>,
    /// How accepted trades are provisioned.
    pub provisioner: Arc<dyn Provisioner>,
    /// The supplier the agent acts for.
    pub supplier: PartyDid,
    /// The agent's key and its verification method fragment.
    pub key: SecretKey,
    /// See [`Agent::key`].
    pub key_fragment: String,
    /// The acceptance policy.
    pub policy: Policy,
    /// Trades done.
    pub store: DoneStore,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The supplier's side of the service channels of trades metered by channels.
    pub channels: SupplierChannels,
}

impl Agent {
    /// One round over the supplier's recent trades. A trade whose step fails is logged
    /// and counted, and the round goes on with the others; only failing to read the chain
    /// at all fails the round.
    pub fn tick(&self) -> Result<Round, AgentError> {
        let mut round = Round::default();
        for trade in chain::recent_trades(self.ledger.as_ref(), &self.supplier)? {
            if self.store.is_done(&trade.serial)? {
                continue;
            }
            if let Err(e) = self.step(&trade, &mut round) {
                round.failed += 1;
                tracing::warn!(serial = %trade.serial, code = e.code(), error = %e, "agent step failed");
            }
        }
        self.channel_round(&mut round)?;
        Ok(round)
    }

    fn step(&self, trade: &Trade, round: &mut Round) -> Result<(), AgentError> {
        match trade.status {
            Status::Ordered => self.ordered(trade, round),
            Status::Active => self.active(trade, round),
            Status::Closed => {
                self.provisioner.release(&trade.serial)?;
                self.channels.released(&trade.serial);
                self.store.mark_done(&trade.serial, self.clock.now_ms())?;
                round.released += 1;
                Ok(())
            }
        }
    }

    fn ordered(&self, trade: &Trade, round: &mut Round) -> Result<(), AgentError> {
        let now = self.clock.now_ms();
        if now >= trade.accept_by_ms {
            chain::close(
                self.ledger.as_ref(),
                &self.key,
                trade.serial,
                CloseReason::Expired,
            )?;
            round.declined += 1;
            return Ok(());
        }
        let order = OrderFacts {
            offer_id: trade.offer_id,
            units: trade.requirements.quantity,
            minutes: trade.requirements.duration_minutes,
            value_fen: trade.funded_fen.get(),
        };
        if let Decision::Manual(reason) = self.policy.decide(&order) {
            let w = self.platform.raise(&trade.serial, true)?;
            if w.declined() {
                let reason = CloseReason::SupplierFault;
                chain::close(self.ledger.as_ref(), &self.key, trade.serial, reason)?;
                round.declined += 1;
                return Ok(());
            }
            if !w.approved() {
                tracing::info!(serial = %trade.serial, reason = reason.as_str(), "order left to the supplier");
                round.awaiting_approval += 1;
                return Ok(());
            }
        }
        chain::accept(
            self.ledger.as_ref(),
            &self.key,
            &self.key_fragment,
            trade,
            now,
        )?;
        round.accepted += 1;
        tracing::info!(serial = %trade.serial, "order accepted");
        // Raise the work order at once; the fill-back is waited for in later rounds.
        self.provisioner.provision(&trade.serial)?;
        Ok(())
    }

    fn active(&self, trade: &Trade, round: &mut Round) -> Result<(), AgentError> {
        let provisioned = self.provisioner.provision(&trade.serial)?;
        if trade.delegate.is_some() {
            return self.metered(trade, provisioned, round);
        }
        match provisioned {
            Provisioned::Pending => self.unprovisioned(trade, round),
            Provisioned::Ready(_) => self.direct(trade, round),
        }
    }

    /// Provisioning waits for the fill-back; a trade never provisioned within its term is
    /// closed as the supplier's fault (no charge for the unserved time, no minimum charge).
    pub(crate) fn unprovisioned(&self, trade: &Trade, round: &mut Round) -> Result<(), AgentError> {
        if self.clock.now_ms() >= trade.contract_end_ms.unwrap_or(u64::MAX) {
            let reason = CloseReason::SupplierFault;
            chain::close(self.ledger.as_ref(), &self.key, trade.serial, reason)?;
            round.declined += 1;
        } else {
            round.provisioning += 1;
        }
        Ok(())
    }

    /// A provisioned trade settled directly on the chain: each whole period checked in,
    /// then the close at the contract's end.
    pub(crate) fn direct(&self, trade: &Trade, round: &mut Round) -> Result<(), AgentError> {
        let now = self.clock.now_ms();
        let end = trade.contract_end_ms.unwrap_or(u64::MAX);
        let billed = trade.billed_until_ms.unwrap_or(0);
        if let Some(c) = chain::checkin_due(
            self.ledger.as_ref(),
            &self.key,
            &self.key_fragment,
            trade,
            now,
        )? {
            tracing::info!(serial = %trade.serial, minutes = c.minutes, cost_fen = c.cost_fen.get(), "checked in");
            round.checked_in += 1;
        } else if now >= end && end.saturating_sub(billed) < MINUTE_MS {
            chain::close(
                self.ledger.as_ref(),
                &self.key,
                trade.serial,
                CloseReason::Completed,
            )?;
            round.completed += 1;
        }
        Ok(())
    }

    /// Runs rounds every `interval_ms` until `stop` is set. A failed round is logged and
    /// the next one runs as usual.
    pub fn run(&self, interval_ms: u64, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            match self.tick() {
                Ok(r) if r != Round::default() => tracing::info!(round = ?r, "agent round"),
                Ok(_) => {}
                Err(e) => tracing::warn!(code = e.code(), error = %e, "agent round failed"),
            }
            let mut slept = 0;
            while slept < interval_ms && !stop.load(Ordering::SeqCst) {
                let step = STOP_CHECK_MS.min(interval_ms - slept);
                std::thread::sleep(std::time::Duration::from_millis(step));
                slept += step;
            }
        }
    }
}
