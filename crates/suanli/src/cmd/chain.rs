//! `suanli chain verify|export`: offline tools over a node's data directory.

use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use suanli_node::ChainStore;
use suanli_node::verify::{export, verify_all_with};

#[derive(Debug, Subcommand)]
pub enum ChainCmd {
    /// Check every signature, link, Merkle root and state commitment; exit non-zero naming
    /// the first bad block. Run it on a stopped node's data directory.
    Verify {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Write both chains in the export format of docs/ledger-format.md.
    Export {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

fn open_store(data: &std::path::Path) -> anyhow::Result<ChainStore> {
    let path = data.join("chain.redb");
    anyhow::ensure!(
        path.exists(),
        "no chain store at {} (is --data a node data directory?)",
        path.display()
    );
    ChainStore::open(&path).with_context(|| format!("opening {}", path.display()))
}

pub fn run(cmd: ChainCmd) -> anyhow::Result<()> {
    match cmd {
        ChainCmd::Verify { data, json } => {
            let store = open_store(&data)?;
            let reports = verify_all_with(
                &store,
                &suanli_ledger_client::embedded::network_contracts(),
                &suanli_ledger_client::embedded::network_admission(),
            )
            .context("chain verification FAILED")?;
            if json {
                println!("{}", serde_json::to_string(&reports)?);
            } else {
                for r in reports {
                    println!(
                        "{} chain: sound — {} blocks after genesis, {} transactions, head {}",
                        r.chain, r.height, r.transactions, r.head_hash
                    );
                }
            }
            Ok(())
        }
        ChainCmd::Export { data, out } => {
            let store = open_store(&data)?;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("creating {} (it must not exist yet)", out.display()))?;
            let mut writer = BufWriter::new(file);
            let blocks = export(&store, &mut writer)?;
            println!("exported {blocks} blocks to {}", out.display());
            Ok(())
        }
    }
}
