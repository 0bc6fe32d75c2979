//! One module per subcommand group.

pub mod audit_anchor;
pub mod bench;
pub mod bench_api;
pub mod bench_channel;
pub mod bench_ledger;
pub mod bench_market;
pub mod bench_trade;
pub mod bench_vc;
pub mod chain;
pub mod channel;
pub mod demo;
pub mod demo_channel;
pub mod demo_identity;
pub mod demo_market;
pub mod demo_platform;
pub mod demo_trade;
pub mod did_registry;
pub mod identity;
pub mod key;
pub mod node;
pub mod node_client;
pub mod ops;
pub mod sched;
pub mod serve;
pub mod trade;
pub mod web;

/// Structured logs to stderr; `RUST_LOG` filters (default `info`), `SUANLI_LOG_FORMAT=json`
/// switches to JSON lines.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
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
