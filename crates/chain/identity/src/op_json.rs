//! The JSON form of identity operations, for HTTP clients that keep their own keys: the
//! node turns it into the canonical operation and the bytes to sign
//! (`POST /1.0/identity/prepare`), the client signs them and submits the transaction.

use serde::Deserialize;
use suanli_primitives::PublicKey;

use crate::did::{Fragment, InvalidValue, SuanliDid};
use crate::document::{Relationships, check_endpoint, check_service_type};
use crate::op::{
    CPT_SCHEMA_BYTES_MAX, ISSUER_NAME_LEN_MAX, IdentityOp, STATUS_LIST_BITS, STATUS_LISTS_MAX,
    StatusPurpose, check_schema_text,
};

/// One identity operation as JSON; DIDs are full `did:suanli:…` strings, keys hex.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum IdentityOpJson {
    CreateDid,
    AddKey {
        did: String,
        fragment: String,
        public_key: PublicKey,
        relationships: String,
    },
    RemoveKey {
        did: String,
        fragment: String,
    },
    RotateKey {
        did: String,
        old: String,
        new: String,
        public_key: PublicKey,
    },
    SetService {
        did: String,
        fragment: String,
        #[serde(rename = "type")]
        service_type: String,
        endpoint: String,
    },
    RemoveService {
        did: String,
        fragment: String,
    },
    Deactivate {
        did: String,
    },
    AdmitIssuer {
        authority: String,
        issuer: String,
        name: String,
    },
    RemoveIssuer {
        authority: String,
        issuer: String,
    },
    RegisterCpt {
        publisher: String,
        #[serde(default)]
        cpt: Option<u32>,
        #[serde(default)]
        qualification: bool,
        schema: serde_json::Value,
    },
    SetStatus {
        issuer: String,
        purpose: String,
        list: u16,
        index: u32,
        set: bool,
    },
}

fn did(field: &str, text: &str) -> Result<crate::did::DidId, String> {
    SuanliDid::parse(text)
        .map(|d| d.id().clone())
        .map_err(|e| format!("{field}: {e}"))
}

fn fragment(field: &str, text: &str) -> Result<Fragment, String> {
    Fragment::new(text).map_err(|e| format!("{field}: {e}"))
}

impl TryFrom<IdentityOpJson> for IdentityOp {
    type Error = InvalidValue;

    fn try_from(json: IdentityOpJson) -> Result<Self, InvalidValue> {
        op_from_json(json).map_err(InvalidValue)
    }
}

fn op_from_json(json: IdentityOpJson) -> Result<IdentityOp, String> {
    Ok(match json {
        IdentityOpJson::CreateDid => IdentityOp::CreateDid,
        IdentityOpJson::AddKey {
            did: d,
            fragment: f,
            public_key,
            relationships,
        } => IdentityOp::AddKey {
            did: did("did", &d)?,
            fragment: fragment("fragment", &f)?,
            key: public_key,
            relationships: Relationships::parse_names(&relationships)
                .map_err(|e| format!("relationships: {e}"))?,
        },
        IdentityOpJson::RemoveKey {
            did: d,
            fragment: f,
        } => IdentityOp::RemoveKey {
            did: did("did", &d)?,
            fragment: fragment("fragment", &f)?,
        },
        IdentityOpJson::RotateKey {
            did: d,
            old,
            new,
            public_key,
        } => IdentityOp::RotateKey {
            did: did("did", &d)?,
            old: fragment("old", &old)?,
            new: fragment("new", &new)?,
            key: public_key,
        },
        IdentityOpJson::SetService {
            did: d,
            fragment: f,
            service_type,
            endpoint,
        } => {
            check_service_type(&service_type).map_err(|e| format!("type: {e}"))?;
            check_endpoint(&endpoint).map_err(|e| format!("endpoint: {e}"))?;
            IdentityOp::SetService {
                did: did("did", &d)?,
                fragment: fragment("fragment", &f)?,
                service_type,
                endpoint,
            }
        }
        IdentityOpJson::RemoveService {
            did: d,
            fragment: f,
        } => IdentityOp::RemoveService {
            did: did("did", &d)?,
            fragment: fragment("fragment", &f)?,
        },
        IdentityOpJson::Deactivate { did: d } => IdentityOp::Deactivate {
            did: did("did", &d)?,
        },
        IdentityOpJson::AdmitIssuer {
            authority,
            issuer,
            name,
        } => {
            if name.trim().is_empty() || name.len() > ISSUER_NAME_LEN_MAX {
                return Err(format!("name: 1..={ISSUER_NAME_LEN_MAX} bytes"));
            }
            IdentityOp::AdmitIssuer {
                authority: did("authority", &authority)?,
                issuer: did("issuer", &issuer)?,
                name,
            }
        }
        IdentityOpJson::RemoveIssuer { authority, issuer } => IdentityOp::RemoveIssuer {
            authority: did("authority", &authority)?,
            issuer: did("issuer", &issuer)?,
        },
        IdentityOpJson::RegisterCpt {
            publisher,
            cpt,
            qualification,
            schema,
        } => {
            let schema_json = serde_json::to_string(&schema).map_err(|e| format!("schema: {e}"))?;
            if schema_json.len() > CPT_SCHEMA_BYTES_MAX {
                return Err(format!("schema: more than {CPT_SCHEMA_BYTES_MAX} bytes"));
            }
            check_schema_text(&schema_json).map_err(|e| format!("schema: {e}"))?;
            IdentityOp::RegisterCpt {
                publisher: did("publisher", &publisher)?,
                cpt,
                qualification,
                schema_json,
            }
        }
        IdentityOpJson::SetStatus {
            issuer,
            purpose,
            list,
            index,
            set,
        } => {
            let purpose =
                StatusPurpose::parse(&purpose).ok_or("purpose: revocation or suspension")?;
            if list >= STATUS_LISTS_MAX || index >= STATUS_LIST_BITS {
                return Err(format!(
                    "list must be below {STATUS_LISTS_MAX} and index below {STATUS_LIST_BITS}"
                ));
            }
            IdentityOp::SetStatus {
                issuer: did("issuer", &issuer)?,
                purpose,
                list,
                index,
                set,
            }
        }
    })
}
