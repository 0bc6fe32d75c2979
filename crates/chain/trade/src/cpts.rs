//! Registered CPTs in trade modes (`docs/trade.md` §2.1): a supplier's own trade-start and
//! check-in templates, registered on the identity chain and **adopted** into the trade
//! chain with `adopt_cpt {cpt, purpose, schema}` before a mode names them.
//!
//! Two halves, both deterministic:
//! - the contract ([`Exec::adopt_cpt`], [`Exec::check_mode_cpts`]) checks what the trade
//!   chain alone can: the schema is a valid CPT and compatible with the built-in it
//!   replaces (it requires at least the built-in's required claims and accepts the claims
//!   the contract writes), the CPT is adopted once (by one supplier, for one purpose), and
//!   a mode names only CPTs its own supplier adopted; it keeps the schema, and record
//!   credentials under such a mode are validated against it;
//! - admission ([`admission_check`], run by the node before a transaction enters its
//!   mempool) checks the identity chain's committed registry: version 1 of the CPT exists,
//!   was registered by the adopting supplier's DID, and has exactly this schema. CPT
//!   versions never change once registered and their publisher never changes, so a check
//!   that passed at admission holds at every later height: a verifier with both chains can
//!   re-check every adoption (replay never needs it: the schema travels in the transaction).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use suanli_identity::{StateRead, SuanliDid};
use suanli_ledger::TxId;
use suanli_ledger::contract::ContractError;
use suanli_primitives::PublicKey;

use crate::contract::Exec;
use crate::model::{CPT_CHECKIN, CPT_TRADE_START, ModeTerms, Role};
use crate::op::TradeOp;
use crate::records::{corrupt, cpt_key, keyof_key};

fn err(code: &'static str, message: impl Into<String>) -> ContractError {
    ContractError::new(code, message)
}

/// Which credential a registered CPT templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CptPurpose {
    /// The trade-start credential (replaces built-in 1).
    TradeStart,
    /// The check-in credentials (replaces built-in 2).
    Checkin,
}

impl CptPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CptPurpose::TradeStart => "trade_start",
            CptPurpose::Checkin => "checkin",
        }
    }

    /// The built-in CPT this purpose's registered CPTs replace.
    pub fn builtin(self) -> u32 {
        match self {
            CptPurpose::TradeStart => CPT_TRADE_START,
            CptPurpose::Checkin => CPT_CHECKIN,
        }
    }

    /// A claim set of the shape the contract writes, to test a schema's types against.
    fn sample_claims(self) -> Value {
        let did = "did:suanli:sample:11111111111111111111111";
        match self {
            CptPurpose::TradeStart => json!({
                "pdid": did, "cdid": did, "spec": "sample", "price": 1, "minCost": 0,
                "checkinCptId": CPT_CHECKIN, "encryption": "plaintext"
            }),
            CptPurpose::Checkin => json!({
                "pdid": did, "cdid": did, "cost": 0, "startTs": 0, "endTs": 60_000,
                "tradeType": "sample"
            }),
        }
    }
}

/// A registered CPT a supplier adopted (`trade/cpt/<u32 BE id>`): immutable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptedCpt {
    pub cpt: u32,
    /// Always 1: a mode names version 1 of a registered CPT (a new schema is a new CPT).
    pub version: u32,
    pub purpose: CptPurpose,
    pub supplier: crate::model::PartyDid,
    /// The schema as registered on the identity chain (JSON, members sorted).
    pub schema: Value,
    pub adopted_at_ms: u64,
    pub tx_id: TxId,
}

