//! `suanli bench trade`: whole trades through a real node (redb, one fsync per block):
//! orders (signature check, escrow), contracts (countersignature, trade-start credential
//! checked in the contract) and check-ins (check-in credential checked, cost moved), each
//! phase measured from first submission to the last durable commit, every outcome
//! checked. In the same run, this machine's raw rate of checking one check-in
//! credential's proof on one core (JCS + SHA-256 + Ed25519, what the contract must do per
//! check-in at least), and the ratio committed check-ins / raw credential checks.
//!
//! Time runs on a [`DemoClock`] that the benchmark moves forward by one period before the
//! check-ins; nothing else is simulated.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use suanli_identity::SuanliDid;
use suanli_ledger::credit::{CreditOp, PositiveFen};
use suanli_ledger::{MempoolConfig, Outcome, Payload, Transaction};
use suanli_node::{Node, TxStatus};
use suanli_primitives::{ChainId, ChainKind, NetworkName, PublicKey, SecretKey};
use suanli_trade::model::{
    Encryption, MINUTE_MS, ModeTerms, OfferTerms, Requirements, Resource, Weights,
};
use suanli_trade::records::Trade;
use suanli_trade::{PartyDid, Role, Serial, TradeOp, credentials, op, pricing, view};

use crate::ledger::{submit_all, wait_all};
use suanli_demo::trade::DemoClock;
use suanli_ledger_client::embedded::open_node_with_clock;

/// Most trades one run may make.
const BENCH_TRADES_MAX: usize = 100_000;
/// Trades per supplier and per consumer (each signs this many of each phase).
const TRADES_PER_PARTY: usize = 50;
/// Network name of the benchmark node.
const NETWORK: &str = "suanli-bench";
/// Credential checks in the raw baseline.
const RAW_CHECKS: usize = 2_000;

