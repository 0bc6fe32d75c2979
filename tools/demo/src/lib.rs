//! `suanli-demo`: the walk-through behind `suanli demo` (also what `suanli` runs with no
//! arguments). It starts everything on a fresh data directory — an embedded ledger node
//! with its HTTP API, the operations platform wired to it through `suanli-bridge` exactly
//! as `suanli serve` wires it — and tells one story end to end ([`story`]: a supplier
//! lists, a consumer searches, orders, uses, stops, is billed, rates, verifies); then it
//! keeps serving on the real clock until the caller's shutdown signal unless told to exit.
//! `suanli demo --tour` walks the parts one by one instead ([`walk`] for the ledger, then
//! [`identity`], [`trade`], [`channel`], [`platform`] and [`market`]).
//!
//! This is tooling, not product: it compiles into the `suanli` binary only.
//!
//! Start reading at [`run`].

pub mod channel;
pub mod identity;
pub mod market;
pub mod platform;
pub mod story;
pub mod supply;
pub mod trade;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use suanli_ledger::anchor::{AnchorRecord, StoredAnchor, anchor_key};
use suanli_ledger::credit::{CreditOp, PositiveFen};
use suanli_ledger::{MempoolConfig, Payload, Transaction};
use suanli_node::verify::verify_all;
use suanli_node::{Node, SubmitError, TxStatus};
use suanli_primitives::merkle::{InclusionProof, leaf_hash};
use suanli_primitives::{ChainKind, Hash32, PublicKey, SecretKey, SystemClock, sha256};

use suanli_bridge::anchor::{ANCHOR_INTERVAL_MS, anchor_label};
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::embedded::{NETWORK_DEFAULT, network_contracts, open_node_with_clock};

/// What `suanli demo` was asked.
#[derive(Debug, Default, Clone)]
pub struct DemoArgs {
    /// Data directory for the demo (default: a new temporary directory).
    pub data: Option<PathBuf>,
    /// Finish after the walk-through instead of serving until the shutdown signal.
    pub exit: bool,
    /// Walk the parts one by one (ledger, identity, trade, channel, platform, market)
    /// instead of the story.
    pub tour: bool,
}

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

