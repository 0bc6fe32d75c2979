//! The journal follows the chain (`docs/exchange.md` §3): a live trade's chain records
//! become its journal entries (top-ups, check-ins, the refund), once each.

use super::{ExchangeError, SYNC_PAGE_MAX, decide, ledger_err, run};
use crate::trade_book::ChainTrade;
use crate::trade_ledger::TradeLedger;
use std::sync::Arc;
use suanli_platform_domain::audit::{AuditEvent, Outcome};
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::trades::{
    ChainSettlement, TradeStatus, sync_entries, topup_tx, wallet_name,
};
use suanli_platform_store::{OpsStore, StoreError, TradeRecord, TradeSync};

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
    if chain.offer_id != trade.chain_offer_id {
        wrong.push(format!(
            "offer {} (not {})",
            chain.offer_id, trade.chain_offer_id
        ));
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
/// (`trade_mismatch`, outcome `error`).
pub(super) async fn audit_mismatch(
    store: &dyn OpsStore,
    trade: &TradeRecord,
    why: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
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
    store.append_audit(&event.bounded()).await.map(|_| ())
}

/// [`audit_mismatch`], answered as the error that stops following the trade; no entries
/// are posted.
async fn mismatch(
    store: &dyn OpsStore,
    trade: &TradeRecord,
    why: &str,
    now_ms: i64,
) -> ExchangeError {
    if let Err(e) = audit_mismatch(store, trade, why, now_ms).await {
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
            if trade.status == TradeStatus::Placing {
                // Not yet decided: a trade of this serial that is not this order means
                // the order's bytes can never apply.
                if let Err(why) = super::decide::same_placed(trade, &c, did.as_deref()) {
                    return Ok(super::decide::refuse_mismatch(store, trade, &why, now_ms).await?);
                }
            }
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
