//! Accounts: balances, statements, an organisation's orders, instances and messages,
//! bills (with the CST date and month parsing both edges use), and the finance
//! department's credit lines and cash vouchers (four eyes above the limits one finance
//! user may grant alone).

use super::{Page, ServiceError, ServiceResult, amount, fen0, visible_org};
use crate::AppState;
use crate::auth::Authed;
use serde::{Deserialize, Serialize};
use suanli_platform_domain::Permission;
use suanli_platform_domain::journal::{Balances, IdemKey};
use suanli_platform_domain::money::{
    DAY_MS, Fen, cst_day_start, cst_midnight, cst_month_of, days_in_month,
};
use suanli_platform_domain::pricing::ChargingMode;
use suanli_platform_domain::{OrgId, OrgVisibility, UserId};
use suanli_platform_store::{
    BillFilter, BillKey, BillLine, GrantKind, GrantOutcome, GrantRecord, GrantRequest,
    InstanceRecord, MessageRecord, OrderRecord, OrgRecord, StatementLine, StoreError,
};

/// Cash vouchers one finance user may grant alone per day (CST), in fen; a grant that
/// would go beyond waits for a second finance user's approval.
pub const VOUCHER_ALONE_DAILY_MAX_FEN: i64 = 100_000;
/// Highest credit line one finance user may set alone, in fen; a higher one waits for a
/// second finance user's approval.
pub const CREDIT_LINE_ALONE_MAX_FEN: i64 = 1_000_000;
/// Bill lines per page at most (and by default).
pub const BILL_PAGE_MAX: u32 = 200;

/// The balances of organisation `id` (visible to the caller).
pub async fn balances(s: &AppState, a: &Authed, id: i64) -> ServiceResult<(OrgRecord, Balances)> {
    a.allow(Permission::AccountRead)?;
    let org = visible_org(s, a, id).await?;
    let b = s.store.balances(org.id).await?;
    Ok((org, b))
}

/// The caller's own customer account: its balances (not found for an organisation that
/// is not a customer and has no account).
pub async fn own_balances(s: &AppState, a: &Authed) -> ServiceResult<Balances> {
    a.allow(Permission::AccountRead)?;
    if !a.org.kind.is_customer() {
        return Err(ServiceError::NotFound);
    }
    Ok(s.store.balances(a.org.id).await?)
}

/// The latest `limit` messages (reminders, notices) of the caller's own organisation.
pub async fn recent_messages(
    s: &AppState,
    a: &Authed,
    limit: u32,
) -> ServiceResult<Vec<MessageRecord>> {
    a.allow(Permission::AccountRead)?;
    Ok(s.store.recent_messages(a.org.id, limit).await?)
}

/// Statement lines of organisation `id`.
pub async fn statements(
    s: &AppState,
    a: &Authed,
    id: i64,
    page: Page,
) -> ServiceResult<Vec<StatementLine>> {
    a.allow(Permission::AccountRead)?;
    let org = visible_org(s, a, id).await?;
    Ok(s.store.statements(org.id, page.after, page.limit).await?)
}

/// Orders of organisation `id`.
pub async fn orders(
    s: &AppState,
    a: &Authed,
    id: i64,
    page: Page,
) -> ServiceResult<Vec<OrderRecord>> {
    a.allow(Permission::AccountRead)?;
    let org = visible_org(s, a, id).await?;
    Ok(s.store
        .list_orders(Some(org.id), page.after, page.limit)
        .await?)
}

/// Instances of organisation `id`.
pub async fn instances(
    s: &AppState,
    a: &Authed,
    id: i64,
    page: Page,
) -> ServiceResult<Vec<InstanceRecord>> {
    a.allow(Permission::AccountRead)?;
    let org = visible_org(s, a, id).await?;
    Ok(s.store
        .list_instances(Some(org.id), page.after, page.limit)
        .await?)
}

/// Messages of organisation `id`.
pub async fn messages(
    s: &AppState,
    a: &Authed,
    id: i64,
    page: Page,
) -> ServiceResult<Vec<MessageRecord>> {
    a.allow(Permission::AccountRead)?;
    let org = visible_org(s, a, id).await?;
    Ok(s.store
        .list_messages(org.id, page.after, page.limit)
        .await?)
}

/// `YYYY-MM-DD` → the CST midnight starting that day, in ms.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    if d > days_in_month(y, m) {
        return None;
    }
    Some(cst_midnight(y, m, d))
}

