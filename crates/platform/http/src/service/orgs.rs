//! Organisations: listing and reading within the caller's organisation visibility, the
//! operator creating verified organisations with their administrator, renaming,
//! suspending (never erasing) and assigning a customer's sales owner.

use super::security::{check_new_password, hash_password, parse_login_at, parse_name};
use super::{Page, ServiceError, ServiceResult, visible_org};
use crate::AppState;
use crate::auth::Authed;
use serde::{Deserialize, Serialize};
use suanli_platform_domain::{OrgId, OrgKind, OrgStatus, Permission, Role, UserId};
use suanli_platform_store::{NewOrg, NewUser, OrgRecord, UserRecord};

/// Organisations visible to the caller, after `page.after`.
pub async fn list(s: &AppState, a: &Authed, page: Page) -> ServiceResult<Vec<OrgRecord>> {
    a.allow(Permission::OrgRead)?;
    Ok(s.store
        .list_orgs(
            a.principal.org_visibility(),
            OrgId::new(page.after),
            page.limit,
        )
        .await?)
}

/// Organisation `id` (not found outside the caller's visibility).
pub async fn get(s: &AppState, a: &Authed, id: i64) -> ServiceResult<OrgRecord> {
    a.allow(Permission::OrgRead)?;
    visible_org(s, a, id).await
}

/// The initial administrator of a new organisation.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminDraft {
    /// Login.
    pub login: String,
    /// Display name.
    pub display_name: String,
    /// Initial password (the policy applies).
    pub password: String,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for AdminDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminDraft")
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A new organisation created by the operator.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgDraft {
    /// Kind (not the operator: there is exactly one).
    pub kind: OrgKind,
    /// Name.
    pub name: String,
    /// Its administrator.
    pub admin: AdminDraft,
}

/// The operator creates a supplier, distributor or customer (already verified offline)
/// with its administrator.
pub async fn create(
    s: &AppState,
    a: &Authed,
    r: &OrgDraft,
) -> ServiceResult<(OrgRecord, UserRecord)> {
    a.allow(Permission::OrgAdmin)?;
    if r.kind == OrgKind::Operator {
        return Err(ServiceError::invalid(
            "kind",
            "there is exactly one operator",
        ));
    }
    let name = parse_name(&r.name, "name")?;
    let login = parse_login_at(&r.admin.login, "admin.login")?;
    let display = parse_name(&r.admin.display_name, "admin.display_name")?;
    check_new_password(s, &r.admin.password, login.as_str(), None, "admin.password").await?;
    if s.store.get_user_by_login(login.as_str()).await?.is_some() {
        return Err(ServiceError::Conflict {
            code: "login_taken",
            field: Some("admin.login".to_owned()),
            message: "login already exists".to_owned(),
        });
    }
    let now = s.clock.now_unix_ms();
    let hash = hash_password(s, r.admin.password.clone()).await?;
    let org = s
        .store
        .create_org(&NewOrg {
            kind: r.kind,
            name: name.as_str().to_owned(),
            status: OrgStatus::Active,
            distributor: None,
            created_ms: now,
        })
        .await?;
    let user = s
        .store
        .create_user(&NewUser {
            org: org.id,
            login: login.as_str().to_owned(),
            display_name: display.as_str().to_owned(),
            password_hash: hash,
            roles: vec![Role::admin_of(r.kind)],
            created_ms: now,
        })
        .await?;
    Ok((org, user))
}

async fn reread(s: &AppState, id: OrgId) -> ServiceResult<OrgRecord> {
    s.store.get_org(id).await?.ok_or(ServiceError::NotFound)
}

/// Renames organisation `id`.
pub async fn rename(s: &AppState, a: &Authed, id: i64, name: &str) -> ServiceResult<OrgRecord> {
    a.allow(Permission::OrgUpdate)?;
    let org = visible_org(s, a, id).await?;
    if !a.principal.can_update_org(&org.facts()) {
        return Err(ServiceError::forbidden());
    }
    let name = parse_name(name, "name")?;
    if org.kind.is_supplier() {
        refuse_rename_when_listed(s, org.id).await?;
    }
    s.store.rename_org(org.id, name.as_str()).await?;
    reread(s, org.id).await
}

