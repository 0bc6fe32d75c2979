//! The ledger client's errors: one enum, stable codes, the source chain kept.

use std::path::PathBuf;

use suanli_ledger::TxId;
use suanli_node::{StoreError, SubmitError};

/// Why a ledger request failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The node could not be reached (connection, TLS, timeout).
    #[error("{what}: cannot reach the node at {url}")]
    Unreachable {
        what: String,
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    /// The node answered an error status to a read.
    #[error("{what}: node answered {status}: {message}")]
    Api {
        what: String,
        status: u16,
        code: String,
        message: String,
        retryable: bool,
    },
    /// The node's answer is not what its API documents.
    #[error("{what}: the node's answer is unreadable: {detail}")]
    BadAnswer { what: String, detail: String },
    /// The embedded node did not admit the transaction.
    #[error("the node refused the transaction: {0} ({code})", code = .0.code())]
    Refused(#[from] SubmitError),
    /// A remote node did not admit the transaction.
    #[error("the node refused the transaction: {message} ({code})")]
    RefusedRemote {
        code: String,
        message: String,
        retryable: bool,
    },
    /// The transaction was committed, but the contract refused it (its nonce is used).
    #[error("transaction {id} was committed as failed: {reason}")]
    Failed { id: TxId, reason: String },
    /// The node reports the transaction rejected after it was submitted.
    #[error("transaction {id} was rejected: {reason} ({code})")]
    Rejected {
        id: TxId,
        code: String,
        reason: String,
    },
    /// Still pending when the wait ended: it may commit later.
    #[error(
        "transaction {id} was not committed within {wait_ms} ms; check later with GET /v1/txs/{id}"
    )]
    NotCommitted { id: TxId, wait_ms: u64 },
    /// The embedded node's store failed.
    #[error("the node's store failed")]
    Store(#[from] StoreError),
    /// A member-token file could not be read.
    #[error("reading {}", path.display())]
    TokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LedgerError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &str {
        match self {
            LedgerError::Unreachable { .. } => "ledger_unreachable",
            LedgerError::Api { code, .. } => code,
            LedgerError::BadAnswer { .. } => "ledger_bad_answer",
            LedgerError::Refused(e) => e.code(),
            LedgerError::RefusedRemote { code, .. } => code,
            LedgerError::Failed { .. } => "tx_failed",
            LedgerError::Rejected { code, .. } => code,
            LedgerError::NotCommitted { .. } => "tx_not_committed",
            LedgerError::Store(_) => "ledger_storage",
            LedgerError::TokenFile { .. } => "token_file",
        }
    }

    /// Whether the same request may succeed later (the ledger was busy or away, or the
    /// transaction may still commit); a failed or refused transaction will not.
    pub fn is_retryable(&self) -> bool {
        match self {
            LedgerError::Unreachable { .. } | LedgerError::NotCommitted { .. } => true,
            LedgerError::Api { retryable, .. } | LedgerError::RefusedRemote { retryable, .. } => {
                *retryable
            }
            LedgerError::Refused(e) => e.is_retryable(),
            _ => false,
        }
    }
}
