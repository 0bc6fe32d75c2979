//! JSON schemas of the request bodies, for the OpenAPI document.

use super::*;

pub(super) fn s_str() -> Value {
    json!({"type": "string"})
}
pub(super) fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": props})
}
pub(super) fn b_login() -> Value {
    obj(
        &["login", "password"],
        json!({"login": s_str(), "password": s_str(), "totp_code": s_str(), "recovery_code": s_str()}),
    )
}
pub(super) fn b_enterprise() -> Value {
    obj(
        &[
            "login",
            "password",
            "display_name",
            "company_name",
            "credit_code",
            "licence_ref",
            "legal_person",
        ],
        json!({"login": s_str(), "password": s_str(), "display_name": s_str(), "company_name": s_str(),
               "credit_code": {"type": "string", "description": "unified social credit code, GB 32100-2015"},
               "licence_ref": s_str(), "legal_person": s_str(), "invite_code": s_str()}),
    )
}
pub(super) fn b_personal() -> Value {
    obj(
        &["login", "password", "name", "id_number", "phone"],
        json!({"login": s_str(), "password": s_str(), "name": s_str(),
               "id_number": {"type": "string", "description": "resident ID number, GB 11643-1999"},
               "phone": s_str(), "invite_code": s_str()}),
    )
}
pub(super) fn b_reject() -> Value {
    obj(&["reason"], json!({"reason": s_str()}))
}
pub(super) fn b_password() -> Value {
    obj(
        &["current_password", "new_password"],
        json!({"current_password": s_str(), "new_password": s_str()}),
    )
}
pub(super) fn b_key_export() -> Value {
    obj(&["password"], json!({"password": s_str()}))
}
pub(super) fn b_code() -> Value {
    obj(&["code"], json!({"code": s_str()}))
}
pub(super) fn b_token() -> Value {
    obj(
        &["name", "scopes", "ttl_secs"],
        json!({"name": s_str(), "scopes": {"type": "array", "items": s_str()}, "ttl_secs": {"type": "integer"}}),
    )
}
pub(super) fn b_create_org() -> Value {
    obj(
        &["kind", "name", "admin"],
        json!({"kind": {"type": "string", "enum": ["supplier_api", "supplier_resource", "distributor", "enterprise", "personal"]},
               "name": s_str(),
               "admin": obj(&["login", "display_name", "password"], json!({"login": s_str(), "display_name": s_str(), "password": s_str()}))}),
    )
}
pub(super) fn b_name() -> Value {
    obj(&["name"], json!({"name": s_str()}))
}
pub(super) fn b_sales() -> Value {
    obj(
        &["user_id"],
        json!({"user_id": {"type": ["integer", "null"]}}),
    )
}
pub(super) fn b_roles() -> Value {
    json!({"type": "array", "items": {"type": "string", "enum": suanli_platform_domain::Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>()}})
}
pub(super) fn b_create_user() -> Value {
    obj(
        &["login", "display_name", "password", "roles"],
        json!({"login": s_str(), "display_name": s_str(), "password": s_str(), "roles": b_roles()}),
    )
}
pub(super) fn b_set_roles() -> Value {
    obj(&["roles"], json!({"roles": b_roles()}))
}
pub(super) fn b_settings() -> Value {
    obj(
        &["password", "login"],
        json!({
            "password": obj(&["min_chars", "history", "require_mixed"], json!({"min_chars": {"type": "integer"}, "history": {"type": "integer"}, "require_mixed": {"type": "boolean"}})),
            "login": obj(&["failures_max", "lock_secs", "session_ttl_secs", "sessions_per_user_max"], json!({"failures_max": {"type": "integer"}, "lock_secs": {"type": "integer"}, "session_ttl_secs": {"type": "integer"}, "sessions_per_user_max": {"type": "integer"}, "ip_failures_max": {"type": "integer"}, "ip_window_secs": {"type": "integer"}})),
        }),
    )
}

