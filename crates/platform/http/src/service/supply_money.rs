//! Supplier money (issue 16, `docs/supply.md` §4): supply agreements, incoming trades
//! read from the trade chain through [`TradeBook`], revenue, settlement statements,
//! payouts with four eyes, the supplier reconciliation and reputation.
//!
//! Who may do what: a supplier's administrator (`supply:read`, `supply:manage`) sees and
//! acts on its own organisation only — its trades, agreements, statements and payouts;
//! anything else answers 404. The operator records agreements (`supplier:review`), runs
//! statements and decides payouts (`finance:manage`) and reads them all (`finance:read`).
//! Order in every function: permission, visibility, validation, store.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::supply::settlement::{
    AgreementTerms, AgreementText, BooksDifference, CheckIn, PeriodKey, SalesMode, SettlementError,
    SettlementPeriod, SupplierBooks, reconcile_books, settle,
};
use suanli_platform_domain::{OrgId, Permission, Role};
use suanli_platform_store::{
    AgreementRecord, NewStatement, OpsStore, OrgRecord, PayoutRecord, PayoutStatus,
    StatementRecord, SupplierLedger,
};

use super::accounts::four_eyes;
use super::{Page, ServiceError, ServiceResult, amount, bp, visible_org};
use crate::AppState;
use crate::auth::Authed;
use crate::trade_book::{ChainReputation, ChainTrade, TRADES_LIST_MAX, TradeBook};

/// Longest reason for rejecting a payout, in characters.
pub const PAYOUT_REASON_CHARS_MAX: usize = 200;

/// An agreement the operator records.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementRequest {
    /// The agreement's text.
    pub body: String,
    /// `discount` or `rebate`.
    pub sales_mode: String,
    /// The operator's commission on gross, in basis points (0–10 000).
    pub commission_bp: u32,
    /// `monthly` or `quarterly`.
    pub period: String,
}

fn settlement_err(e: SettlementError, field: &str) -> ServiceError {
    ServiceError::Invalid {
        code: e.code(),
        field: Some(field.to_owned()),
        message: e.to_string(),
    }
}

fn is_supplier(org: &OrgRecord) -> bool {
    org.kind.is_supplier()
}

/// The caller's own supplier organisation (`supply:read` at least).
fn own_supplier(a: &Authed, p: Permission) -> ServiceResult<OrgId> {
    a.allow(p)?;
    if !is_supplier(&a.org) {
        return Err(ServiceError::NotFound);
    }
    Ok(a.org.id)
}

/// A supplier organisation visible to an operator (else 404).
async fn supplier_org(s: &AppState, a: &Authed, id: i64) -> ServiceResult<OrgRecord> {
    let org = visible_org(s, a, id).await?;
    if !is_supplier(&org) {
        return Err(ServiceError::NotFound);
    }
    Ok(org)
}

/// The supplier DID of `org`: the one recorded at approval, else its earliest supplier
/// administrator's DID (`docs/supply.md` §1: the supplier DID is its administrator's DID
/// at approval).
pub async fn supplier_did(s: &AppState, org: OrgId) -> ServiceResult<Option<String>> {
    Ok(supplier_did_in(s.store.as_ref(), org).await?)
}

/// [`supplier_did`] on a store (also for `suanli ops reconcile`).
pub async fn supplier_did_in(
    store: &dyn OpsStore,
    org: OrgId,
) -> Result<Option<String>, suanli_platform_store::StoreError> {
    // The supplier DID recorded at approval (`docs/supply.md` §1.3).
    if let Some(did) = store.get_supplier(org).await?.and_then(|r| r.did) {
        return Ok(Some(did));
    }
    // Not recorded yet (an operator-created supplier before its enrolment): the DID its
    // administrator's key made, which enrolment will record.
    let users = store
        .list_users(
            suanli_platform_domain::OrgVisibility::All,
            Some(org),
            None,
            suanli_platform_store::PAGE_SIZE_MAX,
        )
        .await?;
    for u in users
        .iter()
        .filter(|u| u.roles.contains(&Role::SupplierAdmin))
    {
        if let Some(did) = store.get_user_key(u.id).await?.and_then(|k| k.did) {
            return Ok(Some(did));
        }
    }
    Ok(None)
}

fn book(s: &AppState) -> ServiceResult<std::sync::Arc<dyn TradeBook>> {
    s.trade_book.clone().ok_or_else(|| ServiceError::Absent {
        code: "trade_chain_not_attached",
        message: "no trade chain is attached to this platform".to_owned(),
    })
}

