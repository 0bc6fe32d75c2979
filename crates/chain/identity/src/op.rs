//! Identity-chain operations: the typed body of an identity [`ContractCall`]. Encoded with
//! the ledger's canonical codec: `u8 op tag` then the fields (see `docs/did-method.md`).

use crate::did::InvalidValue;
use suanli_ledger::extension::CallTooLarge;
use suanli_ledger::{ContractCall, ContractId};
use suanli_primitives::PublicKey;
use suanli_primitives::codec::{DecodeError, Reader, Writer};

use crate::did::{DID_ID_LEN_MAX, DidId, Fragment};
use crate::document::{
    Relationships, SERVICE_ENDPOINT_LEN_MAX, SERVICE_TYPE_LEN_MAX, check_endpoint,
    check_service_type, read_fragment, read_key,
};

/// Largest CPT schema, in bytes of JSON text.
pub const CPT_SCHEMA_BYTES_MAX: usize = 12 * 1024;
/// Longest issuer name in the authority-issuer list, in bytes.
pub const ISSUER_NAME_LEN_MAX: usize = 128;
/// Bits in one status list (the Bitstring Status List minimum, 16 KiB).
pub const STATUS_LIST_BITS: u32 = 131_072;
/// Most status lists one issuer may use.
pub const STATUS_LISTS_MAX: u16 = 1024;

pub use suanli_vc::credential::StatusPurpose;

/// Wire code of a status purpose (revocation is permanent, suspension reversible).
pub fn purpose_code(purpose: StatusPurpose) -> u8 {
    match purpose {
        StatusPurpose::Revocation => 1,
        StatusPurpose::Suspension => 2,
    }
}

pub fn purpose_from_code(code: u8) -> Option<StatusPurpose> {
    match code {
        1 => Some(StatusPurpose::Revocation),
        2 => Some(StatusPurpose::Suspension),
        _ => None,
    }
}

/// One identity-chain operation. Every operation but `CreateDid` acts for a DID and must
/// be signed by one of that DID's current capabilityInvocation keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityOp {
    /// Creates the DID derived from the signer's key, with that key as `#key-1` in every
    /// relationship.
    CreateDid,
    AddKey {
        did: DidId,
        fragment: Fragment,
        key: PublicKey,
        relationships: Relationships,
    },
    RemoveKey {
        did: DidId,
        fragment: Fragment,
    },
    /// Replaces the method `old` with a new method `new` (same relationships) in one step.
    RotateKey {
        did: DidId,
        old: Fragment,
        new: Fragment,
        key: PublicKey,
    },
    SetService {
        did: DidId,
        fragment: Fragment,
        service_type: String,
        endpoint: String,
    },
    RemoveService {
        did: DidId,
        fragment: Fragment,
    },
    /// Irreversible.
    Deactivate {
        did: DidId,
    },
    /// By the genesis authority: adds `issuer` to the Authority-Issuer list.
    AdmitIssuer {
        authority: DidId,
        issuer: DidId,
        name: String,
    },
    RemoveIssuer {
        authority: DidId,
        issuer: DidId,
    },
    /// Registers a new CPT (`cpt: None`) or publishes the next version of one the
    /// publisher owns. Qualification CPTs need an admitted issuer (or the authority).
    RegisterCpt {
        publisher: DidId,
        cpt: Option<u32>,
        qualification: bool,
        schema_json: String,
    },
    /// Sets (or, for suspension, clears) bit `index` of the issuer's status list `list`.
    SetStatus {
        issuer: DidId,
        purpose: StatusPurpose,
        list: u16,
        index: u32,
        set: bool,
    },
}

const OP_CREATE: u8 = 1;
const OP_ADD_KEY: u8 = 2;
const OP_REMOVE_KEY: u8 = 3;
const OP_ROTATE_KEY: u8 = 4;
const OP_SET_SERVICE: u8 = 5;
const OP_REMOVE_SERVICE: u8 = 6;
const OP_DEACTIVATE: u8 = 7;
const OP_ADMIT_ISSUER: u8 = 8;
const OP_REMOVE_ISSUER: u8 = 9;
const OP_REGISTER_CPT: u8 = 10;
const OP_SET_STATUS: u8 = 11;