pub(super) fn s_int() -> Value {
    json!({"type": "integer"})
}
pub(super) fn b_category() -> Value {
    obj(&["name"], json!({"name": s_str()}))
}
pub(super) fn b_product() -> Value {
    obj(
        &[
            "category_id",
            "name",
            "supplier_org_id",
            "region",
            "manual_provisioning",
            "supplier_share_bp",
        ],
        json!({"category_id": s_int(), "name": s_str(), "supplier_org_id": s_int(), "region": s_str(),
               "manual_provisioning": {"type": "boolean"},
               "supplier_share_bp": {"type": "integer", "minimum": 0, "maximum": 10000}}),
    )
}
pub(super) fn s_pricing() -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": {
        "prepaid": obj(&["monthly_fen"], json!({"monthly_fen": s_int(), "yearly_fen": s_int(),
            "term_discounts": {"type": "array", "items": obj(&["min_months", "off_bp"], json!({"min_months": s_int(), "off_bp": s_int()}))}})),
        "payg": obj(&["per_minute_fen", "minimum_fen", "deposit_fen"], json!({"per_minute_fen": s_int(), "minimum_fen": s_int(), "deposit_fen": s_int()}))}})
}
pub(super) fn b_spec() -> Value {
    obj(
        &["family", "name", "pricing"],
        json!({"family": s_str(), "name": s_str(), "pricing": s_pricing()}),
    )
}
pub(super) fn b_pricing() -> Value {
    obj(&["pricing"], json!({"pricing": s_pricing()}))
}
pub(super) fn b_discount() -> Value {
    obj(
        &["rule", "off_bp"],
        json!({"rule": {"type": "object", "required": ["scope"], "properties": {
                  "scope": {"type": "string", "enum": ["global", "customer", "region", "volume"]},
                  "org_id": s_int(), "region": s_str(), "min_quantity": s_int()}},
               "off_bp": {"type": "integer", "minimum": 0, "maximum": 10000}}),
    )
}
pub(super) fn b_coupon() -> Value {
    obj(
        &["code", "value", "min_spend_fen", "expires_ms"],
        json!({"code": s_str(), "org_id": s_int(),
               "value": {"type": "object", "required": ["kind"], "properties": {
                   "kind": {"type": "string", "enum": ["amount_off", "percent_off"]}, "fen": s_int(), "bp": s_int()}},
               "min_spend_fen": s_int(), "expires_ms": s_int()}),
    )
}
pub(super) fn b_credit() -> Value {
    obj(&["limit_fen"], json!({"limit_fen": s_int()}))
}
pub(super) fn b_voucher() -> Value {
    obj(
        &["amount_fen", "idempotency_key"],
        json!({"amount_fen": s_int(), "idempotency_key": s_str()}),
    )
}
pub(super) fn b_recharge() -> Value {
    obj(&["amount_fen"], json!({"amount_fen": s_int()}))
}
pub(super) fn b_callback() -> Value {
    obj(
        &["provider_ref", "amount_fen", "status"],
        json!({"provider_ref": s_str(), "amount_fen": s_int(), "status": {"type": "string", "enum": ["paid"]}}),
    )
}
pub(super) fn b_offline() -> Value {
    obj(
        &["org_id", "direction", "amount_fen", "reference"],
        json!({"org_id": s_int(), "direction": {"type": "string", "enum": ["in", "out"]}, "amount_fen": s_int(), "reference": s_str()}),
    )
}
pub(super) fn b_order() -> Value {
    obj(
        &["spec_id", "mode", "quantity"],
        json!({"spec_id": s_int(), "mode": {"type": "string", "enum": ["prepaid", "payg"]},
               "months": s_int(), "quantity": s_int(), "coupon": s_str()}),
    )
}
pub(super) fn b_renew() -> Value {
    obj(&["months"], json!({"months": s_int()}))
}
pub(super) fn b_change() -> Value {
    obj(&["spec_id"], json!({"spec_id": s_int()}))
}
pub(super) fn b_accept() -> Value {
    obj(
        &["resource_id", "access_address"],
        json!({"resource_id": s_str(), "access_address": s_str(), "opened_ms": s_int()}),
    )
}
