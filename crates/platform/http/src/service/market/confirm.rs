//! Confirming a matched standing demand into an order (`docs/market.md` "Confirming a
//! match"): the consumer's confirmation goes through the same order flow as a direct
//! order ([`crate::service::trades::place`]: the member's key, unsealed with the password,
//! signs the order; escrow from the organisation's wallet; the same refusals with the
//! same codes), for the matched offer, the demand's units and its duration as the term.
//! The demand then records the trade's serial and becomes `confirmed`.
//!
//! Checks, in order: the permission (`order:place`), visibility (another organisation's
//! demand is not found), the demand's state (`demand_not_matched`, `demand_confirmed`),
//! one confirmation at a time per demand (`demand_confirming`), the matched offer still
//! listed (`match_gone`) at a price within the demand's limit (`price_above_limit`),
//! then the order flow. The Idempotency-Key is bound to the demand: it replays only an
//! order placed by a confirmation of the same demand (a retry of a successful
//! confirmation answers it again, 200), never a direct order or another demand's.

use suanli_platform_domain::Permission;
use suanli_platform_domain::trades::TradeStatus;
use suanli_platform_store::{DemandRecord, DemandStatus, StoreError};

use crate::AppState;
use crate::auth::Authed;
use crate::service::trades::{self, TradeOrder, TradeOutcome};
use crate::service::{ServiceError, ServiceResult};

/// A confirmed demand with the trade it became.
#[derive(Debug, Clone)]
pub struct Confirmed {
    /// The demand, `confirmed`, with its trade's serial.
    pub demand: DemandRecord,
    /// The order's outcome (a replay of the same Idempotency-Key answers the same trade).
    pub trade: TradeOutcome,
}

fn conflict(code: &'static str, message: String) -> ServiceError {
    ServiceError::Conflict {
        code,
        field: None,
        message,
    }
}

/// The order a confirmation of `d` places: the matched offer, the demand's units and its
/// duration as the term.
fn order_of(d: &DemandRecord, offer_id: i64) -> TradeOrder {
    TradeOrder {
        offer_id,
        units: d.units,
        term_minutes: Some(u64::from(d.duration_min)),
        budget_fen: None,
    }
}

/// A retry of `d`'s successful confirmation: the trade stored under the same
/// Idempotency-Key for this demand (the key is bound to the demand, see
/// [`trades::place_bound`]) and the demand records that trade.
async fn replay_confirmed(
    s: &AppState,
    a: &Authed,
    idem_key: Option<&str>,
    d: &DemandRecord,
    bound: &str,
) -> Option<Confirmed> {
    let (m, serial) = (d.matched.as_ref()?, d.trade_serial.as_deref()?);
    let order = order_of(d, m.offer_id);
    match trades::replay_bound(s, a, idem_key, &order, bound).await {
        Ok(Some(trade)) if trade.trade.serial == serial => Some(Confirmed {
            demand: d.clone(),
            trade,
        }),
        _ => None,
    }
}

/// The answer when the demand could not record trade `serial` and is still matched: the
/// chain refused the order meanwhile (its refusal), else a conflict.
async fn refused_meanwhile(s: &AppState, a: &Authed, serial: &str) -> ServiceError {
    match trades::own(s, a, serial).await {
        Ok(t) if t.status == TradeStatus::Refused => trades::refusal(
            t.refusal_code.as_deref().unwrap_or("refused"),
            t.refusal_message.as_deref().unwrap_or(""),
        ),
        Ok(_) => conflict(
            "demand_not_matched",
            format!("the demand did not record trade {serial}; confirm it again"),
        ),
        Err(e) => e,
    }
}

/// Confirms `id`, a matched demand of the caller's organisation, into an order.
pub async fn confirm(
    s: &AppState,
    a: &Authed,
    ip: &str,
    idem_key: Option<&str>,
    id: i64,
    password: String,
) -> ServiceResult<Confirmed> {
    a.allow(Permission::OrderPlace)?;
    let d = super::demands::get(s, a, id).await?;
    let bound = format!("market-confirm:{id}");
    let m = match (d.status, &d.matched) {
        (DemandStatus::Matched, Some(m)) => m.clone(),
        (DemandStatus::Confirmed, _) => {
            if let Some(done) = replay_confirmed(s, a, idem_key, &d, &bound).await {
                return Ok(done);
            }
            return Err(conflict(
                "demand_confirmed",
                format!(
                    "the demand was confirmed into trade {}",
                    d.trade_serial.as_deref().unwrap_or("?")
                ),
            ));
        }
        (status, _) => {
            return Err(conflict(
                "demand_not_matched",
                format!(
                    "only a matched demand is confirmed; this one is {}",
                    status.as_str()
                ),
            ));
        }
    };
    let Some(_one) = s.market.begin_confirm(id) else {
        return Err(conflict(
            "demand_confirming",
            "this demand is being confirmed by another request".to_owned(),
        ));
    };
    let offer = match super::super::supply_catalog::catalogue_offer(s, m.offer_id).await {
        Err(ServiceError::NotFound) => {
            return Err(conflict(
                "match_gone",
                format!(
                    "offer #{} is no longer listed; post the demand again",
                    m.offer_id
                ),
            ));
        }
        r => r?,
    };
    let price = offer.mode.spec.get().price_fen_per_min;
    if price > d.max_price_fen_per_min {
        return Err(conflict(
            "price_above_limit",
            format!(
                "offer #{} now costs {price} fen/min, above the demand's limit of {} fen/min",
                m.offer_id, d.max_price_fen_per_min
            ),
        ));
    }
    let order = order_of(&d, m.offer_id);
    let trade = trades::place_bound(s, a, ip, idem_key, &order, password, &bound).await?;
    let demand = record(s, a, id, &trade.trade.serial).await?;
    Ok(Confirmed { demand, trade })
}

/// Records demand `id` as confirmed into trade `serial` (placed for it just now).
async fn record(s: &AppState, a: &Authed, id: i64, serial: &str) -> ServiceResult<DemandRecord> {
    let now = s.clock.now_unix_ms();
    match s.store.confirm_demand(a.org.id, id, serial, now).await {
        Ok(d) => Ok(d),
        // Already recorded with this trade (a replay of the same key).
        Err(StoreError::NotFound) => match super::demands::get(s, a, id).await? {
            cur if cur.trade_serial.as_deref() == Some(serial) => Ok(cur),
            // The chain refused the order before it was recorded: its refusal.
            cur if cur.status == DemandStatus::Matched => {
                Err(refused_meanwhile(s, a, serial).await)
            }
            cur => Err(conflict(
                "demand_not_matched",
                format!(
                    "the demand became {} while the order was placed (trade {serial})",
                    cur.status.as_str(),
                ),
            )),
        },
        Err(e) => Err(e.into()),
    }
}
