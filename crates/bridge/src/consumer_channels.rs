//! The platform's consumer side of service channels (issue 18; `docs/channel-protocol.md`,
//! `docs/trade.md` §1.2).
//!
//! An order placed on the platform delegates the consumer's side of its trade's service
//! channel to the platform's channel key ([`PlatformChannel`], `DATA/channel.key`). This
//! module runs that side: a [`Controller`] in the consumer's role with that key, listening
//! for the suppliers' agents on the endpoint the orders name (`suanli serve
//! --channel-listen`), and [`ConsumerChannels`], the handle the platform's order flow uses:
//!
//! - [`ConsumerChannels::watch`] after an order is placed: the serial is recorded durably
//!   in the handle's own redb file (`DATA/consumer-channels/watched.redb`, so a restart
//!   resumes every watched trade; nothing is re-derived from the platform's store). At
//!   each round, once the trade is active on the chain, the worker opens its channel
//!   (`open` signed by the delegated key: deposit 0, bond 0, challenge window
//!   [`CHALLENGE_WINDOW_MS`]) and adds it to the controller; the controller countersigns
//!   the supplier's statements (each stored durably before it is answered) and posts
//!   agreed final states (`coop_close`); a watched trade that closed is forgotten.
//! - [`ConsumerChannels::request_stop`]: the consumer asks to stop; the supplier's agent
//!   answers with the final state `stopped_by_consumer`, which closes the trade
//!   cooperatively (the escrow left goes back to the wallet). A stop asked before the
//!   channel opened is kept and applied when it opens.
//! - [`ConsumerChannels::top_up`]: funds the trade from its wallet with the delegated key
//!   (`top_up` on an open channel, the trade's `fund` before); the supplier resumes a
//!   paused channel at its next round.
//! - [`ConsumerChannels::notices`]: the suppliers' `paused` / `resumed` notices, each
//!   returned once, for the platform to turn into customer messages.
//!
//! [`ConsumerWiring::start`] starts it with its worker (a round every
//! [`CONSUMER_ROUND_MS`] on the runtime; the controller's time comes from the injected
//! clock). The controller's store is `DATA/consumer-channels/channels.redb`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use suanli_agent::channels::{LedgerPort, channel_of};
use suanli_channel_controller::wire::NoticeKind;
use suanli_channel_controller::{
    ChainPort, ChainView, ChannelError, ChannelSetup, Controller, ControllerConfig, ServePolicy,
    ServiceTimeMeter,
};
use suanli_ledger_client::LedgerClient;
use suanli_primitives::{Clock, PositiveFen};
use suanli_trade::channel::ChannelOp;
use suanli_trade::records::{ChannelStatus, Status, Trade};
use suanli_trade::{Role, Serial, TradeOp};

use crate::BridgeError;
use crate::channel_key::{CHANNEL_ENDPOINT_DEFAULT, PlatformChannel};

/// The directory under the platform's data directory.
pub const CONSUMER_CHANNELS_DIR: &str = "consumer-channels";
/// The watched serials' file in that directory.
pub const WATCH_FILE: &str = "watched.redb";
/// Where the controller listens unless configured otherwise (the address of
/// [`CHANNEL_ENDPOINT_DEFAULT`]).
pub const CHANNEL_LISTEN_DEFAULT: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    7420,
));
/// Time between the worker's rounds, in ms.
pub const CONSUMER_ROUND_MS: u64 = 10_000;
/// The challenge window the platform opens channels with, in ms (one hour: long enough
/// for a supplier's agent that polls every few seconds or minutes to answer a stale close,
/// short enough that a unilateral close settles the same day).
pub const CHALLENGE_WINDOW_MS: u64 = 60 * 60_000;
/// How far a supplier's clock may be ahead of the platform's, in ms.
pub const CONSUMER_SKEW_MS: u64 = 60_000;

