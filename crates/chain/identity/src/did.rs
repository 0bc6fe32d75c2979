//! `did:suanli` identifiers: `did:suanli:<network>:<id>`, where `<id>` is derived from the
//! DID's initial key (see `docs/did-method.md`), and DID URLs with a `#fragment`.

use std::fmt;

use suanli_primitives::{NetworkName, PublicKey, sha256};

/// The method name.
pub const METHOD: &str = "suanli";
/// Domain tag hashed in front of the initial key when deriving an id.
pub const DID_ID_DOMAIN: &[u8] = b"suanli/did/v1";
/// Bytes of the key hash kept in an id (128 bits: collision-free for any realistic
/// population, and short enough to type).
const DID_ID_HASH_BYTES: usize = 16;
/// Longest method-specific id accepted, in characters.
pub const DID_ID_LEN_MAX: usize = 32;
/// Longest DID URL accepted anywhere, in bytes.
pub const DID_URL_LEN_MAX: usize = 256;
/// Longest fragment (verification method or service name), in bytes.
pub const FRAGMENT_LEN_MAX: usize = 32;

/// Why a string is not a usable DID.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DidError {
    /// Not DID syntax at all, or not valid `did:suanli` syntax.
    #[error("invalid DID {did:?}: {reason}")]
    Invalid { did: String, reason: String },
    /// Syntactically a DID, but of a method this resolver does not handle.
    #[error("DID method {0:?} is not supported (supported: suanli, key)")]
    MethodNotSupported(String),
}

fn invalid(did: &str, reason: impl Into<String>) -> DidError {
    let mut shown = did.to_owned();
    shown.truncate(DID_URL_LEN_MAX);
    DidError::Invalid {
        did: shown,
        reason: reason.into(),
    }
}

/// A value that breaks a rule of the identity vocabulary (DID id, fragment, relationship
/// bits or names, service type or endpoint, CPT schema, URN); stable code `invalid_value`,
/// the message names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        "invalid_value"
    }
}

impl From<InvalidValue> for String {
    fn from(e: InvalidValue) -> String {
        e.0
    }
}

/// The method-specific id of a `did:suanli` DID: base58btc, 1..=32 characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DidId(String);

impl DidId {
    /// The id of a DID created with `initial_key`:
    /// base58btc(SHA-256(`suanli/did/v1` ‖ key)[..16]).
    pub fn derive(initial_key: &PublicKey) -> Self {
        let mut msg = DID_ID_DOMAIN.to_vec();
        msg.extend_from_slice(initial_key.as_bytes());
        let hash = sha256(&msg);
        DidId(bs58::encode(&hash.as_bytes()[..DID_ID_HASH_BYTES]).into_string())
    }

    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        Self::parse_text(text).map_err(InvalidValue)
    }

    fn parse_text(text: &str) -> Result<Self, String> {
        if text.is_empty() || text.len() > DID_ID_LEN_MAX {
            return Err(format!("id must be 1..={DID_ID_LEN_MAX} characters"));
        }
        if bs58::decode(text).into_vec().is_err() {
            return Err("id must be base58btc (no 0, O, I or l)".into());
        }
        Ok(DidId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DidId({})", self.0)
    }
}

impl fmt::Display for DidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `did:suanli` DID.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SuanliDid {
    network: NetworkName,
    id: DidId,
}

impl SuanliDid {
    pub fn new(network: NetworkName, id: DidId) -> Self {
        SuanliDid { network, id }
    }

    /// The DID a key creates on `network`.
    pub fn for_initial_key(network: NetworkName, key: &PublicKey) -> Self {
        SuanliDid::new(network, DidId::derive(key))
    }

