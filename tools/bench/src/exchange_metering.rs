//! The metering half of `suanli bench exchange` (issue 18): `--metered N` trades open at
//! once, placed and contracted through the API as in the order half; the chain's clock (a
//! simulated clock: real time plus what the benchmark moves it forward) passes one
//! check-in period (one minute), the supplier's key checks every trade in on the chain
//! (signed in parallel at consecutive nonces, committed in batches), and the platform's
//! exchange worker follows every check-in into the journal on its own timer.
//!
//! Figures: check-ins per second from the first check-in submitted to the last one
//! billed (the journal's entry posted), and whether the bills — Σ of the platform's
//! followed check-ins (`paid_fen` of each trade, read from its store) — equal the chain's
//! check-ins (Σ `paid_fen` of each trade on the chain) to the fen. Service-channel
//! statements (per minute, dual-signed) are not part of this run: `bench channel`
//! measures them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use suanli_ledger_client::LedgerClient;
use suanli_node::Node;
use suanli_platform_http::store::{SqliteStore, TradeStore};
use suanli_primitives::{ChainKind, Clock, SystemClock};
use suanli_trade::{Serial, view};
use suanli_webtest::harness::{HARNESS_ADMIN_PASSWORD, Harness};

use crate::exchange::{ACCEPT_BATCH_MAX, cash_for, commit_each, trade_all};
use crate::exchange_world;

/// Longest wait for the platform to bill every check-in.
const BILL_WAIT: Duration = Duration::from_secs(600);
/// How far the chain's clock moves: one check-in period (a minute) and a margin, ms.
const PERIOD_AHEAD_MS: u64 = 61_000;

/// Real time plus an offset the benchmark moves forward (the chain's simulated clock).
#[derive(Debug, Default)]
struct Ahead(AtomicU64);

impl Clock for Ahead {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms() + self.0.load(Ordering::SeqCst)
    }
}

/// What the metering run measured.
#[derive(Debug, Serialize)]
pub struct Metering {
    /// Trades open and checked in at once.
    pub trades: usize,
    /// Check-ins from the first submitted to the last billed, per second.
    pub checkins_per_s: f64,
    /// Σ the platform's billed check-ins, fen.
    pub bills_fen: i64,
    /// Σ the chain's check-ins, fen.
    pub checkins_fen: i64,
    /// Whether they are equal.
    pub bills_equal_checkins: bool,
}

/// Σ (check-ins, paid fen) the platform's journal followed, from its store.
async fn billed(store: &SqliteStore) -> anyhow::Result<(u64, i64)> {
    let (mut after, mut n, mut fen) = (String::new(), 0u64, 0i64);
    loop {
        let page = store.trades_after(&after, 1_000).await?;
        let Some(last) = page.last() else {
            return Ok((n, fen));
        };
        after = last.serial.clone();
        for t in &page {
            n += u64::from(t.checkins);
            fen += t.paid.get();
        }
    }
}

/// Checks in one period of every trade in `serials` with `key`, committed in batches.
fn check_in_all(
    node: &Node,
    key: &suanli_primitives::SecretKey,
    serials: &[Serial],
) -> anyhow::Result<()> {
    for batch in serials.chunks(ACCEPT_BATCH_MAX) {
        commit_each(node, key, batch, |trade| {
            crate::trade::checkin_op(trade, key)
        })?;
    }
    Ok(())
}

/// One metering run of `trades` trades from `buyers` customers.
pub fn measure(trades: usize, buyers: usize) -> anyhow::Result<Metering> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(Ahead::default());
    let h = Harness::start_with_ledger_on(
        suanli_webtest::harness::config(dir.path()),
        Arc::new(suanli_platform_http::SystemClock),
        Arc::clone(&clock) as Arc<dyn Clock>,
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
    let world = exchange_world::build(
        &h.base,
        HARNESS_ADMIN_PASSWORD,
        ledger.as_ref(),
        dir.path(),
        u32::try_from(trades + 1)?,
        buyers,
        cash_for(trades, buyers)?,
    )?;
    let traded = trade_all(&world, ledger.as_ref(), &node, trades, clock.now_ms())?;
    clock.0.fetch_add(PERIOD_AHEAD_MS, Ordering::SeqCst);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = rt.block_on(SqliteStore::open(&dir.path().join("ops.db")))?;
    let started = Instant::now();
    check_in_all(&node, &world.supplier_key, &traded.serials)?;
    let want = u64::try_from(traded.serials.len())?;
    let until = Instant::now() + BILL_WAIT;
    let bills_fen = loop {
        let (n, fen) = rt.block_on(billed(&store))?;
        if n >= want {
            break fen;
        }
        if Instant::now() > until {
            bail!("{n} of {want} check-ins billed after {BILL_WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let seconds = started.elapsed().as_secs_f64();
    let checkins_fen = traded
        .serials
        .iter()
        .map(|s| {
            node.with_state(ChainKind::Trade, |st| view::trade(st, s))
                .map_or(0, |t| t.paid_fen.get())
        })
        .sum::<i64>();
    drop(h);
    Ok(Metering {
        trades: traded.serials.len(),
        checkins_per_s: want as f64 / seconds,
        bills_fen,
        checkins_fen,
        bills_equal_checkins: bills_fen == checkins_fen,
    })
}
