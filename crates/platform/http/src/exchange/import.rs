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
        // Not printable ASCII (a tab): no `Idempotency-Key` of the API can take it.
        idem_key: format!("chain\t{}", o.serial),
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
        let Some(view) = run(move || l.wallet_view(&w))
            .await
            .map_err(|e| ledger_err(&e))?
        else {
            continue;
        };
        let limits = store.member_limits(org).await?;
        for m in &view.members {
            if budget == 0 {
                return Ok(imported);
            }
            let from = cursors.0.get(&m.did).copied().unwrap_or(0);
            let (l, did) = (Arc::clone(ledger), m.did.clone());
            let (next, orders) = run(move || l.consumer_orders(&did, from, budget))
                .await
                .map_err(|e| ledger_err(&e))?;
            let user = limits.iter().find(|x| x.did == m.did).map(|x| x.user);
            match import_member(store, org, &wallet, &m.did, user, &orders, now_ms).await {
                Ok(n) => imported += n,
                Err(e) => {
                    // This member's entries are read again at the next pass; the others go on.
                    tracing::warn!(org = org.get(), did = %m.did, error = %e, "trades placed past the platform not imported");
                    continue;
                }
            }
            let read = u32::try_from(next.saturating_sub(from)).unwrap_or(u32::MAX);
            budget = budget.saturating_sub(read);
            cursors.0.insert(m.did.clone(), next.max(from));
        }
    }
    Ok(imported)
}

/// Imports one member's orders paid from `wallet` that the platform does not hold.
async fn import_member(
    store: &dyn OpsStore,
    org: OrgId,
    wallet: &str,
    did: &str,
    user: Option<suanli_platform_domain::UserId>,
    orders: &[ChainOrder],
    now_ms: i64,
) -> Result<u64, ExchangeError> {
    let mut imported = 0;
    for o in orders {
        if o.wallet.as_deref() != Some(wallet) {
            continue;
        }
        match user {
            Some(u) => imported += u64::from(import_one(store, org, u, o, now_ms).await?),
            None if store.get_trade(&o.serial).await?.is_none() => {
                let why = format!(
                    "{wallet}: trade {} was ordered by {did}, a member the platform has no user for",
                    o.serial
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
    Ok(imported)
}