#[derive(Debug, Args)]
pub struct TradeBenchArgs {
    /// Number of trades.
    #[arg(long, default_value_t = 2_000)]
    pub trades: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What one run measured (the `--json` object).
#[derive(Debug, Serialize)]
pub struct Report {
    pub trades: usize,
    pub orders_per_s: f64,
    pub contracts_per_s: f64,
    pub checkins_per_s: f64,
    pub raw_credential_checks_per_s: f64,
    pub ratio: f64,
    pub cores: usize,
}

struct Party {
    key: SecretKey,
    did: PartyDid,
}

fn party(network: &NetworkName, label: &str) -> anyhow::Result<Party> {
    let key = SecretKey::from_label(label);
    let did = SuanliDid::for_initial_key(network.clone(), &key.public());
    let did = PartyDid::parse(&did.to_string()).map_err(|e| anyhow::anyhow!(e))?;
    Ok(Party { key, did })
}

/// Signs `ops` (signer, op) at consecutive nonces per signer.
fn sign_all(node: &Node, chain: &ChainId, ops: Vec<(&SecretKey, Payload)>) -> Vec<Transaction> {
    let mut next: std::collections::HashMap<PublicKey, u64> = Default::default();
    let numbered: Vec<(&SecretKey, u64, Payload)> = ops
        .into_iter()
        .map(|(key, payload)| {
            let nonce = next
                .entry(key.public())
                .or_insert_with(|| node.next_nonce(ChainKind::Trade, &key.public()));
            let n = *nonce;
            *nonce += 1;
            (key, n, payload)
        })
        .collect();
    numbered
        .into_par_iter()
        .map(|(key, nonce, payload)| Transaction::sign(chain, key, nonce, payload))
        .collect()
}

/// Submits, waits for the last commit, and checks that every transaction applied.
fn commit_all(node: &Node, txs: Vec<Transaction>, mempool: &MempoolConfig) -> anyhow::Result<f64> {
    let started = Instant::now();
    submit_all(node, txs.clone(), mempool.txs_max)?;
    wait_all(node, &txs)?;
    let seconds = started.elapsed().as_secs_f64();
    for tx in &txs {
        match node.status(&tx.id())? {
            TxStatus::Committed {
                outcome: Outcome::Applied,
                ..
            } => {}
            other => anyhow::bail!("transaction {} ended as {other:?}", tx.id()),
        }
    }
    Ok(seconds)
}

fn call(op: &TradeOp) -> anyhow::Result<Payload> {
    Ok(Payload::Call(op.to_call()?))
}

fn trade_of(node: &Node, serial: &Serial) -> anyhow::Result<Trade> {
    node.with_state(ChainKind::Trade, |s| view::trade(s, serial))
        .with_context(|| format!("trade {serial} is missing"))
}

pub(crate) fn checkin_op(trade: &Trade, supplier: &SecretKey) -> anyhow::Result<TradeOp> {
    let start = trade.billed_until_ms.context("no contract")?;
    let end = start + trade.period_minutes * MINUTE_MS;
    let cost = pricing::settlement_cost(
        trade.billed_minutes,
        trade.charged_fen,
        trade.period_minutes,
        trade.rate_fen_per_minute,
        trade.min_cost_fen,
    )?;
    let draft = credentials::draft(
        trade,
        credentials::checkin_credential_id(&trade.serial, trade.checkins + 1),
        trade.checkin_cpt,
        credentials::checkin_claims(trade, start, end, cost),
        start,
    )?;
    Ok(TradeOp::Checkin {
        serial: trade.serial,
        start_ms: start,
        end_ms: end,
        cost_fen: cost,
        credential: credentials::issue(&draft, supplier, "key-1", end)?,
    })
}

pub fn run(args: TradeBenchArgs) -> anyhow::Result<()> {
    let report = measure(args.trades)?;
    print(&report, args.json)
}

/// Runs the benchmark on about `trades` trades (rounded up to whole groups of
/// `TRADES_PER_PARTY`); `suanli bench exchange` takes it as its raw chain baseline.
pub fn measure(trades: usize) -> anyhow::Result<Report> {
    anyhow::ensure!(
        (TRADES_PER_PARTY..=BENCH_TRADES_MAX).contains(&trades),
        "--trades must be {TRADES_PER_PARTY}..={BENCH_TRADES_MAX}"
    );
    let groups = trades.div_ceil(TRADES_PER_PARTY);
    let trades = groups * TRADES_PER_PARTY;
    let mempool = MempoolConfig::default();
    let dir = tempfile::tempdir()?;
    let operator = SecretKey::from_label("bench/operator");
    let clock = Arc::new(DemoClock::default());
    let (node, producers) = open_node_with_clock(
        dir.path(),
        NETWORK,
        Some(operator.public()),
        mempool,
        Arc::clone(&clock) as Arc<dyn suanli_primitives::Clock>,
    )?;
    let network = NetworkName::new(NETWORK)?;
    let chain = node.chain_id(ChainKind::Trade);
    let suppliers: Vec<Party> = (0..groups)
        .map(|i| party(&network, &format!("bench/supplier/{i}")))
        .collect::<anyhow::Result<_>>()?;
    let consumers: Vec<Party> = (0..groups)
        .map(|i| party(&network, &format!("bench/consumer/{i}")))
        .collect::<anyhow::Result<_>>()?;

    // Set-up (not measured): enrolment, credits, one mode and offer per supplier.
    let mut setup = Vec::new();
    for (p, role) in suppliers
        .iter()
        .map(|p| (p, Role::Supplier))
        .chain(consumers.iter().map(|p| (p, Role::Consumer)))
    {
        let enroll = TradeOp::Enroll {
            did: p.did.clone(),
            role,
            key: p.key.public(),
            key_fragment: "key-1".into(),
            kyc_credential_id: Some(format!("urn:bench:kyc:{}", p.did)),
            kyc_credential_sha256: Some("00".repeat(32)),
        };
        setup.push((&operator, call(&enroll)?));
    }
    for c in &consumers {
        let mint = CreditOp::Mint {
            to: c.key.public(),
            amount: PositiveFen::new(1_000_000_000)?,
        };
        setup.push((&operator, Payload::Credit(mint)));
    }
    for chunk in setup.chunks(mempool.signer_pending_max as usize / 2) {
        commit_all(&node, sign_all(&node, &chain, chunk.to_vec()), &mempool)?;
    }
    let weights = Weights::new([(Resource::Cpu, 400), (Resource::Gpu, 600)].into())
        .map_err(|e| anyhow::anyhow!(e))?;
    let (price, min_cost) = (
        suanli_primitives::Fen::new(10)?,
        suanli_primitives::Fen::new(100)?,
    );
    let modes = suppliers
        .iter()
        .map(|s| {
            let terms = ModeTerms {
                trade_start_cpt: 1,
                checkin_cpt: 2,
                price_fen_per_minute: price,
                min_cost_fen: min_cost,
                checkin_period_minutes: 60,
                weights: weights.clone(),
                encryption: Encryption::Plaintext,
                trade_type: "payg-minute".into(),
            };
            Ok((&s.key, call(&TradeOp::PublishMode { terms })?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    commit_all(&node, sign_all(&node, &chain, modes), &mempool)?;
    let now = node.now_ms();
    let offers = suppliers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let terms = OfferTerms {
                mode_id: i as u64 + 1,
                spec: "bench GPU".into(),
                quantity: TRADES_PER_PARTY as u32,
                valid_from_ms: now,
                valid_until_ms: now + 86_400_000,
            };
            Ok((&s.key, call(&TradeOp::PublishOffer { terms })?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    commit_all(&node, sign_all(&node, &chain, offers), &mempool)?;

    // Orders: consumer i orders from every supplier j with (i + j) % groups spread.
    let mut plan = Vec::with_capacity(trades);
    for i in 0..groups {
        for k in 0..TRADES_PER_PARTY {
            let s = (i + k) % groups;
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&(i as u64).to_be_bytes());
            bytes[8..].copy_from_slice(&(k as u64).to_be_bytes());
            plan.push((Serial::from_bytes(bytes), i, s));
        }
    }
    let time_ms = node.now_ms();
    let orders = plan
        .iter()
        .map(|(serial, c, s)| {
            let requirements = Requirements {
                spec: "bench GPU".into(),
                quantity: 1,
                duration_minutes: 240,
            };
            let supplier = &suppliers[*s].did;
            let digest = op::order_digest(
                serial,
                time_ms,
                supplier,
                *s as u64 + 1,
                &requirements,
                PositiveFen::new(1_000)?,
            );
            let order = TradeOp::Order {
                serial: *serial,
                offer_id: *s as u64 + 1,
                time_ms,
                requirements,
                value_fen: PositiveFen::new(1_000)?,
                signature: op::sign_digest(&consumers[*c].key, &digest),
                wallet: None,
                channel: None,
            };
            Ok((&consumers[*c].key, call(&order)?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let order_s = commit_all(&node, sign_all(&node, &chain, orders), &mempool)?;

    // Contracts: the trade-start credentials are issued before the clock starts.
    let accepts = plan
        .par_iter()
        .map(|(serial, _, s)| {
            let trade = trade_of(&node, serial)?;
            let key = &suppliers[*s].key;
            let draft = credentials::draft(
                &trade,
                credentials::start_credential_id(serial),
                trade.trade_start_cpt,
                credentials::start_claims(&trade),
                time_ms,
            )?;
            let accept = TradeOp::Accept {
                serial: *serial,
                signature: key.sign(&op::contract_message(&trade.order_signature)),
                credential: credentials::issue(&draft, key, "key-1", time_ms)?,
            };
            Ok((key, call(&accept)?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let contract_s = commit_all(&node, sign_all(&node, &chain, accepts), &mempool)?;

    clock.fast_forward(60 * MINUTE_MS + 1_000);
    let checkins = plan
        .par_iter()
        .map(|(serial, _, s)| {
            let key = &suppliers[*s].key;
            Ok((key, call(&checkin_op(&trade_of(&node, serial)?, key)?)?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sample: Vec<Value> = checkins
        .iter()
        .take(RAW_CHECKS)
        .filter_map(|(_, p)| match p {
            Payload::Call(c) => serde_json::from_slice::<TradeOp>(c.body()).ok(),
            _ => None,
        })
        .filter_map(|op| match op {
            TradeOp::Checkin { credential, .. } => Some(credential),
            _ => None,
        })
        .collect();
    let checkin_s = commit_all(&node, sign_all(&node, &chain, checkins), &mempool)?;
    node.stop();
    for p in producers {
        let _ = p.join();
    }

    // Baseline: check the check-in credentials' proofs on one core.
    let key_of = |vc: &Value| {
        let issuer = vc["issuer"].as_str().unwrap_or_default();
        suppliers
            .iter()
            .find(|s| s.did.as_str() == issuer)
            .map(|s| s.key.public())
    };
    let keys: Vec<PublicKey> = sample.iter().filter_map(key_of).collect();
    let started = Instant::now();
    let mut ok = 0usize;
    for (vc, key) in sample.iter().zip(&keys) {
        ok += usize::from(suanli_vc::proof::verify_proof(vc, key).is_ok());
    }
    let raw_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(ok == sample.len(), "a sample credential did not verify");
    let raw_per_s = sample.len() as f64 / raw_s;
    let checkins_per_s = trades as f64 / checkin_s;
    let report = Report {
        trades,
        orders_per_s: trades as f64 / order_s,
        contracts_per_s: trades as f64 / contract_s,
        checkins_per_s,
        raw_credential_checks_per_s: raw_per_s,
        ratio: checkins_per_s / raw_per_s,
        cores: rayon::current_num_threads(),
    };
    Ok(report)
}

fn print(report: &Report, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        println!(
            "trade benchmark ({} cores, {} trades, every outcome checked)",
            report.cores, report.trades
        );
        println!(
            "  orders (signature, escrow), durable:          {:.0}/s",
            report.orders_per_s
        );
        println!(
            "  contracts (countersignature, credential):     {:.0}/s",
            report.contracts_per_s
        );
        println!(
            "  check-ins (credential, cost, payment):        {:.0}/s",
            report.checkins_per_s
        );
        println!(
            "  raw check-in credential proof checks, 1 core: {:.0}/s",
            report.raw_credential_checks_per_s
        );
        println!(
            "  ratio check-ins / raw credential checks:      {:.2}",
            report.ratio
        );
    }
    Ok(())
}
