//! The demo's service channel: a contracted trade metered off the chain by two channel
//! controllers talking over loopback TCP, with check-ins, a low-funds pause and a top-up,
//! a stop requested by the consumer and a cooperative close — every on-chain step on the
//! demo node, every off-chain state signed by both parties and stored before it is
//! acknowledged. The node and both controllers run on the demo's fast-forwarding clock.

use std::sync::Arc;

use anyhow::Context;
use suanli_channel_controller::{
    ChainPort, ChainView, ChannelError, ChannelSetup, Controller, ControllerConfig, ServePolicy,
    ServiceTimeMeter, TickReport,
};
use suanli_ledger::Payload;
use suanli_ledger::credit::{CreditOp, PositiveFen};
use suanli_node::Node;
use suanli_primitives::{ChainKind, Clock, Fen, SecretKey};
use suanli_trade::channel::ChannelOp;
use suanli_trade::model::{Encryption, MINUTE_MS, ModeTerms, Resource, Weights};
use suanli_trade::records::bond_account;
use suanli_trade::{Role, Serial, view};

use crate::trade::{DemoClock, balance, contract_trade, party, show_money};

/// The trade chain of the demo node, for the controllers: views read the node's state,
/// operations are signed with the party's key and committed (printing where they landed).
#[derive(Debug)]
struct EmbeddedPort {
    node: Arc<Node>,
    key: SecretKey,
    who: &'static str,
}

impl ChainPort for EmbeddedPort {
    fn view(&self, serial: &Serial) -> Result<ChainView, ChannelError> {
        let (channel, escrow) = self.node.with_state(ChainKind::Trade, |s| {
            (view::channel(s, serial), view::escrow_fen(s, serial))
        });
        let channel = channel.ok_or(ChannelError::UnknownChannel(*serial))?;
        Ok(ChainView::of(&channel, escrow))
    }

    fn submit(&self, op: &ChannelOp) -> Result<(), ChannelError> {
        let call = op
            .to_call()
            .map_err(|e| ChannelError::Chain(e.to_string()))?;
        let name = match op {
            ChannelOp::Checkin { .. } => "check-in",
            ChannelOp::CoopClose { .. } => "coop close",
            ChannelOp::Challenge { .. } => "challenge",
            ChannelOp::Settle { .. } => "settle",
            _ => "channel op",
        };
        crate::act(
            &self.node,
            ChainKind::Trade,
            &self.key,
            Payload::Call(call),
            &format!("{name} ({})", self.who),
        )
        .map_err(|e| ChannelError::Chain(format!("{e:#}")))
    }
}

fn channel_tx(node: &Node, key: &SecretKey, op: &ChannelOp, name: &str) -> anyhow::Result<()> {
    crate::act(
        node,
        ChainKind::Trade,
        key,
        Payload::Call(op.to_call()?),
        name,
    )
}

fn bond_fen(node: &Node, serial: &Serial, role: Role) -> i64 {
    let key = suanli_ledger::credit::account_balance_key(&bond_account(serial, role));
    node.state_get(ChainKind::Trade, &key)
        .and_then(|b| suanli_ledger::credit::decode_fen(&b))
        .map_or(0, |f| f.get())
}

fn report(what: &str, r: &TickReport) {
    let errors = if r.errors.is_empty() {
        String::new()
    } else {
        format!(" · {}", r.errors.join("; "))
    };
    println!(
        "    {what}: {} statements dual-signed, {} paused, {} final, {} posted on chain{errors}",
        r.proposed, r.paused, r.finals, r.submitted
    );
}

