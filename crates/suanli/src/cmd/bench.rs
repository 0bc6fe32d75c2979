//! `suanli bench …`: benchmarks are commands that print figures, each with a baseline
//! measured in the same run (the machines are shared and noisy).

use clap::{Args, Subcommand};
use suanli_bench as bench;

/// `suanli bench ledger`: the benchmark's arguments and the node's tuning flags.
#[derive(Debug, Args)]
pub struct LedgerBench {
    #[command(flatten)]
    pub args: bench::ledger::LedgerBenchArgs,
    #[command(flatten)]
    pub tuning: super::node::Tuning,
}

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Committed credit transfers per second vs this machine's Ed25519 verify rate.
    Ledger(LedgerBench),
    /// Continuous matching: orders/s and p99 latency, with and without incentive scoring.
    Market(bench::market::MarketBenchArgs),
    /// Sinkhorn optimal transport at n = 1000 and 5000 vs the textbook Sinkhorn.
    Ot(bench::market::OtBenchArgs),
    /// Credentials verified per second (every check, chain-backed) vs raw Ed25519 verifies.
    Vc(bench::vc::VcBenchArgs),
    /// Whole trades through a node: orders, contracts, check-ins per second vs raw
    /// credential checks.
    Trade(bench::trade::TradeBenchArgs),
    /// Platform HTTP API: orders/s and p99 latency vs a trivial authenticated GET.
    Api(bench::api::ApiBenchArgs),
    /// Service channels: dual-signed, durably stored updates/s and p99 latency between
    /// two controllers over loopback vs raw (2 signs + 2 verifies).
    Channel(bench::channel::ChannelBenchArgs),
    /// Web pages: p50/p95 per page on a demo dataset (10,000 orders by default) vs
    /// `GET /api/v1/health`.
    Web(bench::web::WebBenchArgs),
    /// CP-ABE (FAME): encrypt and decrypt under a 10-attribute policy vs one pairing.
    Abe(AbeBench),
    /// Market searches over HTTP on 100,000 listed offers: searches/s and p99 vs the
    /// market core's in-memory query on the same data.
    MarketApi(bench::market_api::MarketApiBenchArgs),
    /// The exchange (issue 18): pre-signed orders through the HTTP API that become
    /// committed chain trades (order + contract), trades/s and p99 vs `bench trade`'s raw
    /// chain rate.
    Exchange(bench::exchange::ExchangeBenchArgs),
}

/// `suanli bench abe`.
#[derive(Debug, Args)]
pub struct AbeBench {
    /// Print one JSON object (encrypt_ms, decrypt_ms, pairing_ms, ratios).
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Ledger(a) => bench::ledger::run(a.args, a.tuning.mempool()?),
        BenchCmd::Market(args) => bench::market::market(args),
        BenchCmd::Ot(args) => bench::market::ot(args),
        BenchCmd::Api(args) => bench::api::run(args),
        BenchCmd::Vc(args) => bench::vc::run(args),
        BenchCmd::Trade(args) => bench::trade::run(args),
        BenchCmd::Channel(args) => bench::channel::run(args),
        BenchCmd::Web(args) => bench::web::run(args),
        BenchCmd::Abe(a) => Ok(suanli_abe_bench::run(a.json)?),
        BenchCmd::MarketApi(args) => bench::market_api::run(args),
        BenchCmd::Exchange(args) => bench::exchange::run(args),
    }
}
