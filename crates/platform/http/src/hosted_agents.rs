//! Platform-hosted supplier agents (`docs/supply.md` §3.5, `docs/key-custody.md` §9):
//! the port the platform needs from the agent and the chain ([`HostedAgentPort`]: the
//! agent's own policy rules, and the delegation of a key the platform generated, with its
//! proof of possession), and the [`Keyring`] that seals the hosted agents' keys.
//!
//! The keyring's key is a file in the data directory ([`HOSTED_KEY_FILE`], 32 random
//! bytes in hex, created with mode 0600 on first use), never in the database: a leak of
//! the database alone exposes no hosted agent's key. Sealed keys are XChaCha20-Poly1305
//! ciphertexts of the key's seed; an opened key is checked against the public key stored
//! beside it.
//!
//! This crate does not depend on the chain or the agent: `suanli-bridge` implements the
//! port (`crates/bridge/src/hosted_agents.rs`) and runs the hosted agents.

use crate::PortError;
use crate::crypto::{self, CryptoError, FieldCipher};
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

/// Seals and opens hosted agents' keys under the platform's hosted-agent key.
pub struct Keyring {
    path: PathBuf,
    cipher: Mutex<Option<FieldCipher>>,
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
    /// The keyring whose key is (or will be, on first use) the file `path`.
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

    fn cipher(&self) -> Result<FieldCipher, CryptoError> {
        let mut held = self.cipher.lock().map_err(|_| CryptoError::Decrypt)?;
        if let Some(c) = held.as_ref() {
            return Ok(c.clone());
        }
        let err = |e| CryptoError::KeyFile(self.path.display().to_string(), e);
        let c = match std::fs::read_to_string(&self.path) {
            Ok(text) => FieldCipher::from_hex(&text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = crypto::random_bytes::<32>()?;
                crypto::write_private(&self.path, hex::encode(key).as_bytes()).map_err(err)?;
                tracing::info!(file = %self.path.display(), "created the hosted-agent key");
                FieldCipher::new(key)
            }
            Err(e) => return Err(err(e)),
        };
        *held = Some(c.clone());
        Ok(c)
    }

    /// The sealed form of `key` (hex).
    pub fn seal(&self, key: &SecretKey) -> Result<String, CryptoError> {
        let seed = zeroize::Zeroizing::new(key.seed());
        Ok(hex::encode(self.cipher()?.seal(seed.as_slice())?))
    }

    /// Opens what [`Keyring::seal`] made, checking that it is the key of `public`.
    pub fn open(&self, sealed_hex: &str, public: &str) -> Result<SecretKey, CryptoError> {
        let sealed = hex::decode(sealed_hex).map_err(|_| CryptoError::Decrypt)?;
        let seed = zeroize::Zeroizing::new(self.cipher()?.open(&sealed)?);
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Decrypt)?;
        let key = SecretKey::from_seed(&seed);
        match PublicKey::from_hex(public) {
            Ok(p) if p == key.public() => Ok(key),
            _ => Err(CryptoError::Decrypt),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_the_same_key_file_and_its_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::new(dir.path().join(HOSTED_KEY_FILE));
        let key = SecretKey::from_label("hosted/keyring");
        let sealed = ring.seal(&key).unwrap();
        assert!(!sealed.contains(&hex::encode(key.seed())));
        let public = key.public().to_hex();
        assert_eq!(ring.open(&sealed, &public).unwrap().public(), key.public());
        let other = SecretKey::from_label("hosted/other").public().to_hex();
        assert!(ring.open(&sealed, &other).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ring.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The same file opens it again; another key file does not.
        let again = Keyring::new(dir.path().join(HOSTED_KEY_FILE));
        assert!(again.open(&sealed, &public).is_ok());
        let elsewhere = tempfile::tempdir().unwrap();
        let stranger = Keyring::new(elsewhere.path().join(HOSTED_KEY_FILE));
        assert!(stranger.open(&sealed, &public).is_err());
    }
}
