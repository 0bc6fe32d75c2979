//! Forms: fields with their labels and the validation message next to them, input
//! checks at the edge, and API failures turned into messages on the right field.

use crate::api::ApiFailure;
use crate::ctx::Ctx;
use crate::i18n::{Lang, has_key, parse_yuan};
use maud::{Markup, html};

/// Longest text accepted in any single form field, in characters (the API bounds each
/// field more tightly; this only stops absurd input early).
pub const FIELD_CHARS_MAX: usize = 2_000;

/// Messages of one submitted form: per field, and for the form as a whole.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    /// (field name, message).
    pub fields: Vec<(String, String)>,
    /// A message for the whole form.
    pub general: Option<String>,
}

impl FormErrors {
    /// Adds a message for `field`.
    pub fn add(&mut self, field: &str, message: String) {
        self.fields.push((field.to_owned(), message));
    }
    /// The message for `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    /// A required text field: trimmed, non-empty, bounded.
    pub fn required(&mut self, lang: Lang, field: &str, v: &str) -> String {
        let v = v.trim();
        if v.is_empty() {
            self.add(field, lang.t("err.required"));
        }
        v.chars().take(FIELD_CHARS_MAX).collect()
    }

    /// A required yuan amount > 0, in fen.
    pub fn yuan(&mut self, lang: Lang, field: &str, v: &str) -> i64 {
        match parse_yuan(v) {
            Some(f) if f > 0 => f,
            Some(_) => {
                self.add(field, lang.t("err.positive"));
                0
            }
            None => {
                self.add(field, lang.t("err.yuan"));
                0
            }
        }
    }

    /// An optional yuan amount (may be 0), in fen.
    pub fn yuan_opt(&mut self, lang: Lang, field: &str, v: &str) -> Option<i64> {
        if v.trim().is_empty() {
            return None;
        }
        match parse_yuan(v) {
            Some(f) => Some(f),
            None => {
                self.add(field, lang.t("err.yuan"));
                None
            }
        }
    }

    /// An integer in `min..=max`.
    pub fn int(&mut self, lang: Lang, field: &str, v: &str, min: i64, max: i64) -> i64 {
        match v.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                self.add(
                    field,
                    lang.tf("err.range", &[&min.to_string(), &max.to_string()]),
                );
                min
            }
        }
    }

    /// A percentage with at most two decimals, as basis points.
    pub fn percent_bp(&mut self, lang: Lang, field: &str, v: &str) -> u32 {
        match parse_yuan(v) {
            Some(bp) if bp <= 10_000 => u32::try_from(bp).unwrap_or(0),
            _ => {
                self.add(field, lang.t("err.bp"));
                0
            }
        }
    }

    /// Puts an API failure on the field it names (mapped through `fields`: API field →
    /// form field), or on the form.
    pub fn api(&mut self, lang: Lang, f: &ApiFailure, fields: &[(&str, &str)]) {
        let msg = api_message(lang, f);
        let target = f.field.as_deref().and_then(|af| {
            fields
                .iter()
                .find(|(a, _)| *a == af || af.starts_with(&format!("{a}.")))
                .map(|(_, ff)| *ff)
        });
        match target {
            Some(ff) => self.add(ff, msg),
            None => self.general = Some(msg),
        }
    }
}

/// The message for an API failure in `lang`: the translation of its code; the API's own
/// (English) detail is added where it says more.
pub fn api_message(lang: Lang, f: &ApiFailure) -> String {
    let code = match f.code.as_str() {
        "csrf_missing" | "csrf_invalid" => "csrf",
        "unknown_field" | "missing_field" => "invalid_field",
        "session_invalid" | "session_expired" | "unauthenticated" => "csrf",
        // Money rules answer their own codes; the pages show them as one refusal with
        // the message (the two with their own text keep it).
        c if c != "insufficient_balance"
            && c != "four_eyes"
            && suanli_platform_domain::rejection::MoneyRejection::CODES.contains(&c) =>
        {
            "rejected"
        }
        c => c,
    };
    let key = format!("err.{code}");
    let base = if has_key(&key) {
        lang.t(&key)
    } else {
        lang.t("err.invalid_field")
    };
    let detailed = code == "rejected"
        || matches!(
            f.code.as_str(),
            "invalid_field" | "insufficient_balance" | "conflict" | "password_policy"
        );
    if detailed && !f.message.is_empty() && lang == Lang::En {
        format!("{base} ({})", f.message)
    } else {
        base
    }
}

/// Input kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// Password.
    Password,
    /// Number (decimal allowed).
    Decimal,
    /// Whole number.
    Integer,
    /// Date.
    Date,
}

/// A labelled input with its message below it (`aria-describedby`, `aria-invalid`).
pub fn field(
    ctx: &Ctx,
    name: &str,
    label_key: &str,
    kind: Kind,
    value: &str,
    errors: &FormErrors,
    required: bool,
) -> Markup {
    let id = format!("f-{name}");
    let err_id = format!("{id}-err");
    let err = errors.get(name);
    let (ty, mode) = match kind {
        Kind::Text => ("text", None),
        Kind::Password => ("password", None),
        Kind::Decimal => ("text", Some("decimal")),
        Kind::Integer => ("text", Some("numeric")),
        Kind::Date => ("date", None),
    };
    html! {
        div.field.has-error[err.is_some()] {
            label for=(id) { (ctx.t(label_key)) @if required { span.req aria-hidden="true" { " *" } } }
            input id=(id) name=(name) type=(ty) inputmode=[mode] value=(value)
                required[required] aria-invalid=[err.map(|_| "true")]
                aria-describedby=[err.map(|_| err_id.as_str())]
                autocomplete=(if kind == Kind::Password { "current-password" } else { "off" });
            @if let Some(m) = err {
                p.field-error id=(err_id) role="alert" { (m) }
            }
        }
    }
}

/// A labelled select; `options` are (value, label).
pub fn select(
    ctx: &Ctx,
    name: &str,
    label_key: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &FormErrors,
) -> Markup {
    let id = format!("f-{name}");
    let err_id = format!("{id}-err");
    let err = errors.get(name);
    html! {
        div.field.has-error[err.is_some()] {
            label for=(id) { (ctx.t(label_key)) }
            select id=(id) name=(name) aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| err_id.as_str())] {
                @for (v, l) in options {
                    option value=(v) selected[v == selected] { (l) }
                }
            }
            @if let Some(m) = err {
                p.field-error id=(err_id) role="alert" { (m) }
            }
        }
    }
}

/// A checkbox.
pub fn checkbox(ctx: &Ctx, name: &str, label_key: &str, checked: bool) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field.check {
            input id=(id) type="checkbox" name=(name) value="on" checked[checked];
            label for=(id) { (ctx.t(label_key)) }
        }
    }
}

/// The summary at the top of a form with errors.
pub fn summary(ctx: &Ctx, errors: &FormErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.form-errors role="alert" {
                p { (ctx.t("error.form")) }
                @if let Some(g) = &errors.general { p.general { (g) } }
            }
        }
    }
}

/// A fresh idempotency key for a form (hex of 16 random bytes).
pub fn idempotency_key() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Without randomness the order form still works: the key is then the time.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        return format!("t{t}");
    }
    hex::encode(b)
}
