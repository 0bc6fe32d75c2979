//! Trades placed on the chain past the platform (`docs/exchange.md` §3, "Orders placed
//! past the platform"): a member who exported its DID key can sign an order paid from
//! its organisation's wallet and send it to the chain itself. The chain escrows from the
//! wallet; the journal must follow, or the wallet would fall below the cash for good.
//!
//! Each pass reads, for every organisation's wallet on the chain, each member's trade
//! history from where it last stopped ([`Cursors`], in memory: a restart reads the
//! histories again, which imports nothing twice). A trade paid from that wallet whose
//! serial the platform does not hold is imported (source `chain`): stored `placed` with
//! its escrow entry `trade-order:{serial}` (Dr cash, Cr trade escrow, no cash check: the
//! wallet has paid already), after which the journal follows its records like any other
//! trade's. The platform stores each of its own orders before it submits it, so a serial
//! it does not hold was never its order.

use super::{ExchangeError, ledger_err, run};
use crate::trade_ledger::{ChainOrder, TradeLedger};
use std::collections::BTreeMap;
use std::sync::Arc;
use suanli_platform_domain::OrgId;
use suanli_platform_domain::audit::{AuditEvent, Outcome};
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::trades::{order_tx, wallet_name};
use suanli_platform_store::{NewTrade, OpsStore};

/// Most history entries read per pass, over all members (the rest at the next pass).
pub const IMPORT_SCAN_MAX: u32 = 1_000;

/// How far each member DID's chain history was read (entries from the oldest).
#[derive(Debug, Default, Clone)]
pub struct Cursors(BTreeMap<String, u64>);

/// An audit record of an import (`trade_imported`, success) or of a trade that cannot
/// be imported (`trade_import_failed`, error).
async fn audit(
    store: &dyn OpsStore,
    org: OrgId,
    action: &str,
    target: String,
    outcome: Outcome,
    now_ms: i64,
) -> Result<(), ExchangeError> {
    let event = AuditEvent {
        at_ms: now_ms,
        actor_user: None,
        actor_org: Some(org.get()),
        action: action.into(),
        target,
        ip: String::new(),
        user_agent: "exchange worker".into(),
        outcome,
        status: 0,
    };
    store.append_audit(&event.bounded()).await?;
    Ok(())
}

/// Imports one order paid from `org`'s wallet, if the platform does not hold its serial;
/// whether it was imported.
async fn import_one(
    store: &dyn OpsStore,
    org: OrgId,
    user: suanli_platform_domain::UserId,
    o: &ChainOrder,
    now_ms: i64,
) -> Result<bool, ExchangeError> {
    if store.get_trade(&o.serial).await?.is_some() {
        return Ok(false);
    }
    let offer = match store.offer_by_chain_id(o.chain_offer_id).await? {
        Some(id) => store.get_offer(id).await?,
        None => None,
    };
    let Some(offer) = offer else {
        let why = format!(
            "{}: trade {} names chain offer {}, which the platform does not list",
            wallet_name(org),
            o.serial,
            o.chain_offer_id
        );
        tracing::error!(serial = %o.serial, org = org.get(), "{why}");
        audit(
            store,
            org,
            "trade_import_failed",
            why,
            Outcome::Error,
            now_ms,
        )
        .await?;
        return Ok(false);
    };
    let value = Fen::new(o.value_fen).map_err(|e| ExchangeError::Funding(e.to_string()))?;
    let escrow =
        order_tx(org, &o.serial, value).map_err(|e| ExchangeError::Funding(e.to_string()))?;
    debug_assert_eq!(
        escrow.total(),
        value,
        "the import escrows the order's value"
    );
    let new = NewTrade {
        serial: o.serial.clone(),
        org,
        user,
        offer_id: offer.id,
        chain_offer_id: o.chain_offer_id,
        supplier_org: offer.org,
        units: o.units,
        duration_minutes: o.duration_minutes,
        payg: o.payg,
        value,
        source: "chain",
        idem_key: format!("{}{}", crate::service::trades::IMPORT_KEY_PREFIX, o.serial),
        body_digest: o.tx_ref.clone(),
        tx_ref: o.tx_ref.clone(),
        tx_hex: String::new(),
        at_ms: now_ms,
    };
    let (_, imported) = store.import_trade(&new, &escrow).await?;
    if imported {
        tracing::warn!(serial = %o.serial, org = org.get(), fen = o.value_fen, "trade placed on the chain past the platform: imported");
        let target = format!(
            "{}: trade {} ({} fen) placed on the chain by {}",
            wallet_name(org),
            o.serial,
            o.value_fen,
            o.consumer
        );
        audit(
            store,
            org,
            "trade_imported",
            target,
            Outcome::Success,
            now_ms,
        )
        .await?;
    }
    Ok(imported)
}

