//! The route table: one list that builds the router *and* the OpenAPI 3 document served
//! at `/api/v1/openapi.json`. Each entry carries its handler, so the router is made from
//! the table alone: the document cannot list a route that does not exist or miss one that
//! does (and the tests walk the same list).

use crate::AppState;
use crate::error::ApiError;
use crate::handlers as h;
use crate::http::{BODY_BYTES_MAX, audit_and_count};
use crate::money_api as m;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde_json::{Value, json};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// Any authenticated principal.
    Authenticated,
    /// Principals holding this permission (further narrowed by visibility).
    Permission(&'static str),
}

/// One documented route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// HTTP method.
    pub method: &'static str,
    /// Path template (`{id}` parameters).
    pub path: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// JSON request body schema, if any.
    pub body: Option<fn() -> Value>,
    /// Name of the success response's schema under `components/schemas`, if documented.
    pub response: Option<&'static str>,
    /// The handler, as a method router for this one method.
    pub handler: fn() -> MethodRouter<AppState>,
}

use Access::{Authenticated as Auth, Permission as Perm, Public};

fn s_str() -> Value {
    json!({"type": "string"})
}
fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": props})
}
fn b_login() -> Value {
    obj(
        &["login", "password"],
        json!({"login": s_str(), "password": s_str(), "totp_code": s_str(), "recovery_code": s_str()}),
    )
}
fn b_enterprise() -> Value {
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
fn b_personal() -> Value {
    obj(
        &["login", "password", "name", "id_number", "phone"],
        json!({"login": s_str(), "password": s_str(), "name": s_str(),
               "id_number": {"type": "string", "description": "resident ID number, GB 11643-1999"},
               "phone": s_str(), "invite_code": s_str()}),
    )
}
fn b_reject() -> Value {
    obj(&["reason"], json!({"reason": s_str()}))
}
fn b_password() -> Value {
    obj(
        &["current_password", "new_password"],
        json!({"current_password": s_str(), "new_password": s_str()}),
    )
}
fn b_key_export() -> Value {
    obj(&["password"], json!({"password": s_str()}))
}
fn b_code() -> Value {
    obj(&["code"], json!({"code": s_str()}))
}
fn b_token() -> Value {
    obj(
        &["name", "scopes", "ttl_secs"],
        json!({"name": s_str(), "scopes": {"type": "array", "items": s_str()}, "ttl_secs": {"type": "integer"}}),
    )
}
fn b_create_org() -> Value {
    obj(
        &["kind", "name", "admin"],
        json!({"kind": {"type": "string", "enum": ["supplier_api", "supplier_resource", "distributor", "enterprise", "personal"]},
               "name": s_str(),
               "admin": obj(&["login", "display_name", "password"], json!({"login": s_str(), "display_name": s_str(), "password": s_str()}))}),
    )
}
fn b_name() -> Value {
    obj(&["name"], json!({"name": s_str()}))
}
fn b_sales() -> Value {
    obj(
        &["user_id"],
        json!({"user_id": {"type": ["integer", "null"]}}),
    )
}
fn b_roles() -> Value {
    json!({"type": "array", "items": {"type": "string", "enum": suanli_platform_domain::Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>()}})
}
fn b_create_user() -> Value {
    obj(
        &["login", "display_name", "password", "roles"],
        json!({"login": s_str(), "display_name": s_str(), "password": s_str(), "roles": b_roles()}),
    )
}
fn b_set_roles() -> Value {
    obj(&["roles"], json!({"roles": b_roles()}))
}
fn b_settings() -> Value {
    obj(
        &["password", "login"],
        json!({
            "password": obj(&["min_chars", "history", "require_mixed"], json!({"min_chars": {"type": "integer"}, "history": {"type": "integer"}, "require_mixed": {"type": "boolean"}})),
            "login": obj(&["failures_max", "lock_secs", "session_ttl_secs", "sessions_per_user_max"], json!({"failures_max": {"type": "integer"}, "lock_secs": {"type": "integer"}, "session_ttl_secs": {"type": "integer"}, "sessions_per_user_max": {"type": "integer"}, "ip_failures_max": {"type": "integer"}, "ip_window_secs": {"type": "integer"}})),
        }),
    )
}

fn s_int() -> Value {
    json!({"type": "integer"})
}
fn b_category() -> Value {
    obj(&["name"], json!({"name": s_str()}))
}
fn b_product() -> Value {
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
fn s_pricing() -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": {
        "prepaid": obj(&["monthly_fen"], json!({"monthly_fen": s_int(), "yearly_fen": s_int(),
            "term_discounts": {"type": "array", "items": obj(&["min_months", "off_bp"], json!({"min_months": s_int(), "off_bp": s_int()}))}})),
        "payg": obj(&["per_minute_fen", "minimum_fen", "deposit_fen"], json!({"per_minute_fen": s_int(), "minimum_fen": s_int(), "deposit_fen": s_int()}))}})
}
fn b_spec() -> Value {
    obj(
        &["family", "name", "pricing"],
        json!({"family": s_str(), "name": s_str(), "pricing": s_pricing()}),
    )
}
fn b_pricing() -> Value {
    obj(&["pricing"], json!({"pricing": s_pricing()}))
}
fn b_discount() -> Value {
    obj(
        &["rule", "off_bp"],
        json!({"rule": {"type": "object", "required": ["scope"], "properties": {
                  "scope": {"type": "string", "enum": ["global", "customer", "region", "volume"]},
                  "org_id": s_int(), "region": s_str(), "min_quantity": s_int()}},
               "off_bp": {"type": "integer", "minimum": 0, "maximum": 10000}}),
    )
}
fn b_coupon() -> Value {
    obj(
        &["code", "value", "min_spend_fen", "expires_ms"],
        json!({"code": s_str(), "org_id": s_int(),
               "value": {"type": "object", "required": ["kind"], "properties": {
                   "kind": {"type": "string", "enum": ["amount_off", "percent_off"]}, "fen": s_int(), "bp": s_int()}},
               "min_spend_fen": s_int(), "expires_ms": s_int()}),
    )
}
fn b_credit() -> Value {
    obj(&["limit_fen"], json!({"limit_fen": s_int()}))
}
fn b_voucher() -> Value {
    obj(
        &["amount_fen", "idempotency_key"],
        json!({"amount_fen": s_int(), "idempotency_key": s_str()}),
    )
}
fn b_recharge() -> Value {
    obj(&["amount_fen"], json!({"amount_fen": s_int()}))
}
fn b_callback() -> Value {
    obj(
        &["provider_ref", "amount_fen", "status"],
        json!({"provider_ref": s_str(), "amount_fen": s_int(), "status": {"type": "string", "enum": ["paid"]}}),
    )
}
fn b_offline() -> Value {
    obj(
        &["org_id", "direction", "amount_fen", "reference"],
        json!({"org_id": s_int(), "direction": {"type": "string", "enum": ["in", "out"]}, "amount_fen": s_int(), "reference": s_str()}),
    )
}
fn b_order() -> Value {
    obj(
        &["spec_id", "mode", "quantity"],
        json!({"spec_id": s_int(), "mode": {"type": "string", "enum": ["prepaid", "payg"]},
               "months": s_int(), "quantity": s_int(), "coupon": s_str()}),
    )
}
fn b_renew() -> Value {
    obj(&["months"], json!({"months": s_int()}))
}
fn b_change() -> Value {
    obj(&["spec_id"], json!({"spec_id": s_int()}))
}
fn b_accept() -> Value {
    obj(
        &["resource_id", "access_address"],
        json!({"resource_id": s_str(), "access_address": s_str(), "opened_ms": s_int()}),
    )
}

