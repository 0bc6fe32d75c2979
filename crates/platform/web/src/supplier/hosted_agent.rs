//! The platform-hosted agent, a section of the supplier's agent keys page
//! (`/supplier/agent-keys`, `docs/supply.md` §3.5, `docs/key-custody.md` §9): its state,
//! the form that starts it (fragment, acceptance policy, the administrator's password) and
//! the one that stops it (the password: the key is revoked on the chain). Every action
//! goes through `service::supply_hosted`.

use crate::api::{self, ApiFailure};
use crate::ctx::Ctx;
use crate::form::{self, FormErrors, Kind};
use crate::i18n::parse_yuan;
use crate::layout::csrf;
use crate::{PageResult, WebError, WebState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::post;
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_http::service::supply_hosted::{self as hosted, StartRequest, StopRequest};
use suanli_platform_store::{HostedAgentRecord, HostedStatus};

/// The forms' actions.
pub fn routes() -> Router<WebState> {
    Router::new().route("/supplier/agent-keys/hosted/{action}", post(act))
}

/// The start and stop forms (raw text; parsed here and checked by the service).
#[derive(Clone, Default, Deserialize)]
pub struct HostedForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    fragment: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    max_units: String,
    #[serde(default)]
    max_minutes: String,
    #[serde(default)]
    max_value: String,
    #[serde(default)]
    offers: String,
    #[serde(default)]
    password: String,
}

/// Written by hand: the password and the CSRF token are redacted.
impl std::fmt::Debug for HostedForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedForm")
            .field("csrf", &"<redacted>")
            .field("fragment", &self.fragment)
            .field("mode", &self.mode)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The section: the organisation's hosted agent and its form. `typed` and `errors` are
/// the start or stop form sent back with its errors.
pub async fn section(
    s: &WebState,
    ctx: &Ctx,
    typed: &HostedForm,
    errors: &FormErrors,
) -> Result<Markup, WebError> {
    let a = ctx.require(Permission::SupplyRead)?;
    let current = match hosted::get(&s.app, a).await {
        Ok(h) => Some(h),
        Err(e) => match ApiFailure::of(e)? {
            f if f.code == "not_found" => None,
            f if f.code == "forbidden" => return Err(WebError::Forbidden),
            f => {
                return Ok(
                    html! { div.form-errors role="alert" { p { (form::api_message(ctx.lang, &f)) } } },
                );
            }
        },
    };
    let running = current
        .as_ref()
        .filter(|h| h.status != HostedStatus::Stopped);
    Ok(html! {
        section #hosted-agent {
            h2 { (ctx.t("ha.title")) }
            p.hint { (ctx.t("ha.hint")) }
            @if let Some(h) = &current { (state(ctx, h, hosted::problem(&s.app, h))) }
            @if running.is_some() {
                form.stacked method="post" action="/supplier/agent-keys/hosted/stop" {
                    (csrf(ctx))
                    (form::summary(ctx, errors))
                    (form::field(ctx, "password", "ak.password", Kind::Password, "", errors, true))
                    button.danger type="submit" { (ctx.t("ha.stop")) }
                }
            } @else {
                (start_form(ctx, typed, errors))
            }
        }
    })
}

