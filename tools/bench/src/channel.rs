//! `suanli bench channel`: two channel controllers over loopback TCP, many channels: the
//! supplier's side meters and signs, the consumer's side checks, countersigns and stores
//! before it answers, the supplier's side checks the countersignature and stores. Counts
//! dual-signed, durably stored updates per second and their latency, against the raw rate
//! of the same cryptography (2 signs + 2 verifies per update, one core, no batching) in
//! the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use suanli_channel_controller::{ChannelSetup, Controller, ControllerConfig, ServePolicy, Usage};
use suanli_primitives::{Fen, ManualClock, SecretKey};
use suanli_trade::Serial;
use suanli_trade::channel::{ChannelTerms, Statement, statement_digest};
use suanli_trade::model::{MINUTE_MS, Role};

/// Most channels one run keeps.
const CHANNELS_MAX: usize = 20_000;
/// Most concurrent proposers.
const PROPOSERS_MAX: usize = 64;
/// Longest run, in seconds.
const SECONDS_MAX: u64 = 600;

#[derive(Debug, Args)]
pub struct ChannelBenchArgs {
    /// Channels between the two controllers.
    #[arg(long, default_value_t = 512)]
    pub channels: usize,
    /// Proposers running at once on the supplier's side, each with its share of the
    /// channels (updates of one channel stay in order).
    #[arg(long, default_value_t = 4)]
    pub proposers: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    channels: usize,
    proposers: usize,
    updates: u64,
    /// Dual-signed updates stored durably on both sides, per second.
    updates_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// 2 Ed25519 signs + 2 verifies per second, one core, same run.
    raw_pairs_per_s: f64,
    /// updates_per_s / raw_pairs_per_s.
    ratio: f64,
    /// Both sides hold the same latest state of every channel at the end.
    consistent: bool,
}

const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn raw_pairs_per_s(supplier: &SecretKey, consumer: &SecretKey) -> f64 {
    let (sp, cp) = (supplier.public(), consumer.public());
    let started = Instant::now();
    let mut n: u64 = 0;
    while started.elapsed() < Duration::from_millis(1_000) {
        let statement = Statement {
            serial: Serial::from_bytes([9; 16]),
            seq: n + 1,
            minutes: n,
            cost_fen: Fen::new(n as i64).unwrap_or_default(),
            usage_sha256: [1; 32],
            close: None,
        };
        let digest = statement_digest(&statement);
        let s = supplier.sign(&digest);
        let ok1 = sp.verify(&digest, &s);
        let c = consumer.sign(&digest);
        let ok2 = cp.verify(&digest, &c);
        if ok1 && ok2 {
            n += 1;
        }
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(args: ChannelBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=CHANNELS_MAX).contains(&args.channels),
        "--channels must be 1..={CHANNELS_MAX}"
    );
    anyhow::ensure!(
        (1..=PROPOSERS_MAX).contains(&args.proposers) && args.proposers <= args.channels,
        "--proposers must be 1..={PROPOSERS_MAX} and at most --channels"
    );
    anyhow::ensure!(
        (1..=SECONDS_MAX).contains(&args.seconds),
        "--seconds must be 1..={SECONDS_MAX}"
    );
    let supplier = SecretKey::from_label("bench-channel-supplier");
    let consumer = SecretKey::from_label("bench-channel-consumer");
    let raw = raw_pairs_per_s(&supplier, &consumer);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let report = runtime.block_on(measure(&args, supplier, consumer, raw))?;
    if args.json {
        println!("{}", serde_json::to_string(&report).context("report")?);
    } else {
        println!(
            "channel updates (dual-signed, stored durably on both sides, {} channels, {} proposers): {:.0}/s  p50 {:.2} ms  p99 {:.2} ms",
            report.channels, report.proposers, report.updates_per_s, report.p50_ms, report.p99_ms
        );
        println!(
            "baseline: 2 signs + 2 verifies, one core: {:.0}/s  ratio {:.2}  consistent: {}",
            report.raw_pairs_per_s, report.ratio, report.consistent
        );
    }
    anyhow::ensure!(
        report.consistent,
        "the two sides disagree on a latest state"
    );
    Ok(())
}

