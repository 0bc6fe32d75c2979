//! The audit record and its hash chain.
//!
//! Each record's hash is `SHA-256(prev_hash || canonical(record))` where `canonical` is a
//! length-prefixed encoding of every field in a fixed order (below), and the first
//! record's `prev_hash` is 32 zero bytes. Changing, inserting, deleting or reordering any
//! record changes every later hash, which [`verify_chain`] detects; anchoring the head on
//! the trade chain (see the server's `AuditAnchor`) makes rewriting the whole tail
//! detectable too.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first record.
pub const GENESIS_PREV: [u8; 32] = [0; 32];

/// Outcome of an audited request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 2xx.
    Success,
    /// 4xx: refused (bad input, unauthorised, forbidden, not found).
    Denied,
    /// 5xx.
    Error,
}

impl Outcome {
    /// From an HTTP status code.
    pub fn from_status(code: u16) -> Self {
        match code {
            200..=399 => Outcome::Success,
            400..=499 => Outcome::Denied,
            _ => Outcome::Error,
        }
    }
    /// Stable text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }
    /// Parses [`Outcome::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Outcome::Success, Outcome::Denied, Outcome::Error]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// One audited event, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// Acting user's id, if authenticated.
    pub actor_user: Option<i64>,
    /// Acting user's organisation id, if authenticated.
    pub actor_org: Option<i64>,
    /// What was done, e.g. `POST /api/v1/orgs/{id}/users`.
    pub action: String,
    /// What it was done to, e.g. the request path with ids.
    pub target: String,
    /// Client IP address.
    pub ip: String,
    /// Client user agent (truncated).
    pub user_agent: String,
    /// Success, denied or error.
    pub outcome: Outcome,
    /// HTTP status code.
    pub status: u16,
}

/// Longest stored action/target/user-agent text, in bytes.
pub const AUDIT_TEXT_BYTES_MAX: usize = 512;

impl AuditEvent {
    /// Truncates free-text fields to [`AUDIT_TEXT_BYTES_MAX`] at char boundaries.
    pub fn bounded(mut self) -> Self {
        for s in [
            &mut self.action,
            &mut self.target,
            &mut self.user_agent,
            &mut self.ip,
        ] {
            if s.len() > AUDIT_TEXT_BYTES_MAX {
                let mut cut = AUDIT_TEXT_BYTES_MAX;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
            }
        }
        self
    }

    /// The canonical byte encoding: `seq` then every field in declaration order; integers
    /// as 8-byte big-endian, optional integers as a presence byte then the integer, text
    /// as a 4-byte big-endian length then UTF-8 bytes.
    pub fn canonical(&self, seq: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        for o in [self.actor_user, self.actor_org] {
            match o {
                Some(v) => {
                    out.push(1);
                    out.extend_from_slice(&v.to_be_bytes());
                }
                None => out.push(0),
            }
        }
        for s in [
            self.action.as_str(),
            self.target.as_str(),
            self.ip.as_str(),
            self.user_agent.as_str(),
            self.outcome.as_str(),
        ] {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out.extend_from_slice(&self.status.to_be_bytes());
        out
    }

    /// The chained hash of this event at `seq` after `prev`.
    pub fn chain_hash(&self, seq: u64, prev: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(prev);
        h.update(self.canonical(seq));
        h.finalize().into()
    }
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// Previous record's hash (hex in JSON).
    #[serde(serialize_with = "hex_ser")]
    pub prev_hash: [u8; 32],
    /// This record's hash (hex in JSON).
    #[serde(serialize_with = "hex_ser")]
    pub hash: [u8; 32],
}

fn hex_ser<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

/// Where and how a chain fails to verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A sequence number is missing or out of order.
    #[error("record {found} found where {expected} was expected")]
    Gap {
        /// Expected seq.
        expected: u64,
        /// Found seq.
        found: u64,
    },
    /// `prev_hash` does not equal the previous record's hash.
    #[error("record {seq}: prev_hash does not link to the previous record")]
    BrokenLink {
        /// The record.
        seq: u64,
    },
    /// The stored hash does not match the record's content.
    #[error("record {seq}: content does not match its hash (tampered)")]
    Tampered {
        /// The record.
        seq: u64,
    },
}

/// Verifies a contiguous run of records. `start` is the expected first seq and `prev` the
/// hash before it ([`GENESIS_PREV`] from the start). Returns the last hash.
pub fn verify_chain<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
    start: u64,
    prev: [u8; 32],
) -> Result<[u8; 32], ChainError> {
    let mut prev = prev;
    for (expected, r) in (start..).zip(records) {
        if r.seq != expected {
            return Err(ChainError::Gap {
                expected,
                found: r.seq,
            });
        }
        if r.prev_hash != prev {
            return Err(ChainError::BrokenLink { seq: r.seq });
        }
        if r.event.chain_hash(r.seq, &r.prev_hash) != r.hash {
            return Err(ChainError::Tampered { seq: r.seq });
        }
        prev = r.hash;
    }
    Ok(prev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: i64) -> AuditEvent {
        AuditEvent {
            at_ms: 1_000 + i,
            actor_user: Some(i),
            actor_org: None,
            action: "POST /api/v1/x".into(),
            target: format!("/api/v1/x/{i}"),
            ip: "127.0.0.1".into(),
            user_agent: "test".into(),
            outcome: Outcome::Success,
            status: 200,
        }
    }

    fn chain(n: u64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_PREV;
        (1..=n)
            .map(|seq| {
                let event = ev(seq as i64);
                let hash = event.chain_hash(seq, &prev);
                let r = AuditRecord {
                    seq,
                    event,
                    prev_hash: prev,
                    hash,
                };
                prev = hash;
                r
            })
            .collect()
    }

    #[test]
    fn valid_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify_chain(&c, 1, GENESIS_PREV), Ok(c[4].hash));
    }

    #[test]
    fn tampering_is_found_at_the_right_record() {
        let mut c = chain(5);
        c[2].event.outcome = Outcome::Denied;
        assert_eq!(
            verify_chain(&c, 1, GENESIS_PREV),
            Err(ChainError::Tampered { seq: 3 })
        );
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(
            verify_chain(&c, 1, GENESIS_PREV),
            Err(ChainError::Gap {
                expected: 2,
                found: 3
            })
        );
        // Recomputing the tampered record's own hash breaks the next link instead.
        let mut c = chain(5);
        c[2].event.target = "/elsewhere".into();
        c[2].hash = c[2].event.chain_hash(3, &c[2].prev_hash);
        assert_eq!(
            verify_chain(&c, 1, GENESIS_PREV),
            Err(ChainError::BrokenLink { seq: 4 })
        );
    }

    #[test]
    fn canonical_is_unambiguous() {
        let mut a = ev(1);
        let mut b = ev(1);
        a.action = "ab".into();
        a.target = "c".into();
        b.action = "a".into();
        b.target = "bc".into();
        assert_ne!(a.canonical(1), b.canonical(1));
    }
}
