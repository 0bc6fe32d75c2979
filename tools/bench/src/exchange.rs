//! `suanli bench exchange` (issue 18): pre-signed orders placed through the platform's
//! HTTP API that become committed chain trades — the order (stored with its escrow entry,
//! submitted, committed) and its contract, signed by the supplier's key as its agent would
//! and committed in batches while orders keep arriving. A platform with an embedded node
//! on a temporary data directory (the web test harness, SQLite); the exchange built
//! through its API (`exchange_world`); each customer posts its orders one after the other
//! (they are signed at consecutive nonces), the customers in parallel.
//!
//! Figures: committed trades per second from the first order sent to the last contract
//! committed, and the p50/p99 latency of `POST /api/v1/trades/presigned`. Same-run
//! baseline: `bench trade`'s raw chain rate for the same number of trades — orders then
//! contracts submitted straight to a node, `1 / (1/orders_per_s + 1/contracts_per_s)` —
//! and the ratio.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use suanli_ledger::{Outcome, Payload, Transaction};
use suanli_ledger_client::LedgerClient;
use suanli_node::{Node, TxStatus};
use suanli_primitives::{ChainKind, Clock, SecretKey, SystemClock};
use suanli_trade::records::Trade;
use suanli_trade::{Serial, TradeOp, credentials, op, view};
use suanli_webtest::harness::{HARNESS_ADMIN_PASSWORD, Harness};

use crate::exchange_world::{self, ExchangeWorld};
use crate::ledger::{submit_all, wait_all};

/// Most trades one run may place.
pub const EXCHANGE_TRADES_MAX: usize = 100_000;
/// Most customers posting at once: each registers from the benchmark's one address,
/// which the platform allows 20 registrations an hour (the supplier is one of them).
pub const EXCHANGE_BUYERS_MAX: usize = 19;
/// Contracts (or check-ins) signed and committed per batch at most: below the node's
/// quota of transactions waiting per signer (1,024 by default).
pub const ACCEPT_BATCH_MAX: usize = 1_000;
/// Minutes each order buys (1 fen a minute: its value in fen).
const ORDER_MINUTES: u64 = 10;