/// Every route of the API.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "GET",
        path: "/api/v1/health",
        summary: "Liveness",
        access: Public,
        body: None,
        response: None,
        handler: || get(h::health),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/openapi.json",
        summary: "This document",
        access: Public,
        body: None,
        response: None,
        handler: || get(openapi),
    },
    RouteDoc {
        method: "GET",
        path: "/metrics",
        summary: "Prometheus metrics",
        access: Public,
        body: None,
        response: None,
        handler: || get(h::metrics),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/auth/login",
        summary: "Log in; sets the session cookie, returns the CSRF token",
        access: Public,
        body: Some(b_login),
        response: Some("LoginResult"),
        handler: || post(h::login),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/auth/logout",
        summary: "End the session",
        access: Auth,
        body: None,
        response: None,
        handler: || post(h::logout),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/enterprise",
        summary: "Register an enterprise customer (real-name review follows)",
        access: Public,
        body: Some(b_enterprise),
        response: Some("RegistrationEnvelope"),
        handler: || post(h::register_enterprise),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/personal",
        summary: "Register a personal customer (real-name review follows)",
        access: Public,
        body: Some(b_personal),
        response: Some("RegistrationEnvelope"),
        handler: || post(h::register_personal),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/registrations",
        summary: "List registrations",
        access: Perm("registration:review"),
        body: None,
        response: Some("RegistrationList"),
        handler: || get(h::list_registrations),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/registrations/{id}",
        summary: "One registration",
        access: Perm("registration:review"),
        body: None,
        response: Some("RegistrationEnvelope"),
        handler: || get(h::get_registration),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/{id}/approve",
        summary: "Approve a registration",
        access: Perm("registration:review"),
        body: None,
        response: Some("RegistrationEnvelope"),
        handler: || post(h::approve_registration),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/{id}/enrol",
        summary: "Issue the KYC credential and enrol the party of an approved registration whose issuance failed at approval",
        access: Perm("registration:review"),
        body: None,
        response: None,
        handler: || post(crate::kyc::retry_enrolment),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/{id}/reveal-id-number",
        summary: "Decrypt a personal registration's ID number (audited)",
        access: Perm("registration:review"),
        body: None,
        response: None,
        handler: || post(h::reveal_id_number),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/{id}/reject",
        summary: "Reject a registration with a reason",
        access: Perm("registration:review"),
        body: Some(b_reject),
        response: Some("RegistrationEnvelope"),
        handler: || post(h::reject_registration),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/me",
        summary: "The caller, its organisation and permissions",
        access: Auth,
        body: None,
        response: None,
        handler: || get(h::me),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/me/password",
        summary: "Change password (ends all sessions)",
        access: Auth,
        body: Some(b_password),
        response: None,
        handler: || post(h::change_password),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/me/key",
        summary: "The caller's DID key: DID, public key, how the secret is kept (docs/key-custody.md)",
        access: Auth,
        body: None,
        response: Some("UserKeyEnvelope"),
        handler: || get(crate::keys::get_my_key),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/me/key/export",
        summary: "Export the caller's DID key as PKCS#8 PEM (password again; session only; throttled like login; audited)",
        access: Auth,
        body: Some(b_key_export),
        response: Some("KeyExport"),
        handler: || post(crate::keys::export_my_key),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/me/kyc-credential",
        summary: "The caller's KYC credential (W3C VC), issued at the approval of its registration",
        access: Auth,
        body: None,
        response: None,
        handler: || get(crate::kyc::my_kyc_credential),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/me/mfa/totp",
        summary: "Start TOTP enrolment",
        access: Auth,
        body: None,
        response: None,
        handler: || post(h::totp_setup),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/me/mfa/totp/confirm",
        summary: "Confirm TOTP; returns recovery codes",
        access: Auth,
        body: Some(b_code),
        response: None,
        handler: || post(h::totp_confirm),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/me/tokens",
        summary: "List own API tokens",
        access: Auth,
        body: None,
        response: Some("TokenList"),
        handler: || get(h::list_tokens),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/me/tokens",
        summary: "Create an API token (shown once)",
        access: Auth,
        body: Some(b_token),
        response: None,
        handler: || post(h::create_token),
    },
    RouteDoc {
        method: "DELETE",
        path: "/api/v1/me/tokens/{id}",
        summary: "Revoke an API token",
        access: Auth,
        body: None,
        response: None,
        handler: || delete(h::revoke_token),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs",
        summary: "List visible organisations",
        access: Perm("org:read"),
        body: None,
        response: Some("OrgList"),
        handler: || get(h::list_orgs),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/orgs",
        summary: "Create an organisation with its administrator",
        access: Perm("org:admin"),
        body: Some(b_create_org),
        response: None,
        handler: || post(h::create_org),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs/{id}",
        summary: "One organisation",
        access: Perm("org:read"),
        body: None,
        response: Some("OrgEnvelope"),
        handler: || get(h::get_org),
    },
    RouteDoc {
        method: "PATCH",
        path: "/api/v1/orgs/{id}",
        summary: "Rename an organisation",
        access: Perm("org:update"),
        body: Some(b_name),
        response: Some("OrgEnvelope"),
        handler: || patch(h::update_org),
    },
    RouteDoc {
        method: "DELETE",
        path: "/api/v1/orgs/{id}",
        summary: "Suspend an organisation",
        access: Perm("org:admin"),
        body: None,
        response: None,
        handler: || delete(h::suspend_org),
    },
    RouteDoc {
        method: "PUT",
        path: "/api/v1/orgs/{id}/sales-owner",
        summary: "Assign a customer's salesperson",
        access: Perm("org:admin"),
        body: Some(b_sales),
        response: Some("OrgEnvelope"),
        handler: || put(h::set_sales_owner),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs/{id}/users",
        summary: "List an organisation's users",
        access: Perm("user:read"),
        body: None,
        response: Some("UserList"),
        handler: || get(h::list_org_users),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/orgs/{id}/users",
        summary: "Create a (sub-)user in one's own organisation",
        access: Perm("user:manage"),
        body: Some(b_create_user),
        response: Some("UserEnvelope"),
        handler: || post(h::create_user),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/users/{id}",
        summary: "One user",
        access: Perm("user:read"),
        body: None,
        response: Some("UserEnvelope"),
        handler: || get(h::get_user),
    },
    RouteDoc {
        method: "PUT",
        path: "/api/v1/users/{id}/roles",
        summary: "Replace a user's roles",
        access: Perm("user:manage"),
        body: Some(b_set_roles),
        response: Some("UserEnvelope"),
        handler: || put(h::set_roles),
    },
    RouteDoc {
        method: "DELETE",
        path: "/api/v1/users/{id}",
        summary: "Disable a user",
        access: Perm("user:manage"),
        body: None,
        response: None,
        handler: || delete(h::disable_user),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/invite-codes",
        summary: "Create a distributor invite code",
        access: Perm("invite:manage"),
        body: None,
        response: None,
        handler: || post(h::create_invite),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/audit",
        summary: "Read the audit log",
        access: Perm("audit:read"),
        body: None,
        response: Some("AuditList"),
        handler: || get(h::list_audit),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/audit/verify",
        summary: "Verify the audit hash chain",
        access: Perm("audit:read"),
        body: None,
        response: None,
        handler: || get(h::verify_audit),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/settings/security",
        summary: "Security settings",
        access: Perm("settings:manage"),
        body: None,
        response: None,
        handler: || get(h::get_settings),
    },
    RouteDoc {
        method: "PUT",
        path: "/api/v1/settings/security",
        summary: "Change security settings",
        access: Perm("settings:manage"),
        body: Some(b_settings),
        response: None,
        handler: || put(h::put_settings),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/catalogue",
        summary: "Products with specs and prices (published; all=true for catalogue managers)",
        access: Auth,
        body: None,
        response: None,
        handler: || get(m::catalogue),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/catalogue/categories",
        summary: "Create a category",
        access: Perm("catalogue:manage"),
        body: Some(b_category),
        response: None,
        handler: || post(m::create_category),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/catalogue/products",
        summary: "Create an (unpublished) product",
        access: Perm("catalogue:manage"),
        body: Some(b_product),
        response: None,
        handler: || post(m::create_product),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/catalogue/products/{id}/specs",
        summary: "Add a spec with its pricing strategies",
        access: Perm("catalogue:manage"),
        body: Some(b_spec),
        response: None,
        handler: || post(m::create_spec),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/catalogue/products/{id}/publish",
        summary: "Publish a product",
        access: Perm("catalogue:manage"),
        body: None,
        response: None,
        handler: || post(m::publish_product),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/catalogue/products/{id}/unpublish",
        summary: "Unpublish a product",
        access: Perm("catalogue:manage"),
        body: None,
        response: None,
        handler: || post(m::unpublish_product),
    },
    RouteDoc {
        method: "PUT",
        path: "/api/v1/catalogue/specs/{id}/pricing",
        summary: "Change a spec's pricing (orders keep their snapshot)",
        access: Perm("catalogue:manage"),
        body: Some(b_pricing),
        response: None,
        handler: || put(m::set_pricing),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/discounts",
        summary: "Active discount rules",
        access: Perm("catalogue:manage"),
        body: None,
        response: None,
        handler: || get(m::list_discounts),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/discounts",
        summary: "Create a discount rule",
        access: Perm("catalogue:manage"),
        body: Some(b_discount),
        response: None,
        handler: || post(m::create_discount),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/coupons",
        summary: "Create a coupon",
        access: Perm("catalogue:manage"),
        body: Some(b_coupon),
        response: None,
        handler: || post(m::create_coupon),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs/{id}/account",
        summary: "A customer's balances",
        access: Perm("account:read"),
        body: None,
        response: None,
        handler: || get(m::account),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs/{id}/statements",
        summary: "A customer's statement lines",
        access: Perm("account:read"),
        body: None,
        response: None,
        handler: || get(m::statements),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs/{id}/orders",
        summary: "A customer's orders",
        access: Perm("account:read"),
        body: None,
        response: None,
        handler: || get(m::org_orders),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs/{id}/instances",
        summary: "A customer's instances",
        access: Perm("account:read"),
        body: None,
        response: None,
        handler: || get(m::org_instances),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs/{id}/messages",
        summary: "A customer's reminders and notices",
        access: Perm("account:read"),
        body: None,
        response: None,
        handler: || get(m::org_messages),
    },
    RouteDoc {
        method: "PUT",
        path: "/api/v1/orgs/{id}/credit-line",
        summary: "Set a customer's credit line (above the asker's limit: pending a second finance user)",
        access: Perm("finance:manage"),
        body: Some(b_credit),
        response: None,
        handler: || put(m::set_credit_line),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/orgs/{id}/vouchers",
        summary: "Grant a cash voucher (beyond the asker's daily limit: pending a second finance user)",
        access: Perm("finance:manage"),
        body: Some(b_voucher),
        response: None,
        handler: || post(m::grant_voucher),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/recharges",
        summary: "Start a recharge with the SANDBOX payment provider",
        access: Perm("order:place"),
        body: Some(b_recharge),
        response: None,
        handler: || post(m::create_recharge),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/recharges/{id}/sandbox-pay",
        summary: "SANDBOX: pay a recharge (signed callback through the webhook path)",
        access: Perm("order:place"),
        body: None,
        response: None,
        handler: || post(m::sandbox_pay),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/payments/sandbox/webhook",
        summary: "SANDBOX provider callback (X-Suanli-Signature HMAC-SHA256)",
        access: Public,
        body: Some(b_callback),
        response: None,
        handler: || post(m::sandbox_webhook),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/money-grants",
        summary: "Voucher grants and credit-line changes, done and pending approval",
        access: Perm("finance:manage"),
        body: None,
        response: None,
        handler: || get(m::list_grants),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/money-grants/{id}/approve",
        summary: "Approve a voucher grant or credit-line change above the asker's limit (four eyes)",
        access: Perm("finance:manage"),
        body: None,
        response: None,
        handler: || post(m::approve_grant),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/offline-transfers",
        summary: "Offline recharges and withdrawals",
        access: Perm("finance:manage"),
        body: None,
        response: None,
        handler: || get(m::list_offline),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/offline-transfers",
        summary: "Enter an offline recharge or withdrawal (pending approval)",
        access: Perm("finance:manage"),
        body: Some(b_offline),
        response: None,
        handler: || post(m::create_offline),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/offline-transfers/{id}/approve",
        summary: "Approve an offline transfer (four eyes)",
        access: Perm("finance:manage"),
        body: None,
        response: None,
        handler: || post(m::approve_offline),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orders",
        summary: "Every order",
        access: Perm("order:manage"),
        body: None,
        response: None,
        handler: || get(m::list_orders),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/orders",
        summary: "Place an order (Idempotency-Key header)",
        access: Perm("order:place"),
        body: Some(b_order),
        response: None,
        handler: || post(m::place_order),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/instances",
        summary: "Every instance",
        access: Perm("order:manage"),
        body: None,
        response: None,
        handler: || get(m::list_instances),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/instances/{id}/renew",
        summary: "Renew a prepaid instance (Idempotency-Key header)",
        access: Perm("order:place"),
        body: Some(b_renew),
        response: None,
        handler: || post(m::renew),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/instances/{id}/unsubscribe",
        summary: "Unsubscribe with a prorated refund (Idempotency-Key header)",
        access: Perm("order:place"),
        body: None,
        response: None,
        handler: || post(m::unsubscribe),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/instances/{id}/change-spec",
        summary: "Change spec for the rest of the term (Idempotency-Key header)",
        access: Perm("order:place"),
        body: Some(b_change),
        response: None,
        handler: || post(m::change_spec),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/instances/{id}/accept",
        summary: "Accept (provision) a manual instance",
        access: Perm("order:manage"),
        body: Some(b_accept),
        response: None,
        handler: || post(m::accept),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/lifecycle/advance",
        summary: "Advance instance lifecycles to now",
        access: Perm("order:manage"),
        body: None,
        response: None,
        handler: || post(m::advance),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/bills",
        summary: "Bills per customer, product and charging mode for a month",
        access: Perm("account:read"),
        body: None,
        response: None,
        handler: || get(m::bills),
    },
];

