//! The supply catalogue's API (`docs/supply.md` §2): the supplier's resources, trade
//! modes and offers under `/api/v1/supplier/…` (tag `supplier`), the operator's listing
//! review under `/api/v1/ops/suppliers/listings…`, and the public listing of approved
//! offers under `/api/v1/catalogue/offers…`. Thin handlers over
//! [`crate::service::supply_catalog`].

use super::{Access, RouteDoc};
use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, ApiQuery, IdParam, PageQuery};
use crate::service::supply_catalog::{self as svc, OfferView};
use crate::service::{Page, ServiceError};
use Access::{Permission as Perm, Public};
use axum::Json;
use axum::extract::State;
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use suanli_platform_domain::supply::catalog::{CSV_COLUMNS, ModeDraft, OfferDraft, ResourceDraft};
use suanli_platform_store::{ModeRecord, OfferRecord, ResourceRecord};

fn e(err: svc::SupplyError) -> ApiError {
    ServiceError::from(err).into()
}

fn page(q: &PageQuery) -> ApiResult<Page> {
    Ok(Page::new(q.after, q.limit()?)?)
}

fn client_ip(client: Option<axum::Extension<crate::http::Client>>) -> String {
    client.map(|c| c.ip.clone()).unwrap_or_default()
}

/// A resource as the API answers it.
pub fn resource_json(r: &ResourceRecord) -> Value {
    json!({"id": r.id, "org_id": r.org.get(), "attributes": r.spec.get(),
           "created_ms": r.created_ms, "updated_ms": r.updated_ms})
}

/// A trade mode as the API answers it.
pub fn mode_json(m: &ModeRecord) -> Value {
    json!({"id": m.id, "org_id": m.org.get(), "terms": m.spec.get(), "chain_mode_id": m.chain_mode_id,
           "chain_tx": m.chain_tx, "published_ms": m.published_ms, "created_ms": m.created_ms})
}

/// An offer version as the API answers it.
pub fn offer_json(o: &OfferRecord) -> Value {
    json!({"id": o.id, "org_id": o.org.get(), "lineage_id": o.lineage_id, "version": o.version,
           "mode_id": o.mode_id, "title": o.title, "units": o.units, "resource_ids": o.resource_ids,
           "valid_from_ms": o.valid_from_ms, "valid_until_ms": o.valid_until_ms,
           "status": o.status.as_str(), "chain_offer_id": o.chain_offer_id, "chain_tx": o.chain_tx,
           "published_ms": o.published_ms, "reason": o.reason,
           "reviewed_by": o.reviewed_by.map(|u| u.get()), "reviewed_ms": o.reviewed_ms,
           "created_ms": o.created_ms})
}

/// A listed offer with its mode, resources and supplier.
pub fn view_json(v: &OfferView) -> Value {
    let m = v.mode.spec.get();
    json!({"offer": offer_json(&v.offer), "supplier": v.supplier,
           "price_fen_per_min": m.price_fen_per_min, "min_charge_fen": m.min_charge_fen,
           "checkin_period_min": m.checkin_period_min, "terms": m.terms,
           "chain_mode_id": v.mode.chain_mode_id,
           "resources": v.resources.iter().map(resource_json).collect::<Vec<_>>()})
}

/// A listed offer as the public catalogue answers it: [`view_json`] without the operator's
/// internals (`reviewed_by`, `reason`).
pub fn public_view_json(v: &OfferView) -> Value {
    let mut out = view_json(v);
    if let Some(o) = out["offer"].as_object_mut() {
        o.remove("reviewed_by");
        o.remove("reason");
    }
    out
}

fn items(v: impl Iterator<Item = Value>) -> Json<Value> {
    Json(json!({"items": v.collect::<Vec<_>>()}))
}

async fn list_resources(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    let v = svc::list_resources(&s, &a, page(&q)?).await?;
    Ok(items(v.iter().map(resource_json)))
}

async fn create_resource(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(d): ApiJson<ResourceDraft>,
) -> ApiResult<Json<Value>> {
    let r = svc::create_resource(&s, &a, &d).await.map_err(e)?;
    Ok(Json(json!({"resource": resource_json(&r)})))
}

async fn get_resource(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"resource": resource_json(&svc::get_resource(&s, &a, id).await?)}),
    ))
}

async fn update_resource(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(d): ApiJson<ResourceDraft>,
) -> ApiResult<Json<Value>> {
    let r = svc::update_resource(&s, &a, id, &d).await.map_err(e)?;
    Ok(Json(json!({"resource": resource_json(&r)})))
}

/// `POST /api/v1/supplier/resources/import` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportReq {
    /// The CSV text (`docs/supply.md` §2 names the columns).
    pub csv: String,
}

async fn import(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(r): ApiJson<ImportReq>,
) -> ApiResult<Json<Value>> {
    let v = svc::import_csv(&s, &a, &r.csv).await.map_err(e)?;
    Ok(items(v.iter().map(resource_json)))
}

async fn list_modes(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    Ok(items(svc::list_modes(&s, &a).await?.iter().map(mode_json)))
}

