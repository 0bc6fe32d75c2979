//! A supplier's resources, trade modes and offers, the operator's listing review and the
//! public listing of approved offers (`docs/supply.md` §2).
//!
//! Order of checks, as everywhere in the service layer: the permission (`supply:read`,
//! `supply:manage`; `supplier:review` for the operator), then visibility — a supplier
//! reaches only its own organisation's resources, modes and offers, anything else is
//! [`ServiceError::NotFound`] —, then the input (the domain's checks,
//! `suanli_platform_domain::supply::catalog`; every bad field named), then the store.
//! Publishing signs with the caller's own DID key, unsealed with the password given for
//! that request (checked like a login: failures count towards the lock), through the
//! [`SupplyLedger`] port; nothing is recorded unless the chain applied the transaction.

use super::me::count_failure;
use super::security::{settings, verify_password};
use super::{Page, ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use crate::supply_ledger::{ChainMode, ChainOffer, Published, SupplyLedger};
use std::sync::Arc;
use suanli_platform_domain::supply::catalog::{
    CsvProblem, FieldProblem, ModeDraft, OfferDraft, OfferStatus, Problem, ResourceDraft, may_edit,
    parse_csv_lines, rejection_reason,
};
use suanli_platform_domain::{OrgId, OrgStatus, Permission};
use suanli_platform_store::{
    ListingDecision, ModeRecord, NewOffer, OfferRecord, RESOURCE_IN_LISTING, ResourceRecord,
    StoreError,
};
use suanli_primitives::SecretKey;

/// The `tradeType` of the check-in credentials of modes published here.
pub const TRADE_TYPE: &str = "payg-minute";
/// Longest `spec` an offer carries on the chain, in bytes (the trade chain's limit).
pub const CHAIN_SPEC_BYTES_MAX: usize = 256;
/// Most offers one catalogue page lists.
pub const CATALOGUE_PAGE_MAX: u32 = 50;

/// Why a supply operation refused: a service refusal, bad fields (every one named), or a
/// CSV import's bad cells (every one, with its line and column).
#[derive(Debug, thiserror::Error)]
pub enum SupplyError {
    /// Permission, visibility, conflicts, the chain's refusal, the store.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Fields that fail the domain's checks (code `invalid_field`).
    #[error("{}", join(.0))]
    Fields(Vec<FieldProblem>),
    /// Cells of a CSV import that fail (code `csv_invalid`); nothing was imported.
    #[error("{}", join(.0))]
    Csv(Vec<CsvProblem>),
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join("; ")
}

impl From<StoreError> for SupplyError {
    fn from(e: StoreError) -> Self {
        SupplyError::Service(e.into())
    }
}

impl From<SupplyError> for ServiceError {
    /// One refusal: bad fields name the first field and list every problem.
    fn from(e: SupplyError) -> Self {
        match e {
            SupplyError::Service(e) => e,
            SupplyError::Fields(ref v) => ServiceError::Invalid {
                code: "invalid_field",
                field: v.first().map(|p| p.field.to_owned()),
                message: e.to_string(),
            },
            SupplyError::Csv(_) => ServiceError::Invalid {
                code: "csv_invalid",
                field: Some("csv".to_owned()),
                message: format!("nothing was imported: {e}"),
            },
        }
    }
}

/// Result of a supply operation.
pub type SupplyResult<T> = Result<T, SupplyError>;

fn chain_refused(field: &str, e: &crate::PortError) -> ServiceError {
    match e {
        crate::PortError::Refused { message, .. } => ServiceError::Invalid {
            code: "chain_refused",
            field: Some(field.to_owned()),
            message: format!("the trade chain refused: {message}"),
        },
        crate::PortError::Ledger(source) => ServiceError::Invalid {
            code: "chain_refused",
            field: Some(field.to_owned()),
            message: format!("the trade chain refused or could not be reached: {source}"),
        },
    }
}

/// `v` if it belongs to the caller's organisation, else not found.
fn not_own<T>(a: &Authed, v: Option<T>, of: impl Fn(&T) -> i64) -> ServiceResult<T> {
    match v {
        Some(x) if of(&x) == a.org.id.get() => Ok(x),
        _ => Err(ServiceError::NotFound),
    }
}

// ---- resources ----------------------------------------------------------------------

/// The caller's resources.
pub async fn list_resources(
    s: &AppState,
    a: &Authed,
    page: Page,
) -> ServiceResult<Vec<ResourceRecord>> {
    a.allow(Permission::SupplyRead)?;
    Ok(s.store
        .list_resources(a.org.id, page.after, page.limit)
        .await?)
}

/// One of the caller's resources.
pub async fn get_resource(s: &AppState, a: &Authed, id: i64) -> ServiceResult<ResourceRecord> {
    a.allow(Permission::SupplyRead)?;
    not_own(a, s.store.get_resource(id).await?, |r| r.org.get())
}

/// Adds a resource.
pub async fn create_resource(
    s: &AppState,
    a: &Authed,
    d: &ResourceDraft,
) -> SupplyResult<ResourceRecord> {
    a.allow(Permission::SupplyManage)?;
    let spec = d.check().map_err(SupplyError::Fields)?;
    let now = s.clock.now_unix_ms();
    let mut v = s.store.import_resources(a.org.id, &[spec], now).await?;
    v.pop()
        .ok_or_else(|| ServiceError::Internal("import answered nothing".into()).into())
}

/// Changes one of the caller's resources.
pub async fn update_resource(
    s: &AppState,
    a: &Authed,
    id: i64,
    d: &ResourceDraft,
) -> SupplyResult<ResourceRecord> {
    a.allow(Permission::SupplyManage)?;
    get_resource(s, a, id).await?;
    let spec = d.check().map_err(SupplyError::Fields)?;
    let now = s.clock.now_unix_ms();
    // The listing review is not bypassed: a resource of a version in review or listed is
    // fixed (the catalogue shows the resources live) — `docs/supply.md` §2.
    s.store
        .update_resource(a.org.id, id, &spec, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) if m.starts_with(RESOURCE_IN_LISTING) => {
                ServiceError::Conflict {
                    code: "resource_in_listing",
                    field: None,
                    message: "this resource belongs to an offer version in the listing review or listed; withdraw the offer (or wait for the decision) to change it".into(),
                }
                .into()
            }
            other => other.into(),
        })
}

