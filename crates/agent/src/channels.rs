//! Pay-as-you-go trades metered by service channels, the supplier's side (issue 18;
//! `docs/supply.md` §3.3, `docs/channel-protocol.md`).
//!
//! A trade whose order carries a channel delegation (`Trade::delegate`, `docs/trade.md`
//! §1.2) is not checked in directly: once it is accepted and provisioned and the
//! consumer's side (the delegated key's controller, on the platform) has opened its
//! channel on the chain, the agent keeps the channel in a
//! [`suanli_channel_controller::Controller`] in the supplier's role — its key is the
//! agent's, its store `DATA_DIR/channels/channels.redb` (one durable commit per frame
//! before anything is acknowledged), its peer the delegation's endpoint — and runs one
//! controller round ([`Controller::tick`]) at the end of each agent round: it meters the
//! whole minutes served through [`ProvisionedMinutes`] (the manual provisioner's meter),
//! proposes a statement for each new minute, checks the latest dual-signed state in on the
//! chain once a period has accumulated ([`LedgerPort::checkin_due`]), pauses below the
//! margin (one check-in period at the trade's rate) and resumes after a top-up, and closes
//! cooperatively with the final state — `completed` at the contract's end,
//! `stopped_by_consumer` when the consumer asked to stop.
//!
//! Fallbacks, so a supplier is never left unpaid or a trade left open: a channel never
//! opened by the end of the contract → direct check-ins and the trade's own close, as for a
//! trade without delegation; a channel open at the end of its terms (the contract's end,
//! or the delegation's if earlier) that is still not closed [`CLOSE_GRACE_MS`] later (the consumer's side does not answer) → a unilateral
//! close (`completed`) with the newest dual-signed state, settled by the controller after
//! the challenge window; never provisioned by the end → a unilateral close
//! (`supplier_fault`, admitted by the supplier).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use suanli_channel_controller::{
    ChainPort, ChainView, ChannelError, ChannelSetup, Controller, ControllerConfig, ServePolicy,
};
use suanli_ledger_client::LedgerClient;
use suanli_primitives::{Fen, SecretKey};
use suanli_trade::channel::{ChannelOp, Statement};
use suanli_trade::records::{Channel, ChannelStatus, Trade};
use suanli_trade::{CloseReason, Role, Serial, view};

use crate::AgentError;
use crate::agent::{Agent, Round};
use crate::chain::ChainState;
use crate::provision::{Provisioned, ProvisionedMinutes};

/// The controller's directory under the agent's data directory.
pub const CHANNELS_DIR: &str = "channels";
/// How far the consumer's clock may be ahead of the agent's, in ms (statements, hellos).
pub const CHANNEL_SKEW_MS: u64 = 60_000;
/// How long after the contract's end the agent waits for the cooperative close before it
/// closes the channel unilaterally, in ms.
pub const CLOSE_GRACE_MS: u64 = 30 * 60_000;
/// Worker threads of the runtime an agent starts for its channels when it has none.
pub const CHANNEL_RUNTIME_THREADS: usize = 1;

/// A trade's channel and escrow as the chain holds them; `None` before the channel opens.
pub fn channel_of(
    ledger: &dyn LedgerClient,
    serial: &Serial,
) -> Result<Option<(Channel, Fen)>, AgentError> {
    let state = ChainState::new(ledger);
    let channel = view::channel(&state, serial);
    let escrow = view::escrow_fen(&state, serial);
    state.done(channel.map(|c| (c, escrow)))
}

#[derive(Debug, Clone, Copy)]
struct Cadence {
    settled_minutes: u64,
    period_minutes: u64,
    minutes_max: u64,
}

/// The controller's [`ChainPort`] over any [`LedgerClient`] (an embedded node or a node's
/// HTTP API with its member token): the channel's view read from the chain's state, the
/// party's channel operations signed with `key`. A supplier's port checks in once a
/// trade's check-in period has accumulated since the settled state (or at the contract's
/// last minute); the platform's consumer side uses the same port with its channel key.
#[derive(Debug)]
pub struct LedgerPort {
    ledger: Arc<dyn LedgerClient>,
    key: SecretKey,
    cadence: Mutex<HashMap<Serial, Cadence>>,
}

impl LedgerPort {
    /// A port signing with `key`.
    pub fn new(ledger: Arc<dyn LedgerClient>, key: SecretKey) -> Self {
        LedgerPort {
            ledger,
            key,
            cadence: Mutex::new(HashMap::new()),
        }
    }
}

