//! `suanli bench …`: benchmarks are commands that print figures, each with a baseline
//! measured in the same run (the machines are shared and noisy).

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Committed credit transfers per second vs this machine's Ed25519 verify rate.
    Ledger(super::bench_ledger::LedgerBenchArgs),
    /// Continuous matching: orders/s and p99 latency, with and without incentive scoring.
    Market(super::bench_market::MarketBenchArgs),
    /// Sinkhorn optimal transport at n = 1000 and 5000 vs the textbook Sinkhorn.
    Ot(super::bench_market::OtBenchArgs),
    /// Credentials verified per second (every check, chain-backed) vs raw Ed25519 verifies.
    Vc(super::bench_vc::VcBenchArgs),
    /// Whole trades through a node: orders, contracts, check-ins per second vs raw
    /// credential checks.
    Trade(super::bench_trade::TradeBenchArgs),
    /// Platform HTTP API: orders/s and p99 latency vs a trivial authenticated GET.
    Api(super::bench_api::ApiBenchArgs),
    /// Service channels: dual-signed, durably stored updates/s and p99 latency between
    /// two controllers over loopback vs raw (2 signs + 2 verifies).
    Channel(super::bench_channel::ChannelBenchArgs),
    /// Web pages: p50/p95 per page on a demo dataset (10,000 orders by default) vs
    /// `GET /api/v1/health`.
    Web(super::web::WebBenchArgs),
}

pub fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Ledger(args) => super::bench_ledger::run(args),
        BenchCmd::Market(args) => super::bench_market::market(args),
        BenchCmd::Ot(args) => super::bench_market::ot(args),
        BenchCmd::Api(args) => super::bench_api::run(args),
        BenchCmd::Vc(args) => super::bench_vc::run(args),
        BenchCmd::Trade(args) => super::bench_trade::run(args),
        BenchCmd::Channel(args) => super::bench_channel::run(args),
        BenchCmd::Web(args) => super::web::bench(args),
    }
}
