//! `suanli bench ledger`: N signed credit transfers from many accounts pushed through the
//! mempool of a real node (redb, one fsync per block), measured from first submission to
//! the last durable commit; in the same run, this machine's raw Ed25519 verification rate
//! on one core (single and batched), and the ratio committed / batch-verify.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;
use suanli_ledger::credit::{CreditOp, PositiveFen};
use suanli_ledger::{MempoolConfig, Outcome, Payload, Transaction};
use suanli_node::{Node, TxStatus};
use suanli_primitives::keys::verify_many;
use suanli_primitives::{ChainId, ChainKind, PublicKey, SecretKey, Signature};

use suanli_ledger_client::embedded::open_node;

/// Most transactions one benchmark run may build.
const BENCH_TXS_MAX: usize = 2_000_000;
/// Signatures per batch in the raw batch-verify measurement.
const VERIFY_BATCH_SIZE: usize = 1_024;
/// Transactions handed to the node per `submit_many` call.
const SUBMIT_CHUNK_TXS: usize = 8_192;

#[derive(Debug, Args)]
pub struct LedgerBenchArgs {
    /// Number of credit transfers.
    #[arg(long, default_value_t = 100_000)]
    pub txs: usize,
    /// Number of distinct sending accounts.
    #[arg(long, default_value_t = 2_000)]
    pub accounts: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    txs: usize,
    accounts: usize,
    blocks: u64,
    seconds: f64,
    /// Time until the last transaction was admitted (signatures checked, in the mempool).
    admitted_s: f64,
    tx_per_s: f64,
    verify_single_per_s: f64,
    verify_batch_per_s: f64,
    ratio: f64,
    cores: usize,
    block_txs_max: usize,
}

/// Runs the benchmark on a node with the mempool settings `tuning` (the node command's
/// tuning flags, checked by the caller).
pub fn run(args: LedgerBenchArgs, tuning: MempoolConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=BENCH_TXS_MAX).contains(&args.txs),
        "--txs must be 1..={BENCH_TXS_MAX}"
    );
    anyhow::ensure!(
        (1..=args.txs).contains(&args.accounts),
        "--accounts must be 1..=--txs"
    );
    let mempool = MempoolConfig {
        txs_max: tuning.txs_max.max(SUBMIT_CHUNK_TXS * 2),
        ..tuning
    };
    let per_account = args.txs.div_ceil(args.accounts) as u64;
    anyhow::ensure!(
        per_account <= mempool.signer_pending_max,
        "{per_account} transfers per account exceed the per-signer mempool quota of {}; use more --accounts",
        mempool.signer_pending_max
    );
    // The baseline is measured before and after the ledger run and averaged, so that a
    // burst of load from other processes biases both sides of the ratio alike.
    let raw = RawSet::new();
    let before = raw.rates();
    let dir = tempfile::tempdir()?;
    let operator = SecretKey::from_label("bench/operator");
    let (node, producers) =
        open_node(dir.path(), "suanli-bench", Some(operator.public()), mempool)?;
    let chain = node.chain_id(ChainKind::Trade);
    let senders: Vec<SecretKey> = (0..args.accounts)
        .into_par_iter()
        .map(|i| SecretKey::from_label(&format!("bench/account/{i}")))
        .collect();
    fund(&node, &chain, &operator, &senders, args.txs)?;
    let txs = build_transfers(&chain, &senders, args.txs);
    let height_before = node.head(ChainKind::Trade).height();

    let to_submit = txs.clone();
    let started = Instant::now();
    submit_all(&node, to_submit, mempool.txs_max)?;
    let submitted_s = started.elapsed().as_secs_f64();
    wait_all(&node, &txs)?;
    let seconds = started.elapsed().as_secs_f64();

    let blocks = node.head(ChainKind::Trade).height() - height_before;
    node.stop();
    for p in producers {
        let _ = p.join();
    }
    let after = raw.rates();
    let verify_single_per_s = (before.0 + after.0) / 2.0;
    let verify_batch_per_s = (before.1 + after.1) / 2.0;
    let tx_per_s = args.txs as f64 / seconds;
    let report = Report {
        txs: args.txs,
        accounts: args.accounts,
        blocks,
        seconds,
        admitted_s: submitted_s,
        tx_per_s,
        verify_single_per_s,
        verify_batch_per_s,
        ratio: tx_per_s / verify_batch_per_s,
        cores: rayon::current_num_threads(),
        block_txs_max: mempool.block_txs_max,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "ledger benchmark ({} cores, block_txs_max {})",
            report.cores, report.block_txs_max
        );
        println!(
            "  committed (durable) credit transfers: {:.0} tx/s ({} txs, {} accounts, {} blocks, {:.2} s)",
            report.tx_per_s, report.txs, report.accounts, report.blocks, report.seconds
        );
        println!(
            "  raw Ed25519 verify, one core, single:  {:.0} sig/s",
            report.verify_single_per_s
        );
        println!(
            "  raw Ed25519 verify, one core, batched: {:.0} sig/s",
            report.verify_batch_per_s
        );
        println!(
            "  ratio committed / batch-verify:        {:.2}",
            report.ratio
        );
    }
    Ok(())
}