async fn create_mode(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(d): ApiJson<ModeDraft>,
) -> ApiResult<Json<Value>> {
    let m = svc::create_mode(&s, &a, &d).await.map_err(e)?;
    Ok(Json(json!({"mode": mode_json(&m)})))
}

async fn get_mode(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"mode": mode_json(&svc::get_mode(&s, &a, id).await?)}),
    ))
}

/// Body of the operations that sign with the caller's key.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReq {
    /// The caller's password, which opens its DID key for this request.
    pub password: String,
}

/// Written by hand: the password is redacted.
impl std::fmt::Debug for PasswordReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordReq { password: <redacted> }")
    }
}

async fn publish_mode(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<PasswordReq>,
) -> ApiResult<Json<Value>> {
    let m = svc::publish_mode(&s, &a, id, &client_ip(client), r.password).await?;
    Ok(Json(json!({"mode": mode_json(&m)})))
}

async fn list_offers(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    Ok(items(
        svc::list_offers(&s, &a, page(&q)?)
            .await?
            .iter()
            .map(offer_json),
    ))
}

async fn create_offer(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(d): ApiJson<OfferDraft>,
) -> ApiResult<Json<Value>> {
    let o = svc::create_offer(&s, &a, &d).await.map_err(e)?;
    Ok(Json(json!({"offer": offer_json(&o)})))
}

async fn get_offer(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"offer": offer_json(&svc::get_offer(&s, &a, id).await?)}),
    ))
}

async fn edit_offer(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(d): ApiJson<OfferDraft>,
) -> ApiResult<Json<Value>> {
    let o = svc::edit_offer(&s, &a, id, &d).await.map_err(e)?;
    Ok(Json(json!({"offer": offer_json(&o)})))
}

async fn publish_offer(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<PasswordReq>,
) -> ApiResult<Json<Value>> {
    let o = svc::publish_offer(&s, &a, id, &client_ip(client), r.password).await?;
    Ok(Json(json!({"offer": offer_json(&o)})))
}

async fn unpublish_offer(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<PasswordReq>,
) -> ApiResult<Json<Value>> {
    let o = svc::unpublish_offer(&s, &a, id, &client_ip(client), r.password).await?;
    Ok(Json(json!({"offer": offer_json(&o)})))
}

async fn review_queue(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    Ok(items(
        svc::review_queue(&s, &a, page(&q)?)
            .await?
            .iter()
            .map(offer_json),
    ))
}

async fn review_get(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(Json(view_json(&svc::review_offer(&s, &a, id).await?)))
}

async fn approve(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"offer": offer_json(&svc::approve_listing(&s, &a, id).await?)}),
    ))
}

/// `POST /api/v1/ops/suppliers/listings/{id}/reject` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectReq {
    /// Why (shown to the supplier).
    pub reason: String,
}

async fn reject(
    State(s): State<AppState>,
    a: Authed,
    IdParam(id): IdParam,
    ApiJson(r): ApiJson<RejectReq>,
) -> ApiResult<Json<Value>> {
    let o = svc::reject_listing(&s, &a, id, &r.reason)
        .await
        .map_err(e)?;
    Ok(Json(json!({"offer": offer_json(&o)})))
}

async fn catalogue(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Value>> {
    let v = svc::catalogue_offers(&s, q.after.unwrap_or(0), q.limit()?).await?;
    Ok(items(v.iter().map(public_view_json)))
}

async fn catalogue_one(State(s): State<AppState>, IdParam(id): IdParam) -> ApiResult<Json<Value>> {
    Ok(Json(public_view_json(&svc::catalogue_offer(&s, id).await?)))
}

fn num() -> Value {
    json!({"type": "number"})
}
fn int() -> Value {
    json!({"type": "integer"})
}
fn text() -> Value {
    json!({"type": "string"})
}

fn b_resource() -> Value {
    let mut props = serde_json::Map::new();
    for c in CSV_COLUMNS {
        let ty = match c {
            "name" | "location" | "status" | "gpu_model" | "region" => text(),
            "tflops" | "green_share" | "carbon_g_per_kwh" | "pue" | "utilisation" => num(),
            _ => int(),
        };
        props.insert(c.to_owned(), ty);
    }
    json!({"type": "object", "additionalProperties": false, "required": CSV_COLUMNS, "properties": props})
}
fn b_import() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["csv"], "properties": {"csv": text()}})
}
fn b_mode() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["name", "price_fen_per_min", "min_charge_fen", "checkin_period_min", "weights", "trade_start_cpt", "checkin_cpt"],
        "properties": {"name": text(), "price_fen_per_min": int(), "min_charge_fen": int(), "checkin_period_min": int(),
            "weights": {"type": "object", "additionalProperties": int(), "description": "cpu, memory, storage, disk_io, gpu, network → per mille, summing to 1000"},
            "terms": {"type": "array", "items": {"type": "object", "required": ["months", "discount_bp"], "properties": {"months": int(), "discount_bp": int()}}},
            "trade_start_cpt": int(), "checkin_cpt": int()}})
}
fn b_offer() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["title", "mode_id", "resource_ids", "units", "valid_from_ms", "valid_until_ms"],
        "properties": {"title": text(), "mode_id": int(), "resource_ids": {"type": "array", "items": int()},
            "units": int(), "valid_from_ms": int(), "valid_until_ms": int()}})
}
fn b_password() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["password"], "properties": {"password": text()}})
}
fn b_reason() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["reason"], "properties": {"reason": text()}})
}

