//! Users: listing an organisation's users within the caller's user visibility, creating
//! (sub-)users with roles the caller may grant, reading one, replacing its roles and
//! disabling it (which ends its sessions). Nobody changes their own roles, disables
//! themselves, or changes a user who holds a permission they lack.

use super::security::{check_new_password, hash_password, parse_login, parse_name};
use super::{Page, ServiceError, ServiceResult};
use crate::AppState;
use crate::auth::Authed;
use serde::{Deserialize, Serialize};
use suanli_platform_domain::{OrgId, Permission, Role, UserId};
use suanli_platform_store::{NewUser, OrgRecord, StoreError, UserRecord};

/// Most roles one request may assign.
pub const ROLES_PER_USER_MAX: usize = 11;

/// Organisation `id` if it is in the caller's *user* visibility (else not found).
async fn user_org(s: &AppState, a: &Authed, id: i64) -> ServiceResult<OrgRecord> {
    let org = s
        .store
        .get_org(OrgId::new(id).ok_or(ServiceError::NotFound)?)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !a.principal.user_visibility().permits(&org.facts()) {
        return Err(ServiceError::NotFound);
    }
    Ok(org)
}

/// Users of organisation `org_id`, after the user id `page.after`.
pub async fn list(
    s: &AppState,
    a: &Authed,
    org_id: i64,
    page: Page,
) -> ServiceResult<Vec<UserRecord>> {
    a.allow(Permission::UserRead)?;
    let org = user_org(s, a, org_id).await?;
    Ok(s.store
        .list_users(
            a.principal.user_visibility(),
            Some(org.id),
            UserId::new(page.after),
            page.limit,
        )
        .await?)
}

/// The roles the caller grants: 1 to [`ROLES_PER_USER_MAX`], each one it may grant;
/// sorted, without repeats.
pub fn check_grants(a: &Authed, roles: &[Role]) -> ServiceResult<Vec<Role>> {
    if roles.is_empty() || roles.len() > ROLES_PER_USER_MAX {
        return Err(ServiceError::invalid("roles", "1 to 11 roles"));
    }
    if let Some(r) = roles.iter().find(|r| !a.principal.can_grant(**r)) {
        return Err(ServiceError::Denied {
            code: "forbidden",
            field: Some("roles".to_owned()),
            message: format!("you may not grant the role {}", r.as_str()),
        });
    }
    let mut v = roles.to_vec();
    v.sort();
    v.dedup();
    Ok(v)
}

/// A new (sub-)user.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserDraft {
    /// Login.
    pub login: String,
    /// Display name.
    pub display_name: String,
    /// Initial password (the policy applies).
    pub password: String,
    /// Roles.
    pub roles: Vec<Role>,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for UserDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDraft")
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .field("roles", &self.roles)
            .finish()
    }
}

