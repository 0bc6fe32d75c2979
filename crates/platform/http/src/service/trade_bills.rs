//! Bills of trades from the chain's check-ins (issue 18, `docs/exchange.md` §6): a trade's
//! bill lines — one per settlement the chain recorded, each naming its chain record
//! (serial, record sequence, block height, transaction) and the journal entry that
//! followed it —, the organisation's monthly statement of its trades, and a supplier's
//! earnings from the trades it supplied (gross − the operator's commission).
//!
//! Lines come from the chain through [`CheckinUsage`], the platform's `UsageSource` of
//! trades (`suanli_platform_domain::trade_bills`); the chain is read strictly: a trade
//! whose records cannot be read makes the bill fail (`500`), never a shorter bill.
//!
//! Checks: the permission first (`account:read` for customers' bills, `supply:read` for a
//! supplier's earnings), then visibility (another organisation's trade is not found),
//! then the input (`invalid_period`).

use super::trades::{blocking, own};
use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use crate::trade_book::ChainTrade;
use std::collections::BTreeMap;
use suanli_platform_domain::money::{Bp, Fen};
use suanli_platform_domain::supply::settlement::{PeriodKey, SettlementPeriod};
use suanli_platform_domain::trade_bills::{
    BillLine, CheckinUsage, Earnings, TradeStatement, earnings, statement,
};
use suanli_platform_domain::trades::TradeStatus;
use suanli_platform_domain::{OrgId, Permission};
use suanli_platform_store::{BilledCheckin, ChannelNoticeRecord, TradeRecord, TradeSide};

/// Most trades one statement reads from the chain (the organisation's newest that may
/// have check-ins in the period); more is refused (`too_many_trades`), never cut.
pub const STATEMENT_TRADES_MAX: usize = 1_000;

/// A bill line with the journal entry that followed it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LineView {
    /// The line as the chain gives it.
    #[serde(flatten)]
    pub line: BillLine,
    /// The journal transaction `trade-checkin:{serial}:{n}`, once followed (a line of
    /// cost 0 has none).
    pub journal_tx_id: Option<i64>,
    /// Its amount, fen (equal to the line's cost once followed).
    pub journal_fen: Option<i64>,
}

/// One trade's bill.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TradeBill {
    /// The trade as stored.
    pub trade: TradeRecord,
    /// Its lines, in number order (empty while the chain has no record of it).
    pub lines: Vec<LineView>,
    /// The running cost: Σ lines, fen.
    pub running_cost_fen: i64,
    /// Σ the journal entries that followed them, fen.
    pub journal_fen: i64,
    /// Charged by the chain but not covered by the escrow (an unpaid tail), fen.
    pub unpaid_fen: i64,
    /// Whether the chain has the trade.
    pub on_chain: bool,
    /// The newest channel notice relayed for it (a pause offers a top-up).
    pub notice: Option<ChannelNoticeRecord>,
    /// What the platform's channel controller keeps of its channel: the newest state both
    /// sides signed (`null` while it keeps none).
    pub live: Option<crate::trade_desk::LiveChannel>,
}

/// A period's statement of trades.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeriodStatement {
    /// `YYYY-MM` (China Standard Time).
    pub period: String,
    /// The lines and totals.
    #[serde(flatten)]
    pub statement: TradeStatement,
    /// Trades read.
    pub trades: usize,
}

/// A supplier's earnings of a period from the trades placed through the platform.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SupplierEarnings {
    /// The period and its lines.
    #[serde(flatten)]
    pub statement: PeriodStatement,
    /// The commission of the governing agreement, basis points (0 without one).
    pub commission_bp: u32,
    /// gross (Σ lines), commission, net.
    pub earnings: Earnings,
}

fn chain_err(e: &crate::PortError) -> ServiceError {
    ServiceError::Internal(format!("trade chain: {e}"))
}