/// Imports resources from CSV (`docs/supply.md` §2): every line, or nothing and every bad
/// cell with its line and column.
pub async fn import_csv(s: &AppState, a: &Authed, csv: &str) -> SupplyResult<Vec<ResourceRecord>> {
    a.allow(Permission::SupplyManage)?;
    let lines = parse_csv_lines(csv).map_err(SupplyError::Csv)?;
    // A name already one of the supplier's resources is a problem of its line (the
    // store's unique index still guards a concurrent import).
    let taken = own_resource_names(s, a.org.id).await?;
    let in_use: Vec<CsvProblem> = lines
        .iter()
        .filter(|(_, spec)| taken.contains(&spec.get().name))
        .map(|(line, _)| CsvProblem {
            line: *line,
            column: "name",
            problem: Problem::DuplicateName { line: 0 },
        })
        .collect();
    if !in_use.is_empty() {
        return Err(SupplyError::Csv(in_use));
    }
    let specs: Vec<_> = lines.into_iter().map(|(_, spec)| spec).collect();
    let now = s.clock.now_unix_ms();
    Ok(s.store.import_resources(a.org.id, &specs, now).await?)
}

/// The names of organisation `org`'s resources.
async fn own_resource_names(
    s: &AppState,
    org: OrgId,
) -> ServiceResult<std::collections::HashSet<String>> {
    let mut names = std::collections::HashSet::new();
    let mut after = 0;
    loop {
        let page = s
            .store
            .list_resources(org, after, suanli_platform_store::PAGE_SIZE_MAX)
            .await?;
        let Some(last) = page.last() else {
            return Ok(names);
        };
        after = last.id;
        names.extend(page.iter().map(|r| r.spec.get().name.clone()));
    }
}

// ---- trade modes --------------------------------------------------------------------

