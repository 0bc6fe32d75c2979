//! The CPT registry as readers see it: built-in templates (ids 1…, defined in code and
//! identical on every node) and registered CPTs (ids from [`CPT_ID_FIRST`], on chain).

use serde::Serialize;
use serde_json::Value;
use suanli_ledger::contract::ContractError;

use crate::contract::{self, CPT_ID_FIRST, StateRead};

/// Most CPTs one list call returns.
pub const CPT_PAGE_MAX: u32 = 100;

/// A CPT version as served to readers.
#[derive(Debug, Clone, Serialize)]
pub struct CptInfo {
    pub id: u32,
    pub version: u32,
    pub latest_version: u32,
    pub title: String,
    pub description: String,
    /// The registering DID's id; `None` for a built-in template.
    pub publisher: Option<String>,
    pub builtin: Option<&'static str>,
    pub qualification: bool,
    pub published_ms: Option<u64>,
    pub height: Option<u64>,
    pub schema: Value,
}

fn text(schema: &Value, field: &str) -> String {
    schema
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The built-in templates with their ids (1-based, in [`suanli_vc::cpt::builtin_templates`]
/// order) and whether each is a qualification template (the KYC ones).
pub fn builtins() -> Vec<(u32, &'static str, Value)> {
    suanli_vc::cpt::builtin_templates()
        .into_iter()
        .enumerate()
        .map(|(i, (name, schema))| (i as u32 + 1, name, schema))
        .collect()
}

/// The id of a built-in template by name (`trade-start`, `check-in`, `kyc-supplier`, …).
pub fn builtin_id(name: &str) -> Option<u32> {
    builtins()
        .into_iter()
        .find(|(_, n, _)| *n == name)
        .map(|(id, _, _)| id)
}

/// One version (`None`: the latest) of a CPT.
pub fn get(
    state: &(impl StateRead + ?Sized),
    id: u32,
    version: Option<u32>,
) -> Result<Option<CptInfo>, ContractError> {
    if id < CPT_ID_FIRST {
        return Ok(builtins()
            .into_iter()
            .find(|(bid, _, _)| *bid == id)
            .filter(|_| version.is_none_or(|v| v == 1))
            .map(|(id, name, schema)| CptInfo {
                id,
                version: 1,
                latest_version: 1,
                title: text(&schema, "title"),
                description: text(&schema, "description"),
                publisher: None,
                builtin: Some(name),
                qualification: name.starts_with("kyc-"),
                published_ms: None,
                height: None,
                schema,
            }));
    }
    let Some(meta) = contract::cpt_meta(state, id)? else {
        return Ok(None);
    };
    let version = version.unwrap_or(meta.versions);
    let Some(stored) = contract::cpt_version(state, id, version)? else {
        return Ok(None);
    };
    let schema: Value = serde_json::from_str(&stored.schema_json)
        .map_err(|_| ContractError::new("state_corrupt", "stored CPT schema is not JSON"))?;
    Ok(Some(CptInfo {
        id,
        version,
        latest_version: meta.versions,
        title: text(&schema, "title"),
        description: text(&schema, "description"),
        publisher: Some(meta.publisher.to_string()),
        builtin: None,
        qualification: meta.qualification,
        published_ms: Some(stored.published_ms),
        height: Some(stored.height),
        schema,
    }))
}

/// The schema of one CPT version.
pub fn schema(
    state: &(impl StateRead + ?Sized),
    id: u32,
    version: u32,
) -> Result<Option<Value>, ContractError> {
    Ok(get(state, id, Some(version))?.map(|c| c.schema))
}

/// Registered CPTs from id `from` (inclusive), at most `limit` (≤ [`CPT_PAGE_MAX`]); the
/// built-ins are listed by [`builtins`].
pub fn list(
    state: &(impl StateRead + ?Sized),
    from: u32,
    limit: u32,
) -> Result<Vec<CptInfo>, ContractError> {
    let next = contract::next_cpt_id(state)?;
    let start = from.max(CPT_ID_FIRST);
    let end = next.min(start.saturating_add(limit.min(CPT_PAGE_MAX)));
    let mut out = Vec::new();
    for id in start..end {
        if let Some(info) = get(state, id, None)? {
            out.push(info);
        }
    }
    Ok(out)
}