impl IdentityOp {
    pub fn name(&self) -> &'static str {
        match self {
            IdentityOp::CreateDid => "create_did",
            IdentityOp::AddKey { .. } => "add_key",
            IdentityOp::RemoveKey { .. } => "remove_key",
            IdentityOp::RotateKey { .. } => "rotate_key",
            IdentityOp::SetService { .. } => "set_service",
            IdentityOp::RemoveService { .. } => "remove_service",
            IdentityOp::Deactivate { .. } => "deactivate",
            IdentityOp::AdmitIssuer { .. } => "admit_issuer",
            IdentityOp::RemoveIssuer { .. } => "remove_issuer",
            IdentityOp::RegisterCpt { .. } => "register_cpt",
            IdentityOp::SetStatus { .. } => "set_status",
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(128);
        match self {
            IdentityOp::CreateDid => {
                w.u8(OP_CREATE);
            }
            IdentityOp::AddKey {
                did,
                fragment,
                key,
                relationships,
            } => {
                w.u8(OP_ADD_KEY)
                    .str(did.as_str())
                    .str(fragment.as_str())
                    .fixed(key.as_bytes())
                    .u8(relationships.bits());
            }
            IdentityOp::RemoveKey { did, fragment } => {
                w.u8(OP_REMOVE_KEY).str(did.as_str()).str(fragment.as_str());
            }
            IdentityOp::RotateKey { did, old, new, key } => {
                w.u8(OP_ROTATE_KEY)
                    .str(did.as_str())
                    .str(old.as_str())
                    .str(new.as_str())
                    .fixed(key.as_bytes());
            }
            IdentityOp::SetService {
                did,
                fragment,
                service_type,
                endpoint,
            } => {
                w.u8(OP_SET_SERVICE)
                    .str(did.as_str())
                    .str(fragment.as_str())
                    .str(service_type)
                    .str(endpoint);
            }
            IdentityOp::RemoveService { did, fragment } => {
                w.u8(OP_REMOVE_SERVICE)
                    .str(did.as_str())
                    .str(fragment.as_str());
            }
            IdentityOp::Deactivate { did } => {
                w.u8(OP_DEACTIVATE).str(did.as_str());
            }
            IdentityOp::AdmitIssuer {
                authority,
                issuer,
                name,
            } => {
                w.u8(OP_ADMIT_ISSUER)
                    .str(authority.as_str())
                    .str(issuer.as_str())
                    .str(name);
            }
            IdentityOp::RemoveIssuer { authority, issuer } => {
                w.u8(OP_REMOVE_ISSUER)
                    .str(authority.as_str())
                    .str(issuer.as_str());
            }
            IdentityOp::RegisterCpt {
                publisher,
                cpt,
                qualification,
                schema_json,
            } => {
                w.u8(OP_REGISTER_CPT)
                    .str(publisher.as_str())
                    .u32(cpt.unwrap_or(0))
                    .u8(u8::from(*qualification))
                    .str(schema_json);
            }
            IdentityOp::SetStatus {
                issuer,
                purpose,
                list,
                index,
                set,
            } => {
                w.u8(OP_SET_STATUS)
                    .str(issuer.as_str())
                    .u8(purpose_code(*purpose))
                    .u16(*list)
                    .u32(*index)
                    .u8(u8::from(*set));
            }
        }
        w.finish()
    }