fn port(e: crate::PortError) -> ServiceError {
    ServiceError::Internal(format!("trade chain: {e}"))
}

/// The trades of `org` from the chain (none while it has no supplier DID): only those
/// whose supplier, as the chain records it, is the organisation's DID.
async fn trades_of(s: &AppState, org: OrgId) -> ServiceResult<Vec<ChainTrade>> {
    let book = book(s)?;
    let Some(did) = supplier_did(s, org).await? else {
        return Ok(Vec::new());
    };
    let own = did.clone();
    let trades = tokio::task::spawn_blocking(move || book.supplier_trades(&did))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(port)?;
    Ok(trades.into_iter().filter(|t| t.supplier == own).collect())
}

/// The settlements of `trades`, each trade's checked against what the chain says it paid.
fn items_of(trades: &[ChainTrade]) -> ServiceResult<Vec<CheckIn>> {
    let mut out = Vec::new();
    for t in trades {
        out.extend(t.settlement_items().map_err(chain_err)?);
    }
    Ok(out)
}

/// A read of the chain that cannot be settled from (`chain_inconsistent`, …).
fn chain_err(e: SettlementError) -> ServiceError {
    ServiceError::Conflict {
        code: e.code(),
        field: None,
        message: e.to_string(),
    }
}

// ── supplier console ──

/// The caller's incoming trades: the newest [`TRADES_LIST_MAX`].
pub async fn my_trades(s: &AppState, a: &Authed) -> ServiceResult<Vec<ChainTrade>> {
    let org = own_supplier(a, Permission::SupplyRead)?;
    let mut trades = trades_of(s, org).await?;
    trades.truncate(TRADES_LIST_MAX);
    Ok(trades)
}

/// One of the caller's trades (another supplier's: 404).
pub async fn my_trade(s: &AppState, a: &Authed, serial: &str) -> ServiceResult<ChainTrade> {
    let org = own_supplier(a, Permission::SupplyRead)?;
    let serial = serial.to_ascii_lowercase();
    trades_of(s, org)
        .await?
        .into_iter()
        .find(|t| t.serial == serial)
        .ok_or(ServiceError::NotFound)
}

/// The caller's agreement versions, newest first.
pub async fn my_agreements(s: &AppState, a: &Authed) -> ServiceResult<Vec<AgreementRecord>> {
    let org = own_supplier(a, Permission::SupplyRead)?;
    Ok(s.store.supply_agreements(org).await?)
}

/// The supplier accepts agreement version `id` (its newest, once).
pub async fn accept_agreement(s: &AppState, a: &Authed, id: i64) -> ServiceResult<AgreementRecord> {
    let org = own_supplier(a, Permission::SupplyManage)?;
    Ok(s.store
        .accept_agreement(org, id, a.user.id, s.clock.now_unix_ms())
        .await?)
}

/// Revenue per trade: what the chain paid the supplier, and how much of it is settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TradeRevenue {
    /// The trade.
    pub serial: String,
    /// Its consumer.
    pub consumer: String,
    /// Σ its settlements on the chain.
    pub earned_fen: Fen,
    /// Of which settled by statements.
    pub settled_fen: Fen,
    /// Number of settlements.
    pub checkins: usize,
}

/// A supplier's money overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revenue {
    /// Per trade (when the chain is attached).
    pub trades: Vec<TradeRevenue>,
    /// The platform's books.
    pub ledger: SupplierLedger,
    /// Statements, newest first.
    pub statements: Vec<StatementRecord>,
    /// Whether the trade chain was read.
    pub chain_attached: bool,
}

