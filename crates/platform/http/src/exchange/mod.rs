//! The exchange worker (issue 18, `docs/exchange.md` §1–3), run by `suanli serve` on a
//! timer (and woken after each order): one pass sends the wallet-mirror outbox (mint on
//! cash in, burn on cash out; `outbox`), mirrors members' limits, imports the
//! wallet-paid trades members placed on the chain past the platform (`import`), decides
//! orders still `placing` (resubmitting their stored bytes; `decide`), posts the journal
//! entries that follow trades' chain records (`follow`), and compares each
//! organisation's cash with its chain wallet — a difference seen twice in a row, or a
//! mirror instruction the chain refused, raises an alarm (metric, audit record, operator
//! notice in `wallet_alarms`; `wallets`). The store-level steps are plain functions so
//! that `suanli ops reconcile` runs the same ones.

mod decide;
mod follow;
pub mod import;
pub mod outbox;
mod wallets;

pub use decide::decide;
pub use follow::{same_order, sync_all, sync_of, sync_trade};
pub use import::{Cursors, import_foreign};
pub use wallets::{
    PENDING_SCAN_MAX, WalletDifference, compare_wallets, mirror_suspensions, opening_mints,
    opening_reference, orgs_pending,
};

use crate::trade_ledger::TradeLedger;
use crate::{AppState, PortError};
use std::collections::BTreeMap;
use std::sync::Arc;
use suanli_platform_store::{OpsStore, StoreError};

/// Time between two passes when nothing wakes the worker, ms.
pub const EXCHANGE_INTERVAL_MS: u64 = 2_000;
/// Trades read per page of a sync pass.
pub const SYNC_PAGE_MAX: u32 = 100;

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The mirror failed.
    #[error(transparent)]
    Mirror(#[from] crate::payment::MirrorError),
    /// The chain could not be read.
    #[error("ledger: {0}")]
    Ledger(String),
    /// The chain's trade is not the stored order (`same_order`).
    #[error("{0}")]
    Mismatch(String),
    /// What the chain says the escrow received and paid cannot be followed into the
    /// journal (more out than in, an amount out of range) — `sync_of`.
    #[error("ledger: {0}")]
    Funding(String),
}

impl ExchangeError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ExchangeError::Store(_) => "store",
            ExchangeError::Mirror(_) => "mirror",
            ExchangeError::Ledger(_) => "ledger",
            ExchangeError::Mismatch(_) => "trade_mismatch",
            ExchangeError::Funding(_) => "trade_funding",
        }
    }
}

pub(crate) fn ledger_err(e: &PortError) -> ExchangeError {
    ExchangeError::Ledger(suanli_primitives::error_chain(e))
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PortError> + Send + 'static,
) -> Result<T, PortError> {
    crate::service::trades::blocking(f).await
}

/// The worker's memory between passes: differences seen last pass, alarms raised, how
/// far each member's chain history was read for imports.
#[derive(Debug, Default)]
pub struct Watch {
    seen: BTreeMap<i64, (i64, i64)>,
    alarmed: BTreeMap<i64, (i64, i64)>,
    cursors: Cursors,
}

/// Imports the trades members placed on the chain past the platform, then follows every
/// live trade (`import_foreign`, `sync_all`); how many trades changed or were imported.
pub async fn follow_all(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
    cursors: &mut Cursors,
    now_ms: i64,
) -> Result<u64, ExchangeError> {
    // An import that fails this pass (the chain unreachable for a wallet) does not keep
    // the stored trades from being followed.
    let imported = match import_foreign(store, ledger, cursors, now_ms).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "trades placed past the platform not imported this pass");
            0
        }
    };
    Ok(imported + sync_all(store, ledger, now_ms).await?)
}

/// Sends the outbox (`outbox::pump_mirror`; the caller holds `AppState::operator_lock`),
/// and raises the wallet alarm for every instruction the chain refused. Answers the
/// (organisation, amounts) alarmed.
pub(crate) async fn send_outbox(
    s: &AppState,
    now: i64,
) -> Result<Vec<(i64, (i64, i64))>, ExchangeError> {
    let Some(m) = &s.mirror else {
        return Ok(Vec::new());
    };
    let pumped = outbox::pump_mirror(&s.store, m, now).await?;
    let mut alarmed = Vec::new();
    for f in &pumped.failed {
        let v = wallets::failed_instruction_alarm(s, f).await?;
        alarmed.push((f.org.get(), v));
    }
    Ok(alarmed)
}

/// One pass of the worker (see the module documentation).
pub async fn pass(s: &AppState, watch: &mut Watch) -> Result<(), ExchangeError> {
    let now = s.clock.now_unix_ms();
    {
        // One operator-key signer at a time (`AppState::operator_lock`).
        // A stuck outbox, limit or suspension is logged; the trades are followed anyway.
        let _signing = s.operator_lock.lock().await;
        match send_outbox(s, now).await {
            Ok(alarmed) => {
                for (org, v) in alarmed {
                    watch.alarmed.insert(org, v);
                    watch.seen.insert(org, v);
                }
            }
            Err(e) => tracing::warn!(error = %e, "wallet outbox not sent this pass"),
        }
        if let Some(l) = &s.trade_ledger {
            if let Err(e) = crate::service::trade_members::push_limits(s).await {
                tracing::warn!(error = %e, "member limits not mirrored this pass");
            }
            if let Err(e) = mirror_suspensions(s.store.as_ref(), l).await {
                tracing::warn!(error = %e, "wallet suspensions not mirrored this pass");
            }
        }
    }
    let Some(ledger) = s.trade_ledger.clone() else {
        return Ok(());
    };
    follow_all(s.store.as_ref(), &ledger, &mut watch.cursors, now).await?;
    if s.mirror.is_none() {
        return Ok(());
    }
    // Only the organisations whose instructions are pending lag by the outbox: a stuck
    // instruction never silences the comparison of the others.
    let Some(lagging) = orgs_pending(s.store.as_ref()).await? else {
        return Ok(());
    };
    let (_, diffs) = compare_wallets(s.store.as_ref(), &ledger, &lagging).await?;
    let mut seen = BTreeMap::new();
    for d in &diffs {
        let v = (d.journal_fen, d.chain_fen);
        if watch.seen.get(&d.org) == Some(&v) && watch.alarmed.get(&d.org) != Some(&v) {
            wallets::alarm(s, d, None).await?;
            watch.alarmed.insert(d.org, v);
        }
        seen.insert(d.org, v);
    }
    watch.alarmed.retain(|o, _| seen.contains_key(o));
    watch.seen = seen;
    Ok(())
}

/// Runs passes until the process ends: every [`EXCHANGE_INTERVAL_MS`], or at once when
/// woken (`AppState::exchange_kick`).
pub async fn worker(s: AppState) {
    let mut watch = Watch::default();
    let mut opened = false;
    loop {
        match pass(&s, &mut watch).await {
            Err(e) => tracing::warn!(error = %e, "exchange pass stopped early"),
            Ok(()) if !opened => {
                // After the first full pass (outbox sent, trades followed).
                opened = true;
                if let (Some(m), true) = (&s.mirror, s.trade_ledger.is_some()) {
                    let _signing = s.operator_lock.lock().await;
                    if let Err(e) = opening_mints(s.store.as_ref(), m).await {
                        tracing::warn!(error = %e, "opening mints not sent");
                    }
                }
            }
            Ok(()) => {}
        }
        tokio::select! {
            () = s.exchange_kick.notified() => {}
            () = tokio::time::sleep(std::time::Duration::from_millis(EXCHANGE_INTERVAL_MS)) => {}
        }
    }
}
