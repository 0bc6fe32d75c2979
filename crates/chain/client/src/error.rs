//! The ledger client's errors: one enum, stable codes, the source chain kept.

use std::path::PathBuf;

use suanli_ledger::TxId;
use suanli_node::{StoreError, SubmitError};

/// Why a ledger request failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The node could not be reached (connection, TLS, timeout).
    #[error("{what}: cannot reach the node at {url}: {source}")]
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

/// Why a client-side operation of the CLI (identity, trade, channel) failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The ledger failed, refused or did not commit.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The input or the chain's state makes the operation impossible (said for people).
    #[error("{0}")]
    Invalid(String),
    /// What was being done when `source` failed.
    #[error("{context}")]
    Context {
        context: String,
        #[source]
        source: Box<ClientError>,
    },
    /// A file could not be read.
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{} is not valid JSON", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A key file could not be read.
    #[error(
        "reading key {} (create one with `suanli key generate --out {}`)",
        path.display(),
        path.display()
    )]
    KeyFile {
        path: PathBuf,
        #[source]
        source: suanli_primitives::KeyError,
    },
    /// A credential or presentation could not be made.
    #[error(transparent)]
    Vc(#[from] suanli_vc::VcError),
    /// A trade record could not be built.
    #[error(transparent)]
    Contract(#[from] suanli_ledger::contract::ContractError),
    /// The channel controller's store failed.
    #[error(transparent)]
    Channel(#[from] suanli_channel_controller::ChannelError),
}

impl ClientError {
    /// An impossible request, said for people.
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        ClientError::Invalid(message.to_string())
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &str {
        match self {
            ClientError::Ledger(e) => e.code(),
            ClientError::Invalid(_) => "invalid",
            ClientError::Context { source, .. } => source.code(),
            ClientError::Read { .. } | ClientError::Write { .. } => "io",
            ClientError::Json { .. } => "json",
            ClientError::KeyFile { .. } => "key_file",
            ClientError::Vc(_) => "credential",
            ClientError::Contract(_) => "contract",
            ClientError::Channel(_) => "channel",
        }
    }
}

/// `.context(…)` for client results: says what was being done.
pub trait Context<T> {
    fn context(self, what: impl std::fmt::Display) -> Result<T, ClientError>;
}

impl<T, E: Into<ClientError>> Context<T> for Result<T, E> {
    fn context(self, what: impl std::fmt::Display) -> Result<T, ClientError> {
        self.map_err(|e| ClientError::Context {
            context: what.to_string(),
            source: Box::new(e.into()),
        })
    }
}

/// `ensure!` for client operations: an [`ClientError::Invalid`] unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::error::ClientError::Invalid(format!($($fmt)+)));
        }
    };
}
pub(crate) use ensure;

#[cfg(test)]
mod tests {
    use super::LedgerError;

    #[test]
    fn an_unreachable_node_says_why() {
        let e = LedgerError::Unreachable {
            what: "send".into(),
            url: "http://node".into(),
            source: Box::new(ureq::Error::HostNotFound),
        };
        assert_eq!(
            e.to_string(),
            "send: cannot reach the node at http://node: host not found"
        );
        // Joined with its sources, the cause is not said twice.
        assert_eq!(suanli_primitives::error_chain(&e), e.to_string());
    }
}
