//! Multikey encoding of Ed25519 keys (W3C Controlled Identifiers v1.0 §2.2.2, multicodec
//! table): base58btc multibase of a two-byte unsigned-varint multicodec header followed by
//! the raw key. `ed25519-pub` is 0xed → varint `0xed 0x01`, so public keys read `z6Mk…`;
//! `ed25519-priv` is 0x1300 → varint `0x80 0x26` (secret seeds read `z3u2…`).

use suanli_primitives::{PublicKey, SecretKey};

use crate::VcError;
use crate::multibase::{decode_base58btc, encode_base58btc};

/// Multicodec varint header of an Ed25519 public key.
pub const ED25519_PUB_HEADER: [u8; 2] = [0xed, 0x01];
/// Multicodec varint header of an Ed25519 secret key (32-byte seed).
pub const ED25519_PRIV_HEADER: [u8; 2] = [0x80, 0x26];

/// `z6Mk…`: the Multikey `publicKeyMultibase` of an Ed25519 public key.
pub fn encode_ed25519_multikey(pk: &PublicKey) -> String {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(&ED25519_PUB_HEADER);
    bytes.extend_from_slice(pk.as_bytes());
    encode_base58btc(&bytes)
}

/// Decodes a `z6Mk…` Ed25519 Multikey. Rejects other key types, wrong lengths and keys that
/// are not canonical, prime-order curve points.
pub fn decode_ed25519_multikey(s: &str) -> Result<PublicKey, VcError> {
    let raw = strip_header(s, ED25519_PUB_HEADER, "ed25519-pub (0xed)")?;
    PublicKey::from_bytes(raw.as_slice()).map_err(|_| VcError::InvalidPublicKey)
}

/// `z3u2…`: the `secretKeyMultibase` of an Ed25519 seed. For tests and key export only.
pub fn encode_ed25519_secret_multikey(sk: &SecretKey) -> String {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(&ED25519_PRIV_HEADER);
    bytes.extend_from_slice(&sk.seed());
    encode_base58btc(&bytes)
}

/// Decodes a `secretKeyMultibase` Ed25519 seed (`z3u2…`).
pub fn decode_ed25519_secret_multikey(s: &str) -> Result<SecretKey, VcError> {
    let raw = strip_header(s, ED25519_PRIV_HEADER, "ed25519-priv (0x1300)")?;
    let seed: [u8; 32] = raw.as_slice().try_into().map_err(|_| {
        VcError::Multikey(format!("secret key must be 32 bytes, got {}", raw.len()))
    })?;
    Ok(SecretKey::from_seed(&seed))
}

fn strip_header(s: &str, header: [u8; 2], name: &str) -> Result<Vec<u8>, VcError> {
    let bytes = decode_base58btc(s)?;
    match bytes.strip_prefix(&header[..]) {
        Some(raw) if raw.len() == 32 => Ok(raw.to_vec()),
        Some(raw) => Err(VcError::Multikey(format!(
            "{name} key must be 32 bytes, got {}",
            raw.len()
        ))),
        None => Err(VcError::Multikey(format!(
            "multicodec header {:02x?} is not {name}",
            &bytes[..bytes.len().min(2)]
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Key pair of W3C Data Integrity EdDSA Cryptosuites v1.0, Appendix A (test vectors).
    const W3C_PUBLIC: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    const W3C_SECRET: &str = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";

    #[test]
    fn w3c_key_pair_is_consistent() {
        let sk = decode_ed25519_secret_multikey(W3C_SECRET).unwrap();
        let pk = decode_ed25519_multikey(W3C_PUBLIC).unwrap();
        assert_eq!(sk.public(), pk);
        assert_eq!(encode_ed25519_multikey(&pk), W3C_PUBLIC);
        assert_eq!(encode_ed25519_secret_multikey(&sk), W3C_SECRET);
    }

    #[test]
    fn round_trip_starts_with_z6mk() {
        let pk = SecretKey::from_label("multikey").public();
        let s = encode_ed25519_multikey(&pk);
        assert!(s.starts_with("z6Mk"), "{s}");
        assert_eq!(decode_ed25519_multikey(&s).unwrap(), pk);
    }

    #[test]
    fn rejects_wrong_codec_length_and_weak_keys() {
        // X25519 (0xec) key from the did:key spec.
        assert!(matches!(
            decode_ed25519_multikey("z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F"),
            Err(VcError::Multikey(_))
        ));
        let mut short = ED25519_PUB_HEADER.to_vec();
        short.extend_from_slice(&[1; 31]);
        assert!(matches!(
            decode_ed25519_multikey(&encode_base58btc(&short)),
            Err(VcError::Multikey(_))
        ));
        // The identity point (small order) is refused.
        let mut weak = ED25519_PUB_HEADER.to_vec();
        let mut identity = [0u8; 32];
        identity[0] = 1;
        weak.extend_from_slice(&identity);
        assert_eq!(
            decode_ed25519_multikey(&encode_base58btc(&weak)),
            Err(VcError::InvalidPublicKey)
        );
        assert!(matches!(
            decode_ed25519_multikey("6Mk"),
            Err(VcError::Multibase(_))
        ));
    }
}
