//! The operator's view of the exchange (issue 18, `docs/exchange.md` §8), permission
//! `finance:read` (the operator's administrators and finance; no customer or supplier
//! role holds it):
//!
//! - [`overview`]: trades in total per customer and per supplier, the wallet alarms, the
//!   reconciliation now (`journal − chain` over the organisations compared, as the
//!   exchange worker compares them) and the unpaid tails (closed trades the chain charged
//!   beyond their escrow) among the newest closed trades;
//! - [`org_trades`]: one organisation's trades as customer or as supplier, each with what
//!   the chain says (paid, unpaid) and its channel with its disputes.
//!
//! A supplier reads its own supplied trades ([`supplied`], `supply:read`): never another
//! supplier's, never the customers' organisations beyond the trade.

use super::trade_bills::chain_of;
use super::trade_notices::desk;
use super::trades::{TRADES_PAGE_MAX, WALLET_ALARMS_MAX, blocking};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use crate::exchange::{WalletDifference, compare_wallets, orgs_pending};
use crate::trade_desk::ChannelView;
use suanli_platform_domain::trades::TradeStatus;
use suanli_platform_domain::{OrgId, Permission};
use suanli_platform_store::{TradeRecord, TradeSide, TradeTotals, WalletAlarm};

/// Most of the newest trades the overview reads from the chain for unpaid tails.
pub const UNPAID_SCAN_MAX: u32 = 100;
/// Most trades of one organisation the operator's list shows (its newest).
pub const OPS_TRADES_MAX: u32 = TRADES_PAGE_MAX;

/// The reconciliation now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReconciliationNow {
    /// Whether the chain answered (otherwise nothing was compared).
    pub chain_available: bool,
    /// Organisations compared (those with no order `placing` and no mirror instruction
    /// pending).
    pub compared: usize,
    /// Organisations whose cash and wallet differ.
    pub differences: Vec<WalletDifference>,
    /// Σ (journal cash − chain wallet) over the organisations compared, fen.
    pub journal_minus_chain_fen: i64,
}

/// A closed trade the chain charged beyond its escrow.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnpaidTail {
    /// The trade.
    pub serial: String,
    /// The customer.
    pub org: OrgId,
    /// The supplier.
    pub supplier_org: OrgId,
    /// Charged, not covered, fen.
    pub unpaid_fen: i64,
    /// Why it closed.
    pub close_reason: Option<String>,
}

/// The operator's overview.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Overview {
    /// Per customer organisation.
    pub customers: Vec<TradeTotals>,
    /// Per supplier organisation.
    pub suppliers: Vec<TradeTotals>,
    /// The newest wallet alarms.
    pub alarms: Vec<WalletAlarm>,
    /// The reconciliation (`None`: no chain attached).
    pub reconciliation: Option<ReconciliationNow>,
    /// Unpaid tails among the newest [`UNPAID_SCAN_MAX`] trades.
    pub unpaid: Vec<UnpaidTail>,
}

/// One trade in the operator's list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpsTrade {
    /// As stored.
    pub trade: TradeRecord,
    /// Σ check-ins on the chain, fen (`None`: not on the chain).
    pub chain_paid_fen: Option<i64>,
    /// Charged but not covered, fen.
    pub unpaid_fen: i64,
    /// Its channel, if it has one.
    pub channel: Option<ChannelView>,
}

/// One organisation's trades on one side.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OrgTrades {
    /// The organisation.
    pub org: OrgId,
    /// Its name.
    pub name: String,
    /// `customer` or `supplier`.
    pub side: &'static str,
    /// Its newest trades.
    pub trades: Vec<OpsTrade>,
    /// How many of them have a channel in dispute.
    pub disputes: usize,
}

async fn reconciliation(s: &AppState) -> ServiceResult<Option<ReconciliationNow>> {
    let Some(ledger) = s.trade_ledger.clone() else {
        return Ok(None);
    };
    let lagging = orgs_pending(s.store.as_ref())
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let Some(lagging) = lagging else {
        // Too many instructions pending: the worker compares nothing either.
        return Ok(Some(ReconciliationNow {
            chain_available: true,
            compared: 0,
            differences: Vec::new(),
            journal_minus_chain_fen: 0,
        }));
    };
    Ok(Some(
        match compare_wallets(s.store.as_ref(), &ledger, &lagging).await {
            Ok((compared, differences)) => ReconciliationNow {
                chain_available: true,
                compared,
                journal_minus_chain_fen: differences
                    .iter()
                    .map(|d| d.journal_fen - d.chain_fen)
                    .sum(),
                differences,
            },
            Err(e) => {
                tracing::warn!(error = %e, "the operator's reconciliation could not read the chain");
                ReconciliationNow {
                    chain_available: false,
                    compared: 0,
                    differences: Vec::new(),
                    journal_minus_chain_fen: 0,
                }
            }
        },
    ))
}

