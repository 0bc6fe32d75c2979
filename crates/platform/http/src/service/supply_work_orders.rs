//! Provisioning work orders (`docs/supply.md` §3): raised by a supplier's agent (API
//! token with scope `supply:agent`) for a trade on one of the supplier's offers, decided
//! (manual acceptance policy) and filled back by the supplier, closed by the agent at the
//! trade's end, and read by the trade's consumer with its access details.
//!
//! Authorisation, in the order of every service function: the permission; then
//! visibility — a supplier sees only work orders of its own organisation (others are
//! `not_found`), a consumer only those whose consumer DID is one of its users' DIDs —;
//! then the input (domain newtypes); then the store. The work order's parties, offer and
//! amounts are read from the trade chain through the [`AgentKeys`] port, never taken from
//! the agent: the chain's supplier DID must be the DID of one of the organisation's
//! supplier administrators.

use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::agent_keys::{AgentKeys, TradeFacts, TradeStage};
use crate::auth::Authed;
use std::sync::Arc;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::supply::work_orders::{
    AccessDetails, Move, TradeSerial, WorkOrderError, WorkOrderStatus,
};
use suanli_platform_domain::{OrgVisibility, Permission, Role};
use suanli_platform_store::{NewWorkOrder, PAGE_SIZE_MAX, WorkOrderRecord};

/// What the agent asks for.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaiseRequest {
    /// The trade's serial (32 hex characters).
    pub serial: String,
    /// Whether the supplier must approve the order first (the agent's manual policy);
    /// otherwise the agent has accepted it and the work order opens at once.
    #[serde(default)]
    pub needs_approval: bool,
}

/// The access details a supplier fills back (raw, parsed here).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillRequest {
    /// Host, host:port or URL.
    pub address: String,
    /// Where the credentials are kept (a reference, never the secret).
    pub credentials_ref: String,
    /// The resource pool.
    pub pool_id: String,
}

fn refusal(e: WorkOrderError) -> ServiceError {
    match e {
        WorkOrderError::WrongStatus { .. } => ServiceError::Conflict {
            code: e.code(),
            field: None,
            message: e.to_string(),
        },
        _ => ServiceError::Invalid {
            code: e.code(),
            field: e.field().map(str::to_owned),
            message: e.to_string(),
        },
    }
}

fn port(s: &AppState) -> ServiceResult<Arc<dyn AgentKeys>> {
    s.agent_keys.clone().ok_or_else(|| ServiceError::Denied {
        code: "ledger_unavailable",
        field: None,
        message: "no trade chain is attached to this platform".to_owned(),
    })
}

/// Requires a supplier organisation (a customer with the permission cannot exist, but
/// the check keeps a customer out even if roles change).
fn supplier(a: &Authed) -> ServiceResult<()> {
    if a.org.kind.is_supplier() {
        Ok(())
    } else {
        Err(ServiceError::forbidden())
    }
}

/// The DIDs of the organisation's supplier administrators (the supplier DID is one).
async fn supplier_dids(s: &AppState, a: &Authed) -> ServiceResult<Vec<String>> {
    let users = s
        .store
        .list_users(OrgVisibility::All, Some(a.org.id), None, PAGE_SIZE_MAX)
        .await?;
    let mut dids = Vec::new();
    for u in users
        .iter()
        .filter(|u| u.roles.contains(&Role::SupplierAdmin))
    {
        if let Some(did) = s.store.get_user_key(u.id).await?.and_then(|k| k.did) {
            dids.push(did);
        }
    }
    Ok(dids)
}

async fn chain_trade(s: &AppState, serial: &TradeSerial) -> ServiceResult<Option<TradeFacts>> {
    let port = port(s)?;
    let serial = serial.as_str().to_owned();
    tokio::task::spawn_blocking(move || port.trade(&serial))
        .await
        .map_err(|e| ServiceError::Internal(format!("trade lookup task: {e}")))?
        .map_err(|e| ServiceError::Internal(format!("reading the trade chain: {e}")))
}

/// Raises the work order of a trade on one of the caller's offers (permission
/// `supply:agent`); raising again answers the existing one, also once the trade closed.
/// A trade that is not the caller's answers `not_found`, as does a serial the chain does
/// not know; a closed trade without a work order, `trade_closed`.
pub async fn raise(
    s: &AppState,
    a: &Authed,
    r: &RaiseRequest,
) -> ServiceResult<(WorkOrderRecord, bool)> {
    a.allow(Permission::SupplyAgent)?;
    supplier(a)?;
    let serial = TradeSerial::parse(&r.serial).map_err(refusal)?;
    let facts = chain_trade(s, &serial)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !supplier_dids(s, a).await?.contains(&facts.supplier_did) {
        return Err(ServiceError::NotFound);
    }
    if facts.stage == TradeStage::Closed {
        // Raising again answers the existing work order (the agent releases it at the
        // trade's end); a closed trade never gets a new one.
        if let Some(w) = s
            .store
            .work_order_by_serial(a.org.id, serial.as_str())
            .await?
        {
            return Ok((w, false));
        }
        return Err(ServiceError::Conflict {
            code: "trade_closed",
            field: Some("serial".to_owned()),
            message: "the trade is closed; there is nothing to provision".to_owned(),
        });
    }
    let value_fen = Fen::new(facts.value_fen)
        .map_err(|e| ServiceError::Internal(format!("trade value: {e}")))?;
    let status = if r.needs_approval {
        WorkOrderStatus::AwaitingApproval
    } else {
        WorkOrderStatus::Open
    };
    let new = NewWorkOrder {
        supplier_org: a.org.id,
        serial: serial.as_str().to_owned(),
        offer_id: facts.offer_id,
        supplier_did: facts.supplier_did,
        consumer_did: facts.consumer_did,
        units: facts.units,
        minutes: facts.minutes,
        value_fen,
        status,
        raised_ms: s.clock.now_unix_ms(),
    };
    Ok(s.store.raise_work_order(&new).await?)
}

