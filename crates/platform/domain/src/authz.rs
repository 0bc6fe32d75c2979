//! The authorisation policy: who may see and change what. Pure functions of a
//! [`Principal`] and facts about the target, so they are unit-testable and the server
//! cannot forget a rule in one place that it applies in another.
//!
//! Two rules shape everything:
//! - a principal holds permissions through its roles (union), narrowed by an API token's
//!   scopes when it authenticated with one (intersection);
//! - which organisations it can see is an [`OrgVisibility`]; the store turns the same value
//!   into the SQL filter of list queries, and by-id access checks [`OrgVisibility::permits`],
//!   so a list never shows what a by-id read would deny and vice versa.

use crate::ids::{OrgId, UserId};
use crate::org::OrgKind;
use crate::role::{Permission, Role};
use std::collections::BTreeSet;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    user_id: UserId,
    org_id: OrgId,
    org_kind: OrgKind,
    roles: BTreeSet<Role>,
    scopes: Option<BTreeSet<Permission>>,
}

/// The facts about an organisation that visibility depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgFacts {
    /// The organisation.
    pub id: OrgId,
    /// Its kind.
    pub kind: OrgKind,
    /// The distributor that referred it (invite code), if any.
    pub distributor: Option<OrgId>,
    /// The operator salesperson it is assigned to, if any.
    pub sales_owner: Option<UserId>,
}

/// Which organisations a principal can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgVisibility {
    /// None at all.
    Nothing,
    /// Every organisation (operator staff, auditors, regulators).
    All,
    /// Its own organisation, plus customers referred by `referred_by` (a distributor's own
    /// id) and customers assigned to salesperson `sales_owner`.
    Scoped {
        /// Own organisation.
        own: OrgId,
        /// Distributor whose referred customers are visible.
        referred_by: Option<OrgId>,
        /// Salesperson whose assigned customers are visible.
        sales_owner: Option<UserId>,
    },
}

impl OrgVisibility {
    /// Whether the organisation described by `t` is visible.
    pub fn permits(&self, t: &OrgFacts) -> bool {
        match *self {
            OrgVisibility::Nothing => false,
            OrgVisibility::All => true,
            OrgVisibility::Scoped {
                own,
                referred_by,
                sales_owner,
            } => {
                t.id == own
                    || (referred_by.is_some() && t.distributor == referred_by)
                    || (sales_owner.is_some() && t.sales_owner == sales_owner)
            }
        }
    }
}

impl Principal {
    /// A principal for `user_id` in organisation `org_id` of `org_kind` holding `roles`.
    /// Roles that may not be held in that kind of organisation are dropped (they grant
    /// nothing), so a mis-assigned role can never widen access.
    pub fn new(
        user_id: UserId,
        org_id: OrgId,
        org_kind: OrgKind,
        roles: impl IntoIterator<Item = Role>,
    ) -> Self {
        Self {
            user_id,
            org_id,
            org_kind,
            roles: roles
                .into_iter()
                .filter(|r| r.allowed_in(org_kind))
                .collect(),
            scopes: None,
        }
    }

    /// Narrows the principal to `scopes` (an API token's scopes).
    pub fn with_scopes(mut self, scopes: impl IntoIterator<Item = Permission>) -> Self {
        self.scopes = Some(scopes.into_iter().collect());
        self
    }