/// The caller's trade modes.
pub async fn list_modes(s: &AppState, a: &Authed) -> ServiceResult<Vec<ModeRecord>> {
    a.allow(Permission::SupplyRead)?;
    Ok(s.store.list_modes(a.org.id).await?)
}

/// One of the caller's trade modes.
pub async fn get_mode(s: &AppState, a: &Authed, id: i64) -> ServiceResult<ModeRecord> {
    a.allow(Permission::SupplyRead)?;
    not_own(a, s.store.get_mode(id).await?, |m| m.org.get())
}

/// Adds a trade mode (published separately).
pub async fn create_mode(s: &AppState, a: &Authed, d: &ModeDraft) -> SupplyResult<ModeRecord> {
    a.allow(Permission::SupplyManage)?;
    let spec = d.check().map_err(SupplyError::Fields)?;
    Ok(s.store
        .create_mode(a.org.id, &spec, s.clock.now_unix_ms())
        .await?)
}

/// Publishes one of the caller's modes on the trade chain, signed by the caller's key.
pub async fn publish_mode(
    s: &AppState,
    a: &Authed,
    id: i64,
    ip: &str,
    password: String,
) -> ServiceResult<ModeRecord> {
    a.allow(Permission::SupplyManage)?;
    let mode = get_mode(s, a, id).await?;
    if mode.chain_mode_id.is_some() {
        return Err(ServiceError::Conflict {
            code: "already_published",
            field: None,
            message: "this trade mode is on the chain already".into(),
        });
    }
    let ledger = ledger(s)?;
    let key = unseal(s, a, ip, password).await?;
    let m = mode.spec.get();
    let terms = ChainMode {
        price_fen_per_min: m.price_fen_per_min,
        min_charge_fen: m.min_charge_fen,
        checkin_period_min: m.checkin_period_min,
        weights: m.weights.clone(),
        trade_start_cpt: m.trade_start_cpt,
        checkin_cpt: m.checkin_cpt,
        trade_type: TRADE_TYPE.to_owned(),
    };
    let p = blocking(move || ledger.publish_mode(&key, &terms), "trade_start_cpt").await?;
    tracing::info!(
        org_id = a.org.id.get(),
        mode = id,
        chain_mode = p.chain_id,
        "trade mode published"
    );
    Ok(s.store
        .set_mode_published(id, p.chain_id, &p.tx, s.clock.now_unix_ms())
        .await?)
}

// ---- offers -------------------------------------------------------------------------

/// The caller's offer versions (every status), by id.
pub async fn list_offers(s: &AppState, a: &Authed, page: Page) -> ServiceResult<Vec<OfferRecord>> {
    a.allow(Permission::SupplyRead)?;
    Ok(s.store
        .list_offers(Some(a.org.id), None, page.after, page.limit)
        .await?)
}

/// One of the caller's offer versions.
pub async fn get_offer(s: &AppState, a: &Authed, id: i64) -> ServiceResult<OfferRecord> {
    a.allow(Permission::SupplyRead)?;
    not_own(a, s.store.get_offer(id).await?, |o| o.org.get())
}

async fn new_offer(
    s: &AppState,
    a: &Authed,
    d: &OfferDraft,
    replaces: Option<i64>,
) -> SupplyResult<OfferRecord> {
    let d = d.check().map_err(SupplyError::Fields)?;
    let field = |f: &'static str| move |_| ServiceError::NotFound.at(f);
    get_mode(s, a, d.mode_id).await.map_err(field("mode_id"))?;
    let own = s.store.resources_by_ids(&d.resource_ids).await?;
    if own.len() != d.resource_ids.len() || own.iter().any(|r| r.org != a.org.id) {
        return Err(ServiceError::Invalid {
            code: "not_own_resource",
            field: Some("resource_ids".into()),
            message: "a resource of the offer is not one of yours".into(),
        }
        .into());
    }
    let new = NewOffer {
        org: a.org.id,
        replaces,
        mode_id: d.mode_id,
        title: d.title,
        resource_ids: d.resource_ids,
        units: d.units,
        valid_from_ms: d.valid_from_ms,
        valid_until_ms: d.valid_until_ms,
        at_ms: s.clock.now_unix_ms(),
    };
    s.store.create_offer(&new).await.map_err(|e| match e {
        StoreError::Conflict(m) if m.starts_with("offer_in_review") => in_review().into(),
        other => other.into(),
    })
}

