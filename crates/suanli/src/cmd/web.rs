//! `suanli web …`: the web consoles' screenshot command (on a fresh demo instance; see
//! `suanli_webtest::shots`).

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum WebCmd {
    /// Regenerates the screenshots of the main pages with headless Chromium (needs
    /// chromium + chromedriver: scripts/ensure-chromium.sh).
    Screenshots(ShotsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ShotsArgs {
    /// Output directory.
    #[arg(long, default_value = "docs/screenshots")]
    pub out: PathBuf,
}

pub fn run(cmd: WebCmd) -> anyhow::Result<()> {
    match cmd {
        WebCmd::Screenshots(a) => {
            let files = suanli_webtest::shots::run(&a.out)?;
            for f in &files {
                println!("{}", a.out.join(f).display());
            }
            println!("{} screenshots written", files.len());
            Ok(())
        }
    }
}
