//! Ed25519 keys, signatures and the key-file format.
//!
//! Signing follows RFC 8032 (ed25519-dalek). Verification follows ZIP 215 (ed25519-zebra):
//! the cofactored equation, under which single and batch verification give the same
//! answer for every input — a consensus requirement, since nodes verify in batches of
//! whatever transactions happen to arrive together. On top of ZIP 215, public keys must be
//! canonical encodings and must not be of small order.
//!
//! Key files are PKCS#8 v1 PEM documents (RFC 8410, `-----BEGIN PRIVATE KEY-----`), the
//! format OpenSSL reads and writes (`openssl pkey -in node.key -text`). Secret key files
//! are created with mode 0600 and never overwritten.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::hash::sha256;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("public key must be 32 bytes (64 hex characters), got {0} bytes")]
    PublicKeyLength(usize),
    #[error("bytes are not a valid Ed25519 public key (not a curve point, or a weak key)")]
    InvalidPublicKey,
    #[error("signature must be 64 bytes (128 hex characters), got {0} bytes")]
    SignatureLength(usize),
    #[error("not hex: {0}")]
    Hex(#[from] hex::FromHexError),
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("key file {path}: {reason}")]
    File { path: String, reason: String },
}

/// An Ed25519 public key that is known to be a canonical, non-weak curve point. Keeps the
/// decompressed point so that verification does not decompress it again (decompression
/// costs about as much as a third of a verification).
#[derive(Clone, Copy)]
pub struct PublicKey {
    bytes: [u8; 32],
    point: ed25519_zebra::VerificationKey,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for PublicKey {}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl PublicKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::PublicKeyLength(bytes.len()))?;
        let dalek = VerifyingKey::from_bytes(&array).map_err(|_| KeyError::InvalidPublicKey)?;
        // Weak (small-order) keys and non-canonical encodings are refused. Decompression
        // accepts a y coordinate ≥ p (it reduces it) and returns the input bytes from
        // `to_bytes`, so canonicity is checked by re-encoding the decompressed point.
        if dalek.is_weak() || dalek.to_edwards().compress().to_bytes() != array {
            return Err(KeyError::InvalidPublicKey);
        }
        let point = ed25519_zebra::VerificationKey::try_from(array)
            .map_err(|_| KeyError::InvalidPublicKey)?;
        Ok(PublicKey {
            bytes: array,
            point,
        })
    }

    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        PublicKey::from_bytes(&hex::decode(text)?)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    /// Single verification under ZIP 215 (agrees with [`verify_many`]).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        let sig = ed25519_zebra::Signature::from_bytes(&signature.0);
        self.point.verify(&sig, message).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PublicKey::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A 64-byte Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 64]);

