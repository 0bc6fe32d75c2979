//! Supplier organisations — type, status, supplier DID, qualification state and
//! enrolment (issue 16), with the enrol action — and creating one with its administrator.

use super::*;
use suanli_platform_http::service::supply_onboarding;
use suanli_platform_store::SupplierListRow;

/// A new supplier organisation.
#[derive(Default, Deserialize)]
pub struct SupplierForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    admin_name: String,
    #[serde(default)]
    password: String,
}

/// Redacts the secret fields.
impl std::fmt::Debug for SupplierForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupplierForm")
            .field("csrf", &"<redacted>")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("login", &self.login)
            .field("admin_name", &self.admin_name)
            .field("password", &"<redacted>")
            .finish()
    }
}

pub(super) async fn suppliers_view(
    s: &WebState,
    ctx: &Ctx,
    f: &SupplierForm,
    e: &FormErrors,
) -> PageResult {
    let a = ctx.require(Permission::SupplierReview)?;
    let list = supply_onboarding::list(&s.app, a, None, PAGE_SIZE_MAX).await?;
    let may_create = a.principal.has(Permission::OrgAdmin);
    let kinds = vec![
        (
            "supplier_resource".to_owned(),
            ctx.t("org.kind.supplier_resource"),
        ),
        ("supplier_api".to_owned(), ctx.t("org.kind.supplier_api")),
    ];
    let body = html! {
        h1 { (ctx.t("ops.suppliers")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #suppliers {
                thead { tr {
                    th { (ctx.t("org.id")) } th { (ctx.t("org.name")) } th { (ctx.t("org.kind")) } th { (ctx.t("org.status")) }
                    th { (ctx.t("sup.did")) } th { (ctx.t("qual.state")) } th { (ctx.t("sup.enrolment")) }
                    // ---- money helper: revenue and reputation column headers go here.
                    th { (ctx.t("common.actions")) }
                } }
                tbody { @for row in &list { (supplier_row(ctx, row)) } }
            }
        }
        @if may_create {
        h2 { (ctx.t("sup.new")) }
        (form::summary(ctx, e))
        form method="post" action="/ops/suppliers" novalidate {
            (csrf(ctx))
            (form::select(ctx, "kind", "sup.kind", &kinds, &f.kind, e))
            (form::field(ctx, "name", "org.name", Kind::Text, &f.name, e, true))
            (form::field(ctx, "login", "sup.admin_login", Kind::Text, &f.login, e, true))
            (form::field(ctx, "admin_name", "sup.admin_name", Kind::Text, &f.admin_name, e, true))
            (form::field(ctx, "password", "sup.admin_password", Kind::Password, "", e, true))
            div.actions { button type="submit" { (ctx.t("cat.create")) } }
        }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.suppliers"), Some(&OPS), body))
}

/// One supplier of the list: its organisation, supplier DID, qualification state (from
/// the verification recorded at approval), enrolment, and the enrol action when it is
/// approved but not enrolled.
fn supplier_row(ctx: &Ctx, row: &SupplierListRow) -> maud::Markup {
    let o = &row.org;
    let rec = row.supplier.as_ref();
    let qualification = match rec {
        Some(r) if r.qualification_verified_ms.is_some() => "qual.verified",
        Some(r) if r.qualification.is_some() => "qual.pending",
        _ => "qual.none",
    };
    let enrolled = rec.is_some_and(|r| r.enrolled_ms.is_some());
    html! {
        tr data-org=(o.id.get()) {
            td { (o.id.get()) }
            td { a href=(format!("/ops/customers/{}", o.id.get())) { (o.name) } }
            td { (ctx.t(&format!("org.kind.{}", o.kind.as_str()))) }
            td { (ctx.t(&format!("org.status.{}", o.status.as_str()))) }
            td.did { @if let Some(d) = rec.and_then(|r| r.did.as_deref()) { code { (d) } } @else { "—" } }
            td data-qualification=(qualification) {
                @match rec.and_then(|r| r.registration) {
                    Some(reg) => a href=(format!("/ops/suppliers/registrations/{}", reg.get())) { (ctx.t(qualification)) },
                    None => (ctx.t(qualification)),
                }
            }
            td data-enrolled=(enrolled) { (ctx.t(if enrolled { "sup.enrolled" } else { "sup.not_enrolled" })) }
            // ---- money helper: revenue and reputation cells go here.
            td.actions {
                @if !enrolled && rec.is_none_or(|r| r.registration.is_none()) {
                    // A supplier the operator created: its real-name data and qualification.
                    details.qualify {
                        summary { (ctx.t("sup.qualify")) }
                        form method="post" action=(format!("/ops/suppliers/{}/qualification", o.id.get())) {
                            (csrf(ctx))
                            @for (name, key) in [("credit_code", "register.credit_code"), ("legal_person", "register.legal_person"), ("phone", "register.contact_phone")] {
                                div.field {
                                    label for=(format!("q-{}-{name}", o.id.get())) { (ctx.t(key)) }
                                    input id=(format!("q-{}-{name}", o.id.get())) name=(name) required;
                                }
                            }
                            div.field {
                                label for=(format!("q-{}-qualification", o.id.get())) { (ctx.t("register.qualification")) }
                                textarea id=(format!("q-{}-qualification", o.id.get())) name="qualification" rows="6" required {}
                            }
                            button type="submit" { (ctx.t("sup.qualify")) }
                        }
                    }
                }
                @if !enrolled && qualification == "qual.verified" {
                    form.inline method="post" action=(format!("/ops/suppliers/{}/enrol", o.id.get())) {
                        (csrf(ctx)) button type="submit" { (ctx.t("sup.enrol")) }
                    }
                }
            }
        }
    }
}

/// `POST /ops/suppliers/{id}/enrol`: (re)enrols an approved supplier's DID.
pub async fn supplier_enrol(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<super::review::DecisionForm>,
) -> PageResult {
    let a = ctx.require(Permission::SupplierReview)?;
    match api::run(&ctx, f.csrf(), supply_onboarding::enrol(&s.app, a, id)).await? {
        Ok(_) => Ok(done(
            "/ops/suppliers",
            "sup.enrolled_notice",
            &id.to_string(),
        )),
        Err(fail) => refused(&ctx, &fail, "/ops/suppliers"),
    }
}

/// The operator's form of a created supplier's real-name data and qualification.
#[derive(Debug, Default, Deserialize)]
pub struct QualifyForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    legal_person: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    qualification: String,
}

/// `POST /ops/suppliers/{id}/qualification`: records a created supplier's verified
/// qualification and enrols its DID when its administrator has one.
pub async fn supplier_qualify(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<QualifyForm>,
) -> PageResult {
    let a = ctx.require(Permission::SupplierReview)?;
    let Ok(qualification) = serde_json::from_str::<Value>(f.qualification.trim()) else {
        let fail = ApiFailure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "qualification_json".into(),
            message: String::new(),
            field: Some("qualification".into()),
        };
        return refused(&ctx, &fail, "/ops/suppliers");
    };
    let draft = supply_onboarding::QualificationDraft {
        credit_code: f.credit_code.clone(),
        legal_person: f.legal_person.clone(),
        phone: f.phone.clone(),
        qualification,
    };
    match api::run(
        &ctx,
        &f.csrf,
        supply_onboarding::qualify(&s.app, a, id, &draft),
    )
    .await?
    {
        Ok(_) => Ok(done(
            "/ops/suppliers",
            "sup.qualified_notice",
            &id.to_string(),
        )),
        Err(fail) => refused(&ctx, &fail, "/ops/suppliers"),
    }
}