/// A supplier with an offer version in the listing review or listed keeps its name: the
/// catalogue shows the organisation's name, which the reviewer approved with the offer
/// (`409 supplier_name_in_listing`, `docs/supply.md` §2).
async fn refuse_rename_when_listed(s: &AppState, org: OrgId) -> ServiceResult<()> {
    use suanli_platform_domain::supply::catalog::OfferStatus;
    for status in [OfferStatus::InReview, OfferStatus::Listed] {
        if !s
            .store
            .list_offers(Some(org), Some(status), 0, 1)
            .await?
            .is_empty()
        {
            return Err(ServiceError::Conflict {
                code: "supplier_name_in_listing",
                field: Some("name".to_owned()),
                message: "this supplier has an offer in the listing review or listed: withdraw it before renaming".to_owned(),
            });
        }
    }
    Ok(())
}

/// Suspends organisation `id` (organisations are never erased).
pub async fn suspend(s: &AppState, a: &Authed, id: i64) -> ServiceResult<()> {
    a.allow(Permission::OrgAdmin)?;
    let org = visible_org(s, a, id).await?;
    if !a.principal.can_suspend_org(&org.facts()) {
        return Err(ServiceError::forbidden());
    }
    s.store.set_org_status(org.id, OrgStatus::Suspended).await?;
    Ok(())
}

/// Assigns (or, with `None`, removes) the operator salesperson `user_id` as the sales
/// owner of customer `id`.
pub async fn set_sales_owner(
    s: &AppState,
    a: &Authed,
    id: i64,
    user_id: Option<i64>,
) -> ServiceResult<OrgRecord> {
    a.allow(Permission::OrgAdmin)?;
    let org = visible_org(s, a, id).await?;
    if !org.kind.is_customer() {
        return Err(ServiceError::invalid(
            "id",
            "only customers have a sales owner",
        ));
    }
    let owner = match user_id {
        None => None,
        Some(uid) => {
            let u =
                UserId::new(uid).ok_or_else(|| ServiceError::invalid("user_id", "no such user"))?;
            let user = s
                .store
                .get_user(u)
                .await?
                .ok_or_else(|| ServiceError::invalid("user_id", "no such user"))?;
            if user.org != a.org.id || !user.roles.contains(&Role::Sales) {
                return Err(ServiceError::invalid(
                    "user_id",
                    "must be a salesperson of the operator",
                ));
            }
            Some(user.id)
        }
    };
    s.store.set_org_sales_owner(org.id, owner).await?;
    reread(s, org.id).await
}

/// Most organisations scanned for the supplier list (pages of `PAGE_SIZE_MAX`).
pub const ORGS_SCANNED_MAX: usize = 20_000;

/// The organisations `ids` (for naming them on rows the caller already may see).
pub async fn names(s: &AppState, ids: &[OrgId]) -> ServiceResult<Vec<OrgRecord>> {
    Ok(s.store.orgs_by_ids(ids).await?)
}

/// Active supplier organisations — the public supplier directory — from every page of
/// organisations (up to [`ORGS_SCANNED_MAX`]): a supplier added after many customers is
/// still listed.
pub async fn suppliers(s: &AppState) -> ServiceResult<Vec<OrgRecord>> {
    use suanli_platform_domain::OrgVisibility;
    use suanli_platform_store::PAGE_SIZE_MAX;
    let mut suppliers = Vec::new();
    let mut after = None;
    for _ in 0..ORGS_SCANNED_MAX.div_ceil(PAGE_SIZE_MAX as usize) {
        let page = s
            .store
            .list_orgs(OrgVisibility::All, after, PAGE_SIZE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let full = page.len() == PAGE_SIZE_MAX as usize;
        suppliers.extend(
            page.into_iter()
                .filter(|o| o.kind.is_supplier() && o.status == OrgStatus::Active),
        );
        if !full {
            break;
        }
    }
    Ok(suppliers)
}