const READ: Access = Perm("supply:read");
const MANAGE: Access = Perm("supply:manage");
const REVIEW: Access = Perm("supplier:review");

macro_rules! route {
    ($m:literal, $p:literal, $s:literal, $acc:expr, $body:expr, $h:expr) => {
        RouteDoc {
            method: $m,
            path: $p,
            summary: $s,
            access: $acc,
            body: $body,
            response: None,
            handler: $h,
        }
    };
}

/// The supply catalogue's routes (chained into the route table by `routes::all`).
pub const ROUTES: &[RouteDoc] = &[
    route!(
        "GET",
        "/api/v1/supplier/resources",
        "The supplier's resources",
        READ,
        None,
        || get(list_resources)
    ),
    route!(
        "POST",
        "/api/v1/supplier/resources",
        "Add a resource",
        MANAGE,
        Some(b_resource),
        || post(create_resource)
    ),
    route!(
        "POST",
        "/api/v1/supplier/resources/import",
        "Import resources from CSV: all lines or none (every bad cell named)",
        MANAGE,
        Some(b_import),
        || post(import)
    ),
    route!(
        "GET",
        "/api/v1/supplier/resources/{id}",
        "One of the supplier's resources",
        READ,
        None,
        || get(get_resource)
    ),
    route!(
        "PUT",
        "/api/v1/supplier/resources/{id}",
        "Change a resource",
        MANAGE,
        Some(b_resource),
        || put(update_resource)
    ),
    route!(
        "GET",
        "/api/v1/supplier/modes",
        "The supplier's trade modes",
        READ,
        None,
        || get(list_modes)
    ),
    route!(
        "POST",
        "/api/v1/supplier/modes",
        "Add a trade mode",
        MANAGE,
        Some(b_mode),
        || post(create_mode)
    ),
    route!(
        "GET",
        "/api/v1/supplier/modes/{id}",
        "One of the supplier's trade modes",
        READ,
        None,
        || get(get_mode)
    ),
    route!(
        "POST",
        "/api/v1/supplier/modes/{id}/publish",
        "Publish a trade mode on the trade chain, signed by the caller's key",
        MANAGE,
        Some(b_password),
        || post(publish_mode)
    ),
    route!(
        "GET",
        "/api/v1/supplier/offers",
        "The supplier's offer versions",
        READ,
        None,
        || get(list_offers)
    ),
    route!(
        "POST",
        "/api/v1/supplier/offers",
        "Add an offer (a draft)",
        MANAGE,
        Some(b_offer),
        || post(create_offer)
    ),
    route!(
        "GET",
        "/api/v1/supplier/offers/{id}",
        "One of the supplier's offer versions",
        READ,
        None,
        || get(get_offer)
    ),
    route!(
        "POST",
        "/api/v1/supplier/offers/{id}/versions",
        "Edit an offer: a new draft version (refused while a version is in review)",
        MANAGE,
        Some(b_offer),
        || post(edit_offer)
    ),
    route!(
        "POST",
        "/api/v1/supplier/offers/{id}/publish",
        "Publish a draft on the trade chain, signed by the caller's key; it then waits for the listing review",
        MANAGE,
        Some(b_password),
        || post(publish_offer)
    ),
    route!(
        "POST",
        "/api/v1/supplier/offers/{id}/unpublish",
        "Withdraw a version on the trade chain and from the catalogue",
        MANAGE,
        Some(b_password),
        || post(unpublish_offer)
    ),
    route!(
        "GET",
        "/api/v1/ops/suppliers/listings",
        "Offer versions waiting for the listing review",
        REVIEW,
        None,
        || get(review_queue)
    ),
    route!(
        "GET",
        "/api/v1/ops/suppliers/listings/{id}",
        "An offer version with its mode, resources and supplier",
        REVIEW,
        None,
        || get(review_get)
    ),
    route!(
        "POST",
        "/api/v1/ops/suppliers/listings/{id}/approve",
        "Approve a listing: the offer enters the catalogue",
        REVIEW,
        None,
        || post(approve)
    ),
    route!(
        "POST",
        "/api/v1/ops/suppliers/listings/{id}/reject",
        "Reject a listing with a reason the supplier sees",
        REVIEW,
        Some(b_reason),
        || post(reject)
    ),
    route!(
        "GET",
        "/api/v1/catalogue/offers",
        "Listed offers of suppliers, with attributes, price and supplier",
        Public,
        None,
        || get(catalogue)
    ),
    route!(
        "GET",
        "/api/v1/catalogue/offers/{id}",
        "One listed offer",
        Public,
        None,
        || get(catalogue_one)
    ),
];
