//! The one story `suanli demo` tells (issue 18 §7): a data centre lists its GPUs and lets
//! the platform host its agent; an AI start-up registers, recharges, searches the market
//! for green A100s, orders one by the minute (a trade on the chain, escrowed from its
//! organisation's wallet), uses it (per-minute statements on the service channel, hourly
//! check-ins on the chain), is paused when the escrow runs low, recharges and tops up,
//! stops, is billed from the check-ins, rates the supplier and verifies its trade offline
//! — every step through the platform's API, as a user or the supplier's operations would
//! do it, with the platform's background workers (exchange worker, hosted agent, channel
//! controller) doing the rest. Money is shown in yuan only.
//!
//! Time: the node and the platform run on one [`crate::trade::DemoClock`] that starts
//! behind real time; the story moves it forward to let an hour of service pass and says
//! so. Afterwards both are restarted on the real clock ([`crate::run`]).
//!
//! Start reading at [`tell`].

pub(crate) mod buyer;
pub(crate) mod exchange;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;
use suanli_primitives::{ChainKind, SecretKey, SystemClock};

use crate::platform::{Client, Session};
use crate::trade::DemoClock;
use crate::{Stage, supply};

/// Longest the story waits for a background worker of the platform (the exchange worker
/// runs every 2 s, the hosted agents every 5 s, the channel controller every 10 s), in
/// milliseconds: a bound, not a measurement.
pub(crate) const WORKER_WAIT_MS_MAX: u64 = 90_000;
/// How often the story looks again while it waits, in milliseconds.
const POLL_MS: u64 = 200;

/// The story's steps, numbered as they are told.
static STEP: AtomicU32 = AtomicU32::new(0);

/// Prints the next step of the story.
pub(crate) fn say(text: &str) {
    let n = STEP.fetch_add(1, Ordering::SeqCst) + 1;
    println!("\n{n:>2}. {text}");
}

/// `fen` as yuan: `¥1,234.56` (negative with a leading minus).
pub(crate) fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let whole = (fen.unsigned_abs() / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}¥{grouped}.{:02}", fen.unsigned_abs() % 100)
}

/// The integer at `v` (0 when absent: the answers' shapes are the platform's contract).
pub(crate) fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_default()
}

/// Calls `probe` until it answers `Some`, at most [`WORKER_WAIT_MS_MAX`]; `what` names what
/// was awaited in the error.
pub(crate) fn wait_for<T>(
    what: &str,
    mut probe: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + Duration::from_millis(WORKER_WAIT_MS_MAX);
    loop {
        if let Some(v) = probe()? {
            return Ok(v);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "waited {WORKER_WAIT_MS_MAX} ms for {what}"
        );
        std::thread::sleep(Duration::from_millis(POLL_MS));
    }
}

/// What the supplier put on the market.
pub(crate) struct Listing {
    /// The platform's offer id.
    pub offer: i64,
    /// The supplier's session.
    pub supplier: Session,
}

/// Tells the story on `stage`'s node and a platform over `data` on `clock`; returns the
/// platform, still serving (the caller stops it).
pub(crate) fn tell(
    stage: &Stage,
    operator: &SecretKey,
    clock: &Arc<DemoClock>,
    data: &Path,
) -> anyhow::Result<exchange::Platform> {
    let channel = exchange::free_loopback()?;
    let platform = exchange::start(data, stage, operator, clock.clone(), channel)?;
    match walk(stage, clock, data, &platform) {
        Ok(()) => Ok(platform),
        Err(e) => {
            platform.stop();
            Err(e)
        }
    }
}

