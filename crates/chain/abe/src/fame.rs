//! FAME (Agrawal–Chase, CCS 2017), the CP-ABE scheme under the k-linear assumption with
//! k = 2 (DLIN), as a key-encapsulation mechanism: encapsulation picks `s₁, s₂` and the
//! session key is derived from `e(g,h)^{(d₁a₁+d₃)s₁ + (d₂a₂+d₃)s₂}`, which decapsulation
//! recovers with six pairings (one multi-Miller loop and one final exponentiation).
//!
//! Notation follows the paper (indices from 0 here): `H` is [`crate::hash`]'s oracle,
//! `(Br)` is `(b₁r₁, b₂r₂, r₁+r₂)`, rows `i` of the span program carry attribute `π(i)`.
//!
//! ```text
//! setup:   g ∈ G1, h ∈ G2, a₁,a₂,b₁,b₂,d₁,d₂,d₃ ∈ Zp random
//!          pk  = (h^{a₁}, h^{a₂}, h, e(g,h)^{d₁a₁+d₃}, e(g,h)^{d₂a₂+d₃})
//!          msk = (g, h, g^{d₁}, g^{d₂}, g^{d₃}, a₁, a₂, b₁, b₂)
//! keygen:  r₁, r₂ random; sk₀ = (h^{b₁r₁}, h^{b₂r₂}, h^{r₁+r₂})
//!          per attribute y, σ_y random: sk_{y,t} = Π_ℓ H(yℓt)^{(Br)_ℓ/a_t} · g^{σ_y/a_t}
//!                                        sk_{y,3} = g^{−σ_y}
//!          σ' random: sk'_t = g^{d_t} · Π_ℓ H(0 0 ℓ t)^{(Br)_ℓ/a_t} · g^{σ'/a_t}
//!                     sk'_3 = g^{d₃} · g^{−σ'}
//! encaps:  ct₀ = (h^{a₁s₁}, h^{a₂s₂}, h^{s₁+s₂})
//!          ct_{i,ℓ} = Π_t H(π(i)ℓt)^{s_t} · Π_j Π_t H(0 j ℓ t)^{s_t·M_{i,j}}
//! decaps:  γ with Σ γ_i M_i = e₀;  A_t = sk'_t · Π_i sk_{π(i),t}^{γ_i},  B_ℓ = Π_i ct_{i,ℓ}^{γ_i}
//!          key material = Π_t e(A_t, ct₀_t) / Π_ℓ e(B_ℓ, sk₀_ℓ)
//! ```

use std::fmt;

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{Field, One, PrimeField, Zero};
use ark_serialize::CanonicalSerialize;
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::AbeError;
use crate::hash::{Oracle, Rfc9380};
use crate::msp;
use crate::policy::{Policy, validate_attribute};

/// Most attributes in one user key.
pub const KEY_ATTRIBUTES_MAX: usize = 64;

/// Domain tag of the session-key derivation from the target-group element.
pub const KDF_DST: &[u8] = b"SUANLI-ABE-V1-KDF-SHA256";

pub(crate) type Gt = PairingOutput<Bls12_381>;

/// The public parameters: everything an encryptor needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// `(h^{a₁}, h^{a₂}, h)`.
    pub(crate) h_a: [G2Affine; 3],
    /// `(e(g,h)^{d₁a₁+d₃}, e(g,h)^{d₂a₂+d₃})`.
    pub(crate) e_gh_ka: [Gt; 2],
}

/// The authority's master secret; zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    pub(crate) g: G1Affine,
    pub(crate) h: G2Affine,
    /// `(g^{d₁}, g^{d₂}, g^{d₃})`.
    pub(crate) g_k: [G1Affine; 3],
    pub(crate) a: [Fr; 2],
    pub(crate) b: [Fr; 2],
}

/// A user's decryption key for a set of attributes; zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct UserKey {
    /// Sorted, without repeats; `k[i]` belongs to `attributes[i]`.
    pub(crate) attributes: Vec<String>,
    pub(crate) k0: [G2Affine; 3],
    pub(crate) k: Vec<[G1Affine; 3]>,
    pub(crate) kp: [G1Affine; 3],
}

/// The FAME part of a ciphertext: the policy and the group elements (no payload).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capsule {
    pub(crate) policy: Policy,
    pub(crate) ct0: [G2Affine; 3],
    /// One per policy leaf, in leaf order.
    pub(crate) rows: Vec<[G1Affine; 3]>,
}

/// A 32-byte symmetric key produced by encapsulation; zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey(pub(crate) Zeroizing<[u8; 32]>);

impl SessionKey {
    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(…)")
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserKey")
            .field("attributes", &self.attributes)
            .finish_non_exhaustive()
    }
}

impl UserKey {
    /// The key's attributes, sorted.
    pub fn attributes(&self) -> &[String] {
        &self.attributes
    }

    pub(crate) fn index(&self, attribute: &str) -> Option<usize> {
        self.attributes
            .binary_search_by(|a| a.as_str().cmp(attribute))
            .ok()
    }
}