/// Revenue per trade, the books and the latest statements of `org`.
async fn revenue_of(s: &AppState, org: OrgId) -> ServiceResult<Revenue> {
    let settled = s.store.settled_checkins(org).await?;
    let (trades, attached) = match trades_of(s, org).await {
        Ok(t) => (t, true),
        Err(ServiceError::Absent { .. }) => (Vec::new(), false),
        Err(e) => return Err(e),
    };
    let trades = trades
        .iter()
        .map(|t| {
            let items = t.settlement_items().map_err(chain_err)?;
            let sum = |f: &dyn Fn(&CheckIn) -> bool| {
                Fen::sum(items.iter().filter(|c| f(c)).map(|c| c.cost))
                    .map_err(|e| ServiceError::Internal(e.to_string()))
            };
            Ok(TradeRevenue {
                serial: t.serial.clone(),
                consumer: t.consumer.clone(),
                earned_fen: sum(&|_| true)?,
                settled_fen: sum(&|c| settled.contains(&(c.serial.clone(), c.n)))?,
                checkins: items.len(),
            })
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    Ok(Revenue {
        trades,
        ledger: s.store.supplier_ledger(org).await?,
        statements: s.store.settlement_statements(Some(org), 0, 50).await?,
        chain_attached: attached,
    })
}

/// The caller's revenue.
pub async fn my_revenue(s: &AppState, a: &Authed) -> ServiceResult<Revenue> {
    let org = own_supplier(a, Permission::SupplyRead)?;
    revenue_of(s, org).await
}

/// The caller's statements.
pub async fn my_statements(
    s: &AppState,
    a: &Authed,
    page: Page,
) -> ServiceResult<Vec<StatementRecord>> {
    let org = own_supplier(a, Permission::SupplyRead)?;
    Ok(s.store
        .settlement_statements(Some(org), page.after, page.limit)
        .await?)
}

/// The caller's payouts.
pub async fn my_payouts(s: &AppState, a: &Authed, page: Page) -> ServiceResult<Vec<PayoutRecord>> {
    let org = own_supplier(a, Permission::SupplyRead)?;
    Ok(s.store
        .supplier_payouts(Some(org), page.after, page.limit)
        .await?)
}

/// The supplier asks for a payout of `amount_fen` of its free payable, with its
/// administrator's `password` (checked like a login): the SQL checks first, then the
/// supplier's key signs the transfer of the amount to custody (refused when its chain
/// balance is short: `chain_balance_short`), the payout is recorded with it, then it is
/// sent (`payout_chain`).
pub async fn request_payout(
    s: &AppState,
    a: &Authed,
    amount_fen: i64,
    ip: &str,
    password: String,
) -> ServiceResult<PayoutRecord> {
    let org = own_supplier(a, Permission::SupplyManage)?;
    let amount = amount(amount_fen, "amount_fen")?;
    // Nothing is signed for a payout the store would refuse (it checks again).
    let free = s.store.supplier_ledger(org).await?.free_payable();
    suanli_platform_domain::supply::settlement::check_payout(amount, free)
        .map_err(|r| field_of(suanli_platform_store::StoreError::Money(r), "amount_fen"))?;
    let ledger = payout_chain::ledger(s)?;
    let key = super::supply_catalog::unseal(s, a, ip, password).await?;
    let transfer =
        payout_chain::blocking("amount_fen", move || ledger.sign_to_custody(&key, amount)).await?;
    let p = s
        .store
        .request_payout(
            org,
            amount,
            a.user.id,
            s.clock.now_unix_ms(),
            &payout_chain::stored(&transfer),
        )
        .await
        .map_err(|e| field_of(e, "amount_fen"))?;
    payout_chain::send_unsent(s, p).await
}

fn field_of(e: suanli_platform_store::StoreError, field: &str) -> ServiceError {
    use suanli_platform_domain::rejection::MoneyRejection;
    match e {
        suanli_platform_store::StoreError::Money(r @ MoneyRejection::PayoutAbovePayable { .. }) => {
            ServiceError::Invalid {
                code: r.code(),
                field: Some(field.to_owned()),
                message: r.to_string(),
            }
        }
        e => four_eyes(e),
    }
}

async fn reputation_of(s: &AppState, org: OrgId) -> ServiceResult<Option<ChainReputation>> {
    let book = book(s)?;
    let Some(did) = supplier_did(s, org).await? else {
        return Ok(None);
    };
    tokio::task::spawn_blocking(move || book.reputation(&did))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map(Some)
        .map_err(port)
}

/// The caller's reputation (`None` while it has no supplier DID).
pub async fn my_reputation(s: &AppState, a: &Authed) -> ServiceResult<Option<ChainReputation>> {
    let org = own_supplier(a, Permission::SupplyRead)?;
    reputation_of(s, org).await
}

// ── operator ──

/// The operator records a new agreement version for supplier `org_id`.
pub async fn record_agreement(
    s: &AppState,
    a: &Authed,
    org_id: i64,
    r: &AgreementRequest,
) -> ServiceResult<AgreementRecord> {
    a.allow(Permission::SupplierReview)?;
    let org = supplier_org(s, a, org_id).await?;
    let terms = AgreementTerms {
        text: AgreementText::parse(&r.body).map_err(|e| settlement_err(e, "body"))?,
        sales_mode: SalesMode::parse(&r.sales_mode).map_err(|e| settlement_err(e, "sales_mode"))?,
        commission: bp(r.commission_bp, "commission_bp")?,
        period: SettlementPeriod::parse(&r.period).map_err(|e| settlement_err(e, "period"))?,
    };
    Ok(s.store
        .record_agreement(org.id, &terms, a.user.id, s.clock.now_unix_ms())
        .await?)
}

/// A supplier's agreement versions (operator).
pub async fn agreements_of(
    s: &AppState,
    a: &Authed,
    org_id: i64,
) -> ServiceResult<Vec<AgreementRecord>> {
    a.allow(Permission::SupplierReview)?;
    let org = supplier_org(s, a, org_id).await?;
    Ok(s.store.supply_agreements(org.id).await?)
}

/// What a statement run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRun {
    /// The new statement, or `None` when nothing was left to settle in the period.
    pub statement: Option<StatementRecord>,
    /// The period's label.
    pub period: String,
}

/// The agreement governing `period`: the newest version the supplier accepted before the
/// period's end (its commission and period kind apply, not a later one's), with the
/// period parsed by that version's kind. None accepted by then: `no_accepted_agreement`.
fn governing_for<'a>(
    agreements: &'a [AgreementRecord],
    period: &str,
) -> ServiceResult<(&'a AgreementRecord, PeriodKey)> {
    let (mut label_err, mut parsed) = (None, false);
    let mut accepted: Vec<&AgreementRecord> = agreements
        .iter()
        .filter(|a| a.accepted_ms.is_some())
        .collect();
    accepted.sort_by_key(|a| std::cmp::Reverse(a.version));
    for a in accepted {
        match PeriodKey::parse(period, a.period) {
            Ok(key) if a.accepted_ms.is_some_and(|t| t < key.bounds().1) => return Ok((a, key)),
            Ok(_) => parsed = true,
            Err(e) => {
                label_err.get_or_insert(e);
            }
        }
    }
    Err(match label_err {
        Some(e) if !parsed => settlement_err(e, "period"),
        _ => ServiceError::Invalid {
            code: "no_accepted_agreement",
            field: Some("org_id".to_owned()),
            message: "the supplier had not accepted a supply agreement before the period ended"
                .to_owned(),
        },
    })
}