const WATCHED: TableDefinition<&[u8; 16], u8> = TableDefinition::new("watched");
/// Flag of a watched serial: the consumer asked to stop.
const STOP: u8 = 1;

/// Why a consumer-channel operation failed; each has a stable [`code`](Self::code).
#[derive(Debug, thiserror::Error)]
pub enum ConsumerChannelError {
    /// The controller (its store, its listener) failed.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The watch store failed.
    #[error("watch store: {0}")]
    Store(#[from] redb::Error),
    /// The chain refused or could not be reached.
    #[error(transparent)]
    Chain(#[from] suanli_agent::AgentError),
    /// The trade is not one this handle watches (or its delegation names another key).
    #[error("trade {0} is not watched by the platform's channel controller")]
    NotWatched(Serial),
}

impl ConsumerChannelError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ConsumerChannelError::Channel(_) => "channel",
            ConsumerChannelError::Store(_) => "store",
            ConsumerChannelError::Chain(_) => "chain",
            ConsumerChannelError::NotWatched(_) => "not_watched",
        }
    }
}

fn db<E: Into<redb::Error>>(e: E) -> ConsumerChannelError {
    ConsumerChannelError::Store(e.into())
}

/// A supplier's notice about a channel, for the platform to tell the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelNotice {
    pub serial: Serial,
    /// `true`: paused (the escrow left is below the margin); `false`: resumed.
    pub paused: bool,
    /// The escrow left after the metered usage, and the margin, in fen.
    pub remaining_fen: i64,
    pub margin_fen: i64,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerRound {
    /// Channels opened on the chain.
    pub opened: u32,
    /// Channels added to the controller.
    pub kept: u32,
    /// Watched trades that closed and were forgotten.
    pub forgotten: u32,
    /// Operations the controller submitted (cooperative closes, disputes).
    pub submitted: u32,
    /// Failures (logged; tried again next round).
    pub failed: u32,
}

/// The platform's consumer-side channels.
pub struct ConsumerChannels {
    controller: Controller,
    /// What orders name as the channel's endpoint.
    endpoint: String,
    port: Arc<LedgerPort>,
    ledger: Arc<dyn LedgerClient>,
    key: suanli_primitives::SecretKey,
    clock: Arc<dyn Clock>,
    watched: Database,
}

impl std::fmt::Debug for ConsumerChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerChannels")
            .field("controller", &self.controller)
            .finish_non_exhaustive()
    }
}

impl ConsumerChannels {
    /// Opens the stores under `dir` (resuming every channel and watched serial) and starts
    /// the controller with `channel`'s key listening on `listen`; orders name `advertise`
    /// as the endpoint (default `tcp://` and the address bound).
    pub async fn open(
        ledger: Arc<dyn LedgerClient>,
        channel: &PlatformChannel,
        listen: SocketAddr,
        advertise: Option<String>,
        dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConsumerChannelError> {
        std::fs::create_dir_all(dir).map_err(|e| ChannelError::Store(e.to_string()))?;
        let watched = Database::create(dir.join(WATCH_FILE)).map_err(db)?;
        let w = watched.begin_write().map_err(db)?;
        w.open_table(WATCHED).map_err(db)?;
        w.commit().map_err(db)?;
        let config = ControllerConfig {
            key: channel.secret().clone(),
            data_dir: dir.to_path_buf(),
            listen: Some(listen),
            skew_ms: CONSUMER_SKEW_MS,
        };
        let controller = Controller::start(config, Arc::clone(&clock)).await?;
        let bound = controller.local_addr().unwrap_or(listen);
        let key = channel.secret().clone();
        Ok(ConsumerChannels {
            controller,
            endpoint: advertise.unwrap_or_else(|| format!("tcp://{bound}")),
            port: Arc::new(LedgerPort::new(Arc::clone(&ledger), key.clone())),
            ledger,
            key,
            clock,
            watched,
        })
    }

    /// Where the controller listens.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.controller.local_addr()
    }