#[derive(Debug, Args)]
pub struct ExchangeBenchArgs {
    /// Number of trades (orders through the API, each contracted).
    #[arg(long, default_value_t = 1_000)]
    pub trades: usize,
    /// Customers posting their orders in parallel.
    #[arg(long, default_value_t = 16)]
    pub buyers: usize,
    /// Also the metering run (`exchange_metering`) with this many trades open at once
    /// (0: skip it).
    #[arg(long, default_value_t = 0)]
    pub metered: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What one run measured (the `--json` object).
#[derive(Debug, Serialize)]
pub struct Report {
    pub trades: usize,
    pub buyers: usize,
    pub trades_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub accept_batches: usize,
    pub baseline_per_s: f64,
    pub ratio: f64,
    pub cores: usize,
    /// The metering run's check-ins per second (with `--metered`).
    pub checkins_per_s: Option<f64>,
    /// Whether its bills equal the chain's check-ins to the fen (with `--metered`).
    pub bills_equal_checkins: Option<bool>,
    /// The metering run (with `--metered`).
    pub metering: Option<crate::exchange_metering::Metering>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One operation per trade of `serials` (`op_of` its trade as the chain holds it),
/// signed by `key` at its consecutive nonces in parallel, submitted and committed; every
/// one must apply.
pub(crate) fn commit_each(
    node: &Node,
    key: &SecretKey,
    serials: &[Serial],
    op_of: impl Fn(&Trade) -> anyhow::Result<TradeOp> + Sync,
) -> anyhow::Result<()> {
    let chain = node.chain_id(ChainKind::Trade);
    let first = node.next_nonce(ChainKind::Trade, &key.public());
    let txs = serials
        .par_iter()
        .enumerate()
        .map(|(i, serial)| {
            let trade = node
                .with_state(ChainKind::Trade, |s| view::trade(s, serial))
                .with_context(|| format!("trade {serial} is not on the chain"))?;
            let op = op_of(&trade)?;
            let nonce = first + u64::try_from(i)?;
            Ok(Transaction::sign(
                &chain,
                key,
                nonce,
                Payload::Call(op.to_call()?),
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    submit_all(node, txs.clone(), ACCEPT_BATCH_MAX)?;
    wait_all(node, &txs)?;
    for tx in &txs {
        match node.status(&tx.id())? {
            TxStatus::Committed {
                outcome: Outcome::Applied,
                ..
            } => {}
            other => bail!("transaction {} ended as {other:?}", tx.id()),
        }
    }
    Ok(())
}

/// The contracts of `serials`, signed by `key` (the trade-start credentials dated now).
fn accept_batch(node: &Node, key: &SecretKey, serials: &[Serial]) -> anyhow::Result<()> {
    let now = SystemClock.now_ms();
    commit_each(node, key, serials, |trade| {
        let draft = credentials::draft(
            trade,
            credentials::start_credential_id(&trade.serial),
            trade.trade_start_cpt,
            credentials::start_claims(trade),
            now,
        )?;
        Ok(TradeOp::Accept {
            serial: trade.serial,
            signature: key.sign(&op::contract_message(&trade.order_signature)),
            credential: credentials::issue(&draft, key, "key-1", now)?,
        })
    })
}

/// Posts `orders` of customer `b` one after the other; the latency of each (ms) and the
/// serials the platform placed go to `placed`.
fn post_orders(
    world: &ExchangeWorld,
    b: usize,
    orders: Vec<(Serial, String)>,
    placed: &mpsc::Sender<Serial>,
) -> anyhow::Result<Vec<f64>> {
    let client = &world.buyers[b].client;
    let mut latencies = Vec::with_capacity(orders.len());
    for (i, (serial, tx)) in orders.into_iter().enumerate() {
        let started = Instant::now();
        let a = client.api_post(
            "/api/v1/trades/presigned",
            &json!({ "tx": tx }),
            Some(&format!("bench-{b}-{i}")),
        )?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        if a.status != 201 {
            bail!("order {serial}: {} {}", a.status, a.body);
        }
        placed.send(serial).context("the acceptor stopped")?;
    }
    Ok(latencies)
}

/// The agent's side: contracts for every placed order, in batches of what has arrived.
fn acceptor(
    node: &Node,
    key: &SecretKey,
    placed: &mpsc::Receiver<Serial>,
    trades: usize,
) -> anyhow::Result<usize> {
    let (mut done, mut batches) = (0usize, 0usize);
    while done < trades {
        let first = placed
            .recv_timeout(Duration::from_secs(60))
            .context("no order placed for a minute")?;
        let mut batch = vec![first];
        while batch.len() < ACCEPT_BATCH_MAX {
            match placed.try_recv() {
                Ok(s) => batch.push(s),
                Err(_) => break,
            }
        }
        accept_batch(node, key, &batch)?;
        done += batch.len();
        batches += 1;
    }
    Ok(batches)
}

/// What [`trade_all`] did.
pub(crate) struct Traded {
    /// Every serial contracted.
    pub serials: Vec<Serial>,
    /// From the first order sent to the last contract committed, s.
    pub seconds: f64,
    /// Each order's latency, ms.
    pub latencies: Vec<f64>,
    /// Contract batches.
    pub batches: usize,
}

/// `trades` term orders of [`ORDER_MINUTES`] dated `now_ms`, signed before the clock
/// starts (as programmatic buyers sign), split over the world's customers; each customer
/// posts its own in order, all customers in parallel, while the acceptor contracts what
/// was placed.
pub(crate) fn trade_all(
    world: &ExchangeWorld,
    ledger: &dyn LedgerClient,
    node: &Node,
    trades: usize,
    now_ms: u64,
) -> anyhow::Result<Traded> {
    let buyers = world.buyers.len();
    let per_buyer = trades.div_ceil(buyers);
    let mut plans = Vec::with_capacity(buyers);
    for b in 0..buyers {
        let n = per_buyer.min(trades.saturating_sub(b * per_buyer));
        let serials: Vec<Serial> = (0..n)
            .map(|k| {
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&(b as u64).to_be_bytes());
                bytes[8..].copy_from_slice(&(k as u64).to_be_bytes());
                Serial::from_bytes(bytes)
            })
            .collect();
        plans.push(world.sign_orders(ledger, b, &serials, ORDER_MINUTES, now_ms)?);
    }
    let serials: Vec<Serial> = plans.iter().flatten().map(|(s, _)| *s).collect();
    let total = serials.len();
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let (latencies, batches) = std::thread::scope(|scope| {
        let key = &world.supplier_key;
        let acceptor = scope.spawn(move || acceptor(node, key, &rx, total));
        let posters: Vec<_> = plans
            .into_iter()
            .enumerate()
            .map(|(b, orders)| {
                let placed = tx.clone();
                scope.spawn(move || post_orders(world, b, orders, &placed))
            })
            .collect();
        let mut all = Vec::with_capacity(total);
        for p in posters {
            all.extend(
                p.join()
                    .map_err(|_| anyhow::anyhow!("a poster panicked"))??,
            );
        }
        let batches = acceptor
            .join()
            .map_err(|_| anyhow::anyhow!("the acceptor panicked"))??;
        anyhow::Ok((all, batches))
    })?;
    Ok(Traded {
        serials,
        seconds: started.elapsed().as_secs_f64(),
        latencies,
        batches,
    })
}

pub fn run(args: ExchangeBenchArgs) -> anyhow::Result<()> {
    let report = measure(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "exchange benchmark ({} cores, {} trades from {} customers in parallel, SQLite, every outcome checked)",
            report.cores, report.trades, report.buyers
        );
        println!(
            "  pre-signed orders via HTTP → committed trades (order + contract): {:.0}/s",
            report.trades_per_s
        );
        println!(
            "  POST /api/v1/trades/presigned latency: p50 {:.1} ms, p99 {:.1} ms",
            report.p50_ms, report.p99_ms
        );
        println!("  contracts committed in {} batches", report.accept_batches);
        println!(
            "  baseline: bench trade's raw chain rate (orders + contracts): {:.0}/s",
            report.baseline_per_s
        );
        println!("  ratio: {:.2}", report.ratio);
        if let Some(m) = &report.metering {
            println!(
                "  metering: {} trades open, one check-in each: {:.0} check-ins/s submitted → billed; bills {} fen, chain check-ins {} fen, equal: {}",
                m.trades, m.checkins_per_s, m.bills_fen, m.checkins_fen, m.bills_equal_checkins
            );
        }
    }
    Ok(())
}

/// Cash each of `buyers` customers needs for its share of `trades` orders, fen.
pub(crate) fn cash_for(trades: usize, buyers: usize) -> anyhow::Result<i64> {
    let per_buyer = trades.div_ceil(buyers.max(1));
    Ok(i64::try_from(per_buyer)? * i64::try_from(ORDER_MINUTES)? + 1_000)
}

/// One run (see the module documentation).
pub fn measure(args: &ExchangeBenchArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(
        (1..=EXCHANGE_TRADES_MAX).contains(&args.trades),
        "--trades must be 1..={EXCHANGE_TRADES_MAX}"
    );
    anyhow::ensure!(
        (1..=EXCHANGE_BUYERS_MAX).contains(&args.buyers),
        "--buyers must be 1..={EXCHANGE_BUYERS_MAX}"
    );
    anyhow::ensure!(
        args.metered <= EXCHANGE_TRADES_MAX,
        "--metered must be 0..={EXCHANGE_TRADES_MAX}"
    );
    let dir = tempfile::tempdir()?;
    let h = Harness::start_with_ledger(
        suanli_webtest::harness::config(dir.path()),
        Arc::new(suanli_platform_http::SystemClock),
    )?;
    let platform_ledger = h.ledger.as_ref().context("the harness has no ledger")?;
    let ledger: Arc<dyn LedgerClient> = Arc::clone(&platform_ledger.client);
    let node = Arc::clone(
        &platform_ledger
            .embedded
            .as_ref()
            .context("the harness's node is not embedded")?
            .0,
    );
    let units = u32::try_from(args.trades + 1)?;
    let cash = cash_for(args.trades, args.buyers)?;
    let world = exchange_world::build(
        &h.base,
        HARNESS_ADMIN_PASSWORD,
        ledger.as_ref(),
        dir.path(),
        units,
        args.buyers,
        cash,
    )?;
    let t = trade_all(
        &world,
        ledger.as_ref(),
        &node,
        args.trades,
        SystemClock.now_ms(),
    )?;
    let (trades, seconds, latencies, batches) =
        (t.serials.len(), t.seconds, t.latencies, t.batches);
    drop(h);
    let mut sorted = latencies;
    sorted.sort_by(f64::total_cmp);
    let trades_per_s = trades as f64 / seconds;
    let raw = crate::trade::measure(trades.clamp(50, EXCHANGE_TRADES_MAX))?;
    let baseline_per_s = 1.0 / (1.0 / raw.orders_per_s + 1.0 / raw.contracts_per_s);
    let metering = match args.metered {
        0 => None,
        n => Some(crate::exchange_metering::measure(n, args.buyers)?),
    };
    Ok(Report {
        trades,
        buyers: args.buyers,
        trades_per_s,
        p50_ms: percentile(&sorted, 0.50),
        p99_ms: percentile(&sorted, 0.99),
        accept_batches: batches,
        baseline_per_s,
        ratio: trades_per_s / baseline_per_s,
        cores: rayon::current_num_threads(),
        checkins_per_s: metering.as_ref().map(|m| m.checkins_per_s),
        bills_equal_checkins: metering.as_ref().map(|m| m.bills_equal_checkins),
        metering,
    })
}