impl Signature {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; 64] = bytes
            .try_into()
            .map_err(|_| KeyError::SignatureLength(bytes.len()))?;
        Ok(Signature(array))
    }

    /// 128 hex characters.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        Signature::from_bytes(&hex::decode(text)?)
    }

    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        Signature::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 secret key. Its `Debug` never prints key material.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// A key from a 32-byte seed (RFC 8032 private key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// A reproducible key for tests, benchmarks and demos: seed = SHA-256(label).
    /// Never use for real parties.
    pub fn from_label(label: &str) -> Self {
        SecretKey::from_seed(sha256(label.as_bytes()).as_bytes())
    }

    pub fn public(&self) -> PublicKey {
        let bytes = self.0.verifying_key().to_bytes();
        // A key derived from a secret scalar is a canonical prime-order point, so the
        // conversion cannot fail; the fallback keeps this path free of panics.
        let point = ed25519_zebra::VerificationKey::try_from(bytes).unwrap_or_else(|_| {
            ed25519_zebra::SigningKey::from(self.0.to_bytes()).verification_key()
        });
        PublicKey { bytes, point }
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }

    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// PKCS#8 v1 PEM (RFC 8410 §7: the seed only, no public key — the form OpenSSL
    /// writes and every common tool reads; v2 files are still read).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        let v1 = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.0.to_bytes(),
            public_key: None,
        };
        let pem = v1
            .to_pkcs8_pem(Default::default())
            .map_err(|e| KeyError::File {
                path: String::new(),
                reason: format!("cannot encode PKCS#8: {e}"),
            })?;
        Ok(pem.to_string())
    }

    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_pem(text)
            .map(SecretKey)
            .map_err(|e| KeyError::File {
                path: String::new(),
                reason: format!("not an Ed25519 PKCS#8 PEM private key: {e}"),
            })
    }

    /// Writes a new key file with mode 0600. Refuses to overwrite an existing file.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let file_err = |reason: String| KeyError::File {
            path: path.display().to_string(),
            reason,
        };
        let pem = self.to_pem()?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| file_err(e.to_string()))?;
        file.write_all(pem.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| file_err(e.to_string()))?;
        // The new directory entry must survive a power loss too.
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        std::fs::File::open(parent.unwrap_or(Path::new(".")))
            .and_then(|dir| dir.sync_all())
            .map_err(|e| file_err(format!("syncing the directory: {e}")))
    }

    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        SecretKey::from_pem(&text).map_err(|e| match e {
            KeyError::File { reason, .. } => KeyError::File {
                path: path.display().to_string(),
                reason,
            },
            other => other,
        })
    }

    /// Loads the key at `path`, or creates one there if the file does not exist.
    pub fn load_or_generate(path: &Path) -> Result<Self, KeyError> {
        if path.exists() {
            return SecretKey::load(path);
        }
        let key = SecretKey::generate()?;
        key.save(path)?;
        Ok(key)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public={}, secret=<redacted>)", self.public())
    }
}

/// Verifies many (message, signature, key) triples. Uses ZIP 215 batch verification as
/// the fast path; if the batch fails, checks each item on its own to find the bad ones.
/// Returns one verdict per item; ZIP 215 makes the verdicts independent of how items are
/// grouped.
pub fn verify_many(items: &[(&[u8], &Signature, &PublicKey)]) -> Vec<bool> {
    let mut batch = ed25519_zebra::batch::Verifier::new();
    for (message, signature, key) in items {
        let sig = ed25519_zebra::Signature::from_bytes(&signature.0);
        batch.queue((
            ed25519_zebra::VerificationKeyBytes::from(key.bytes),
            sig,
            message,
        ));
    }
    let batch_ok = batch_rng().is_some_and(|rng| batch.verify(rng).is_ok());
    if batch_ok {
        vec![true; items.len()]
    } else {
        items
            .iter()
            .map(|(message, signature, key)| key.verify(message, signature))
            .collect()
    }
}