    /// What an order's channel delegation names: the platform's channel key and the
    /// endpoint where this controller listens.
    pub fn delegate(&self) -> (suanli_primitives::PublicKey, &str) {
        (self.key.public(), &self.endpoint)
    }

    /// The controller (its channels and latest states).
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    fn flags(&self) -> Result<BTreeMap<Serial, u8>, ConsumerChannelError> {
        let r = self.watched.begin_read().map_err(db)?;
        let t = r.open_table(WATCHED).map_err(db)?;
        let mut out = BTreeMap::new();
        for row in t.iter().map_err(db)? {
            let (k, v) = row.map_err(db)?;
            out.insert(Serial::from_bytes(*k.value()), v.value());
        }
        Ok(out)
    }

    fn set(&self, serial: &Serial, flags: Option<u8>) -> Result<(), ConsumerChannelError> {
        let w = self.watched.begin_write().map_err(db)?;
        {
            let mut t = w.open_table(WATCHED).map_err(db)?;
            match flags {
                Some(f) => t.insert(serial.as_bytes(), f).map(|_| ()),
                None => t.remove(serial.as_bytes()).map(|_| ()),
            }
            .map_err(db)?;
        }
        w.commit().map_err(db)
    }

    /// Watches trade `serial` (its order delegated the channel to the platform's key):
    /// durable when this returns; again is harmless.
    pub fn watch(&self, serial: Serial) -> Result<(), ConsumerChannelError> {
        if self.flags()?.contains_key(&serial) {
            return Ok(());
        }
        self.set(&serial, Some(0))
    }

    /// The serials watched (not yet closed).
    pub fn watched(&self) -> Result<Vec<Serial>, ConsumerChannelError> {
        Ok(self.flags()?.into_keys().collect())
    }

    /// The consumer asks to stop trade `serial`: kept durably, told to the supplier's
    /// agent with the next answer (or once the channel opens).
    pub async fn request_stop(&self, serial: Serial) -> Result<(), ConsumerChannelError> {
        let flags = self.flags()?;
        let f = flags
            .get(&serial)
            .ok_or(ConsumerChannelError::NotWatched(serial))?;
        self.set(&serial, Some(f | STOP))?;
        if self.controller.setup(&serial).is_some() {
            self.controller.request_stop(&serial).await?;
        }
        Ok(())
    }