/// The demo's ledger node and its HTTP API on a loopback port.
pub(crate) struct Stage {
    pub(crate) node: Arc<Node>,
    producers: Vec<std::thread::JoinHandle<()>>,
    pub(crate) base: String,
    stop_tx: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Stage {
    /// Opens the node in `dir` on `clock` and serves its API.
    pub(crate) fn start(
        runtime: &tokio::runtime::Runtime,
        dir: &Path,
        clock: Arc<dyn suanli_primitives::Clock>,
    ) -> anyhow::Result<Self> {
        let mempool = MempoolConfig {
            block_interval_ms: 20,
            ..MempoolConfig::default()
        };
        let (node, producers) = open_node_with_clock(dir, NETWORK_DEFAULT, None, mempool, clock)?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = runtime.spawn(suanli_node_http::serve(
            Arc::clone(&node),
            suanli_node_http::Access::open(),
            listener,
            async {
                let _ = stop_rx.await;
            },
        ));
        Ok(Stage {
            node,
            producers,
            base,
            stop_tx,
            server,
        })
    }

    /// Stops the API and the node, and waits (a few seconds at most) until nothing holds
    /// the node any more, so that its files can be opened again.
    pub(crate) fn stop(self, runtime: &tokio::runtime::Runtime) {
        let _ = self.stop_tx.send(());
        let _ = runtime.block_on(self.server);
        let mut node = self.node;
        node.stop();
        for p in self.producers {
            let _ = p.join();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while let Err(shared) = Arc::try_unwrap(node) {
            if std::time::Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
            node = shared;
        }
    }
}

/// The platform's ledger ports on `node` (those of `suanli serve`); credentials dated by
/// `clock`, the audit head anchored with `platform_key`.
fn ports(
    node: &Arc<Node>,
    operator: &SecretKey,
    platform_key: SecretKey,
    clock: Arc<dyn suanli_primitives::Clock>,
) -> anyhow::Result<suanli_bridge::wiring::LedgerPorts> {
    Ok(
        suanli_bridge::wiring::PlatformLedger::over_node(Arc::clone(node), operator.clone(), clock)
            .ports(platform_key)?,
    )
}

/// Runs the demo; after the walk, keeps serving until `shutdown` resolves unless
/// `args.exit`.
///
/// Clocks: hours and days cannot pass in a demo, so the walk runs the node on a
/// [`trade::DemoClock`] (real time plus an offset it moves forward before each check-in)
/// and the platform on a manual clock it moves by days. What keeps running afterwards
/// runs on the real clock: the node and the platform are stopped after the walk and
/// started again on the same data on `SystemClock` (block times never go back: the
/// chain keeps the head's time until real time passes it).
pub fn run(args: DemoArgs, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let temp;
    let data = match &args.data {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("suanli-demo-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    println!("suanli demo — data directory {}", data.display());
    let node_dir = data.join("node");
    let operator = SecretKey::load_or_generate(&{
        std::fs::create_dir_all(&node_dir)?;
        node_dir.join("operator.key")
    })?;
    let clock = Arc::new(trade::DemoClock::default());
    let runtime = tokio::runtime::Runtime::new()?;
    let stage = Stage::start(&runtime, &node_dir, clock.clone())?;
    if args.tour {
        let mut platform = None;
        let result = walk_all(&stage, &operator, &clock, &data, &mut platform);
        if let Some(p) = platform.take() {
            p.stop();
        }
        stage.stop(&runtime);
        result?;
        if !args.exit {
            serve_on(&runtime, &data, &operator, shutdown)?;
        }
    } else {
        let told =
            story::tell(&stage, &operator, &clock, &data).map(story::exchange::Platform::stop);
        stage.stop(&runtime);
        told?;
        if !args.exit {
            story::serve_on(&runtime, &data, &operator, shutdown)?;
        }
    }
    if args.data.is_some() {
        println!(
            "\nChains are in {}; check them offline with `suanli chain verify --data {}`.",
            node_dir.display(),
            node_dir.display()
        );
    }
    Ok(())
}

/// Every part of the walk, in order; the platform it leaves serving goes in `platform`.
fn walk_all(
    stage: &Stage,
    operator: &SecretKey,
    clock: &Arc<trade::DemoClock>,
    data: &Path,
    platform: &mut Option<platform::RunningPlatform>,
) -> anyhow::Result<()> {
    let (node, base) = (&stage.node, stage.base.as_str());
    walk(node, operator, base)?;
    println!("\n=== Identity: DIDs, credentials, KYC ===");
    identity::run(node, operator, base)?;
    println!("\n=== Trade: modes, offers, linked trade records, escrow, ratings ===");
    trade::run(node, operator, clock, base)?;
    println!("\n=== Service channel: metering off the chain, check-ins and close on it ===");
    channel::run(node, operator, clock)?;
    println!("\n=== The operations platform ===");
    let platform_key = platform_key(data)?;
    let platform_public = platform_key.public();
    let ports = ports(node, operator, platform_key, clock.clone())?;
    let anchor = Arc::clone(&ports.anchor);
    let running = platform.insert(platform::run(&data.join("platform"), Some(ports))?);
    supply_walk(&running.base, node, data, clock.as_ref())?;
    let (seq, head) = anchor
        .wait_anchored(Duration::from_millis(ANCHOR_INTERVAL_MS * 3))
        .ok_or_else(|| anyhow::anyhow!("the audit-log head was not anchored in time"))?;
    show_audit_anchor(node, &platform_public, seq, &Hash32::from_bytes(head))?;
    println!("\n=== The market ===");
    market::run()
}

/// The supply side's walk on the demo's platform at `base` (`supply::walk`).
fn supply_walk(
    base: &str,
    node: &Arc<Node>,
    data: &Path,
    clock: &dyn suanli_primitives::Clock,
) -> anyhow::Result<()> {
    let c = platform::Client::new(base);
    let pw_file = data
        .join("platform")
        .join(suanli_platform_http::BOOTSTRAP_PASSWORD_FILE);
    let admin_pw = std::fs::read_to_string(&pw_file)?;
    let admin = c.login(suanli_platform_http::BOOTSTRAP_ADMIN_LOGIN, admin_pw.trim())?;
    println!("\n== The supply side: a data centre lists its GPUs");
    supply::walk(&c, &admin, node.as_ref(), data, clock, 60_000).map(|_| ())
}

fn platform_key(data: &Path) -> anyhow::Result<SecretKey> {
    std::fs::create_dir_all(data.join("platform"))?;
    Ok(SecretKey::load_or_generate(
        &data.join("platform").join("platform.key"),
    )?)
}

/// After the walk: the node and the platform again on the demo's data, on the real
/// clock, until `shutdown`.
fn serve_on(
    runtime: &tokio::runtime::Runtime,
    data: &Path,
    operator: &SecretKey,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let real = Arc::new(SystemClock);
    let stage = Stage::start(runtime, &data.join("node"), real.clone())?;
    let started = ports(&stage.node, operator, platform_key(data)?, real.clone())
        .and_then(|ports| platform::start(&data.join("platform"), real, Some(ports)));
    let running = match started {
        Ok((running, _)) => running,
        Err(e) => {
            stage.stop(runtime);
            return Err(e);
        }
    };
    let base = &stage.base;
    println!(
        "\nThe node API stays up at {base}/v1 (try {base}/v1/chains/trade/head), now on the real clock. Ctrl-C to stop."
    );
    println!(
        "The web consoles stay up at {}/ with the demo's data: the operator `admin` (password in {}), the customer `acme-admin` / `Acme-Render-Farm-1`.",
        running.base,
        data.join("platform")
            .join(suanli_platform_http::BOOTSTRAP_PASSWORD_FILE)
            .display()
    );
    runtime.block_on(shutdown);
    running.stop();
    stage.stop(runtime);
    Ok(())
}

/// Shows the anchor of audit record `seq` as committed on the trade chain (the anchor
/// reports a head only once its transaction is committed).
fn show_audit_anchor(
    node: &Node,
    platform: &PublicKey,
    seq: u64,
    head: &Hash32,
) -> anyhow::Result<()> {
    let label = anchor_label(seq);
    let found = (0..node.next_nonce(ChainKind::Trade, platform))
        .rev()
        .find(|nonce| {
            node.state_get(ChainKind::Trade, &anchor_key(platform, *nonce))
                .and_then(|v| StoredAnchor::decode(&v))
                .is_some_and(|a| a.label == label && &a.digest == head)
        })
        .ok_or_else(|| {
            anyhow::anyhow!("anchor of audit record {seq} not found on the trade chain")
        })?;
    println!(
        "10. The audit-log head #{seq} {head} is anchored on the trade chain\n    by the platform key {platform} (anchor #{found} of that key): rewriting the log is now detectable."
    );
    Ok(())
}

fn commit(node: &Node, tx: Transaction) -> anyhow::Result<TxStatus> {
    let kind = tx.chain().kind();
    let id = node.submit(tx)?;
    Ok(node.wait(&id, kind, Duration::from_secs(10))?)
}

/// Signs `payload` with `key` at its next nonce on the `kind` chain, commits it and prints
/// where it landed; an outcome other than applied is an error naming `name`.
pub fn act(
    node: &Node,
    kind: ChainKind,
    key: &SecretKey,
    payload: Payload,
    name: &str,
) -> anyhow::Result<()> {
    let done = LedgerClient::transact(node, kind, key, payload, Duration::from_secs(10))
        .with_context(|| name.to_owned())?;
    println!(
        "    {name:<14} committed in {kind} block {} (tx {})",
        done.height,
        &done.id.to_string()[..16]
    );
    Ok(())
}

/// The ledger part of the walk: chains, credits, refusals, anchors, proofs, verification.
pub fn walk(node: &Node, operator: &SecretKey, base: &str) -> anyhow::Result<()> {
    let trade = node.chain_id(ChainKind::Trade);
    let identity = node.chain_id(ChainKind::Identity);
    step(
        1,
        "A solo ledger node hosts two chains, each with its own genesis and hash chain:",
    );
    for kind in ChainKind::ALL {
        let head = node.head(kind);
        println!(
            "    {} at height {} (head {})",
            node.chain_id(kind),
            head.height(),
            head.hash
        );
    }

    let consumer = SecretKey::generate()?;
    let supplier = SecretKey::generate()?;
    println!(
        "    operator {}\n    consumer {}\n    supplier {}",
        operator.public(),
        consumer.public(),
        supplier.public()
    );

    step(
        2,
        "The operator mints 10,000 fen of settlement credits to the consumer (only its key may mint).",
    );
    let nonce = node.next_nonce(ChainKind::Trade, &operator.public());
    let mint = Transaction::sign(
        &trade,
        operator,
        nonce,
        Payload::Credit(CreditOp::Mint {
            to: consumer.public(),
            amount: PositiveFen::new(10_000)?,
        }),
    );
    println!("    {:?}", commit(node, mint)?);

    step(
        3,
        "The consumer pays the supplier 2,500 fen; the transfer is durable before it is acknowledged.",
    );
    let pay = Transaction::sign(
        &trade,
        &consumer,
        0,
        Payload::Credit(CreditOp::Transfer {
            to: supplier.public(),
            amount: PositiveFen::new(2_500)?,
        }),
    );
    let pay_id = pay.id();
    println!("    {:?}", commit(node, pay.clone())?);

    step(4, "Bad input is refused with a reason and changes nothing:");
    let replay = node.submit(pay.clone()).err();
    println!(
        "    replayed transfer   → {}",
        replay
            .as_ref()
            .map_or("accepted?!".into(), SubmitError::to_string)
    );
    let forged = Transaction::from_parts(
        trade.clone(),
        consumer.public(),
        1,
        pay.payload().clone(),
        *Transaction::sign(&trade, &supplier, 1, pay.payload().clone()).signature(),
    );
    println!(
        "    forged signature    → {}",
        node.submit(forged)
            .err()
            .map_or("accepted?!".into(), |e| e.to_string())
    );
    let overdraw = Transaction::sign(
        &trade,
        &consumer,
        1,
        Payload::Credit(CreditOp::Transfer {
            to: supplier.public(),
            amount: PositiveFen::new(1_000_000)?,
        }),
    );
    println!("    overdraft           → {:?}", commit(node, overdraw)?);
    let wrong_chain = Transaction::sign(&identity, &consumer, 0, pay.payload().clone());
    println!(
        "    credits on identity → {}",
        node.submit(wrong_chain)
            .err()
            .map_or("accepted?!".into(), |e| e.to_string())
    );

    step(
        5,
        "The supplier anchors the digest of a usage report on the trade chain (the report stays off chain).",
    );
    let report = b"trade 42: 120 GPU-minutes on A100x8, 2026-11-22T10:00Z..12:00Z";
    let anchor = Transaction::sign(
        &trade,
        &supplier,
        0,
        Payload::Anchor(AnchorRecord::new("usage-report", sha256(report))?),
    );
    println!("    {:?}", commit(node, anchor)?);
    let profile = b"supplier profile: Western Data Centre, cn-west, 64 x A100";
    let anchor = Transaction::sign(
        &identity,
        &supplier,
        0,
        Payload::Anchor(AnchorRecord::new("supplier-profile", sha256(profile))?),
    );
    println!(
        "    identity chain, profile digest: {:?}",
        commit(node, anchor)?
    );

    step(
        6,
        "Anyone can fetch the payment's inclusion proof over HTTP and check it on their own:",
    );
    let url = format!("{base}/v1/txs/{pay_id}/proof");
    let body: Value = ureq::get(&url)
        .call()
        .context("fetching the proof")?
        .body_mut()
        .read_json()?;
    let proof: InclusionProof = serde_json::from_value(body["proof"]["proof"].clone())?;
    let tx_root = Hash32::from_hex(
        body["proof"]["header"]["tx_root"]
            .as_str()
            .unwrap_or_default(),
    )?;
    let ok = proof.verify(&leaf_hash(pay_id.0.as_bytes()), &tx_root);
    println!(
        "    GET {url}\n    leaf {} of {} — Merkle path of {} hashes to tx_root {} → {}",
        proof.leaf_index,
        proof.tree_size,
        proof.path.len(),
        tx_root,
        if ok { "VALID" } else { "INVALID" }
    );
    anyhow::ensure!(ok, "inclusion proof did not verify");
    let balance: Value = ureq::get(&format!(
        "{base}/v1/chains/trade/credit/{}",
        supplier.public()
    ))
    .call()?
    .body_mut()
    .read_json()?;
    println!("    supplier balance: {} fen", balance["balance_fen"]);

    step(
        7,
        "Offline verification re-checks every signature, link, Merkle root and state commitment:",
    );
    print_verified(node)
}

/// Verifies both chains of `node` offline and prints each one's report.
pub(crate) fn print_verified(node: &Node) -> anyhow::Result<()> {
    for r in verify_all(node.store(), &network_contracts())? {
        println!(
            "    {} chain sound: {} blocks, {} transactions, head {}",
            r.chain, r.height, r.transactions, r.head_hash
        );
    }
    Ok(())
}
