//! Sub-users of the caller's organisation and the caller's API tokens.

use super::*;

/// A new user.
#[derive(Default, Deserialize)]
pub struct UserForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for UserForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserForm")
            .field("csrf", &"<redacted>")
            .field("login", &self.login)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// The users of the caller's organisation with a form to add one (shared with the system
/// console).
pub async fn users_view(
    s: &WebState,
    ctx: &Ctx,
    action: &str,
    f: &UserForm,
    e: &FormErrors,
    section: &layout::Section,
) -> PageResult {
    let a = ctx.require(Permission::UserRead)?;
    let list = users::of_own_org(&s.app, a, PAGE_SIZE_MAX).await?;
    let grantable: Vec<(String, String)> = Role::ALL
        .iter()
        .filter(|r| r.allowed_in(a.org.kind) && a.principal.can_grant(**r))
        .map(|r| (r.as_str().to_owned(), r.as_str().to_owned()))
        .collect();
    let body = html! {
        h1 { (ctx.t(if section.title == "sys.title" { "sys.users" } else { "console.users" })) }
        table.data #users {
            thead { tr { th { (ctx.t("users.login")) } th { (ctx.t("users.name")) } th { (ctx.t("users.roles")) } th { (ctx.t("users.state")) } } }
            tbody {
                @for u in &list {
                    tr {
                        td { (u.login) } td { (u.display_name) }
                        td { @for r in &u.roles { code { (r.as_str()) } " " } }
                        td { (ctx.t(if u.disabled { "users.disabled" } else { "users.enabled" })) }
                    }
                }
            }
        }
        @if ctx.has(Permission::UserManage) && !grantable.is_empty() {
            h2 { (ctx.t("users.create")) }
            (form::summary(ctx, e))
            form method="post" action=(action) novalidate {
                (csrf(ctx))
                (form::field(ctx, "login", "users.login", Kind::Text, &f.login, e, true))
                (form::field(ctx, "display_name", "users.name", Kind::Text, &f.display_name, e, true))
                (form::field(ctx, "password", "users.password", Kind::Password, "", e, true))
                (form::select(ctx, "role", "sys.role", &grantable, &f.role, e))
                div.actions { button type="submit" { (ctx.t("users.create")) } }
            }
        }
    };
    Ok(layout::page(
        ctx,
        &ctx.t("console.users"),
        Some(section),
        body,
    ))
}

