//! `suanli-agent`: the supplier agent, the process a data centre runs next to its
//! resources (`suanli agent --config FILE`, `docs/supply.md` §3).
//!
//! Each round ([`Agent::tick`]) it reads its supplier's trades from the trade chain, and
//! for each one:
//! - **ordered**: decides by its [`policy::Policy`] — within the automatic limits it
//!   accepts (countersigns the contract and issues the trade-start credential, signed by
//!   the agent's key); otherwise it leaves the order to the supplier (a work order
//!   awaiting approval on the platform) and accepts once the supplier approved it, or
//!   declines on the chain (`supplier_fault` before the contract) once the supplier
//!   declined it;
//! - **active**: provisions through its [`provision::Provisioner`] (this crate's:
//!   [`provision::ManualWorkOrders`], a provisioning work order the supplier fills back
//!   on the platform); once provisioned it checks in every whole period at the mode's
//!   price, and closes the trade (`completed`) at the end of its term — unless the order
//!   delegated the consumer's side of the trade's service channel: then, once the
//!   consumer's side opened the channel, the agent runs the supplier's side with the
//!   channel controller ([`channels`]: a statement per minute of service, a check-in per
//!   period, pause and resume on low funds, the cooperative close at the end or on the
//!   consumer's stop request);
//! - **closed**: releases what was provisioned (closes the work order) and remembers the
//!   trade as done in its store ([`store::DoneStore`], redb), the one thing it keeps.
//!
//! Everything else is re-derived after a crash: acceptance and check-ins from the chain
//! (a check-in always starts where the chain's last one ended), work orders from the
//! platform (raising one again answers the same one). The channels keep their own
//! durable store (the controller's: a state is acknowledged only once committed). Time
//! comes from an injected [`suanli_primitives::Clock`].
//!
//! Start reading at [`Agent`], then [`chain`], [`provision`] and [`channels`].

pub mod agent;
pub mod chain;
pub mod channels;
pub mod config;
pub mod platform;
pub mod policy;
pub mod provision;
pub mod store;

pub use agent::{Agent, Round};

/// Why an agent operation failed. Each has a stable [`code`](AgentError::code).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The configuration file is unreadable or wrong (the message names the field).
    #[error("configuration: {0}")]
    Config(String),
    /// A key or token file could not be read.
    #[error("{what} {path}: {source}")]
    File {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The key file is not an Ed25519 PKCS#8 key.
    #[error(transparent)]
    Key(#[from] suanli_primitives::KeyError),
    /// The ledger refused or could not be reached.
    #[error(transparent)]
    Ledger(#[from] suanli_ledger_client::LedgerError),
    /// A client-side trade operation failed (the chain refused it, or it or its
    /// credential could not be built).
    #[error(transparent)]
    Client(#[from] suanli_ledger_client::ClientError),
    /// The platform answered an error (its code and message) or could not be reached.
    #[error("platform: {code}: {message}")]
    Platform {
        /// The platform's stable error code (`unreachable` when there was no answer).
        code: String,
        /// Its message.
        message: String,
    },
    /// The agent's store failed.
    #[error("store: {0}")]
    Store(#[from] redb::Error),
    /// A service channel operation failed (the controller's store, the link to the
    /// consumer's side, or the chain through the controller's port).
    #[error(transparent)]
    Channel(#[from] suanli_channel_controller::ChannelError),
    /// The runtime the channel controller runs on could not start.
    #[error("channel runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl AgentError {
    /// Stable code.
    pub fn code(&self) -> &str {
        match self {
            AgentError::Config(_) => "config",
            AgentError::File { .. } => "file",
            AgentError::Key(_) => "key",
            AgentError::Ledger(_) => "ledger",
            AgentError::Client(_) => "chain",
            AgentError::Platform { code, .. } => code,
            AgentError::Store(_) => "store",
            AgentError::Channel(_) => "channel",
            AgentError::Runtime(_) => "runtime",
        }
    }
}
