//! `suanli bench …`: benchmarks are commands that print figures, each with a baseline
//! measured in the same run (the machines are shared and noisy).

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Committed credit transfers per second vs this machine's Ed25519 verify rate.
    Ledger(super::bench_ledger::LedgerBenchArgs),
}

pub fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Ledger(args) => super::bench_ledger::run(args),
    }
}
