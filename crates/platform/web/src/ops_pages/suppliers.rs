//! Supplier organisations and creating one with its administrator.

use super::*;

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
    let list = supplier_orgs(s).await?;
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
                thead { tr { th { (ctx.t("org.id")) } th { (ctx.t("org.name")) } th { (ctx.t("org.kind")) } th { (ctx.t("org.status")) } th { (ctx.t("org.created")) } } }
                tbody { @for o in &list { tr { (org_row_cells(ctx, o)) } } }
            }
        }
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
    };
    Ok(layout::page(ctx, &ctx.t("ops.suppliers"), Some(&OPS), body))
}

/// `GET /ops/suppliers`
pub async fn suppliers(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::OrgAdmin)?;
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
