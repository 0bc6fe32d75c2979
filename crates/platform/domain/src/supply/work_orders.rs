//! Provisioning work orders (`docs/supply.md` §3): the record through which a supplier's
//! agent asks the supplier to provision a trade by hand (scattered devices), and through
//! which the supplier answers with the access details the consumer then sees.
//!
//! Lifecycle: `awaiting_approval` (the agent's policy leaves the order for the supplier
//! to accept) → `open` (approved, or raised after an automatic acceptance) → `filled`
//! (access details given; they may be corrected while filled) → `closed` (the trade
//! ended). An order awaiting approval may instead be `declined`. Every other move is
//! refused ([`WorkOrderError::WrongStatus`]).
//!
//! The access details are parsed into newtypes here: an address, a **reference** to where
//! the credentials are kept (never the credentials themselves: a PEM block or anything
//! with whitespace is refused) and a pool id.

use serde::Serialize;

/// Longest address, in bytes (a DNS name is at most 253; room for a scheme and port).
pub const ADDRESS_BYTES_MAX: usize = 300;
/// Longest credentials reference, in bytes.
pub const CREDENTIALS_REF_BYTES_MAX: usize = 200;
/// Longest pool id, in bytes.
pub const POOL_ID_BYTES_MAX: usize = 64;
/// Longest DID accepted on a work order, in bytes.
pub const DID_BYTES_MAX: usize = 200;

/// Why a work-order input or move was refused. Each has a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkOrderError {
    /// The address is empty, too long, or has whitespace or control characters.
    #[error(
        "address: 1 to {ADDRESS_BYTES_MAX} printable characters without spaces (host, host:port or URL)"
    )]
    Address,
    /// The credentials reference is empty, too long, or has whitespace.
    #[error(
        "credentials reference: 1 to {CREDENTIALS_REF_BYTES_MAX} printable characters without spaces (e.g. vault:kv/dc1/node-7)"
    )]
    CredentialsRef,
    /// The credentials reference looks like a secret (a PEM block, a password assignment).
    #[error("credentials reference: give where the credentials are kept, never the secret itself")]
    SecretInReference,
    /// The pool id is empty, too long, or has characters outside `A-Z a-z 0-9 . _ -`.
    #[error("pool id: 1 to {POOL_ID_BYTES_MAX} characters of A-Z, a-z, 0-9, '.', '_' and '-'")]
    PoolId,
    /// The serial is not 32 hexadecimal characters.
    #[error("serial: 32 hexadecimal characters (the trade's serial)")]
    Serial,
    /// The status does not allow this move.
    #[error("the work order is {status}; it cannot be {action}")]
    WrongStatus {
        /// The current status.
        status: WorkOrderStatus,
        /// What was asked (`approved`, `declined`, `filled`, `closed`).
        action: &'static str,
    },
}

impl WorkOrderError {
    /// Stable code (API `code`, `docs/api-errors.md`).
    pub fn code(&self) -> &'static str {
        match self {
            WorkOrderError::Address => "invalid_address",
            WorkOrderError::CredentialsRef => "invalid_credentials_ref",
            WorkOrderError::SecretInReference => "secret_in_reference",
            WorkOrderError::PoolId => "invalid_pool_id",
            WorkOrderError::Serial => "invalid_serial",
            WorkOrderError::WrongStatus { .. } => "work_order_status",
        }
    }

    /// The input field it concerns, when there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            WorkOrderError::Address => Some("address"),
            WorkOrderError::CredentialsRef | WorkOrderError::SecretInReference => {
                Some("credentials_ref")
            }
            WorkOrderError::PoolId => Some("pool_id"),
            WorkOrderError::Serial => Some("serial"),
            WorkOrderError::WrongStatus { .. } => None,
        }
    }
}

/// Where a work order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    /// Waiting for the supplier to approve or decline the order (manual policy).
    AwaitingApproval,
    /// To be provisioned.
    Open,
    /// Access details given.
    Filled,
    /// The trade ended.
    Closed,
    /// The supplier declined the order.
    Declined,
}

