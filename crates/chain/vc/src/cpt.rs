//! CPT (Claim Protocol Type) templates: JSON Schemas (draft 2020-12) that credentials'
//! claims are checked against, and the built-in templates (see `docs/cpt-templates.md`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use suanli_primitives::sha256;

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
    compiled(schema).map(|_| ())
}

/// Validates `claims` against `schema` (draft 2020-12, `format` asserted). The error names
/// the JSON pointer of the first violation (`""` for the root) — "first" in the order of
/// (pointer, message), so the report is the same on every run and machine (the validator's
/// own error order follows randomly seeded hash maps).
pub fn validate_claims(schema: &Value, claims: &Value) -> Result<(), VcError> {
    let validator = compiled(schema)?;
    let first = validator
        .iter_errors(claims)
        .map(|e| (e.instance_path().to_string(), e.to_string()))
        .min();
    match first {
        None => Ok(()),
        Some((path, message)) => Err(VcError::ClaimsViolateSchema { path, message }),
    }
}

/// Compiled schemas kept for reuse, at most this many (the cache is emptied when full).
/// Compiling costs far more than validating (about 0.5 ms against 10 µs), and a verifier
/// sees the same few CPTs over and over.
pub const SCHEMA_CACHE_ENTRIES_MAX: usize = 64;

type SchemaCache = BTreeMap<[u8; 32], Arc<jsonschema::Validator>>;

static SCHEMA_CACHE: Mutex<Option<SchemaCache>> = Mutex::new(None);

/// The compiled validator of `schema`, memoised by the SHA-256 of its canonical form.
/// Memoisation never changes a result: equal canonical bytes are the same schema. (A
/// `BTreeMap`, not a `HashMap`: no randomly seeded hasher in a core crate.)
fn compiled(schema: &Value) -> Result<Arc<jsonschema::Validator>, VcError> {
    let canonical = canonical_bytes(schema)?;
    if canonical.len() > SCHEMA_BYTES_MAX {
        return Err(VcError::TooLarge {
            what: "CPT schema",
            bytes: canonical.len(),
            max_bytes: SCHEMA_BYTES_MAX,
        });
    }
    let digest = *sha256(&canonical).as_bytes();
    if let Ok(guard) = SCHEMA_CACHE.lock() {
        if let Some(v) = guard.as_ref().and_then(|c| c.get(&digest)) {
            return Ok(Arc::clone(v));
        }
    }
    let validator = Arc::new(compile(schema)?);
    // A poisoned lock only costs the memo, never a result.
    if let Ok(mut guard) = SCHEMA_CACHE.lock() {
        let cache = guard.get_or_insert_with(BTreeMap::new);
        if cache.len() >= SCHEMA_CACHE_ENTRIES_MAX {
            cache.clear();
        }
        cache.insert(digest, Arc::clone(&validator));
    }
    Ok(validator)
}

/// The GB 32100-2015 character set of unified social credit codes: digits and capital
/// letters without I, O, Z, S, V (31 characters; a character's value is its index).
pub const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100-2015 weights of characters 1–17 (3^(i-1) mod 31).
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// JSON Schema pattern of a unified social credit code: 18 characters of the GB 32100
/// charset, characters 3–8 (administrative division code) digits.
pub const USCC_PATTERN: &str = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$";

/// Whether `code` is a unified social credit code (统一社会信用代码) whose 18th character
/// is the GB 32100-2015 check character: C18 = 31 − (Σ value(Ci)·Wi mod 31), 31 ↦ 0.
/// Exact: no trimming or case folding.
pub fn uscc_checksum_ok(code: &str) -> bool {
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return false;
    }
    let mut values = [0u32; 18];
    for (v, b) in values.iter_mut().zip(bytes) {
        match USCC_CHARSET.iter().position(|c| c == b) {
            Some(i) => *v = i as u32,
            None => return false,
        }
    }
    if !bytes[2..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = values[..17]
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    (31 - sum % 31) % 31 == values[17]
}

const DID_PATTERN: &str = "^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$";

