//! RFC 9380 hashing to BLS12-381, as FAME's random oracle `H`.
//!
//! FAME hashes to G1 only: `H(y ℓ t)` for attribute `y` and `H(0 j ℓ t)` for span-program
//! column `j` (ℓ ∈ {0,1,2}, t ∈ {0,1}). Both go through [`hash_to_g1`] with the suite
//! `BLS12381G1_XMD:SHA-256_SSWU_RO_` and the domain tag [`ATTRIBUTE_DST`]; the inputs are
//! encoded without ambiguity:
//!
//! ```text
//! attribute: "A" ‖ u16 BE byte length ‖ attribute bytes ‖ ℓ (u8) ‖ t (u8)
//! column:    "C" ‖ u32 BE column index  ‖ ℓ (u8) ‖ t (u8)
//! ```
//!
//! The points' discrete logarithms are unknown to everybody, which is what FAME's proof
//! needs (and what `rabe`'s `g·H(attr)` lacks). [`hash_to_g2`] is the G2 suite of the same
//! implementation; FAME does not use it, but its RFC 9380 vectors are checked with it.
//! Column points are public constants: they are computed once per process and kept.
//! Attribute points are public functions of public strings: a bounded per-process memo
//! ([`ATTRIBUTE_MEMO_MAX`] attributes, emptied when full) keeps them, so policies built
//! from the same templates hash each attribute once. The memo changes timing only, never
//! a result; whether an attribute was seen before is visible in timing, and attributes
//! are public (ciphertexts carry their policy).

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use ark_bls12_381::{G1Affine, G1Projective, G2Affine, G2Projective, g1, g2};
use ark_ec::hashing::{
    HashToCurve, curve_maps::wb::WBMap, map_to_curve_hasher::MapToCurveBasedHasher,
};
use ark_ff::field_hashers::DefaultFieldHasher;
use sha2::Sha256;

use crate::error::AbeError;
use crate::policy::POLICY_LEAVES_MAX;

/// The RFC 9380 domain separation tag of FAME's attribute and column hashes.
pub const ATTRIBUTE_DST: &[u8] = b"SUANLI-ABE-V1-FAME-H_BLS12381G1_XMD:SHA-256_SSWU_RO_";

type G1Hasher =
    MapToCurveBasedHasher<G1Projective, DefaultFieldHasher<Sha256, 128>, WBMap<g1::Config>>;
type G2Hasher =
    MapToCurveBasedHasher<G2Projective, DefaultFieldHasher<Sha256, 128>, WBMap<g2::Config>>;

/// `hash_to_curve` of RFC 9380 with the suite `BLS12381G1_XMD:SHA-256_SSWU_RO_` (the
/// crate's faster implementation, `src/sswu.rs`, with arkworks' for exceptional cases).
pub fn hash_to_g1(dst: &[u8], msg: &[u8]) -> Result<G1Affine, AbeError> {
    match crate::sswu::hash_to_g1(dst, msg) {
        Some(point) => Ok(point),
        None => hash_to_g1_arkworks(dst, msg),
    }
}

/// The same suite through arkworks' generic `MapToCurveBasedHasher`.
pub(crate) fn hash_to_g1_arkworks(dst: &[u8], msg: &[u8]) -> Result<G1Affine, AbeError> {
    let hasher = G1Hasher::new(dst).map_err(|e| AbeError::HashToCurve(e.to_string()))?;
    hasher
        .hash(msg)
        .map_err(|e| AbeError::HashToCurve(e.to_string()))
}

/// `hash_to_curve` of RFC 9380 with the suite `BLS12381G2_XMD:SHA-256_SSWU_RO_`.
pub fn hash_to_g2(dst: &[u8], msg: &[u8]) -> Result<G2Affine, AbeError> {
    let hasher = G2Hasher::new(dst).map_err(|e| AbeError::HashToCurve(e.to_string()))?;
    hasher
        .hash(msg)
        .map_err(|e| AbeError::HashToCurve(e.to_string()))
}

/// The input encoding of `H(y ℓ t)`.
pub(crate) fn attribute_message(attribute: &str, l: u8, t: u8) -> Vec<u8> {
    let bytes = attribute.as_bytes();
    let mut msg = Vec::with_capacity(bytes.len() + 5);
    msg.push(b'A');
    // Attributes are at most ATTRIBUTE_BYTES_MAX (128) bytes, so the length fits.
    msg.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
    msg.extend_from_slice(bytes);
    msg.extend_from_slice(&[l, t]);
    msg
}

