//! DID and DID URL syntax (DID Core 1.0 §3.1, §3.2), method-agnostic.

use crate::VcError;

/// Longest DID URL accepted, in bytes. `did:key` Ed25519 URLs are about 110.
pub const DID_URL_BYTES_MAX: usize = 512;

/// A DID URL split into its DID, method name and fragment (without `#`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidUrl<'a> {
    pub did: &'a str,
    pub method: &'a str,
    pub method_specific_id: &'a str,
    pub fragment: Option<&'a str>,
}

/// Parses `did:<method>:<id>[#fragment]` (paths and queries are not used by suanli and are
/// rejected). Method names are lowercase letters and digits; the method-specific id is
/// `idchar`s (`ALPHA / DIGIT / "." / "-" / "_" / pct-encoded`) and colons, not ending in a colon.
pub fn parse_did_url(s: &str) -> Result<DidUrl<'_>, VcError> {
    let bad = |why: &str| VcError::InvalidDid(format!("{}: {why}", truncate(s)));
    if s.len() > DID_URL_BYTES_MAX {
        return Err(bad("too long"));
    }
    let (did, fragment) = match s.split_once('#') {
        Some((d, f)) => (d, Some(f)),
        None => (s, None),
    };
    let rest = did
        .strip_prefix("did:")
        .ok_or_else(|| bad("does not start with \"did:\""))?;
    let (method, id) = rest
        .split_once(':')
        .ok_or_else(|| bad("no method-specific id"))?;
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(bad("method name must be lowercase letters and digits"));
    }
    if id.is_empty() || id.ends_with(':') {
        return Err(bad("empty method-specific id"));
    }
    let bytes = id.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or_else(|| bad("bad percent escape"))?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(bad("bad percent escape"));
                }
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"._-:".contains(&b) => i += 1,
            _ => return Err(bad("character not allowed in a method-specific id")),
        }
    }
    if let Some(f) = fragment {
        if f.is_empty()
            || !f
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-~!$&'()*+,;=:@/?%".contains(&b))
        {
            return Err(bad("bad fragment"));
        }
    }
    Ok(DidUrl {
        did,
        method,
        method_specific_id: id,
        fragment,
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_did_urls() {
        let u = parse_did_url("did:suanli:identity:abc#key-1").unwrap();
        assert_eq!(u.did, "did:suanli:identity:abc");
        assert_eq!(u.method, "suanli");
        assert_eq!(u.method_specific_id, "identity:abc");
        assert_eq!(u.fragment, Some("key-1"));
        assert_eq!(parse_did_url("did:example:a%20b").unwrap().fragment, None);
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "did",
            "did:",
            "did:key",
            "did:key:",
            "did:Key:z6Mk",
            "did::abc",
            "did:key:abc:",
            "did:key:a b",
            "did:key:a%2",
            "did:key:a#",
            "urn:uuid:1234",
            "did:key:é",
        ] {
            assert!(
                matches!(parse_did_url(s), Err(VcError::InvalidDid(_))),
                "{s:?}"
            );
        }
        assert!(parse_did_url(&format!("did:key:{}", "a".repeat(600))).is_err());
    }
}
