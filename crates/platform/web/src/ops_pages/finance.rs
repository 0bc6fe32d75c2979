//! Finance: offline transfers and money grants, approved by a second finance user (four eyes).

use super::*;

/// The offline transfer form.
#[derive(Debug, Default, Deserialize)]
pub struct OfflineForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `enter` or `approve`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reference: String,
}

pub(super) async fn finance_view(
    s: &WebState,
    ctx: &Ctx,
    f: &OfflineForm,
    e: &FormErrors,
) -> PageResult {
    let lang = ctx.lang;
    let a = ctx.require(Permission::FinanceManage)?;
    let list = payments::offline_worklist(&s.app, a, PAGE_SIZE_MAX).await?;
    let grants = accounts::grant_worklist(&s.app, a, PAGE_SIZE_MAX).await?;
    let orgs = names(
        s,
        list.iter()
            .map(|o| o.org)
            .chain(grants.iter().map(|g| g.org)),
    )
    .await?;
    let dirs = vec![
        ("in".to_owned(), ctx.t("fin.in")),
        ("out".to_owned(), ctx.t("fin.out")),
    ];
    let me = ctx.auth.as_ref().map(|a| a.user.id);
    let body = html! {
        h1 { (ctx.t("ops.finance")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #offline {
            thead { tr { th { "#" } th { (ctx.t("acc.customer")) } th { (ctx.t("fin.direction")) } th { (ctx.t("stmt.amount")) } th { (ctx.t("fin.reference")) } th { (ctx.t("reg.submitted")) } th { (ctx.t("org.status")) } th { (ctx.t("common.actions")) } } }
            tbody {
                @for o in list.iter().rev() {
                    tr {
                        td { (o.id) } td { (org_name(&orgs, o.org)) }
                        td { (ctx.t(if o.direction.as_str() == "in" { "fin.in" } else { "fin.out" })) }
                        td.num { (lang.money(o.amount_fen.get())) } td { (o.reference) }
                        td { (lang.datetime(o.entered_ms)) }
                        td { (ctx.t(&format!("fin.status.{}", o.status))) }
                        td {
                            @if o.status == "pending" && Some(o.entered_by) != me {
                                form.inline method="post" action="/ops/finance" {
                                    (csrf(ctx))
                                    input type="hidden" name="what" value="approve";
                                    input type="hidden" name="id" value=(o.id);
                                    button type="submit" { (ctx.t("fin.approve")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
        h2 { (ctx.t("fin.grants")) }
        @if grants.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #grants {
            thead { tr { th { "#" } th { (ctx.t("acc.customer")) } th { (ctx.t("fin.kind")) } th { (ctx.t("stmt.amount")) } th { (ctx.t("reg.submitted")) } th { (ctx.t("org.status")) } th { (ctx.t("common.actions")) } } }
            tbody {
                @for g in grants.iter().rev() {
                    tr {
                        td { (g.id) } td { (org_name(&orgs, g.org)) }
                        td { (ctx.t(&format!("fin.kind.{}", g.kind.as_str()))) }
                        td.num { (lang.money(g.amount_fen.get())) }
                        td { (lang.datetime(g.entered_ms)) }
                        td { (ctx.t(&format!("fin.grant.{}", g.status))) }
                        td {
                            @if g.status == "pending" && Some(g.entered_by) != me {
                                form.inline method="post" action="/ops/finance" {
                                    (csrf(ctx))
                                    input type="hidden" name="what" value="approve_grant";
                                    input type="hidden" name="id" value=(g.id);
                                    button type="submit" { (ctx.t("fin.approve")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
        h2 { (ctx.t("fin.enter")) }
        (form::summary(ctx, e))
        form method="post" action="/ops/finance" novalidate {
            (csrf(ctx))
            input type="hidden" name="what" value="enter";
            (form::field(ctx, "org", "fin.customer", Kind::Integer, &f.org, e, true))
            (form::select(ctx, "direction", "fin.direction", &dirs, &f.direction, e))
            (form::field(ctx, "amount", "account.amount", Kind::Decimal, &f.amount, e, true))
            (form::field(ctx, "reference", "fin.reference", Kind::Text, &f.reference, e, true))
            div.actions { button type="submit" { (ctx.t("common.submit")) } }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.finance"), Some(&OPS), body))
}

/// `GET /ops/finance`
pub async fn finance(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::FinanceManage)?;
    finance_view(&s, &ctx, &OfflineForm::default(), &FormErrors::default()).await
}

/// `POST /ops/finance`: enter or approve (by a second finance user) an offline transfer.
pub async fn finance_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<OfflineForm>,
) -> PageResult {
    let a = ctx.require(Permission::FinanceManage)?;
    let lang = ctx.lang;
    if f.what == "approve" || f.what == "approve_grant" {
        let id: i64 = f.id.parse().map_err(|_| WebError::NotFound)?;
        // Audited as the API names the approval, with the transfer's or grant's id.
        let approved = if f.what == "approve" {
            let target = format!("/api/v1/offline-transfers/{id}/approve");
            let action = (
                "POST /api/v1/offline-transfers/{id}/approve",
                target.as_str(),
            );
            api::run_as(&ctx, &f.csrf, action, async {
                payments::approve_offline(&s.app, a, id).await.map(|_| ())
            })
            .await?
        } else {
            let target = format!("/api/v1/money-grants/{id}/approve");
            let action = ("POST /api/v1/money-grants/{id}/approve", target.as_str());
            api::run_as(&ctx, &f.csrf, action, async {
                accounts::approve_grant(&s.app, a, id).await.map(|_| ())
            })
            .await?
        };
        return match approved {
            Ok(_) => Ok(done("/ops/finance", "fin.approved", "")),
            Err(fail) => refused(&ctx, &fail, "/ops/finance"),
        };
    }
    let mut e = FormErrors::default();
    let org = e.int(lang, "org", &f.org, 1, i64::MAX);
    let amount = e.yuan(lang, "amount", &f.amount);
    let reference = e.required(lang, "reference", &f.reference);
    let direction = match f.direction.as_str() {
        "in" => Direction::In,
        "out" => Direction::Out,
        _ => {
            e.add("direction", lang.t("err.choose"));
            Direction::In
        }
    };
    if e.is_empty() {
        let r = OfflineTransfer {
            org_id: org,
            direction,
            amount_fen: amount,
            reference,
        };
        // Audited as the API names it, like its approval.
        let action = (
            "POST /api/v1/offline-transfers",
            "/api/v1/offline-transfers",
        );
        match api::run_as(
            &ctx,
            &f.csrf,
            action,
            payments::enter_offline(&s.app, a, &r),
        )
        .await?
        {
            Ok(_) => return Ok(done("/ops/finance", "fin.entered", "")),
            Err(fail) => {
                e.api(
                    lang,
                    &fail,
                    &[
                        ("org_id", "org"),
                        ("amount_fen", "amount"),
                        ("reference", "reference"),
                    ],
                );
                if fail.status == StatusCode::NOT_FOUND || fail.code == "not_a_customer" {
                    e.general = None;
                    e.add("org", form::api_message(lang, &fail));
                }
            }
        }
    }
    let mut r = finance_view(&s, &ctx, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}
