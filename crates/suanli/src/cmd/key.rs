//! `suanli key …`: create and inspect Ed25519 key files (PKCS#8 PEM, mode 0600).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use suanli_primitives::SecretKey;

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Create a new key file (refuses to overwrite) and print its public key.
    Generate {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key of a key file.
    Show {
        #[arg(long)]
        key: PathBuf,
    },
}

pub fn run(cmd: KeyCmd) -> anyhow::Result<()> {
    match cmd {
        KeyCmd::Generate { out } => {
            let key = SecretKey::generate()?;
            key.save(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("{}", key.public());
        }
        KeyCmd::Show { key } => {
            println!("{}", SecretKey::load(&key)?.public());
        }
    }
    Ok(())
}
