//! `/supplier/resources`: the supplier's devices and nodes with the market's typed
//! attributes, a form to add one and a CSV import whose bad cells are listed with their
//! line and column (nothing of a bad file is imported). Also what the other supply pages
//! share: running a supply operation for a form and showing its refusals in the page's
//! language, next to the field.

use crate::api::{self, ApiFailure};
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout::{self, SUPPLIER, csrf};
use crate::{PageResult, WebError, WebState};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;
use suanli_platform_domain::Permission;
use suanli_platform_domain::audit::Outcome;
use suanli_platform_domain::supply::catalog::{
    CSV_COLUMNS, CsvProblem, FieldProblem, ResourceStatus, draft_from_cells,
};
use suanli_platform_http::http::set_outcome;
use suanli_platform_http::service::Page;
use suanli_platform_http::service::supply_catalog::{self as svc, SupplyError};

/// Rows a supplier list page shows.
pub const ROWS_MAX: u32 = 200;

/// A refused supply form: the API's refusal, bad fields, or a CSV file's bad cells.
#[derive(Debug)]
pub enum Refusal {
    /// A service refusal (permission, conflict, the chain's answer).
    Api(ApiFailure),
    /// Bad fields, every one.
    Fields(Vec<FieldProblem>),
    /// Bad cells of an import, every one.
    Csv(Vec<CsvProblem>),
}

/// Runs a supply operation for a form carrying the CSRF token `token`; the outcome is the
/// page's audit outcome.
pub async fn run<T>(
    ctx: &Ctx,
    token: &str,
    op: impl std::future::Future<Output = Result<T, SupplyError>>,
) -> Result<Result<T, Refusal>, WebError> {
    if let Err(f) = api::check_csrf(ctx, token) {
        set_outcome(ctx.audit.as_ref(), Outcome::Denied);
        return Ok(Err(Refusal::Api(f)));
    }
    let r = match op.await {
        Ok(v) => Ok(v),
        Err(SupplyError::Fields(v)) => Err(Refusal::Fields(v)),
        Err(SupplyError::Csv(v)) => Err(Refusal::Csv(v)),
        Err(SupplyError::Service(e)) => Err(Refusal::Api(ApiFailure::of(e)?)),
    };
    set_outcome(
        ctx.audit.as_ref(),
        match &r {
            Ok(_) => Outcome::Success,
            Err(Refusal::Api(f)) => Outcome::from_status(f.status.as_u16()),
            Err(_) => Outcome::from_status(422),
        },
    );
    Ok(r)
}

/// A problem in the page's language (`supply.err.<code>` with its value).
pub fn problem_text(ctx: &Ctx, p: &suanli_platform_domain::supply::catalog::Problem) -> String {
    ctx.lang
        .tf(&format!("supply.err.{}", p.code()), &[&p.arg()])
}

/// Puts a refusal on the form: fields next to their inputs (`fields` maps a domain field
/// to a form field), the rest on the form.
pub fn refusal_errors(ctx: &Ctx, r: &Refusal, fields: &[(&str, &str)]) -> FormErrors {
    let mut e = FormErrors::default();
    match r {
        Refusal::Api(f) if f.code == "chain_refused" => {
            // The chain's own reason says what it refused (e.g. a CPT not the supplier's).
            let msg = format!("{} ({})", ctx.t("err.chain_refused"), f.message);
            let to = f
                .field
                .as_deref()
                .and_then(|af| fields.iter().find(|(a, _)| *a == af).map(|(_, b)| *b));
            match to {
                Some(field) => e.add(field, msg),
                None => e.general = Some(msg),
            }
        }
        Refusal::Api(f) => e.api(ctx.lang, f, fields),
        Refusal::Fields(v) => {
            for p in v {
                let to = fields
                    .iter()
                    .find(|(a, _)| *a == p.field)
                    .map_or(p.field, |(_, b)| b);
                e.add(to, problem_text(ctx, &p.problem));
            }
        }
        Refusal::Csv(_) => e.general = Some(ctx.t("supply.csv.rejected")),
    }
    e
}

