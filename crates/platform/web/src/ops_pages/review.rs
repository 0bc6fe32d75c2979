//! Real-name registrations waiting for review: approve or reject with a reason. A
//! supplier's registration has its own review page with its qualification credential
//! verified through the identity chain (issue 16).

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
                            @if r.kind == suanli_platform_store::RegistrationKind::Supplier {
                                // A supplier is decided on its review page, with the
                                // qualification credential verified (issue 16).
                                a.button href=(format!("/ops/suppliers/registrations/{}", r.id.get())) { (ctx.t("qual.review")) }
                            } @else if r.status == RegistrationStatus::Pending {
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

impl DecisionForm {
    /// The form's CSRF token.
    pub(super) fn csrf(&self) -> &str {
        &self.csrf
    }
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

// ---------------------------------------------------------------- supplier review (issue 16)

/// The checks of a qualification credential, each with its outcome (`id="qualification"`).
pub(crate) fn qualification_checks(
    ctx: &Ctx,
    report: &suanli_platform_http::onboarding::QualificationReport,
) -> maud::Markup {
    use suanli_platform_http::onboarding::CheckState;
    html! {
        table.data #qualification-checks {
            thead { tr { th { (ctx.t("qual.check")) } th { (ctx.t("qual.outcome")) } th { (ctx.t("qual.detail")) } } }
            tbody {
                @for c in &report.checks {
                    @let state = match c.outcome { CheckState::Passed => "passed", CheckState::Failed => "failed", CheckState::Skipped => "skipped" };
                    tr data-check=(c.check) data-outcome=(state) {
                        td { (ctx.t(&format!("qual.check.{}", c.check))) }
                        td { span class=(format!("badge {state}")) { (ctx.t(&format!("qual.outcome.{state}"))) } }
                        td { @if let Some(code) = &c.code { code { (code) } " " } (c.message.clone().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// `GET /ops/suppliers/registrations/{id}`: a supplier registration with its qualification
/// credential verified now through the identity chain, and the decision forms.
pub async fn supplier_registration(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> PageResult {
    use suanli_platform_http::service::supply_onboarding;
    let a = ctx.require(Permission::SupplierReview)?;
    let r = supply_onboarding::review(&s.app, a, id).await?;
    let reg = &r.registration;
    let verified = r.verification.as_ref().is_some_and(|v| v.ok());
    let body = html! {
        h1 { (ctx.t("qual.review.title")) " #" (reg.id.get()) }
        dl.facts #supplier-application {
            dt { (ctx.t("register.company")) } dd { (reg.company_name.clone().unwrap_or_default()) }
            dt { (ctx.t("register.supplier_type")) } dd { (ctx.t(&format!("org.kind.{}", r.org.kind.as_str()))) }
            dt { (ctx.t("register.credit_code")) } dd { (reg.credit_code.clone().unwrap_or_default()) }
            dt { (ctx.t("register.licence")) } dd { (reg.licence_ref.clone().unwrap_or_default()) }
            dt { (ctx.t("register.legal_person")) } dd { (reg.legal_person.clone().unwrap_or_default()) }
            dt { (ctx.t("register.contact_phone")) } dd { (reg.phone.clone().unwrap_or_default()) }
            dt { (ctx.t("reg.submitted")) } dd { (ctx.lang.datetime(reg.submitted_ms)) }
            dt { (ctx.t("reg.status")) } dd { (ctx.t(&format!("reg.status.{}", reg.status.as_str()))) }
        }
        h2 { (ctx.t("register.qualification")) }
        dl.facts {
            dt { (ctx.t("qual.issuer")) } dd { code { (r.supplier.qualification_issuer.clone().unwrap_or_default()) } }
            dt { (ctx.t("qual.cpt")) } dd {
                code { (r.supplier.qualification_schema.clone().unwrap_or_default()) }
                @if let Some(t) = r.verification.as_ref().and_then(|v| v.cpt_title.clone()) { " · " (t) }
            }
            dt { (ctx.t("qual.state")) } dd #qualification-state data-verified=(verified) {
                (ctx.t(if verified { "qual.verified" } else { "qual.not_verified" }))
            }
        }
        @if let Some(why) = &r.unavailable {
            div.form-errors role="alert" { p { (ctx.t("err.qualification_unavailable")) } p.general { (why) } }
        }
        @if let Some(v) = &r.verification { (qualification_checks(&ctx, v)) }
        details { summary { (ctx.t("qual.credential")) } pre.credential { (r.supplier.qualification.clone().unwrap_or_default()) } }
        h2 { (ctx.t("qual.same_code.title")) }
        @if r.same_credit_code.is_empty() {
            p #same-credit-code.muted { (ctx.t("qual.same_code.none")) }
        } @else {
            table #same-credit-code {
                thead { tr { th { "#" } th { (ctx.t("register.company")) } th { (ctx.t("reg.submitted")) } th { (ctx.t("reg.status")) } } }
                tbody {
                    @for o in &r.same_credit_code {
                        tr {
                            td { a href=(format!("/ops/suppliers/registrations/{}", o.id.get())) { (o.id.get()) } }
                            td { (o.company_name.clone().unwrap_or_default()) }
                            td { (ctx.lang.datetime(o.submitted_ms)) }
                            td { (ctx.t(&format!("reg.status.{}", o.status.as_str()))) }
                        }
                    }
                }
            }
        }
        @if reg.status == RegistrationStatus::Pending {
            div.actions {
                form.inline method="post" action=(format!("/ops/registrations/{}/approve", reg.id.get())) {
                    (csrf(&ctx)) button.approve type="submit" disabled[!verified] { (ctx.t("reg.approve")) }
                }
                form.inline method="post" action=(format!("/ops/registrations/{}/reject", reg.id.get())) {
                    (csrf(&ctx))
                    label.visually-hidden for="reason" { (ctx.t("reg.reason")) }
                    input #reason name="reason" required placeholder=(ctx.t("reg.reason"));
                    button.danger type="submit" { (ctx.t("reg.reject")) }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("qual.review.title"),
        Some(&OPS),
        body,
    ))
}
