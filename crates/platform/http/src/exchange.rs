//! The exchange worker (issue 18, `docs/exchange.md` §1–3), run by `suanli serve` on a
//! timer (and woken after each order): one pass sends the wallet-mirror outbox (mint on
//! cash in, burn on cash out), mirrors members' limits, decides orders still `placing`
//! (resubmitting their stored bytes), posts the journal entries that follow placed
//! trades' chain records, and compares each organisation's cash with its chain wallet —
//! a difference seen twice in a row raises an alarm (metric, audit record, operator
//! notice in `wallet_alarms`). The store-level steps are plain functions so that
//! `suanli ops reconcile` runs the same ones.

use crate::payment::pump_mirror;
use crate::trade_book::ChainTrade;
use crate::trade_ledger::{Submitted, TradeLedger};
use crate::{AppState, PortError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use suanli_platform_domain::OrgId;
use suanli_platform_domain::audit::{AuditEvent, Outcome};
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::trades::{
    ChainSettlement, TradeStatus, sync_entries, topup_tx, wallet_name,
};
use suanli_platform_store::{OpsStore, StoreError, TradeRecord, TradeSync};

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

fn ledger_err(e: &PortError) -> ExchangeError {
    ExchangeError::Ledger(suanli_primitives::error_chain(e))
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PortError> + Send + 'static,
) -> Result<T, PortError> {
    crate::service::trades::blocking(f).await
}

/// The deciders of serials being decided in this process: one owner per serial, shared
/// by the order's request and the worker (`decide`).
static DECIDING: std::sync::LazyLock<
    std::sync::Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
> = std::sync::LazyLock::new(Default::default);

/// The right to decide one serial, released (and forgotten when nobody waits) on drop.
struct Decider {
    serial: String,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for Decider {
    fn drop(&mut self) {
        let mut map = DECIDING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The map's handle and this guard's mutex: nobody else waits for it.
        if map
            .get(&self.serial)
            .is_some_and(|m| Arc::strong_count(m) <= 2)
        {
            map.remove(&self.serial);
        }
    }
}

async fn claim(serial: &str) -> Decider {
    let m = {
        let mut map = DECIDING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(serial.to_owned()).or_default())
    };
    Decider {
        serial: serial.to_owned(),
        _guard: m.lock_owned().await,
    }
}

/// Submits a `placing` trade's stored bytes and records a definite answer (placed, or
/// refused with the escrow entry reversed); an unknown outcome leaves it `placing`.
///
/// One decider per serial at a time (the request that placed the order and the worker
/// share it); a decider that waited finds the row decided and answers it. A refusal is
/// recorded only when the chain, asked again, does not hold the trade: another decider's
/// submission of the same bytes may have been taken (the second answer is then
/// `nonce_replayed`), and reversing the escrow would give back cash the wallet paid.
pub async fn decide(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
    trade: &TradeRecord,
    now_ms: i64,
) -> Result<TradeRecord, StoreError> {
    let _owner = claim(&trade.serial).await;
    let current = store
        .get_trade(&trade.serial)
        .await?
        .unwrap_or_else(|| trade.clone());
    if current.status != TradeStatus::Placing {
        return Ok(current);
    }
    let (l, hex) = (Arc::clone(ledger), current.tx_hex.clone());
    match run(move || l.submit(&hex)).await {
        Ok(Submitted::Applied) => store.trade_placed(&current.serial, now_ms).await,
        Ok(Submitted::Refused { code, message }) => {
            let (l, serial) = (Arc::clone(ledger), current.serial.clone());
            match run(move || l.trade_status(&serial)).await {
                Ok(None) => {
                    store
                        .trade_refused(&current.serial, &code, &message, now_ms)
                        .await
                }
                Ok(Some(_)) => {
                    tracing::warn!(serial = %current.serial, code = %code, "refused submission, but the chain holds the trade: placed");
                    store.trade_placed(&current.serial, now_ms).await
                }
                Err(e) => {
                    tracing::warn!(serial = %current.serial, code = %code, error = %suanli_primitives::error_chain(&e), "refusal not confirmed by the chain: decided at the next pass");
                    Ok(current)
                }
            }
        }
        Err(e) => {
            tracing::warn!(serial = %current.serial, error = %suanli_primitives::error_chain(&e), "order outcome unknown: resubmitted at the next pass");
            Ok(current)
        }
    }
}

/// What the journal follows of `chain` for `trade`: its top-ups (`trade-topup:{serial}:{n}`,
/// Dr cash, Cr trade escrow), check-ins and refund, bounded by what the chain says the
/// escrow received (`funded_fen`), never by the order's value alone.
fn funding(e: impl std::fmt::Display) -> ExchangeError {
    ExchangeError::Funding(e.to_string())
}

pub fn sync_of(trade: &TradeRecord, chain: &ChainTrade) -> Result<TradeSync, ExchangeError> {
    let settlements: Vec<ChainSettlement> = chain
        .checkins
        .iter()
        .map(|c| ChainSettlement {
            n: c.n,
            cost: c.cost_fen,
        })
        .collect();
    let topped = Fen::sum(chain.topups.iter().map(|t| t.amount_fen)).map_err(funding)?;
    let ordered = chain.funded_fen.checked_sub(topped).map_err(funding)?;
    // The row holds the order's value plus the top-ups followed so far.
    if ordered > trade.value || trade.value > chain.funded_fen {
        return Err(ExchangeError::Funding(format!(
            "trade {}: the chain funded {} fen ({} fen ordered), the platform escrowed {} fen",
            trade.serial,
            chain.funded_fen.get(),
            ordered.get(),
            trade.value.get()
        )));
    }
    let mut entries = Vec::with_capacity(chain.topups.len());
    for (i, t) in chain.topups.iter().enumerate() {
        let n = u32::try_from(i + 1).map_err(funding)?;
        entries.push(topup_tx(trade.org, &trade.serial, n, t.amount_fen).map_err(funding)?);
    }
    let refund = chain.close.as_ref().map(|c| c.refund_fen);
    entries.extend(
        sync_entries(
            trade.org,
            &trade.serial,
            chain.funded_fen,
            &settlements,
            refund,
        )
        .map_err(funding)?,
    );
    let paid = Fen::sum(settlements.iter().map(|s| s.cost)).map_err(funding)?;
    let status = match chain.status.as_str() {
        "closed" => TradeStatus::Closed,
        "active" => TradeStatus::Active,
        _ => TradeStatus::Placed,
    };
    Ok(TradeSync {
        entries,
        funded: chain.funded_fen,
        status,
        close_reason: chain.close.as_ref().map(|c| c.reason.clone()),
        paid,
        refunded: refund.unwrap_or(Fen::ZERO),
        checkins: u32::try_from(chain.checkins.len()).unwrap_or(u32::MAX),
    })
}

/// Whether the chain's trade `chain` is the stored order `trade`: the same serial, paid
/// from the organisation's wallet, ordered by the member's DID (`consumer_did`, when the
/// member has one). `Err` says what differs.
pub fn same_order(
    trade: &TradeRecord,
    chain: &ChainTrade,
    consumer_did: Option<&str>,
) -> Result<(), String> {
    let wallet = wallet_name(trade.org);
    let mut wrong = Vec::new();
    if chain.serial != trade.serial {
        wrong.push(format!("serial {}", chain.serial));
    }
    if chain.wallet.as_deref() != Some(wallet.as_str()) {
        wrong.push(format!("wallet {:?} (not {wallet})", chain.wallet));
    }
    if consumer_did.is_some_and(|d| d != chain.consumer) {
        wrong.push(format!("consumer {}", chain.consumer));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "trade {}: the chain's trade is not the stored order: {}",
            trade.serial,
            wrong.join(", ")
        ))
    }
}