/// A 403 or 404 refusal is the friendly error page, like the other consoles.
pub fn friendly(r: &Refusal) -> Result<(), WebError> {
    if let Refusal::Api(f) = r {
        match f.status.as_u16() {
            403 if f.code == "forbidden" => return Err(WebError::Forbidden),
            404 => return Err(WebError::NotFound),
            _ => {}
        }
    }
    Ok(())
}

/// The form-level message of `errors`, if any.
pub fn general(errors: &FormErrors) -> Markup {
    html! { @if let Some(g) = &errors.general { div.form-errors role="alert" { p { (g) } } } }
}

/// The page with `status` (422 after a refusal).
pub fn respond(ctx: &Ctx, title: &str, body: Markup, failed: bool) -> Response {
    let mut r = layout::page(ctx, title, Some(&SUPPLIER), body);
    if failed {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// The resource pages.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/supplier/resources", get(page).post(add))
        .route("/supplier/resources/import", post(import))
}

/// The resource form's fields (the CSV columns) and the CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct ResourceForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(flatten)]
    cells: BTreeMap<String, String>,
}

/// The CSV import form.
#[derive(Debug, Default, Deserialize)]
pub struct ImportForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    csv: String,
}

const NUMERIC: &[&str] = &[
    "tflops",
    "green_share",
    "carbon_g_per_kwh",
    "pue",
    "utilisation",
];

async fn view(
    s: &WebState,
    ctx: &Ctx,
    form_cells: &BTreeMap<String, String>,
    errors: &FormErrors,
    csv: (&str, &[CsvProblem]),
) -> Result<Markup, WebError> {
    let a = ctx.require(Permission::SupplyRead)?;
    let list = svc::list_resources(&s.app, a, Page::new(None, ROWS_MAX)?).await?;
    let cell = |c: &str| form_cells.get(c).cloned().unwrap_or_default();
    let statuses: Vec<(String, String)> = ResourceStatus::ALL
        .iter()
        .map(|st| {
            (
                st.as_str().to_owned(),
                ctx.t(&format!("supply.status.{}", st.as_str())),
            )
        })
        .collect();
    let manage = ctx.has(Permission::SupplyManage);
    Ok(html! {
        h1 { (ctx.t("supply.resources")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #resources {
            thead { tr {
                th { "#" } th { (ctx.t("supply.f.name")) } th { (ctx.t("supply.f.gpu_model")) }
                th { (ctx.t("supply.f.gpu_count")) } th { (ctx.t("supply.f.gpu_mem_gb")) }
                th { (ctx.t("supply.f.cpu_cores")) } th { (ctx.t("supply.f.ram_gb")) }
                th { (ctx.t("supply.f.tflops")) } th { (ctx.t("supply.f.region")) }
                th { (ctx.t("supply.f.green_share")) } th { (ctx.t("supply.f.pue")) }
                th { (ctx.t("supply.f.location")) } th { (ctx.t("supply.f.status")) }
            } }
            tbody { @for r in &list { @let d = r.spec.get(); tr data-resource=(r.id) {
                td { (r.id) } td { (d.name) } td { (d.gpu_model) } td { (d.gpu_count) }
                td { (d.gpu_mem_gb) } td { (d.cpu_cores) } td { (d.ram_gb) } td { (d.tflops) }
                td { (d.region) } td { (d.green_share) } td { (d.pue) } td { (d.location) }
                td { (ctx.t(&format!("supply.status.{}", d.status))) }
            } } }
        }
        }
        @if manage {
        h2 { (ctx.t("supply.resource.add")) }
        form #resource-form method="post" action="/supplier/resources" novalidate {
            (csrf(ctx))
            (general(errors))
            @for c in CSV_COLUMNS {
                @if c == "status" {
                    (form::select(ctx, c, "supply.f.status", &statuses, &cell(c), errors))
                } @else {
                    @let kind = if NUMERIC.contains(&c) { Kind::Decimal } else if ["name", "location", "gpu_model", "region"].contains(&c) { Kind::Text } else { Kind::Integer };
                    (form::field(ctx, c, &format!("supply.f.{c}"), kind, &cell(c), errors, true))
                }
            }
            p.hint { (ctx.t("supply.hint.window")) }
            div.actions { button type="submit" { (ctx.t("supply.resource.add")) } }
        }
        h2 { (ctx.t("supply.csv.title")) }
        p.hint { (ctx.t("supply.csv.hint")) " " code { (CSV_COLUMNS.join(",")) } }
        @if !csv.1.is_empty() {
            div.form-errors role="alert" { p { (ctx.t("supply.csv.rejected")) } }
            table.data #import-errors {
                thead { tr { th { (ctx.t("supply.csv.line")) } th { (ctx.t("supply.csv.column")) } th { (ctx.t("supply.csv.problem")) } } }
                tbody { @for p in csv.1 { tr data-line=(p.line) data-column=(p.column) {
                    td { (p.line) } td { (p.column) } td { (problem_text(ctx, &p.problem)) }
                } } }
            }
        }
        form #import-form method="post" action="/supplier/resources/import" novalidate {
            (csrf(ctx))
            div.field {
                label for="f-csv" { (ctx.t("supply.csv.file")) }
                textarea id="f-csv" name="csv" rows="8" { (csv.0) }
            }
            div.actions { button type="submit" { (ctx.t("supply.csv.import")) } }
        }
        }
    })
}

