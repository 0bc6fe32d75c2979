//! The controller: channels in memory (mirrored durably in the [`Store`]), the links to
//! peers, the consumer's listener and the schedule (statements, check-ins, chain views).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use suanli_primitives::keys::verify_many;
use suanli_primitives::{Clock, PublicKey, SecretKey};
use suanli_trade::Serial;
use suanli_trade::channel::{ChannelOp, SignedState, Statement, statement_digest};
use suanli_trade::model::{CloseReason, Role};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::store::Store;
use crate::wire::{
    self, Answer, BATCH_STATEMENTS_MAX, Message, Notice, NoticeKind, Proposal, hello_digest,
};
use crate::{ChainPort, ChainView, ChannelError, ChannelSetup, ClosingView, Meter, Usage};

mod inner;
mod net;
use net::{accept_loop, read_hello, supplier_read_loop, write_loop};

/// Most channels one controller keeps.
pub const CHANNELS_MAX: usize = 100_000;
/// Frames queued to one peer before senders wait.
pub const LINK_QUEUE_FRAMES_MAX: usize = 1_024;
/// Notices kept for the embedding program to read.
pub const NOTICES_KEPT_MAX: usize = 1_000;
/// Longest notice message kept, in characters.
pub const NOTICE_MESSAGE_CHARS_MAX: usize = 256;
/// How long a proposer waits for the peer's answer, in ms.
pub const ANSWER_TIMEOUT_MS: u64 = 30_000;
/// How long a connection may take to say hello, in ms.
pub const HELLO_TIMEOUT_MS: u64 = 5_000;

#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// This party's DID key (the key enrolled on the trade chain).
    pub key: SecretKey,
    pub data_dir: PathBuf,
    /// Where the consumer's side listens (`None`: no listener).
    pub listen: Option<SocketAddr>,
    /// How far a peer's clock may be ahead of ours when its statements bill minutes and
    /// when it says hello, in ms.
    pub skew_ms: u64,
}

struct Chan {
    setup: ChannelSetup,
    latest: Option<SignedState>,
    /// The newest statement this (supplier) side signed and sent, answered or not.
    proposed: Option<Statement>,
}

/// A proposal waiting for its answer: its index in the call, the answer's receiver, and
/// where it is pending (so a timeout can forget it).
type Waiting = (
    usize,
    oneshot::Receiver<Result<SignedState, ChannelError>>,
    Arc<Link>,
    (Serial, u64),
);

type PendingMap =
    HashMap<(Serial, u64), (Proposal, oneshot::Sender<Result<SignedState, ChannelError>>)>;

struct Link {
    /// Cleared when the link's reader ends: the next proposal reconnects.
    alive: std::sync::atomic::AtomicBool,
    tx: mpsc::Sender<Message>,
    pending: Mutex<PendingMap>,
    reader: Mutex<Option<JoinHandle<()>>>,
}

struct Inner {
    key: SecretKey,
    public: PublicKey,
    clock: Arc<dyn Clock>,
    skew_ms: u64,
    store: Arc<Store>,
    channels: Mutex<HashMap<Serial, Chan>>,
    links: tokio::sync::Mutex<HashMap<String, Arc<Link>>>,
    notices: Mutex<std::collections::VecDeque<Notice>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Held while a frame of proposals is judged and committed, so two connections can
    /// never get two states countersigned against the same predecessor.
    answering: tokio::sync::Mutex<()>,
}

