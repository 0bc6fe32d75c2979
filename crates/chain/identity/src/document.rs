//! The on-chain form of a DID document and its rendering as a DID Core 1.0 document.
//!
//! A DID's history is a list of versions; each version is the whole document state after
//! one operation, with the block height and time that made it. Resolution at a past time
//! reads the version in force then.

use crate::did::InvalidValue;
use serde_json::{Value, json};
use suanli_primitives::PublicKey;
use suanli_primitives::codec::{DecodeError, Reader, Writer};

use crate::did::{Fragment, SuanliDid};

/// Most verification methods one DID may hold.
pub const METHODS_MAX: usize = 16;
/// Most services one DID may hold.
pub const SERVICES_MAX: usize = 16;
/// Longest service type, in bytes.
pub const SERVICE_TYPE_LEN_MAX: usize = 64;
/// Longest service endpoint URI, in bytes.
pub const SERVICE_ENDPOINT_LEN_MAX: usize = 256;

/// Verification relationships of a method, as bit flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Relationships(u8);

impl Relationships {
    pub const AUTHENTICATION: Relationships = Relationships(1);
    pub const ASSERTION_METHOD: Relationships = Relationships(2);
    pub const CAPABILITY_INVOCATION: Relationships = Relationships(4);
    pub const CAPABILITY_DELEGATION: Relationships = Relationships(8);
    /// What a DID's first key gets: everything.
    pub const ALL: Relationships = Relationships(15);

    const NAMES: [(Relationships, &'static str); 4] = [
        (Self::AUTHENTICATION, "authentication"),
        (Self::ASSERTION_METHOD, "assertionMethod"),
        (Self::CAPABILITY_INVOCATION, "capabilityInvocation"),
        (Self::CAPABILITY_DELEGATION, "capabilityDelegation"),
    ];

    pub fn from_bits(bits: u8) -> Result<Self, InvalidValue> {
        Self::from_bits_text(bits).map_err(InvalidValue)
    }

    fn from_bits_text(bits: u8) -> Result<Self, String> {
        if bits == 0 || bits & !Self::ALL.0 != 0 {
            return Err(format!(
                "relationship bits {bits:#04x} must be a non-empty subset of 0x0f"
            ));
        }
        Ok(Relationships(bits))
    }

    /// Parses a comma-separated list of DID Core relationship names.
    pub fn parse_names(text: &str) -> Result<Self, InvalidValue> {
        Self::parse_names_text(text).map_err(InvalidValue)
    }

    fn parse_names_text(text: &str) -> Result<Self, String> {
        let mut bits = 0u8;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let (r, _) = Self::NAMES
                .iter()
                .find(|(_, n)| *n == name)
                .ok_or_else(|| format!("unknown relationship {name:?}; use authentication, assertionMethod, capabilityInvocation or capabilityDelegation"))?;
            bits |= r.0;
        }
        Self::from_bits_text(bits)
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn contains(self, other: Relationships) -> bool {
        self.0 & other.0 == other.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationMethod {
    pub fragment: Fragment,
    pub key: PublicKey,
    pub relationships: Relationships,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub fragment: Fragment,
    pub service_type: String,
    pub endpoint: String,
}

/// Checks a service type: 1..=64 printable ASCII characters without spaces.
pub fn check_service_type(text: &str) -> Result<(), InvalidValue> {
    check_service_type_text(text).map_err(InvalidValue)
}

fn check_service_type_text(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= SERVICE_TYPE_LEN_MAX
        && text.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "service type must be 1..={SERVICE_TYPE_LEN_MAX} printable ASCII characters without spaces"
        ))
    }
}

/// Checks a service endpoint: an absolute URI (`scheme:rest`) of printable ASCII.
pub fn check_endpoint(text: &str) -> Result<(), InvalidValue> {
    check_endpoint_text(text).map_err(InvalidValue)
}

fn check_endpoint_text(text: &str) -> Result<(), String> {
    let scheme_ok = text.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    if text.len() <= SERVICE_ENDPOINT_LEN_MAX
        && scheme_ok
        && text.bytes().all(|b| b.is_ascii_graphic())
    {
        Ok(())
    } else {
        Err(format!(
            "service endpoint must be an absolute URI (scheme:…) of at most {SERVICE_ENDPOINT_LEN_MAX} printable characters"
        ))
    }
}

/// The state of a DID document after some operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DidState {
    pub methods: Vec<VerificationMethod>,
    pub services: Vec<Service>,
    pub deactivated: bool,
}

impl DidState {
    pub fn method(&self, fragment: &Fragment) -> Option<&VerificationMethod> {
        self.methods.iter().find(|m| &m.fragment == fragment)
    }

