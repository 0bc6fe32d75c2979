//! Roles and permissions (seed 002 system console "组织/用户/角色", seed 004 "按组织和角色
//! 进行数据隔离"). A user may hold several roles; its permissions are the union. Each
//! role may only be held by users of certain organisation kinds ([`Role::allowed_in`]).

use crate::org::OrgKind;
use serde::{Deserialize, Serialize};

/// A single thing a principal may do. API-token scopes are sets of permissions too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    /// See organisations (which ones: [`crate::authz::OrgVisibility`]).
    #[serde(rename = "org:read")]
    OrgRead,
    /// Change an organisation's profile (own organisation, or any for the operator).
    #[serde(rename = "org:update")]
    OrgUpdate,
    /// Create supplier/distributor organisations; suspend organisations; assign sales owners.
    #[serde(rename = "org:admin")]
    OrgAdmin,
    /// See users of the organisations one may see.
    #[serde(rename = "user:read")]
    UserRead,
    /// Create sub-users, change their roles, disable them (own organisation only).
    #[serde(rename = "user:manage")]
    UserManage,
    /// See and decide real-name registrations.
    #[serde(rename = "registration:review")]
    RegistrationReview,
    /// Issue invite codes (distributors).
    #[serde(rename = "invite:manage")]
    InviteManage,
    /// Read and verify the audit log.
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Change security settings (password policy, lockout, session limits).
    #[serde(rename = "settings:manage")]
    SettingsManage,
    /// Read finance data (bills, statements) — used by the billing issue.
    #[serde(rename = "finance:read")]
    FinanceRead,
    /// Enter and approve offline recharges and withdrawals, grant vouchers, set credit
    /// lines (approval by a second holder: four eyes).
    #[serde(rename = "finance:manage")]
    FinanceManage,
    /// See an organisation's accounts, statements, orders, instances, bills and messages.
    #[serde(rename = "account:read")]
    AccountRead,
    /// Order, renew, unsubscribe, change spec and recharge for one's own organisation.
    #[serde(rename = "order:place")]
    OrderPlace,
    /// Accept (provision) orders of manual products; advance instance lifecycles.
    #[serde(rename = "order:manage")]
    OrderManage,
    /// Manage the catalogue: categories, products, specs, pricing, discounts, coupons.
    #[serde(rename = "catalogue:manage")]
    CatalogueManage,
    /// A supplier's own supply side: its resources, trade modes, offers, incoming trades,
    /// work orders, revenue, settlements and reputation (own organisation only).
    #[serde(rename = "supply:read")]
    SupplyRead,
    /// Change the supply side: resources, modes, offers (publish, unpublish), work orders,
    /// agreement acceptance, agent keys, payout requests (own organisation only).
    #[serde(rename = "supply:manage")]
    SupplyManage,
    /// The supplier agent's token scope: its organisation's incoming orders and trades,
    /// raising and reading provisioning work orders.
    #[serde(rename = "supply:agent")]
    SupplyAgent,
    /// Operator: review supplier registrations and qualifications, record supply
    /// agreements, review offer listings.
    #[serde(rename = "supplier:review")]
    SupplierReview,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 19] = [
        Permission::OrgRead,
        Permission::OrgUpdate,
        Permission::OrgAdmin,
        Permission::UserRead,
        Permission::UserManage,
        Permission::RegistrationReview,
        Permission::InviteManage,
        Permission::AuditRead,
        Permission::SettingsManage,
        Permission::FinanceRead,
        Permission::FinanceManage,
        Permission::AccountRead,
        Permission::OrderPlace,
        Permission::OrderManage,
        Permission::CatalogueManage,
        Permission::SupplyRead,
        Permission::SupplyManage,
        Permission::SupplyAgent,
        Permission::SupplierReview,
    ];

    /// The stable scope string, e.g. `org:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::OrgRead => "org:read",
            Permission::OrgUpdate => "org:update",
            Permission::OrgAdmin => "org:admin",
            Permission::UserRead => "user:read",
            Permission::UserManage => "user:manage",
            Permission::RegistrationReview => "registration:review",
            Permission::InviteManage => "invite:manage",
            Permission::AuditRead => "audit:read",
            Permission::SettingsManage => "settings:manage",
            Permission::FinanceRead => "finance:read",
            Permission::FinanceManage => "finance:manage",
            Permission::AccountRead => "account:read",
            Permission::OrderPlace => "order:place",
            Permission::OrderManage => "order:manage",
            Permission::CatalogueManage => "catalogue:manage",
            Permission::SupplyRead => "supply:read",
            Permission::SupplyManage => "supply:manage",
            Permission::SupplyAgent => "supply:agent",
            Permission::SupplierReview => "supplier:review",
        }
    }

    /// Parses a scope string.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The roles of the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 运营管理员: runs the operator organisation.
    OperatorAdmin,
    /// 运营人员: reviews registrations, looks after customers.
    OperationsStaff,
    /// 财务: sees customers and finance.
    Finance,
    /// 销售: sees only the customers assigned to them.
    Sales,
    /// 系统管理员: security settings, operator users, audit.
    SystemAdmin,
    /// 审计员: read-only audit access across the platform.
    Auditor,
    /// 监管方: read-only regulator access (audit and organisations).
    Regulator,
    /// 分销商管理员: runs a distributor and sees the customers it brought.
    DistributorAdmin,
    /// 客户管理员: runs an enterprise or personal customer account.
    CustomerAdmin,
    /// 客户子用户: a sub-user of a customer, sees its own organisation only.
    CustomerSubUser,
    /// 供应商管理员: runs a supplier.
    SupplierAdmin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 11] = [
        Role::OperatorAdmin,
        Role::OperationsStaff,
        Role::Finance,
        Role::Sales,
        Role::SystemAdmin,
        Role::Auditor,
        Role::Regulator,
        Role::DistributorAdmin,
        Role::CustomerAdmin,
        Role::CustomerSubUser,
        Role::SupplierAdmin,
    ];

    /// The stable text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::OperatorAdmin => "operator_admin",
            Role::OperationsStaff => "operations_staff",
            Role::Finance => "finance",
            Role::Sales => "sales",
            Role::SystemAdmin => "system_admin",
            Role::Auditor => "auditor",
            Role::Regulator => "regulator",
            Role::DistributorAdmin => "distributor_admin",
            Role::CustomerAdmin => "customer_admin",
            Role::CustomerSubUser => "customer_sub_user",
            Role::SupplierAdmin => "supplier_admin",
        }
    }

    /// Parses [`Role::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The permissions this role grants.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::OperatorAdmin => &[
                OrgRead,
                OrgUpdate,
                OrgAdmin,
                UserRead,
                UserManage,
                RegistrationReview,
                AuditRead,
                FinanceRead,
                FinanceManage,
                AccountRead,
                OrderManage,
                CatalogueManage,
                SupplierReview,
            ],
            Role::OperationsStaff => &[
                OrgRead,
                UserRead,
                RegistrationReview,
                OrderManage,
                CatalogueManage,
                SupplierReview,
            ],
            Role::Finance => &[OrgRead, FinanceRead, FinanceManage, AccountRead],
            Role::Sales => &[OrgRead, UserRead],
            Role::SystemAdmin => &[UserRead, UserManage, AuditRead, SettingsManage],
            Role::Auditor => &[OrgRead, UserRead, AuditRead],
            Role::Regulator => &[OrgRead, AuditRead],
            Role::DistributorAdmin => &[OrgRead, OrgUpdate, UserRead, UserManage, InviteManage],
            Role::CustomerAdmin => &[
                OrgRead,
                OrgUpdate,
                UserRead,
                UserManage,
                AccountRead,
                OrderPlace,
            ],
            Role::CustomerSubUser => &[OrgRead, AccountRead],
            Role::SupplierAdmin => &[
                OrgRead,
                OrgUpdate,
                UserRead,
                UserManage,
                SupplyRead,
                SupplyManage,
                SupplyAgent,
            ],
        }
    }

    /// Whether a user of an organisation of `kind` may hold this role. Auditor and
    /// regulator accounts are issued by the operator, so they live in the operator
    /// organisation.
    pub fn allowed_in(self, kind: OrgKind) -> bool {
        match self {
            Role::OperatorAdmin
            | Role::OperationsStaff
            | Role::Finance
            | Role::Sales
            | Role::SystemAdmin
            | Role::Auditor
            | Role::Regulator => kind == OrgKind::Operator,
            Role::DistributorAdmin => kind == OrgKind::Distributor,
            Role::CustomerAdmin | Role::CustomerSubUser => kind.is_customer(),
            Role::SupplierAdmin => kind.is_supplier(),
        }
    }

    /// The administrator role of a newly created organisation of `kind`.
    pub fn admin_of(kind: OrgKind) -> Role {
        match kind {
            OrgKind::Operator => Role::OperatorAdmin,
            OrgKind::SupplierApi | OrgKind::SupplierResource => Role::SupplierAdmin,
            OrgKind::Distributor => Role::DistributorAdmin,
            OrgKind::Enterprise | OrgKind::Personal => Role::CustomerAdmin,
        }
    }
}