/// The input encoding of `H(0 j ℓ t)`.
pub(crate) fn column_message(column: usize, l: u8, t: u8) -> Vec<u8> {
    let mut msg = Vec::with_capacity(7);
    msg.push(b'C');
    msg.extend_from_slice(&u32::try_from(column).unwrap_or(u32::MAX).to_be_bytes());
    msg.extend_from_slice(&[l, t]);
    msg
}

/// Points `[ℓ][t]` of one attribute or column.
pub(crate) type Points = [[G1Affine; 2]; 3];

/// FAME's random oracle. The crate uses [`Rfc9380`] only; the trait exists so the tests
/// can run the same code with an insecure oracle and show the attack that it allows.
pub(crate) trait Oracle {
    fn attribute(&self, attribute: &str) -> Result<Points, AbeError>;
    fn column(&self, column: usize) -> Result<Points, AbeError>;
}

/// The production oracle: RFC 9380 with [`ATTRIBUTE_DST`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rfc9380;

fn points(message: impl Fn(u8, u8) -> Vec<u8>) -> Result<Points, AbeError> {
    let mut out = [[G1Affine::default(); 2]; 3];
    for (l, row) in (0u8..).zip(out.iter_mut()) {
        for (t, point) in (0u8..).zip(row.iter_mut()) {
            *point = hash_to_g1(ATTRIBUTE_DST, &message(l, t))?;
        }
    }
    Ok(out)
}

/// Most attributes whose points the per-process memo keeps.
pub const ATTRIBUTE_MEMO_MAX: usize = 4096;

static ATTRIBUTE_POINTS: Mutex<BTreeMap<String, Points>> = Mutex::new(BTreeMap::new());

/// Empties the attribute-point memo, so the next operations hash every attribute again
/// (for measuring the cold path; results never depend on the memo).
pub fn forget_attribute_points() {
    if let Ok(mut memo) = ATTRIBUTE_POINTS.lock() {
        memo.clear();
    }
}

static COLUMNS: [OnceLock<Result<Points, String>>; POLICY_LEAVES_MAX] =
    [const { OnceLock::new() }; POLICY_LEAVES_MAX];

impl Oracle for Rfc9380 {
    fn attribute(&self, attribute: &str) -> Result<Points, AbeError> {
        if let Some(known) = ATTRIBUTE_POINTS
            .lock()
            .ok()
            .and_then(|m| m.get(attribute).copied())
        {
            return Ok(known);
        }
        let fresh = points(|l, t| attribute_message(attribute, l, t))?;
        if let Ok(mut memo) = ATTRIBUTE_POINTS.lock() {
            if memo.len() >= ATTRIBUTE_MEMO_MAX {
                memo.clear();
            }
            memo.insert(attribute.to_owned(), fresh);
        }
        Ok(fresh)
    }

    fn column(&self, column: usize) -> Result<Points, AbeError> {
        let Some(cell) = COLUMNS.get(column) else {
            return points(|l, t| column_message(column, l, t));
        };
        cell.get_or_init(|| points(|l, t| column_message(column, l, t)).map_err(|e| e.to_string()))
            .clone()
            .map_err(AbeError::HashToCurve)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memoized_points_are_the_hashed_points() {
        let direct = points(|l, t| attribute_message("role=regulator", l, t)).unwrap();
        forget_attribute_points();
        assert_eq!(Rfc9380.attribute("role=regulator").unwrap(), direct);
        assert_eq!(Rfc9380.attribute("role=regulator").unwrap(), direct);
        assert_ne!(Rfc9380.attribute("role=regulatoR").unwrap(), direct);
        let column = points(|l, t| column_message(3, l, t)).unwrap();
        assert_eq!(Rfc9380.column(3).unwrap(), column);
        assert_eq!(Rfc9380.column(3).unwrap(), column);
        let far = points(|l, t| column_message(POLICY_LEAVES_MAX, l, t)).unwrap();
        assert_eq!(Rfc9380.column(POLICY_LEAVES_MAX).unwrap(), far);
    }

    #[test]
    fn inputs_are_encoded_without_ambiguity() {
        assert_eq!(attribute_message("ab", 1, 0), b"A\x00\x02ab\x01\x00");
        assert_eq!(column_message(258, 2, 1), b"C\x00\x00\x01\x02\x02\x01");
    }
}