fn chain_error(e: &(dyn std::error::Error + 'static)) -> ChannelError {
    ChannelError::Chain(suanli_primitives::error_chain(e))
}

impl ChainPort for LedgerPort {
    fn view(&self, serial: &Serial) -> Result<ChainView, ChannelError> {
        let state = ChainState::new(self.ledger.as_ref());
        let channel = view::channel(&state, serial);
        let escrow = view::escrow_fen(&state, serial);
        let period = view::trade(&state, serial).map(|t| t.period_minutes);
        let (channel, period) = state.done((channel, period)).map_err(|e| chain_error(&e))?;
        let channel =
            channel.ok_or_else(|| ChannelError::Chain(format!("trade {serial} has no channel")))?;
        if let (Some(period_minutes), Ok(mut m)) = (period, self.cadence.lock()) {
            m.insert(
                *serial,
                Cadence {
                    settled_minutes: channel.settled.minutes,
                    period_minutes,
                    minutes_max: channel.terms.minutes_max(),
                },
            );
        }
        Ok(ChainView::of(&channel, escrow))
    }

    fn submit(&self, op: &ChannelOp) -> Result<(), ChannelError> {
        suanli_ledger_client::channel::submit(self.ledger.as_ref(), &self.key, op)
            .map(|_| ())
            .map_err(|e| chain_error(&e))
    }

    fn checkin_due(&self, serial: &Serial, latest: &Statement) -> bool {
        let cadence = self
            .cadence
            .lock()
            .ok()
            .and_then(|m| m.get(serial).copied());
        cadence.is_none_or(|c| {
            latest.minutes >= c.settled_minutes.saturating_add(c.period_minutes)
                || latest.minutes >= c.minutes_max
        })
    }
}

struct Running {
    controller: Controller,
    port: Arc<LedgerPort>,
}

/// The agent's channels: the controller (started when the first metered trade needs it),
/// its meter, and the runtime it runs on.
pub struct SupplierChannels {
    dir: PathBuf,
    rt: tokio::runtime::Handle,
    running: Mutex<Option<Running>>,
    meter: ProvisionedMinutes,
    /// A runtime of its own (`suanli agent`, tests); dropped last.
    own: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for SupplierChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupplierChannels")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl SupplierChannels {
    /// Channels kept under `data_dir/channels`, run on `rt` (a runtime the embedding
    /// program drives; the agent's rounds must not run on one of its worker threads).
    pub fn on(data_dir: &Path, rt: tokio::runtime::Handle) -> Self {
        SupplierChannels {
            dir: data_dir.join(CHANNELS_DIR),
            rt,
            running: Mutex::new(None),
            meter: ProvisionedMinutes::default(),
            own: None,
        }
    }

    /// Channels kept under `data_dir/channels`, on a runtime of their own.
    pub fn own_runtime(data_dir: &Path) -> Result<Self, AgentError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(CHANNEL_RUNTIME_THREADS)
            .thread_name("agent-channels")
            .enable_all()
            .build()
            .map_err(AgentError::Runtime)?;
        let mut channels = Self::on(data_dir, rt.handle().clone());
        channels.own = Some(rt);
        Ok(channels)
    }

    /// The controller, once a metered trade started it (tests and tools read its states).
    pub fn controller(&self) -> Option<Controller> {
        let running = self.running.lock().ok()?;
        running.as_ref().map(|r| r.controller.clone())
    }

    fn started(&self) -> Option<(Controller, Arc<LedgerPort>)> {
        let running = self.running.lock().ok()?;
        running
            .as_ref()
            .map(|r| (r.controller.clone(), Arc::clone(&r.port)))
    }

    /// The controller, started (resuming every channel in its store) on first use.
    fn start(&self, agent: &Agent) -> Result<(Controller, Arc<LedgerPort>), AgentError> {
        let mut running = self
            .running
            .lock()
            .map_err(|_| ChannelError::Store("the channel state lock is poisoned".into()))?;
        if let Some(r) = running.as_ref() {
            return Ok((r.controller.clone(), Arc::clone(&r.port)));
        }
        let config = ControllerConfig {
            key: agent.key.clone(),
            data_dir: self.dir.clone(),
            listen: None,
            skew_ms: CHANNEL_SKEW_MS,
        };
        let controller = self
            .rt
            .block_on(Controller::start(config, Arc::clone(&agent.clock)))?;
        let port = Arc::new(LedgerPort::new(
            Arc::clone(&agent.ledger),
            agent.key.clone(),
        ));
        tracing::info!(dir = %self.dir.display(), channels = controller.serials().len(), "channel controller started");
        *running = Some(Running {
            controller: controller.clone(),
            port: Arc::clone(&port),
        });
        Ok((controller, port))
    }

    /// The trade closed: nothing more is metered for it.
    pub(crate) fn released(&self, serial: &Serial) {
        self.meter.released(serial);
    }
}

