//! Multibase base58btc (prefix `z`), the only multibase encoding Data Integrity EdDSA
//! proofs and Multikey public keys use. (Base64url `u` lives in [`crate::status_list`].)

use crate::VcError;

/// Longest base58btc multibase string accepted for decoding, in characters. Keys and
/// signatures are under 100; the bound keeps decoding (quadratic in length) cheap.
pub const MULTIBASE_CHARS_MAX: usize = 256;

/// `z` followed by the base58btc (Bitcoin alphabet) encoding of `bytes`.
pub fn encode_base58btc(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(1 + bytes.len() * 138 / 100 + 1);
    out.push('z');
    out.push_str(&bs58::encode(bytes).into_string());
    out
}

/// Decodes a `z`-prefixed base58btc multibase string.
pub fn decode_base58btc(s: &str) -> Result<Vec<u8>, VcError> {
    if s.len() > MULTIBASE_CHARS_MAX {
        return Err(VcError::Multibase(format!(
            "{} characters, more than {MULTIBASE_CHARS_MAX}",
            s.len()
        )));
    }
    let rest = s.strip_prefix('z').ok_or_else(|| {
        VcError::Multibase(match s.chars().next() {
            Some(c) => format!("prefix {c:?} is not base58btc ('z')"),
            None => "empty string".into(),
        })
    })?;
    if rest.is_empty() {
        return Err(VcError::Multibase("no data after the 'z' prefix".into()));
    }
    bs58::decode(rest)
        .into_vec()
        .map_err(|e| VcError::Multibase(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_leading_zeros() {
        for bytes in [&b""[..], b"\0\0abc", b"hello world", &[0xff; 40]] {
            let s = encode_base58btc(bytes);
            assert!(s.starts_with('z'));
            if !bytes.is_empty() {
                assert_eq!(decode_base58btc(&s).unwrap(), bytes);
            }
        }
        // Multibase spec example: "Decentralize everything!!" in base58btc.
        assert_eq!(
            encode_base58btc(b"Decentralize everything!!"),
            "zUXE7GvtEk8XTXs1GF8HSGbVA9FCX9SEBPe"
        );
    }

    #[test]
    fn rejects_other_prefixes_and_alphabet() {
        assert!(decode_base58btc("").is_err());
        assert!(decode_base58btc("z").is_err());
        assert!(decode_base58btc("uAAAA").is_err());
        assert!(decode_base58btc("z0OIl").is_err());
        assert!(decode_base58btc(&"z".repeat(300)).is_err());
    }
}
