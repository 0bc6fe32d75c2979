//! The `rabe` attack, run against FAME with two random oracles.
//!
//! `rabe` hashes an attribute as `g·h(attr)` with `h` a hash to scalars, so everybody
//! knows each attribute point's discrete logarithm. FAME's proof needs those logarithms
//! to be unknown, and with them known the scheme falls apart completely: from one
//! ciphertext row `ct_{ℓ} = G^{s₁X_{ℓ1} + s₂X_{ℓ2}}` (all `X` public) two rows of the
//! 2×2 system give `G^{s₁}` and `G^{s₂}`, and with those, the column terms of *any* key
//! can be cancelled: a key for unrelated attributes (even none) opens every ciphertext.
//!
//! [`known_dlog_attack`] is that attack. With the `rabe`-style oracle it recovers the
//! session key; with the crate's RFC 9380 oracle the same computation yields garbage,
//! because the attacker's logarithms are not those of the points.

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{Field, PrimeField};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sha2::{Digest, Sha256};

use crate::error::AbeError;
use crate::fame::{Capsule, SessionKey, UserKey, derive_key, encapsulate_with, keygen_with, setup};
use crate::hash::{Oracle, Points, Rfc9380, attribute_message, column_message};
use crate::policy::Policy;

/// The discrete logarithm the `rabe`-style oracle gives a message (public to everybody).
fn dlog(msg: &[u8]) -> Fr {
    Fr::from_le_bytes_mod_order(&Sha256::digest(msg))
}

/// `H(m) = G·h(m)`: a point whose discrete logarithm is public.
struct RabeStyle;

fn rabe_points(message: impl Fn(u8, u8) -> Vec<u8>) -> Points {
    let point = |l, t| (G1Projective::generator() * dlog(&message(l, t))).into_affine();
    [0u8, 1, 2].map(|l| [point(l, 0), point(l, 1)])
}

impl Oracle for RabeStyle {
    fn attribute(&self, attribute: &str) -> Result<Points, AbeError> {
        Ok(rabe_points(|l, t| attribute_message(attribute, l, t)))
    }

    fn column(&self, column: usize) -> Result<Points, AbeError> {
        Ok(rabe_points(|l, t| column_message(column, l, t)))
    }
}

/// Opens a capsule for the one-attribute policy `target` with any key, assuming the
/// oracle's points have the public logarithms [`dlog`].
fn known_dlog_attack(
    key: &UserKey,
    capsule: &Capsule,
    target: &str,
) -> Result<SessionKey, AbeError> {
    // The single row's label is e₀, so its ℓ-th element has logarithm s₁X_{ℓ0} + s₂X_{ℓ1}.
    let x = |l: u8, t: u8| dlog(&attribute_message(target, l, t)) + dlog(&column_message(0, l, t));
    let c = |l: u8, t: u8| dlog(&column_message(0, l, t));
    let row = &capsule.rows[0];
    let det_inv = (x(0, 0) * x(1, 1) - x(0, 1) * x(1, 0))
        .inverse()
        .ok_or(AbeError::DecryptFailed)?;
    let g_s = [
        (row[0] * x(1, 1) - row[1] * x(0, 1)) * det_inv,
        (row[1] * x(0, 0) - row[0] * x(1, 0)) * det_inv,
    ];
    let cancel = |l: u8| -(g_s[0] * c(l, 0) + g_s[1] * c(l, 1));
    let g1: Vec<G1Affine> = G1Projective::normalize_batch(&[
        key.kp[0].into(),
        key.kp[1].into(),
        key.kp[2].into(),
        cancel(0),
        cancel(1),
        cancel(2),
    ]);
    let g2 = [
        capsule.ct0[0],
        capsule.ct0[1],
        capsule.ct0[2],
        key.k0[0],
        key.k0[1],
        key.k0[2],
    ];
    derive_key(&Bls12_381::multi_pairing(g1, g2))
}

fn run(oracle: &impl Oracle, key_attributes: &[&str]) -> (SessionKey, SessionKey) {
    let mut rng = ChaCha20Rng::from_seed([21; 32]);
    let (pk, msk) = setup(&mut rng);
    let key = keygen_with(oracle, &msk, key_attributes, &mut rng).unwrap();
    let policy = Policy::parse("b").unwrap();
    let (capsule, real) = encapsulate_with(oracle, &pk, &policy, &mut rng).unwrap();
    assert_eq!(
        crate::fame::decapsulate(&key, &capsule)
            .err()
            .map(|e| e.code()),
        Some("abe.policy_not_satisfied"),
        "the honest path refuses; only the attack could open it"
    );
    let attacked = known_dlog_attack(&key, &capsule, "b").unwrap();
    (real, attacked)
}

#[test]
fn with_rabe_style_hashing_a_key_for_a_opens_a_ciphertext_for_b() {
    let (real, attacked) = run(&RabeStyle, &["a"]);
    assert_eq!(real, attacked);
    let (real, attacked) = run(&RabeStyle, &[]);
    assert_eq!(real, attacked, "even a key without attributes");
}

#[test]
fn with_rfc9380_hashing_the_same_attack_fails() {
    let (real, attacked) = run(&Rfc9380, &["a"]);
    assert_ne!(real, attacked);
    let (real, attacked) = run(&Rfc9380, &[]);
    assert_ne!(real, attacked);
}