/// Creates a user in the caller's organisation through the API.
pub async fn users_create(
    s: &WebState,
    ctx: &Ctx,
    f: &UserForm,
    back: &str,
    section: &layout::Section,
) -> PageResult {
    let a = ctx.require(Permission::UserManage)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let login = e.required(lang, "login", &f.login);
    let name = e.required(lang, "display_name", &f.display_name);
    if f.password.is_empty() {
        e.add("password", lang.t("err.required"));
    }
    let role = Role::parse(&f.role);
    if role.is_none() {
        e.add("role", lang.t("err.choose"));
    }
    if let (true, Some(role)) = (e.is_empty(), role) {
        let draft = UserDraft {
            login: login.clone(),
            display_name: name,
            password: f.password.clone(),
            roles: vec![role],
        };
        let created = api::run(
            ctx,
            &f.csrf,
            users::create(&s.app, a, a.org.id.get(), &draft),
        );
        match created.await? {
            Ok(_) => {
                return Ok(
                    Redirect::to(&Ctx::notice_url(back, "users.created", &login)).into_response(),
                );
            }
            Err(fail) => {
                e.api(
                    lang,
                    &fail,
                    &[
                        ("login", "login"),
                        ("display_name", "display_name"),
                        ("password", "password"),
                        ("roles", "role"),
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
    let mut r = users_view(s, ctx, back, f, &e, section).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// `GET /console/users`
pub async fn users(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    users_view(
        &s,
        &ctx,
        "/console/users",
        &UserForm::default(),
        &FormErrors::default(),
        &CONSOLE,
    )
    .await
}

/// `POST /console/users`
pub async fn users_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<UserForm>,
) -> PageResult {
    users_create(&s, &ctx, &f, "/console/users", &CONSOLE).await
}

pub(super) async fn tokens_view(
    s: &WebState,
    ctx: &Ctx,
    created: Option<String>,
    e: &FormErrors,
) -> PageResult {
    let a = ctx.user()?;
    let lang = ctx.lang;
    let list = me::tokens(&s.app, a).await?;
    let perms = a.principal.permissions();
    let body = html! {
        h1 { (ctx.t("console.tokens")) }
        @if let Some(t) = created {
            div.notice role="status" { p { (ctx.t("tokens.shown_once")) } pre.token { code #new-token { (t) } } }
        }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data {
                thead { tr { th { (ctx.t("tokens.name")) } th { (ctx.t("tokens.scopes")) } th { (ctx.t("tokens.expires")) } th { (ctx.t("common.actions")) } } }
                tbody {
                    @for t in &list {
                        tr {
                            td { (t.name) }
                            td { @for p in &t.scopes { code { (p.as_str()) } " " } }
                            td { (lang.datetime(t.expires_ms)) }
                            td {
                                @if t.revoked { (ctx.t("tokens.revoked")) } @else {
                                    form.inline method="post" action=(format!("/console/tokens/{}/revoke", t.id.get())) {
                                        (csrf(ctx)) button.danger type="submit" { (ctx.t("tokens.revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("tokens.create")) }
        (form::summary(ctx, e))
        form method="post" action="/console/tokens" novalidate {
            (csrf(ctx))
            (form::field(ctx, "name", "tokens.name", Kind::Text, "", e, true))
            (form::field(ctx, "days", "tokens.ttl_days", Kind::Integer, "30", e, true))
            fieldset {
                legend { (ctx.t("tokens.scopes")) }
                @for p in &perms {
                    div.field.check {
                        input id=(format!("scope-{}", p.as_str())) type="checkbox" name="scope" value=(p.as_str()) checked;
                        label for=(format!("scope-{}", p.as_str())) { code { (p.as_str()) } }
                    }
                }
                @if let Some(m) = e.get("scope") { p.field-error role="alert" { (m) } }
            }
            div.actions { button type="submit" { (ctx.t("tokens.create")) } }
        }
    };
    Ok(layout::page(
        ctx,
        &ctx.t("console.tokens"),
        Some(&CONSOLE),
        body,
    ))
}

/// `GET /console/tokens`
pub async fn tokens(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    tokens_view(&s, &ctx, None, &FormErrors::default()).await
}

/// `POST /console/tokens` (repeated `scope` fields, so read as pairs).
pub async fn tokens_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let a = ctx.user()?;
    let lang = ctx.lang;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let scopes: Vec<&str> = pairs
        .iter()
        .filter(|(n, _)| n == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut e = FormErrors::default();
    let name = e.required(lang, "name", get("name"));
    let days = e.int(lang, "days", get("days"), 1, TOKEN_TTL_DAYS_MAX);
    if scopes.is_empty() {
        e.add("scope", lang.t("err.choose"));
    }
    let scopes: Vec<Permission> = scopes
        .iter()
        .filter_map(|p| {
            let parsed = Permission::parse(p);
            if parsed.is_none() {
                e.add("scope", lang.t("err.invalid_field"));
            }
            parsed
        })
        .collect();
    if e.is_empty() {
        let draft = TokenDraft {
            name,
            scopes,
            ttl_secs: u32::try_from(days * 86_400).unwrap_or(u32::MAX),
        };
        match api::run(&ctx, get("_csrf"), me::create_token(&s.app, a, &draft)).await? {
            Ok((token, _)) => {
                return tokens_view(&s, &ctx, Some(token), &e).await;
            }
            Err(fail) => e.api(
                lang,
                &fail,
                &[("name", "name"), ("ttl_secs", "days"), ("scopes", "scope")],
            ),
        }
    }
    let mut r = tokens_view(&s, &ctx, None, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// `POST /console/tokens/{id}/revoke`
pub async fn token_revoke(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<crate::portal::CsrfForm>,
) -> PageResult {
    let a = ctx.user()?;
    match api::run(&ctx, f.token(), me::revoke_token(&s.app, a, id)).await? {
        Ok(_) => Ok(Redirect::to("/console/tokens").into_response()),
        Err(fail) if fail.status == StatusCode::NOT_FOUND => Err(WebError::NotFound),
        Err(fail) if fail.status == StatusCode::FORBIDDEN => Err(WebError::Forbidden),
        Err(_) => Err(WebError::Internal("token revoke refused".into())),
    }
}

/// Percent text of basis points (re-exported for pages that show discounts).
pub fn percent(bp: u32) -> String {
    bp_percent(bp)
}