    /// Decodes and checks every field that needs no state (schemas included).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let op = match r.u8("identity op")? {
            OP_CREATE => IdentityOp::CreateDid,
            OP_ADD_KEY => IdentityOp::AddKey {
                did: read_did(&mut r)?,
                fragment: read_fragment(&mut r)?,
                key: read_key(&mut r, "key")?,
                relationships: {
                    let bits = r.u8("relationships")?;
                    Relationships::from_bits(bits).map_err(|e| r.invalid("relationships", e))?
                },
            },
            OP_REMOVE_KEY => IdentityOp::RemoveKey {
                did: read_did(&mut r)?,
                fragment: read_fragment(&mut r)?,
            },
            OP_ROTATE_KEY => IdentityOp::RotateKey {
                did: read_did(&mut r)?,
                old: read_fragment(&mut r)?,
                new: read_fragment(&mut r)?,
                key: read_key(&mut r, "key")?,
            },
            OP_SET_SERVICE => {
                let did = read_did(&mut r)?;
                let fragment = read_fragment(&mut r)?;
                let service_type = r.str("service type", SERVICE_TYPE_LEN_MAX)?.to_owned();
                check_service_type(&service_type).map_err(|e| r.invalid("service type", e))?;
                let endpoint = r
                    .str("service endpoint", SERVICE_ENDPOINT_LEN_MAX)?
                    .to_owned();
                check_endpoint(&endpoint).map_err(|e| r.invalid("service endpoint", e))?;
                IdentityOp::SetService {
                    did,
                    fragment,
                    service_type,
                    endpoint,
                }
            }
            OP_REMOVE_SERVICE => IdentityOp::RemoveService {
                did: read_did(&mut r)?,
                fragment: read_fragment(&mut r)?,
            },
            OP_DEACTIVATE => IdentityOp::Deactivate {
                did: read_did(&mut r)?,
            },
            OP_ADMIT_ISSUER => {
                let authority = read_did(&mut r)?;
                let issuer = read_did(&mut r)?;
                let name = r.str("issuer name", ISSUER_NAME_LEN_MAX)?.to_owned();
                if name.trim().is_empty() {
                    return Err(r.invalid("issuer name", "must not be empty"));
                }
                IdentityOp::AdmitIssuer {
                    authority,
                    issuer,
                    name,
                }
            }
            OP_REMOVE_ISSUER => IdentityOp::RemoveIssuer {
                authority: read_did(&mut r)?,
                issuer: read_did(&mut r)?,
            },
            OP_REGISTER_CPT => {
                let publisher = read_did(&mut r)?;
                let cpt = match r.u32("cpt id")? {
                    0 => None,
                    id => Some(id),
                };
                let qualification = read_bool(&mut r, "qualification")?;
                let schema_json = r.str("cpt schema", CPT_SCHEMA_BYTES_MAX)?.to_owned();
                check_schema_text(&schema_json).map_err(|e| r.invalid("cpt schema", e))?;
                IdentityOp::RegisterCpt {
                    publisher,
                    cpt,
                    qualification,
                    schema_json,
                }
            }
            OP_SET_STATUS => {
                let issuer = read_did(&mut r)?;
                let code = r.u8("status purpose")?;
                let purpose = purpose_from_code(code).ok_or_else(|| {
                    r.invalid("status purpose", format!("unknown purpose {code}"))
                })?;
                let list = r.u16("status list")?;
                if list >= STATUS_LISTS_MAX {
                    return Err(
                        r.invalid("status list", format!("must be below {STATUS_LISTS_MAX}"))
                    );
                }
                let index = r.u32("status index")?;
                if index >= STATUS_LIST_BITS {
                    return Err(
                        r.invalid("status index", format!("must be below {STATUS_LIST_BITS}"))
                    );
                }
                IdentityOp::SetStatus {
                    issuer,
                    purpose,
                    list,
                    index,
                    set: read_bool(&mut r, "set")?,
                }
            }
            other => return Err(r.invalid("identity op", format!("unknown op {other}"))),
        };
        r.finish()?;
        Ok(op)
    }

    /// The ledger payload carrying this operation.
    pub fn to_call(&self) -> Result<ContractCall, CallTooLarge> {
        ContractCall::new(ContractId::Identity, self.encode())
    }
}

/// A CPT schema is a JSON object with a string `title` and `description`, a JSON Schema
/// (draft 2020-12) that compiles.
pub fn check_schema_text(text: &str) -> Result<(), InvalidValue> {
    check_schema(text).map_err(InvalidValue)
}

fn check_schema(text: &str) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("schema is not JSON: {e}"))?;
    suanli_vc::cpt::check_cpt_schema(&value).map_err(|e| e.to_string())
}

fn read_did(r: &mut Reader<'_>) -> Result<DidId, DecodeError> {
    let text = r.str("did id", DID_ID_LEN_MAX)?;
    DidId::parse(text).map_err(|e| r.invalid("did id", e))
}

fn read_bool(r: &mut Reader<'_>, what: &'static str) -> Result<bool, DecodeError> {
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(r.invalid(what, format!("boolean must be 0 or 1, got {other}"))),
    }
}
