//! The crate's one error type, with a stable code per variant.

/// Everything that can go wrong in this crate. Each variant maps to a stable code
/// ([`AbeError::code`]) that callers (the CLI, the node API) may show or match on
/// without parsing messages.
#[derive(Debug, thiserror::Error)]
pub enum AbeError {
    /// The policy text does not follow the grammar (see [`crate::policy`]).
    #[error("policy syntax error at byte {at}: {reason}")]
    PolicySyntax { at: usize, reason: &'static str },
    /// A threshold gate names a count outside `1..=children`.
    #[error("threshold {k} of {n} is not allowed (need 1 ≤ k ≤ n)")]
    PolicyThreshold { k: usize, n: usize },
    /// The policy or an input exceeds one of the crate's named limits.
    #[error("{what}: {count}, more than the limit of {max}")]
    TooLarge {
        what: &'static str,
        count: usize,
        max: usize,
    },
    /// An attribute name is empty, too long, a keyword, or has a character outside the
    /// allowed set.
    #[error("invalid attribute {attribute:?}: {reason}")]
    AttributeInvalid {
        attribute: String,
        reason: &'static str,
    },
    /// The key's attributes do not satisfy the ciphertext's policy.
    #[error("the key's attributes do not satisfy the policy")]
    PolicyNotSatisfied,
    /// The sealed payload did not open: wrong key material, a tampered ciphertext, or
    /// different associated data.
    #[error(
        "the ciphertext does not open with this key (tampered, wrong key or wrong associated data)"
    )]
    DecryptFailed,
    /// A serialised object starts with a format version this build does not read.
    #[error("unsupported format version {found} (this build reads {supported})")]
    VersionUnsupported { found: u8, supported: u8 },
    /// A serialised object is of another kind than the one asked for.
    #[error("serialised object is a {found}, expected a {expected}")]
    KindMismatch {
        found: &'static str,
        expected: &'static str,
    },
    /// The bytes are truncated, have trailing data, or a field does not decode.
    #[error("malformed {what}: {reason}")]
    Malformed {
        what: &'static str,
        reason: &'static str,
    },
    /// A group element or scalar failed to decode (not on the curve, not in the
    /// prime-order subgroup, not canonical).
    #[error("malformed {what}")]
    Encoding {
        what: &'static str,
        #[source]
        source: ark_serialize::SerializationError,
    },
    /// RFC 9380 hashing failed (does not happen with the fixed BLS12-381 suites; kept
    /// so no path panics).
    #[error("hash to curve failed: {0}")]
    HashToCurve(String),
}

impl AbeError {
    /// The stable code of this error, `abe.<snake_case>`; never changes once published.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PolicySyntax { .. } => "abe.policy_syntax",
            Self::PolicyThreshold { .. } => "abe.policy_threshold",
            Self::TooLarge { .. } => "abe.too_large",
            Self::AttributeInvalid { .. } => "abe.attribute_invalid",
            Self::PolicyNotSatisfied => "abe.policy_not_satisfied",
            Self::DecryptFailed => "abe.decrypt_failed",
            Self::VersionUnsupported { .. } => "abe.version_unsupported",
            Self::KindMismatch { .. } => "abe.kind_mismatch",
            Self::Malformed { .. } => "abe.malformed",
            Self::Encoding { .. } => "abe.encoding",
            Self::HashToCurve(_) => "abe.hash_to_curve",
        }
    }
}