/// A month `YYYY-MM` (CST; `None`: the month of `now_ms`) → its start and end in ms and
/// its label. A malformed month is `invalid_query` on `period`.
pub fn month(raw: Option<&str>, now_ms: i64) -> ServiceResult<(i64, i64, String)> {
    let (y, m) = match raw {
        None => cst_month_of(now_ms),
        Some(p) => {
            let bad = || ServiceError::bad_query("period", "period must be YYYY-MM");
            let (y, m) = p.split_once('-').ok_or_else(bad)?;
            let y: i64 = y.parse().map_err(|_| bad())?;
            let m: u32 = m.parse().map_err(|_| bad())?;
            if !(2000..=2999).contains(&y) || !(1..=12).contains(&m) || p.len() != 7 {
                return Err(bad());
            }
            (y, m)
        }
    };
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Ok((
        cst_midnight(y, m, 1),
        cst_midnight(ny, nm, 1),
        format!("{y:04}-{m:02}"),
    ))
}

/// The default period of a bill on screen: from the first of the month of `now_ms` to a
/// day after `now_ms`.
pub fn default_span(now_ms: i64) -> (i64, i64) {
    let (y, m) = cst_month_of(now_ms);
    (cst_midnight(y, m, 1), now_ms + DAY_MS)
}