/// The schema of an adopted CPT, if `cpt` is one (built-ins have none here).
pub fn adopted(state: &(impl StateRead + ?Sized), cpt: u32) -> Option<AdoptedCpt> {
    state
        .read(&cpt_key(cpt))
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// The schema is a valid CPT and can stand in for `purpose`'s built-in: its `required`
/// names every claim the built-in requires, and the claims the contract writes validate.
pub fn check_compatible(schema: &Value, purpose: CptPurpose) -> Result<(), ContractError> {
    let incompatible = |why: String| err("cpt_incompatible", why);
    suanli_vc::cpt::check_cpt_schema(schema).map_err(|e| incompatible(e.to_string()))?;
    let builtin = suanli_vc::cpt::builtin_templates()
        .into_iter()
        .nth(purpose.builtin() as usize - 1)
        .map(|(_, s)| s)
        .ok_or_else(|| corrupt("built-in CPT"))?;
    let required = |s: &Value| -> Vec<String> {
        s["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let has = required(schema);
    if let Some(missing) = required(&builtin).into_iter().find(|r| !has.contains(r)) {
        return Err(incompatible(format!(
            "a {} CPT must require {missing:?} like built-in {}",
            purpose.as_str(),
            purpose.builtin()
        )));
    }
    suanli_vc::cpt::validate_claims(schema, &purpose.sample_claims()).map_err(|e| {
        incompatible(format!(
            "the claims the trade contract writes do not fit this schema: {e}"
        ))
    })
}

/// Validates a record credential's claims (without `id`) against an adopted schema.
pub fn validate_record_claims(
    schema: &Value,
    claims: &Map<String, Value>,
) -> Result<(), ContractError> {
    let mut claims = claims.clone();
    claims.remove("id");
    suanli_vc::cpt::validate_claims(schema, &Value::Object(claims))
        .map_err(|e| err("credential_schema_violation", e.to_string()))
}

impl Exec<'_, '_> {
    pub(crate) fn adopt_cpt(
        &mut self,
        cpt: u32,
        purpose: CptPurpose,
        schema: Value,
    ) -> Result<(), ContractError> {
        let supplier = self.signer()?;
        if !supplier.has(Role::Supplier) {
            return Err(err(
                "role_missing",
                format!("{} is not enrolled as a supplier", supplier.did),
            ));
        }
        if let Some(done) = self.get::<AdoptedCpt>(&cpt_key(cpt), "adopted CPT")? {
            if done.supplier != supplier.did {
                return Err(not_owner(cpt, &done));
            }
            return Err(err(
                "cpt_already_adopted",
                format!(
                    "CPT {cpt} is already adopted (for {})",
                    done.purpose.as_str()
                ),
            ));
        }
        check_compatible(&schema, purpose)?;
        let adopted = AdoptedCpt {
            cpt,
            version: 1,
            purpose,
            supplier: supplier.did,
            schema,
            adopted_at_ms: self.ctx.timestamp_ms,
            tx_id: self.ctx.tx_id,
        };
        self.put(cpt_key(cpt), &adopted);
        Ok(())
    }

    /// A mode's CPTs are the built-ins or CPTs its supplier adopted for that purpose.
    pub(crate) fn check_mode_cpts(
        &self,
        supplier: &crate::model::PartyDid,
        terms: &ModeTerms,
    ) -> Result<(), ContractError> {
        for (cpt, purpose) in [
            (terms.trade_start_cpt, CptPurpose::TradeStart),
            (terms.checkin_cpt, CptPurpose::Checkin),
        ] {
            if cpt == purpose.builtin() {
                continue;
            }
            let adopted: AdoptedCpt = self.get(&cpt_key(cpt), "adopted CPT")?.ok_or_else(|| {
                err(
                    "cpt_not_adopted",
                    format!(
                        "CPT {cpt} is not adopted on the trade chain: register it on the identity chain and adopt it (adopt_cpt) first"
                    ),
                )
            })?;
            if adopted.supplier != *supplier {
                return Err(not_owner(cpt, &adopted));
            }
            if adopted.purpose != purpose {
                return Err(err(
                    "cpt_purpose_mismatch",
                    format!(
                        "CPT {cpt} templates {} credentials, not {}",
                        adopted.purpose.as_str(),
                        purpose.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The adopted schema records of `cpt` are validated against (`None` for built-ins,
    /// whose shape the contract's exact claims already are).
    pub(crate) fn record_schema(&self, cpt: u32) -> Result<Option<Value>, ContractError> {
        Ok(self
            .get::<AdoptedCpt>(&cpt_key(cpt), "adopted CPT")?
            .map(|a| a.schema))
    }
}

fn not_owner(cpt: u32, adopted: &AdoptedCpt) -> ContractError {
    err(
        "not_cpt_owner",
        format!(
            "CPT {cpt} belongs to {}: a mode uses only its own supplier's CPTs",
            adopted.supplier
        ),
    )
}

/// The admission check of a trade-chain call signed by `signer`: for `adopt_cpt`, the
/// identity chain's committed registry must hold version 1 of the CPT, registered by the
/// DID `signer` is enrolled for, with exactly the adopted schema (compared in JCS form).
/// Codes: `cpt_not_found`, `not_cpt_owner`, `cpt_schema_mismatch` (and `not_enrolled`).
pub fn admission_check(
    trade: &(impl StateRead + ?Sized),
    identity: &(impl StateRead + ?Sized),
    signer: &PublicKey,
    body: &[u8],
) -> Result<(), ContractError> {
    let Ok(TradeOp::AdoptCpt { cpt, schema, .. }) = TradeOp::decode(body) else {
        return Ok(());
    };
    let did = trade
        .read(&keyof_key(signer))
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            err(
                "not_enrolled",
                "the signer is not enrolled on the trade chain",
            )
        })?;
    let did = SuanliDid::parse(&did).map_err(|_| corrupt("key index"))?;
    let (meta, version) = (
        suanli_identity::contract::cpt_meta(identity, cpt)?,
        suanli_identity::contract::cpt_version(identity, cpt, 1)?,
    );
    let (Some(meta), Some(version)) = (meta, version) else {
        return Err(err(
            "cpt_not_found",
            format!("the identity chain has no registered CPT {cpt}"),
        ));
    };
    if &meta.publisher != did.id() {
        return Err(err(
            "not_cpt_owner",
            format!(
                "CPT {cpt} was registered by {}, not by the supplier {did}",
                meta.publisher
            ),
        ));
    }
    let registered: Value =
        serde_json::from_str(&version.schema_json).map_err(|_| corrupt("registered CPT schema"))?;
    let jcs = |v: &Value| suanli_vc::jcs::canonical_bytes(v).ok();
    if jcs(&registered).is_none() || jcs(&registered) != jcs(&schema) {
        return Err(err(
            "cpt_schema_mismatch",
            format!("the schema differs from version 1 of CPT {cpt} on the identity chain"),
        ));
    }
    Ok(())
}
