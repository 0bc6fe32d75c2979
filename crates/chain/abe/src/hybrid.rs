//! Hybrid encryption: FAME encapsulates a fresh 32-byte key, ChaCha20-Poly1305 seals the
//! payload with it.
//!
//! Each encryption draws a new FAME key, so every AEAD key seals exactly one message and
//! the nonce is the constant zero (RFC 8439 needs only that a (key, nonce) pair is never
//! reused). The AEAD's associated data is the length-prefixed capsule encoding followed
//! by the caller's own associated data, so changing the policy, any group element or
//! the caller's context (e.g. a record id) makes opening fail with
//! [`AbeError::DecryptFailed`]. The tag check is constant-time (the `poly1305` crate).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::AbeError;
use crate::fame::{Capsule, PublicKey, UserKey, decapsulate, encapsulate};
use crate::policy::Policy;

/// Largest payload sealed or opened, in bytes.
pub const PAYLOAD_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Bytes the AEAD adds to a payload (the Poly1305 tag).
pub const SEAL_OVERHEAD_BYTES: usize = 16;

/// A payload sealed under a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    pub(crate) capsule: Capsule,
    pub(crate) sealed: Vec<u8>,
}

impl Ciphertext {
    /// The FAME part (policy and group elements).
    pub fn capsule(&self) -> &Capsule {
        &self.capsule
    }

    /// The policy a reader's attributes must satisfy.
    pub fn policy(&self) -> &Policy {
        &self.capsule.policy
    }
}

fn associated_data(capsule: &Capsule, aad: &[u8]) -> Vec<u8> {
    let capsule = capsule.to_bytes();
    let mut out = Vec::with_capacity(8 + capsule.len() + aad.len());
    out.extend_from_slice(&(capsule.len() as u64).to_le_bytes());
    out.extend_from_slice(&capsule);
    out.extend_from_slice(aad);
    out
}

/// Seals `plaintext` so that only keys satisfying `policy` open it; `aad` is bound to the
/// ciphertext but not stored in it (the reader passes the same bytes to [`decrypt`]).
pub fn encrypt<R: CryptoRng + ?Sized>(
    pk: &PublicKey,
    policy: &Policy,
    plaintext: &[u8],
    aad: &[u8],
    rng: &mut R,
) -> Result<Ciphertext, AbeError> {
    if plaintext.len() > PAYLOAD_BYTES_MAX {
        return Err(AbeError::TooLarge {
            what: "payload bytes",
            count: plaintext.len(),
            max: PAYLOAD_BYTES_MAX,
        });
    }
    let (capsule, key) = encapsulate(pk, policy, rng)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_bytes()));
    let aad = associated_data(&capsule, aad);
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&[0u8; 12]),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| AbeError::TooLarge {
            what: "payload bytes",
            count: plaintext.len(),
            max: PAYLOAD_BYTES_MAX,
        })?;
    Ok(Ciphertext { capsule, sealed })
}

/// Opens `ct` with `key`: [`AbeError::PolicyNotSatisfied`] if the key's attributes do not
/// satisfy the policy, [`AbeError::DecryptFailed`] if the payload does not open.
pub fn decrypt(key: &UserKey, ct: &Ciphertext, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, AbeError> {
    let session = decapsulate(key, &ct.capsule)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(session.as_bytes()));
    let aad = associated_data(&ct.capsule, aad);
    cipher
        .decrypt(
            Nonce::from_slice(&[0u8; 12]),
            Payload {
                msg: &ct.sealed,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| AbeError::DecryptFailed)
}
