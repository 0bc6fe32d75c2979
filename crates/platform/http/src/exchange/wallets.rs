//! Wallets (`docs/exchange.md` §1): suspensions mirrored, cash compared with the chain
//! wallet, the alarm, and the opening mint of the upgrade path.

use super::{ExchangeError, ledger_err, run};
use crate::AppState;
use crate::trade_ledger::TradeLedger;
use std::collections::BTreeSet;
use std::sync::Arc;
use suanli_platform_domain::OrgId;
use suanli_platform_domain::audit::{AuditEvent, Outcome};
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::trades::wallet_name;
use suanli_platform_store::OpsStore;

/// Mirrors organisations' suspension onto their wallets: the wallet of a suspended
/// organisation is suspended (it pays no new order, `wallet_suspended`), resumed when the
/// organisation is active again. Only wallets the chain knows are touched.
pub async fn mirror_suspensions(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
) -> Result<u64, ExchangeError> {
    let mut changed = 0;
    for (org, _) in store.mirror_expected().await? {
        // One wallet the chain cannot read or suspend does not keep the others'.
        match mirror_suspension(store, ledger, org).await {
            Ok(c) => changed += u64::from(c),
            Err(e) => {
                tracing::warn!(org = org.get(), error = %e, "wallet suspension not mirrored this pass");
            }
        }
    }
    Ok(changed)
}

