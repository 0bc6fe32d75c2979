//! The node facade: opens the store, starts one block producer per chain, admits
//! transactions (signature, chain and nonce checks, bounded mempool) and answers queries.
//!
//! Acknowledgement rule: a transaction is reported committed only after the redb commit
//! of its block returned, i.e. after the block is durable.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use rayon::prelude::*;
use serde::Serialize;
use suanli_ledger::mempool::AdmitError;
use suanli_ledger::{
    Block, BlockHeader, ChainEngine, Extensions, Genesis, Mempool, MempoolConfig, Outcome,
    Transaction, TxError, TxId,
};
use suanli_primitives::merkle::InclusionProof;
use suanli_primitives::{ChainId, ChainKind, Clock, NetworkName, PublicKey};

use crate::consensus::Consensus;
use crate::store::{ChainStore, Checkpoint, StoreError, TxLocation};

/// Recent rejections remembered for status queries.
const REJECTIONS_REMEMBERED_MAX: usize = 10_000;
/// Transactions verified together in one batch.
const VERIFY_BATCH_TXS: usize = 128;
/// Derived data (state, transaction index) is checkpointed every this many blocks; the
/// blocks in between are re-executed on restart.
pub const CHECKPOINT_INTERVAL_BLOCKS: u64 = 16;
/// Longest a caller may wait for a commit, in milliseconds.
pub const WAIT_MS_MAX: u64 = 30_000;

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub network: NetworkName,
    /// The only key allowed to mint settlement credits (written into the trade genesis).
    pub credit_operator: PublicKey,
    pub mempool: MempoolConfig,
    /// The pluggable contracts every chain of this node runs (same set on every node and
    /// verifier of the network).
    pub extensions: Extensions,
    /// Admission rules that read the committed state of both chains (run after the
    /// contract's own `check`; e.g. the trade chain's CPT adoption against the identity
    /// chain's registry). Empty: none.
    pub admission: Vec<Arc<dyn AdmissionRule>>,
}

/// A check of a transaction against the committed state of the node's chains before it
/// enters the mempool. A refusal is the transaction's rejection (`CallRejected` with the
/// rule's code). Admission rules must only refuse what stays refusable at later heights
/// or what the chain's own contracts check again: replay and verification do not run them.
pub trait AdmissionRule: Send + Sync + std::fmt::Debug {
    fn check(
        &self,
        tx: &Transaction,
        trade: &suanli_ledger::State,
        identity: &suanli_ledger::State,
    ) -> Result<(), TxError>;
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("this node has no proposer key; a follower needs a multi-node consensus engine")]
    NotProposer,
    #[error(
        "this node's proposer key {key} is not a proposer named in the {chain} chain's genesis (was node.key replaced?)"
    )]
    ForeignProposer { chain: ChainKind, key: String },
    #[error("stored {chain} chain belongs to network {stored}, not {configured}")]
    NetworkMismatch {
        chain: ChainKind,
        stored: String,
        configured: String,
    },
    #[error("stored {chain} chain is inconsistent: {reason}")]
    Inconsistent { chain: ChainKind, reason: String },
}

/// Why a submitted transaction was not admitted.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    #[error(transparent)]
    Tx(#[from] TxError),
    #[error(transparent)]
    Admit(#[from] AdmitError),
    #[error("the node stopped producing blocks after a storage failure; see its log")]
    Halted,
}

impl SubmitError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SubmitError::Admit(e) if e.is_retryable())
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::Tx(TxError::Malformed(_)) => "malformed",
            SubmitError::Tx(TxError::TooLarge { .. }) => "too_large",
            SubmitError::Tx(TxError::Version(_)) => "unsupported_version",
            SubmitError::Tx(TxError::WrongChain { .. }) => "wrong_chain",
            SubmitError::Tx(TxError::BadSignature) => "bad_signature",
            SubmitError::Tx(TxError::PayloadNotAllowed { .. }) => "payload_not_allowed",
            SubmitError::Tx(TxError::CallRejected { code, .. }) => code,
            SubmitError::Admit(AdmitError::Full { .. }) => "mempool_full",
            SubmitError::Admit(AdmitError::SignerQuota { .. }) => "signer_quota",
            SubmitError::Admit(AdmitError::NonceReplayed { .. }) => "nonce_replayed",
            SubmitError::Admit(AdmitError::NonceGap { .. }) => "nonce_gap",
            SubmitError::Halted => "node_halted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    Pending,
    Committed {
        chain: ChainKind,
        height: u64,
        index: u32,
        outcome: Outcome,
    },
    Rejected {
        code: String,
        reason: String,
    },
    Unknown,
}