fn did_property(description: &str) -> Value {
    json!({"type": "string", "pattern": DID_PATTERN, "maxLength": 512, "description": description})
}

/// The built-in CPT templates, by name: `trade-start` and `check-in` (seed 001 §4.2, with
/// its flaws fixed), `kyc-supplier` and `kyc-consumer`. Every choice is documented in
/// `docs/cpt-templates.md`. Money is integer fen; times are integer Unix milliseconds.
pub fn builtin_templates() -> Vec<(&'static str, Value)> {
    vec![
        ("trade-start", trade_start()),
        ("check-in", check_in()),
        ("kyc-supplier", kyc_supplier()),
        ("kyc-consumer", kyc_consumer()),
    ]
}

fn trade_start() -> Value {
    json!({
        "$schema": DRAFT_2020_12,
        "title": "交易启动 trade-start",
        "description": "Opens a trade between a supplier and a consumer on the supplier's terms (seed 001 §4.2). Money in integer fen (分).",
        "type": "object",
        "properties": {
            "pdid": did_property("供给用户 DID (supplier)"),
            "cdid": did_property("消费用户 DID (consumer)"),
            "spec": {"type": "string", "minLength": 1, "maxLength": 256, "description": "算力规格, e.g. \"8 × A100 80GB, 2.5 PFLOPS FP16\""},
            "price": {"type": "integer", "minimum": 0, "description": "每分钟价格, 单位分 (price per minute, fen)"},
            "minCost": {"type": "integer", "minimum": 0, "description": "最小开销即起步计价, 单位分 (minimum charge, fen)"},
            "checkinCptId": {"type": "integer", "minimum": 1, "description": "结算模板 ID (CPT id of the check-in template)"},
            "encryption": {"type": "string", "enum": ["plaintext", "cp-abe"], "description": "加密方式: 明文 plaintext or CP-ABE"}
        },
        "required": ["pdid", "cdid", "spec", "price", "checkinCptId"],
        "additionalProperties": false
    })
}

fn check_in() -> Value {
    json!({
        "$schema": DRAFT_2020_12,
        "title": "交易结算 check-in",
        "description": "A periodic settlement of a trade (seed 001 §4.2). Money in integer fen (分); times in Unix milliseconds.",
        "type": "object",
        "properties": {
            "pdid": did_property("供给用户 DID (supplier)"),
            "cdid": did_property("消费用户 DID (consumer)"),
            "cost": {"type": "integer", "minimum": 0, "description": "结算费用, 单位分 (cost of the period, fen)"},
            "startTs": {"type": "integer", "minimum": 0, "description": "结算周期起始时间, Unix ms (period start, inclusive)"},
            "endTs": {"type": "integer", "minimum": 0, "description": "结算周期结束时间, Unix ms (period end, exclusive; ≥ startTs, checked by the trade contract)"},
            "tradeType": {"type": "string", "minLength": 1, "maxLength": 64, "description": "交易类型 (trade mode, e.g. pay-per-minute)"}
        },
        "required": ["pdid", "cdid", "cost", "startTs", "endTs", "tradeType"],
        "additionalProperties": false
    })
}