/// A bill cursor `{org_id}:{product_id}:{mode}` (`invalid_query` on `after`).
pub fn bill_cursor(raw: &str) -> ServiceResult<BillKey> {
    let bad = || {
        ServiceError::bad_query(
            "after",
            "after must be {org_id}:{product_id}:{mode}, the next_after of the previous page",
        )
    };
    let mut parts = raw.splitn(3, ':');
    let (Some(o), Some(p), Some(m)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let org_id: i64 = o.parse().map_err(|_| bad())?;
    let product_id: i64 = p.parse().map_err(|_| bad())?;
    if org_id < 0 || product_id < 0 || ChargingMode::parse(m).is_none() {
        return Err(bad());
    }
    Ok(BillKey {
        org_id,
        product_id,
        mode: m.to_owned(),
    })
}

/// What a bill covers.
#[derive(Debug, Clone, Default)]
pub struct BillRequest {
    /// Period start (inclusive), ms.
    pub from_ms: i64,
    /// Period end (exclusive), ms.
    pub to_ms: i64,
    /// One customer (`None`: the caller's own; every customer for the operator).
    pub org_id: Option<i64>,
    /// One ordering user.
    pub user_id: Option<i64>,
    /// One product.
    pub product_id: Option<i64>,
    /// One charging mode.
    pub mode: Option<ChargingMode>,
    /// Cursor: the `next_after` of the previous page.
    pub after: Option<String>,
    /// Lines per page (`None`: [`BILL_PAGE_MAX`]).
    pub limit: Option<u32>,
}

/// A page of a bill.
#[derive(Debug, Clone, Serialize)]
pub struct Bill {
    /// Lines per customer × product × charging mode.
    pub items: Vec<BillLine>,
    /// The cursor of the next page, when this one was full.
    pub next_after: Option<String>,
}

/// A bill: per customer × product × charging mode for a period. Customers see their own
/// organisation only (another is not found).
pub async fn bill(s: &AppState, a: &Authed, q: &BillRequest) -> ServiceResult<Bill> {
    a.allow(Permission::AccountRead)?;
    let org = match (a.principal.org_visibility(), q.org_id) {
        (OrgVisibility::All, o) => o
            .map(|o| OrgId::new(o).ok_or(ServiceError::NotFound))
            .transpose()?,
        (_, None) => Some(a.org.id),
        (_, Some(o)) if o == a.org.id.get() => Some(a.org.id),
        _ => return Err(ServiceError::NotFound),
    };
    let user = q
        .user_id
        .map(|u| UserId::new(u).ok_or_else(|| ServiceError::invalid("user_id", "must be positive")))
        .transpose()?;
    let limit = match q.limit {
        None => BILL_PAGE_MAX,
        Some(n) if (1..=BILL_PAGE_MAX).contains(&n) => n,
        Some(_) => {
            return Err(ServiceError::bad_query(
                "limit",
                format!("limit must be between 1 and {BILL_PAGE_MAX}"),
            ));
        }
    };
    let after = q.after.as_deref().map(bill_cursor).transpose()?;
    let items = s
        .store
        .bills(&BillFilter {
            from_ms: q.from_ms,
            to_ms: q.to_ms,
            org,
            user,
            product: q.product_id,
            mode: q.mode,
            after,
            limit: Some(limit),
        })
        .await?;
    // A full page may have more after it.
    let next_after = (items.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| items.last())
        .flatten()
        .map(|l| format!("{}:{}:{}", l.org_id, l.product_id, l.mode));
    Ok(Bill { items, next_after })
}

/// The customer organisation `id`, visible to the caller (`not_a_customer` otherwise).
pub async fn customer_org(s: &AppState, a: &Authed, id: i64) -> ServiceResult<OrgRecord> {
    let org = visible_org(s, a, id).await?;
    if !org.kind.is_customer() {
        return Err(ServiceError::Invalid {
            code: "not_a_customer",
            field: None,
            message: "accounts exist only for customer organisations".to_owned(),
        });
    }
    Ok(org)
}

/// A store refusal for four eyes (`four_eyes`: not by who asked for it), or the error.
pub(crate) fn four_eyes(e: StoreError) -> ServiceError {
    match e {
        StoreError::Money(r @ suanli_platform_domain::rejection::MoneyRejection::FourEyes) => {
            ServiceError::Denied {
                code: r.code(),
                field: None,
                message: r.to_string(),
            }
        }
        e => e.into(),
    }
}

fn alone_max(fen: i64) -> ServiceResult<Fen> {
    Fen::new(fen).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Sets the credit line of customer `id` to `limit_fen` (pending a second finance user's
/// approval above [`CREDIT_LINE_ALONE_MAX_FEN`]).
pub async fn set_credit_line(
    s: &AppState,
    a: &Authed,
    id: i64,
    limit_fen: i64,
) -> ServiceResult<GrantOutcome> {
    a.allow(Permission::FinanceManage)?;
    let org = customer_org(s, a, id).await?;
    let now = s.clock.now_unix_ms();
    Ok(s.store
        .request_grant(&GrantRequest {
            org: org.id,
            kind: GrantKind::CreditLine,
            amount: fen0(limit_fen, "limit_fen")?,
            key: None,
            by: a.user.id,
            at_ms: now,
            day_start_ms: cst_day_start(now),
            alone_max: alone_max(CREDIT_LINE_ALONE_MAX_FEN)?,
        })
        .await?)
}

/// A cash voucher grant.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VoucherGrant {
    /// Amount, in fen.
    pub amount_fen: i64,
    /// The client's idempotency key (a retry grants once).
    pub idempotency_key: String,
}

/// Grants customer `id` a cash voucher (pending a second finance user's approval beyond
/// [`VOUCHER_ALONE_DAILY_MAX_FEN`] a day).
pub async fn grant_voucher(
    s: &AppState,
    a: &Authed,
    id: i64,
    r: &VoucherGrant,
) -> ServiceResult<GrantOutcome> {
    a.allow(Permission::FinanceManage)?;
    let key = IdemKey::parse(&r.idempotency_key)
        .map_err(|e| ServiceError::invalid("idempotency_key", e.to_string()))?;
    let org = customer_org(s, a, id).await?;
    let now = s.clock.now_unix_ms();
    Ok(s.store
        .request_grant(&GrantRequest {
            org: org.id,
            kind: GrantKind::Voucher,
            amount: amount(r.amount_fen, "amount_fen")?,
            key: Some(key),
            by: a.user.id,
            at_ms: now,
            day_start_ms: cst_day_start(now),
            alone_max: alone_max(VOUCHER_ALONE_DAILY_MAX_FEN)?,
        })
        .await?)
}

/// Voucher grants and credit-line changes, done and pending.
pub async fn grants(s: &AppState, a: &Authed, page: Page) -> ServiceResult<Vec<GrantRecord>> {
    a.allow(Permission::FinanceManage)?;
    Ok(s.store.list_grants(page.after, page.limit).await?)
}

/// The finance work list: pending grants first, then the latest.
pub async fn grant_worklist(
    s: &AppState,
    a: &Authed,
    limit: u32,
) -> ServiceResult<Vec<GrantRecord>> {
    a.allow(Permission::FinanceManage)?;
    Ok(s.store.grant_worklist(limit).await?)
}

/// Approves grant `id` (four eyes: not by who asked for it).
pub async fn approve_grant(s: &AppState, a: &Authed, id: i64) -> ServiceResult<GrantOutcome> {
    a.allow(Permission::FinanceManage)?;
    s.store
        .approve_grant(id, a.user.id, s.clock.now_unix_ms())
        .await
        .map_err(four_eyes)
}

/// A customer's account at a glance.
#[derive(Debug, Clone)]
pub struct Glance {
    /// Balances.
    pub balances: Balances,
    /// The latest instances.
    pub instances: Vec<InstanceRecord>,
    /// The latest orders.
    pub orders: Vec<OrderRecord>,
    /// The first statement lines.
    pub statements: Vec<StatementLine>,
}

/// The account of customer organisation `id` at a glance (`rows` of each list), checking
/// the visibility once.
pub async fn glance(s: &AppState, a: &Authed, id: i64, rows: u32) -> ServiceResult<Glance> {
    a.allow(Permission::AccountRead)?;
    let org = visible_org(s, a, id).await?;
    Ok(Glance {
        balances: s.store.balances(org.id).await?,
        instances: s.store.list_instances(Some(org.id), 0, rows).await?,
        orders: s.store.list_orders(Some(org.id), 0, rows).await?,
        statements: s.store.statements(org.id, 0, rows).await?,
    })
}
