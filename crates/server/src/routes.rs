//! The route table: one list that builds the router *and* the OpenAPI 3 document served
//! at `/api/v1/openapi.json`, so the document cannot list a route that does not exist or
//! miss one that does (the tests walk the same list).

use crate::AppState;
use crate::error::ApiError;
use crate::handlers as h;
use crate::http::{BODY_BYTES_MAX, audit_and_count};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get};
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
    json!({"type": "array", "items": {"type": "string", "enum": suanli_ops::Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>()}})
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

/// Every route of the API.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "GET",
        path: "/api/v1/health",
        summary: "Liveness",
        access: Public,
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/openapi.json",
        summary: "This document",
        access: Public,
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/metrics",
        summary: "Prometheus metrics",
        access: Public,
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/auth/login",
        summary: "Log in; sets the session cookie, returns the CSRF token",
        access: Public,
        body: Some(b_login),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/auth/logout",
        summary: "End the session",
        access: Auth,
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/enterprise",
        summary: "Register an enterprise customer (real-name review follows)",
        access: Public,
        body: Some(b_enterprise),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/personal",
        summary: "Register a personal customer (real-name review follows)",
        access: Public,
        body: Some(b_personal),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/registrations",
        summary: "List registrations",
        access: Perm("registration:review"),
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/registrations/{id}",
        summary: "One registration",
        access: Perm("registration:review"),
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/{id}/approve",
        summary: "Approve a registration",
        access: Perm("registration:review"),
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/{id}/reveal-id-number",
        summary: "Decrypt a personal registration's ID number (audited)",
        access: Perm("registration:review"),
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/{id}/reject",
        summary: "Reject a registration with a reason",
        access: Perm("registration:review"),
        body: Some(b_reject),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/me",
        summary: "The caller, its organisation and permissions",
        access: Auth,
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/me/password",
        summary: "Change password (ends all sessions)",
        access: Auth,
        body: Some(b_password),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/me/mfa/totp",
        summary: "Start TOTP enrolment",
        access: Auth,
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/me/mfa/totp/confirm",
        summary: "Confirm TOTP; returns recovery codes",
        access: Auth,
        body: Some(b_code),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/me/tokens",
        summary: "List own API tokens",
        access: Auth,
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/me/tokens",
        summary: "Create an API token (shown once)",
        access: Auth,
        body: Some(b_token),
    },
    RouteDoc {
        method: "DELETE",
        path: "/api/v1/me/tokens/{id}",
        summary: "Revoke an API token",
        access: Auth,
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs",
        summary: "List visible organisations",
        access: Perm("org:read"),
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/orgs",
        summary: "Create an organisation with its administrator",
        access: Perm("org:admin"),
        body: Some(b_create_org),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs/{id}",
        summary: "One organisation",
        access: Perm("org:read"),
        body: None,
    },
    RouteDoc {
        method: "PATCH",
        path: "/api/v1/orgs/{id}",
        summary: "Rename an organisation",
        access: Perm("org:update"),
        body: Some(b_name),
    },
    RouteDoc {
        method: "DELETE",
        path: "/api/v1/orgs/{id}",
        summary: "Suspend an organisation",
        access: Perm("org:admin"),
        body: None,
    },
    RouteDoc {
        method: "PUT",
        path: "/api/v1/orgs/{id}/sales-owner",
        summary: "Assign a customer's salesperson",
        access: Perm("org:admin"),
        body: Some(b_sales),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/orgs/{id}/users",
        summary: "List an organisation's users",
        access: Perm("user:read"),
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/orgs/{id}/users",
        summary: "Create a (sub-)user in one's own organisation",
        access: Perm("user:manage"),
        body: Some(b_create_user),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/users/{id}",
        summary: "One user",
        access: Perm("user:read"),
        body: None,
    },
    RouteDoc {
        method: "PUT",
        path: "/api/v1/users/{id}/roles",
        summary: "Replace a user's roles",
        access: Perm("user:manage"),
        body: Some(b_set_roles),
    },
    RouteDoc {
        method: "DELETE",
        path: "/api/v1/users/{id}",
        summary: "Disable a user",
        access: Perm("user:manage"),
        body: None,
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/invite-codes",
        summary: "Create a distributor invite code",
        access: Perm("invite:manage"),
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/audit",
        summary: "Read the audit log",
        access: Perm("audit:read"),
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/audit/verify",
        summary: "Verify the audit hash chain",
        access: Perm("audit:read"),
        body: None,
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/settings/security",
        summary: "Security settings",
        access: Perm("settings:manage"),
        body: None,
    },
    RouteDoc {
        method: "PUT",
        path: "/api/v1/settings/security",
        summary: "Change security settings",
        access: Perm("settings:manage"),
        body: Some(b_settings),
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

fn method_router(path: &str) -> MethodRouter<AppState> {
    use axum::routing::{delete, patch, post, put};
    match path {
        "/api/v1/health" => get(h::health),
        "/api/v1/openapi.json" => get(openapi),
        "/metrics" => get(h::metrics),
        "/api/v1/auth/login" => post(h::login),
        "/api/v1/auth/logout" => post(h::logout),
        "/api/v1/registrations/enterprise" => post(h::register_enterprise),
        "/api/v1/registrations/personal" => post(h::register_personal),
        "/api/v1/registrations" => get(h::list_registrations),
        "/api/v1/registrations/{id}" => get(h::get_registration),
        "/api/v1/registrations/{id}/approve" => post(h::approve_registration),
        "/api/v1/registrations/{id}/reject" => post(h::reject_registration),
        "/api/v1/registrations/{id}/reveal-id-number" => post(h::reveal_id_number),
        "/api/v1/me" => get(h::me),
        "/api/v1/me/password" => post(h::change_password),
        "/api/v1/me/mfa/totp" => post(h::totp_setup),
        "/api/v1/me/mfa/totp/confirm" => post(h::totp_confirm),
        "/api/v1/me/tokens" => get(h::list_tokens).post(h::create_token),
        "/api/v1/me/tokens/{id}" => delete(h::revoke_token),
        "/api/v1/orgs" => get(h::list_orgs).post(h::create_org),
        "/api/v1/orgs/{id}" => get(h::get_org).patch(h::update_org).delete(h::suspend_org),
        "/api/v1/orgs/{id}/sales-owner" => put(h::set_sales_owner),
        "/api/v1/orgs/{id}/users" => get(h::list_org_users).post(h::create_user),
        "/api/v1/users/{id}" => get(h::get_user).delete(h::disable_user),
        "/api/v1/users/{id}/roles" => put(h::set_roles),
        "/api/v1/invite-codes" => post(h::create_invite),
        "/api/v1/audit" => get(h::list_audit),
        "/api/v1/audit/verify" => get(h::verify_audit),
        "/api/v1/settings/security" => get(h::get_settings).put(h::put_settings),
        _ => patch(not_found),
    }
}

/// The application: every path of [`ROUTES`], the JSON 404/405 fallbacks, the body
/// limit, and the audit/metrics middleware.
pub fn router(state: AppState) -> Router {
    let mut paths: Vec<&str> = ROUTES.iter().map(|r| r.path).collect();
    paths.dedup();
    let mut app = Router::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in paths {
        if seen.insert(p) {
            app = app.route(p, method_router(p).fallback(method_not_allowed));
        }
    }
    app.fallback(not_found)
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
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}},
            },
        },
    })
}
