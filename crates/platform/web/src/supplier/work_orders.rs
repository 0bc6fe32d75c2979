//! The supplier's provisioning work orders (`/supplier/work-orders`, `docs/supply.md` §3):
//! the orders its agent left for approval (approve / decline) and the trades to provision
//! by hand (fill back the address, credentials reference and pool id the consumer then
//! sees). Every action goes through `service::supply_work_orders`, which keeps a supplier
//! to its own work orders.

use crate::api::{self, ApiFailure};
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout::{self, SUPPLIER, csrf};
use crate::{PageResult, WebError, WebState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_domain::supply::work_orders::WorkOrderStatus;
use suanli_platform_http::service::supply_work_orders::{self as wo, FillRequest};
use suanli_platform_store::WorkOrderRecord;

/// Rows on the page.
pub const WORK_ORDER_ROWS: u32 = 100;

/// The pages.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/supplier/work-orders", get(page))
        .route("/supplier/work-orders/{id}/{action}", post(act))
}

/// `?status=`
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    status: Option<String>,
}

/// `GET /supplier/work-orders`
pub async fn page(State(s): State<WebState>, ctx: Ctx, Query(f): Query<Filter>) -> PageResult {
    render(&s, &ctx, f.status.as_deref(), None).await
}

/// A failed fill-back, shown again on its row.
struct Retry {
    id: i64,
    form: FillForm,
    errors: FormErrors,
}

async fn render(s: &WebState, ctx: &Ctx, status: Option<&str>, retry: Option<Retry>) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let status = status.filter(|t| WorkOrderStatus::parse(t).is_some());
    let list = wo::list(&s.app, a, status, None, WORK_ORDER_ROWS).await?;
    let failed = retry.is_some();
    let body = html! {
        h1 { (ctx.t("wo.title")) }
        p.hint { (ctx.t("wo.hint")) }
        nav.tabs aria-label=(ctx.t("wo.filter")) {
            a href="/supplier/work-orders" aria-current=[status.is_none().then_some("page")] { (ctx.t("wo.all")) }
            @for st in WorkOrderStatus::ALL {
                a href=(format!("/supplier/work-orders?status={}", st.as_str())) aria-current=[(status == Some(st.as_str())).then_some("page")] { (ctx.t(&format!("wo.status.{}", st.as_str()))) }
            }
        }
        @if let Some(r) = &retry { (form::summary(ctx, &r.errors)) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #work-orders {
                thead { tr {
                    th { "#" } th { (ctx.t("wo.trade")) } th { (ctx.t("wo.consumer")) }
                    th { (ctx.t("wo.order")) } th { (ctx.t("wo.status")) } th { (ctx.t("wo.access")) }
                } }
                tbody { @for w in &list { (row(ctx, w, retry.as_ref().filter(|r| r.id == w.id))) } }
            }
        }
    };
    let mut r = layout::page(ctx, &ctx.t("wo.title"), Some(&SUPPLIER), body);
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

fn row(ctx: &Ctx, w: &WorkOrderRecord, retry: Option<&Retry>) -> Markup {
    let lang = ctx.lang;
    let order = lang.tf(
        "wo.order_line",
        &[
            &w.offer_id.to_string(),
            &w.units.to_string(),
            &w.minutes.to_string(),
            &lang.money(w.value_fen.get()),
        ],
    );
    html! {
        tr data-work-order=(w.id) {
            td { (w.id) }
            td { code { (w.serial) } br; small { (lang.datetime(w.raised_ms)) } }
            td { code.did { (w.consumer_did) } }
            td { (order) }
            td { (ctx.t(&format!("wo.status.{}", w.status.as_str()))) }
            td { (actions(ctx, w, retry)) }
        }
    }
}

