//! Real-name registrations waiting for review: approve or reject with a reason.

use super::*;

/// `GET /ops/registrations?status=pending`
pub async fn registrations(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(q): Query<Page>,
) -> PageResult {
    let a = ctx.require(Permission::RegistrationReview)?;
    let lang = ctx.lang;
    let status_text = q.status.clone().unwrap_or_else(|| "pending".into());
    let status = RegistrationStatus::parse(&status_text);
    let list = registrations::list(&s.app, a, status, q.after, LIST_PAGE_ROWS).await?;
    let opts = ["pending", "approved", "rejected"];
    let body = html! {
        h1 { (ctx.t("ops.registrations")) }
        nav.tabs aria-label=(ctx.t("reg.filter")) {
            @for o in opts {
                a href=(format!("/ops/registrations?status={o}")) aria-current=[(status_text == o).then_some("page")] { (ctx.t(&format!("reg.status.{o}"))) }
            }
        }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #registrations {
            thead { tr { th { "#" } th { (ctx.t("reg.kind")) } th { (ctx.t("reg.applicant")) } th { (ctx.t("reg.submitted")) } th { (ctx.t("reg.status")) } th { (ctx.t("common.actions")) } } }
            tbody {
                @for r in &list {
                    tr data-registration=(r.id.get()) {
                        td { (r.id.get()) }
                        td { (ctx.t(&format!("register.{}", r.kind.as_str()))) }
                        td {
                            @if let Some(c) = &r.company_name { (c) " · " (r.credit_code.clone().unwrap_or_default()) " · " (r.legal_person.clone().unwrap_or_default()) }
                            @if let Some(n) = &r.person_name { (n) " · " (r.id_number_masked.clone().unwrap_or_default()) " · " (r.phone.clone().unwrap_or_default()) }
                        }
                        td { (lang.datetime(r.submitted_ms)) }
                        td { (ctx.t(&format!("reg.status.{}", r.status.as_str()))) }
                        td.actions {
                            @if r.status == RegistrationStatus::Pending {
                                form.inline method="post" action=(format!("/ops/registrations/{}/approve", r.id.get())) {
                                    (csrf(&ctx)) button.approve type="submit" { (ctx.t("reg.approve")) }
                                }
                                form.inline method="post" action=(format!("/ops/registrations/{}/reject", r.id.get())) {
                                    (csrf(&ctx))
                                    label.visually-hidden for=(format!("reason-{}", r.id.get())) { (ctx.t("reg.reason")) }
                                    input id=(format!("reason-{}", r.id.get())) name="reason" required placeholder=(ctx.t("reg.reason"));
                                    button.danger type="submit" { (ctx.t("reg.reject")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("ops.registrations"),
        Some(&OPS),
        body,
    ))
}

/// A decision form.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /ops/registrations/{id}/{approve|reject}`
pub async fn decide_registration(
    State(s): State<WebState>,
    ctx: Ctx,
    Path((id, decision)): Path<(i64, String)>,
    Form(f): Form<DecisionForm>,
) -> PageResult {
    let a = ctx.require(Permission::RegistrationReview)?;
    let (reason, key) = match decision.as_str() {
        "approve" => (None, "reg.approved"),
        "reject" => {
            if f.reason.trim().is_empty() {
                let fail = ApiFailure {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: "invalid_field".into(),
                    message: String::new(),
                    field: Some("reason".into()),
                };
                let mut r = refused(&ctx, &fail, "/ops/registrations")?;
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                return Ok(r);
            }
            (Some(f.reason.trim()), "reg.rejected")
        }
        _ => return Err(WebError::NotFound),
    };
    let decided = api::run(&ctx, &f.csrf, async {
        match reason {
            None => registrations::approve(&s.app, a, id).await,
            Some(r) => registrations::reject(&s.app, a, id, r).await,
        }
    })
    .await?;
    match decided {
        Ok(_) => Ok(done("/ops/registrations", key, &id.to_string())),
        Err(fail) => refused(&ctx, &fail, "/ops/registrations"),
    }
}
