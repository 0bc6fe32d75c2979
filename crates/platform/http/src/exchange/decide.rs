//! Deciding an order still `placing` (`docs/exchange.md` §2, step 6): its stored bytes
//! submitted again and the chain's definite answer recorded, one decider per serial.

use super::follow::{audit_mismatch, same_order};
use super::run;
use crate::trade_book::ChainTrade;
use crate::trade_ledger::{Submitted, TradeLedger};
use std::collections::BTreeMap;
use std::sync::Arc;
use suanli_platform_domain::trades::TradeStatus;
use suanli_platform_store::{OpsStore, StoreError, TradeRecord};

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
/// `nonce_replayed`), and reversing the escrow would give back cash the wallet paid —
/// but only when the chain's trade is this order (`same_placed`): a trade of the same
/// serial placed by another transaction (another offer, value, wallet or consumer) means
/// these bytes can never apply, so the order is refused (`trade_mismatch`, escrow
/// reversed) and the mismatch audited.
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
                Ok(Some(chain)) => {
                    let did = store.get_user_key(current.user).await?.and_then(|k| k.did);
                    if let Err(why) = same_placed(&current, &chain, did.as_deref()) {
                        return refuse_mismatch(store, &current, &why, now_ms).await;
                    }
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

/// Whether the chain's trade `chain` is the `placing` order `trade` as stored: the same
/// serial, wallet, consumer and offer (`same_order`), and the chain's ordered value (what
/// the escrow received less its top-ups) equal to the order's value.
pub fn same_placed(
    trade: &TradeRecord,
    chain: &ChainTrade,
    consumer_did: Option<&str>,
) -> Result<(), String> {
    same_order(trade, chain, consumer_did)?;
    let topped: i64 = chain.topups.iter().map(|t| t.amount_fen.get()).sum();
    let ordered = chain.funded_fen.get().saturating_sub(topped);
    if ordered == trade.value.get() {
        Ok(())
    } else {
        Err(format!(
            "trade {}: the chain's trade is not the stored order: ordered {ordered} fen (not {})",
            trade.serial,
            trade.value.get()
        ))
    }
}

/// A `placing` order whose serial the chain holds for another trade: its bytes can never
/// apply, so it is refused with code `trade_mismatch` (escrow entry reversed) and the
/// mismatch logged and audited (`trade_mismatch`, outcome `error`).
pub(super) async fn refuse_mismatch(
    store: &dyn OpsStore,
    trade: &TradeRecord,
    why: &str,
    now_ms: i64,
) -> Result<TradeRecord, StoreError> {
    audit_mismatch(store, trade, why, now_ms).await?;
    store
        .trade_refused(&trade.serial, "trade_mismatch", why, now_ms)
        .await
}