/// The role → permission table as Markdown (kept in `docs/roles.md`; a test checks the
/// document matches).
pub fn permission_table_markdown() -> String {
    let mut out = String::from("| role | may be held in |");
    for p in Permission::ALL {
        out.push_str(&format!(" `{}` |", p.as_str()));
    }
    out.push_str("\n| --- | --- |");
    for _ in Permission::ALL {
        out.push_str(" :-: |");
    }
    out.push('\n');
    for r in Role::ALL {
        let kinds: Vec<&str> = OrgKind::ALL
            .into_iter()
            .filter(|k| r.allowed_in(*k))
            .map(OrgKind::as_str)
            .collect();
        out.push_str(&format!("| `{}` | {} |", r.as_str(), kinds.join(", ")));
        for p in Permission::ALL {
            out.push_str(if r.permissions().contains(&p) {
                " ✓ |"
            } else {
                " |"
            });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_roles_md_matches_the_code() {
        let doc = include_str!("../../../../docs/roles.md");
        let table = permission_table_markdown();
        assert!(
            doc.contains(&table),
            "docs/roles.md is out of date; the table should be:\n{table}"
        );
    }

    #[test]
    fn round_trips() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            let json = serde_json::to_string(&p).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
    }

    #[test]
    fn every_role_is_allowed_somewhere_and_admins_fit() {
        for r in Role::ALL {
            assert!(OrgKind::ALL.into_iter().any(|k| r.allowed_in(k)), "{r:?}");
        }
        for k in OrgKind::ALL {
            assert!(Role::admin_of(k).allowed_in(k));
        }
    }

    #[test]
    fn only_system_admin_manages_settings() {
        for r in Role::ALL {
            assert_eq!(
                r.permissions().contains(&Permission::SettingsManage),
                r == Role::SystemAdmin
            );
        }
    }
}