async fn measure(
    args: &ChannelBenchArgs,
    supplier: SecretKey,
    consumer: SecretKey,
    raw: f64,
) -> anyhow::Result<Report> {
    // The contract runs far enough back that every metered minute has passed.
    let minutes_max: u64 = 100_000_000;
    let (rate, min_cost, escrow) = (Fen::new(7)?, Fen::new(100)?, Fen::new(i64::MAX / 4)?);
    let clock = Arc::new(ManualClock::new(T0 + minutes_max * MINUTE_MS));
    let (sdir, cdir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let config = |key: &SecretKey, dir: &std::path::Path, listen: bool| ControllerConfig {
        key: key.clone(),
        data_dir: dir.to_path_buf(),
        listen: listen.then(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        skew_ms: 60_000,
    };
    let c = Controller::start(config(&consumer, cdir.path(), true), clock.clone()).await?;
    let s = Controller::start(config(&supplier, sdir.path(), false), clock.clone()).await?;
    let addr = c
        .local_addr()
        .context("the consumer controller has no listener")?
        .to_string();
    let terms: Vec<ChannelTerms> = (0..args.channels)
        .map(|i| {
            let mut serial = [0u8; 16];
            serial[8..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            ChannelTerms {
                serial: Serial::from_bytes(serial),
                supplier_key: supplier.public(),
                consumer_key: consumer.public(),
                rate_fen_per_minute: rate,
                min_cost_fen: min_cost,
                base_minutes: 0,
                base_charged_fen: Fen::ZERO,
                start_ms: T0,
                end_ms: T0 + minutes_max * MINUTE_MS,
            }
        })
        .collect();
    let setup = |t: &ChannelTerms, role: Role, peer: Option<String>| ChannelSetup {
        terms: *t,
        role,
        peer,
        margin_minutes: 0,
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
    c.add_channels(
        terms
            .iter()
            .map(|t| setup(t, Role::Consumer, None))
            .collect(),
    )
    .await?;
    s.add_channels(
        terms
            .iter()
            .map(|t| setup(t, Role::Supplier, Some(addr.clone())))
            .collect(),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for share in 0..args.proposers {
        let serials: Vec<Serial> = terms
            .iter()
            .skip(share)
            .step_by(args.proposers)
            .map(|t| t.serial)
            .collect();
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<(f64, usize)> = Vec::new();
            let mut updates = 0u64;
            let mut failures = 0u64;
            let mut minute = 0u64;
            while Instant::now() < deadline {
                minute += 1;
                let batch = serials
                    .iter()
                    .map(|serial| {
                        let detail = suanli_primitives::sha256(&minute.to_be_bytes());
                        (
                            *serial,
                            Usage {
                                minutes: minute,
                                detail_sha256: *detail.as_bytes(),
                            },
                        )
                    })
                    .collect();
                let t = Instant::now();
                let results = s.propose(batch).await;
                let ms = t.elapsed().as_secs_f64() * 1e3;
                let ok = results.iter().filter(|r| r.is_ok()).count();
                failures += (results.len() - ok) as u64;
                updates += ok as u64;
                latencies.push((ms, ok));
            }
            (updates, failures, latencies)
        }));
    }
    let mut updates = 0;
    let mut failures = 0;
    let mut latencies = Vec::new();
    for task in tasks {
        let (u, f, l) = task.await.context("proposer task")?;
        updates += u;
        failures += f;
        latencies.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    anyhow::ensure!(failures == 0, "{failures} updates were not countersigned");
    let mut weighted: Vec<f64> = Vec::new();
    for (ms, n) in latencies {
        weighted.extend(std::iter::repeat_n(ms, n));
    }
    weighted.sort_by(f64::total_cmp);
    let consistent = terms.iter().all(|t| {
        let (a, b) = (s.latest(&t.serial), c.latest(&t.serial));
        a.is_some() && a == b
    });
    s.shutdown().await;
    c.shutdown().await;
    let updates_per_s = updates as f64 / elapsed;
    Ok(Report {
        channels: args.channels,
        proposers: args.proposers,
        updates,
        updates_per_s,
        p50_ms: percentile(&weighted, 0.50),
        p99_ms: percentile(&weighted, 0.99),
        raw_pairs_per_s: raw,
        ratio: updates_per_s / raw,
        consistent,
    })
}
