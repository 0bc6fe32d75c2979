//! Two-step verification: TOTP status, enrolment and recovery codes.

use super::*;

/// The two-step verification form (`step` = `start` or `confirm`).
#[derive(Default, Deserialize)]
pub struct MfaForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    uri: String,
}

/// Redacts the secret fields.
impl std::fmt::Debug for MfaForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaForm")
            .field("csrf", &"<redacted>")
            .field("step", &self.step)
            .field("code", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("uri", &"<redacted>")
            .finish()
    }
}

pub(super) fn mfa_view(
    ctx: &Ctx,
    enabled: bool,
    pending: Option<(&str, &str)>,
    codes: Option<Vec<String>>,
    e: &FormErrors,
) -> Response {
    let body = html! {
        h1 { (ctx.t("mfa.title")) }
        p { (ctx.t("mfa.status")) ": " strong #mfa-state { (ctx.t(if enabled { "mfa.on" } else { "mfa.off" })) } }
        @if let Some(codes) = codes {
            div.notice role="status" {
                p { (ctx.t("mfa.recovery")) }
                ul #recovery-codes { @for c in &codes { li { code { (c) } } } }
            }
        }
        (form::summary(ctx, e))
        @if let Some((secret, uri)) = pending {
            p { (ctx.t("mfa.scan")) }
            dl.facts {
                dt { (ctx.t("mfa.secret")) } dd { code #mfa-secret { (secret) } }
                dt { "otpauth" } dd { code.wrap { (uri) } }
            }
            form method="post" action="/console/security" novalidate {
                (csrf(ctx))
                input type="hidden" name="step" value="confirm";
                input type="hidden" name="secret" value=(secret);
                input type="hidden" name="uri" value=(uri);
                (form::field(ctx, "code", "login.totp", Kind::Integer, "", e, true))
                div.actions { button type="submit" { (ctx.t("mfa.confirm")) } }
            }
        } @else if !enabled {
            form method="post" action="/console/security" {
                (csrf(ctx))
                input type="hidden" name="step" value="start";
                div.actions { button type="submit" { (ctx.t("mfa.start")) } }
            }
        }
    };
    layout::page(ctx, &ctx.t("mfa.title"), Some(&CONSOLE), body)
}

/// `GET /console/security`: two-step verification (TOTP) status and enrolment.
pub async fn security(ctx: Ctx) -> PageResult {
    let a = ctx.user()?;
    Ok(mfa_view(
        &ctx,
        a.user.totp_enabled,
        None,
        None,
        &FormErrors::default(),
    ))
}

/// `POST /console/security`: starts or confirms TOTP enrolment through the API.
pub async fn security_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<MfaForm>,
) -> PageResult {
    let a = ctx.user()?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    if f.step == "confirm" {
        let code = e.required(lang, "code", &f.code);
        if e.is_empty() {
            match api::run(&ctx, &f.csrf, me::totp_confirm(&s.app, a, &code)).await? {
                Ok(codes) => {
                    return Ok(mfa_view(&ctx, true, None, Some(codes), &e));
                }
                Err(fail) => {
                    e.api(lang, &fail, &[("code", "code")]);
                    if let Some(g) = e.general.take() {
                        e.add("code", g);
                    }
                }
            }
        }
        let mut r = mfa_view(&ctx, false, Some((&f.secret, &f.uri)), None, &e);
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    }
    match api::run(&ctx, &f.csrf, me::totp_setup(&s.app, a)).await? {
        Ok(t) => Ok(mfa_view(
            &ctx,
            a.user.totp_enabled,
            Some((&t.secret_base32, &t.otpauth_uri)),
            None,
            &e,
        )),
        Err(fail) => {
            e.api(lang, &fail, &[]);
            let mut r = mfa_view(&ctx, a.user.totp_enabled, None, None, &e);
            *r.status_mut() = fail.status;
            Ok(r)
        }
    }
}
