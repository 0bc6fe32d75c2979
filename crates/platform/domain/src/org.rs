//! Organisations: who a party is on the platform.

use serde::{Deserialize, Serialize};

/// The kinds of organisation of seeds 002/004.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// The platform operator (运营方). Exactly one exists.
    Operator,
    /// A product supplier connected by API (产品供应商).
    SupplierApi,
    /// A resource supplier whose devices the platform schedules (资源供应商).
    SupplierResource,
    /// A distributor (分销商) with its own customers.
    Distributor,
    /// An enterprise customer (企业客户).
    Enterprise,
    /// A personal customer (个人客户).
    Personal,
}

impl OrgKind {
    /// Every kind, in a fixed order.
    pub const ALL: [OrgKind; 6] = [
        OrgKind::Operator,
        OrgKind::SupplierApi,
        OrgKind::SupplierResource,
        OrgKind::Distributor,
        OrgKind::Enterprise,
        OrgKind::Personal,
    ];

    /// The stable text form used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Operator => "operator",
            OrgKind::SupplierApi => "supplier_api",
            OrgKind::SupplierResource => "supplier_resource",
            OrgKind::Distributor => "distributor",
            OrgKind::Enterprise => "enterprise",
            OrgKind::Personal => "personal",
        }
    }

    /// Parses [`OrgKind::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether this kind is a customer (buys compute).
    pub fn is_customer(self) -> bool {
        matches!(self, OrgKind::Enterprise | OrgKind::Personal)
    }

    /// Whether this kind is a supplier.
    pub fn is_supplier(self) -> bool {
        matches!(self, OrgKind::SupplierApi | OrgKind::SupplierResource)
    }
}

/// Lifecycle of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    /// Registered, real-name review not yet decided; its users cannot log in.
    Pending,
    /// Approved (or created by the operator); fully usable.
    Active,
    /// Real-name review rejected.
    Rejected,
    /// Suspended by the operator ("deleted" organisations are suspended, never erased,
    /// because the audit log and the ledger keep referring to them).
    Suspended,
}

impl OrgStatus {
    /// The stable text form.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Pending => "pending",
            OrgStatus::Active => "active",
            OrgStatus::Rejected => "rejected",
            OrgStatus::Suspended => "suspended",
        }
    }

    /// Parses [`OrgStatus::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        [
            OrgStatus::Pending,
            OrgStatus::Active,
            OrgStatus::Rejected,
            OrgStatus::Suspended,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A display name of an organisation or user: trimmed, 1..=[`NAME_CHARS_MAX`] characters,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

/// Longest display name, in characters.
pub const NAME_CHARS_MAX: usize = 100;

impl DisplayName {
    /// Validates and trims `raw`.
    pub fn parse(raw: &str) -> Option<Self> {
        let t = raw.trim();
        let n = t.chars().count();
        if n == 0 || n > NAME_CHARS_MAX || t.chars().any(char::is_control) {
            return None;
        }
        Some(Self(t.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A login name: 3..=[`LOGIN_CHARS_MAX`] characters of `[a-z0-9._@-]`, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Login(String);

/// Longest login name, in characters.
pub const LOGIN_CHARS_MAX: usize = 64;
/// Shortest login name, in characters.
pub const LOGIN_CHARS_MIN: usize = 3;

impl Login {
    /// Validates `raw` (case-insensitive; stored lower-case).
    pub fn parse(raw: &str) -> Option<Self> {
        let l = raw.trim().to_ascii_lowercase();
        let ok_chars = l
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._@-".contains(c));
        if !ok_chars || l.len() < LOGIN_CHARS_MIN || l.len() > LOGIN_CHARS_MAX {
            return None;
        }
        Some(Self(l))
    }

    /// The login.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(OrgKind::parse("bank"), None);
    }

    #[test]
    fn names_and_logins() {
        assert!(DisplayName::parse("  ").is_none());
        assert!(DisplayName::parse("a\u{0}b").is_none());
        assert_eq!(
            DisplayName::parse(" 算力公司 ").map(|n| n.as_str().to_owned()),
            Some("算力公司".to_owned())
        );
        assert!(DisplayName::parse(&"x".repeat(NAME_CHARS_MAX + 1)).is_none());
        assert_eq!(
            Login::parse("Alice@Example.com").map(|l| l.as_str().to_owned()),
            Some("alice@example.com".to_owned())
        );
        assert!(Login::parse("ab").is_none());
        assert!(Login::parse("a b c").is_none());
    }
}