fn in_review() -> ServiceError {
    ServiceError::Conflict {
        code: "offer_in_review",
        field: Some("offer".into()),
        message: "another version of this offer is in the operator's listing review; edit it after the decision".into(),
    }
}

/// Adds an offer (a draft: published separately).
pub async fn create_offer(s: &AppState, a: &Authed, d: &OfferDraft) -> SupplyResult<OfferRecord> {
    a.allow(Permission::SupplyManage)?;
    new_offer(s, a, d, None).await
}

/// Edits an offer: a new draft version of it, refused while a version is in review.
pub async fn edit_offer(
    s: &AppState,
    a: &Authed,
    id: i64,
    d: &OfferDraft,
) -> SupplyResult<OfferRecord> {
    a.allow(Permission::SupplyManage)?;
    let cur = get_offer(s, a, id).await?;
    let versions = s.store.offer_versions(cur.lineage_id).await?;
    let statuses: Vec<OfferStatus> = versions.iter().map(|v| v.status).collect();
    may_edit(&statuses).map_err(|_| in_review())?;
    new_offer(s, a, d, Some(id)).await
}

/// The chain `spec` of an offer: its resources summarised (`A100×8 80GB cn-west; …`),
/// cut to [`CHAIN_SPEC_BYTES_MAX`] bytes on a character boundary.
pub fn chain_spec(title: &str, resources: &[ResourceRecord]) -> String {
    let parts: Vec<String> = resources
        .iter()
        .map(|r| {
            let d = r.spec.get();
            format!(
                "{}x{} {}GB {}",
                d.gpu_model, d.gpu_count, d.gpu_mem_gb, d.region
            )
        })
        .collect();
    let mut out = format!("{title}: {}", parts.join("; "));
    while out.len() > CHAIN_SPEC_BYTES_MAX {
        out.pop();
    }
    out
}

/// Publishes a draft version on the trade chain, signed by the caller's key: the offer
/// then waits for the operator's listing review. Its mode must be on the chain already.
pub async fn publish_offer(
    s: &AppState,
    a: &Authed,
    id: i64,
    ip: &str,
    password: String,
) -> ServiceResult<OfferRecord> {
    a.allow(Permission::SupplyManage)?;
    let offer = get_offer(s, a, id).await?;
    if offer.status != OfferStatus::Draft {
        return Err(ServiceError::Conflict {
            code: "offer_wrong_status",
            field: None,
            message: format!(
                "only a draft is published; this version is {}",
                offer.status.as_str()
            ),
        });
    }
    let mode = get_mode(s, a, offer.mode_id).await?;
    let Some(chain_mode) = mode.chain_mode_id else {
        return Err(ServiceError::Invalid {
            code: "mode_not_published",
            field: Some("mode_id".into()),
            message: "publish the offer's trade mode on the chain first".into(),
        });
    };
    let resources = s.store.resources_by_ids(&offer.resource_ids).await?;
    let ledger = ledger(s)?;
    let key = unseal(s, a, ip, password).await?;
    let terms = ChainOffer {
        mode_id: chain_mode,
        spec: chain_spec(&offer.title, &resources),
        quantity: offer.units,
        valid_from_ms: u64::try_from(offer.valid_from_ms).unwrap_or(0),
        valid_until_ms: u64::try_from(offer.valid_until_ms).unwrap_or(0),
    };
    let p: Published = blocking(move || ledger.publish_offer(&key, &terms), "offer").await?;
    tracing::info!(
        org_id = a.org.id.get(),
        offer = id,
        chain_offer = p.chain_id,
        "offer published"
    );
    Ok(s.store
        .set_offer_published(id, p.chain_id, &p.tx, s.clock.now_unix_ms())
        .await?)
}