/// The random coefficients of batch verification only decide how likely a bad batch is
/// caught (a miss has probability about 2^-128), never the verdict on good signatures:
/// ChaCha20 seeded from the operating system. Without an OS random source, callers verify
/// one by one.
fn batch_rng() -> Option<rand_chacha::ChaCha20Rng> {
    use rand_chacha::rand_core::SeedableRng;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).ok()?;
    Some(rand_chacha::ChaCha20Rng::from_seed(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// p = 2^255 − 19, little-endian, plus `y` (y < 19, so the sum stays below 2^255).
    fn y_plus_p(y: u8) -> [u8; 32] {
        let mut b = [0xffu8; 32];
        b[0] = 0xed;
        b[31] = 0x7f;
        let (lo, carry) = b[0].overflowing_add(y);
        b[0] = lo;
        assert!(!carry, "y < 19 keeps the first byte below 256");
        b
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        // Every y in 0..19 has a second, non-canonical encoding y + p. Where that y is on
        // the curve and of large order, the canonical encoding is accepted and the other
        // refused; small-order points are refused in both.
        let mut large_order_seen = 0;
        for y in 0u8..19 {
            for sign in [0u8, 0x80] {
                let mut canonical = [0u8; 32];
                canonical[0] = y;
                canonical[31] |= sign;
                let mut other = y_plus_p(y);
                other[31] |= sign;
                let decodes = VerifyingKey::from_bytes(&other).is_ok();
                assert!(
                    PublicKey::from_bytes(&other).is_err(),
                    "y = {y} + p (sign {sign}) must be refused"
                );
                if decodes && PublicKey::from_bytes(&canonical).is_ok() {
                    large_order_seen += 1;
                }
            }
        }
        assert!(
            large_order_seen > 0,
            "the test must cover a large-order point with a non-canonical encoding"
        );
    }

    #[test]
    fn key_files_are_pkcs8_v1() {
        // RFC 8410 §10.3's example key (v1, the seed only).
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let key = SecretKey::from_pem(pem).unwrap();
        assert_eq!(key.to_pem().unwrap(), pem);
    }

    #[test]
    fn small_order_keys_are_refused() {
        // The identity (y = 1) and the point of order 2 (y = p − 1).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(PublicKey::from_bytes(&identity).is_err());
        let mut order2 = y_plus_p(0);
        order2[0] = 0xec;
        assert!(PublicKey::from_bytes(&order2).is_err());
    }

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 §7.1 TEST 1: empty message.
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let key = SecretKey::from_seed(&seed);
        assert_eq!(
            key.public().to_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = key.sign(b"");
        assert_eq!(
            sig.to_hex(),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(key.public().verify(b"", &sig));
        assert!(!key.public().verify(b"x", &sig));
    }

    #[test]
    fn key_file_is_0600_pem_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let key = SecretKey::generate().unwrap();
        key.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(SecretKey::load(&path).unwrap().public(), key.public());
        assert!(key.save(&path).is_err(), "must not overwrite");
        assert!(!format!("{key:?}").contains(&hex::encode(key.seed())));
    }

    #[test]
    fn batch_verification_finds_the_bad_item() {
        let keys: Vec<SecretKey> = (0..5)
            .map(|i| SecretKey::from_label(&i.to_string()))
            .collect();
        let publics: Vec<PublicKey> = keys.iter().map(SecretKey::public).collect();
        let mut sigs: Vec<Signature> = keys.iter().map(|k| k.sign(b"m")).collect();
        let items: Vec<(&[u8], &Signature, &PublicKey)> = sigs
            .iter()
            .zip(&publics)
            .map(|(s, p)| (&b"m"[..], s, p))
            .collect();
        assert_eq!(verify_many(&items), vec![true; 5]);
        sigs[3] = keys[0].sign(b"other");
        let items: Vec<(&[u8], &Signature, &PublicKey)> = sigs
            .iter()
            .zip(&publics)
            .map(|(s, p)| (&b"m"[..], s, p))
            .collect();
        assert_eq!(verify_many(&items), vec![true, true, true, false, true]);
    }

    #[test]
    fn single_and_batch_verification_agree_on_grouping() {
        let keys: Vec<SecretKey> = (0..8)
            .map(|i| SecretKey::from_label(&format!("k{i}")))
            .collect();
        let publics: Vec<PublicKey> = keys.iter().map(SecretKey::public).collect();
        let messages: Vec<Vec<u8>> = (0..8).map(|i| vec![i as u8; 10]).collect();
        let mut sigs: Vec<Signature> = keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
        sigs[5] = keys[5].sign(b"something else");
        let items: Vec<(&[u8], &Signature, &PublicKey)> = messages
            .iter()
            .zip(&sigs)
            .zip(&publics)
            .map(|((m, s), p)| (m.as_slice(), s, p))
            .collect();
        let single: Vec<bool> = items.iter().map(|(m, s, p)| p.verify(m, s)).collect();
        assert_eq!(verify_many(&items), single);
        for chunk in items.chunks(3) {
            let expected: Vec<bool> = chunk.iter().map(|(m, s, p)| p.verify(m, s)).collect();
            assert_eq!(verify_many(chunk), expected);
        }
    }

    #[test]
    fn bad_public_keys_rejected() {
        assert!(matches!(
            PublicKey::from_bytes(&[1; 31]),
            Err(KeyError::PublicKeyLength(31))
        ));
        // The identity point (small order) is a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(PublicKey::from_bytes(&identity).is_err());
    }
}