async fn openapi() -> axum::Json<Value> {
    axum::Json(openapi_document())
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this endpoint",
    )
}

/// The application: every path of [`ROUTES`], the JSON 404/405 fallbacks, the body
/// limit, and the audit/metrics middleware.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new();
    for r in ROUTES {
        app = app.route(r.path, (r.handler)());
    }
    app.method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit_and_count,
        ))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(state)
}

/// The OpenAPI 3.0 document, built from [`ROUTES`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        let mut op = json!({
            "summary": r.summary,
            "operationId": format!("{} {}", r.method, r.path),
            "responses": {
                "200": {"description": "success"},
                "default": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        match r.access {
            Access::Public => op["security"] = json!([]),
            Access::Authenticated => {
                op["security"] = json!([{"session": []}, {"bearer": []}]);
            }
            Access::Permission(p) => {
                op["security"] = json!([{"session": []}, {"bearer": [p]}]);
                op["x-permission"] = json!(p);
            }
        }
        if r.path.contains("{id}") {
            op["parameters"] = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}]);
        }
        if let Some(name) = r.response {
            op["responses"]["200"]["content"] = json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}});
        }
        if let Some(body) = r.body {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": body()}}});
        }
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(r.method.to_ascii_lowercase(), op);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "suanli operations platform", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE,
                            "description": "State-changing requests also need the X-CSRF-Token header."},
                "bearer": {"type": "http", "scheme": "bearer", "description": "API token (slt_…) with scopes"},
            },
            "schemas": response_schemas(),
        },
    })
}

