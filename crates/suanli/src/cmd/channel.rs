//! `suanli channel …`: service channels from the command line. The on-chain operations
//! (open, bond, top-up, force close, challenge, settle) are signed here with the party's
//! key file and posted to a node; `attach` adds a channel to a local controller store
//! (terms read from the chain with a signed read request, the consumer's endpoint from its
//! DID document's `SuanliChannel` service); `run` is the long-running controller: it
//! listens for suppliers (consumer's side), meters service time, proposes and countersigns
//! statements, checks in and closes on the chain (`docs/channel-protocol.md`).
//! `suanli_ledger_client::channel` does the chain side; this module parses and prints.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use suanli_channel_controller::{ChainPort, ControllerConfig, ServePolicy};
use suanli_ledger_client::channel::{self as ch, AttachRequest, NodePort, chain_channel, submit};
use suanli_ledger_client::trade::serial;
use suanli_ledger_client::wallet::load_key;
use suanli_primitives::{Fen, PositiveFen};
use suanli_trade::channel::ChannelOp;

use super::NodeTarget;
use super::trade::ReasonArg;

/// Default challenge window of a new channel, in ms (one hour).
const WINDOW_MS_DEFAULT: u64 = 60 * 60 * 1_000;
/// Shortest schedule interval of `channel run`, in ms.
const INTERVAL_MS_MIN: u64 = 100;

