//! suanli-abe: ciphertext-policy attribute-based encryption for suanli's trade records.
//!
//! Owns: the FAME scheme of Agrawal and Chase (CCS 2017, k = 2, fully secure under DLIN
//! in the random-oracle model; [`fame`]) on BLS12-381 (arkworks), the policy language
//! of AND / OR / k-of-n gates over attributes ([`policy`]) and its monotone span program
//! ([`msp`], crate-private), RFC 9380 hashing of attributes ([`hash`]; a faster G1 path
//! in `src/sswu.rs`, checked against the RFC vectors and arkworks), a joint two-scalar
//! multiplication for ciphertext elements (`src/joint.rs`), hybrid
//! encryption with ChaCha20-Poly1305 ([`hybrid`]) and the versioned byte formats
//! ([`codec`]). `docs/abe.md` describes the construction and the formats in full.
//!
//! Invariants:
//! - Pure: no I/O, no clock; randomness only from a caller-supplied
//!   [`rand_core::CryptoRng`]. The only shared state is a per-process memo of public
//!   hash points (span-program columns, and a bounded set of attributes; see [`hash`]):
//!   it changes timing, never a result.
//! - Attributes are hashed to G1 with RFC 9380 (`BLS12381G1_XMD:SHA-256_SSWU_RO_`,
//!   domain tag [`hash::ATTRIBUTE_DST`]): nobody knows their discrete logarithms, so a
//!   key cannot be re-targeted to other attributes (the flaw of `rabe`'s `g·H(attr)`;
//!   `src/attack.rs` runs that attack against both oracles).
//! - Every input is bounded by a named constant ([`POLICY_TEXT_BYTES_MAX`],
//!   [`POLICY_LEAVES_MAX`], [`POLICY_DEPTH_MAX`], [`ATTRIBUTE_BYTES_MAX`],
//!   [`KEY_ATTRIBUTES_MAX`], [`PAYLOAD_BYTES_MAX`]); no panics on input.
//! - Secrets (master key, user keys, session keys, encryption exponents, plaintexts
//!   returned by [`decrypt`]) are zeroized when dropped. arkworks' group arithmetic is not
//!   constant-time; the AEAD tag check is.
//! - Every serialised object starts with [`FORMAT_VERSION`] and a kind byte; decoding
//!   checks subgroup membership and refuses trailing bytes.
//!
//! Start with [`setup`], [`keygen`], [`encrypt`] and [`decrypt`]; then [`fame`] for the
//! scheme and [`policy`] for the grammar.
//!
//! ```
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//! use suanli_abe::{Policy, decrypt, encrypt, keygen, setup};
//!
//! let mut rng = ChaCha20Rng::from_seed([7; 32]);
//! let (pk, msk) = setup(&mut rng);
//! let policy = Policy::parse("party=alice or (role=regulator and region=cn-west)")?;
//! let ct = encrypt(&pk, &policy, b"access details", b"order 42", &mut rng)?;
//! let regulator = keygen(&msk, &["role=regulator", "region=cn-west"], &mut rng)?;
//! assert_eq!(&decrypt(&regulator, &ct, b"order 42")?[..], b"access details");
//! let other = keygen(&msk, &["role=regulator", "region=cn-east"], &mut rng)?;
//! assert!(decrypt(&other, &ct, b"order 42").is_err());
//! # Ok::<(), suanli_abe::AbeError>(())
//! ```

#[cfg(test)]
mod attack;
pub mod codec;
mod error;
pub mod fame;
pub mod hash;
pub mod hybrid;
mod joint;
mod msp;
pub mod policy;
mod sswu;

pub use codec::FORMAT_VERSION;
pub use error::AbeError;
pub use fame::{
    Capsule, KEY_ATTRIBUTES_MAX, MasterKey, PublicKey, SessionKey, UserKey, decapsulate,
    encapsulate, keygen, setup,
};
pub use hybrid::{Ciphertext, PAYLOAD_BYTES_MAX, decrypt, encrypt};
pub use policy::{
    ATTRIBUTE_BYTES_MAX, POLICY_DEPTH_MAX, POLICY_LEAVES_MAX, POLICY_TEXT_BYTES_MAX, Policy,
};