fn actions(ctx: &Ctx, w: &WorkOrderRecord, retry: Option<&Retry>) -> Markup {
    let base = format!("/supplier/work-orders/{}", w.id);
    let filled = w.access.as_ref();
    let (none, empty) = (FormErrors::default(), FillForm::default());
    let (errors, values) = retry.map_or((&none, &empty), |r| (&r.errors, &r.form));
    let value = |field: &str, stored: Option<&str>| -> String {
        let typed = match field {
            "address" => &values.address,
            "credentials_ref" => &values.credentials_ref,
            _ => &values.pool_id,
        };
        if retry.is_some() {
            typed.clone()
        } else {
            stored.unwrap_or_default().to_owned()
        }
    };
    html! {
        @if let Some(d) = filled {
            dl.facts {
                dt { (ctx.t("wo.address")) } dd { code { (d.address.as_str()) } }
                dt { (ctx.t("wo.credentials_ref")) } dd { code { (d.credentials_ref.as_str()) } }
                dt { (ctx.t("wo.pool_id")) } dd { code { (d.pool_id.as_str()) } }
            }
        }
        @match w.status {
            WorkOrderStatus::AwaitingApproval => {
                form.inline method="post" action=(format!("{base}/approve")) {
                    (csrf(ctx)) button.approve type="submit" { (ctx.t("wo.approve")) }
                }
                form.inline method="post" action=(format!("{base}/decline")) {
                    (csrf(ctx)) button.danger type="submit" { (ctx.t("wo.decline")) }
                }
            }
            WorkOrderStatus::Open | WorkOrderStatus::Filled => {
                form.stacked method="post" action=(format!("{base}/fill")) {
                    (csrf(ctx))
                    (form::field(ctx, "address", "wo.address", Kind::Text, &value("address", filled.map(|d| d.address.as_str())), errors, true))
                    (form::field(ctx, "credentials_ref", "wo.credentials_ref", Kind::Text, &value("credentials_ref", filled.map(|d| d.credentials_ref.as_str())), errors, true))
                    (form::field(ctx, "pool_id", "wo.pool_id", Kind::Text, &value("pool_id", filled.map(|d| d.pool_id.as_str())), errors, true))
                    button type="submit" { (ctx.t(if filled.is_some() { "wo.refill" } else { "wo.fill" })) }
                }
            }
            WorkOrderStatus::Closed | WorkOrderStatus::Declined => {}
        }
    }
}

/// The fill-back form (approve and decline carry only the CSRF token).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FillForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    credentials_ref: String,
    #[serde(default)]
    pool_id: String,
}

/// `POST /supplier/work-orders/{id}/{approve|decline|fill}`
pub async fn act(
    State(s): State<WebState>,
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    Form(f): Form<FillForm>,
) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let request = FillRequest {
        address: f.address.clone(),
        credentials_ref: f.credentials_ref.clone(),
        pool_id: f.pool_id.clone(),
    };
    let (done, key) = match action.as_str() {
        "approve" => (
            api::run(&ctx, &f.csrf, wo::decide(&s.app, a, id, true)).await?,
            "wo.approved",
        ),
        "decline" => (
            api::run(&ctx, &f.csrf, wo::decide(&s.app, a, id, false)).await?,
            "wo.declined",
        ),
        "fill" => (
            api::run(&ctx, &f.csrf, wo::fill(&s.app, a, id, &request)).await?,
            "wo.filled",
        ),
        _ => return Err(WebError::NotFound),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&Ctx::notice_url(
            "/supplier/work-orders",
            key,
            &id.to_string(),
        ))
        .into_response()),
        Err(fail) => refused(&s, &ctx, id, f, &fail).await,
    }
}

async fn refused(
    s: &WebState,
    ctx: &Ctx,
    id: i64,
    form: FillForm,
    fail: &ApiFailure,
) -> PageResult {
    match fail.status {
        StatusCode::FORBIDDEN if fail.code == "forbidden" => Err(WebError::Forbidden),
        StatusCode::NOT_FOUND => Err(WebError::NotFound),
        _ => {
            let mut errors = FormErrors::default();
            let fields = [
                ("address", "address"),
                ("credentials_ref", "credentials_ref"),
                ("pool_id", "pool_id"),
            ];
            errors.api(ctx.lang, fail, &fields);
            render(s, ctx, None, Some(Retry { id, form, errors })).await
        }
    }
}