/// Unpublishes a version: withdrawn on the chain (signed by the caller's key) and off the
/// catalogue.
pub async fn unpublish_offer(
    s: &AppState,
    a: &Authed,
    id: i64,
    ip: &str,
    password: String,
) -> ServiceResult<OfferRecord> {
    a.allow(Permission::SupplyManage)?;
    let offer = get_offer(s, a, id).await?;
    let (Some(chain_id), true) = (
        offer.chain_offer_id,
        matches!(
            offer.status,
            OfferStatus::InReview
                | OfferStatus::Listed
                | OfferStatus::Rejected
                | OfferStatus::Superseded
        ),
    ) else {
        return Err(ServiceError::Conflict {
            code: "offer_wrong_status",
            field: None,
            message: format!(
                "only a published version is withdrawn; this one is {}",
                offer.status.as_str()
            ),
        });
    };
    let ledger = ledger(s)?;
    let key = unseal(s, a, ip, password).await?;
    blocking(move || ledger.withdraw_offer(&key, chain_id), "offer").await?;
    Ok(s.store.withdraw_offer(id, s.clock.now_unix_ms()).await?)
}

fn ledger(s: &AppState) -> ServiceResult<Arc<dyn SupplyLedger>> {
    s.supply_ledger.clone().ok_or_else(|| ServiceError::Denied {
        code: "ledger_unavailable",
        field: None,
        message: "no trade chain is attached to this platform".into(),
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::PortError> + Send + 'static,
    field: &'static str,
) -> ServiceResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ServiceError::Internal("the chain task failed".into()))?
        .map_err(|e| chain_refused(field, &e))
}

/// The caller's DID key, opened with `password` (checked like a login first: a wrong one
/// counts towards the account lock and the address throttle).
pub(super) async fn unseal(
    s: &AppState,
    a: &Authed,
    ip: &str,
    password: String,
) -> ServiceResult<SecretKey> {
    super::supply_onboarding::require_supplier_key(s, a).await?;
    let now = s.clock.now_unix_ms();
    let lp = settings(s).await?.login;
    let window_ms = i64::from(lp.ip_window_secs) * 1000;
    let allowed = s
        .login_failures
        .lock()
        .map(|w| w.allowed(ip, now, window_ms, lp.ip_failures_max))
        .unwrap_or(true);
    if !allowed {
        return Err(ServiceError::Throttled {
            code: "too_many_attempts",
            locked: false,
            message: "too many failed password checks from this address; try again later".into(),
        });
    }
    if a.user.locked_until_ms.is_some_and(|t| t > now) {
        return Err(ServiceError::Throttled {
            code: "account_locked",
            locked: true,
            message: "too many failed password checks; the account is temporarily locked".into(),
        });
    }
    let stored = super::keys::mine_or_none(s, a).await?;
    let password = zeroize::Zeroizing::new(password);
    if !verify_password(s, password.to_string(), a.user.password_hash.clone()).await {
        count_failure(s, &a.user, now, ip).await?;
        return Err(ServiceError::Invalid {
            code: "invalid_credentials",
            field: Some("password".to_owned()),
            message: "the password is wrong".to_owned(),
        });
    }
    let pem = s.custody.export_pem(&stored, &password).await.map_err(|e| {
        tracing::error!(user_id = a.user.id.get(), error = %e, "the user key does not open with the verified password");
        ServiceError::Internal("the user key does not open".to_owned())
    })?;
    SecretKey::from_pem(&pem).map_err(|e| ServiceError::Internal(format!("the user key: {e}")))
}

// ---- the operator's listing review --------------------------------------------------

/// Offer versions waiting for the listing review (every supplier's), oldest first.
pub async fn review_queue(s: &AppState, a: &Authed, page: Page) -> ServiceResult<Vec<OfferRecord>> {
    a.allow(Permission::SupplierReview)?;
    Ok(s.store
        .list_offers(None, Some(OfferStatus::InReview), page.after, page.limit)
        .await?)
}

/// One offer version with its mode, resources and supplier, for the reviewer.
pub async fn review_offer(s: &AppState, a: &Authed, id: i64) -> ServiceResult<OfferView> {
    a.allow(Permission::SupplierReview)?;
    let o = s.store.get_offer(id).await?.ok_or(ServiceError::NotFound)?;
    view(s, o).await
}

