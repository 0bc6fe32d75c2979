//! Platform-hosted supplier agents (`docs/supply.md` §3.5, `docs/key-custody.md` §9):
//! the port the platform needs from the agent and the chain ([`HostedAgentPort`]: the
//! agent's own policy rules, and the delegation of a key the platform generated, with its
//! proof of possession), and the [`Keyring`] that seals the hosted agents' keys.
//!
//! The keyring's key is a file in the data directory ([`HOSTED_KEY_FILE`], 32 random
//! bytes in hex, created with mode 0600 by the first seal — opening never creates it),
//! never in the database: a leak of the database alone exposes no hosted agent's key.
//! Sealed keys are XChaCha20-Poly1305 ciphertexts of the key's seed bound (as associated
//! data, [`SealedFor`]) to the organisation, supplier DID and public key they belong to;
//! an opened key is checked against the public key stored beside it.
//!
//! This crate does not depend on the chain or the agent: `suanli-bridge` implements the
//! port (`crates/bridge/src/hosted_agents.rs`) and runs the hosted agents.

use crate::PortError;
use crate::crypto::{self, CryptoError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use suanli_platform_store::HostedPolicy;
use suanli_primitives::{PublicKey, SecretKey};

/// The keyring's file under the data directory.
pub const HOSTED_KEY_FILE: &str = "hosted-agents.key";

/// Why a policy is refused, by the agent's own rules: the field (`mode`, `max_units`,
/// `max_minutes`, `max_value_fen`, `offers`, or `policy` for the limits together) and
/// what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefusal {
    /// The field.
    pub field: String,
    /// What it must be (English).
    pub message: String,
}

/// What hosting an agent needs from the agent and the chains.
pub trait HostedAgentPort: Send + Sync + std::fmt::Debug {
    /// Checks an acceptance policy by the supplier agent's rules (the same as its
    /// configuration file's `[policy]`).
    fn check_policy(&self, policy: &HostedPolicy) -> Result<(), PolicyRefusal>;
    /// Delegates `agent` under `#fragment` for the supplier DID `supplier_did`: the agent
    /// key signs its proof of possession, then the key is added to the supplier's DID
    /// document and authorised on the trade chain, both signed by `supplier` (as
    /// [`crate::agent_keys::AgentKeys::delegate`]).
    fn delegate_hosted(
        &self,
        supplier: &SecretKey,
        supplier_did: &str,
        agent: &SecretKey,
        fragment: &str,
    ) -> Result<(), PortError>;
}

/// The associated data every sealed key is bound to ([`Keyring::seal`]): this label, then
/// the supplier organisation's id, the supplier DID and the agent's public key (hex), each
/// after a zero byte. A sealed key copied to another row, organisation or DID does not open.
pub const HOSTED_SEAL_LABEL: &str = "suanli/hosted-agent/v1";

/// Whom a sealed key belongs to: bound into its ciphertext as associated data.
#[derive(Debug, Clone, Copy)]
pub struct SealedFor<'a> {
    /// The supplier organisation's id.
    pub org: i64,
    /// The supplier DID the agent acts for.
    pub supplier_did: &'a str,
    /// The agent's public key (hex).
    pub public_key: &'a str,
}

impl SealedFor<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut aad = HOSTED_SEAL_LABEL.as_bytes().to_vec();
        for part in [
            self.org.to_string().as_str(),
            self.supplier_did,
            self.public_key,
        ] {
            aad.push(0);
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

/// Length of the random nonce in front of each sealed key, in bytes.
const NONCE_LEN_BYTES: usize = 24;

/// Seals and opens hosted agents' keys under the platform's hosted-agent key.
pub struct Keyring {
    path: PathBuf,
    cipher: Mutex<Option<XChaCha20Poly1305>>,
}

/// Written by hand: the key is never printed.
impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// The keyring whose key is the file `path` (created by the first [`Keyring::seal`]).
    pub fn new(path: PathBuf) -> Self {
        Keyring {
            path,
            cipher: Mutex::new(None),
        }
    }

    /// Where its key file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cipher of the key file, read once and kept. Only `create` (sealing a new key)
    /// makes the file when it is missing: opening never does, since a new key could not
    /// open anything sealed before.
    fn cipher(&self, create: bool) -> Result<XChaCha20Poly1305, CryptoError> {
        let mut held = self.cipher.lock().map_err(|_| CryptoError::Decrypt)?;
        if let Some(c) = held.as_ref() {
            return Ok(c.clone());
        }
        let err = |e| CryptoError::KeyFile(self.path.display().to_string(), e);
        let key: [u8; 32] = match std::fs::read_to_string(&self.path) {
            Ok(text) => hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(CryptoError::BadKey)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let key = crypto::random_bytes::<32>()?;
                crypto::write_private(&self.path, hex::encode(key).as_bytes()).map_err(err)?;
                tracing::info!(file = %self.path.display(), "created the hosted-agent key");
                key
            }
            Err(e) => return Err(err(e)),
        };
        let c = XChaCha20Poly1305::new(&key.into());
        *held = Some(c.clone());
        Ok(c)
    }

    /// The sealed form of `key` (hex of nonce ‖ ciphertext of its seed), bound to `to`
    /// (whose `public_key` must be `key`'s). Creates the key file when it is missing.
    pub fn seal(&self, key: &SecretKey, to: SealedFor<'_>) -> Result<String, CryptoError> {
        if PublicKey::from_hex(to.public_key).ok() != Some(key.public()) {
            return Err(CryptoError::Decrypt);
        }
        let cipher = self.cipher(true)?;
        let seed = zeroize::Zeroizing::new(key.seed());
        let nonce = crypto::random_bytes::<NONCE_LEN_BYTES>()?;
        let aad = to.aad();
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: seed.as_slice(),
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(hex::encode(out))
    }

    /// Opens what [`Keyring::seal`] made for `to`, checking that it is the key of
    /// `to.public_key`. A missing key file is [`CryptoError::KeyFile`] (not found): it is
    /// never created here.
    pub fn open(&self, sealed_hex: &str, to: SealedFor<'_>) -> Result<SecretKey, CryptoError> {
        let cipher = self.cipher(false)?;
        let sealed = hex::decode(sealed_hex).map_err(|_| CryptoError::Decrypt)?;
        if sealed.len() < NONCE_LEN_BYTES {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN_BYTES);
        let aad = to.aad();
        let seed = zeroize::Zeroizing::new(
            cipher
                .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
                .map_err(|_| CryptoError::Decrypt)?,
        );
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Decrypt)?;
        let key = SecretKey::from_seed(&seed);
        match PublicKey::from_hex(to.public_key) {
            Ok(p) if p == key.public() => Ok(key),
            _ => Err(CryptoError::Decrypt),
        }
    }

    /// Why a sealed key cannot be opened, as a stable code, or `None` when it opens:
    /// `hosted_key_missing` (the key file is not there), `hosted_key_unreadable` (it cannot
    /// be read or is malformed) or `hosted_key_unopenable` (the sealed key does not open
    /// under it: another key file, or a sealed key that was tampered with or moved).
    pub fn problem(&self, sealed_hex: &str, to: SealedFor<'_>) -> Option<&'static str> {
        self.open(sealed_hex, to).err().map(|e| problem_code(&e))
    }
}

