//! The operator's side of supplier money (`docs/supply.md` §4): a supplier's agreements
//! (record a new version), statement runs, statements and reconciliation at
//! `/ops/suppliers/{id}/money`; every supplier's payouts with the four-eyes check and
//! approval at `/ops/supplier-payouts`. [`supplier_columns`] gives the supplier list its
//! revenue and reputation columns.

use super::*;
use crate::supplier::revenue::{payouts_table, statements_table};
use crate::supplier::trades::reputation_view;
use suanli_platform_http::service::supply_money::{self as sm, AgreementRequest};
use suanli_platform_store::PayoutStatus;

/// The two cells the operator's supplier list (`/ops/suppliers`) shows per supplier:
/// settled revenue (gross) and payable, and the overall reputation score. `None` when
/// the caller may not see them (no `supplier:review`).
pub async fn supplier_columns(s: &WebState, ctx: &Ctx, org: OrgId) -> Option<(String, String)> {
    let a = ctx.auth.as_ref()?;
    let sum = sm::supplier_summary(&s.app, a, org.get()).await.ok()?;
    let lang = ctx.lang;
    let revenue = format!(
        "{} / {}",
        lang.money(sum.settled_gross_fen),
        lang.money(sum.payable_fen)
    );
    let rep = sum
        .reputation
        .and_then(|r| r.overall)
        .map_or("—".to_owned(), |v| format!("{v:.1}"));
    Some((revenue, rep))
}

/// The supplier-money form (`what`: `agreement` or `statement`).
#[derive(Debug, Default, Deserialize)]
pub struct MoneyForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    sales_mode: String,
    #[serde(default)]
    commission: String,
    #[serde(default)]
    period_kind: String,
    #[serde(default)]
    period: String,
}

async fn money_view(s: &WebState, ctx: &Ctx, id: i64, f: &MoneyForm, e: &FormErrors) -> PageResult {
    let a = either(ctx)?;
    let lang = ctx.lang;
    let review = a.principal.has(Permission::SupplierReview);
    let (agreements, summary) = if review {
        let agreements = sm::agreements_of(&s.app, a, id).await?;
        (agreements, Some(sm::supplier_summary(&s.app, a, id).await?))
    } else {
        (Vec::new(), None)
    };
    let finance = a.principal.has(Permission::FinanceRead);
    let statements = if finance {
        let page = service::Page::new(None, PAGE_SIZE_MAX)?;
        sm::supplier_statements(&s.app, a, id, page).await?
    } else {
        Vec::new()
    };
    let recon = if finance {
        Some(sm::reconcile_supplier(&s.app, a, id).await?)
    } else {
        None
    };
    let modes = vec![
        ("rebate".to_owned(), ctx.t("sm.mode.rebate")),
        ("discount".to_owned(), ctx.t("sm.mode.discount")),
    ];
    let periods = vec![
        ("monthly".to_owned(), ctx.t("sm.period.monthly")),
        ("quarterly".to_owned(), ctx.t("sm.period.quarterly")),
    ];
    let action = format!("/ops/suppliers/{id}/money");
    let body = html! {
        h1 { (ctx.t("sm.ops_title")) " #" (id) }
        @if let Some(summary) = &summary {
            dl.facts {
                dt { (ctx.t("sm.gross")) } dd { (lang.money(summary.settled_gross_fen)) }
                dt { (ctx.t("sm.payable")) } dd { (lang.money(summary.payable_fen)) }
            }
            h2 { (ctx.t("sm.reputation")) }
            (reputation_view(ctx, summary.reputation.as_ref()))
        }
        @if review { h2 { (ctx.t("sm.agreement")) } }
        @if !review {} @else if agreements.is_empty() { p.empty { (ctx.t("sm.no_agreement")) } } @else {
            table.data #agreements {
                thead { tr { th { (ctx.t("sm.version")) } th { (ctx.t("sm.sales_mode")) } th { (ctx.t("sm.commission")) } th { (ctx.t("sm.settlement_period")) } th { (ctx.t("org.status")) } } }
                tbody { @for g in &agreements {
                    tr { td { (g.version) } td { (ctx.t(&format!("sm.mode.{}", g.sales_mode.as_str()))) }
                         td { (crate::supplier::agreement::percent(g.commission.get())) }
                         td { (ctx.t(&format!("sm.period.{}", g.period.as_str()))) }
                         td { @match g.accepted_ms { Some(t) => { (ctx.t("sm.accepted")) " " (lang.datetime(t)) }, None => (ctx.t("sm.not_accepted")) } } }
                } }
            }
        }
        (form::summary(ctx, e))
        @if review {
            h2 { (ctx.t("sm.record_agreement")) }
            form method="post" action=(action) novalidate {
                (csrf(ctx))
                input type="hidden" name="what" value="agreement";
                (form::field(ctx, "body", "sm.text", Kind::Text, &f.body, e, true))
                (form::select(ctx, "sales_mode", "sm.sales_mode", &modes, &f.sales_mode, e))
                (form::field(ctx, "commission", "sm.commission_pct", Kind::Decimal, &f.commission, e, true))
                (form::select(ctx, "period_kind", "sm.settlement_period", &periods, &f.period_kind, e))
                div.actions { button type="submit" { (ctx.t("common.submit")) } }
            }
        }
        @if finance {
            h2 { (ctx.t("sm.statements")) }
            (statements_table(ctx, &statements))
            @if a.principal.has(Permission::FinanceManage) {
                form method="post" action=(action) novalidate {
                    (csrf(ctx))
                    input type="hidden" name="what" value="statement";
                    (form::field(ctx, "period", "sm.period_label", Kind::Text, &f.period, e, true))
                    div.actions { button type="submit" { (ctx.t("sm.run")) } }
                }
            }
            @if let Some(r) = &recon {
                h2 { (ctx.t("sm.reconciliation")) }
                @if r.differences.is_empty() { p #books-agree { (ctx.t("sm.books_agree")) } } @else {
                    table.data #differences {
                        thead { tr { th { (ctx.t("sm.check")) } th { (ctx.t("sm.left")) } th { (ctx.t("sm.right")) } } }
                        tbody { @for d in &r.differences {
                            tr { td { (ctx.t(&format!("sm.check.{}", d.check))) } td.num { (lang.money(d.left_fen)) } td.num { (lang.money(d.right_fen)) } }
                        } }
                    }
                }
            }
        }
    };
    Ok(layout::page(ctx, &ctx.t("sm.ops_title"), Some(&OPS), body))
}