fn kyc_supplier() -> Value {
    json!({
        "$schema": DRAFT_2020_12,
        "title": "供给方实名认证 kyc-supplier",
        "description": "KYC of a computing-power supplier (an organisation), issued by the authority or an admitted issuer. The unified social credit code's check character is verified by the issuer (uscc_checksum_ok); the schema checks its form.",
        "type": "object",
        "properties": {
            "organisationName": {"type": "string", "minLength": 1, "maxLength": 200, "description": "单位名称 (registered name)"},
            "unifiedSocialCreditCode": {"type": "string", "pattern": USCC_PATTERN, "description": "统一社会信用代码 (GB 32100-2015)"},
            "legalRepresentative": {"type": "string", "minLength": 1, "maxLength": 100, "description": "法定代表人"},
            "qualifications": {
                "type": "array",
                "minItems": 1,
                "maxItems": 32,
                "description": "资质 (licences and certifications, e.g. IDC/ISP licence, MLPS level)",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 200},
                        "number": {"type": "string", "minLength": 1, "maxLength": 100},
                        "issuedBy": {"type": "string", "minLength": 1, "maxLength": 200},
                        "validUntil": {"type": "integer", "minimum": 0, "description": "Unix ms"}
                    },
                    "required": ["name", "number"],
                    "additionalProperties": false
                }
            },
            "contact": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "phone": {"type": "string", "pattern": "^\\+?[0-9][0-9 -]{5,19}$"},
                    "email": {"type": "string", "format": "email", "maxLength": 254}
                },
                "required": ["name", "phone"],
                "additionalProperties": false
            },
            "registeredAddress": {"type": "string", "minLength": 1, "maxLength": 300, "description": "注册地址"}
        },
        "required": ["organisationName", "unifiedSocialCreditCode", "legalRepresentative", "qualifications", "contact"],
        "additionalProperties": false
    })
}

fn kyc_consumer() -> Value {
    json!({
        "$schema": DRAFT_2020_12,
        "title": "消费方实名认证 kyc-consumer",
        "description": "Lighter KYC of a computing-power consumer (a person, optionally for an organisation). The identity document number is checked by the issuer and not carried in the credential.",
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "姓名"},
            "idType": {"type": "string", "enum": ["resident-id-card", "passport", "hk-macao-permit", "taiwan-permit", "foreign-permanent-residence"], "description": "证件类型"},
            "organisation": {"type": "string", "minLength": 1, "maxLength": 200, "description": "所属单位 (optional)"}
        },
        "required": ["name", "idType"],
        "additionalProperties": false
    })
}