/// Creates a (sub-)user in organisation `org_id` (one's own, or one the caller manages).
pub async fn create(
    s: &AppState,
    a: &Authed,
    org_id: i64,
    r: &UserDraft,
) -> ServiceResult<UserRecord> {
    a.allow(Permission::UserManage)?;
    let org = user_org(s, a, org_id).await?;
    if !a.principal.can_manage_users_of(org.id) {
        return Err(ServiceError::forbidden());
    }
    let roles = check_grants(a, &r.roles)?;
    let login = parse_login(&r.login)?;
    let display = parse_name(&r.display_name, "display_name")?;
    check_new_password(s, &r.password, login.as_str(), None, "password").await?;
    let hash = hash_password(s, r.password.clone()).await?;
    s.store
        .create_user(&NewUser {
            org: org.id,
            login: login.as_str().to_owned(),
            display_name: display.as_str().to_owned(),
            password_hash: hash,
            roles,
            created_ms: s.clock.now_unix_ms(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::Conflict {
                code: "login_taken",
                field: Some("login".to_owned()),
                message: "login already exists".to_owned(),
            },
            other => other.into(),
        })
}

/// The user `id` if the caller may see it (itself, or users of organisations in its user
/// visibility; else not found).
pub async fn visible_user(s: &AppState, a: &Authed, id: i64) -> ServiceResult<UserRecord> {
    let uid = UserId::new(id).ok_or(ServiceError::NotFound)?;
    let user = s.store.get_user(uid).await?.ok_or(ServiceError::NotFound)?;
    if user.id == a.user.id {
        return Ok(user);
    }
    let org = s
        .store
        .get_org(user.org)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !a.principal.user_visibility().permits(&org.facts()) {
        return Err(ServiceError::NotFound);
    }
    Ok(user)
}

/// User `id` (oneself always; others with `user.read`).
pub async fn get(s: &AppState, a: &Authed, id: i64) -> ServiceResult<UserRecord> {
    if id != a.user.id.get() {
        a.allow(Permission::UserRead)?;
    }
    visible_user(s, a, id).await
}

/// User `id` if the caller may change it.
async fn managed_user(s: &AppState, a: &Authed, id: i64) -> ServiceResult<UserRecord> {
    a.allow(Permission::UserManage)?;
    let u = visible_user(s, a, id).await?;
    let denied = |message: &str| ServiceError::Denied {
        code: "forbidden",
        field: None,
        message: message.to_owned(),
    };
    if u.id == a.user.id {
        return Err(denied(
            "you cannot change your own roles or disable yourself",
        ));
    }
    if !a.principal.can_manage_users_of(u.org) {
        return Err(ServiceError::forbidden());
    }
    // Nobody may demote or disable a user who holds a permission they lack.
    let outranked = u
        .roles
        .iter()
        .flat_map(|r| r.permissions().iter())
        .any(|p| !a.principal.has(*p));
    if outranked {
        return Err(denied(
            "this user holds permissions you lack; you cannot change or disable them",
        ));
    }
    Ok(u)
}

/// Replaces the roles of user `id`.
pub async fn set_roles(
    s: &AppState,
    a: &Authed,
    id: i64,
    roles: &[Role],
) -> ServiceResult<UserRecord> {
    let u = managed_user(s, a, id).await?;
    let roles = check_grants(a, roles)?;
    if !roles.contains(&Role::SupplierAdmin) {
        keep_supplier_admin(s, &u).await?;
    }
    s.store.set_user_roles(u.id, &roles).await?;
    s.store.get_user(u.id).await?.ok_or(ServiceError::NotFound)
}

/// Disables user `id` and ends its sessions.
pub async fn disable(s: &AppState, a: &Authed, id: i64) -> ServiceResult<()> {
    let u = managed_user(s, a, id).await?;
    keep_supplier_admin(s, &u).await?;
    s.store.set_user_disabled(u.id, true).await?;
    Ok(())
}

/// The administrator whose DID is a supplier's enrolled supplier DID (issue 16) signs for
/// the supplier: it is neither disabled nor loses `supplier_admin` (`409
/// supplier_did_holder`, `docs/supply.md` §1.3).
async fn keep_supplier_admin(s: &AppState, u: &UserRecord) -> ServiceResult<()> {
    let holder = s
        .store
        .get_supplier(u.org)
        .await?
        .is_some_and(|r| r.admin_user == Some(u.id));
    if holder {
        return Err(ServiceError::Conflict {
            code: "supplier_did_holder",
            field: None,
            message:
                "this user holds the supplier DID: they cannot be disabled or lose supplier_admin"
                    .to_owned(),
        });
    }
    Ok(())
}

/// The users of the caller's own organisation (at most `limit`).
pub async fn of_own_org(s: &AppState, a: &Authed, limit: u32) -> ServiceResult<Vec<UserRecord>> {
    a.allow(Permission::UserRead)?;
    Ok(s.store
        .list_users(
            suanli_platform_domain::OrgVisibility::Scoped {
                own: a.org.id,
                referred_by: None,
                sales_owner: None,
            },
            Some(a.org.id),
            None,
            limit,
        )
        .await?)
}