/// A chain trade that is not the stored order: an error in the log and an audit record
/// (`trade_mismatch`, outcome `error`); no entries are posted.
async fn mismatch(
    store: &dyn OpsStore,
    trade: &TradeRecord,
    why: &str,
    now_ms: i64,
) -> ExchangeError {
    tracing::error!(serial = %trade.serial, org = trade.org.get(), why, "trade alarm: the chain's trade is not the stored order");
    let event = AuditEvent {
        at_ms: now_ms,
        actor_user: None,
        actor_org: Some(trade.org.get()),
        action: "trade_mismatch".into(),
        target: why.to_owned(),
        ip: String::new(),
        user_agent: "exchange worker".into(),
        outcome: Outcome::Error,
        status: 0,
    };
    if let Err(e) = store.append_audit(&event.bounded()).await {
        return ExchangeError::Store(e);
    }
    ExchangeError::Mismatch(why.to_owned())
}

/// Follows one live trade: a `placing` one the chain does not have is resubmitted; one it
/// has is checked to be the stored order (`same_order`), then gets its entries posted and
/// its status recorded.
pub async fn sync_trade(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
    trade: &TradeRecord,
    now_ms: i64,
) -> Result<TradeRecord, ExchangeError> {
    let (l, serial) = (Arc::clone(ledger), trade.serial.clone());
    let chain = run(move || l.trade_status(&serial))
        .await
        .map_err(|e| ledger_err(&e))?;
    match chain {
        None if trade.status == TradeStatus::Placing => {
            Ok(decide(store, ledger, trade, now_ms).await?)
        }
        None => Ok(trade.clone()),
        Some(c) => {
            let did = store.get_user_key(trade.user).await?.and_then(|k| k.did);
            if let Err(why) = same_order(trade, &c, did.as_deref()) {
                return Err(mismatch(store, trade, &why, now_ms).await);
            }
            let sync = sync_of(trade, &c)?;
            Ok(store.trade_synced(&trade.serial, &sync, now_ms).await?)
        }
    }
}

