//! Cryptographic helpers, all on well-kept crates: argon2id password hashing (`argon2`),
//! field encryption at rest (XChaCha20-Poly1305, `chacha20poly1305`), TOTP (RFC 6238,
//! `totp-rs`), random tokens (`getrandom`) and SHA-256 token digests.

use crate::config::Argon2Config;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Crypto failures (never carry secret material).
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The OS random source failed.
    #[error("random source failed")]
    Random,
    /// Hashing parameters or input rejected.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Ciphertext does not decrypt under the key (wrong key or tampered).
    #[error("decryption failed")]
    Decrypt,
    /// The field key is malformed.
    #[error("field key must be 64 hex characters")]
    BadKey,
    /// The key file could not be read or written.
    #[error("key file {0}: {1}")]
    KeyFile(String, std::io::Error),
}

/// `n` random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| CryptoError::Random)?;
    Ok(b)
}

/// A random token: 32 bytes, hex.
pub fn random_token() -> Result<String, CryptoError> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// SHA-256 of a token, hex. Tokens are 256-bit random values, so a fast hash suffices
/// (no dictionary to attack); the database never holds the token itself.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality of two byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Argon2id password hashing.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    argon: argon2::Argon2<'static>,
}

impl PasswordHasher {
    /// A hasher with the given cost.
    pub fn new(c: Argon2Config) -> Result<Self, CryptoError> {
        let params = argon2::Params::new(c.memory_kib, c.iterations, c.parallelism, None)
            .map_err(|e| CryptoError::Hash(e.to_string()))?;
        Ok(Self {
            argon: argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params),
        })
    }

    /// PHC string of `password` with a fresh salt.
    pub fn hash(&self, password: &str) -> Result<String, CryptoError> {
        let salt = SaltString::encode_b64(&random_bytes::<16>()?)
            .map_err(|e| CryptoError::Hash(e.to_string()))?;
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CryptoError::Hash(e.to_string()))
    }

    /// Whether `password` matches the PHC string (with the parameters stored in it).
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        PasswordHash::new(phc)
            .map(|h| self.argon.verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    }
}

/// Encrypts sensitive fields (ID numbers, TOTP secrets) at rest. Output is
/// `nonce (24 bytes) || ciphertext+tag`; random nonces are safe with XChaCha's 192 bits.
#[derive(Clone)]
pub struct FieldCipher {
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldCipher(***)")
    }
}

impl FieldCipher {
    /// From a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            aead: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// From 64 hex characters.
    pub fn from_hex(hex_key: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::new(key))
    }

    /// Loads `<dir>/field.key`, generating it (mode 0600) when missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, CryptoError> {
        let path = dir.join("field.key");
        let err = |e| CryptoError::KeyFile(path.display().to_string(), e);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_bytes::<32>()?;
                write_private(&path, hex::encode(key).as_bytes()).map_err(err)?;
                Ok(Self::new(key))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Encrypts.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = random_bytes::<24>()?;
        let ct = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), plain)
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts what [`FieldCipher::seal`] produced.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 24 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(24);
        self.aead
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Writes a file readable only by its owner (0600 on Unix), failing if it exists.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// TOTP parameters of this platform: SHA-1, 6 digits, 30-second steps (what every
/// authenticator app supports), accepting one step of clock skew either way.
pub const TOTP_STEP_SECS: u64 = 30;
/// Digits of a TOTP code.
pub const TOTP_DIGITS: usize = 6;

/// A user's TOTP generator.
pub fn totp(secret: Vec<u8>) -> totp_rs::TOTP {
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        TOTP_DIGITS,
        0,
        TOTP_STEP_SECS,
        secret,
    )
}

/// The time step (within ±1 of now) at which `code` is valid, if any.
pub fn totp_match(t: &totp_rs::TOTP, code: &str, now_secs: u64) -> Option<u64> {
    let step = now_secs / TOTP_STEP_SECS;
    [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|s| ct_eq(t.generate(s * TOTP_STEP_SECS).as_bytes(), code.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B test vectors (8 digits, 30 s steps).
    #[test]
    fn rfc6238_vectors() {
        let seeds: [(totp_rs::Algorithm, &[u8]); 3] = [
            (totp_rs::Algorithm::SHA1, b"12345678901234567890"),
            (
                totp_rs::Algorithm::SHA256,
                b"12345678901234567890123456789012",
            ),
            (
                totp_rs::Algorithm::SHA512,
                b"1234567890123456789012345678901234567890123456789012345678901234",
            ),
        ];
        let table: [(u64, [&str; 3]); 6] = [
            (59, ["94287082", "46119246", "90693936"]),
            (1111111109, ["07081804", "68084774", "25091201"]),
            (1111111111, ["14050471", "67062674", "99943326"]),
            (1234567890, ["89005924", "91819424", "93441116"]),
            (2000000000, ["69279037", "90698825", "38618901"]),
            (20000000000, ["65353130", "77737706", "47863826"]),
        ];
        for (time, expected) in table {
            for (i, (alg, seed)) in seeds.iter().enumerate() {
                let t = totp_rs::TOTP::new_unchecked(*alg, 8, 0, 30, seed.to_vec());
                assert_eq!(t.generate(time), expected[i], "t={time} alg#{i}");
            }
        }
    }

    #[test]
    fn totp_window_and_match() {
        let t = totp(b"12345678901234567890".to_vec());
        let code = t.generate(1_000_000 * 30);
        assert_eq!(totp_match(&t, &code, 1_000_000 * 30 + 29), Some(1_000_000));
        assert_eq!(totp_match(&t, &code, 1_000_001 * 30), Some(1_000_000));
        assert_eq!(totp_match(&t, &code, 1_000_002 * 30), None);
    }

    #[test]
    fn field_cipher_round_trip_and_tamper() {
        let c = FieldCipher::new([7; 32]);
        let sealed = c.seal(b"11010519491231002X").unwrap_or_default();
        assert!(!sealed.windows(8).any(|w| w == b"19491231"));
        assert_eq!(
            c.open(&sealed).ok().as_deref(),
            Some(&b"11010519491231002X"[..])
        );
        let mut bad = sealed.clone();
        bad[30] ^= 1;
        assert!(c.open(&bad).is_err());
        assert!(FieldCipher::new([8; 32]).open(&sealed).is_err());
    }

    #[test]
    fn password_hash_round_trip() {
        let h = PasswordHasher::new(Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let phc = h.hash("correct horse").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify("correct horse", &phc));
        assert!(!h.verify("wrong horse", &phc));
        assert!(!h.verify("x", "not a phc string"));
    }
}