impl Capsule {
    /// The policy this capsule was made for.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

/// A uniform scalar from 64 random bytes (bias below 2⁻²⁵⁶).
pub(crate) fn random_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Fr {
    let mut bytes = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(&mut bytes[..]);
    Fr::from_le_bytes_mod_order(&bytes[..])
}

fn nonzero_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Fr {
    loop {
        let s = random_scalar(rng);
        if !s.is_zero() {
            return s;
        }
    }
}

/// Creates the authority's public parameters and master secret.
pub fn setup<R: CryptoRng + ?Sized>(rng: &mut R) -> (PublicKey, MasterKey) {
    let x = Zeroizing::new([nonzero_scalar(rng), nonzero_scalar(rng)]);
    let g = (G1Projective::generator() * x[0]).into_affine();
    let h = (G2Projective::generator() * x[1]).into_affine();
    let a = [nonzero_scalar(rng), nonzero_scalar(rng)];
    let b = [nonzero_scalar(rng), nonzero_scalar(rng)];
    let d = Zeroizing::new([random_scalar(rng), random_scalar(rng), random_scalar(rng)]);
    let e_gh = Bls12_381::pairing(g, h);
    let exponents = Zeroizing::new([d[0] * a[0] + d[2], d[1] * a[1] + d[2]]);
    let pk = PublicKey {
        h_a: [(h * a[0]).into_affine(), (h * a[1]).into_affine(), h],
        e_gh_ka: [e_gh * exponents[0], e_gh * exponents[1]],
    };
    let g_k = [
        (g * d[0]).into_affine(),
        (g * d[1]).into_affine(),
        (g * d[2]).into_affine(),
    ];
    (pk, MasterKey { g, h, g_k, a, b })
}

/// Issues a key for `attributes` (validated, sorted, repeats dropped; at most
/// [`KEY_ATTRIBUTES_MAX`]).
pub fn keygen<R: CryptoRng + ?Sized>(
    msk: &MasterKey,
    attributes: &[&str],
    rng: &mut R,
) -> Result<UserKey, AbeError> {
    keygen_with(&Rfc9380, msk, attributes, rng)
}

pub(crate) fn keygen_with<R: CryptoRng + ?Sized>(
    oracle: &impl Oracle,
    msk: &MasterKey,
    attributes: &[&str],
    rng: &mut R,
) -> Result<UserKey, AbeError> {
    let mut names: Vec<String> = Vec::with_capacity(attributes.len());
    for a in attributes {
        validate_attribute(a)?;
        names.push((*a).to_owned());
    }
    names.sort();
    names.dedup();
    if names.len() > KEY_ATTRIBUTES_MAX {
        return Err(AbeError::TooLarge {
            what: "key attributes",
            count: names.len(),
            max: KEY_ATTRIBUTES_MAX,
        });
    }
    let r = Zeroizing::new([random_scalar(rng), random_scalar(rng)]);
    let br = Zeroizing::new([msk.b[0] * r[0], msk.b[1] * r[1], r[0] + r[1]]);
    let k0 = br.map(|x| (msk.h * x).into_affine());
    let a_inv = Zeroizing::new([inverse(msk.a[0])?, inverse(msk.a[1])?]);
    let mut k = Vec::with_capacity(names.len());
    for name in &names {
        let sigma = Zeroizing::new(random_scalar(rng));
        let hashes = oracle.attribute(name)?;
        let t0 = combine(&hashes, 0, &br, &a_inv, msk.g, *sigma);
        let t1 = combine(&hashes, 1, &br, &a_inv, msk.g, *sigma);
        k.push([t0, t1, (msk.g * -*sigma).into_affine()]);
    }
    let sigma = Zeroizing::new(random_scalar(rng));
    let column = oracle.column(0)?;
    let kp = [
        (combine(&column, 0, &br, &a_inv, msk.g, *sigma) + msk.g_k[0]).into_affine(),
        (combine(&column, 1, &br, &a_inv, msk.g, *sigma) + msk.g_k[1]).into_affine(),
        (msk.g_k[2] + msk.g * -*sigma).into_affine(),
    ];
    Ok(UserKey {
        attributes: names,
        k0,
        k,
        kp,
    })
}

fn inverse(x: Fr) -> Result<Fr, AbeError> {
    x.inverse().ok_or(AbeError::Malformed {
        what: "master key",
        reason: "a zero exponent",
    })
}

/// `Π_ℓ H[ℓ][t]^{(Br)_ℓ/a_t} · g^{σ/a_t}` as one multi-scalar multiplication.
fn combine(
    hashes: &crate::hash::Points,
    t: usize,
    br: &[Fr; 3],
    a_inv: &[Fr; 2],
    g: G1Affine,
    sigma: Fr,
) -> G1Affine {
    let bases = [hashes[0][t], hashes[1][t], hashes[2][t], g];
    let scalars = Zeroizing::new([
        br[0] * a_inv[t],
        br[1] * a_inv[t],
        br[2] * a_inv[t],
        sigma * a_inv[t],
    ]);
    G1Projective::msm_unchecked(&bases, &scalars[..]).into_affine()
}

/// Encapsulates a fresh session key under `policy`.
pub fn encapsulate<R: CryptoRng + ?Sized>(
    pk: &PublicKey,
    policy: &Policy,
    rng: &mut R,
) -> Result<(Capsule, SessionKey), AbeError> {
    encapsulate_with(&Rfc9380, pk, policy, rng)
}

pub(crate) fn encapsulate_with<R: CryptoRng + ?Sized>(
    oracle: &impl Oracle,
    pk: &PublicKey,
    policy: &Policy,
    rng: &mut R,
) -> Result<(Capsule, SessionKey), AbeError> {
    let program = msp::build(policy);
    let s = Zeroizing::new([random_scalar(rng), random_scalar(rng)]);
    let ct0 = [
        (pk.h_a[0] * s[0]).into_affine(),
        (pk.h_a[1] * s[1]).into_affine(),
        (pk.h_a[2] * (s[0] + s[1])).into_affine(),
    ];
    let columns = (0..program.columns)
        .map(|j| oracle.column(j))
        .collect::<Result<Vec<_>, _>>()?;
    let mut attribute_points = std::collections::BTreeMap::new();
    let mut rows = Vec::with_capacity(program.rows.len());
    for row in &program.rows {
        let hashes = match attribute_points.get(row.attribute) {
            Some(points) => *points,
            None => {
                let points = oracle.attribute(row.attribute)?;
                attribute_points.insert(row.attribute, points);
                points
            }
        };
        let mut out = [G1Affine::zero(); 3];
        for (l, slot) in out.iter_mut().enumerate() {
            let mut p = [
                G1Projective::from(hashes[l][0]),
                G1Projective::from(hashes[l][1]),
            ];
            for &(j, m) in &row.entries {
                for (t, acc) in p.iter_mut().enumerate() {
                    *acc += scaled(columns[j][l][t], m);
                }
            }
            *slot = crate::joint::mul2(p[0], s[0], p[1], s[1]).into_affine();
        }
        rows.push(out);
    }
    let blinding = pk.e_gh_ka[0] * s[0] + pk.e_gh_ka[1] * s[1];
    let key = derive_key(&blinding)?;
    let capsule = Capsule {
        policy: policy.clone(),
        ct0,
        rows,
    };
    Ok((capsule, key))
}

/// `p·m`, with additions for the common span-program entries ±1.
fn scaled(p: G1Affine, m: Fr) -> G1Projective {
    if m.is_one() {
        p.into_group()
    } else if (-m).is_one() {
        -p.into_group()
    } else {
        p * m
    }
}

/// Recovers the session key from `capsule` if `key`'s attributes satisfy its policy.
pub fn decapsulate(key: &UserKey, capsule: &Capsule) -> Result<SessionKey, AbeError> {
    let blinding = blinding(key, capsule)?;
    derive_key(&blinding)
}

pub(crate) fn blinding(key: &UserKey, capsule: &Capsule) -> Result<Gt, AbeError> {
    let leaves = capsule.policy.leaves();
    if leaves.len() != capsule.rows.len() {
        return Err(AbeError::Malformed {
            what: "capsule",
            reason: "row count differs from the policy's leaf count",
        });
    }
    let has = |a: &str| key.index(a).is_some();
    let gammas = msp::coefficients(&capsule.policy, &has).ok_or(AbeError::PolicyNotSatisfied)?;
    let mut a = key.kp.map(G1Projective::from);
    let mut b = [G1Projective::zero(); 3];
    for (i, gamma) in gammas {
        let y = key.index(leaves[i]).ok_or(AbeError::PolicyNotSatisfied)?;
        for t in 0..3 {
            a[t] += scaled(key.k[y][t], gamma);
            b[t] += scaled(capsule.rows[i][t], gamma);
        }
    }
    let g1: Vec<G1Affine> = G1Projective::normalize_batch(&[a[0], a[1], a[2], -b[0], -b[1], -b[2]]);
    let g2 = [
        capsule.ct0[0],
        capsule.ct0[1],
        capsule.ct0[2],
        key.k0[0],
        key.k0[1],
        key.k0[2],
    ];
    Ok(Bls12_381::multi_pairing(g1, g2))
}

/// SHA-256 of [`KDF_DST`] and the compressed target-group element.
pub(crate) fn derive_key(blinding: &Gt) -> Result<SessionKey, AbeError> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(blinding.compressed_size()));
    blinding
        .serialize_compressed(&mut *bytes)
        .map_err(|source| AbeError::Encoding {
            what: "target-group element",
            source,
        })?;
    let digest = Sha256::new()
        .chain_update(KDF_DST)
        .chain_update(&bytes[..])
        .finalize();
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&digest);
    Ok(SessionKey(key))
}
