//! `suanli demo` (also what `suanli` runs with no arguments): the walk-through of
//! `suanli-demo` on a fresh data directory, then serving until Ctrl-C unless `--exit`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Default, Args)]
pub struct DemoArgs {
    /// Data directory for the demo (default: a new temporary directory).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Finish after the walk-through instead of serving until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
    /// Walk the parts one by one (ledger, identity, trade, channel, platform, market)
    /// instead of the one story.
    #[arg(long)]
    pub tour: bool,
}

pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    let args = suanli_demo::DemoArgs {
        data: a.data,
        exit: a.exit,
        tour: a.tour,
    };
    suanli_demo::run(args, super::node::shutdown_signal())
}
