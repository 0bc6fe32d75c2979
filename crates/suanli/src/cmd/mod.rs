//! One module per subcommand group, and what they share: the `--node` target of the
//! commands that talk to a ledger node over its HTTP API.

use std::path::PathBuf;

use clap::Args;
use suanli_ledger_client::HttpLedger;

pub mod agent;
pub mod bench;
pub mod chain;
pub mod channel;
pub mod demo;
pub mod identity;
pub mod key;
pub mod node;
pub mod ops;
pub mod sched;
pub mod serve;
// --- supply (issue 16, supply helper)
pub mod supplier;
pub mod trade;
pub mod web;

/// Structured logs to stderr; `RUST_LOG` filters (default `default_level`: `info`, `warn` for the demo), `SUANLI_LOG_FORMAT=json`
/// switches to JSON lines.
pub fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    use std::io::IsTerminal;
    // Colour only on a terminal: log files and pipes get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if std::env::var("SUANLI_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The ledger node a command talks to.
#[derive(Debug, Clone, Args)]
pub struct NodeTarget {
    /// Base URL of the node's HTTP API.
    #[arg(long, env = "SUANLI_NODE", default_value = "http://127.0.0.1:7410")]
    pub node: String,
    /// File holding a member token for nodes that require one.
    #[arg(long, env = "SUANLI_NODE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

impl NodeTarget {
    /// A client of the node.
    pub fn client(&self) -> anyhow::Result<HttpLedger> {
        Ok(HttpLedger::with_token_file(
            &self.node,
            self.token_file.as_deref(),
        )?)
    }
}