fn compile(schema: &Value) -> Result<jsonschema::Validator, VcError> {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| VcError::InvalidSchema(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_are_valid_cpts() {
        let names: Vec<&str> = builtin_templates().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["trade-start", "check-in", "kyc-supplier", "kyc-consumer"]
        );
        for (name, schema) in builtin_templates() {
            check_cpt_schema(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    fn template(name: &str) -> Value {
        builtin_templates()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
    }

    fn violation(schema: &Value, claims: &Value) -> String {
        match validate_claims(schema, claims) {
            Err(VcError::ClaimsViolateSchema { path, .. }) => path,
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn trade_start_fixes_the_seed() {
        let t = template("trade-start");
        let good = json!({
            "pdid": "did:suanli:identity:p1", "cdid": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "spec": "8 x A100", "price": 150, "minCost": 3000, "checkinCptId": 12, "encryption": "cp-abe"
        });
        validate_claims(&t, &good).unwrap();
        // required names checkinCptId (the seed's "checkinId" was a typo).
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove("checkinCptId");
        assert_eq!(violation(&t, &c), "");
        // Money is integer fen, never a float.
        let mut c = good.clone();
        c["price"] = json!(1.5);
        assert_eq!(violation(&t, &c), "/price");
        let mut c = good.clone();
        c["minCost"] = json!(-1);
        assert_eq!(violation(&t, &c), "/minCost");
        let mut c = good.clone();
        c["pdid"] = json!("supplier-1");
        assert_eq!(violation(&t, &c), "/pdid");
        let mut c = good;
        c["extra"] = json!(1);
        assert!(validate_claims(&t, &c).is_err());
    }

    #[test]
    fn check_in_uses_integer_times() {
        let t = template("check-in");
        let good = json!({
            "pdid": "did:suanli:identity:p1", "cdid": "did:suanli:identity:c1",
            "cost": 9000, "startTs": 1_704_067_200_000_u64, "endTs": 1_704_070_800_000_u64, "tradeType": "pay-per-minute"
        });
        validate_claims(&t, &good).unwrap();
        let mut c = good.clone();
        c["startTs"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(violation(&t, &c), "/startTs");
        let mut c = good;
        c.as_object_mut().unwrap().remove("tradeType");
        assert_eq!(violation(&t, &c), "");
    }

    #[test]
    fn kyc_templates() {
        let t = template("kyc-supplier");
        let good = json!({
            "organisationName": "示例算力有限公司",
            "unifiedSocialCreditCode": "91350100M000100Y43",
            "legalRepresentative": "张三",
            "qualifications": [{"name": "IDC 许可证", "number": "B1-20240001"}],
            "contact": {"name": "李四", "phone": "+86 138 0000 0000", "email": "ops@example.com"}
        });
        validate_claims(&t, &good).unwrap();
        let mut c = good.clone();
        c["unifiedSocialCreditCode"] = json!("91350100M000100I43");
        assert_eq!(violation(&t, &c), "/unifiedSocialCreditCode");
        let mut c = good.clone();
        c["qualifications"] = json!([]);
        assert_eq!(violation(&t, &c), "/qualifications");
        let mut c = good.clone();
        c["qualifications"][0] = json!({"name": "x"});
        assert_eq!(violation(&t, &c), "/qualifications/0");
        let mut c = good;
        c["contact"]["email"] = json!("not an email");
        assert_eq!(violation(&t, &c), "/contact/email");

        let t = template("kyc-consumer");
        validate_claims(&t, &json!({"name": "王五", "idType": "passport"})).unwrap();
        validate_claims(
            &t,
            &json!({"name": "王五", "idType": "resident-id-card", "organisation": "某大学"}),
        )
        .unwrap();
        assert_eq!(
            violation(&t, &json!({"name": "王五", "idType": "licence"})),
            "/idType"
        );
    }

    #[test]
    fn published_credit_codes_pass_the_check_character() {
        // Codes from public business-licence records. A random 18-character code passes
        // with probability 1/31, so five passes are no accident.
        for code in [
            "91350100M000100Y43",
            "91110000802100433B",
            "91440300708461136T",
            "914403001922038216",
            "91330100716105852F",
        ] {
            assert!(uscc_checksum_ok(code), "{code}");
            let mut wrong = code.as_bytes().to_vec();
            let last = USCC_CHARSET.iter().position(|c| *c == wrong[17]).unwrap();
            wrong[17] = USCC_CHARSET[(last + 1) % 31];
            assert!(
                !uscc_checksum_ok(std::str::from_utf8(&wrong).unwrap()),
                "{code}"
            );
        }
        // A code constructed from the algorithm: 17 characters "91110108MA01ABCDE",
        // Σ value·weight = 2179 → 2179 mod 31 = 9 → 31 − 9 = 22 → 'N'.
        assert!(uscc_checksum_ok("91110108MA01ABCDEN"));
        for bad in [
            "",
            "91350100M000100Y4",
            "91350100M000100Y43 ",
            "91350100m000100Y43",
            "91350100M000100O43",
            "9135A100M000100Y43",
        ] {
            assert!(!uscc_checksum_ok(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_reported_violation_is_chosen_deterministically() {
        let t = template("check-in");
        let claims = json!({"pdid": 1, "cdid": 2, "cost": -1, "startTs": "x", "endTs": "y", "tradeType": ""});
        for _ in 0..20 {
            assert_eq!(violation(&t, &claims), "/cdid");
        }
    }

    #[test]
    fn cpt_schema_rules() {
        let ok = json!({"title": "t", "description": "d", "type": "object"});
        check_cpt_schema(&ok).unwrap();
        for bad in [
            json!([]),
            json!({"description": "d"}),
            json!({"title": "t", "description": 3}),
            json!({"title": "t", "description": "d", "$schema": "http://json-schema.org/draft-07/schema#"}),
            json!({"title": "t", "description": "d", "type": "float"}),
            json!({"title": "t", "description": "d", "properties": {"a": {"type": "TIMESTAMP"}}}),
            json!({"title": "t", "description": "d", "$ref": "https://example.com/remote.json"}),
            json!({"title": "t", "description": "d".repeat(SCHEMA_BYTES_MAX)}),
        ] {
            assert!(check_cpt_schema(&bad).is_err(), "{bad}");
        }
    }
}