pub fn run(node: &Arc<Node>, operator: &SecretKey, clock: &Arc<DemoClock>) -> anyhow::Result<()> {
    println!(
        "\n[C1] A new supplier and consumer, a trade of 5 fen/min (minimum charge 100 fen) for 8 hours, 600 fen escrowed:"
    );
    let (supplier_key, supplier) = party(node, operator, "supplier", Role::Supplier)?;
    let (consumer_key, _consumer) = party(node, operator, "consumer", Role::Consumer)?;
    for key in [&consumer_key, &supplier_key] {
        let mint = CreditOp::Mint {
            to: key.public(),
            amount: PositiveFen::new(10_000)?,
        };
        crate::act(
            node,
            ChainKind::Trade,
            operator,
            Payload::Credit(mint),
            "mint",
        )?;
    }
    let weights = Weights::new([(Resource::Gpu, 700), (Resource::Network, 300)].into())
        .map_err(|e| anyhow::anyhow!(e))?;
    let terms = ModeTerms {
        trade_start_cpt: 1,
        checkin_cpt: 2,
        price_fen_per_minute: Fen::new(5)?,
        min_cost_fen: Fen::new(100)?,
        checkin_period_minutes: 60,
        weights,
        encryption: Encryption::Plaintext,
        trade_type: "payg-minute".into(),
    };
    let spec = "RTX 4090 ×1 · 8 vCPU · 64 GiB · 贵阳";
    let (_, _, serial) = contract_trade(
        node,
        (&supplier_key, &supplier),
        &consumer_key,
        terms,
        spec,
        480,
        600,
    )?;
    show_money(node, &supplier_key, &consumer_key, &serial);

    println!(
        "\n[C2] The consumer opens the trade's service channel with a 200 fen bond; the supplier posts 200 fen too:"
    );
    channel_tx(
        node,
        &consumer_key,
        &ChannelOp::Open {
            serial,
            deposit_fen: Fen::ZERO,
            bond_fen: Fen::new(200)?,
            challenge_window_ms: 10 * MINUTE_MS,
        },
        "open",
    )?;
    channel_tx(
        node,
        &supplier_key,
        &ChannelOp::Bond {
            serial,
            amount_fen: PositiveFen::new(200)?,
        },
        "bond",
    )?;
    let channel = node
        .with_state(ChainKind::Trade, |s| view::channel(s, &serial))
        .context("the channel is missing")?;

    let runtime = tokio::runtime::Runtime::new()?;
    let dirs = (tempfile::tempdir()?, tempfile::tempdir()?);
    let demo_clock: Arc<dyn Clock> = Arc::clone(clock) as Arc<dyn Clock>;
    let start = |key: &SecretKey, dir: &std::path::Path, listen: bool| {
        Controller::start(
            ControllerConfig {
                key: key.clone(),
                data_dir: dir.to_path_buf(),
                listen: listen.then(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
                skew_ms: 60_000,
            },
            Arc::clone(&demo_clock),
        )
    };
    let consumer_ctl = runtime.block_on(start(&consumer_key, dirs.1.path(), true))?;
    let supplier_ctl = runtime.block_on(start(&supplier_key, dirs.0.path(), false))?;
    let endpoint = consumer_ctl
        .local_addr()
        .context("the consumer's controller does not listen")?
        .to_string();
    let escrow = Fen::new(600)?;
    let setup = |role: Role, peer: Option<String>| ChannelSetup {
        terms: channel.terms,
        role,
        peer,
        margin_minutes: 10,
        escrow_fen: escrow,
        settled_seq: 0,
        settled_cost_fen: Fen::ZERO,
        paused_since_ms: None,
        paused_total_ms: 0,
        closed: false,
        closing: false,
        stop_requested: false,
        policy: ServePolicy::default(),
        consumer_bond_fen: Fen::ZERO,
        challenge_window_ms: 0,
    };
    runtime.block_on(consumer_ctl.add_channels(vec![setup(Role::Consumer, None)]))?;
    runtime
        .block_on(supplier_ctl.add_channels(vec![setup(Role::Supplier, Some(endpoint.clone()))]))?;
    println!(
        "    two channel controllers: the consumer's listens on {endpoint} (its DID document's SuanliChannel service in production), the supplier's connects"
    );
    let supplier_port: Arc<dyn ChainPort> = Arc::new(EmbeddedPort {
        node: Arc::clone(node),
        key: supplier_key.clone(),
        who: "supplier",
    });
    let tick = |what: &str| -> anyhow::Result<()> {
        let r =
            runtime.block_on(supplier_ctl.tick(&ServiceTimeMeter, Arc::clone(&supplier_port)))?;
        report(what, &r);
        Ok(())
    };

    println!(
        "\n[C3] Metering off the chain: every 20 minutes the supplier signs the cumulative usage, the consumer checks and countersigns it; each round is checked in:"
    );
    for _ in 0..3 {
        clock.fast_forward(20 * MINUTE_MS);
        tick("20 minutes")?;
    }
    let latest = supplier_ctl
        .latest(&serial)
        .context("no dual-signed state")?;
    println!(
        "    latest state #{}: {} min, {} fen, signed by both (consumer's copy identical: {})",
        latest.statement.seq,
        latest.statement.minutes,
        latest.statement.cost_fen.get(),
        consumer_ctl.latest(&serial) == Some(latest)
    );
    show_money(node, &supplier_key, &consumer_key, &serial);

    println!(
        "\n[C4] The escrow runs low: metering pauses before the escrow left would fall under 10 minutes (50 fen), and the consumer is told:"
    );
    for _ in 0..4 {
        clock.fast_forward(20 * MINUTE_MS);
        tick("20 minutes")?;
    }
    for notice in consumer_ctl.notices() {
        println!(
            "    consumer notice: {:?} — {}",
            notice.kind, notice.message
        );
    }

    println!(
        "\n[C5] The consumer tops up 1,000 fen on the chain; the supplier sees it and resumes (paused time is not billed):"
    );
    channel_tx(
        node,
        &consumer_key,
        &ChannelOp::TopUp {
            serial,
            amount_fen: PositiveFen::new(1_000)?,
        },
        "top-up",
    )?;
    for _ in 0..2 {
        clock.fast_forward(20 * MINUTE_MS);
        tick("20 minutes")?;
    }
    if let Some(notice) = consumer_ctl.notices().last() {
        println!(
            "    consumer notice: {:?} — {}",
            notice.kind, notice.message
        );
    }

    println!(
        "\n[C6] The consumer asks to stop; the supplier proposes the final state, both sign it, and the cooperative close settles:"
    );
    runtime.block_on(consumer_ctl.request_stop(&serial))?;
    clock.fast_forward(MINUTE_MS);
    tick("stop requested")?;
    tick("final state")?;
    let trade = node
        .with_state(ChainKind::Trade, |s| view::trade(s, &serial))
        .context("the trade is missing")?;
    if let Some(c) = &trade.closure {
        println!(
            "    trade closed: {} · {} minutes billed in all, {} fen charged, {} fen refunded; bonds back (held now: {} + {} fen)",
            c.reason.as_str(),
            trade.billed_minutes,
            trade.charged_fen.get(),
            c.refund_fen.get(),
            bond_fen(node, &serial, Role::Consumer),
            bond_fen(node, &serial, Role::Supplier)
        );
    } else {
        anyhow::bail!("the channel's trade did not close");
    }
    println!(
        "    balances: consumer {} fen · supplier {} fen (each started with 10,000)",
        balance(node, &consumer_key),
        balance(node, &supplier_key)
    );
    runtime.block_on(supplier_ctl.shutdown());
    runtime.block_on(consumer_ctl.shutdown());
    Ok(())
}