/// A service channel controller. Cheap to clone; clones share the controller.
#[derive(Clone)]
pub struct Controller {
    inner: Arc<Inner>,
    local_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("key", &self.inner.public)
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

fn blocking_err(e: tokio::task::JoinError) -> ChannelError {
    ChannelError::Store(format!("the store task failed: {e}"))
}

impl Controller {
    /// Opens the store (resuming every channel in it) and starts the listener.
    pub async fn start(
        config: ControllerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ChannelError> {
        let dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&dir))
            .await
            .map_err(blocking_err)??;
        let store = Arc::new(store);
        let loaded = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.load())
                .await
                .map_err(blocking_err)??
        };
        let mut channels = HashMap::new();
        for s in loaded {
            channels.insert(
                s.setup.terms.serial,
                Chan {
                    proposed: s.latest.map(|l| l.statement),
                    latest: s.latest,
                    setup: s.setup,
                },
            );
        }
        let inner = Arc::new(Inner {
            public: config.key.public(),
            key: config.key,
            clock,
            skew_ms: config.skew_ms,
            store,
            channels: Mutex::new(channels),
            links: tokio::sync::Mutex::new(HashMap::new()),
            notices: Mutex::new(std::collections::VecDeque::new()),
            tasks: Mutex::new(Vec::new()),
            answering: tokio::sync::Mutex::new(()),
        });
        let mut local_addr = None;
        if let Some(addr) = config.listen {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| ChannelError::Wire(format!("cannot listen on {addr}: {e}")))?;
            local_addr = listener.local_addr().ok();
            let accept_inner = inner.clone();
            let task = tokio::spawn(async move { accept_loop(accept_inner, listener).await });
            inner.tasks.lock().push(task);
        }
        Ok(Controller { inner, local_addr })
    }

    /// The listener's address (consumer's side).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    pub fn public_key(&self) -> PublicKey {
        self.inner.public
    }

    /// Adds (or updates the setup of) channels, durably. A channel's terms never change
    /// once added.
    pub async fn add_channels(&self, setups: Vec<ChannelSetup>) -> Result<(), ChannelError> {
        {
            let channels = self.inner.channels.lock();
            if channels.len() + setups.len() > CHANNELS_MAX {
                return Err(ChannelError::Limit {
                    what: "channels",
                    max: CHANNELS_MAX,
                });
            }
            for s in &setups {
                let mine = match s.role {
                    Role::Supplier => s.terms.supplier_key,
                    _ => s.terms.consumer_key,
                };
                if mine != self.inner.public {
                    return Err(ChannelError::WrongRole(s.terms.serial));
                }
                if let Some(c) = channels.get(&s.terms.serial)
                    && c.setup.terms != s.terms
                {
                    return Err(ChannelError::Rule(format!(
                        "channel {} is already kept with other terms",
                        s.terms.serial
                    )));
                }
            }
        }
        self.persist_setups(setups.clone()).await?;
        let mut channels = self.inner.channels.lock();
        for setup in setups {
            let serial = setup.terms.serial;
            match channels.get_mut(&serial) {
                Some(c) => c.setup = setup,
                None => {
                    channels.insert(
                        serial,
                        Chan {
                            setup,
                            latest: None,
                            proposed: None,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    async fn persist_setups(&self, setups: Vec<ChannelSetup>) -> Result<(), ChannelError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || store.put_setups(&setups))
            .await
            .map_err(blocking_err)?
    }

    /// The latest dual-signed state of a channel.
    pub fn latest(&self, serial: &Serial) -> Option<SignedState> {
        self.inner
            .channels
            .lock()
            .get(serial)
            .and_then(|c| c.latest)
    }

    pub fn setup(&self, serial: &Serial) -> Option<ChannelSetup> {
        self.inner
            .channels
            .lock()
            .get(serial)
            .map(|c| c.setup.clone())
    }

    pub fn serials(&self) -> Vec<Serial> {
        let mut v: Vec<Serial> = self.inner.channels.lock().keys().copied().collect();
        v.sort();
        v
    }

    /// Notices received from peers (pauses, resumes, stop requests), oldest first.
    pub fn notices(&self) -> Vec<Notice> {
        self.inner.notices.lock().iter().cloned().collect()
    }

    /// Takes the notices received from peers, oldest first: each is returned once (an
    /// embedding program that turns them into messages reads them with this).
    pub fn take_notices(&self) -> Vec<Notice> {
        self.inner.notices.lock().drain(..).collect()
    }

    /// Supplier's side: signs the next statement of each channel for its usage, proposes
    /// them to the consumers in one frame per peer and waits until each is countersigned
    /// and stored. One result per update, in order.
    pub async fn propose(
        &self,
        updates: Vec<(Serial, Usage)>,
    ) -> Vec<Result<SignedState, ChannelError>> {
        self.propose_with(updates, None).await
    }

    /// Supplier's side: proposes the final state of a channel (its usage now, `reason` as
    /// the close reason); once countersigned either side can post it with `coop_close`.
    pub async fn propose_final(
        &self,
        serial: Serial,
        usage: Usage,
        reason: CloseReason,
    ) -> Result<SignedState, ChannelError> {
        self.propose_with(vec![(serial, usage)], Some(reason))
            .await
            .pop()
            .unwrap_or(Err(ChannelError::UnknownChannel(serial)))
    }

    async fn propose_with(
        &self,
        updates: Vec<(Serial, Usage)>,
        close: Option<CloseReason>,
    ) -> Vec<Result<SignedState, ChannelError>> {
        let n = updates.len();
        let serials: Vec<Serial> = updates.iter().map(|(s, _)| *s).collect();
        let mut results: Vec<Option<Result<SignedState, ChannelError>>> = vec![None; n];
        let mut by_peer: HashMap<String, Vec<(usize, Proposal)>> = HashMap::new();
        let mut notices: HashMap<String, Vec<Notice>> = HashMap::new();
        let now = self.inner.clock.now_ms();
        {
            let mut channels = self.inner.channels.lock();
            for (i, (serial, usage)) in updates.into_iter().enumerate() {
                match self.next_proposal(&mut channels, serial, usage, close, now) {
                    Ok((peer, proposal, notice)) => {
                        if let Some(notice) = notice {
                            notices.entry(peer.clone()).or_default().push(notice);
                        }
                        by_peer.entry(peer).or_default().push((i, proposal));
                    }
                    Err(refusal) => {
                        let (e, notice) = *refusal;
                        if let Some((peer, notice)) = notice {
                            notices.entry(peer).or_default().push(notice);
                        }
                        results[i] = Some(Err(e));
                    }
                }
            }
        }
        for (peer, list) in notices {
            self.notify(&peer, list).await;
        }
        let mut waits = Vec::new();
        for (peer, list) in by_peer {
            for chunk in list.chunks(BATCH_STATEMENTS_MAX) {
                match self.send_proposals(&peer, chunk).await {
                    Ok(receivers) => waits.extend(receivers),
                    Err(e) => {
                        for (i, _) in chunk {
                            results[*i] = Some(Err(e.clone()));
                        }
                    }
                }
            }
        }
        // One deadline for the whole call, however many peers and proposals.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ANSWER_TIMEOUT_MS);
        for (i, rx, link, key) in waits {
            results[i] = Some(match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(ChannelError::Disconnected),
                Err(_) => {
                    link.pending.lock().remove(&key);
                    Err(ChannelError::Timeout)
                }
            });
        }
        let results: Vec<Result<SignedState, ChannelError>> = results
            .into_iter()
            .map(|r| r.unwrap_or(Err(ChannelError::Disconnected)))
            .collect();
        // A statement that was not countersigned is forgotten: the next one follows the
        // latest dual-signed state again (with a greater sequence number).
        let mut channels = self.inner.channels.lock();
        for (serial, result) in serials.iter().zip(&results) {
            if result.is_err()
                && let Some(chan) = channels.get_mut(serial)
            {
                let latest = chan.latest.map(|l| l.statement);
                chan.proposed = match (chan.proposed, latest) {
                    (Some(p), Some(l)) if p.seq > l.seq => Some(Statement { seq: p.seq, ..l }),
                    (Some(p), None) => Some(Statement {
                        seq: p.seq,
                        minutes: 0,
                        cost_fen: suanli_primitives::Fen::ZERO,
                        close: None,
                        ..p
                    }),
                    (_, l) => l,
                };
            }
        }
        results
    }

    /// Builds and signs the next statement of one channel, or says why not (with a
    /// notice for the consumer when it pauses).
    #[allow(clippy::type_complexity)]
    fn next_proposal(
        &self,
        channels: &mut HashMap<Serial, Chan>,
        serial: Serial,
        usage: Usage,
        close: Option<CloseReason>,
        now: u64,
    ) -> Result<(String, Proposal, Option<Notice>), Box<(ChannelError, Option<(String, Notice)>)>>
    {
        let chan = channels
            .get_mut(&serial)
            .ok_or_else(|| Box::new((ChannelError::UnknownChannel(serial), None)))?;
        if chan.setup.role != Role::Supplier || chan.setup.closed {
            return Err(Box::new((ChannelError::WrongRole(serial), None)));
        }
        let peer = chan
            .setup
            .peer
            .clone()
            .ok_or_else(|| Box::new((ChannelError::NoPeer(serial), None)))?;
        let terms = chan.setup.terms;
        let cost = terms
            .cost_of(usage.minutes)
            .map_err(|e| Box::new((ChannelError::Rule(e.to_string()), None)))?;
        let remaining = chan.setup.remaining_fen(cost);
        let margin = chan.setup.margin_fen();
        let paused_notice = |remaining_fen: i64| Notice {
            serial,
            kind: NoticeKind::Paused,
            remaining_fen,
            margin_fen: margin,
            message: format!(
                "service paused: the escrow left ({remaining_fen} fen) is below the margin ({margin} fen); top up to resume"
            ),
        };
        let paused_error = ChannelError::Paused {
            serial,
            remaining_fen: remaining,
            margin_fen: margin,
        };
        if close.is_none() && chan.setup.paused_since_ms.is_some() {
            return Err(Box::new((paused_error, None)));
        }
        // A state the escrow cannot pay is not signed (the margin keeps this from
        // happening when the schedule runs often enough); the channel pauses.
        if close.is_none() && remaining < 0 {
            chan.setup.paused_since_ms = Some(now);
            let notice = paused_notice(remaining);
            return Err(Box::new((paused_error, Some((peer, notice)))));
        }
        let last = chan.proposed.or(chan.latest.map(|l| l.statement));
        let statement = Statement {
            serial,
            seq: last.map_or(0, |s| s.seq) + 1,
            minutes: usage.minutes,
            cost_fen: cost,
            usage_sha256: usage.detail_sha256,
            close,
        };
        terms
            .check_successor(last.as_ref(), &statement, now, 0)
            .map_err(|e| Box::new((ChannelError::Rule(e.to_string()), None)))?;
        chan.proposed = Some(statement);
        let proposal = Proposal {
            supplier_signature: statement.sign(&self.inner.key),
            statement,
        };
        // The usage so far is signed; below the margin, metering pauses after it.
        let mut notice = None;
        if close.is_none() && remaining < margin {
            chan.setup.paused_since_ms = Some(now);
            notice = Some(paused_notice(remaining));
        }
        Ok((peer, proposal, notice))
    }

    async fn send_proposals(
        &self,
        peer: &str,
        chunk: &[(usize, Proposal)],
    ) -> Result<Vec<Waiting>, ChannelError> {
        let link = self.link(peer).await?;
        let mut receivers = Vec::with_capacity(chunk.len());
        {
            let mut pending = link.pending.lock();
            for (i, p) in chunk {
                let (tx, rx) = oneshot::channel();
                let key = (p.statement.serial, p.statement.seq);
                pending.insert(key, (*p, tx));
                receivers.push((*i, rx, link.clone(), key));
            }
        }
        let proposals = chunk.iter().map(|(_, p)| *p).collect();
        tokio::time::timeout(
            Duration::from_millis(ANSWER_TIMEOUT_MS),
            link.tx.send(Message::Propose { proposals }),
        )
        .await
        .map_err(|_| ChannelError::Timeout)?
        .map_err(|_| ChannelError::Disconnected)?;
        Ok(receivers)
    }

    /// The link to a consumer's endpoint, connecting (hello, sync) if there is none.
    async fn link(&self, peer: &str) -> Result<Arc<Link>, ChannelError> {
        let mut links = self.inner.links.lock().await;
        if let Some(link) = links.get(peer)
            && !link.tx.is_closed()
            && link.alive.load(std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(link.clone());
        }
        let addr = peer.strip_prefix("tcp://").unwrap_or(peer);
        let stream = tokio::time::timeout(
            Duration::from_millis(HELLO_TIMEOUT_MS),
            TcpStream::connect(addr),
        )
        .await
        .map_err(|_| ChannelError::Wire(format!("the peer at {addr} did not answer in time")))?
        .map_err(|e| ChannelError::Wire(format!("cannot reach the peer at {addr}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let (mut r, mut w) = stream.into_split();
        let now = self.inner.clock.now_ms();
        wire::write_frame(&mut w, &wire::hello(&self.inner.key, now)).await?;
        let peer_key = read_hello(&self.inner, &mut r).await?;
        let states = self.inner.shared_latest(&peer_key, Role::Supplier);
        wire::write_frame(&mut w, &Message::Sync { states }).await?;
        let (tx, rx) = mpsc::channel(LINK_QUEUE_FRAMES_MAX);
        let link = Arc::new(Link {
            alive: std::sync::atomic::AtomicBool::new(true),
            tx,
            pending: Mutex::new(HashMap::new()),
            reader: Mutex::new(None),
        });
        tokio::spawn(write_loop(w, rx));
        let reader = tokio::spawn(supplier_read_loop(
            self.inner.clone(),
            link.clone(),
            r,
            peer_key,
        ));
        *link.reader.lock() = Some(reader);
        links.insert(peer.to_string(), link.clone());
        Ok(link)
    }

    /// Records the chain's view of a channel: escrow, settled state, open or not. Resumes
    /// a paused channel whose escrow covers the margin again (and tells the consumer).
    pub async fn update_from_chain(
        &self,
        serial: &Serial,
        view: ChainView,
    ) -> Result<(), ChannelError> {
        let now = self.inner.clock.now_ms();
        let (setup, notice) = {
            let mut channels = self.inner.channels.lock();
            let chan = channels
                .get_mut(serial)
                .ok_or(ChannelError::UnknownChannel(*serial))?;
            let s = &mut chan.setup;
            s.escrow_fen = view.escrow_fen;
            s.settled_seq = view.settled_seq;
            s.settled_cost_fen = view.settled_cost_fen;
            s.closed = !view.open && view.closing.is_none();
            s.consumer_bond_fen = view.consumer_bond_fen;
            s.challenge_window_ms = view.challenge_window_ms;
            s.closing = view.closing.is_some();
            let cost = chan.latest.map_or(view.settled_cost_fen, |l| {
                l.statement.cost_fen.max(view.settled_cost_fen)
            });
            let remaining = s.remaining_fen(cost);
            let mut notice = None;
            if let Some(since) = s.paused_since_ms
                && remaining >= s.margin_fen()
            {
                s.paused_total_ms += now.saturating_sub(since);
                s.paused_since_ms = None;
                notice = s.peer.clone().map(|peer| {
                    (
                        peer,
                        Notice {
                            serial: *serial,
                            kind: NoticeKind::Resumed,
                            remaining_fen: remaining,
                            margin_fen: s.margin_fen(),
                            message: "service resumed: the escrow covers the margin again".into(),
                        },
                    )
                });
            }
            (s.clone(), notice)
        };
        self.persist_setups(vec![setup]).await?;
        if let Some((peer, notice)) = notice {
            self.notify(&peer, vec![notice]).await;
        }
        Ok(())
    }

    /// Sends notices over an existing live link, never waiting on a peer: a notice is
    /// information, and a slow peer must not hold up the round.
    async fn notify(&self, peer: &str, notices: Vec<Notice>) {
        let link = self.inner.links.lock().await.get(peer).cloned();
        if let Some(link) = link
            && link.alive.load(std::sync::atomic::Ordering::SeqCst)
        {
            let _ = link.tx.try_send(Message::Notice { notices });
        }
    }

    /// Consumer's side: asks the supplier to end the channel (it answers with a final
    /// state `stopped_by_consumer` to countersign). Sent over the link the supplier opened.
    pub async fn request_stop(&self, serial: &Serial) -> Result<(), ChannelError> {
        let setup = {
            let mut channels = self.inner.channels.lock();
            let chan = channels
                .get_mut(serial)
                .ok_or(ChannelError::UnknownChannel(*serial))?;
            if chan.setup.role != Role::Consumer {
                return Err(ChannelError::WrongRole(*serial));
            }
            chan.setup.stop_requested = true;
            chan.setup.clone()
        };
        // Kept durably: after a restart the consumer still agrees to the final state.
        self.persist_setups(vec![setup]).await
    }

    /// Supplier's side: whether the consumer asked to stop this channel.
    pub fn stop_requested(&self, serial: &Serial) -> bool {
        self.inner
            .channels
            .lock()
            .get(serial)
            .is_some_and(|c| c.setup.stop_requested)
    }

    /// One round of the schedule, for every channel: read the chain's view, answer
    /// unilateral closes, meter and propose the supplier's channels that have new usage
    /// (final states at the contract's end or on the consumer's stop request), then check
    /// in states the chain has not settled and post dual-signed final states. Returns what
    /// it did.
    pub async fn tick(
        &self,
        meter: &dyn Meter,
        chain: Arc<dyn ChainPort>,
    ) -> Result<TickReport, ChannelError> {
        let mut report = TickReport::default();
        let disputes = self.read_chain(&chain, &mut report).await?;
        self.answer_disputes(disputes, &chain, &mut report).await?;
        self.meter_and_propose(meter, &mut report).await;
        self.post_settlements(&chain, &mut report).await?;
        Ok(report)
    }

    /// Reads every open channel's chain view; returns the unilateral closes in progress.
    async fn read_chain(
        &self,
        chain: &Arc<dyn ChainPort>,
        report: &mut TickReport,
    ) -> Result<Vec<(Serial, ClosingView)>, ChannelError> {
        let mut disputes = Vec::new();
        for serial in self.serials() {
            if self.setup(&serial).is_some_and(|s| s.closed) {
                continue;
            }
            let port = chain.clone();
            let view = tokio::task::spawn_blocking(move || port.view(&serial))
                .await
                .map_err(blocking_err)?;
            match view {
                Ok(view) => {
                    self.update_from_chain(&serial, view).await?;
                    if let Some(closing) = view.closing {
                        disputes.push((serial, closing));
                    }
                }
                Err(e) => report.errors.push(format!("{serial}: {e}")),
            }
        }
        Ok(disputes)
    }

    /// A unilateral close in progress: a final state both signed ends it cooperatively; a
    /// stale posted state is answered with our newer one (a consumer's stale state costs
    /// it its bond); after the window, settle.
    async fn answer_disputes(
        &self,
        disputes: Vec<(Serial, ClosingView)>,
        chain: &Arc<dyn ChainPort>,
        report: &mut TickReport,
    ) -> Result<(), ChannelError> {
        for (serial, closing) in disputes {
            let now = self.inner.clock.now_ms();
            let op = match self.latest(&serial) {
                Some(latest) if latest.statement.close.is_some() => ChannelOp::CoopClose {
                    serial,
                    state: latest,
                },
                Some(latest)
                    if latest.statement.seq > closing.posted_seq && now < closing.deadline_ms =>
                {
                    ChannelOp::Challenge {
                        serial,
                        state: latest,
                    }
                }
                _ if now >= closing.deadline_ms => ChannelOp::Settle { serial },
                _ => continue,
            };
            self.submit(chain, serial, op, report).await?;
        }
        Ok(())
    }

    /// Supplier's side: meters every running channel and proposes what is new, or the
    /// final state at the contract's end or on the consumer's stop request.
    async fn meter_and_propose(&self, meter: &dyn Meter, report: &mut TickReport) {
        let now = self.inner.clock.now_ms();
        let mut updates = Vec::new();
        let mut finals = Vec::new();
        let mut polls = std::collections::BTreeSet::new();
        for serial in self.serials() {
            let Some(setup) = self.setup(&serial) else {
                continue;
            };
            if setup.role != Role::Supplier || setup.closed || setup.closing {
                continue;
            }
            let latest = self.latest(&serial);
            if latest.is_some_and(|l| l.statement.close.is_some()) {
                continue;
            }
            if let Some(why) = setup.policy_refusal() {
                report.errors.push(format!("{serial}: not served: {why}"));
                continue;
            }
            if setup.paused_since_ms.is_some()
                && let Some(peer) = &setup.peer
            {
                polls.insert(peer.clone());
            }
            let Some(usage) = meter.usage(&setup, now) else {
                continue;
            };
            let ended = now >= setup.terms.end_ms;
            if ended || setup.stop_requested {
                let reason = if ended {
                    CloseReason::Completed
                } else {
                    CloseReason::StoppedByConsumer
                };
                finals.push((serial, usage, reason));
            } else if latest.is_none_or(|l| usage.minutes > l.statement.minutes) {
                updates.push((serial, usage));
            }
        }
        for peer in polls {
            self.poll(&peer).await;
        }
        for result in self.propose(updates).await {
            match result {
                Ok(_) => report.proposed += 1,
                Err(ChannelError::Paused { .. }) => report.paused += 1,
                Err(e) => report.errors.push(e.to_string()),
            }
        }
        for (serial, usage, reason) in finals {
            match self.propose_final(serial, usage, reason).await {
                Ok(_) => report.finals += 1,
                Err(e) => {
                    // The consumer does not (or no longer) ask to stop: meter on.
                    if matches!(&e, ChannelError::Rejected { code, .. } if code == "stop_not_requested")
                        && let Some(c) = self.inner.channels.lock().get_mut(&serial)
                    {
                        c.setup.stop_requested = false;
                    }
                    report.errors.push(e.to_string());
                }
            }
        }
    }

    /// Supplier's side: a paused channel proposes nothing, so the consumer would have no
    /// answer to attach its stop request to: an empty `sync` each round (connecting if
    /// needed) gives it one. Never waits on the peer.
    async fn poll(&self, peer: &str) {
        match self.link(peer).await {
            Ok(link) => {
                let _ = link.tx.try_send(Message::Sync { states: Vec::new() });
            }
            Err(e) => tracing::warn!("cannot reach the consumer at {peer}: {e}"),
        }
    }

    /// Checks in (supplier) the states the chain has not settled, and posts dual-signed
    /// final states (either side).
    async fn post_settlements(
        &self,
        chain: &Arc<dyn ChainPort>,
        report: &mut TickReport,
    ) -> Result<(), ChannelError> {
        for serial in self.serials() {
            let (Some(setup), Some(latest)) = (self.setup(&serial), self.latest(&serial)) else {
                continue;
            };
            if setup.closed || setup.closing || latest.statement.seq <= setup.settled_seq {
                continue;
            }
            let op = if latest.statement.close.is_some() {
                ChannelOp::CoopClose {
                    serial,
                    state: latest,
                }
            } else if setup.role == Role::Supplier && chain.checkin_due(&serial, &latest.statement)
            {
                ChannelOp::Checkin {
                    serial,
                    state: latest,
                }
            } else {
                continue;
            };
            self.submit(chain, serial, op, report).await?;
        }
        Ok(())
    }

    /// Submits `op` off the runtime; a refusal is reported, not fatal to the round.
    async fn submit(
        &self,
        chain: &Arc<dyn ChainPort>,
        serial: Serial,
        op: ChannelOp,
        report: &mut TickReport,
    ) -> Result<(), ChannelError> {
        let port = chain.clone();
        let submitted = tokio::task::spawn_blocking(move || port.submit(&op))
            .await
            .map_err(blocking_err)?;
        match submitted {
            Ok(()) => report.submitted += 1,
            Err(e) => report.errors.push(format!("{serial}: {e}")),
        }
        Ok(())
    }

    /// Stops the listener and every link (the store stays as it is: the next start
    /// resumes from it).
    pub async fn shutdown(&self) {
        let mut tasks: Vec<JoinHandle<()>> = self.inner.tasks.lock().drain(..).collect();
        let mut links = self.inner.links.lock().await;
        for (_, link) in links.drain() {
            tasks.extend(link.reader.lock().take());
        }
        drop(links);
        for task in &tasks {
            task.abort();
        }
        // Wait until the aborted tasks are gone, so nothing holds the store any more.
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// What one [`Controller::tick`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub proposed: usize,
    pub paused: usize,
    pub finals: usize,
    pub submitted: usize,
    pub errors: Vec<String>,
}

fn counterparty(setup: &ChannelSetup) -> PublicKey {
    match setup.role {
        Role::Supplier => setup.terms.consumer_key,
        _ => setup.terms.supplier_key,
    }
}