    /// Parses a DID (no path, query or fragment).
    pub fn parse(text: &str) -> Result<Self, DidError> {
        if text.len() > DID_URL_LEN_MAX {
            return Err(invalid(
                text,
                format!("longer than {DID_URL_LEN_MAX} bytes"),
            ));
        }
        let mut parts = text.split(':');
        let (Some("did"), Some(method)) = (parts.next(), parts.next()) else {
            return Err(invalid(text, "a DID starts with did:<method>:"));
        };
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(invalid(
                text,
                "the method name must be lowercase letters and digits",
            ));
        }
        if method != METHOD {
            return Err(DidError::MethodNotSupported(method.to_owned()));
        }
        let (Some(network), Some(id), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid(text, "expected did:suanli:<network>:<id>"));
        };
        let network = NetworkName::new(network).map_err(|e| invalid(text, e.to_string()))?;
        let id = DidId::parse(id).map_err(|e| invalid(text, e))?;
        Ok(SuanliDid { network, id })
    }

    pub fn network(&self) -> &NetworkName {
        &self.network
    }
    pub fn id(&self) -> &DidId {
        &self.id
    }

    /// The DID URL of one of this DID's verification methods or services.
    pub fn url(&self, fragment: &Fragment) -> String {
        format!("{self}#{fragment}")
    }
}

impl fmt::Debug for SuanliDid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SuanliDid({self})")
    }
}

impl fmt::Display for SuanliDid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "did:{METHOD}:{}:{}", self.network.as_str(), self.id)
    }
}

/// A fragment naming a verification method or service: 1..=32 of `[A-Za-z0-9._-]`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fragment(String);

impl Fragment {
    pub fn new(text: &str) -> Result<Self, InvalidValue> {
        Self::new_text(text).map_err(InvalidValue)
    }

    fn new_text(text: &str) -> Result<Self, String> {
        let ok = !text.is_empty()
            && text.len() <= FRAGMENT_LEN_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Fragment(text.to_owned()))
        } else {
            Err(format!(
                "fragment {text:?} must be 1..={FRAGMENT_LEN_MAX} characters of A-Z a-z 0-9 . _ -"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Fragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for Fragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits a DID URL `did…#fragment` into the DID and its fragment.
pub fn split_did_url(url: &str) -> Result<(SuanliDid, Fragment), DidError> {
    let Some((did, fragment)) = url.split_once('#') else {
        return Err(invalid(
            url,
            "a verification method is a DID URL with a #fragment",
        ));
    };
    let did = SuanliDid::parse(did)?;
    let fragment = Fragment::new(fragment).map_err(|e| invalid(url, e))?;
    Ok((did, fragment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_primitives::SecretKey;

    fn net() -> NetworkName {
        NetworkName::new("suanli-test").unwrap()
    }

    #[test]
    fn derived_ids_round_trip_through_text() {
        let key = SecretKey::from_label("alice").public();
        let did = SuanliDid::for_initial_key(net(), &key);
        let text = did.to_string();
        assert!(text.starts_with("did:suanli:suanli-test:"));
        assert_eq!(SuanliDid::parse(&text).unwrap(), did);
        assert_ne!(
            DidId::derive(&SecretKey::from_label("bob").public()),
            *did.id()
        );
    }

    #[test]
    fn malformed_dids_name_the_problem() {
        for bad in [
            "",
            "did",
            "did:suanli",
            "did:suanli:suanli-test",
            "did:suanli:Suanli:abc",
            "did:suanli:suanli-test:0OIl",
            "did:suanli:suanli-test:abc:extra",
            "did:SUANLI:x:y",
            "suanli:x:y",
        ] {
            assert!(
                matches!(SuanliDid::parse(bad), Err(DidError::Invalid { .. })),
                "{bad:?} should be invalid"
            );
        }
        assert_eq!(
            SuanliDid::parse("did:web:example.com"),
            Err(DidError::MethodNotSupported("web".into()))
        );
    }

    #[test]
    fn did_urls_split_into_did_and_fragment() {
        let did = SuanliDid::for_initial_key(net(), &SecretKey::from_label("a").public());
        let (back, frag) = split_did_url(&format!("{did}#key-1")).unwrap();
        assert_eq!(back, did);
        assert_eq!(frag.as_str(), "key-1");
        assert!(split_did_url(&did.to_string()).is_err());
        assert!(split_did_url(&format!("{did}#bad frag")).is_err());
    }
}
