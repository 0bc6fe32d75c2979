//! CPT (Claim Protocol Type) templates: JSON Schemas (draft 2020-12) that credentials'
//! claims are checked against, and the built-in templates (see `docs/cpt-templates.md`).

use serde_json::Value;

use crate::VcError;
use crate::jcs::canonical_bytes;

/// Largest CPT schema (canonical JSON), in bytes.
pub const SCHEMA_BYTES_MAX: usize = 16 * 1024;
/// The only `$schema` accepted (also the default when absent).
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Checks that `schema` is an acceptable CPT: an object with string `title` and
/// `description`, `$schema` absent or draft 2020-12, at most [`SCHEMA_BYTES_MAX`]
/// canonical bytes, and valid (it compiles; remote `$ref`s cannot be resolved and fail).
pub fn check_cpt_schema(schema: &Value) -> Result<(), VcError> {
    let obj = schema
        .as_object()
        .ok_or_else(|| VcError::InvalidSchema("a CPT schema must be a JSON object".into()))?;
    let bytes = canonical_bytes(schema)?.len();
    if bytes > SCHEMA_BYTES_MAX {
        return Err(VcError::TooLarge {
            what: "CPT schema",
            bytes,
            max_bytes: SCHEMA_BYTES_MAX,
        });
    }
    for field in ["title", "description"] {
        match obj.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => {
                return Err(VcError::InvalidSchema(format!(
                    "{field} must be a non-empty string"
                )));
            }
        }
    }
    match obj.get("$schema") {
        None => {}
        Some(Value::String(s))
            if s == DRAFT_2020_12 || s == "https://json-schema.org/draft/2020-12/schema#" => {}
        Some(other) => {
            return Err(VcError::InvalidSchema(format!(
                "$schema must be {DRAFT_2020_12}, got {other}"
            )));
        }
    }
    compile(schema).map(|_| ())
}

/// Validates `claims` against `schema` (draft 2020-12, `format` asserted). The error names
/// the JSON pointer of the first violation (`""` for the root).
pub fn validate_claims(schema: &Value, claims: &Value) -> Result<(), VcError> {
    let bytes = canonical_bytes(schema)?.len();
    if bytes > SCHEMA_BYTES_MAX {
        return Err(VcError::TooLarge {
            what: "CPT schema",
            bytes,
            max_bytes: SCHEMA_BYTES_MAX,
        });
    }
    let validator = compile(schema)?;
    match validator.iter_errors(claims).next() {
        None => Ok(()),
        Some(e) => Err(VcError::ClaimsViolateSchema {
            path: e.instance_path().to_string(),
            message: e.to_string(),
        }),
    }
}

fn compile(schema: &Value) -> Result<jsonschema::Validator, VcError> {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| VcError::InvalidSchema(e.to_string()))
}