impl std::fmt::Display for WorkOrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move of a work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The supplier accepts an order left for manual acceptance.
    Approve,
    /// The supplier declines it.
    Decline,
    /// The supplier fills back (or corrects) the access details.
    Fill,
    /// The agent closes it at the trade's end.
    Close,
}

impl WorkOrderStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkOrderStatus::AwaitingApproval => "awaiting_approval",
            WorkOrderStatus::Open => "open",
            WorkOrderStatus::Filled => "filled",
            WorkOrderStatus::Closed => "closed",
            WorkOrderStatus::Declined => "declined",
        }
    }

    /// Parses the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "awaiting_approval" => WorkOrderStatus::AwaitingApproval,
            "open" => WorkOrderStatus::Open,
            "filled" => WorkOrderStatus::Filled,
            "closed" => WorkOrderStatus::Closed,
            "declined" => WorkOrderStatus::Declined,
            _ => return None,
        })
    }

    /// Every status, in lifecycle order.
    pub const ALL: [WorkOrderStatus; 5] = [
        WorkOrderStatus::AwaitingApproval,
        WorkOrderStatus::Open,
        WorkOrderStatus::Filled,
        WorkOrderStatus::Closed,
        WorkOrderStatus::Declined,
    ];

    /// The status after `m`, or why `m` is not allowed now.
    pub fn after(self, m: Move) -> Result<WorkOrderStatus, WorkOrderError> {
        use WorkOrderStatus as S;
        let next = match (self, m) {
            (S::AwaitingApproval, Move::Approve) => S::Open,
            (S::AwaitingApproval, Move::Decline) => S::Declined,
            (S::Open | S::Filled, Move::Fill) => S::Filled,
            (S::Open | S::Filled, Move::Close) => S::Closed,
            (status, m) => {
                let action = match m {
                    Move::Approve => "approved",
                    Move::Decline => "declined",
                    Move::Fill => "filled",
                    Move::Close => "closed",
                };
                return Err(WorkOrderError::WrongStatus { status, action });
            }
        };
        Ok(next)
    }

    /// Whether the agent may provision (accept on the chain) an order in this status.
    pub fn approved(self) -> bool {
        matches!(
            self,
            WorkOrderStatus::Open | WorkOrderStatus::Filled | WorkOrderStatus::Closed
        )
    }
}

fn printable_no_space(raw: &str, max: usize) -> Option<&str> {
    let s = raw.trim();
    let ok =
        !s.is_empty() && s.len() <= max && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(s)
}