/// The caller if it holds `supplier:review` (agreements) or `finance:read` (statements,
/// reconciliation), else the 403 page.
fn either(ctx: &Ctx) -> Result<&suanli_platform_http::auth::Authed, WebError> {
    if ctx.has(Permission::FinanceRead) {
        ctx.require(Permission::FinanceRead)
    } else {
        ctx.require(Permission::SupplierReview)
    }
}

/// `GET /ops/suppliers/{id}/money`
pub async fn supplier_money(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> PageResult {
    money_view(&s, &ctx, id, &MoneyForm::default(), &FormErrors::default()).await
}

/// Commission in percent with at most two decimals → basis points.
fn commission_bp(e: &mut FormErrors, lang: crate::i18n::Lang, v: &str) -> u32 {
    let bp = crate::i18n::parse_yuan(v)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n <= 10_000);
    bp.unwrap_or_else(|| {
        e.add("commission", lang.t("sm.err.commission"));
        0
    })
}

/// `POST /ops/suppliers/{id}/money`: record an agreement version or run a statement.
pub async fn supplier_money_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<MoneyForm>,
) -> PageResult {
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let back = format!("/ops/suppliers/{id}/money");
    if f.what == "statement" {
        let a = ctx.require(Permission::FinanceManage)?;
        let period = e.required(lang, "period", &f.period);
        if e.is_empty() {
            let target = format!("/api/v1/ops/suppliers/{id}/statements");
            let action = (
                "POST /api/v1/ops/suppliers/{id}/statements",
                target.as_str(),
            );
            match api::run_as(
                &ctx,
                &f.csrf,
                action,
                sm::run_statement(&s.app, a, id, &period),
            )
            .await?
            {
                Ok(run) => {
                    let key = if run.statement.is_some() {
                        "sm.statement_run"
                    } else {
                        "sm.statement_none"
                    };
                    return Ok(done(&back, key, &run.period));
                }
                Err(fail) => e.api(lang, &fail, &[("period", "period"), ("org_id", "period")]),
            }
        }
    } else {
        let a = ctx.require(Permission::SupplierReview)?;
        let body = e.required(lang, "body", &f.body);
        let commission = commission_bp(&mut e, lang, &f.commission);
        if e.is_empty() {
            let r = AgreementRequest {
                body,
                sales_mode: f.sales_mode.clone(),
                commission_bp: commission,
                period: f.period_kind.clone(),
            };
            let target = format!("/api/v1/ops/suppliers/{id}/agreements");
            let action = (
                "POST /api/v1/ops/suppliers/{id}/agreements",
                target.as_str(),
            );
            match api::run_as(
                &ctx,
                &f.csrf,
                action,
                sm::record_agreement(&s.app, a, id, &r),
            )
            .await?
            {
                Ok(_) => return Ok(done(&back, "sm.agreement_recorded", "")),
                Err(fail) => e.api(
                    lang,
                    &fail,
                    &[
                        ("body", "body"),
                        ("sales_mode", "sales_mode"),
                        ("commission_bp", "commission"),
                        ("period", "period_kind"),
                    ],
                ),
            }
        }
    }
    let mut r = money_view(&s, &ctx, id, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// The payout decision form.
#[derive(Debug, Default, Deserialize)]
pub struct PayoutDecision {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `check`, `approve` or `reject`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    reason: String,
}

/// `GET /ops/supplier-payouts`: every supplier's payouts with the finance actions.
pub async fn supplier_payouts(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::FinanceRead)?;
    let list = sm::payouts(&s.app, a, service::Page::new(None, PAGE_SIZE_MAX)?).await?;
    let me = a.user.id;
    let manage = a.principal.has(Permission::FinanceManage);
    let actions = |p: &suanli_platform_store::PayoutRecord| {
        let can_check = manage && p.status == PayoutStatus::Requested && p.requested_by != me;
        let can_approve = manage
            && p.status == PayoutStatus::Checked
            && p.checked_by != Some(me)
            && p.requested_by != me;
        let open = manage
            && matches!(p.status, PayoutStatus::Requested | PayoutStatus::Checked)
            && p.requested_by != me;
        html! {
            @for (what, key, show) in [("check", "sm.check_payout", can_check), ("approve", "fin.approve", can_approve)] {
                @if show {
                    form.inline method="post" action="/ops/supplier-payouts" {
                        (csrf(&ctx))
                        input type="hidden" name="what" value=(what);
                        input type="hidden" name="id" value=(p.id);
                        button type="submit" { (ctx.t(key)) }
                    }
                }
            }
            @if open {
                form.inline method="post" action="/ops/supplier-payouts" {
                    (csrf(&ctx))
                    input type="hidden" name="what" value="reject";
                    input type="hidden" name="id" value=(p.id);
                    input type="text" name="reason" aria-label=(ctx.t("sm.reason")) required;
                    button type="submit" { (ctx.t("sm.reject")) }
                }
            }
        }
    };
    let body = html! {
        h1 { (ctx.t("sm.payouts")) }
        (payouts_table(&ctx, &list, &actions))
    };
    Ok(layout::page(&ctx, &ctx.t("sm.payouts"), Some(&OPS), body))
}

/// `POST /ops/supplier-payouts`: check, approve (a second finance user) or reject.
pub async fn supplier_payouts_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<PayoutDecision>,
) -> PageResult {
    let a = ctx.require(Permission::FinanceManage)?;
    let id: i64 = f.id.trim().parse().map_err(|_| WebError::NotFound)?;
    let (api_action, key) = match f.what.as_str() {
        "check" => (
            "POST /api/v1/ops/supplier-payouts/{id}/check",
            "sm.payout_checked",
        ),
        "approve" => (
            "POST /api/v1/ops/supplier-payouts/{id}/approve",
            "fin.approved",
        ),
        "reject" => (
            "POST /api/v1/ops/supplier-payouts/{id}/reject",
            "sm.payout_rejected",
        ),
        _ => return Err(WebError::NotFound),
    };
    let target = api_action
        .replace("{id}", &id.to_string())
        .replace("POST ", "");
    let app = &s.app;
    let run = async {
        match f.what.as_str() {
            "check" => sm::check_payout(app, a, id).await.map(|_| ()),
            "approve" => sm::approve_payout(app, a, id).await.map(|_| ()),
            _ => sm::reject_payout(app, a, id, &f.reason).await.map(|_| ()),
        }
    };
    match api::run_as(&ctx, &f.csrf, (api_action, target.as_str()), run).await? {
        Ok(()) => Ok(done("/ops/supplier-payouts", key, "")),
        Err(fail) => refused(&ctx, &fail, "/ops/supplier-payouts"),
    }
}
