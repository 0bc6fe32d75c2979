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

mod bodies;
// --- supply (issue 16, supply helper)
pub mod supply_catalog;
mod supply_money; // issue 16, supplier money
mod table;
// Issue 16, the agent's part: provisioning work orders.
pub mod supply_work_orders;

/// Every route of the API: the table and the route lists of the supply side, in one
/// slice (built at compile time).
pub const ROUTES: &[RouteDoc] =
    &concat::<{ table::ROUTES.len() + supply_work_orders::ROUTES.len() }>(&[
        table::ROUTES,
        supply_work_orders::ROUTES,
    ]);

/// The routes of `parts`, one after the other (`N` must be their total).
const fn concat<const N: usize>(parts: &[&[RouteDoc]]) -> [RouteDoc; N] {
    let mut out = [parts[0][0]; N];
    let (mut i, mut k) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[k] = parts[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(k == N, "route count");
    out
}

// Issue 16: each part's routes in its own table, chained here.
pub mod supply_hosted; // issue 16, platform-hosted agents
pub mod supply_onboarding;
// Issue 17: the market in the product.
pub mod market;
// Issue 18, H-trades: the exchange.
pub mod trades;
// Issue 18, billing: bills, top-ups, bundles, the operator's view.
pub mod trade_ops;

/// Every route: the main table and the parts' tables chained (router, OpenAPI, tests).
pub fn all() -> impl Iterator<Item = &'static RouteDoc> + Clone {
    ROUTES
        .iter()
        .chain(supply_onboarding::ROUTES)
        .chain(supply_catalog::ROUTES)
        .chain(supply_money::ROUTES)
        .chain(supply_hosted::ROUTES) // issue 16, platform-hosted agents
        .chain(market::ROUTES)
        .chain(trades::ROUTES) // issue 18
        .chain(trade_ops::ROUTES) // issue 18, billing
}

/// The OpenAPI tags, each with its description, in document order.
pub const TAGS: &[(&str, &str)] = &[
    ("auth", "Logging in and out"),
    (
        "registrations",
        "Self-registration and the operator's real-name review",
    ),
    (
        "me",
        "The caller: password, two-step verification, API tokens, DID key",
    ),
    (
        "organisations",
        "Organisations and users within the caller's visibility",
    ),
    (
        "catalogue",
        "The public catalogue: products, specs, prices and suppliers' listed offers",
    ),
    ("orders", "Quotes, orders, instances and their lifecycle"),
    (
        "money",
        "Accounts, recharges, payments, bills, credit and vouchers",
    ),
    (
        "supplier",
        "A supplier's resources, trade modes and offers (docs/supply.md)",
    ),
    (
        "ops",
        "The operator's work: reviews, discounts, settings, audit, listings",
    ),
    ("system", "Health, metrics and this document"),
    (
        "market",
        "Search, explanations, comparison and the incentive policy over listed offers (docs/market.md)",
    ),
    (
        "trades",
        "Orders of listed offers as trades on the chain, their records, ratings and the organisation's wallet (docs/exchange.md)",
    ),
];

/// The tag of a path: `/api/v1/supplier/…` and the operator's `/api/v1/ops/suppliers/…`
/// are `supplier`; the others by their first segment.
pub fn tag_of(path: &str) -> &'static str {
    let rest = path.strip_prefix("/api/v1/").unwrap_or("");
    if rest.starts_with("ops/suppliers") {
        return "supplier";
    }
    if rest.starts_with("ops/trades") {
        return "trades"; // issue 18, billing: the operator's view of the exchange
    }
    let first = rest.split('/').next().unwrap_or("");
    match first {
        "supplier" => "supplier",
        "trades" => "trades", // issue 18
        "auth" => "auth",
        "registrations" | "invite-codes" => "registrations",
        "me" => "me",
        "orgs" | "users" => "organisations",
        "catalogue" => "catalogue",
        "market" => "market",
        "orders" | "instances" | "lifecycle" => "orders",
        "recharges" | "payments" | "bills" | "offline-transfers" | "money-grants" => "money",
        "ops" | "audit" | "settings" | "discounts" | "coupons" => "ops",
        _ => "system",
    }
}

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
    for r in all() {
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
    for r in all() {
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        let mut op = json!({
            "summary": r.summary,
            "operationId": format!("{} {}", r.method, r.path),
            "tags": [tag_of(r.path)],
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
        "tags": TAGS.iter().map(|(name, description)| json!({"name": name, "description": description})).collect::<Vec<_>>(),
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
    let mut all = json!({
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
    });
    // Issue 16, the agent's part.
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), supply_work_orders::schemas()) {
        all.extend(more);
    }
    // Issue 16, platform-hosted agents.
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), supply_hosted::schemas()) {
        all.extend(more);
    }
    // Issue 18, the exchange.
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), trades::schemas()) {
        all.extend(more);
    }
    // Issue 18, billing.
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), trade_ops::schemas()) {
        all.extend(more);
    }
    all
}
