//! The top-up of a running trade from the organisation's wallet (`docs/exchange.md` §7),
//! checked against the journal's cash and idempotent on the caller's key.
//!
//! The wallet lags the journal by the mirror burns still pending, and the chain checks
//! only the wallet and the member's limit: so a top-up is refused
//! (`insufficient_balance`) beyond the organisation's **journal** cash, which already
//! counts those burns and every top-up the platform sent. One top-up per organisation at
//! a time in this process: its trade's chain records are followed into the journal
//! before the cash is read and again once the chain took it, so the next top-up reads a
//! cash that already paid this one; a top-up whose follow failed keeps its trade to be
//! followed before the organisation's next top-up.
//!
//! With an `Idempotency-Key`, the key is recorded (store setting
//! `trade-topup:{org}:{key}`) before the top-up is sent; a request with the same key
//! never sends again: it answers the trade (the same top-up) or the same refusal, or
//! `idempotency_conflict` for another trade or amount.

use super::trades::{CHAIN_REFUSALS, blocking, idem, own, unseal_own};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use suanli_platform_domain::rejection::MoneyRejection;
use suanli_platform_domain::trades::{ORDER_VALUE_MAX_FEN, TradeStatus};
use suanli_platform_domain::{OrgId, Permission};
use suanli_platform_store::{StoreError, TradeRecord};

/// Largest top-up, fen (an order's largest value).
pub const TOPUP_MAX_FEN: i64 = ORDER_VALUE_MAX_FEN;

/// Per organisation: its top-ups' lock and the serials topped up whose records the
/// journal has not followed yet.
type Topping = Arc<tokio::sync::Mutex<BTreeSet<String>>>;
static TOPPING: LazyLock<std::sync::Mutex<BTreeMap<i64, Topping>>> =
    LazyLock::new(Default::default);

fn topping(org: OrgId) -> Topping {
    let mut map = TOPPING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(map.entry(org.get()).or_default())
}

/// The store setting that records a top-up's idempotency key.
fn key_setting(org: OrgId, key: &str) -> String {
    format!("trade-topup:{}:{key}", org.get())
}

/// The chain's answer to a top-up: its refusal with the chain's code where the API
/// names it (`member_limit_exceeded`, `wallet_suspended`, `insufficient_balance`, …),
/// else `chain_refused`.
fn refused(code: &str, message: &str) -> ServiceError {
    ServiceError::Invalid {
        code: CHAIN_REFUSALS
            .iter()
            .find(|c| **c == code)
            .copied()
            .unwrap_or("chain_refused"),
        field: Some("amount_fen".into()),
        message: format!("the trade chain refused the top-up ({code}): {message}"),
    }
}

/// A replay of key record `rec` (`{serial} {amount} {state}`): the trade, the stored
/// refusal, or `idempotency_conflict` for another request.
async fn replay(
    s: &AppState,
    a: &Authed,
    rec: &str,
    serial: &str,
    amount_fen: i64,
) -> ServiceResult<TradeRecord> {
    let mut parts = rec.splitn(4, ' ');
    let (sn, amount, state) = (parts.next(), parts.next(), parts.next());
    if sn != Some(serial) || amount != Some(amount_fen.to_string().as_str()) {
        return Err(ServiceError::Store(StoreError::KeyReuse));
    }
    if let Some(code) = state.and_then(|st| st.strip_prefix("refused:")) {
        return Err(refused(code, parts.next().unwrap_or_default()));
    }
    own(s, a, serial).await
}

/// Follows `serial`'s chain records into the journal now; whether it was followed.
async fn follow(s: &AppState, trade: &TradeRecord) -> bool {
    let Some(ledger) = s.trade_ledger.clone() else {
        return true;
    };
    let now = s.clock.now_unix_ms();
    match crate::exchange::sync_trade(s.store.as_ref(), &ledger, trade, now).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(serial = %trade.serial, error = %e, "top-up not yet followed into the journal");
            false
        }
    }
}

/// Tops the caller's organisation's running trade `serial` up by `amount_fen` from the
/// wallet, signed by the member's key the password unseals (see the module doc).
pub async fn top_up(
    s: &AppState,
    a: &Authed,
    ip: &str,
    serial: &str,
    amount_fen: i64,
    password: String,
    idem_key: Option<&str>,
) -> ServiceResult<TradeRecord> {
    a.allow(Permission::OrderPlace)?;
    let key = idem_key.map(|k| idem(Some(k))).transpose()?;
    let trade = own(s, a, serial).await?;
    if !(1..=TOPUP_MAX_FEN).contains(&amount_fen) {
        return Err(ServiceError::Invalid {
            code: "invalid_amount",
            field: Some("amount_fen".into()),
            message: format!("a top-up is 1 to {TOPUP_MAX_FEN} fen"),
        });
    }
    let desk = super::trade_notices::desk(s)?;
    let lock = topping(trade.org);
    let mut unfollowed = lock.lock().await;
    let setting = key.as_ref().map(|k| key_setting(trade.org, k.as_str()));
    if let Some(st) = &setting
        && let Some(rec) = s.store.get_setting(st).await?
    {
        return replay(s, a, &rec, &trade.serial, amount_fen).await;
    }
    if !matches!(trade.status, TradeStatus::Placed | TradeStatus::Active) {
        return Err(ServiceError::Conflict {
            code: "trade_not_running",
            field: None,
            message: "only a placed or running trade is topped up".into(),
        });
    }
    let secret = unseal_own(s, a, ip, password).await?;
    // Every top-up this organisation sent, and this trade's records, in the journal first.
    for sn in unfollowed.clone().into_iter().chain([trade.serial.clone()]) {
        let t = s.store.get_trade(&sn).await?;
        if let Some(t) = t
            && follow(s, &t).await
        {
            unfollowed.remove(&sn);
        }
    }
    if !unfollowed.is_empty() {
        return Err(ServiceError::Internal(
            "an earlier top-up is not yet followed into the journal: try again".into(),
        ));
    }
    let cash = s.store.balances(trade.org).await?.cash_fen;
    if amount_fen > cash {
        return Err(ServiceError::Store(StoreError::Money(
            MoneyRejection::InsufficientFunds {
                needed: amount_fen,
                available: cash.max(0),
            },
        )));
    }
    let record = |state: String| {
        let (s, st) = (s.clone(), setting.clone());
        let rec = format!("{} {amount_fen} {state}", trade.serial);
        async move {
            match st {
                Some(st) => s.store.put_setting(&st, &rec).await,
                None => Ok(()),
            }
        }
    };
    record("sent".into()).await?;
    let sn = trade.serial.clone();
    match blocking(move || desk.top_up(&secret, &sn, amount_fen)).await {
        Ok(_) => {}
        Err(crate::PortError::Refused { code, message }) => {
            record(format!("refused:{code} {message}")).await?;
            return Err(refused(code, &message));
        }
        Err(other) => {
            // The outcome is unknown: followed before this organisation's next top-up.
            unfollowed.insert(trade.serial.clone());
            return Err(ServiceError::Internal(format!("trade chain: {other}")));
        }
    }
    record("applied".into()).await?;
    if !follow(s, &trade).await {
        unfollowed.insert(trade.serial.clone());
    }
    drop(unfollowed);
    // The worker follows it too (at once: woken here).
    s.exchange_kick.notify_one();
    own(s, a, serial).await
}