    /// The user.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    /// The user's organisation.
    pub fn org_id(&self) -> OrgId {
        self.org_id
    }
    /// The kind of the user's organisation.
    pub fn org_kind(&self) -> OrgKind {
        self.org_kind
    }
    /// The effective roles.
    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.roles.iter().copied()
    }

    /// Whether the principal holds `p` (through a role, and within its token's scopes).
    pub fn has(&self, p: Permission) -> bool {
        let by_role = self.roles.iter().any(|r| r.permissions().contains(&p));
        let in_scope = self.scopes.as_ref().is_none_or(|s| s.contains(&p));
        by_role && in_scope
    }

    /// All effective permissions.
    pub fn permissions(&self) -> BTreeSet<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.has(*p))
            .collect()
    }

    /// Which organisations the principal can see.
    pub fn org_visibility(&self) -> OrgVisibility {
        if !self.has(Permission::OrgRead) {
            return OrgVisibility::Nothing;
        }
        let sees_all = self.roles.iter().any(|r| {
            matches!(
                r,
                Role::OperatorAdmin
                    | Role::OperationsStaff
                    | Role::Finance
                    | Role::Auditor
                    | Role::Regulator
            )
        });
        if sees_all {
            return OrgVisibility::All;
        }
        OrgVisibility::Scoped {
            own: self.org_id,
            referred_by: self
                .roles
                .contains(&Role::DistributorAdmin)
                .then_some(self.org_id),
            sales_owner: self.roles.contains(&Role::Sales).then_some(self.user_id),
        }
    }

    /// Which organisations' users the principal can see: those of visible organisations,
    /// and always its own organisation's when it holds `user:read`.
    pub fn user_visibility(&self) -> OrgVisibility {
        if !self.has(Permission::UserRead) {
            return OrgVisibility::Nothing;
        }
        match self.org_visibility() {
            OrgVisibility::Nothing => OrgVisibility::Scoped {
                own: self.org_id,
                referred_by: None,
                sales_owner: None,
            },
            v => v,
        }
    }

    /// May the principal change the profile of organisation `t`?
    pub fn can_update_org(&self, t: &OrgFacts) -> bool {
        self.has(Permission::OrgUpdate) && (t.id == self.org_id || self.has(Permission::OrgAdmin))
    }

    /// May the principal suspend organisation `t`? Never its own.
    pub fn can_suspend_org(&self, t: &OrgFacts) -> bool {
        self.has(Permission::OrgAdmin) && t.id != self.org_id
    }

    /// May the principal create, disable or re-role users of organisation `org`?
    pub fn can_manage_users_of(&self, org: OrgId) -> bool {
        self.has(Permission::UserManage) && org == self.org_id
    }

    /// May the principal grant `role` to a user of its own organisation? Only roles allowed
    /// in the organisation's kind, and only roles that grant nothing the principal itself
    /// lacks (no privilege escalation).
    pub fn can_grant(&self, role: Role) -> bool {
        role.allowed_in(self.org_kind) && role.permissions().iter().all(|p| self.has(*p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: i64) -> OrgId {
        OrgId::new(n).unwrap_or_else(|| unreachable!())
    }
    fn uid(n: i64) -> UserId {
        UserId::new(n).unwrap_or_else(|| unreachable!())
    }
    fn org(id: i64, kind: OrgKind, dist: Option<i64>, sales: Option<i64>) -> OrgFacts {
        OrgFacts {
            id: oid(id),
            kind,
            distributor: dist.map(oid),
            sales_owner: sales.map(uid),
        }
    }

    #[test]
    fn roles_not_allowed_in_org_kind_grant_nothing() {
        let p = Principal::new(uid(1), oid(9), OrgKind::Enterprise, [Role::OperatorAdmin]);
        assert_eq!(p.roles().count(), 0);
        assert!(!p.has(Permission::OrgRead));
        assert_eq!(p.org_visibility(), OrgVisibility::Nothing);
    }

    #[test]
    fn sales_see_only_their_customers() {
        let p = Principal::new(uid(7), oid(1), OrgKind::Operator, [Role::Sales]);
        let mine = org(20, OrgKind::Enterprise, None, Some(7));
        let theirs = org(21, OrgKind::Enterprise, None, Some(8));
        let unassigned = org(22, OrgKind::Personal, None, None);
        let v = p.org_visibility();
        assert!(v.permits(&mine));
        assert!(!v.permits(&theirs));
        assert!(!v.permits(&unassigned));
        assert!(v.permits(&org(1, OrgKind::Operator, None, None)));
    }

    #[test]
    fn distributors_see_referred_customers_only() {
        let p = Principal::new(
            uid(3),
            oid(5),
            OrgKind::Distributor,
            [Role::DistributorAdmin],
        );
        let v = p.org_visibility();
        assert!(v.permits(&org(5, OrgKind::Distributor, None, None)));
        assert!(v.permits(&org(30, OrgKind::Enterprise, Some(5), None)));
        assert!(!v.permits(&org(31, OrgKind::Enterprise, Some(6), None)));
        assert!(!v.permits(&org(32, OrgKind::Enterprise, None, None)));
    }

    #[test]
    fn customers_see_themselves_only() {
        let p = Principal::new(
            uid(3),
            oid(40),
            OrgKind::Enterprise,
            [Role::CustomerSubUser],
        );
        let v = p.org_visibility();
        assert!(v.permits(&org(40, OrgKind::Enterprise, None, None)));
        assert!(!v.permits(&org(41, OrgKind::Enterprise, None, None)));
        assert_eq!(p.user_visibility(), OrgVisibility::Nothing);
        assert!(!p.can_update_org(&org(40, OrgKind::Enterprise, None, None)));
    }

    #[test]
    fn token_scopes_narrow_roles() {
        let p = Principal::new(uid(1), oid(1), OrgKind::Operator, [Role::OperatorAdmin])
            .with_scopes([Permission::OrgRead]);
        assert!(p.has(Permission::OrgRead));
        assert!(!p.has(Permission::OrgAdmin));
        // Scopes never add what roles lack.
        let q = Principal::new(
            uid(2),
            oid(40),
            OrgKind::Enterprise,
            [Role::CustomerSubUser],
        )
        .with_scopes(Permission::ALL);
        assert!(!q.has(Permission::UserManage));
    }

    #[test]
    fn updates_and_suspension() {
        let cust = Principal::new(uid(2), oid(40), OrgKind::Enterprise, [Role::CustomerAdmin]);
        assert!(cust.can_update_org(&org(40, OrgKind::Enterprise, None, None)));
        assert!(!cust.can_update_org(&org(41, OrgKind::Enterprise, None, None)));
        assert!(!cust.can_suspend_org(&org(41, OrgKind::Enterprise, None, None)));
        let op = Principal::new(uid(1), oid(1), OrgKind::Operator, [Role::OperatorAdmin]);
        assert!(op.can_update_org(&org(41, OrgKind::Enterprise, None, None)));
        assert!(op.can_suspend_org(&org(41, OrgKind::Enterprise, None, None)));
        assert!(!op.can_suspend_org(&org(1, OrgKind::Operator, None, None)));
    }

    #[test]
    fn no_privilege_escalation_by_grant() {
        let sys = Principal::new(uid(1), oid(1), OrgKind::Operator, [Role::SystemAdmin]);
        assert!(!sys.can_grant(Role::OperatorAdmin));
        assert!(sys.can_grant(Role::SystemAdmin));
        let cust = Principal::new(uid(2), oid(40), OrgKind::Enterprise, [Role::CustomerAdmin]);
        assert!(cust.can_grant(Role::CustomerSubUser));
        assert!(cust.can_grant(Role::CustomerAdmin));
        assert!(!cust.can_grant(Role::SupplierAdmin));
        assert!(cust.can_manage_users_of(oid(40)));
        assert!(!cust.can_manage_users_of(oid(41)));
    }

    #[test]
    fn multiple_roles_union() {
        let p = Principal::new(
            uid(1),
            oid(1),
            OrgKind::Operator,
            [Role::Sales, Role::Finance],
        );
        assert!(p.has(Permission::FinanceRead));
        assert!(p.has(Permission::UserRead));
        assert_eq!(p.org_visibility(), OrgVisibility::All);
    }
}