    /// Whether `key` may change this document (a capabilityInvocation key, not
    /// deactivated).
    pub fn is_controller_key(&self, key: &PublicKey) -> bool {
        !self.deactivated
            && self.methods.iter().any(|m| {
                &m.key == key
                    && m.relationships
                        .contains(Relationships::CAPABILITY_INVOCATION)
            })
    }

    pub fn controller_count(&self) -> usize {
        self.methods
            .iter()
            .filter(|m| {
                m.relationships
                    .contains(Relationships::CAPABILITY_INVOCATION)
            })
            .count()
    }

    /// DID Core 1.0 JSON-LD document, verification methods as `Multikey`.
    pub fn to_json(&self, did: &SuanliDid) -> Value {
        let id = did.to_string();
        let methods: Vec<Value> = self
            .methods
            .iter()
            .map(|m| {
                json!({
                    "id": did.url(&m.fragment),
                    "type": "Multikey",
                    "controller": id,
                    "publicKeyMultibase": suanli_vc::multikey::encode_ed25519_multikey(&m.key),
                })
            })
            .collect();
        let mut doc = json!({
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": id,
        });
        if self.deactivated {
            // A deactivated DID keeps no usable keys or services.
            return doc;
        }
        doc["verificationMethod"] = Value::Array(methods);
        for (relationship, name) in Relationships::NAMES {
            let refs: Vec<Value> = self
                .methods
                .iter()
                .filter(|m| m.relationships.contains(relationship))
                .map(|m| Value::String(did.url(&m.fragment)))
                .collect();
            if !refs.is_empty() {
                doc[name] = Value::Array(refs);
            }
        }
        if !self.services.is_empty() {
            doc["service"] = self
                .services
                .iter()
                .map(|s| {
                    json!({"id": did.url(&s.fragment), "type": s.service_type, "serviceEndpoint": s.endpoint})
                })
                .collect();
        }
        doc
    }
}

/// One version of a DID: the state and when it came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidVersion {
    /// 1 for the creating operation, then +1 per update.
    pub version: u32,
    pub height: u64,
    pub timestamp_ms: u64,
    pub state: DidState,
}

impl DidVersion {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(256);
        w.u32(self.version)
            .u64(self.height)
            .u64(self.timestamp_ms)
            .u8(u8::from(self.state.deactivated))
            .u8(self.state.methods.len() as u8);
        for m in &self.state.methods {
            w.str(m.fragment.as_str())
                .fixed(m.key.as_bytes())
                .u8(m.relationships.bits());
        }
        w.u8(self.state.services.len() as u8);
        for s in &self.state.services {
            w.str(s.fragment.as_str())
                .str(&s.service_type)
                .str(&s.endpoint);
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u32("version")?;
        let height = r.u64("height")?;
        let timestamp_ms = r.u64("timestamp")?;
        let deactivated = r.u8("deactivated")? != 0;
        let method_count = usize::from(r.u8("method count")?);
        let mut methods = Vec::with_capacity(method_count.min(METHODS_MAX));
        for _ in 0..method_count {
            methods.push(VerificationMethod {
                fragment: read_fragment(&mut r)?,
                key: read_key(&mut r, "method key")?,
                relationships: {
                    let bits = r.u8("relationships")?;
                    Relationships::from_bits(bits).map_err(|e| r.invalid("relationships", e))?
                },
            });
        }
        let service_count = usize::from(r.u8("service count")?);
        let mut services = Vec::with_capacity(service_count.min(SERVICES_MAX));
        for _ in 0..service_count {
            services.push(Service {
                fragment: read_fragment(&mut r)?,
                service_type: r.str("service type", SERVICE_TYPE_LEN_MAX)?.to_owned(),
                endpoint: r
                    .str("service endpoint", SERVICE_ENDPOINT_LEN_MAX)?
                    .to_owned(),
            });
        }
        r.finish()?;
        Ok(DidVersion {
            version,
            height,
            timestamp_ms,
            state: DidState {
                methods,
                services,
                deactivated,
            },
        })
    }
}

pub(crate) fn read_fragment(r: &mut Reader<'_>) -> Result<Fragment, DecodeError> {
    let text = r.str("fragment", crate::did::FRAGMENT_LEN_MAX)?;
    Fragment::new(text).map_err(|e| r.invalid("fragment", e))
}

pub(crate) fn read_key(r: &mut Reader<'_>, what: &'static str) -> Result<PublicKey, DecodeError> {
    let bytes: [u8; 32] = r.fixed(what)?;
    PublicKey::from_bytes(&bytes).map_err(|e| r.invalid(what, e.to_string()))
}