/// The caller's work order `id`: `supply:read` (the console) or `supply:agent` (the
/// agent polling for the decision and the fill-back). Another organisation's is
/// `not_found`.
pub async fn get(s: &AppState, a: &Authed, id: i64) -> ServiceResult<WorkOrderRecord> {
    if a.allow(Permission::SupplyRead).is_err() {
        a.allow(Permission::SupplyAgent)?;
    }
    own(s, a, id).await
}

async fn own(s: &AppState, a: &Authed, id: i64) -> ServiceResult<WorkOrderRecord> {
    let w = s
        .store
        .get_work_order(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if w.supplier_org != a.org.id {
        return Err(ServiceError::NotFound);
    }
    Ok(w)
}

/// The caller's work orders, newest first, optionally of one status (`supply:read`).
pub async fn list(
    s: &AppState,
    a: &Authed,
    status: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> ServiceResult<Vec<WorkOrderRecord>> {
    a.allow(Permission::SupplyRead)?;
    let status = match status.filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(WorkOrderStatus::parse(t).ok_or_else(|| {
            ServiceError::bad_query(
                "status",
                "status: awaiting_approval, open, filled, closed or declined",
            )
        })?),
    };
    if !(1..=PAGE_SIZE_MAX).contains(&limit) {
        return Err(ServiceError::bad_query(
            "limit",
            format!("limit must be between 1 and {PAGE_SIZE_MAX}"),
        ));
    }
    Ok(s.store
        .list_supplier_work_orders(a.org.id, status, before, limit)
        .await?)
}

/// Approves (`approve = true`) or declines a work order awaiting approval
/// (`supply:manage`).
pub async fn decide(
    s: &AppState,
    a: &Authed,
    id: i64,
    approve: bool,
) -> ServiceResult<WorkOrderRecord> {
    a.allow(Permission::SupplyManage)?;
    let w = own(s, a, id).await?;
    let m = if approve {
        Move::Approve
    } else {
        Move::Decline
    };
    let to = w.status.after(m).map_err(refusal)?;
    let now = s.clock.now_unix_ms();
    s.store
        .decide_work_order(id, w.status, to, a.user.id, now)
        .await
        .map_err(raced)?;
    own(s, a, id).await
}

/// Fills back (or corrects) the access details (`supply:manage`).
pub async fn fill(
    s: &AppState,
    a: &Authed,
    id: i64,
    r: &FillRequest,
) -> ServiceResult<WorkOrderRecord> {
    a.allow(Permission::SupplyManage)?;
    let w = own(s, a, id).await?;
    w.status.after(Move::Fill).map_err(refusal)?;
    let details =
        AccessDetails::parse(&r.address, &r.credentials_ref, &r.pool_id).map_err(refusal)?;
    let now = s.clock.now_unix_ms();
    s.store
        .fill_work_order(id, w.status, &details, a.user.id, now)
        .await
        .map_err(raced)?;
    own(s, a, id).await
}

/// Closes a work order at the trade's end (`supply:agent`).
pub async fn close(s: &AppState, a: &Authed, id: i64) -> ServiceResult<WorkOrderRecord> {
    a.allow(Permission::SupplyAgent)?;
    let w = own(s, a, id).await?;
    w.status.after(Move::Close).map_err(refusal)?;
    let now = s.clock.now_unix_ms();
    s.store
        .close_work_order(id, w.status, now)
        .await
        .map_err(raced)?;
    own(s, a, id).await
}

/// A move that lost a race with another one (the row left the status it was read in).
fn raced(e: suanli_platform_store::StoreError) -> ServiceError {
    match e {
        suanli_platform_store::StoreError::NotFound => ServiceError::Conflict {
            code: "work_order_status",
            field: None,
            message: "the work order changed meanwhile; reload it".to_owned(),
        },
        other => other.into(),
    }
}

/// The consumer's side: work orders of trades whose consumer DID is one of the caller's
/// organisation's users' DIDs, with their access details (`account:read`).
pub async fn mine(
    s: &AppState,
    a: &Authed,
    before: Option<i64>,
    limit: u32,
) -> ServiceResult<Vec<WorkOrderRecord>> {
    a.allow(Permission::AccountRead)?;
    if !(1..=PAGE_SIZE_MAX).contains(&limit) {
        return Err(ServiceError::bad_query(
            "limit",
            format!("limit must be between 1 and {PAGE_SIZE_MAX}"),
        ));
    }
    Ok(s.store
        .list_consumer_work_orders(a.org.id, before, limit)
        .await?)
}