/// `GET /ops/suppliers`
pub async fn suppliers(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::SupplierReview)?;
    suppliers_view(&s, &ctx, &SupplierForm::default(), &FormErrors::default()).await
}

/// `POST /ops/suppliers`
pub async fn suppliers_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<SupplierForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrgAdmin)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let kind = OrgKind::parse(&f.kind).filter(|k| k.is_supplier());
    if kind.is_none() {
        e.add("kind", lang.t("err.choose"));
    }
    let name = e.required(lang, "name", &f.name);
    let login = e.required(lang, "login", &f.login);
    let admin = e.required(lang, "admin_name", &f.admin_name);
    if f.password.is_empty() {
        e.add("password", lang.t("err.required"));
    }
    if let (true, Some(k)) = (e.is_empty(), kind) {
        let draft = OrgDraft {
            kind: k,
            name,
            admin: AdminDraft {
                login,
                display_name: admin,
                password: f.password.clone(),
            },
        };
        match api::run(&ctx, &f.csrf, orgs::create(&s.app, a, &draft)).await? {
            Ok((org, _)) => {
                return Ok(done(
                    "/ops/suppliers",
                    "sup.created",
                    &org.id.get().to_string(),
                ));
            }
            Err(fail) => {
                e.api(
                    lang,
                    &fail,
                    &[
                        ("name", "name"),
                        ("admin.login", "login"),
                        ("admin.display_name", "admin_name"),
                        ("admin.password", "password"),
                    ],
                );
                if fail.code == "login_taken" {
                    e.general = None;
                    e.add("login", lang.t("err.login_taken"));
                }
                if fail.code.starts_with("password") {
                    e.general = None;
                    e.add("password", form::api_message(lang, &fail));
                }
            }
        }
    }
    let mut r = suppliers_view(&s, &ctx, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}
