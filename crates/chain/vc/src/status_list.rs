//! W3C Bitstring Status List v1.0 helpers: the compressed list encoding, bit addressing and
//! the (unsigned) `BitstringStatusListCredential`.
//!
//! `encodedList` = multibase base64url without padding (prefix `u`) of the GZIP-compressed
//! bitstring (§2.2, §3.1). Bit 0 is the left-most (most significant) bit of the first byte.
//! Lists hold at least [`STATUS_LIST_BITS_MIN`] bits (16 KiB), so that one credential's
//! status hides among many (group privacy, §5.1).

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use crate::VcError;
use crate::credential::{CREDENTIALS_CONTEXT_V2, StatusPurpose};
use crate::time::format_datetime_ms;

/// Minimum list length, in bits (the spec's 16 KiB).
pub const STATUS_LIST_BITS_MIN: usize = 131_072;
/// Largest decompressed list accepted, in bytes (16 MiB = 134 million entries).
pub const STATUS_LIST_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Longest `encodedList` accepted, in characters. GZIP cannot compress below ~1/1000, so
/// this is ample for any list within [`STATUS_LIST_BYTES_MAX`] that is not almost random;
/// it bounds the work done before decompression starts.
pub const STATUS_LIST_ENCODED_CHARS_MAX: usize = 24 * 1024 * 1024;

/// GZIP-compresses `bits` and returns the `u`-prefixed base64url (no padding) encoding.
pub fn encode_list(bits: &[u8]) -> Result<String, VcError> {
    if bits.len() * 8 < STATUS_LIST_BITS_MIN {
        return Err(VcError::StatusList(format!(
            "a list must hold at least {STATUS_LIST_BITS_MIN} bits, got {}",
            bits.len() * 8
        )));
    }
    if bits.len() > STATUS_LIST_BYTES_MAX {
        return Err(VcError::TooLarge {
            what: "status list",
            bytes: bits.len(),
            max_bytes: STATUS_LIST_BYTES_MAX,
        });
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(bits)
        .map_err(|e| VcError::StatusList(format!("compression failed: {e}")))?;
    let compressed = gz
        .finish()
        .map_err(|e| VcError::StatusList(format!("compression failed: {e}")))?;
    Ok(format!("u{}", URL_SAFE_NO_PAD.encode(compressed)))
}

/// Decodes an `encodedList`. Decompression stops at [`STATUS_LIST_BYTES_MAX`] (a list
/// that would inflate further is refused, so a small "zip bomb" cannot exhaust memory).
pub fn decode_list(s: &str) -> Result<Vec<u8>, VcError> {
    if s.len() > STATUS_LIST_ENCODED_CHARS_MAX {
        return Err(VcError::TooLarge {
            what: "encodedList",
            bytes: s.len(),
            max_bytes: STATUS_LIST_ENCODED_CHARS_MAX,
        });
    }
    let b64 = s.strip_prefix('u').ok_or_else(|| {
        VcError::StatusList("encodedList must start with the multibase prefix 'u'".into())
    })?;
    let compressed = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|e| VcError::StatusList(format!("not base64url without padding: {e}")))?;
    let mut bits = Vec::new();
    let limit = u64::try_from(STATUS_LIST_BYTES_MAX).unwrap_or(u64::MAX) + 1;
    GzDecoder::new(compressed.as_slice())
        .take(limit)
        .read_to_end(&mut bits)
        .map_err(|e| VcError::StatusList(format!("not GZIP data: {e}")))?;
    if bits.len() > STATUS_LIST_BYTES_MAX {
        return Err(VcError::TooLarge {
            what: "decompressed status list",
            bytes: bits.len(),
            max_bytes: STATUS_LIST_BYTES_MAX,
        });
    }
    if bits.len() * 8 < STATUS_LIST_BITS_MIN {
        return Err(VcError::StatusList(format!(
            "list holds {} bits, fewer than the minimum {STATUS_LIST_BITS_MIN}",
            bits.len() * 8
        )));
    }
    Ok(bits)
}

/// Bit `index` (0 = most significant bit of the first byte). Out of range reads as unset;
/// use [`checked_bit`] to tell the two apart.
pub fn bit(bits: &[u8], index: u64) -> bool {
    checked_bit(bits, index).unwrap_or(false)
}

/// Bit `index`, or an error if the list is shorter.
pub fn checked_bit(bits: &[u8], index: u64) -> Result<bool, VcError> {
    let (byte, mask) = locate(bits, index)?;
    Ok(bits[byte] & mask != 0)
}

/// Sets bit `index`; indices beyond the list are ignored (use [`checked_set_bit`]).
pub fn set_bit(bits: &mut [u8], index: u64) {
    let _ = checked_set_bit(bits, index);
}