fn nullable_int() -> Value {
    json!({"type": "integer", "nullable": true})
}

fn envelope(key: &str, schema: Value) -> Value {
    json!({"type": "object", "required": [key], "properties": {key: schema}})
}

fn list_of(item: &str) -> Value {
    json!({"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}}}})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Schemas of documented responses (and the error contract).
fn response_schemas() -> Value {
    let org = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "name": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "active", "rejected", "suspended"]},
        "distributor": nullable_int(), "sales_owner": nullable_int(), "created_ms": {"type": "integer"}}});
    let user = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "org_id": {"type": "integer"}, "login": {"type": "string"},
        "display_name": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
        "disabled": {"type": "boolean"}, "totp_enabled": {"type": "boolean"}, "created_ms": {"type": "integer"}}});
    let ns = json!({"type": "string", "nullable": true});
    let registration = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["enterprise", "personal"]},
        "org": {"type": "integer"}, "user": {"type": "integer"},
        "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
        "company_name": ns, "credit_code": ns, "licence_ref": ns, "legal_person": ns,
        "person_name": ns, "id_number_masked": ns, "phone": ns, "invite_code": ns,
        "submitted_ms": {"type": "integer"}, "reviewed_by": nullable_int(), "reviewed_ms": nullable_int(),
        "reason": ns, "kyc_credential_ref": {"type": "string", "nullable": true,
            "description": "id of the KYC credential issued at approval (null before, or when no ledger is attached or issuing failed)"}}});
    let token = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "user": {"type": "integer"}, "name": {"type": "string"},
        "scopes": {"type": "array", "items": {"type": "string"}}, "created_ms": {"type": "integer"},
        "expires_ms": {"type": "integer"}, "revoked": {"type": "boolean"}}});
    let audit = json!({"type": "object", "properties": {
        "seq": {"type": "integer"}, "at_ms": {"type": "integer"}, "actor_user": nullable_int(),
        "actor_org": nullable_int(), "action": {"type": "string"}, "target": {"type": "string"},
        "ip": {"type": "string"}, "user_agent": {"type": "string"},
        "outcome": {"type": "string", "enum": ["success", "denied", "error"]}, "status": {"type": "integer"},
        "prev_hash": {"type": "string", "description": "hex SHA-256"}, "hash": {"type": "string", "description": "hex SHA-256 of prev_hash || canonical record"}}});
    let user_key = json!({"type": "object", "properties": {
        "did": {"type": "string", "nullable": true, "description": "did:suanli of the key; null when no identity chain is attached"},
        "public_key": {"type": "string", "description": "Ed25519, hex"},
        "created_ms": {"type": "integer"}, "rewrapped_ms": nullable_int(),
        "did_on_chain": {"type": "boolean"}, "did_created_ms": nullable_int(),
        "encryption": {"type": "object", "properties": {"aead": {"type": "string"}, "kdf": {"type": "string"},
            "memory_kib": {"type": "integer"}, "iterations": {"type": "integer"}, "parallelism": {"type": "integer"}}},
        "signing": {"type": "string"}}});
    json!({
        "Org": org,
        "OrgEnvelope": envelope("org", reference("Org")),
        "OrgList": list_of("Org"),
        "User": user,
        "UserEnvelope": envelope("user", reference("User")),
        "UserList": list_of("User"),
        "Registration": registration,
        "RegistrationEnvelope": envelope("registration", reference("Registration")),
        "RegistrationList": list_of("Registration"),
        "Token": token,
        "TokenList": list_of("Token"),
        "UserKey": user_key,
        "UserKeyEnvelope": envelope("key", reference("UserKey")),
        "KeyExport": {"type": "object", "required": ["public_key", "pkcs8_pem"], "properties": {
            "did": ns, "public_key": {"type": "string", "description": "Ed25519, hex"},
            "pkcs8_pem": {"type": "string", "description": "PKCS#8 v1 PEM (RFC 8410) of the secret key"}}},
        "AuditRecord": audit,
        "AuditList": list_of("AuditRecord"),
        "LoginResult": {"type": "object", "properties": {
            "user": reference("User"), "csrf_token": {"type": "string"},
            "expires_ms": {"type": "integer"}, "sessions_ended": {"type": "integer"}}},
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}},
    })
}