/// Follows every live trade; how many changed.
pub async fn sync_all(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
    now_ms: i64,
) -> Result<u64, ExchangeError> {
    let mut after = String::new();
    let mut changed = 0u64;
    loop {
        let page = store.live_trades(&after, SYNC_PAGE_MAX).await?;
        let Some(last) = page.last() else {
            return Ok(changed);
        };
        after = last.serial.clone();
        for t in &page {
            match sync_trade(store, ledger, t, now_ms).await {
                Ok(n) if n != *t => changed += 1,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(serial = %t.serial, error = %e, "trade not followed this pass")
                }
            }
        }
    }
}

/// Mirrors organisations' suspension onto their wallets: the wallet of a suspended
/// organisation is suspended (it pays no new order, `wallet_suspended`), resumed when the
/// organisation is active again. Only wallets the chain knows are touched.
pub async fn mirror_suspensions(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
) -> Result<u64, ExchangeError> {
    let mut changed = 0;
    for (org, _) in store.mirror_expected().await? {
        let Some(rec) = store.get_org(org).await? else {
            continue;
        };
        let want = rec.status == suanli_platform_domain::OrgStatus::Suspended;
        let (l, w) = (Arc::clone(ledger), wallet_name(org));
        let Some(view) = run(move || l.wallet_view(&w))
            .await
            .map_err(|e| ledger_err(&e))?
        else {
            continue;
        };
        if view.suspended != want {
            let (l, w) = (Arc::clone(ledger), wallet_name(org));
            run(move || l.set_suspended(&w, want))
                .await
                .map_err(|e| ledger_err(&e))?;
            tracing::info!(
                org = org.get(),
                suspended = want,
                "wallet suspension mirrored"
            );
            changed += 1;
        }
    }
    Ok(changed)
}

/// One organisation whose journal cash and chain wallet differ.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalletDifference {
    /// The organisation.
    pub org: i64,
    /// Its cash in the journal, fen.
    pub journal_fen: i64,
    /// Its wallet on the chain, fen.
    pub chain_fen: i64,
}

/// Most pending mirror instructions read to tell which organisations' wallets lag the
/// journal; with more pending, no wallet is compared that pass.
pub const PENDING_SCAN_MAX: u32 = 1_000;

/// The organisations with mirror instructions still pending (their wallets lag the
/// journal by them); `None` when more than [`PENDING_SCAN_MAX`] are pending.
pub async fn orgs_pending(store: &dyn OpsStore) -> Result<Option<BTreeSet<OrgId>>, ExchangeError> {
    let pending = store.mirror_pending(PENDING_SCAN_MAX).await?;
    if pending.len() >= usize::try_from(PENDING_SCAN_MAX).unwrap_or(usize::MAX) {
        return Ok(None);
    }
    Ok(Some(pending.into_iter().map(|m| m.org).collect()))
}

/// Compares every organisation's cash with its chain wallet, skipping those with an order
/// still `placing` (their wallet may lag by it) and those in `lagging` (mirror
/// instructions pending, [`orgs_pending`]). Answers (organisations compared,
/// differences).
pub async fn compare_wallets(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
    lagging: &BTreeSet<OrgId>,
) -> Result<(usize, Vec<WalletDifference>), ExchangeError> {
    let placing = store.orgs_placing().await?;
    let mut diffs = Vec::new();
    let mut n = 0;
    for (org, cash) in store.mirror_expected().await? {
        if placing.contains(&org) || lagging.contains(&org) {
            continue;
        }
        n += 1;
        let (l, w) = (Arc::clone(ledger), wallet_name(org));
        let chain = run(move || l.wallet_view(&w))
            .await
            .map_err(|e| ledger_err(&e))?
            .map_or(0, |v| v.balance_fen);
        if chain != cash {
            diffs.push(WalletDifference {
                org: org.get(),
                journal_fen: cash,
                chain_fen: chain,
            });
        }
    }
    Ok((n, diffs))
}

/// The worker's memory between passes: differences seen last pass, alarms raised.
#[derive(Debug, Default)]
pub struct Watch {
    seen: BTreeMap<i64, (i64, i64)>,
    alarmed: BTreeMap<i64, (i64, i64)>,
}