/// Runs the statement of `period` for supplier `org_id` (idempotent: a check-in is
/// settled once; a rerun settles only late check-ins, or nothing), under the agreement
/// accepted before the period's end ([`governing_for`]).
pub async fn run_statement(
    s: &AppState,
    a: &Authed,
    org_id: i64,
    period: &str,
) -> ServiceResult<StatementRun> {
    a.allow(Permission::FinanceManage)?;
    let org = supplier_org(s, a, org_id).await?;
    let agreements = s.store.supply_agreements(org.id).await?;
    let (agreement, key) = governing_for(&agreements, period.trim())?;
    let now = s.clock.now_unix_ms();
    let items = items_of(&trades_of(s, org.id).await?)?;
    let settled = s.store.settled_checkins(org.id).await?;
    let st = settle(&key, &items, &settled, agreement.commission, now).map_err(|e| match e {
        SettlementError::CheckInConflict { .. } => chain_err(e),
        e => settlement_err(e, "period"),
    })?;
    let out = s
        .store
        .record_statement(&NewStatement {
            org: org.id,
            period: &key,
            agreement,
            statement: &st,
            by: a.user.id,
            at_ms: now,
        })
        .await
        .map_err(|e| match e {
            suanli_platform_store::StoreError::Conflict(_) => ServiceError::Conflict {
                code: "statement_conflict",
                field: Some("period".to_owned()),
                message: "another run settled some of these check-ins; run it again".to_owned(),
            },
            e => e.into(),
        })?;
    Ok(StatementRun {
        statement: out.statement,
        period: key.label(),
    })
}

/// Every supplier's statements (finance).
pub async fn statements(
    s: &AppState,
    a: &Authed,
    page: Page,
) -> ServiceResult<Vec<StatementRecord>> {
    a.allow(Permission::FinanceRead)?;
    Ok(s.store
        .settlement_statements(None, page.after, page.limit)
        .await?)
}

