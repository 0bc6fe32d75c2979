//! RFC 8785 JSON Canonicalization Scheme (JCS), via `serde_json_canonicalizer`.
//!
//! JCS sorts object members by their UTF-16 code units, writes numbers in the ECMAScript
//! shortest form and strings with minimal escaping, so one JSON value has exactly one byte
//! string. Numbers that are not IEEE 754 doubles (e.g. integers above 2^53) cannot be
//! represented faithfully; keep such values as strings in signed documents.

use serde_json::Value;

use crate::VcError;

/// Largest integer magnitude JCS represents exactly (2^53 − 1).
pub const SAFE_INTEGER_MAX: u64 = (1 << 53) - 1;

/// The RFC 8785 canonical UTF-8 bytes of `v`. Integers beyond ±(2^53 − 1) are refused:
/// JCS writes numbers as IEEE 754 doubles, so two different such integers could share one
/// canonical form and a signed value could be changed without breaking the signature.
pub fn canonical_bytes(v: &Value) -> Result<Vec<u8>, VcError> {
    check_safe_numbers(v, 0)?;
    serde_json_canonicalizer::to_vec(v).map_err(|e| VcError::Canonicalization(e.to_string()))
}

/// Deepest nesting walked (serde_json already refuses deeper input when parsing).
const DEPTH_MAX: usize = 128;

fn check_safe_numbers(v: &Value, depth: usize) -> Result<(), VcError> {
    if depth > DEPTH_MAX {
        return Err(VcError::Canonicalization(format!(
            "nested deeper than {DEPTH_MAX}"
        )));
    }
    match v {
        Value::Number(n) => {
            let unsafe_int = n.as_u64().is_some_and(|u| u > SAFE_INTEGER_MAX)
                || n.as_i64()
                    .is_some_and(|i| i.unsigned_abs() > SAFE_INTEGER_MAX);
            if unsafe_int {
                return Err(VcError::Canonicalization(format!(
                    "integer {n} is beyond ±(2^53 − 1); JCS cannot sign it exactly — write it as a string"
                )));
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|i| check_safe_numbers(i, depth + 1)),
        Value::Object(map) => map
            .values()
            .try_for_each(|i| check_safe_numbers(i, depth + 1)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_beyond_2_pow_53_are_refused() {
        assert!(canonical_bytes(&json!({"n": 9_007_199_254_740_991u64})).is_ok());
        assert!(canonical_bytes(&json!({"n": 9_007_199_254_740_993u64})).is_err());
        assert!(canonical_bytes(&json!([{"n": -9_007_199_254_740_993i64}])).is_err());
    }

    #[test]
    fn sorts_keys_and_strips_whitespace() {
        let v = json!({"b": [1, {"d": true, "c": null}], "a": "x"});
        assert_eq!(
            canonical_bytes(&v).unwrap(),
            br#"{"a":"x","b":[1,{"c":null,"d":true}]}"#
        );
    }

    #[test]
    fn rfc8785_number_and_string_forms() {
        // RFC 8785 §3.2.2.3 / §3.2.2.2 examples.
        let v: Value = serde_json::from_str(
            r#"{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"}"#,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(canonical_bytes(&v).unwrap()).unwrap(),
            r#"{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // RFC 8785 §3.2.3: "\u20ac" (€) sorts before "\ud83d\ude00" (😀) as UTF-16, although
        // their UTF-8 order is the same here; "\r" first, then "1", then non-ASCII.
        let v: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let out = String::from_utf8(canonical_bytes(&v).unwrap()).unwrap();
        let order: Vec<&str> = [
            "Carriage", "One", "Control", "Latin", "Euro", "Emoji", "Hebrew",
        ]
        .into_iter()
        .collect();
        let positions: Vec<usize> = order.iter().map(|w| out.find(w).unwrap()).collect();
        let mut sorted = positions.clone();
        sorted.sort_unstable();
        assert_eq!(positions, sorted, "{out}");
    }
}
