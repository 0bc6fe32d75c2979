//! The supplier's agent keys (`/supplier/agent-keys`, `docs/supply.md` §3.1,
//! `docs/key-custody.md` §9): the keys its agents hold, delegated (added to the supplier
//! DID document and authorised on the trade chain) or revoked with the administrator's
//! password, which unseals the supplier DID key for that one request. Every action goes
//! through `service::supply_agent_keys`.

use super::hosted_agent::HostedForm;
use crate::api::{self, ApiFailure};
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::layout::{self, SUPPLIER, csrf};
use crate::{PageResult, WebError, WebState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::supply_agent_keys::{
    self as ak, DelegateRequest, RevokeRequest,
};

/// The pages.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/supplier/agent-keys", get(page))
        .route("/supplier/agent-keys/{action}", post(act))
        .merge(super::hosted_agent::routes()) // issue 16, platform-hosted agents
}

/// `GET /supplier/agent-keys`
pub async fn page(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    render(
        &s,
        &ctx,
        &KeyForm::default(),
        &FormErrors::default(),
        None,
        None,
    )
    .await
}

/// The page with the hosted-agent form `typed` sent back with its `errors`.
pub async fn render_hosted(
    s: &WebState,
    ctx: &Ctx,
    typed: &HostedForm,
    errors: &FormErrors,
) -> PageResult {
    let none = FormErrors::default();
    render(
        s,
        ctx,
        &KeyForm::default(),
        &none,
        None,
        Some((typed, errors)),
    )
    .await
}

async fn render(
    s: &WebState,
    ctx: &Ctx,
    typed: &KeyForm,
    errors: &FormErrors,
    revoking: Option<&str>,
    hosted: Option<(&HostedForm, &FormErrors)>,
) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let lang = ctx.lang;
    let (keys, unavailable) = match ak::list(&s.app, a).await {
        Ok(k) => (k, None),
        Err(e) => match ApiFailure::of(e)? {
            f if f.code == "forbidden" => return Err(WebError::Forbidden),
            f => (Vec::new(), Some(form::api_message(lang, &f))),
        },
    };
    let adding = revoking.is_none() && hosted.is_none();
    let blank = (HostedForm::default(), FormErrors::default());
    let (hosted_form, hosted_errors) = hosted.unwrap_or((&blank.0, &blank.1));
    let hosted_section = super::hosted_agent::section(s, ctx, hosted_form, hosted_errors).await?;
    let body = html! {
        h1 { (ctx.t("ak.title")) }
        p.hint { (ctx.t("ak.hint")) }
        @if let Some(m) = unavailable { div.form-errors role="alert" { p { (m) } } }
        (form::summary(ctx, errors))
        @if keys.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #agent-keys {
                thead { tr { th { (ctx.t("ak.key")) } th { (ctx.t("ak.fragment")) } th { (ctx.t("ak.authorised")) } th { (ctx.t("ak.state")) } th { (ctx.t("common.actions")) } } }
                tbody { @for k in &keys {
                    tr data-agent-key=(k.key) {
                        td { code { (k.key) } }
                        td { code { (k.fragment) } }
                        td { (lang.datetime(i64::try_from(k.authorised_at_ms).unwrap_or(i64::MAX))) }
                        td { @match k.revoked_at_ms {
                            Some(t) => { (ctx.t("ak.revoked")) " " (lang.datetime(i64::try_from(t).unwrap_or(i64::MAX))) }
                            None => { (ctx.t("ak.active")) }
                        } }
                        td.actions { @if k.revoked_at_ms.is_none() {
                            form.inline method="post" action="/supplier/agent-keys/revoke" {
                                (csrf(ctx))
                                input type="hidden" name="public_key" value=(k.key);
                                @let fe = if revoking == Some(k.key.as_str()) { errors.clone() } else { FormErrors::default() };
                                (form::field(ctx, "password", "ak.password", Kind::Password, "", &fe, true))
                                button.danger type="submit" { (ctx.t("ak.revoke")) }
                            }
                        } }
                    }
                } }
            }
        }
        h2 { (ctx.t("ak.add")) }
        form.stacked method="post" action="/supplier/agent-keys/delegate" {
            (csrf(ctx))
            @let none = FormErrors::default();
            @let fe = if adding { errors } else { &none };
            (form::field(ctx, "public_key", "ak.key", Kind::Text, &typed.public_key, fe, true))
            (form::field(ctx, "proof", "ak.proof", Kind::Text, &typed.proof, fe, true))
            (form::field(ctx, "fragment", "ak.fragment", Kind::Text, if typed.fragment.is_empty() { "agent-1" } else { &typed.fragment }, fe, true))
            (form::field(ctx, "password", "ak.password", Kind::Password, "", fe, true))
            button type="submit" { (ctx.t("ak.delegate")) }
        }
        (hosted_section)
    };
    let mut r = layout::page(ctx, &ctx.t("ak.title"), Some(&SUPPLIER), body);
    if !errors.is_empty() || !hosted_errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// The delegate and revoke forms.
#[derive(Clone, Default, Deserialize)]
pub struct KeyForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    public_key: String,
    #[serde(default)]
    proof: String,
    #[serde(default)]
    fragment: String,
    #[serde(default)]
    password: String,
}

/// Written by hand: the password and the CSRF token are redacted.
impl std::fmt::Debug for KeyForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyForm")
            .field("csrf", &"<redacted>")
            .field("public_key", &self.public_key)
            .field("proof", &self.proof)
            .field("fragment", &self.fragment)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `POST /supplier/agent-keys/{delegate|revoke}`
pub async fn act(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(action): Path<String>,
    Form(f): Form<KeyForm>,
) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let ip = ctx.client_ip();
    let (done, key) = match action.as_str() {
        "delegate" => {
            let r = DelegateRequest {
                public_key: f.public_key.clone(),
                proof: f.proof.clone(),
                fragment: f.fragment.clone(),
                password: f.password.clone(),
            };
            (
                api::run(&ctx, &f.csrf, ak::delegate(&s.app, a, &ip, r)).await?,
                "ak.delegated",
            )
        }
        "revoke" => {
            let r = RevokeRequest {
                public_key: f.public_key.clone(),
                password: f.password.clone(),
            };
            (
                api::run(&ctx, &f.csrf, ak::revoke(&s.app, a, &ip, r)).await?,
                "ak.revoked_done",
            )
        }
        _ => return Err(WebError::NotFound),
    };
    match done {
        Ok(()) => {
            let short: String = f.public_key.trim().chars().take(16).collect();
            Ok(Redirect::to(&Ctx::notice_url("/supplier/agent-keys", key, &short)).into_response())
        }
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        Err(fail) => {
            let mut errors = FormErrors::default();
            let fields = [
                ("public_key", "public_key"),
                ("fragment", "fragment"),
                ("password", "password"),
                ("current_password", "password"),
            ];
            errors.api(ctx.lang, &fail, &fields);
            let revoking = (action == "revoke").then(|| f.public_key.trim().to_owned());
            render(&s, &ctx, &f, &errors, revoking.as_deref(), None).await
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_form_hides_its_password_and_csrf() {
        let secret = "s3cret-VALUE-never-printed";
        let f = super::KeyForm {
            csrf: secret.into(),
            public_key: "ab".into(),
            proof: "cd".into(),
            fragment: "agent-1".into(),
            password: secret.into(),
        };
        let debug = format!("{f:?}");
        assert!(!debug.contains(secret), "{debug}");
        assert!(debug.contains("agent-1"), "{debug}");
    }
}