/// A trade whose import failed with `e`: an error in the log and an audit record
/// (`trade_import_failed`, outcome `error`); the pass goes on with the next trade.
async fn import_failed(
    store: &dyn OpsStore,
    org: OrgId,
    o: &ChainOrder,
    e: &ExchangeError,
    now_ms: i64,
) -> Result<(), ExchangeError> {
    let why = format!("{}: trade {} not imported: {e}", wallet_name(org), o.serial);
    tracing::error!(serial = %o.serial, org = org.get(), code = e.code(), "{why}");
    audit(
        store,
        org,
        "trade_import_failed",
        why,
        Outcome::Error,
        now_ms,
    )
    .await
}

/// Imports every wallet-paid trade the chain holds and the platform does not (see the
/// module documentation); how many were imported.
pub async fn import_foreign(
    store: &dyn OpsStore,
    ledger: &Arc<dyn TradeLedger>,
    cursors: &mut Cursors,
    now_ms: i64,
) -> Result<u64, ExchangeError> {
    let mut budget = IMPORT_SCAN_MAX;
    let mut imported = 0u64;
    for (org, _) in store.mirror_expected().await? {
        let wallet = wallet_name(org);
        let (l, w) = (Arc::clone(ledger), wallet.clone());
        let view = match run(move || l.wallet_view(&w)).await {
            Ok(Some(v)) => v,
            Ok(None) => continue,
            Err(e) => {
                // One wallet the chain cannot show does not keep the others' imports.
                tracing::warn!(org = org.get(), error = %ledger_err(&e), "wallet not read for imports this pass");
                continue;
            }
        };
        let limits = store.member_limits(org).await?;
        for m in &view.members {
            if budget == 0 {
                return Ok(imported);
            }
            let from = cursors.0.get(&m.did).copied().unwrap_or(0);
            let (l, did) = (Arc::clone(ledger), m.did.clone());
            let (next, orders) = match run(move || l.consumer_orders(&did, from, budget)).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(org = org.get(), did = %m.did, error = %ledger_err(&e), "member's history not read for imports this pass");
                    continue;
                }
            };
            let user = limits.iter().find(|x| x.did == m.did).map(|x| x.user);
            for o in &orders {
                if o.wallet.as_deref() != Some(wallet.as_str()) {
                    continue;
                }
                match user {
                    Some(u) => match import_one(store, org, u, o, now_ms).await {
                        Ok(n) => imported += u64::from(n),
                        // One trade that cannot be imported (a store refusal, an amount
                        // out of range) is logged and audited; the others go on.
                        Err(e) => import_failed(store, org, o, &e, now_ms).await?,
                    },
                    None if store.get_trade(&o.serial).await?.is_none() => {
                        let why = format!(
                            "{wallet}: trade {} was ordered by {}, a member the platform has no user for",
                            o.serial, m.did
                        );
                        audit(
                            store,
                            org,
                            "trade_import_failed",
                            why,
                            Outcome::Error,
                            now_ms,
                        )
                        .await?;
                    }
                    None => {}
                }
            }
            let read = u32::try_from(next.saturating_sub(from)).unwrap_or(u32::MAX);
            budget = budget.saturating_sub(read);
            cursors.0.insert(m.did.clone(), next.max(from));
        }
    }
    Ok(imported)
}