async fn alarm(s: &AppState, d: &WalletDifference) -> Result<(), ExchangeError> {
    let org = OrgId::new(d.org).ok_or_else(|| ExchangeError::Ledger("org id".into()))?;
    let now = s.clock.now_unix_ms();
    s.store
        .raise_wallet_alarm(org, d.journal_fen, d.chain_fen, now)
        .await?;
    s.metrics.wallet_alarm();
    tracing::error!(
        org = d.org,
        journal_fen = d.journal_fen,
        chain_fen = d.chain_fen,
        "wallet alarm: the organisation's cash and its chain wallet differ"
    );
    let event = AuditEvent {
        at_ms: now,
        actor_user: None,
        actor_org: None,
        action: "wallet_alarm".into(),
        target: format!(
            "{}: journal {} fen, chain {} fen",
            wallet_name(org),
            d.journal_fen,
            d.chain_fen
        ),
        ip: String::new(),
        user_agent: "exchange worker".into(),
        outcome: Outcome::Error,
        status: 0,
    };
    let rec = s.store.append_audit(&event.bounded()).await?;
    s.metrics.audit(true);
    if let Some(a) = &s.anchor
        && let Err(e) = a.anchor(rec.seq, rec.hash)
    {
        tracing::warn!(error = %e, "audit head not anchored");
    }
    Ok(())
}

/// One pass of the worker (see the module documentation).
pub async fn pass(s: &AppState, watch: &mut Watch) -> Result<(), ExchangeError> {
    let now = s.clock.now_unix_ms();
    {
        // One operator-key signer at a time (`AppState::operator_lock`).
        let _signing = s.operator_lock.lock().await;
        if let Some(m) = &s.mirror {
            pump_mirror(s.store.as_ref(), m.as_ref(), now).await?;
        }
        if let Some(l) = &s.trade_ledger {
            crate::service::trade_members::push_limits(s)
                .await
                .map_err(|e| ExchangeError::Ledger(e.to_string()))?;
            mirror_suspensions(s.store.as_ref(), l).await?;
        }
    }
    let Some(ledger) = s.trade_ledger.clone() else {
        return Ok(());
    };
    sync_all(s.store.as_ref(), &ledger, now).await?;
    crate::service::trade_notices::relay(s).await; // issue 18, billing: notices → messages
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
            alarm(s, d).await?;
            watch.alarmed.insert(d.org, v);
        }
        seen.insert(d.org, v);
    }
    watch.alarmed.retain(|o, _| seen.contains_key(o));
    watch.seen = seen;
    Ok(())
}

/// The reference of organisation `org`'s opening mint (once per wallet: the chain
/// refuses a second use of a reference with `reference_used`).
pub fn opening_reference(org: OrgId) -> String {
    format!("opening:{}", org.get())
}

/// The upgrade path (`docs/exchange.md` §1): cash the journal held before the wallets
/// existed was never minted. Once the trades are followed, every organisation whose
/// wallet is behind its cash — none of its orders `placing`, none of its mirror
/// instructions pending — gets one mint of (cash − wallet) with reference
/// [`opening_reference`]. Run at each start; the chain applies it once per organisation.
/// Answers how many were applied.
pub async fn opening_mints(
    store: &dyn OpsStore,
    mirror: &Arc<dyn crate::payment::SettlementMirror>,
) -> Result<u64, ExchangeError> {
    let placing = store.orgs_placing().await?;
    let Some(lagging) = orgs_pending(store).await? else {
        return Ok(0);
    };
    let mut minted = 0u64;
    for (org, cash) in store.mirror_expected().await? {
        if placing.contains(&org) || lagging.contains(&org) {
            continue;
        }
        let m = Arc::clone(mirror);
        let wallet = run(move || m.balance(org))
            .await
            .map_err(|e| ledger_err(&e))?;
        let gap = cash.saturating_sub(wallet);
        if gap <= 0 {
            continue;
        }
        let amount = Fen::new(gap).map_err(|e| ExchangeError::Ledger(e.to_string()))?;
        let (m, reference) = (Arc::clone(mirror), opening_reference(org));
        match run(move || m.mint(org, amount, &reference)).await {
            Ok(_) => {
                minted += 1;
                tracing::info!(
                    org = org.get(),
                    fen = gap,
                    "opening mint: the wallet now holds the journal's cash"
                );
            }
            Err(e) => {
                tracing::warn!(org = org.get(), fen = gap, error = %suanli_primitives::error_chain(&e), "opening mint not applied (the chain applies one per organisation)");
            }
        }
    }
    Ok(minted)
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