/// The agent's facts; `problem` is why it cannot run ([`hosted::problem`]), shown as a
/// warning in place of its status.
fn state(ctx: &Ctx, h: &HostedAgentRecord, problem: Option<&str>) -> Markup {
    let p = &h.policy;
    let none = String::from("—");
    let show = |v: Option<String>| v.unwrap_or_else(|| none.clone());
    let offers = if p.offers.is_empty() {
        ctx.t("ha.every_offer")
    } else {
        p.offers
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    html! {
        @if let Some(code) = problem {
            div.form-errors #hosted-agent-problem role="alert" data-problem=(code) {
                p { (ctx.t(&format!("ha.problem.{code}"))) }
            }
        }
        dl.facts #hosted-agent-state data-status=(h.status.as_str()) data-runnable=(problem.is_none() && h.status != HostedStatus::Stopped) {
            dt { (ctx.t("ha.status")) }
            dd {
                @if problem.is_some() { (ctx.t("ha.status.not_runnable")) }
                @else { (ctx.t(&format!("ha.status.{}", h.status.as_str()))) }
            }
            dt { (ctx.t("ak.key")) } dd { code { (h.public_key) } }
            dt { (ctx.t("ak.fragment")) } dd { code { (h.fragment) } }
            dt { (ctx.t("ha.mode")) } dd { (ctx.t(&format!("ha.mode.{}", p.mode))) }
            @if p.mode == "auto" {
                dt { (ctx.t("ha.max_units")) } dd { (show(p.max_units.map(|v| v.to_string()))) }
                dt { (ctx.t("ha.max_minutes")) } dd { (show(p.max_minutes.map(|v| v.to_string()))) }
                dt { (ctx.t("ha.max_value")) } dd { (show(p.max_value_fen.map(|v| ctx.lang.money(v)))) }
                dt { (ctx.t("ha.offers")) } dd { (offers) }
            }
            dt { (ctx.t("ha.created")) } dd { (ctx.lang.datetime(h.created_ms)) }
            @if let Some(t) = h.stopped_ms { dt { (ctx.t("ha.stopped")) } dd { (ctx.lang.datetime(t)) } }
        }
    }
}

fn start_form(ctx: &Ctx, typed: &HostedForm, errors: &FormErrors) -> Markup {
    let modes = [
        ("auto".to_owned(), ctx.t("ha.mode.auto")),
        ("manual".to_owned(), ctx.t("ha.mode.manual")),
    ];
    let fragment = if typed.fragment.is_empty() {
        "hosted-1"
    } else {
        &typed.fragment
    };
    let mode = if typed.mode.is_empty() {
        "auto"
    } else {
        &typed.mode
    };
    html! {
        form.stacked method="post" action="/supplier/agent-keys/hosted/start" {
            (csrf(ctx))
            (form::summary(ctx, errors))
            (form::field(ctx, "fragment", "ak.fragment", Kind::Text, fragment, errors, true))
            (form::select(ctx, "mode", "ha.mode", &modes, mode, errors))
            (form::field(ctx, "max_units", "ha.max_units", Kind::Integer, &typed.max_units, errors, false))
            (form::field(ctx, "max_minutes", "ha.max_minutes", Kind::Integer, &typed.max_minutes, errors, false))
            (form::field(ctx, "max_value", "ha.max_value", Kind::Decimal, &typed.max_value, errors, false))
            (form::field(ctx, "offers", "ha.offers_input", Kind::Text, &typed.offers, errors, false))
            (form::field(ctx, "password", "ak.password", Kind::Password, "", errors, true))
            button type="submit" { (ctx.t("ha.start")) }
        }
    }
}

/// Parses a number field: blank is absent; anything else must parse.
fn number<T: std::str::FromStr>(
    ctx: &Ctx,
    errors: &mut FormErrors,
    field: &str,
    v: &str,
) -> Option<T> {
    let t = v.trim();
    if t.is_empty() {
        return None;
    }
    let parsed = t.parse().ok();
    if parsed.is_none() {
        errors.add(field, ctx.t("ha.err_number"));
    }
    parsed
}