    /// Funds trade `serial` from its wallet by `amount`, signed by the delegated key:
    /// `top_up` while its channel is open, the trade's `fund` before. A paused channel
    /// resumes at the supplier's next round.
    pub async fn top_up(
        &self,
        serial: Serial,
        amount: PositiveFen,
    ) -> Result<(), ConsumerChannelError> {
        if !self.flags()?.contains_key(&serial) {
            return Err(ConsumerChannelError::NotWatched(serial));
        }
        let (ledger, port, key) = (
            Arc::clone(&self.ledger),
            Arc::clone(&self.port),
            self.key.clone(),
        );
        tokio::task::spawn_blocking(move || -> Result<(), ConsumerChannelError> {
            let open = channel_of(ledger.as_ref(), &serial)?
                .is_some_and(|(c, _)| c.status == ChannelStatus::Open);
            if open {
                port.submit(&ChannelOp::TopUp {
                    serial,
                    amount_fen: amount,
                })?;
            } else {
                let op = TradeOp::Fund {
                    serial,
                    amount_fen: amount,
                };
                suanli_ledger_client::trade::submit(ledger.as_ref(), &key, &op, "fund")
                    .map_err(suanli_agent::AgentError::from)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| ChannelError::Store(format!("the top-up task failed: {e}")))?
    }

    /// The suppliers' `paused` / `resumed` notices since the last call, oldest first.
    pub fn notices(&self) -> Vec<ChannelNotice> {
        self.controller
            .take_notices()
            .into_iter()
            .filter_map(|n| {
                let paused = match n.kind {
                    NoticeKind::Paused => true,
                    NoticeKind::Resumed => false,
                    NoticeKind::StopRequested => return None,
                };
                Some(ChannelNotice {
                    serial: n.serial,
                    paused,
                    remaining_fen: n.remaining_fen,
                    margin_fen: n.margin_fen,
                })
            })
            .collect()
    }

    /// One round: opens and keeps the channels of watched trades, forgets closed ones,
    /// then one controller round (chain views, cooperative closes, disputes).
    pub async fn round(&self) -> Result<ConsumerRound, ConsumerChannelError> {
        let mut round = ConsumerRound::default();
        for (serial, flags) in self.flags()? {
            if let Err(e) = self.step(serial, flags, &mut round).await {
                round.failed += 1;
                tracing::warn!(%serial, code = e.code(), error = %e, "consumer channel step failed");
            }
        }
        let port: Arc<dyn ChainPort> = self.port.clone();
        let report = self.controller.tick(&ServiceTimeMeter, port).await?;
        round.submitted += u32::try_from(report.submitted).unwrap_or(u32::MAX);
        for e in &report.errors {
            round.failed += 1;
            tracing::warn!(error = %e, "consumer channel round");
        }
        Ok(round)
    }

    async fn step(
        &self,
        serial: Serial,
        flags: u8,
        round: &mut ConsumerRound,
    ) -> Result<(), ConsumerChannelError> {
        let ledger = Arc::clone(&self.ledger);
        let read = tokio::task::spawn_blocking(move || {
            let trade = suanli_agent::chain::trade_of(ledger.as_ref(), &serial)?;
            let channel = channel_of(ledger.as_ref(), &serial)?;
            Ok::<_, suanli_agent::AgentError>((trade, channel))
        })
        .await
        .map_err(|e| ChannelError::Store(format!("the chain read failed: {e}")))??;
        let (Some(trade), channel) = read else {
            return Ok(()); // not on the chain yet
        };
        if trade.status == Status::Closed
            || trade
                .delegate
                .as_ref()
                .is_none_or(|d| d.key != self.key.public())
        {
            self.set(&serial, None)?;
            round.forgotten += 1;
            return Ok(());
        }
        if trade.status != Status::Active || self.controller.setup(&serial).is_some() {
            return Ok(());
        }
        let (channel, escrow) = match channel {
            Some(found) => found,
            None => {
                self.open_channel(&trade).await?;
                round.opened += 1;
                // Kept at once, so the supplier's agent finds it when it connects; not
                // visible yet (or not opened: the contract ended), the next round keeps it.
                let ledger = Arc::clone(&self.ledger);
                let read =
                    tokio::task::spawn_blocking(move || channel_of(ledger.as_ref(), &serial))
                        .await
                        .map_err(|e| {
                            ChannelError::Store(format!("the chain read failed: {e}"))
                        })??;
                let Some(found) = read else {
                    return Ok(());
                };
                found
            }
        };
        let view = ChainView::of(&channel, escrow);
        let setup = ChannelSetup {
            terms: channel.terms,
            role: Role::Consumer,
            peer: None,
            // The supplier's agent pauses below one check-in period; the consumer judges
            // an `out_of_funds` final state by the same margin.
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
        self.controller.add_channels(vec![setup]).await?;
        if flags & STOP != 0 {
            self.controller.request_stop(&serial).await?;
        }
        round.kept += 1;
        tracing::info!(%serial, "consumer channel kept");
        Ok(())
    }

    /// Opens the channel of an active trade with the delegated key (deposit 0, bond 0).
    async fn open_channel(&self, trade: &Trade) -> Result<(), ConsumerChannelError> {
        if self.clock.now_ms() >= trade.contract_end_ms.unwrap_or(u64::MAX) {
            return Ok(()); // the contract ended: the supplier settles the trade directly
        }
        let op = ChannelOp::Open {
            serial: trade.serial,
            deposit_fen: suanli_primitives::Fen::ZERO,
            bond_fen: suanli_primitives::Fen::ZERO,
            challenge_window_ms: CHALLENGE_WINDOW_MS,
        };
        let port = Arc::clone(&self.port);
        tokio::task::spawn_blocking(move || port.submit(&op))
            .await
            .map_err(|e| ChannelError::Store(format!("the open task failed: {e}")))??;
        tracing::info!(serial = %trade.serial, "channel opened");
        Ok(())
    }

    /// Stops the controller's listener and links (the stores stay as they are).
    pub async fn shutdown(&self) {
        self.controller.shutdown().await;
    }
}

/// What the consumer-channel worker needs; [`ConsumerWiring::start`] starts it once the
/// platform is open.
#[derive(Debug, Clone)]
pub struct ConsumerWiring {
    pub ledger: Arc<dyn LedgerClient>,
    pub clock: Arc<dyn Clock>,
    pub round_ms: u64,
    /// Where the controller listens (`suanli serve --channel-listen`).
    pub listen: SocketAddr,
    /// What orders name as the endpoint (`--channel-endpoint`; default `tcp://` and the
    /// address bound).
    pub advertise: Option<String>,
    /// Filled with the handle once [`ConsumerWiring::start`] ran: ports built before (the
    /// order flow's) keep a clone of [`ConsumerWiring::slot`] and call `watch` through it.
    pub slot: Arc<OnceLock<Arc<ConsumerChannels>>>,
}

/// The running worker.
#[derive(Debug)]
pub struct ConsumerChannelsWorker {
    channels: Arc<ConsumerChannels>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ConsumerWiring {
    /// Where the handle will be once the worker started (empty until then, and if the
    /// controller could not start).
    pub fn slot(&self) -> Arc<OnceLock<Arc<ConsumerChannels>>> {
        Arc::clone(&self.slot)
    }

    /// Opens the consumer channels under `data_dir/consumer-channels` with the platform's
    /// channel key (`data_dir/channel.key`, created on first use) and spawns the worker on
    /// the current runtime.
    pub async fn start(self, data_dir: &Path) -> Result<ConsumerChannelsWorker, BridgeError> {
        let channel = PlatformChannel::open(data_dir, CHANNEL_ENDPOINT_DEFAULT)?;
        let dir: PathBuf = data_dir.join(CONSUMER_CHANNELS_DIR);
        let channels = ConsumerChannels::open(
            self.ledger,
            &channel,
            self.listen,
            self.advertise,
            &dir,
            self.clock,
        )
        .await
        .map_err(|e| BridgeError::invalid("consumer_channels", e.to_string()))?;
        let channels = Arc::new(channels);
        let _ = self.slot.set(Arc::clone(&channels));
        tracing::info!(listen = ?channels.local_addr(), endpoint = channels.endpoint, key = %channel.public(), "consumer channel controller listening");
        let worker = Arc::clone(&channels);
        let every = std::time::Duration::from_millis(self.round_ms);
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            while !*stopped.borrow() {
                match worker.round().await {
                    Ok(r) if r != ConsumerRound::default() => {
                        tracing::info!(round = ?r, "consumer channel round");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(code = e.code(), error = %e, "consumer channel round failed");
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stopped.changed() => {}
                }
            }
        });
        Ok(ConsumerChannelsWorker {
            channels,
            stop,
            task,
        })
    }
}

impl ConsumerChannelsWorker {
    /// The handle the platform's order flow uses.
    pub fn handle(&self) -> Arc<ConsumerChannels> {
        Arc::clone(&self.channels)
    }

    /// Ends the worker after its round and stops the controller.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if self.task.await.is_err() {
            tracing::error!("the consumer channel worker panicked");
        }
        self.channels.shutdown().await;
    }
}