/// Where the consumer reaches the provisioned resource: `host`, `host:port` or a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    /// Parses an address (surrounding whitespace ignored).
    pub fn parse(raw: &str) -> Result<Self, WorkOrderError> {
        printable_no_space(raw, ADDRESS_BYTES_MAX)
            .map(|s| Address(s.to_owned()))
            .ok_or(WorkOrderError::Address)
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the consumer's credentials are kept (a vault path, a key name): a reference,
/// never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CredentialsRef(String);

/// Fragments that mark a secret rather than a reference to one (compared lower-case).
const SECRET_MARKERS: [&str; 5] = ["-----begin", "password=", "passwd=", "secret=", "token="];

impl CredentialsRef {
    /// Parses a reference; anything that looks like a secret is refused.
    pub fn parse(raw: &str) -> Result<Self, WorkOrderError> {
        let lower = raw.to_ascii_lowercase();
        if SECRET_MARKERS.iter().any(|m| lower.contains(m)) {
            return Err(WorkOrderError::SecretInReference);
        }
        printable_no_space(raw, CREDENTIALS_REF_BYTES_MAX)
            .map(|s| CredentialsRef(s.to_owned()))
            .ok_or(WorkOrderError::CredentialsRef)
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The resource pool the trade was provisioned in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PoolId(String);

impl PoolId {
    /// Parses a pool id.
    pub fn parse(raw: &str) -> Result<Self, WorkOrderError> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= POOL_ID_BYTES_MAX
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(PoolId(s.to_owned()))
        } else {
            Err(WorkOrderError::PoolId)
        }
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A trade serial: 32 hexadecimal characters, kept lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TradeSerial(String);

impl TradeSerial {
    /// Parses a serial (case-insensitive).
    pub fn parse(raw: &str) -> Result<Self, WorkOrderError> {
        let s = raw.trim();
        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(TradeSerial(s.to_ascii_lowercase()))
        } else {
            Err(WorkOrderError::Serial)
        }
    }
    /// The text (lower-case hex).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The access details a supplier fills back, all three parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessDetails {
    /// Where to reach the resource.
    pub address: Address,
    /// Where the credentials are kept.
    pub credentials_ref: CredentialsRef,
    /// The pool.
    pub pool_id: PoolId,
}

impl AccessDetails {
    /// Parses the three fields; the first bad one is the error.
    pub fn parse(
        address: &str,
        credentials_ref: &str,
        pool_id: &str,
    ) -> Result<Self, WorkOrderError> {
        Ok(AccessDetails {
            address: Address::parse(address)?,
            credentials_ref: CredentialsRef::parse(credentials_ref)?,
            pool_id: PoolId::parse(pool_id)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use WorkOrderStatus as S;

    #[test]
    fn the_lifecycle_allows_exactly_its_moves() {
        let moves = [Move::Approve, Move::Decline, Move::Fill, Move::Close];
        let mut allowed = Vec::new();
        for s in S::ALL {
            for m in moves {
                if let Ok(n) = s.after(m) {
                    allowed.push((s, m, n));
                }
            }
        }
        assert_eq!(
            allowed,
            vec![
                (S::AwaitingApproval, Move::Approve, S::Open),
                (S::AwaitingApproval, Move::Decline, S::Declined),
                (S::Open, Move::Fill, S::Filled),
                (S::Open, Move::Close, S::Closed),
                (S::Filled, Move::Fill, S::Filled),
                (S::Filled, Move::Close, S::Closed),
            ]
        );
        let e = S::Closed.after(Move::Fill).unwrap_err();
        assert_eq!(e.code(), "work_order_status");
        assert_eq!(
            e.to_string(),
            "the work order is closed; it cannot be filled"
        );
    }

    #[test]
    fn statuses_round_trip_and_only_approved_ones_provision() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(S::parse("OPEN"), None);
        assert!(!S::AwaitingApproval.approved());
        assert!(!S::Declined.approved());
        assert!(S::Open.approved());
    }

    #[test]
    fn access_details_are_parsed_and_secrets_refused() {
        let d =
            AccessDetails::parse(" ssh://10.0.0.7:22 ", "vault:kv/dc1/node-7", "pool-a").unwrap();
        assert_eq!(d.address.as_str(), "ssh://10.0.0.7:22");
        for (a, c, p, code) in [
            ("", "vault:x", "p", "invalid_address"),
            ("a b", "vault:x", "p", "invalid_address"),
            ("h", "", "p", "invalid_credentials_ref"),
            ("h", "my pass", "p", "invalid_credentials_ref"),
            (
                "h",
                "-----BEGIN PRIVATE KEY-----",
                "p",
                "secret_in_reference",
            ),
            ("h", "root:password=hunter2", "p", "secret_in_reference"),
            ("h", "vault:x", "pool/1", "invalid_pool_id"),
            ("h", "vault:x", "", "invalid_pool_id"),
        ] {
            let e = AccessDetails::parse(a, c, p).unwrap_err();
            assert_eq!(e.code(), code, "{a:?} {c:?} {p:?}");
            assert!(e.field().is_some());
        }
        assert!(Address::parse(&"a".repeat(ADDRESS_BYTES_MAX + 1)).is_err());
        assert!(PoolId::parse(&"a".repeat(POOL_ID_BYTES_MAX)).is_ok());
    }

    #[test]
    fn serials_are_32_hex_characters_kept_lower_case() {
        let s = TradeSerial::parse("00112233445566778899AABBCCDDEEFF").unwrap();
        assert_eq!(s.as_str(), "00112233445566778899aabbccddeeff");
        assert!(TradeSerial::parse("0011").is_err());
        assert!(TradeSerial::parse(&"g".repeat(32)).is_err());
    }
}
