//! Channel notices to the customer, the top-up that answers a pause, and a trade's bundle
//! (issue 18, `docs/exchange.md` §7 and §9).
//!
//! - [`relay`] (each exchange worker pass): the platform's consumer-side channel
//!   controller's `paused` / `resumed` notices become a message for the ordering
//!   organisation (stored with the notice in one SQL transaction); the trade's bill and
//!   page show the newest one, a pause with a top-up offer.
//! - [`top_up`] (`order:place`, the password): the member's key, unsealed for that one
//!   request, tops the trade up from the organisation's wallet — into the channel while it
//!   is open (the supplier's agent resumes a paused channel at its next round), into the
//!   trade's escrow before —; the exchange worker then follows the top-up into the journal
//!   (`trade-topup:{serial}:{n}`).
//! - [`bundle`] (`account:read`): the trade's records with their inclusion proofs and
//!   block headers, the JSON file `suanli trade verify FILE` checks offline.

use super::trades::{blocking, own};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use crate::trade_desk::{ChannelNotice, TradeDesk};
use std::sync::Arc;
use suanli_platform_domain::Permission;
use suanli_platform_store::NewChannelNotice;

pub use super::trade_topup::{TOPUP_MAX_FEN, top_up};

pub(crate) fn desk(s: &AppState) -> ServiceResult<Arc<dyn TradeDesk>> {
    s.trade_desk.clone().ok_or_else(|| ServiceError::Denied {
        code: "ledger_unavailable",
        field: None,
        message: "no trade chain is attached to this platform".into(),
    })
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

/// The message a notice leaves for the organisation (Chinese and English, as the other
/// customer messages).
pub fn message_of(n: &ChannelNotice) -> String {
    if n.paused {
        format!(
            "交易 {s} 因余额不足已暂停（托管余额 ¥{r}，低于 ¥{m}）。请在 /console/trades/{s} 充值恢复。 \
             Trade {s} is paused for low funds (escrow left ¥{r}, below ¥{m}). Top it up at /console/trades/{s} to resume.",
            s = n.serial,
            r = yuan(n.remaining_fen),
            m = yuan(n.margin_fen),
        )
    } else {
        format!(
            "交易 {s} 已恢复计量。 Trade {s} is metered again.",
            s = n.serial
        )
    }
}

/// Relays the controller's notices into messages for the ordering organisations; a notice
/// about a trade the platform did not place is dropped (logged). Answers how many were
/// relayed.
pub async fn relay(s: &AppState) -> usize {
    let Some(desk) = s.trade_desk.clone() else {
        return 0;
    };
    let notices = match tokio::task::spawn_blocking(move || desk.take_notices()).await {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "the channel notices could not be taken");
            return 0;
        }
    };
    let mut relayed = 0;
    for n in notices {
        let trade = match s.store.get_trade(&n.serial).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                tracing::warn!(serial = %n.serial, "a channel notice about a trade the platform did not place");
                continue;
            }
            Err(e) => {
                tracing::error!(serial = %n.serial, error = %e, "channel notice not relayed");
                continue;
            }
        };
        let new = NewChannelNotice {
            serial: n.serial.clone(),
            org: trade.org,
            paused: n.paused,
            remaining_fen: n.remaining_fen,
            margin_fen: n.margin_fen,
            at_ms: s.clock.now_unix_ms(),
        };
        match s.store.record_channel_notice(&new, &message_of(&n)).await {
            Ok(_) => relayed += 1,
            Err(e) => tracing::error!(serial = %n.serial, error = %e, "channel notice not relayed"),
        }
    }
    relayed
}

/// The bundle of the caller's organisation's trade `serial`: the JSON file
/// (`docs/trade.md` §10); `not_on_chain` while the chain has no such trade.
pub async fn bundle(s: &AppState, a: &Authed, serial: &str) -> ServiceResult<(String, String)> {
    a.allow(Permission::AccountRead)?;
    let trade = own(s, a, serial).await?;
    let desk = desk(s)?;
    let sn = trade.serial.clone();
    let json = blocking(move || desk.bundle_json(&sn))
        .await
        .map_err(|e| ServiceError::Internal(format!("trade chain: {e}")))?
        .ok_or_else(|| ServiceError::Absent {
            code: "not_on_chain",
            message: "the chain holds no record of this trade".into(),
        })?;
    Ok((trade.serial, json))
}
