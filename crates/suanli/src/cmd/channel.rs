//! `suanli channel …`: service channels from the command line. The on-chain operations
//! (open, bond, top-up, force close, challenge, settle) are signed here with the party's
//! key file and posted to a node; `attach` adds a channel to a local controller store
//! (terms read from the chain with a signed read request, the consumer's endpoint from its
//! DID document's `SuanliChannel` service); `run` is the long-running controller: it
//! listens for suppliers (consumer's side), meters service time, proposes and countersigns
//! statements, checks in and closes on the chain (`docs/channel-protocol.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};
use suanli_channel_controller::{
    ChainPort, ChainView, ChannelError, ChannelSetup, Controller, ControllerConfig, ServePolicy,
    ServiceTimeMeter,
};
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, Fen, PositiveFen, SecretKey, SystemClock};
use suanli_trade::Serial;
use suanli_trade::channel::ChannelOp;
use suanli_trade::records::Channel;
use suanli_trade::{PartyDid, Role};

use super::identity::load_key;
use super::node_client::{NodeClient, NodeTarget};
use super::trade::{ReasonArg, full_trade, serial};

/// The DID service type of a party's channel endpoint.
pub const SERVICE_TYPE: &str = "SuanliChannel";
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

fn submit(client: &NodeClient, key: &SecretKey, op: &ChannelOp) -> anyhow::Result<String> {
    let call = op.to_call()?;
    client
        .transact(ChainKind::Trade, key, Payload::Call(call))
        .context("channel operation")
}

/// The channel of a trade as its party reads it, with the escrow.
fn chain_channel(
    client: &NodeClient,
    key: &SecretKey,
    serial: &Serial,
) -> anyhow::Result<(Channel, Fen, Value)> {
    let (_, body) = full_trade(client, key, serial)?;
    let channel: Channel = serde_json::from_value(body["channel"].clone()).with_context(|| {
        format!("trade {serial} has no channel; the consumer opens it with `suanli channel open`")
    })?;
    let escrow = Fen::new(body["escrow_fen"].as_i64().unwrap_or(0))
        .context("the node answered a negative escrow")?;
    Ok((channel, escrow, body))
}