/// Signed messages for the raw verification baseline: one distinct key per signature,
/// like transfers from many accounts (batch verifiers get faster when keys repeat).
struct RawSet {
    messages: Vec<Vec<u8>>,
    sigs: Vec<Signature>,
    publics: Vec<PublicKey>,
}

impl RawSet {
    fn new() -> Self {
        let n = 8 * VERIFY_BATCH_SIZE;
        let keys: Vec<SecretKey> = (0..n)
            .into_par_iter()
            .map(|i| SecretKey::from_label(&format!("bench/raw/{i}")))
            .collect();
        let messages: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("message {i}").into_bytes())
            .collect();
        let sigs = keys
            .par_iter()
            .zip(&messages)
            .map(|(k, m)| k.sign(m))
            .collect();
        let publics = keys.iter().map(SecretKey::public).collect();
        RawSet {
            messages,
            sigs,
            publics,
        }
    }

    /// Single and batched verification rates on one core (signatures per second).
    fn rates(&self) -> (f64, f64) {
        let n = self.messages.len();
        let started = Instant::now();
        let mut ok = 0usize;
        for ((m, s), p) in self.messages.iter().zip(&self.sigs).zip(&self.publics) {
            ok += usize::from(p.verify(m, s));
        }
        let single = n as f64 / started.elapsed().as_secs_f64();
        let items: Vec<(&[u8], &Signature, &PublicKey)> = self
            .messages
            .iter()
            .zip(&self.sigs)
            .zip(&self.publics)
            .map(|((m, s), p)| (m.as_slice(), s, p))
            .collect();
        let started = Instant::now();
        for chunk in items.chunks(VERIFY_BATCH_SIZE) {
            ok += verify_many(chunk).iter().filter(|v| **v).count();
        }
        let batch = n as f64 / started.elapsed().as_secs_f64();
        debug_assert_eq!(ok, 2 * n);
        (single, batch)
    }
}

/// Mints enough credits to every sender (not measured).
fn fund(
    node: &Node,
    chain: &ChainId,
    operator: &SecretKey,
    senders: &[SecretKey],
    txs: usize,
) -> anyhow::Result<()> {
    let per_account = PositiveFen::new(i64::try_from(txs)?.saturating_mul(10).max(10))?;
    let mints: Vec<Transaction> = senders
        .par_iter()
        .enumerate()
        .map(|(i, s)| {
            Transaction::sign(
                chain,
                operator,
                i as u64,
                Payload::Credit(CreditOp::Mint {
                    to: s.public(),
                    amount: per_account,
                }),
            )
        })
        .collect();
    // One key mints for everyone: stay within the per-signer mempool quota.
    let quota = usize::try_from(MempoolConfig::default().signer_pending_max).unwrap_or(usize::MAX);
    for chunk in mints.chunks(quota.max(1)) {
        submit_all(node, chunk.to_vec(), usize::MAX)?;
        wait_all(node, &chunk[chunk.len() - 1..])?;
    }
    Ok(())
}

/// Round-robin transfers: round r holds nonce r of every sender, so nonces stay in order.
fn build_transfers(chain: &ChainId, senders: &[SecretKey], txs: usize) -> Vec<Transaction> {
    let n = senders.len();
    (0..txs)
        .into_par_iter()
        .map(|i| {
            let sender = &senders[i % n];
            let to = senders[(i * 7 + 1) % n].public();
            let op = CreditOp::Transfer {
                to,
                amount: PositiveFen::new(1 + (i % 9) as i64).unwrap_or(PositiveFen::MIN),
            };
            Transaction::sign(chain, sender, (i / n) as u64, Payload::Credit(op))
        })
        .collect()
}

/// Submits in order, pausing while the mempool is full (back-pressure), never dropping.
pub fn submit_all(
    node: &Node,
    txs: Vec<Transaction>,
    mempool_txs_max: usize,
) -> anyhow::Result<()> {
    let mut rest = txs;
    while !rest.is_empty() {
        let take = rest.len().min(SUBMIT_CHUNK_TXS);
        while node.mempool_waiting(ChainKind::Trade) + take > mempool_txs_max {
            std::thread::sleep(Duration::from_millis(1));
        }
        let tail = rest.split_off(take);
        let chunk = std::mem::replace(&mut rest, tail);
        let results = node.submit_many(chunk);
        if let Some((i, e)) = results
            .iter()
            .enumerate()
            .find_map(|(i, r)| r.as_ref().err().map(|e| (i, e)))
        {
            anyhow::bail!("submission {i} of a chunk was refused: {e}");
        }
    }
    Ok(())
}

/// Waits until every transaction is committed and applied.
pub fn wait_all(node: &Node, txs: &[Transaction]) -> anyhow::Result<()> {
    let mut last_per_signer = std::collections::HashMap::new();
    for tx in txs {
        last_per_signer.insert(*tx.signer(), tx.id());
    }
    for id in last_per_signer.values() {
        let status = node
            .wait(id, ChainKind::Trade, Duration::from_secs(30))
            .context("waiting for commit")?;
        match status {
            TxStatus::Committed {
                outcome: Outcome::Applied,
                ..
            } => {}
            other => anyhow::bail!("transaction {id} ended as {other:?}"),
        }
    }
    Ok(())
}
