//! SHA-256 and the 32-byte digest type.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A 32-byte SHA-256 digest. Displayed and serialised as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash32([u8; 32]);

impl Hash32 {
    /// The all-zero digest, used as the previous hash of a genesis block.
    pub const ZERO: Hash32 = Hash32([0u8; 32]);

    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Hash32(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Self, HashParseError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| HashParseError {
            input_len: text.len(),
        })?;
        Ok(Hash32(out))
    }
}

/// A hash string that is not 64 hex characters.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "expected 64 hex characters for a SHA-256 hash, got {input_len} characters or non-hex input"
)]
pub struct HashParseError {
    pub input_len: usize,
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash32 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Hash32::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash32 {
    Hash32(Sha256::digest(data).into())
}

/// SHA-256 over several slices, as if concatenated.
pub fn sha256_parts(parts: &[&[u8]]) -> Hash32 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    Hash32(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_fips_180_vector() {
        // FIPS 180-2 appendix B.1: SHA-256("abc").
        assert_eq!(
            sha256(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_parts(&[b"a", b"bc"]), sha256(b"abc"));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = sha256(b"x");
        assert_eq!(Hash32::from_hex(&h.to_hex()), Ok(h));
        assert!(Hash32::from_hex("abc").is_err());
        assert!(Hash32::from_hex(&"zz".repeat(32)).is_err());
    }
}