/// Supplier `org_id`'s statements, newest first (finance).
pub async fn supplier_statements(
    s: &AppState,
    a: &Authed,
    org_id: i64,
    page: Page,
) -> ServiceResult<Vec<StatementRecord>> {
    a.allow(Permission::FinanceRead)?;
    let org = supplier_org(s, a, org_id).await?;
    Ok(s.store
        .settlement_statements(Some(org.id), page.after, page.limit)
        .await?)
}

/// Every supplier's payouts (finance).
pub async fn payouts(s: &AppState, a: &Authed, page: Page) -> ServiceResult<Vec<PayoutRecord>> {
    a.allow(Permission::FinanceRead)?;
    Ok(s.store
        .supplier_payouts(None, page.after, page.limit)
        .await?)
}

/// A first finance user checks payout `id` (never its requester), once its transfer to
/// custody is applied (sent first if it is not).
pub async fn check_payout(s: &AppState, a: &Authed, id: i64) -> ServiceResult<PayoutRecord> {
    a.allow(Permission::FinanceManage)?;
    let p = s
        .store
        .get_payout(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    payout_chain::send_unsent(s, p).await?;
    s.store
        .check_payout(id, a.user.id, s.clock.now_unix_ms())
        .await
        .map_err(four_eyes)
}

/// A second finance user approves payout `id` (never its requester or checker); the
/// journal records supplier payable → bank and custody burns the amount on the chain.
/// Repeating the approval of an approved payout whose burn was not applied sends the
/// stored burn again.
pub async fn approve_payout(s: &AppState, a: &Authed, id: i64) -> ServiceResult<PayoutRecord> {
    decide_payout(s, a, id, PayoutStatus::Approved, None).await
}

/// A finance user rejects payout `id` with `reason`; custody returns the amount to the
/// supplier's key. Repeating it sends a stored return that was not applied again.
pub async fn reject_payout(
    s: &AppState,
    a: &Authed,
    id: i64,
    reason: &str,
) -> ServiceResult<PayoutRecord> {
    a.allow(Permission::FinanceManage)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > PAYOUT_REASON_CHARS_MAX {
        return Err(ServiceError::invalid(
            "reason",
            format!("the reason must be 1 to {PAYOUT_REASON_CHARS_MAX} characters"),
        ));
    }
    decide_payout(s, a, id, PayoutStatus::Rejected, Some(reason)).await
}

async fn decide_payout(
    s: &AppState,
    a: &Authed,
    id: i64,
    to: PayoutStatus,
    reason: Option<&str>,
) -> ServiceResult<PayoutRecord> {
    a.allow(Permission::FinanceManage)?;
    let p = s
        .store
        .get_payout(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if p.status == to && p.unsent().is_some() {
        return payout_chain::send_unsent(s, p).await;
    }
    // The transfer to custody first (a request whose send timed out).
    let p = payout_chain::send_unsent(s, p).await?;
    let settle = payout_chain::sign_settle(s, &p, to).await?;
    let now = s.clock.now_unix_ms();
    let p = match reason {
        None => s
            .store
            .approve_payout(id, a.user.id, now, settle.as_ref())
            .await
            .map_err(|e| field_of(e, "id"))?,
        Some(r) => s
            .store
            .reject_payout(id, a.user.id, r, now, settle.as_ref())
            .await
            .map_err(four_eyes)?,
    };
    payout_chain::send_unsent(s, p).await
}

/// One supplier's reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupplierReconciliation {
    /// The supplier.
    pub org_id: i64,
    /// Σ chain settlements in ended periods of its agreement (`None`: no trade chain is
    /// attached, so that comparison is not made).
    pub chain_checkins_fen: Option<i64>,
    /// Σ statement gross.
    pub settled_gross_fen: i64,
    /// Σ statement net.
    pub settled_net_fen: i64,
    /// Payable now.
    pub payable_fen: i64,
    /// Σ approved payouts.
    pub paid_fen: i64,
    /// Σ burned on the chain for payouts.
    pub burned_fen: i64,
    /// Every difference (empty: the books agree).
    pub differences: Vec<BooksDifference>,
}

/// Compares supplier `org_id`'s books: chain check-ins of ended periods vs settled,
/// settled vs payable + paid, burned on the chain for approved payouts (read through the
/// payout ledger; 0 without a chain attached) vs paid.
pub async fn reconcile_supplier(
    s: &AppState,
    a: &Authed,
    org_id: i64,
) -> ServiceResult<SupplierReconciliation> {
    a.allow(Permission::FinanceRead)?;
    let org = supplier_org(s, a, org_id).await?;
    let trades = match trades_of(s, org.id).await {
        Ok(t) => Some(t),
        Err(ServiceError::Absent { .. }) => None,
        Err(e) => return Err(e),
    };
    let burned = match &s.payout_ledger {
        Some(l) => payout_chain::burned_of(s.store.as_ref(), Arc::clone(l), org.id).await?,
        None => 0,
    };
    books_of(
        s.store.as_ref(),
        org.id,
        trades.as_deref(),
        burned,
        s.clock.now_unix_ms(),
    )
    .await
}

/// The reconciliation of supplier `org` at `now_ms` given its trades on the chain
/// (`None`: no chain attached, the check-ins are not compared) and what the chain burned
/// for its approved payouts (`payout_chain::burned_of`). Shared by the service and
/// `suanli ops reconcile`.
pub async fn books_of(
    store: &dyn OpsStore,
    org: OrgId,
    trades: Option<&[ChainTrade]>,
    burned_fen: i64,
    now_ms: i64,
) -> ServiceResult<SupplierReconciliation> {
    let ledger = store.supplier_ledger(org).await?;
    let period = store
        .governing_agreement(org)
        .await?
        .map_or(SettlementPeriod::Monthly, |a| a.period);
    let chain = match trades {
        Some(trades) => {
            let ended = ended_before(now_ms, period);
            let items = items_of(trades)?;
            let sum = Fen::sum(items.iter().filter(|c| c.end_ms < ended).map(|c| c.cost))
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            Some(sum)
        }
        None => None,
    };
    let books = SupplierBooks {
        // Without a chain the check-ins are taken as what was settled: not compared.
        chain_checkins: chain.unwrap_or(ledger.settled_gross),
        settled_gross: ledger.settled_gross,
        settled_net: ledger.settled_net,
        payable: ledger.payable,
        paid: ledger.paid,
        burned: Fen::new(burned_fen).map_err(|e| ServiceError::Internal(e.to_string()))?,
    };
    Ok(SupplierReconciliation {
        org_id: org.get(),
        chain_checkins_fen: chain.map(Fen::get),
        settled_gross_fen: ledger.settled_gross.get(),
        settled_net_fen: ledger.settled_net.get(),
        payable_fen: ledger.payable.get(),
        paid_fen: ledger.paid.get(),
        burned_fen,
        differences: reconcile_books(&books),
    })
}

/// The start of the current (not yet ended) period at `now_ms`.
fn ended_before(now_ms: i64, period: SettlementPeriod) -> i64 {
    let (y, m) = suanli_platform_domain::money::cst_month_of(now_ms);
    let first = match period {
        SettlementPeriod::Monthly => m,
        SettlementPeriod::Quarterly => (m - 1) / 3 * 3 + 1,
    };
    suanli_platform_domain::money::cst_midnight(y, first, 1)
}

/// Revenue and reputation of one supplier for the operator's supplier list
/// (`/ops/suppliers`): statements' gross and net, payable, and the chain's overall score
/// and per-dimension scores when the chain is attached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupplierSummary {
    /// Σ statement gross.
    pub settled_gross_fen: i64,
    /// Payable now.
    pub payable_fen: i64,
    /// The chain's reputation (`None` without a chain or a supplier DID).
    pub reputation: Option<ChainReputation>,
}

/// [`SupplierSummary`] of supplier `org` (operator, `supplier:review`).
pub async fn supplier_summary(
    s: &AppState,
    a: &Authed,
    org_id: i64,
) -> ServiceResult<SupplierSummary> {
    a.allow(Permission::SupplierReview)?;
    let org = supplier_org(s, a, org_id).await?;
    let ledger = s.store.supplier_ledger(org.id).await?;
    let reputation = match reputation_of(s, org.id).await {
        Ok(r) => r,
        Err(ServiceError::Absent { .. }) => None,
        Err(e) => return Err(e),
    };
    Ok(SupplierSummary {
        settled_gross_fen: ledger.settled_gross.get(),
        payable_fen: ledger.payable.get(),
        reputation,
    })
}

#[cfg(test)]
mod tests;
// --- payout burns (issue 16, payout helper)
pub mod payout_chain;