/// The bill lines of one chain trade.
pub fn lines_of(chain: &ChainTrade) -> Vec<BillLine> {
    chain
        .checkins
        .iter()
        .map(|c| BillLine {
            serial: chain.serial.clone(),
            n: c.n,
            kind: c.kind.to_owned(),
            seq: c.seq,
            height: c.height,
            tx_ref: c.tx_ref.clone(),
            start_ms: c.start_ms,
            end_ms: c.end_ms,
            minutes: c.minutes,
            cost: c.cost_fen,
            at_ms: c.at_ms,
        })
        .collect()
}

/// The chain's records of `trade` (`None`: the chain has no such trade); an error when
/// the chain cannot be read.
pub(crate) async fn chain_of(
    s: &AppState,
    trade: &TradeRecord,
) -> ServiceResult<Option<ChainTrade>> {
    if trade.status == TradeStatus::Refused {
        return Ok(None);
    }
    // No chain attached: nothing to bill from.
    let Some(l) = s.trade_ledger.clone() else {
        return Ok(None);
    };
    let serial = trade.serial.clone();
    blocking(move || l.trade_status(&serial))
        .await
        .map_err(|e| chain_err(&e))
}

fn with_journal(lines: Vec<BillLine>, billed: &[BilledCheckin]) -> Vec<LineView> {
    let by_n: BTreeMap<u32, &BilledCheckin> = billed.iter().map(|b| (b.n, b)).collect();
    lines
        .into_iter()
        .map(|line| {
            let j = by_n.get(&line.n);
            LineView {
                journal_tx_id: j.map(|b| b.journal_tx_id),
                journal_fen: j.map(|b| b.amount_fen),
                line,
            }
        })
        .collect()
}

/// The bill of the caller's organisation's trade `serial`.
pub async fn trade_bill(s: &AppState, a: &Authed, serial: &str) -> ServiceResult<TradeBill> {
    a.allow(Permission::AccountRead)?;
    let trade = own(s, a, serial).await?;
    bill_of(s, trade).await
}

/// The bill of a trade already authorised.
pub(crate) async fn bill_of(s: &AppState, trade: TradeRecord) -> ServiceResult<TradeBill> {
    let chain = chain_of(s, &trade).await?;
    let billed = s.store.billed_checkins(&trade.serial).await?;
    let notice = s.store.latest_channel_notice(&trade.serial).await?;
    let (lines, unpaid) = match &chain {
        Some(c) => (lines_of(c), c.unpaid_fen.get()),
        None => (Vec::new(), 0),
    };
    let running = Fen::sum(lines.iter().map(|l| l.cost))
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .get();
    let journal = billed.iter().map(|b| b.amount_fen).sum();
    // Only while the trade runs: the controller keeps a closed channel's last state.
    let runs = matches!(trade.status, TradeStatus::Placed | TradeStatus::Active);
    let live = s
        .trade_desk
        .as_ref()
        .filter(|_| runs)
        .and_then(|d| d.live(&trade.serial));
    Ok(TradeBill {
        live,
        lines: with_journal(lines, &billed),
        running_cost_fen: running,
        journal_fen: journal,
        unpaid_fen: unpaid,
        on_chain: chain.is_some(),
        notice,
        trade,
    })
}

/// The month (China Standard Time) holding `now_ms`, `YYYY-MM`: the period asked for when
/// none is given.
pub fn current_month(now_ms: i64) -> String {
    use suanli_platform_domain::money::{CST_OFFSET_MS, DAY_MS, civil_from_days};
    let (y, m, _) = civil_from_days((now_ms + CST_OFFSET_MS).div_euclid(DAY_MS));
    format!("{y:04}-{m:02}")
}

/// The period asked for: `raw`, or the current month when it is empty.
fn period_or_now(s: &AppState, raw: &str) -> String {
    if raw.trim().is_empty() {
        current_month(s.clock.now_unix_ms())
    } else {
        raw.to_owned()
    }
}