#[derive(Debug, Subcommand)]
pub enum ChannelCmd {
    /// Consumer: open the channel of a contracted trade.
    Open {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        /// Added to the trade's escrow, in fen.
        #[arg(long, default_value_t = 0)]
        deposit_fen: i64,
        /// The consumer's bond, forfeited to the supplier if it posts a stale state.
        #[arg(long, default_value_t = 0)]
        bond_fen: i64,
        #[arg(long, default_value_t = WINDOW_MS_DEFAULT)]
        challenge_window_ms: u64,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Supplier: post (add to) its bond.
    Bond {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        amount_fen: i64,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Consumer: add to the escrow (resumes a paused channel).
    TopUp {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        amount_fen: i64,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Add a channel to a controller's store (terms from the chain).
    Attach {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        data_dir: PathBuf,
        /// The consumer's endpoint (supplier's side); default: the `SuanliChannel`
        /// service of the consumer's DID document.
        #[arg(long)]
        peer: Option<String>,
        /// Pause when the escrow left covers fewer minutes than this.
        #[arg(long, default_value_t = 10)]
        margin_minutes: u64,
        /// Supplier's side: serve only if the consumer's bond is at least this, in fen.
        #[arg(long, default_value_t = 0)]
        consumer_bond_min_fen: i64,
        /// Supplier's side: serve only if the challenge window is at least this, in ms.
        #[arg(long, default_value_t = 0)]
        challenge_window_min_ms: u64,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Run the controller: keeps every channel in the store.
    Run {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        data_dir: PathBuf,
        /// Where to listen for suppliers (consumer's side).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Time between rounds of metering and check-ins, in ms.
        #[arg(long, default_value_t = 60_000)]
        interval_ms: u64,
        /// Stop after this many rounds (default: run until interrupted).
        #[arg(long)]
        rounds: Option<u64>,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Show a channel: the chain's view (for its parties) and the store's latest state.
    Show {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Close unilaterally with the store's latest state; the challenge window opens.
    ForceClose {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, value_enum)]
        reason: ReasonArg,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Post the store's latest state against a unilateral close (inside the window).
    Challenge {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        data_dir: PathBuf,
        #[command(flatten)]
        node: NodeTarget,
    },
    /// Settle a unilateral close after its window.
    Settle {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        serial: String,
        #[command(flatten)]
        node: NodeTarget,
    },
}

pub fn run(cmd: ChannelCmd) -> anyhow::Result<()> {
    match cmd {
        ChannelCmd::Open {
            key,
            serial: s,
            deposit_fen,
            bond_fen,
            challenge_window_ms,
            node,
        } => {
            let (client, key, serial) = (node.client()?, load_key(&key)?, serial(&s)?);
            let op = ChannelOp::Open {
                serial,
                deposit_fen: Fen::new(deposit_fen).context("--deposit-fen must not be negative")?,
                bond_fen: Fen::new(bond_fen).context("--bond-fen must not be negative")?,
                challenge_window_ms,
            };
            op.check().map_err(|e| anyhow::anyhow!("{e}"))?;
            let tx = submit(&client, &key, &op)?;
            println!("channel of trade {serial} opened (tx {tx})");
        }
        ChannelCmd::Bond {
            key,
            serial: s,
            amount_fen,
            node,
        } => {
            let (client, key, serial) = (node.client()?, load_key(&key)?, serial(&s)?);
            let amount = PositiveFen::new(amount_fen).context("--amount-fen must be positive")?;
            let op = ChannelOp::Bond {
                serial,
                amount_fen: amount,
            };
            let tx = submit(&client, &key, &op)?;
            println!("bond of {amount_fen} fen posted (tx {tx})");
        }
        ChannelCmd::TopUp {
            key,
            serial: s,
            amount_fen,
            node,
        } => {
            let (client, key, serial) = (node.client()?, load_key(&key)?, serial(&s)?);
            let amount = PositiveFen::new(amount_fen).context("--amount-fen must be positive")?;
            let op = ChannelOp::TopUp {
                serial,
                amount_fen: amount,
            };
            let tx = submit(&client, &key, &op)?;
            println!("escrow topped up by {amount_fen} fen (tx {tx})");
        }
        ChannelCmd::Attach {
            key,
            serial: s,
            data_dir,
            peer,
            margin_minutes,
            consumer_bond_min_fen,
            challenge_window_min_ms,
            node,
        } => {
            let (client, key, serial) = (node.client()?, load_key(&key)?, serial(&s)?);
            let request = AttachRequest {
                peer,
                margin_minutes,
                policy: ServePolicy {
                    consumer_bond_min_fen: Fen::new(consumer_bond_min_fen)
                        .context("--consumer-bond-min-fen must not be negative")?,
                    challenge_window_min_ms,
                },
            };
            let role = ch::attach(&client, &key, &serial, &data_dir, request)?;
            println!(
                "channel {serial} attached as {} in {}",
                role.as_str(),
                data_dir.display()
            );
        }
        ChannelCmd::Run {
            key,
            data_dir,
            listen,
            interval_ms,
            rounds,
            node,
        } => {
            anyhow::ensure!(
                interval_ms >= INTERVAL_MS_MIN,
                "--interval-ms must be at least {INTERVAL_MS_MIN}"
            );
            let key = load_key(&key)?;
            let port: Arc<dyn ChainPort> = Arc::new(NodePort {
                client: node.client()?,
                key: key.clone(),
            });
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("tokio runtime")?;
            let config = ControllerConfig {
                key,
                data_dir,
                listen,
                skew_ms: 60_000,
            };
            let schedule = (Duration::from_millis(interval_ms), rounds);
            runtime.block_on(ch::run_controller(config, port, schedule, |line| {
                println!("{line}")
            }))?;
        }
        ChannelCmd::Show {
            key,
            serial: s,
            data_dir,
            node,
        } => {
            let (client, key, serial) = (node.client()?, load_key(&key)?, serial(&s)?);
            let (channel, escrow, _) = chain_channel(&client, &key, &serial)?;
            let latest = match data_dir {
                Some(dir) => ch::store_latest(&dir, &serial)?,
                None => None,
            };
            let out = json!({"chain": channel, "escrow_fen": escrow, "store_latest": latest});
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        ChannelCmd::ForceClose {
            key,
            serial: s,
            data_dir,
            reason,
            node,
        } => {
            let (client, key, serial) = (node.client()?, load_key(&key)?, serial(&s)?);
            let (channel, _, _) = chain_channel(&client, &key, &serial)?;
            let state = ch::store_latest(&data_dir, &serial)?
                .filter(|l| l.statement.seq > channel.settled.seq);
            anyhow::ensure!(
                state.is_none_or(|l| l.statement.close.is_none()),
                "the latest state is final (agreed close reason): post it with the controller's cooperative close (`suanli channel run`), not a unilateral one"
            );
            // Marked closing in the store first: the controller countersigns nothing more
            // for this channel, so the state posted stays this party's newest.
            ch::mark_closing(&data_dir, &serial)?;
            let reason = reason.into();
            let tx = submit(
                &client,
                &key,
                &ChannelOp::ForceClose {
                    serial,
                    state,
                    reason,
                },
            )?;
            println!(
                "channel {serial} closing with state {} (tx {tx}); settle after the {} ms window",
                state.map_or(channel.settled.seq, |s| s.statement.seq),
                channel.challenge_window_ms
            );
        }
        ChannelCmd::Challenge {
            key,
            serial: s,
            data_dir,
            node,
        } => {
            let (client, key, serial) = (node.client()?, load_key(&key)?, serial(&s)?);
            let state = ch::store_latest(&data_dir, &serial)?
                .context("the store holds no state of this channel")?;
            let tx = submit(&client, &key, &ChannelOp::Challenge { serial, state })?;
            println!(
                "state {} posted against the close (tx {tx})",
                state.statement.seq
            );
        }
        ChannelCmd::Settle {
            key,
            serial: s,
            node,
        } => {
            let (client, key, serial) = (node.client()?, load_key(&key)?, serial(&s)?);
            let tx = submit(&client, &key, &ChannelOp::Settle { serial })?;
            println!("channel {serial} settled (tx {tx})");
        }
    }
    Ok(())
}
