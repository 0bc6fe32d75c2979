//! The client side of service channels (`suanli channel …`): on-chain channel operations
//! signed here, the chain's view of a channel read with the party's signed request,
//! attaching a channel to a local controller store, and [`NodePort`], the controller's
//! `ChainPort` over a node's HTTP API.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use suanli_channel_controller::store::Store;
use suanli_channel_controller::{
    ChainPort, ChainView, ChannelError, ChannelSetup, Controller, ControllerConfig, ServePolicy,
    ServiceTimeMeter,
};
use suanli_ledger::Payload;
use suanli_primitives::{ChainKind, Fen, SecretKey, SystemClock};
use suanli_trade::channel::{ChannelOp, SignedState};
use suanli_trade::records::Channel;
use suanli_trade::{PartyDid, Role, Serial};

use crate::error::{ClientError, Context};
use crate::trade::full_trade;
use crate::{COMMIT_WAIT_MS, HttpLedger, LedgerClient};

/// The DID service type of a party's channel endpoint.
pub const SERVICE_TYPE: &str = "SuanliChannel";

/// Signs `op` with `key`, commits it on the trade chain; returns the transaction id.
pub fn submit(
    client: &dyn LedgerClient,
    key: &SecretKey,
    op: &ChannelOp,
) -> Result<String, ClientError> {
    let call = op.to_call().map_err(ClientError::invalid)?;
    let wait = Duration::from_millis(COMMIT_WAIT_MS);
    let done = client
        .transact(ChainKind::Trade, key, Payload::Call(call), wait)
        .context("channel operation")?;
    Ok(done.id.to_string())
}

/// The channel of a trade as its party reads it, with the escrow and the full answer.
pub fn chain_channel(
    client: &HttpLedger,
    key: &SecretKey,
    serial: &Serial,
) -> Result<(Channel, Fen, Value), ClientError> {
    let (_, body) = full_trade(client, key, serial)?;
    let channel: Channel = serde_json::from_value(body["channel"].clone()).map_err(|_| {
        ClientError::invalid(format!(
            "trade {serial} has no channel; the consumer opens it with `suanli channel open`"
        ))
    })?;
    let escrow = Fen::new(body["escrow_fen"].as_i64().unwrap_or(0))
        .map_err(|_| ClientError::invalid("the node answered a negative escrow"))?;
    Ok((channel, escrow, body))
}

/// The `SuanliChannel` endpoint in a DID's current document.
pub fn channel_endpoint(client: &HttpLedger, did: &PartyDid) -> Result<String, ClientError> {
    let body = client.get_ok(&format!("/1.0/identifiers/{did}"))?;
    body["didDocument"]["service"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["type"] == SERVICE_TYPE)
        .and_then(|s| s["serviceEndpoint"].as_str().map(str::to_string))
        .ok_or_else(|| {
            ClientError::invalid(format!(
                "{did} names no {SERVICE_TYPE} service; its owner adds one with `suanli did update set-service --type {SERVICE_TYPE} --endpoint tcp://HOST:PORT`, or pass --peer"
            ))
        })
}

/// How a party keeps a channel it attaches.
#[derive(Debug, Clone)]
pub struct AttachRequest {
    /// The peer's endpoint (default: the consumer's DID service, for a supplier).
    pub peer: Option<String>,
    pub margin_minutes: u64,
    pub policy: ServePolicy,
}