/// The `SuanliChannel` endpoint in a DID's current document.
fn channel_endpoint(client: &NodeClient, did: &PartyDid) -> anyhow::Result<String> {
    let body = client.get_ok(&format!("/1.0/identifiers/{did}"))?;
    let services = body["didDocument"]["service"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    services
        .iter()
        .find(|s| s["type"] == SERVICE_TYPE)
        .and_then(|s| s["serviceEndpoint"].as_str().map(str::to_string))
        .with_context(|| {
            format!(
                "{did} names no {SERVICE_TYPE} service; its owner adds one with `suanli did update set-service --type {SERVICE_TYPE} --endpoint tcp://HOST:PORT`, or pass --peer"
            )
        })
}

fn mark_closing(data_dir: &std::path::Path, serial: &Serial) -> anyhow::Result<()> {
    let store = suanli_channel_controller::store::Store::open(data_dir)?;
    let mut setup = store
        .load()?
        .into_iter()
        .find(|s| s.setup.terms.serial == *serial)
        .map(|s| s.setup)
        .context("the store does not keep this channel; attach it first")?;
    setup.closing = true;
    store.put_setups(&[setup])?;
    Ok(())
}

fn store_latest(
    data_dir: &std::path::Path,
    serial: &Serial,
) -> anyhow::Result<Option<suanli_trade::channel::SignedState>> {
    let store = suanli_channel_controller::store::Store::open(data_dir)?;
    Ok(store
        .load()?
        .into_iter()
        .find(|s| s.setup.terms.serial == *serial)
        .and_then(|s| s.latest))
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
            let (client, key, serial) = (NodeClient::new(&node)?, load_key(&key)?, serial(&s)?);
            let op = ChannelOp::Open {
                serial,
                deposit_fen: Fen::new(deposit_fen).context("--deposit-fen")?,
                bond_fen: Fen::new(bond_fen).context("--bond-fen")?,
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
            let (client, key, serial) = (NodeClient::new(&node)?, load_key(&key)?, serial(&s)?);
            let amount = PositiveFen::new(amount_fen).context("--amount-fen")?;
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
            let (client, key, serial) = (NodeClient::new(&node)?, load_key(&key)?, serial(&s)?);
            let amount = PositiveFen::new(amount_fen).context("--amount-fen")?;
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
            let (client, key, serial) = (NodeClient::new(&node)?, load_key(&key)?, serial(&s)?);
            let (channel, escrow, body) = chain_channel(&client, &key, &serial)?;
            let role = if key.public() == channel.terms.supplier_key {
                Role::Supplier
            } else if key.public() == channel.terms.consumer_key {
                Role::Consumer
            } else {
                anyhow::bail!("this key is neither party's key in the channel's terms");
            };
            let peer = match (role, peer) {
                (Role::Supplier, None) => {
                    let consumer =
                        PartyDid::parse(body["trade"]["consumer"].as_str().unwrap_or_default())
                            .map_err(|e| anyhow::anyhow!("the trade's consumer: {e}"))?;
                    Some(channel_endpoint(&client, &consumer)?)
                }
                (_, peer) => peer,
            };
            let view = ChainView::of(&channel, escrow);
            let setup = ChannelSetup {
                terms: channel.terms,
                role,
                peer,
                margin_minutes,
                escrow_fen: view.escrow_fen,
                settled_seq: view.settled_seq,
                settled_cost_fen: view.settled_cost_fen,
                paused_since_ms: None,
                paused_total_ms: 0,
                closed: !view.open && view.closing.is_none(),
                closing: view.closing.is_some(),
                stop_requested: false,
                policy: ServePolicy {
                    consumer_bond_min_fen: Fen::new(consumer_bond_min_fen)
                        .context("--consumer-bond-min-fen")?,
                    challenge_window_min_ms,
                },
                consumer_bond_fen: view.consumer_bond_fen,
                challenge_window_ms: view.challenge_window_ms,
            };
            let store = suanli_channel_controller::store::Store::open(&data_dir)?;
            store.put_setups(&[setup])?;
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
                client: NodeClient::new(&node)?,
                key: key.clone(),
            });
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("tokio runtime")?;
            runtime.block_on(run_controller(
                key,
                data_dir,
                listen,
                interval_ms,
                rounds,
                port,
            ))?;
        }
        ChannelCmd::Show {
            key,
            serial: s,
            data_dir,
            node,
        } => {
            let (client, key, serial) = (NodeClient::new(&node)?, load_key(&key)?, serial(&s)?);
            let (channel, escrow, _) = chain_channel(&client, &key, &serial)?;
            let latest = match data_dir {
                Some(dir) => store_latest(&dir, &serial)?,
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
            let (client, key, serial) = (NodeClient::new(&node)?, load_key(&key)?, serial(&s)?);
            let (channel, _, _) = chain_channel(&client, &key, &serial)?;
            let state =
                store_latest(&data_dir, &serial)?.filter(|l| l.statement.seq > channel.settled.seq);
            anyhow::ensure!(
                state.is_none_or(|l| l.statement.close.is_none()),
                "the latest state is final (agreed close reason): post it with the controller's cooperative close (`suanli channel run`), not a unilateral one"
            );
            // Marked closing in the store first: the controller countersigns nothing more
            // for this channel, so the state posted stays this party's newest.
            mark_closing(&data_dir, &serial)?;
            let tx = submit(
                &client,
                &key,
                &ChannelOp::ForceClose {
                    serial,
                    state,
                    reason: reason.into(),
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
            let (client, key, serial) = (NodeClient::new(&node)?, load_key(&key)?, serial(&s)?);
            let state = store_latest(&data_dir, &serial)?
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
            let (client, key, serial) = (NodeClient::new(&node)?, load_key(&key)?, serial(&s)?);
            let tx = submit(&client, &key, &ChannelOp::Settle { serial })?;
            println!("channel {serial} settled (tx {tx})");
        }
    }
    Ok(())
}

async fn run_controller(
    key: SecretKey,
    data_dir: PathBuf,
    listen: Option<SocketAddr>,
    interval_ms: u64,
    rounds: Option<u64>,
    port: Arc<dyn ChainPort>,
) -> anyhow::Result<()> {
    let controller = Controller::start(
        ControllerConfig {
            key,
            data_dir,
            listen,
            skew_ms: 60_000,
        },
        Arc::new(SystemClock),
    )
    .await?;
    if let Some(addr) = controller.local_addr() {
        println!("listening for suppliers on {addr}");
    }
    println!("keeping {} channels", controller.serials().len());
    let mut round = 0u64;
    loop {
        let report = controller.tick(&ServiceTimeMeter, port.clone()).await?;
        println!(
            "round {round}: proposed {} paused {} finals {} submitted {}{}",
            report.proposed,
            report.paused,
            report.finals,
            report.submitted,
            if report.errors.is_empty() {
                String::new()
            } else {
                format!(" errors: {}", report.errors.join("; "))
            }
        );
        round += 1;
        if rounds.is_some_and(|max| round >= max) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(interval_ms)) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    controller.shutdown().await;
    Ok(())
}

/// The trade chain through a node's HTTP API, for the controller.
#[derive(Debug)]
struct NodePort {
    client: NodeClient,
    key: SecretKey,
}

impl ChainPort for NodePort {
    fn view(&self, serial: &Serial) -> Result<ChainView, ChannelError> {
        let (channel, escrow, _) = chain_channel(&self.client, &self.key, serial)
            .map_err(|e| ChannelError::Chain(format!("{e:#}")))?;
        Ok(ChainView::of(&channel, escrow))
    }

    fn submit(&self, op: &ChannelOp) -> Result<(), ChannelError> {
        submit(&self.client, &self.key, op)
            .map(|_| ())
            .map_err(|e| ChannelError::Chain(format!("{e:#}")))
    }
}
