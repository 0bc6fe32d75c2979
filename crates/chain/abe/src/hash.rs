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

use std::sync::OnceLock;

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

/// `hash_to_curve` of RFC 9380 with the suite `BLS12381G1_XMD:SHA-256_SSWU_RO_`.
pub fn hash_to_g1(dst: &[u8], msg: &[u8]) -> Result<G1Affine, AbeError> {
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
    let hasher = G1Hasher::new(ATTRIBUTE_DST).map_err(|e| AbeError::HashToCurve(e.to_string()))?;
    let mut out = [[G1Affine::default(); 2]; 3];
    for (l, row) in (0u8..).zip(out.iter_mut()) {
        for (t, point) in (0u8..).zip(row.iter_mut()) {
            *point = hasher
                .hash(&message(l, t))
                .map_err(|e| AbeError::HashToCurve(e.to_string()))?;
        }
    }
    Ok(out)
}

static COLUMNS: [OnceLock<Result<Points, String>>; POLICY_LEAVES_MAX] =
    [const { OnceLock::new() }; POLICY_LEAVES_MAX];

impl Oracle for Rfc9380 {
    fn attribute(&self, attribute: &str) -> Result<Points, AbeError> {
        points(|l, t| attribute_message(attribute, l, t))
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