/// Adds the channel of trade `serial` to the controller store in `data_dir`, with the
/// terms and state the chain holds; returns the role `key` has in it.
pub fn attach(
    client: &HttpLedger,
    key: &SecretKey,
    serial: &Serial,
    data_dir: &Path,
    r: AttachRequest,
) -> Result<Role, ClientError> {
    let (channel, escrow, body) = chain_channel(client, key, serial)?;
    let role = if key.public() == channel.terms.supplier_key {
        Role::Supplier
    } else if key.public() == channel.terms.consumer_key {
        Role::Consumer
    } else {
        return Err(ClientError::invalid(
            "this key is neither party's key in the channel's terms",
        ));
    };
    let peer = match (role, r.peer) {
        (Role::Supplier, None) => {
            let consumer = PartyDid::parse(body["trade"]["consumer"].as_str().unwrap_or_default())
                .map_err(|e| ClientError::invalid(format!("the trade's consumer: {e}")))?;
            Some(channel_endpoint(client, &consumer)?)
        }
        (_, peer) => peer,
    };
    let view = ChainView::of(&channel, escrow);
    let setup = ChannelSetup {
        terms: channel.terms,
        role,
        peer,
        margin_minutes: r.margin_minutes,
        escrow_fen: view.escrow_fen,
        settled_seq: view.settled_seq,
        settled_cost_fen: view.settled_cost_fen,
        paused_since_ms: None,
        paused_total_ms: 0,
        closed: !view.open && view.closing.is_none(),
        closing: view.closing.is_some(),
        stop_requested: false,
        policy: r.policy,
        consumer_bond_fen: view.consumer_bond_fen,
        challenge_window_ms: view.challenge_window_ms,
    };
    Store::open(data_dir)?.put_setups(&[setup])?;
    Ok(role)
}

/// Marks the channel closing in the store: the controller countersigns nothing more for
/// it, so a state posted now stays this party's newest.
pub fn mark_closing(data_dir: &Path, serial: &Serial) -> Result<(), ClientError> {
    let store = Store::open(data_dir)?;
    let mut setup = store
        .load()?
        .into_iter()
        .find(|s| s.setup.terms.serial == *serial)
        .map(|s| s.setup)
        .ok_or_else(|| {
            ClientError::invalid("the store does not keep this channel; attach it first")
        })?;
    setup.closing = true;
    store.put_setups(&[setup])?;
    Ok(())
}

/// The newest dual-signed state the store keeps of the channel.
pub fn store_latest(data_dir: &Path, serial: &Serial) -> Result<Option<SignedState>, ClientError> {
    Ok(Store::open(data_dir)?
        .load()?
        .into_iter()
        .find(|s| s.setup.terms.serial == *serial)
        .and_then(|s| s.latest))
}

/// The trade chain through a node's HTTP API, for the controller.
#[derive(Debug)]
pub struct NodePort {
    pub client: HttpLedger,
    pub key: SecretKey,
}

impl ChainPort for NodePort {
    fn view(&self, serial: &Serial) -> Result<ChainView, ChannelError> {
        let (channel, escrow, _) = chain_channel(&self.client, &self.key, serial)
            .map_err(|e| ChannelError::Chain(suanli_primitives::error_chain(&e)))?;
        Ok(ChainView::of(&channel, escrow))
    }

    fn submit(&self, op: &ChannelOp) -> Result<(), ChannelError> {
        submit(&self.client, &self.key, op)
            .map(|_| ())
            .map_err(|e| ChannelError::Chain(suanli_primitives::error_chain(&e)))
    }
}

/// Runs the channel controller keeping the channels in `config.data_dir`: a round every
/// `schedule.0` (meter service time, propose and countersign statements, check in and
/// close on the chain through `port`), until `schedule.1` rounds are done or Ctrl-C;
/// `say` gets a line about the listener and each round.
pub async fn run_controller(
    config: ControllerConfig,
    port: Arc<dyn ChainPort>,
    schedule: (Duration, Option<u64>),
    mut say: impl FnMut(&str),
) -> Result<(), ClientError> {
    let controller = Controller::start(config, Arc::new(SystemClock)).await?;
    if let Some(addr) = controller.local_addr() {
        say(&format!("listening for suppliers on {addr}"));
    }
    say(&format!("keeping {} channels", controller.serials().len()));
    let mut round = 0u64;
    loop {
        let report = controller.tick(&ServiceTimeMeter, port.clone()).await?;
        let errors = if report.errors.is_empty() {
            String::new()
        } else {
            format!(" errors: {}", report.errors.join("; "))
        };
        say(&format!(
            "round {round}: proposed {} paused {} finals {} submitted {}{errors}",
            report.proposed, report.paused, report.finals, report.submitted
        ));
        round += 1;
        if schedule.1.is_some_and(|max| round >= max) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(schedule.0) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    controller.shutdown().await;
    Ok(())
}