/// A committed transaction with everything needed to check it offline.
#[derive(Debug, Clone, Serialize)]
pub struct TxProof {
    pub tx_hex: String,
    pub location: TxLocation,
    pub outcome: Outcome,
    pub header: BlockHeader,
    pub proof: InclusionProof,
}

#[derive(Debug)]
struct ChainRuntime {
    kind: ChainKind,
    engine: RwLock<ChainEngine>,
    mempool: Mutex<Mempool>,
    work: Condvar,
    committed: Mutex<u64>,
    committed_cv: Condvar,
    /// Derived data of the blocks after the last checkpoint.
    checkpoint: Mutex<Checkpoint>,
}

#[derive(Debug, Default)]
struct Rejections {
    order: VecDeque<TxId>,
    reasons: HashMap<TxId, SubmitError>,
}

#[derive(Debug)]
pub struct Node {
    store: ChainStore,
    admission: Vec<Arc<dyn AdmissionRule>>,
    consensus: Arc<dyn Consensus>,
    clock: Arc<dyn Clock>,
    chains: Vec<ChainRuntime>,
    rejections: Mutex<Rejections>,
    /// Where the transactions committed after the last checkpoint are.
    recent: Mutex<HashMap<TxId, TxLocation>>,
    stopping: AtomicBool,
    halted: AtomicBool,
}