/// The stable code of a failure to open a sealed key (see [`Keyring::problem`]).
pub fn problem_code(e: &CryptoError) -> &'static str {
    match e {
        CryptoError::KeyFile(_, io) if io.kind() == std::io::ErrorKind::NotFound => {
            "hosted_key_missing"
        }
        CryptoError::KeyFile(..) | CryptoError::BadKey => "hosted_key_unreadable",
        _ => "hosted_key_unopenable",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const DID: &str = "did:suanli:test:supplier";

    fn to(public: &str) -> SealedFor<'_> {
        SealedFor {
            org: 7,
            supplier_did: DID,
            public_key: public,
        }
    }

    #[test]
    fn a_sealed_key_opens_only_with_the_same_key_file_and_its_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::new(dir.path().join(HOSTED_KEY_FILE));
        let key = SecretKey::from_label("hosted/keyring");
        let public = key.public().to_hex();
        let sealed = ring.seal(&key, to(&public)).unwrap();
        assert!(!sealed.contains(&hex::encode(key.seed())));
        assert_eq!(
            ring.open(&sealed, to(&public)).unwrap().public(),
            key.public()
        );
        assert_eq!(ring.problem(&sealed, to(&public)), None);
        let other = SecretKey::from_label("hosted/other").public().to_hex();
        assert!(ring.open(&sealed, to(&other)).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ring.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The same file opens it again; another key file does not.
        let again = Keyring::new(dir.path().join(HOSTED_KEY_FILE));
        assert!(again.open(&sealed, to(&public)).is_ok());
        let elsewhere = tempfile::tempdir().unwrap();
        let stranger = Keyring::new(elsewhere.path().join(HOSTED_KEY_FILE));
        stranger.seal(&key, to(&public)).unwrap();
        assert_eq!(
            stranger.problem(&sealed, to(&public)),
            Some("hosted_key_unopenable")
        );
        // A key is sealed only for its own public key.
        assert!(ring.seal(&key, to(&other)).is_err());
    }

    #[test]
    fn opening_never_creates_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HOSTED_KEY_FILE);
        let key = SecretKey::from_label("hosted/lost");
        let public = key.public().to_hex();
        let sealed = Keyring::new(path.clone()).seal(&key, to(&public)).unwrap();
        std::fs::remove_file(&path).unwrap();
        // The file lost (a data directory restored without it): opening fails clearly,
        // twice, and leaves no new file behind that would seal keys nobody can open later.
        let ring = Keyring::new(path.clone());
        for _ in 0..2 {
            let e = ring.open(&sealed, to(&public)).unwrap_err();
            assert_eq!(problem_code(&e), "hosted_key_missing", "{e}");
            assert!(e.to_string().contains(HOSTED_KEY_FILE), "{e}");
        }
        assert!(!path.exists());
        std::fs::write(&path, "not hex").unwrap();
        let ring = Keyring::new(path);
        assert_eq!(
            ring.problem(&sealed, to(&public)),
            Some("hosted_key_unreadable")
        );
    }

    #[test]
    fn a_sealed_key_is_bound_to_its_organisation_and_did() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::new(dir.path().join(HOSTED_KEY_FILE));
        let key = SecretKey::from_label("hosted/bound");
        let public = key.public().to_hex();
        let sealed = ring.seal(&key, to(&public)).unwrap();
        let other_org = SealedFor {
            org: 8,
            ..to(&public)
        };
        let other_did = SealedFor {
            supplier_did: "did:suanli:test:someone-else",
            ..to(&public)
        };
        for moved in [other_org, other_did] {
            assert_eq!(ring.problem(&sealed, moved), Some("hosted_key_unopenable"));
        }
        // Sealed without associated data (the format before v1): not opened.
        let raw = crate::crypto::FieldCipher::from_hex(
            std::fs::read_to_string(ring.path()).unwrap().trim(),
        )
        .unwrap()
        .seal(key.seed().as_slice())
        .unwrap();
        assert!(ring.open(&hex::encode(raw), to(&public)).is_err());
    }
}