async fn unpaid_tails(s: &AppState) -> ServiceResult<Vec<UnpaidTail>> {
    if s.trade_ledger.is_none() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for t in s.store.list_trades(None, 0, UNPAID_SCAN_MAX).await? {
        if t.status != TradeStatus::Closed {
            continue;
        }
        let Some(c) = chain_of(s, &t).await? else {
            continue;
        };
        if !c.unpaid_fen.is_zero() {
            out.push(UnpaidTail {
                serial: t.serial,
                org: t.org,
                supplier_org: t.supplier_org,
                unpaid_fen: c.unpaid_fen.get(),
                close_reason: t.close_reason,
            });
        }
    }
    Ok(out)
}

/// The operator's overview of the exchange.
pub async fn overview(s: &AppState, a: &Authed) -> ServiceResult<Overview> {
    a.allow(Permission::FinanceRead)?;
    Ok(Overview {
        customers: s.store.trade_totals(TradeSide::Customer).await?,
        suppliers: s.store.trade_totals(TradeSide::Supplier).await?,
        alarms: s.store.wallet_alarms(WALLET_ALARMS_MAX).await?,
        reconciliation: reconciliation(s).await?,
        unpaid: unpaid_tails(s).await?,
    })
}

/// `customer` (also when empty) / `supplier`, or `invalid_side`.
pub fn side(raw: &str) -> ServiceResult<TradeSide> {
    if raw.is_empty() {
        return Ok(TradeSide::Customer);
    }
    TradeSide::parse(raw).ok_or_else(|| ServiceError::Malformed {
        code: "invalid_side",
        field: Some("side".into()),
        message: "side is customer or supplier".into(),
    })
}

async fn ops_row(s: &AppState, t: TradeRecord) -> ServiceResult<OpsTrade> {
    let chain = chain_of(s, &t).await?;
    let channel = match (&chain, s.trade_desk.is_some()) {
        (Some(_), true) => {
            let d = desk(s)?;
            let sn = t.serial.clone();
            blocking(move || d.channel(&sn))
                .await
                .map_err(|e| ServiceError::Internal(format!("trade chain: {e}")))?
        }
        _ => None,
    };
    Ok(OpsTrade {
        chain_paid_fen: chain.as_ref().map(|c| c.paid_fen.get()),
        unpaid_fen: chain.as_ref().map_or(0, |c| c.unpaid_fen.get()),
        channel,
        trade: t,
    })
}

/// Organisation `org`'s newest trades as customer or as supplier, with the chain's view
/// and their channels.
pub async fn org_trades(
    s: &AppState,
    a: &Authed,
    org: i64,
    side_raw: &str,
) -> ServiceResult<OrgTrades> {
    a.allow(Permission::FinanceRead)?;
    let side = side(side_raw)?;
    let org = OrgId::new(org).ok_or(ServiceError::NotFound)?;
    let rec = s.store.get_org(org).await?.ok_or(ServiceError::NotFound)?;
    let rows = match side {
        TradeSide::Customer => s.store.list_trades(Some(org), 0, OPS_TRADES_MAX).await?,
        TradeSide::Supplier => s.store.supplier_trades(org, 0, OPS_TRADES_MAX).await?,
    };
    let mut trades = Vec::with_capacity(rows.len());
    for t in rows {
        trades.push(ops_row(s, t).await?);
    }
    let disputes = trades
        .iter()
        .filter(|t| t.channel.as_ref().is_some_and(|c| c.disputed))
        .count();
    Ok(OrgTrades {
        org,
        name: rec.name,
        side: side.as_str(),
        trades,
        disputes,
    })
}

/// The caller's (supplier's) newest trades placed through the platform, with the chain's
/// view and their channels: only trades it supplies that the chain took — a customer's
/// order still `placing` or `refused` is not a trade the supplier supplies (its refusal
/// may name the customer's wallet balance or member limit). The API answers them in the
/// supplier's trimmed shape (`routes::trade_ops::supplied_trade_json`).
pub async fn supplied(s: &AppState, a: &Authed) -> ServiceResult<Vec<OpsTrade>> {
    a.allow(Permission::SupplyRead)?;
    let mut out = Vec::new();
    for t in s.store.supplier_trades(a.org.id, 0, OPS_TRADES_MAX).await? {
        if matches!(t.status, TradeStatus::Placing | TradeStatus::Refused) {
            continue;
        }
        out.push(ops_row(s, t).await?);
    }
    Ok(out)
}