impl Node {
    /// Opens the node's store under `data_dir` (file `chain.redb`), creating the genesis
    /// of each chain on first start.
    pub fn open(
        data_dir: &Path,
        config: NodeConfig,
        consensus: Arc<dyn Consensus>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Node>, NodeError> {
        let store = ChainStore::open(&data_dir.join("chain.redb"))?;
        let mut chains = Vec::new();
        let mut recent = HashMap::new();
        for kind in ChainKind::ALL {
            let engine =
                Self::open_chain(&store, &config, consensus.as_ref(), clock.as_ref(), kind)?;
            let (engine, checkpoint) = Self::catch_up(&store, engine, kind)?;
            recent.extend(checkpoint.index.iter().copied());
            let height = engine.head().height();
            chains.push(ChainRuntime {
                kind,
                engine: RwLock::new(engine),
                mempool: Mutex::new(Mempool::new(config.mempool)),
                work: Condvar::new(),
                committed: Mutex::new(height),
                committed_cv: Condvar::new(),
                checkpoint: Mutex::new(checkpoint),
            });
        }
        Ok(Arc::new(Node {
            store,
            admission: config.admission.clone(),
            consensus,
            clock,
            chains,
            rejections: Mutex::new(Rejections::default()),
            recent: Mutex::new(recent),
            stopping: AtomicBool::new(false),
            halted: AtomicBool::new(false),
        }))
    }

    fn open_chain(
        store: &ChainStore,
        config: &NodeConfig,
        consensus: &dyn Consensus,
        clock: &dyn Clock,
        kind: ChainKind,
    ) -> Result<ChainEngine, NodeError> {
        let chain_id = ChainId::new(config.network.clone(), kind);
        let Some(genesis) = store.genesis(kind)? else {
            let proposer = consensus.local_proposer().ok_or(NodeError::NotProposer)?;
            let genesis = Genesis::new(
                chain_id,
                clock.now_ms(),
                consensus.proposers(),
                config.credit_operator,
            )
            .map_err(|e| NodeError::Inconsistent {
                chain: kind,
                reason: e.to_string(),
            })?;
            if genesis.proposers[0] != proposer {
                return Err(NodeError::ForeignProposer {
                    chain: kind,
                    key: proposer.to_hex(),
                });
            }
            let sealed = consensus
                .seal(ChainEngine::genesis_header(&genesis))
                .map_err(|e| NodeError::Inconsistent {
                    chain: kind,
                    reason: e.to_string(),
                })?;
            let block0 = Block {
                header: sealed,
                txs: Vec::new(),
            };
            store.init_chain(&genesis, &block0)?;
            return ChainEngine::from_genesis(genesis, &block0.header)
                .map(|e| e.with_extensions(config.extensions.clone()))
                .map_err(|e| NodeError::Inconsistent {
                    chain: kind,
                    reason: e.to_string(),
                });
        };
        if genesis.chain.network() != &config.network {
            return Err(NodeError::NetworkMismatch {
                chain: kind,
                stored: genesis.chain.network().to_string(),
                configured: config.network.to_string(),
            });
        }
        if let Some(local) = consensus.local_proposer()
            && !genesis.proposers.contains(&local)
        {
            // Blocks sealed with this key would be acknowledged and then refused by every
            // verifier, including this node at its next start.
            return Err(NodeError::ForeignProposer {
                chain: kind,
                key: local.to_hex(),
            });
        }
        let height = store.checkpoint_height(kind)?;
        let base = store
            .block(kind, height)?
            .ok_or_else(|| NodeError::Inconsistent {
                chain: kind,
                reason: format!("checkpoint block {height} missing"),
            })?;
        let state = store.load_state(kind)?;
        Ok(ChainEngine::restore(genesis, base.header, state)
            .with_extensions(config.extensions.clone()))
    }

    /// Re-executes the durable blocks after the checkpoint (a crash may have left derived
    /// data behind the blocks), returning the engine at the head and the derived data
    /// still to checkpoint.
    fn catch_up(
        store: &ChainStore,
        mut engine: ChainEngine,
        kind: ChainKind,
    ) -> Result<(ChainEngine, Checkpoint), NodeError> {
        let mut checkpoint = Checkpoint::default();
        let head = store.head_height(kind)?.unwrap_or(0);
        for height in engine.head().height() + 1..=head {
            let block = store
                .block(kind, height)?
                .ok_or_else(|| NodeError::Inconsistent {
                    chain: kind,
                    reason: format!("block {height} missing"),
                })?;
            // Our own durable blocks: signatures were checked at admission; links, roots
            // and the state commitment are still re-checked by `validate`.
            let executed = engine
                .validate(&block, true)
                .map_err(|e| NodeError::Inconsistent {
                    chain: kind,
                    reason: format!("block {height} does not replay: {e}"),
                })?;
            checkpoint.absorb(&block, &executed.writes);
            engine.commit(block.header, executed.writes);
        }
        if !checkpoint.is_empty() {
            tracing::info!(chain = %kind, head, replayed_txs = checkpoint.index.len(), "re-executed blocks after the last checkpoint");
        }
        Ok((engine, checkpoint))
    }

    fn runtime(&self, kind: ChainKind) -> &ChainRuntime {
        &self.chains[usize::from(kind == ChainKind::Trade)]
    }

    pub fn chain_id(&self, kind: ChainKind) -> ChainId {
        self.runtime(kind).engine.read().chain().clone()
    }

    pub fn store(&self) -> &ChainStore {
        &self.store
    }

    /// Starts one producer thread per chain. They stop after [`Node::stop`].
    pub fn start(self: &Arc<Self>) -> Vec<JoinHandle<()>> {
        ChainKind::ALL
            .iter()
            .map(|kind| {
                let node = Arc::clone(self);
                let kind = *kind;
                std::thread::Builder::new()
                    .name(format!("producer-{kind}"))
                    .spawn(move || node.produce_loop(kind))
                    .map_err(|e| tracing::error!(%e, "cannot start producer thread"))
            })
            .filter_map(Result::ok)
            .collect()
    }

    /// Asks producers to finish the block in hand and stop.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for chain in &self.chains {
            chain.work.notify_all();
        }
    }

    fn produce_loop(&self, kind: ChainKind) {
        let chain = self.runtime(kind);
        loop {
            let batch = {
                let mut pool = chain.mempool.lock();
                loop {
                    if self.stopping.load(Ordering::SeqCst) {
                        drop(pool);
                        self.flush_checkpoint(chain);
                        return;
                    }
                    let now = self.clock.now_ms();
                    if let Some(txs) = pool.take_due(now) {
                        break txs;
                    }
                    let wait_ms = pool.due_in_ms(now).unwrap_or(1_000).clamp(1, 1_000);
                    chain
                        .work
                        .wait_for(&mut pool, Duration::from_millis(wait_ms));
                }
            };
            if let Err(e) = self.produce(chain, batch) {
                tracing::error!(chain = %kind, error = %e, "block production failed; node halts");
                self.halted.store(true, Ordering::SeqCst);
                // Nothing uncommitted on this chain will commit now: say so, rather than
                // leave callers waiting on "pending" forever.
                let abandoned = chain.mempool.lock().abandon();
                for id in abandoned {
                    self.reject(id, SubmitError::Halted);
                }
                chain.committed_cv.notify_all();
                return;
            }
        }
    }

    fn produce(&self, chain: &ChainRuntime, txs: Vec<Transaction>) -> Result<(), String> {
        let proposer = self.consensus.local_proposer().ok_or("not a proposer")?;
        let started = Instant::now();
        let executed = chain
            .engine
            .read()
            .execute(txs, self.clock.now_ms(), proposer)
            .map_err(|e| e.to_string())?;
        let header = self
            .consensus
            .seal(executed.header)
            .map_err(|e| e.to_string())?;
        let block = Block {
            header,
            txs: executed.txs,
        };
        self.consensus.finalize(&block).map_err(|e| e.to_string())?;
        let executed_at = Instant::now();
        let height = block.header.height();
        let mut checkpoint = chain.checkpoint.lock();
        checkpoint.absorb(&block, &executed.writes);
        let due = height % CHECKPOINT_INTERVAL_BLOCKS == 0;
        self.store
            .commit_block(&block, &executed.outcomes, due.then_some(&*checkpoint))
            .map_err(|e| e.to_string())?;
        let stored_at = Instant::now();
        {
            let mut recent = self.recent.lock();
            let fresh = &checkpoint.index[checkpoint.index.len() - block.txs.len()..];
            if due {
                for (id, _) in &checkpoint.index[..checkpoint.index.len() - block.txs.len()] {
                    recent.remove(id);
                }
            } else {
                recent.extend(fresh.iter().copied());
            }
        }
        if due {
            *checkpoint = Checkpoint::default();
        }
        drop(checkpoint);
        chain.engine.write().commit(block.header, executed.writes);
        {
            let mut pool = chain.mempool.lock();
            let engine = chain.engine.read();
            pool.finish(&block.txs, |signer| engine.next_nonce(signer));
        }
        *chain.committed.lock() = height;
        chain.committed_cv.notify_all();
        tracing::debug!(
            chain = %chain.kind,
            height,
            txs = block.txs.len(),
            execute_us = (executed_at - started).as_micros() as u64,
            store_us = (stored_at - executed_at).as_micros() as u64,
            apply_us = stored_at.elapsed().as_micros() as u64,
            "block committed"
        );
        Ok(())
    }

    /// Writes the derived data of the blocks since the last checkpoint.
    fn flush_checkpoint(&self, chain: &ChainRuntime) {
        let mut checkpoint = chain.checkpoint.lock();
        if checkpoint.is_empty() {
            return;
        }
        let height = chain.engine.read().head().height();
        match self
            .store
            .commit_checkpoint(chain.kind, height, &checkpoint)
        {
            Ok(()) => {
                let mut recent = self.recent.lock();
                for (id, _) in &checkpoint.index {
                    recent.remove(id);
                }
                *checkpoint = Checkpoint::default();
            }
            Err(e) => {
                tracing::warn!(chain = %chain.kind, error = %e, "checkpoint at shutdown failed; blocks replay at next start")
            }
        }
    }

    fn locate(&self, id: &TxId) -> Result<Option<TxLocation>, StoreError> {
        if let Some(loc) = self.recent.lock().get(id) {
            return Ok(Some(*loc));
        }
        self.store.tx_location(id)
    }

    /// Admits one transaction.
    pub fn submit(&self, tx: Transaction) -> Result<TxId, SubmitError> {
        tx.verify_signature()
            .map_err(|e| self.reject(tx.id(), e.into()))?;
        self.admit(tx)
    }

    /// Decodes and admits one encoded transaction.
    pub fn submit_bytes(&self, bytes: &[u8]) -> Result<TxId, SubmitError> {
        self.submit(Transaction::decode(bytes)?)
    }

    /// Admits many transactions, verifying their signatures in parallel batches. Returns
    /// one result per input, in order. Transactions of one signer must be in nonce order.
    pub fn submit_many(&self, txs: Vec<Transaction>) -> Vec<Result<TxId, SubmitError>> {
        let verdicts: Vec<bool> = txs
            .par_chunks(VERIFY_BATCH_TXS)
            .flat_map_iter(suanli_ledger::tx::verify_signatures)
            .collect();
        let mut results = Vec::with_capacity(txs.len());
        // One mempool lock per run of same-chain transactions, not one per transaction.
        let mut locked: Option<(ChainKind, parking_lot::MutexGuard<'_, Mempool>)> = None;
        for (tx, ok) in txs.into_iter().zip(verdicts) {
            if !ok {
                results.push(Err(self.reject(tx.id(), TxError::BadSignature.into())));
                continue;
            }
            let kind = tx.chain().kind();
            if locked.as_ref().is_some_and(|(k, _)| *k != kind) {
                locked = None;
            }
            let (_, pool) = locked.get_or_insert_with(|| (kind, self.runtime(kind).mempool.lock()));
            results.push(self.admit_locked(tx, pool));
        }
        drop(locked);
        for chain in &self.chains {
            chain.work.notify_one();
        }
        results
    }

    fn admit(&self, tx: Transaction) -> Result<TxId, SubmitError> {
        let chain = self.runtime(tx.chain().kind());
        let result = self.admit_locked(tx, &mut chain.mempool.lock());
        chain.work.notify_one();
        result
    }

    /// Admits a signature-checked transaction into its chain's (locked) mempool.
    fn admit_locked(&self, tx: Transaction, pool: &mut Mempool) -> Result<TxId, SubmitError> {
        let id = tx.id();
        if self.halted.load(Ordering::SeqCst) {
            return Err(SubmitError::Halted);
        }
        let chain = self.runtime(tx.chain().kind());
        let engine = chain.engine.read();
        tx.check_chain(engine.chain())
            .and_then(|()| engine.check_call(&tx))
            .and_then(|()| self.check_rules(&tx, engine.state()))
            .map_err(|e| self.reject(id, e.into()))?;
        let signer = *tx.signer();
        pool.admit(tx, || engine.next_nonce(&signer), self.clock.now_ms())
            .map_err(|e| self.reject(id, e.into()))?;
        Ok(id)
    }

    /// Runs the admission rules; `own` is the (already read-locked) state of the
    /// transaction's chain, the other chain's is read-locked here.
    fn check_rules(&self, tx: &Transaction, own: &suanli_ledger::State) -> Result<(), TxError> {
        if self.admission.is_empty() {
            return Ok(());
        }
        let kind = tx.chain().kind();
        let other_kind = match kind {
            ChainKind::Trade => ChainKind::Identity,
            ChainKind::Identity => ChainKind::Trade,
        };
        let other = self.runtime(other_kind).engine.read();
        let (trade, identity) = match kind {
            ChainKind::Trade => (own, other.state()),
            ChainKind::Identity => (other.state(), own),
        };
        self.admission
            .iter()
            .try_for_each(|rule| rule.check(tx, trade, identity))
    }

    fn reject(&self, id: TxId, error: SubmitError) -> SubmitError {
        if !error.is_retryable() {
            let mut r = self.rejections.lock();
            if r.reasons.insert(id, error.clone()).is_none() {
                r.order.push_back(id);
            }
            while r.order.len() > REJECTIONS_REMEMBERED_MAX {
                if let Some(old) = r.order.pop_front() {
                    r.reasons.remove(&old);
                }
            }
        }
        error
    }

    pub fn status(&self, id: &TxId) -> Result<TxStatus, StoreError> {
        // Order matters: a transaction leaves the mempool only after it is in `recent`,
        // and leaves `recent` only after it is in the stored index.
        if self
            .chains
            .iter()
            .any(|c| c.mempool.lock().is_uncommitted(id))
        {
            return Ok(TxStatus::Pending);
        }
        if let Some(loc) = self.locate(id)? {
            let outcome = self
                .store
                .outcomes(loc.chain, loc.height)?
                .and_then(|o| o.get(loc.index as usize).cloned())
                .ok_or(StoreError::CorruptOutcomes {
                    chain: loc.chain,
                    height: loc.height,
                })?;
            return Ok(TxStatus::Committed {
                chain: loc.chain,
                height: loc.height,
                index: loc.index,
                outcome,
            });
        }
        if self
            .chains
            .iter()
            .any(|c| c.mempool.lock().is_uncommitted(id))
        {
            return Ok(TxStatus::Pending);
        }
        if let Some(e) = self.rejections.lock().reasons.get(id) {
            return Ok(TxStatus::Rejected {
                code: e.code().to_owned(),
                reason: e.to_string(),
            });
        }
        Ok(TxStatus::Unknown)
    }

    /// Waits up to `timeout` for `id` to leave the pending state.
    pub fn wait(
        &self,
        id: &TxId,
        kind: ChainKind,
        timeout: Duration,
    ) -> Result<TxStatus, StoreError> {
        let deadline = Instant::now() + timeout.min(Duration::from_millis(WAIT_MS_MAX));
        let chain = self.runtime(kind);
        loop {
            let seen = *chain.committed.lock();
            let status = self.status(id)?;
            if status != TxStatus::Pending {
                return Ok(status);
            }
            let mut committed = chain.committed.lock();
            if *committed == seen {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(TxStatus::Pending);
                }
                chain.committed_cv.wait_for(&mut committed, deadline - now);
            }
        }
    }

    pub fn head(&self, kind: ChainKind) -> BlockHeader {
        self.runtime(kind).engine.read().head().clone()
    }

    pub fn genesis(&self, kind: ChainKind) -> Genesis {
        self.runtime(kind).engine.read().genesis().clone()
    }

    pub fn next_nonce(&self, kind: ChainKind, signer: &PublicKey) -> u64 {
        let chain = self.runtime(kind);
        let pool = chain.mempool.lock();
        pool.expected_nonce(signer, || chain.engine.read().next_nonce(signer))
    }

    pub fn mempool_waiting(&self, kind: ChainKind) -> usize {
        self.runtime(kind).mempool.lock().waiting()
    }

    pub fn block(&self, kind: ChainKind, height: u64) -> Result<Option<Block>, StoreError> {
        self.store.block(kind, height)
    }

    /// The node's clock (injected), in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Runs `read` against one consistent snapshot of a chain's committed state (the
    /// producer waits while it runs: keep it short).
    pub fn with_state<T>(
        &self,
        kind: ChainKind,
        read: impl FnOnce(&suanli_ledger::State) -> T,
    ) -> T {
        read(self.runtime(kind).engine.read().state())
    }

    pub fn state_get(&self, kind: ChainKind, key: &[u8]) -> Option<Vec<u8>> {
        self.runtime(kind)
            .engine
            .read()
            .state()
            .get(key)
            .map(<[u8]>::to_vec)
    }

    pub fn proof(&self, id: &TxId) -> Result<Option<TxProof>, StoreError> {
        let Some(location) = self.locate(id)? else {
            return Ok(None);
        };
        let Some(block) = self.store.block(location.chain, location.height)? else {
            return Ok(None);
        };
        let index = location.index as usize;
        let (Some(tx), Some(proof)) = (block.txs.get(index), block.inclusion_proof(index)) else {
            return Ok(None);
        };
        let outcome = self
            .store
            .outcomes(location.chain, location.height)?
            .and_then(|o| o.get(index).cloned())
            .ok_or(StoreError::CorruptOutcomes {
                chain: location.chain,
                height: location.height,
            })?;
        Ok(Some(TxProof {
            tx_hex: hex::encode(tx.encoded()),
            location,
            outcome,
            header: block.header,
            proof,
        }))
    }
}