fn walk(
    stage: &Stage,
    clock: &Arc<DemoClock>,
    data: &Path,
    platform: &exchange::Platform,
) -> anyhow::Result<()> {
    let node = &stage.node;
    say(
        "The exchange opens: a ledger node hosting the identity and trade chains, and the platform (API and web consoles) beside it, with its exchange worker, the agents it hosts for suppliers and its side of the service channels.",
    );
    for kind in ChainKind::ALL {
        println!(
            "    {} chain at height {}",
            node.chain_id(kind),
            node.head(kind).height()
        );
    }
    println!(
        "    platform {} · node API {}/v1 · channel controller tcp://{}",
        platform.base, stage.base, platform.channel
    );
    println!(
        "    (the walk runs on a clock that starts 12 hours behind real time and jumps ahead when an hour of service must pass; it says so each time)"
    );
    let c = platform.client();
    let pw_file = data.join(suanli_platform_http::BOOTSTRAP_PASSWORD_FILE);
    let admin_pw = std::fs::read_to_string(&pw_file)
        .with_context(|| format!("{} (use a fresh data directory)", pw_file.display()))?;
    let admin = c.login(suanli_platform_http::BOOTSTRAP_ADMIN_LOGIN, admin_pw.trim())?;

    say("A data centre lists its GPUs (the supplier's side, in its console or with this API):");
    // The qualification credential is dated when it is issued: its issuer's DID was made
    // on the identity chain a moment before.
    let listed = supply::walk(&c, &admin, node.as_ref(), data, clock.as_ref(), 0)?;
    let listing = Listing {
        offer: listed.offer,
        supplier: c.login(supply::SUPPLIER_LOGIN, supply::SUPPLIER_PASSWORD)?,
    };
    host_agent(&c, &listing, listed.chain_offer)?;

    let mut story = buyer::Buyer::join(&c, &admin)?;
    story.shop(&listing)?;
    story.use_and_pay(node, clock)?;
    story.close_rate_verify(node, clock, data)?;
    books(&c, &admin, &story)?;
    say(
        "Offline verification re-checks every signature, link, Merkle root and state commitment of both chains:",
    );
    crate::print_verified(node)
}

/// After the story: the node and the platform again on the same data, on the real clock,
/// until `shutdown` — what `suanli serve --data DIR --node-listen …` runs.
pub(crate) fn serve_on(
    runtime: &tokio::runtime::Runtime,
    data: &Path,
    operator: &SecretKey,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let real = Arc::new(SystemClock);
    let stage = Stage::start(runtime, &data.join("node"), real.clone())?;
    let platform = exchange::free_loopback()
        .and_then(|channel| exchange::start(data, &stage, operator, real, channel));
    let platform = match platform {
        Ok(p) => p,
        Err(e) => {
            stage.stop(runtime);
            return Err(e);
        }
    };
    let base = &stage.base;
    println!(
        "\nThe node API stays up at {base}/v1 (try {base}/v1/chains/trade/head) and the web consoles at {}/ , now on the real clock. Ctrl-C to stop.",
        platform.base
    );
    println!(
        "Logins: the operator `admin` (password in {}), the supplier `{}` / `{}`, the start-up `{}` / `{}`.",
        data.join(suanli_platform_http::BOOTSTRAP_PASSWORD_FILE)
            .display(),
        supply::SUPPLIER_LOGIN,
        supply::SUPPLIER_PASSWORD,
        buyer::BUYER_LOGIN,
        buyer::BUYER_PASSWORD
    );
    runtime.block_on(shutdown);
    platform.stop();
    stage.stop(runtime);
    Ok(())
}

/// The supplier lets the platform host its agent, accepting orders of the listed offer
/// automatically within its limits.
fn host_agent(c: &Client, listing: &Listing, chain_offer: u64) -> anyhow::Result<()> {
    let v = c.expect(
        "POST",
        "/api/v1/supplier/hosted-agent",
        Some(&listing.supplier),
        Some(serde_json::json!({
            "fragment": "agent-1", "mode": "auto", "max_units": 2, "max_minutes": 1440,
            "max_value_fen": 1_000_000, "offers": [chain_offer],
            "password": supply::SUPPLIER_PASSWORD})),
        201,
    )?;
    println!(
        "   S10. It lets the platform host its agent (status {}): a key of its own, sealed by the platform and authorised on the trade chain by the supplier's DID key, accepting orders of chain offer #{chain_offer} automatically (at most 2 units, 24 hours, {} per order).",
        v["hosted_agent"]["status"],
        yuan(1_000_000)
    );
    Ok(())
}

/// The books at the end: the wallet on the chain equals the journal's cash, and the
/// operator's reconciliation finds no difference.
fn books(c: &Client, admin: &Session, story: &buyer::Buyer) -> anyhow::Result<()> {
    let w = story.wallet()?;
    say(&format!(
        "The books: the start-up's cash in the journal is {} and its wallet on the trade chain holds {} — equal, as they are after every step; the exchange worker compares them on every pass and raises an alarm on a difference.",
        yuan(w.0),
        yuan(w.1)
    ));
    anyhow::ensure!(w.0 == w.1, "journal and chain differ: {w:?}");
    let alarms = c.expect("GET", "/api/v1/ops/wallet-alarms", Some(admin), None, 200)?;
    println!(
        "    The operator's wallet alarms: {} (`suanli ops reconcile --data DIR --json` says the same with the server stopped).",
        alarms["items"].as_array().map_or(0, Vec::len)
    );
    Ok(())
}