/// Mirrors one organisation's suspension onto its wallet; whether it changed.
async fn mirror_suspension(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
    org: suanli_platform_domain::OrgId,
) -> Result<bool, ExchangeError> {
    let Some(rec) = store.get_org(org).await? else {
        return Ok(false);
    };
    let want = rec.status == suanli_platform_domain::OrgStatus::Suspended;
    let (l, w) = (Arc::clone(ledger), wallet_name(org));
    let Some(view) = run(move || l.wallet_view(&w))
        .await
        .map_err(|e| ledger_err(&e))?
    else {
        return Ok(false);
    };
    if view.suspended == want {
        return Ok(false);
    }
    let (l, w) = (Arc::clone(ledger), wallet_name(org));
    run(move || l.set_suspended(&w, want))
        .await
        .map_err(|e| ledger_err(&e))?;
    tracing::info!(
        org = org.get(),
        suspended = want,
        "wallet suspension mirrored"
    );
    Ok(true)
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

/// Raises the wallet alarm for `d` (metric, `wallet_alarms` row, error log, audit record
/// `wallet_alarm` whose target names the wallet, both amounts and, when given, `why`).
pub(super) async fn alarm(
    s: &AppState,
    d: &WalletDifference,
    why: Option<&str>,
) -> Result<(), ExchangeError> {
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
            "{}: journal {} fen, chain {} fen{}",
            wallet_name(org),
            d.journal_fen,
            d.chain_fen,
            why.map(|w| format!(": {w}")).unwrap_or_default()
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

/// The reference of organisation `org`'s opening mint (once per wallet: the chain
/// refuses a second use of a reference with `reference_used`).
pub fn opening_reference(org: OrgId) -> String {
    format!("opening:{}", org.get())
}

/// The setting that records that every organisation's opening is decided: no opening
/// runs again (`docs/exchange.md` §1).
pub const OPENING_DONE_SETTING: &str = "exchange.opening.done";

/// The setting that records organisation `org`'s opening (the amount minted, `0` when
/// nothing was), written before the mint is sent: an organisation is opened once.
pub fn opening_setting(org: OrgId) -> String {
    format!("exchange.opening.org:{}", org.get())
}

/// The upgrade path (`docs/exchange.md` §1): cash the journal held before the wallets
/// existed was never minted. Run by the worker after its first full pass at a start, under
/// the operator lock (no mirror instruction is sent meanwhile), until every
/// organisation's opening is decided and recorded in the store (`OPENING_DONE_SETTING`),
/// never after. Each organisation is decided once (`opening_setting`, recorded before its
/// mint of (cash − wallet) with reference [`opening_reference`] is sent) — see
/// `open_one` for when. No opening runs while any mirror instruction is marked failed.
/// Answers how many mints were applied.
pub async fn opening_mints(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
    mirror: &Arc<dyn crate::payment::SettlementMirror>,
) -> Result<u64, ExchangeError> {
    if store.get_setting(OPENING_DONE_SETTING).await?.is_some() {
        return Ok(0);
    }
    if store.mirror_failed_count().await?.0 > 0 {
        tracing::warn!("opening mints wait: a mirror instruction is marked failed");
        return Ok(0);
    }
    let (mut minted, mut undecided) = (0u64, false);
    for (org, _) in store.mirror_expected().await? {
        if store.get_setting(&opening_setting(org)).await?.is_some() {
            continue;
        }
        match open_one(store, ledger, mirror, org).await {
            Ok(Some(m)) => minted += u64::from(m),
            Ok(None) => undecided = true,
            Err(e) => {
                tracing::warn!(org = org.get(), error = %e, "opening not decided: again at the next start");
                undecided = true;
            }
        }
    }
    if !undecided {
        store.put_setting(OPENING_DONE_SETTING, "1").await?;
    }
    Ok(minted)
}

/// Decides one organisation's opening: `None` when it cannot be decided now (an order
/// `placing`, a mirror instruction pending); otherwise whether a mint was applied. The
/// wallet is read first, then its trade history on the chain, then the cash: an
/// organisation whose wallet paid any chain trade, or that has any trade row, is
/// recorded as opened with 0 (its wallet and cash moved apart by trades; the alarm names
/// any difference). For the others only mirror instructions moved the wallet, none is
/// pending and none is sent meanwhile, so (cash − wallet) is exactly the cash never
/// minted.
async fn open_one(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
    mirror: &Arc<dyn crate::payment::SettlementMirror>,
    org: OrgId,
) -> Result<Option<bool>, ExchangeError> {
    let m = Arc::clone(mirror);
    let wallet = run(move || m.balance(org))
        .await
        .map_err(|e| ledger_err(&e))?;
    let traded = wallet_traded(ledger, org).await?;
    let cash = store
        .mirror_expected()
        .await?
        .into_iter()
        .find_map(|(o, c)| (o == org).then_some(c))
        .unwrap_or(0);
    let Some(lagging) = orgs_pending(store).await? else {
        return Ok(None);
    };
    if lagging.contains(&org) || store.orgs_placing().await?.contains(&org) {
        return Ok(None);
    }
    let has_rows = !store.list_trades(Some(org), 0, 1).await?.is_empty();
    let gap = if traded || has_rows {
        0
    } else {
        cash.saturating_sub(wallet).max(0)
    };
    store
        .put_setting(&opening_setting(org), &gap.to_string())
        .await?;
    if gap == 0 {
        return Ok(Some(false));
    }
    let amount = Fen::new(gap).map_err(|e| ExchangeError::Ledger(e.to_string()))?;
    debug_assert_eq!(
        amount.get() + wallet,
        cash,
        "the opening brings the wallet to the cash"
    );
    let (m, reference) = (Arc::clone(mirror), opening_reference(org));
    match run(move || m.mint(org, amount, &reference)).await {
        Ok(_) => {
            tracing::info!(
                org = org.get(),
                fen = gap,
                "opening mint: the wallet now holds the journal's cash"
            );
            Ok(Some(true))
        }
        Err(e) => {
            // Recorded: not sent again (the alarm names the difference).
            tracing::error!(org = org.get(), fen = gap, error = %suanli_primitives::error_chain(&e), "opening mint not applied");
            Ok(Some(false))
        }
    }
}

/// Whether any member of `org`'s wallet has a trade on the chain paid from it (read from
/// the start of each member's history; a history longer than one read counts as traded).
async fn wallet_traded(ledger: &Arc<dyn TradeLedger>, org: OrgId) -> Result<bool, ExchangeError> {
    let wallet = wallet_name(org);
    let (l, w) = (Arc::clone(ledger), wallet.clone());
    let Some(view) = run(move || l.wallet_view(&w))
        .await
        .map_err(|e| ledger_err(&e))?
    else {
        return Ok(false);
    };
    let limit = super::import::IMPORT_SCAN_MAX;
    for m in &view.members {
        let (l, did) = (Arc::clone(ledger), m.did.clone());
        let (next, orders) = run(move || l.consumer_orders(&did, 0, limit))
            .await
            .map_err(|e| ledger_err(&e))?;
        if next >= u64::from(limit)
            || orders
                .iter()
                .any(|o| o.wallet.as_deref() == Some(wallet.as_str()))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The wallet alarm for a mirror instruction the chain definitely refused
/// (`outbox::FailedInstruction`): the organisation's cash and wallet as they stand, and
/// why (`mirror {op} of {amount} fen refused: {code}`). Answers the amounts alarmed.
pub(super) async fn failed_instruction_alarm(
    s: &AppState,
    f: &super::outbox::FailedInstruction,
) -> Result<(i64, i64), ExchangeError> {
    let journal = s
        .store
        .mirror_expected()
        .await?
        .into_iter()
        .find_map(|(o, cash)| (o == f.org).then_some(cash))
        .unwrap_or(0);
    let chain = match &s.trade_ledger {
        Some(l) => {
            let (l, w) = (Arc::clone(l), wallet_name(f.org));
            run(move || l.wallet_view(&w))
                .await
                .map_err(|e| ledger_err(&e))?
                .map_or(0, |v| v.balance_fen)
        }
        None => 0,
    };
    let d = WalletDifference {
        org: f.org.get(),
        journal_fen: journal,
        chain_fen: chain,
    };
    let why = format!(
        "mirror {} of {} fen refused: {}",
        f.op,
        f.amount.get(),
        f.code
    );
    alarm(s, &d, Some(&why)).await?;
    Ok((journal, chain))
}
