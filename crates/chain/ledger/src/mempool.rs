//! A bounded mempool for one chain, with back-pressure and nonce sequencing.
//!
//! Admission enforces the nonce rule up front: a signer's next transaction must carry
//! exactly the next nonce after its committed and already-pending ones, so replays and
//! gaps are rejected with a reason and never reach a block. A full mempool answers
//! [`AdmitError::Full`], which callers report as retryable; nothing admitted is dropped.

use std::collections::{HashMap, HashSet, VecDeque};

use suanli_primitives::PublicKey;

use crate::tx::{Transaction, TxId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions waiting for a block.
    pub txs_max: usize,
    /// Seal a block as soon as this many transactions wait.
    pub block_txs_max: usize,
    /// Seal a block when the oldest waiting transaction has waited this long.
    pub block_interval_ms: u64,
    /// Most uncommitted transactions of one signer, so that no single key can fill the
    /// pool and push everyone else out.
    pub signer_pending_max: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            txs_max: 100_000,
            block_txs_max: 4_096,
            block_interval_ms: 50,
            signer_pending_max: 1_024,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AdmitError {
    #[error("mempool is full ({capacity} transactions waiting); retry shortly")]
    Full { capacity: usize },
    #[error("this signer already has {max} transactions waiting; retry after they commit")]
    SignerQuota { max: u64 },
    #[error("nonce {got} was already used (replay); the signer's next nonce is {expected}")]
    NonceReplayed { expected: u64, got: u64 },
    #[error("nonce {got} skips ahead (gap); the signer's next nonce is {expected}")]
    NonceGap { expected: u64, got: u64 },
}

impl AdmitError {
    /// Whether sending the same transaction again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AdmitError::Full { .. } | AdmitError::SignerQuota { .. }
        )
    }
}

#[derive(Debug)]
pub struct Mempool {
    config: MempoolConfig,
    queue: VecDeque<(Transaction, u64)>,
    /// Transactions admitted but not yet committed (waiting or in a block being built).
    uncommitted: HashSet<TxId>,
    /// Next nonce per signer with uncommitted transactions.
    next_nonce: HashMap<PublicKey, u64>,
}

impl Mempool {
    pub fn new(config: MempoolConfig) -> Self {
        Mempool {
            config,
            queue: VecDeque::new(),
            uncommitted: HashSet::new(),
            next_nonce: HashMap::new(),
        }
    }

    pub fn config(&self) -> &MempoolConfig {
        &self.config
    }

    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    pub fn is_uncommitted(&self, id: &TxId) -> bool {
        self.uncommitted.contains(id)
    }

    /// The nonce `signer` must use next, given its committed next nonce.
    pub fn expected_nonce(&self, signer: &PublicKey, committed_next: impl FnOnce() -> u64) -> u64 {
        self.next_nonce
            .get(signer)
            .copied()
            .unwrap_or_else(committed_next)
    }

    /// Admits a transaction whose signature and chain were already checked.
    pub fn admit(
        &mut self,
        tx: Transaction,
        committed_next: impl FnOnce() -> u64,
        now_ms: u64,
    ) -> Result<(), AdmitError> {
        let committed = committed_next();
        let expected = self.expected_nonce(tx.signer(), || committed);
        if tx.nonce() < expected {
            return Err(AdmitError::NonceReplayed {
                expected,
                got: tx.nonce(),
            });
        }
        if tx.nonce() > expected {
            return Err(AdmitError::NonceGap {
                expected,
                got: tx.nonce(),
            });
        }
        // Pending entries may lag behind commits until `finish`; the quota counts from
        // the committed nonce, so it never over-counts.
        if expected.saturating_sub(committed) >= self.config.signer_pending_max {
            return Err(AdmitError::SignerQuota {
                max: self.config.signer_pending_max,
            });
        }
        if self.queue.len() >= self.config.txs_max {
            return Err(AdmitError::Full {
                capacity: self.config.txs_max,
            });
        }
        self.next_nonce.insert(*tx.signer(), expected + 1);
        self.uncommitted.insert(tx.id());
        self.queue.push_back((tx, now_ms));
        Ok(())
    }

    /// Milliseconds until a block is due (0 = now), or `None` when nothing waits.
    pub fn due_in_ms(&self, now_ms: u64) -> Option<u64> {
        let (_, oldest) = self.queue.front()?;
        if self.queue.len() >= self.config.block_txs_max {
            return Some(0);
        }
        let deadline = oldest.saturating_add(self.config.block_interval_ms);
        Some(deadline.saturating_sub(now_ms))
    }

    /// Takes the next block's transactions if a block is due.
    pub fn take_due(&mut self, now_ms: u64) -> Option<Vec<Transaction>> {
        if self.due_in_ms(now_ms)? > 0 {
            return None;
        }
        let n = self.queue.len().min(self.config.block_txs_max);
        Some(self.queue.drain(..n).map(|(tx, _)| tx).collect())
    }

    /// Gives up on everything uncommitted (the node cannot produce blocks any more):
    /// empties the pool and returns the ids it held, waiting or in a block being built.
    pub fn abandon(&mut self) -> Vec<TxId> {
        self.queue.clear();
        self.next_nonce.clear();
        self.uncommitted.drain().collect()
    }

    /// Forgets committed transactions and the nonce entries of signers with nothing
    /// left pending (`committed_next` gives a signer's next nonce after the commit).
    pub fn finish(
        &mut self,
        committed: &[Transaction],
        committed_next: impl Fn(&PublicKey) -> u64,
    ) {
        for tx in committed {
            self.uncommitted.remove(&tx.id());
            if self.next_nonce.get(tx.signer()) == Some(&committed_next(tx.signer())) {
                self.next_nonce.remove(tx.signer());
            }
        }
    }
}