impl Drop for SupplierChannels {
    fn drop(&mut self) {
        // Ends the controller's links; never blocks (the store needs no flush: every
        // state is durable before it is acknowledged).
        if let Some(r) = self.running.get_mut().ok().and_then(Option::take) {
            self.rt.spawn(async move { r.controller.shutdown().await });
        }
    }
}

impl Agent {
    /// An active trade whose order delegated the consumer's channel side (see the module
    /// documentation).
    pub(crate) fn metered(
        &self,
        trade: &Trade,
        provisioned: Provisioned,
        round: &mut Round,
    ) -> Result<(), AgentError> {
        let Some(delegation) = &trade.delegate else {
            return Ok(());
        };
        let now = self.clock.now_ms();
        let end = trade.contract_end_ms.unwrap_or(u64::MAX);
        let Some((channel, escrow)) = channel_of(self.ledger.as_ref(), &trade.serial)? else {
            return match provisioned {
                Provisioned::Pending => self.unprovisioned(trade, round),
                // The consumer's side never opened the channel: the trade is settled
                // directly, so the supplier is paid for the service it gave.
                Provisioned::Ready(_) if now >= end => self.direct(trade, round),
                Provisioned::Ready(_) => {
                    round.channel_waiting += 1;
                    Ok(())
                }
            };
        };
        let (controller, port) = self.channels.start(self)?;
        if controller.setup(&trade.serial).is_none() {
            let view = ChainView::of(&channel, escrow);
            let setup = ChannelSetup {
                terms: channel.terms,
                role: Role::Supplier,
                peer: Some(delegation.endpoint.clone()),
                margin_minutes: trade.period_minutes,
                escrow_fen: view.escrow_fen,
                settled_seq: view.settled_seq,
                settled_cost_fen: view.settled_cost_fen,
                paused_since_ms: None,
                paused_total_ms: 0,
                closed: !view.open && view.closing.is_none(),
                closing: view.closing.is_some(),
                stop_requested: false,
                policy: ServePolicy::default(),
                consumer_bond_fen: view.consumer_bond_fen,
                challenge_window_ms: view.challenge_window_ms,
            };
            self.channels
                .rt
                .block_on(controller.add_channels(vec![setup]))?;
            tracing::info!(serial = %trade.serial, endpoint = %delegation.endpoint, "metering by channel");
        }
        let open = channel.status == ChannelStatus::Open && channel.closing.is_none();
        match provisioned {
            Provisioned::Ready(access) => {
                self.channels.meter.provisioned(trade.serial, access);
                round.metered += 1;
                if open && now >= channel.terms.end_ms.saturating_add(CLOSE_GRACE_MS) {
                    self.force_close(&controller, &port, &channel, CloseReason::Completed)?;
                    round.completed += 1;
                }
            }
            Provisioned::Pending => {
                round.provisioning += 1;
                if open && now >= channel.terms.end_ms {
                    self.force_close(&controller, &port, &channel, CloseReason::SupplierFault)?;
                    round.declined += 1;
                }
            }
        }
        Ok(())
    }

    /// Closes the channel unilaterally with the newest dual-signed state newer than the
    /// chain's (none: the settled one); the controller settles it after the window. A
    /// final state agreed meanwhile goes through the controller's cooperative close.
    fn force_close(
        &self,
        controller: &Controller,
        port: &LedgerPort,
        channel: &Channel,
        reason: CloseReason,
    ) -> Result<(), AgentError> {
        let serial = channel.serial;
        let latest = controller.latest(&serial);
        if latest.is_some_and(|l| l.statement.close.is_some()) {
            return Ok(());
        }
        let state = latest.filter(|l| l.statement.seq > channel.settled.seq);
        tracing::warn!(%serial, reason = reason.as_str(), "closing the channel unilaterally");
        port.submit(&ChannelOp::ForceClose {
            serial,
            state,
            reason,
        })?;
        Ok(())
    }

    /// One controller round over every channel the agent keeps (statements, check-ins,
    /// pauses, closes, disputes); its failures are logged and counted.
    pub(crate) fn channel_round(&self, round: &mut Round) -> Result<(), AgentError> {
        let Some((controller, port)) = self.channels.started() else {
            return Ok(());
        };
        let port: Arc<dyn ChainPort> = port;
        let report = self
            .channels
            .rt
            .block_on(controller.tick(&self.channels.meter, port))?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        round.statements += count(report.proposed);
        round.paused += count(report.paused);
        round.finals += count(report.finals);
        round.channel_submitted += count(report.submitted);
        for e in &report.errors {
            tracing::warn!(error = %e, "channel round");
        }
        round.failed += count(report.errors.len());
        Ok(())
    }
}
