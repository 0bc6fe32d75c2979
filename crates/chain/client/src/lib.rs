//! `suanli-ledger-client`: the one way everything outside the node talks to a ledger.
//!
//! [`LedgerClient`] is the port: chain ids, nonces, state reads, transaction status,
//! submission and waiting. Two implementations: the in-process node ([`embedded`]: the
//! trait is implemented for `suanli_node::Node` itself, and [`embedded::open_node`] opens
//! one) and a node's HTTP API ([`HttpLedger`]). The bridge adapters, the CLI and the
//! tools use it.
//!
//! Invariant: there is ONE "submit idempotently and wait for commit" path,
//! [`LedgerClient::commit`]: it asks for the transaction's status first and submits only
//! when the node does not know it (or forgot a rejection), so sending the same signed
//! transaction again after a timeout or a crash never applies it twice (its nonce lets
//! the chain apply it at most once anyway). A transaction counts as done only when it is
//! committed *and* applied; a committed failure is [`LedgerError::Failed`].
//!
//! [`supply`] is the supplier side typed for the platform's bridge and the supplier agent
//! (modes, offers, CPTs, agent keys, a supplier's trades and reputation, acceptances and
//! check-ins by the supplier's or an agent's key), over any [`LedgerClient`].
//!
//! [`identity`] and [`trade`] hold the client-side operations of the CLI's identity and
//! trade commands (reads over the node API, signed requests, credentials issued here);
//! [`wallet`] the key and JSON files they read and write.
//!
//! Start reading at [`LedgerClient`].

pub mod bundle;
pub mod channel;
pub mod embedded;
pub mod error;
pub mod exchange;
pub mod http;
pub mod identity;
pub mod supply;
pub mod trade;
pub mod wallet;

use std::time::{Duration, Instant};

use suanli_ledger::{Outcome, Payload, Transaction, TxId};
use suanli_primitives::{ChainId, ChainKind, PublicKey, SecretKey};

pub use error::{ClientError, LedgerError};
pub use http::HttpLedger;
pub use suanli_node::{TxProof, TxStatus};

/// How long the CLI waits for a transaction to commit by default, in milliseconds.
pub const COMMIT_WAIT_MS: u64 = 15_000;

/// Where an applied transaction landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub id: TxId,
    pub chain: ChainKind,
    pub height: u64,
    pub index: u32,
}

/// A ledger node, in process or remote.
pub trait LedgerClient: Send + Sync + std::fmt::Debug {
    /// The id of the `kind` chain (network and kind).
    fn chain_id(&self, kind: ChainKind) -> Result<ChainId, LedgerError>;
    /// The nonce `signer`'s next transaction on `kind` must carry (counting the ones
    /// waiting in the mempool).
    fn next_nonce(&self, kind: ChainKind, signer: &PublicKey) -> Result<u64, LedgerError>;
    /// A raw value of the committed state.
    fn state_get(&self, kind: ChainKind, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError>;
    /// What the node knows of a transaction.
    fn status(&self, id: &TxId) -> Result<TxStatus, LedgerError>;
    /// Submits `tx` and waits up to `wait` for it to leave the pending state; a refusal
    /// to admit it is an error.
    fn submit_wait(&self, tx: &Transaction, wait: Duration) -> Result<TxStatus, LedgerError>;
    /// Waits up to `wait` for a submitted transaction to leave the pending state.
    fn wait(&self, id: &TxId, kind: ChainKind, wait: Duration) -> Result<TxStatus, LedgerError>;

    /// The transaction `id` with its block header and RFC 9162 inclusion proof (`None`:
    /// not in a block). The embedded node and the node's HTTP API
    /// (`GET /v1/txs/{id}/proof`, a member's access) serve it.
    fn tx_proof(&self, id: &TxId) -> Result<Option<TxProof>, LedgerError> {
        Err(LedgerError::BadAnswer {
            what: format!("the proof of {id}"),
            detail: "this ledger client serves no proofs".into(),
        })
    }

    /// Signs `payload` with `key` for the `kind` chain at the signer's next nonce.
    fn sign_next(
        &self,
        kind: ChainKind,
        key: &SecretKey,
        payload: Payload,
    ) -> Result<Transaction, LedgerError> {
        let chain = self.chain_id(kind)?;
        let nonce = self.next_nonce(kind, &key.public())?;
        Ok(Transaction::sign(&chain, key, nonce, payload))
    }

    /// Makes sure `tx` is committed and applied, waiting up to `wait`: done if it already
    /// is, waited for if pending, otherwise submitted (again) and waited for. Safe to
    /// repeat for the same transaction.
    fn commit(&self, tx: &Transaction, wait: Duration) -> Result<Committed, LedgerError> {
        let deadline = Instant::now() + wait;
        let id = tx.id();
        let mut status = self.status(&id)?;
        if matches!(status, TxStatus::Unknown | TxStatus::Rejected { .. }) {
            // Never admitted, or lost with a restart before its block: submit it again.
            status = self.submit_wait(tx, wait)?;
        }
        if status == TxStatus::Pending {
            let left = deadline.saturating_duration_since(Instant::now());
            status = self.wait(&id, tx.chain().kind(), left)?;
        }
        settle(id, status, wait)
    }

    /// Signs `payload` at the signer's next nonce and [commits](Self::commit) it.
    fn transact(
        &self,
        kind: ChainKind,
        key: &SecretKey,
        payload: Payload,
        wait: Duration,
    ) -> Result<Committed, LedgerError> {
        let tx = self.sign_next(kind, key, payload)?;
        self.commit(&tx, wait)
    }
}

/// The end of [`LedgerClient::commit`]: applied, or the error saying why not.
fn settle(id: TxId, status: TxStatus, wait: Duration) -> Result<Committed, LedgerError> {
    match status {
        TxStatus::Committed {
            chain,
            height,
            index,
            outcome: Outcome::Applied,
        } => Ok(Committed {
            id,
            chain,
            height,
            index,
        }),
        TxStatus::Committed {
            outcome: Outcome::Failed { reason },
            ..
        } => Err(LedgerError::Failed { id, reason }),
        TxStatus::Rejected { code, reason } => Err(LedgerError::Rejected { id, code, reason }),
        TxStatus::Pending | TxStatus::Unknown => Err(LedgerError::NotCommitted {
            id,
            wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        }),
    }
}