/// The start request of a form, or the form's own errors (numbers, the offer list).
fn start_request(ctx: &Ctx, f: &HostedForm) -> Result<StartRequest, FormErrors> {
    let mut errors = FormErrors::default();
    let max_units = number(ctx, &mut errors, "max_units", &f.max_units);
    let max_minutes = number(ctx, &mut errors, "max_minutes", &f.max_minutes);
    let max_value_fen = if f.max_value.trim().is_empty() {
        None
    } else {
        let v = parse_yuan(&f.max_value);
        if v.is_none() {
            errors.add("max_value", ctx.t("err.yuan"));
        }
        v
    };
    let offers: Option<Vec<u64>> = f
        .offers
        .split([',', ' ', '，'])
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<u64>().ok())
        .collect();
    if offers.is_none() {
        errors.add("offers", ctx.t("ha.err_offers"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(StartRequest {
        fragment: f.fragment.clone(),
        mode: f.mode.clone(),
        max_units,
        max_minutes,
        max_value_fen,
        offers,
        password: f.password.clone(),
    })
}

/// The rule an `invalid_policy` refusal broke, next to its field: the mode, a limit
/// `auto` needs, the offer ids, or (the limits together) a manual policy given limits or
/// an automatic one with a limit that is not positive.
fn policy_errors(ctx: &Ctx, f: &HostedForm, fail: &ApiFailure) -> FormErrors {
    let mut errors = FormErrors::default();
    match fail.field.as_deref() {
        Some("mode") => errors.add("mode", ctx.t("ha.rule.mode")),
        Some(field @ ("max_units" | "max_minutes")) => errors.add(field, ctx.t("ha.rule.required")),
        Some("max_value_fen") => errors.add("max_value", ctx.t("ha.rule.required")),
        Some("offers") => errors.add("offers", ctx.t("ha.rule.offer_ids")),
        _ if f.mode.trim() == "manual" => errors.general = Some(ctx.t("ha.rule.manual_limits")),
        _ => errors.general = Some(ctx.t("ha.rule.positive")),
    }
    errors
}

/// `POST /supplier/agent-keys/hosted/{start|stop}`
pub async fn act(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(action): Path<String>,
    Form(f): Form<HostedForm>,
) -> PageResult {
    let a = ctx.require(Permission::SupplyRead)?;
    let ip = ctx.client_ip();
    let (done, notice) = match action.as_str() {
        "start" => match start_request(&ctx, &f) {
            Ok(r) => (
                api::run(&ctx, &f.csrf, hosted::start(&s.app, a, &ip, r)).await?,
                "ha.started",
            ),
            Err(errors) => return super::agent_keys::render_hosted(&s, &ctx, &f, &errors).await,
        },
        "stop" => {
            let r = StopRequest {
                password: f.password.clone(),
            };
            (
                api::run(&ctx, &f.csrf, hosted::stop(&s.app, a, &ip, r)).await?,
                "ha.stopped_done",
            )
        }
        _ => return Err(WebError::NotFound),
    };
    match done {
        Ok(h) => {
            let short: String = h.public_key.chars().take(16).collect();
            Ok(
                Redirect::to(&Ctx::notice_url("/supplier/agent-keys", notice, &short))
                    .into_response(),
            )
        }
        Err(fail) if fail.code == "forbidden" => Err(WebError::Forbidden),
        Err(fail) if fail.code == "invalid_policy" => {
            let errors = policy_errors(&ctx, &f, &fail);
            super::agent_keys::render_hosted(&s, &ctx, &f, &errors).await
        }
        Err(fail) => {
            let mut errors = FormErrors::default();
            let fields = [
                ("fragment", "fragment"),
                ("mode", "mode"),
                ("max_units", "max_units"),
                ("max_minutes", "max_minutes"),
                ("max_value_fen", "max_value"),
                ("offers", "offers"),
                ("password", "password"),
            ];
            errors.api(ctx.lang, &fail, &fields);
            super::agent_keys::render_hosted(&s, &ctx, &f, &errors).await
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hosted_form_hides_its_password_and_csrf() {
        let secret = "s3cret-VALUE-never-printed";
        let f = super::HostedForm {
            csrf: secret.into(),
            fragment: "hosted-1".into(),
            password: secret.into(),
            ..Default::default()
        };
        let debug = format!("{f:?}");
        assert!(!debug.contains(secret), "{debug}");
        assert!(debug.contains("hosted-1"), "{debug}");
    }
}