/// Approves a version in review: listed in the catalogue; the listed version it edits
/// leaves the catalogue (superseded).
pub async fn approve_listing(s: &AppState, a: &Authed, id: i64) -> ServiceResult<OfferRecord> {
    decide(s, a, id, true, None).await
}

/// Rejects a version in review with a reason the supplier sees.
pub async fn reject_listing(
    s: &AppState,
    a: &Authed,
    id: i64,
    reason: &str,
) -> SupplyResult<OfferRecord> {
    a.allow(Permission::SupplierReview)?;
    let reason = rejection_reason(reason).map_err(|p| SupplyError::Fields(vec![p]))?;
    Ok(decide(s, a, id, false, Some(reason)).await?)
}

async fn decide(
    s: &AppState,
    a: &Authed,
    id: i64,
    approve: bool,
    reason: Option<String>,
) -> ServiceResult<OfferRecord> {
    a.allow(Permission::SupplierReview)?;
    let o = s.store.get_offer(id).await?.ok_or(ServiceError::NotFound)?;
    if o.status != OfferStatus::InReview {
        return Err(ServiceError::Conflict {
            code: "offer_wrong_status",
            field: None,
            message: format!(
                "only a version in review is decided; this one is {}",
                o.status.as_str()
            ),
        });
    }
    let d = ListingDecision {
        offer_id: id,
        approve,
        reason,
        by: a.user.id,
        at_ms: s.clock.now_unix_ms(),
    };
    let (out, superseded) = s.store.decide_listing(&d).await?;
    tracing::info!(
        offer = id,
        approve,
        superseded = superseded.len(),
        "listing decided"
    );
    Ok(out)
}

// ---- the public catalogue -----------------------------------------------------------

/// A listed offer as the catalogue shows it.
#[derive(Debug, Clone)]
pub struct OfferView {
    /// The version.
    pub offer: OfferRecord,
    /// Its trade mode.
    pub mode: ModeRecord,
    /// Its resources.
    pub resources: Vec<ResourceRecord>,
    /// The supplier's name.
    pub supplier: String,
}

async fn view(s: &AppState, offer: OfferRecord) -> ServiceResult<OfferView> {
    let mode = s
        .store
        .get_mode(offer.mode_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let resources = s.store.resources_by_ids(&offer.resource_ids).await?;
    let supplier = s
        .store
        .get_org(offer.org)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(OfferView {
        offer,
        mode,
        resources,
        supplier,
    })
}

/// Listed offers still valid (anyone, signed in or not), by id, at most
/// [`CATALOGUE_PAGE_MAX`] looked at per page.
pub async fn catalogue_offers(
    s: &AppState,
    after: i64,
    limit: u32,
) -> ServiceResult<Vec<OfferView>> {
    let limit = limit.clamp(1, CATALOGUE_PAGE_MAX);
    let offers = s
        .store
        .list_offers(None, Some(OfferStatus::Listed), after, limit)
        .await?;
    let now = s.clock.now_unix_ms();
    let mut out = Vec::with_capacity(offers.len());
    for o in offers.into_iter().filter(|o| o.valid_until_ms > now) {
        if supplier_active(s, o.org).await? {
            out.push(view(s, o).await?);
        }
    }
    Ok(out)
}

/// Whether a supplier organisation is active: a suspended (or otherwise inactive)
/// supplier's offers leave the catalogue.
async fn supplier_active(s: &AppState, org: OrgId) -> ServiceResult<bool> {
    Ok(s.store
        .get_org(org)
        .await?
        .is_some_and(|o| o.status == OrgStatus::Active))
}

/// One listed offer (anything not listed, or past its validity, is not found).
pub async fn catalogue_offer(s: &AppState, id: i64) -> ServiceResult<OfferView> {
    let now = s.clock.now_unix_ms();
    let o = s
        .store
        .get_offer(id)
        .await?
        .filter(|o| o.status == OfferStatus::Listed && o.valid_until_ms > now)
        .ok_or(ServiceError::NotFound)?;
    if !supplier_active(s, o.org).await? {
        return Err(ServiceError::NotFound);
    }
    view(s, o).await
}