/// `GET /supplier/resources`
pub async fn page(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let body = view(
        &s,
        &ctx,
        &BTreeMap::new(),
        &FormErrors::default(),
        ("", &[]),
    )
    .await?;
    Ok(respond(&ctx, &ctx.t("supply.resources"), body, false))
}

/// `POST /supplier/resources`
pub async fn add(State(s): State<WebState>, ctx: Ctx, Form(f): Form<ResourceForm>) -> PageResult {
    let a = ctx.require(Permission::SupplyManage)?;
    let cells: BTreeMap<&'static str, String> = CSV_COLUMNS
        .iter()
        .map(|c| (*c, f.cells.get(*c).cloned().unwrap_or_default()))
        .collect();
    let r = run(&ctx, &f.csrf, async {
        let d = draft_from_cells(&cells).map_err(SupplyError::Fields)?;
        svc::create_resource(&s.app, a, &d).await
    })
    .await?;
    match r {
        Ok(rec) => Ok(Redirect::to(&Ctx::notice_url(
            "/supplier/resources",
            "supply.resource.added",
            &rec.spec.get().name,
        ))
        .into_response()),
        Err(refusal) => {
            friendly(&refusal)?;
            let errors = refusal_errors(&ctx, &refusal, &[("name", "name")]);
            let body = view(&s, &ctx, &f.cells, &errors, ("", &[])).await?;
            Ok(respond(&ctx, &ctx.t("supply.resources"), body, true))
        }
    }
}

/// `POST /supplier/resources/import`
pub async fn import(State(s): State<WebState>, ctx: Ctx, Form(f): Form<ImportForm>) -> PageResult {
    let a = ctx.require(Permission::SupplyManage)?;
    let r = run(&ctx, &f.csrf, svc::import_csv(&s.app, a, &f.csv)).await?;
    match r {
        Ok(list) => Ok(Redirect::to(&Ctx::notice_url(
            "/supplier/resources",
            "supply.csv.imported",
            &list.len().to_string(),
        ))
        .into_response()),
        Err(refusal) => {
            friendly(&refusal)?;
            let errors = refusal_errors(&ctx, &refusal, &[]);
            let cells = match &refusal {
                Refusal::Csv(v) => v.clone(),
                _ => Vec::new(),
            };
            let mut body_errors = FormErrors::default();
            if !matches!(refusal, Refusal::Csv(_)) {
                body_errors = errors;
            }
            let body = view(&s, &ctx, &BTreeMap::new(), &body_errors, (&f.csv, &cells)).await?;
            Ok(respond(&ctx, &ctx.t("supply.resources"), body, true))
        }
    }
}
