//! Routes of supplier onboarding (issue 16, `docs/supply.md` §1): self-registration with a
//! qualification credential, the review with the credential verified, the supplier list,
//! the (idempotent) enrolment of the supplier DID, and the supplier's own overview. Their
//! handlers decode, call `service::supply_onboarding` and encode. Approval is the
//! registrations' (`POST /api/v1/registrations/{id}/approve`), which needs
//! `supplier:review` as well for a supplier and refuses an unverified credential.

use super::bodies::{obj, s_str};
use super::{Access, RouteDoc};
use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiResult;
use crate::http::{ApiJson, ApiQuery, IdParam, PageQuery};
use crate::service::supply_onboarding::{self as onboarding, QualificationDraft, SupplierDraft};
use Access::{Permission as Perm, Public};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// The onboarding routes, chained into the route table (`routes::all`).
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "POST",
        path: "/api/v1/registrations/supplier",
        summary: "Register a supplier organisation with its qualification credential (review follows)",
        access: Public,
        body: Some(b_supplier),
        response: Some("RegistrationEnvelope"),
        handler: || post(register_supplier),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/ops/suppliers",
        summary: "Supplier organisations with type, status, supplier DID and qualification",
        access: Perm("supplier:review"),
        body: None,
        response: None,
        handler: || get(list_suppliers),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/ops/suppliers/registrations/{id}",
        summary: "A supplier registration with its qualification credential verified through the identity chain",
        access: Perm("supplier:review"),
        body: None,
        response: None,
        handler: || get(review_supplier),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/ops/suppliers/{id}/enrol",
        summary: "Enrol (again) an approved supplier's DID on the trade chain; idempotent",
        access: Perm("supplier:review"),
        body: None,
        response: None,
        handler: || post(enrol_supplier),
    },
    RouteDoc {
        method: "POST",
        path: "/api/v1/ops/suppliers/{id}/qualification",
        summary: "Record the verified real-name data and qualification credential of a supplier the operator created, and enrol its DID",
        access: Perm("supplier:review"),
        body: Some(b_qualification),
        response: None,
        handler: || post(qualify_supplier),
    },
    RouteDoc {
        method: "GET",
        path: "/api/v1/supplier",
        summary: "The caller's supplier organisation: type, status, supplier DID and its enrolment, qualification",
        access: Perm("supply:read"),
        body: None,
        response: None,
        handler: || get(overview),
    },
];

fn b_supplier() -> Value {
    obj(
        &[
            "login",
            "password",
            "display_name",
            "supplier_type",
            "company_name",
            "credit_code",
            "licence_ref",
            "legal_person",
            "phone",
            "qualification",
        ],
        json!({"login": s_str(), "password": s_str(), "display_name": s_str(),
               "supplier_type": {"type": "string", "enum": ["supplier_resource", "supplier_api"]},
               "company_name": s_str(),
               "credit_code": {"type": "string", "description": "unified social credit code, GB 32100-2015"},
               "licence_ref": s_str(), "legal_person": s_str(), "phone": s_str(),
               "qualification": {"type": "object", "description": "W3C verifiable credential on a qualification CPT whose subject's unifiedSocialCreditCode is credit_code (no subject id), at most 16 KiB"}}),
    )
}

fn b_qualification() -> Value {
    obj(
        &["credit_code", "legal_person", "phone", "qualification"],
        json!({"credit_code": s_str(), "legal_person": s_str(), "phone": s_str(),
               "qualification": {"type": "object", "description": "as at registration"}}),
    )
}

async fn qualify_supplier(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(d): ApiJson<QualificationDraft>,
) -> ApiResult<Json<Value>> {
    let (supplier, kyc) = onboarding::qualify(&s, &a, id, &d).await?;
    Ok(Json(json!({ "supplier": supplier, "kyc": kyc })))
}

async fn register_supplier(
    State(s): State<AppState>,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<SupplierDraft>,
) -> ApiResult<Response> {
    let ip = client.map(|c| c.ip.clone()).unwrap_or_default();
    let rec = onboarding::register(&s, &ip, &r).await?;
    Ok((StatusCode::CREATED, Json(json!({"registration": rec}))).into_response())
}

async fn list_suppliers(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit()?;
    let items = onboarding::list(&s, &a, q.after, limit).await?;
    Ok(Json(json!({ "items": items })))
}

async fn review_supplier(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(onboarding::review(&s, &a, id).await?)))
}

async fn enrol_supplier(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "supplier": onboarding::enrol(&s, &a, id).await? }),
    ))
}

async fn overview(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    Ok(Json(json!(onboarding::overview(&s, &a).await?)))
}