/// Sets bit `index`, or errors if the list is shorter.
pub fn checked_set_bit(bits: &mut [u8], index: u64) -> Result<(), VcError> {
    let (byte, mask) = locate(bits, index)?;
    bits[byte] |= mask;
    Ok(())
}

fn locate(bits: &[u8], index: u64) -> Result<(usize, u8), VcError> {
    let out_of_range = || VcError::StatusIndexOutOfRange {
        index,
        bits: (bits.len() as u64).saturating_mul(8),
    };
    let byte = usize::try_from(index / 8).map_err(|_| out_of_range())?;
    if byte >= bits.len() {
        return Err(out_of_range());
    }
    Ok((byte, 0x80 >> (index % 8)))
}

/// The unsigned `BitstringStatusListCredential` for a list (§2.2). Sign it with
/// [`crate::add_proof`] (purpose assertionMethod) to publish it.
pub fn status_list_credential(
    id: &str,
    issuer: &str,
    purpose: StatusPurpose,
    bits: &[u8],
    valid_from_ms: u64,
) -> Result<Value, VcError> {
    Ok(json!({
        "@context": [CREDENTIALS_CONTEXT_V2],
        "id": id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": format_datetime_ms(valid_from_ms)?,
        "credentialSubject": {
            "id": format!("{id}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.as_str(),
            "encodedList": encode_list(bits)?,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bitstring Status List v1.0, Example "BitstringStatusListCredential": an empty list.
    const SPEC_EXAMPLE: &str =
        "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";

    #[test]
    fn spec_example_is_an_empty_16_kib_list() {
        let bits = decode_list(SPEC_EXAMPLE).unwrap();
        assert_eq!(bits.len() * 8, STATUS_LIST_BITS_MIN);
        assert!(bits.iter().all(|b| *b == 0));
    }

    #[test]
    fn round_trip_and_bit_order() {
        let mut bits = vec![0u8; STATUS_LIST_BITS_MIN / 8];
        set_bit(&mut bits, 0);
        set_bit(&mut bits, 9);
        set_bit(&mut bits, 131_071);
        assert_eq!(bits[0], 0b1000_0000);
        assert_eq!(bits[1], 0b0100_0000);
        assert_eq!(bits[16_383], 0b0000_0001);
        let enc = encode_list(&bits).unwrap();
        assert!(enc.starts_with('u') && !enc.contains('='));
        let back = decode_list(&enc).unwrap();
        assert_eq!(back, bits);
        assert!(bit(&back, 0) && bit(&back, 9) && bit(&back, 131_071));
        assert!(!bit(&back, 1) && !bit(&back, 8));
        assert!(!bit(&back, 131_072));
        assert!(matches!(
            checked_bit(&back, u64::MAX),
            Err(VcError::StatusIndexOutOfRange { .. })
        ));
        set_bit(&mut bits, u64::MAX); // ignored, no panic
    }

    #[test]
    fn rejects_short_bad_and_oversized_lists() {
        assert!(encode_list(&[0u8; 100]).is_err());
        assert!(decode_list("H4sI").is_err());
        assert!(decode_list("u!!!").is_err());
        assert!(decode_list("uAAAA").is_err());
        let short = {
            let mut gz = GzEncoder::new(Vec::new(), Compression::default());
            gz.write_all(&[0u8; 100]).unwrap();
            format!("u{}", URL_SAFE_NO_PAD.encode(gz.finish().unwrap()))
        };
        assert!(decode_list(&short).is_err());
        // A bomb: 17 MiB of zeros compress to ~17 KiB; decoding refuses it.
        let bomb = {
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            let chunk = vec![0u8; 1024 * 1024];
            for _ in 0..17 {
                gz.write_all(&chunk).unwrap();
            }
            format!("u{}", URL_SAFE_NO_PAD.encode(gz.finish().unwrap()))
        };
        assert!(matches!(decode_list(&bomb), Err(VcError::TooLarge { .. })));
    }

    #[test]
    fn credential_shape() {
        let bits = vec![0u8; STATUS_LIST_BITS_MIN / 8];
        let vc = status_list_credential(
            "https://example.com/status/3",
            "did:example:12345",
            StatusPurpose::Revocation,
            &bits,
            1_617_632_860_000,
        )
        .unwrap();
        assert_eq!(
            vc["type"],
            json!(["VerifiableCredential", "BitstringStatusListCredential"])
        );
        assert_eq!(vc["validFrom"], "2021-04-05T14:27:40Z");
        assert_eq!(
            vc["credentialSubject"]["id"],
            "https://example.com/status/3#list"
        );
        assert_eq!(vc["credentialSubject"]["type"], "BitstringStatusList");
        assert_eq!(vc["credentialSubject"]["statusPurpose"], "revocation");
        let enc = vc["credentialSubject"]["encodedList"].as_str().unwrap();
        assert_eq!(decode_list(enc).unwrap(), bits);
    }
}