/// `YYYY-MM` → its bounds (CST), or `invalid_period` on `field`.
pub fn month(label: &str) -> ServiceResult<(PeriodKey, i64, i64)> {
    let key =
        PeriodKey::parse(label, SettlementPeriod::Monthly).map_err(|_| ServiceError::Invalid {
            code: "invalid_period",
            field: Some("period".into()),
            message: "the period is a month, YYYY-MM".into(),
        })?;
    let (from, to) = key.bounds();
    Ok((key, from, to))
}

/// The trades of `org` on `side` that may hold lines ending in `[from, to)` (created
/// before `to`, not refused, not closed before `from`), selected in one statement (no
/// paging: trades sharing a creation time are never split); more than
/// [`STATEMENT_TRADES_MAX`] is `too_many_trades`, never a shorter statement.
async fn trades_for(
    s: &AppState,
    side: TradeSide,
    org: OrgId,
    from: i64,
    to: i64,
) -> ServiceResult<Vec<TradeRecord>> {
    let limit = u32::try_from(STATEMENT_TRADES_MAX + 1).unwrap_or(u32::MAX);
    let out = s.store.period_trades(side, org, from, to, limit).await?;
    if out.len() > STATEMENT_TRADES_MAX {
        return Err(ServiceError::Invalid {
            code: "too_many_trades",
            field: Some("period".into()),
            message: format!(
                "a statement reads at most {STATEMENT_TRADES_MAX} trades; ask for the bills of single trades"
            ),
        });
    }
    Ok(out)
}

async fn statement_of(
    s: &AppState,
    label: &str,
    trades: &[TradeRecord],
    from: i64,
    to: i64,
) -> ServiceResult<PeriodStatement> {
    let mut lines = Vec::new();
    for t in trades {
        if let Some(c) = chain_of(s, t).await? {
            lines.extend(lines_of(&c));
        }
    }
    let st = statement(&CheckinUsage::new(lines), from, to).map_err(|e| ServiceError::Invalid {
        code: e.code(),
        field: Some("period".into()),
        message: e.to_string(),
    })?;
    Ok(PeriodStatement {
        period: label.to_owned(),
        statement: st,
        trades: trades.len(),
    })
}

/// The caller's organisation's statement of trades for month `period` (`YYYY-MM`; empty:
/// the current month): every check-in of its trades whose span ends in the month.
pub async fn org_statement(
    s: &AppState,
    a: &Authed,
    period: &str,
) -> ServiceResult<PeriodStatement> {
    a.allow(Permission::AccountRead)?;
    let (key, from, to) = month(&period_or_now(s, period))?;
    let org = a.org.id;
    let trades = trades_for(s, TradeSide::Customer, org, from, to).await?;
    statement_of(s, &key.label(), &trades, from, to).await
}

/// The trades `supplier` supplied that may have lines in `[from, to)`.
pub(crate) async fn supplied_trades(
    s: &AppState,
    supplier: OrgId,
    from: i64,
    to: i64,
) -> ServiceResult<Vec<TradeRecord>> {
    trades_for(s, TradeSide::Supplier, supplier, from, to).await
}

/// The caller's (supplier) earnings of month `period` (empty: the current month) from the trades placed through the
/// platform that it supplied: gross = Σ their check-ins ending in the month, commission
/// at its governing agreement's rate, net = gross − commission.
pub async fn supplier_earnings(
    s: &AppState,
    a: &Authed,
    period: &str,
) -> ServiceResult<SupplierEarnings> {
    a.allow(Permission::SupplyRead)?;
    let (key, from, to) = month(&period_or_now(s, period))?;
    let trades = supplied_trades(s, a.org.id, from, to).await?;
    let st = statement_of(s, &key.label(), &trades, from, to).await?;
    let bp = match s.store.governing_agreement(a.org.id).await? {
        Some(g) => g.commission,
        None => Bp::ZERO,
    };
    let e = earnings(st.statement.total, bp).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(SupplierEarnings {
        statement: st,
        commission_bp: u32::from(bp),
        earnings: e,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_current_month_is_a_period() {
        let m = super::current_month(1_700_000_000_000);
        assert_eq!(m, "2023-11");
        assert!(super::month(&m).is_ok(), "{m}");
    }
}
