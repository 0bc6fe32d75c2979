//! Customers and the customer 360 view with the finance forms (cash vouchers, credit lines).

use super::*;

pub(super) fn org_row_cells(ctx: &Ctx, o: &OrgRecord) -> maud::Markup {
    html! {
        td { (o.id.get()) }
        td { a href=(format!("/ops/customers/{}", o.id.get())) { (o.name) } }
        td { (ctx.t(&format!("org.kind.{}", o.kind.as_str()))) }
        td { (ctx.t(&format!("org.status.{}", o.status.as_str()))) }
        td { (ctx.lang.date(o.created_ms)) }
    }
}

/// `GET /ops/customers`: the organisations the caller sees.
pub async fn customers(State(s): State<WebState>, ctx: Ctx, Query(q): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::OrgRead)?;
    let page = service::Page {
        after: q.after.unwrap_or(0),
        limit: LIST_PAGE_ROWS,
    };
    let list = orgs::list(&s.app, a, page).await?;
    let body = html! {
        h1 { (ctx.t("ops.customers")) }
        table.data #customers {
            thead { tr { th { (ctx.t("org.id")) } th { (ctx.t("org.name")) } th { (ctx.t("org.kind")) } th { (ctx.t("org.status")) } th { (ctx.t("org.created")) } } }
            tbody { @for o in &list { tr { (org_row_cells(&ctx, o)) } } }
        }
        @if list.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = list.last() { a href=(format!("/ops/customers?after={}", last.id.get())) { (ctx.t("list.next")) } }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("ops.customers"),
        Some(&OPS),
        body,
    ))
}

/// Rows of each list in the customer 360 view.
pub const C360_ROWS: u32 = 20;

/// `GET /ops/customers/{id}`: one customer at a glance (404 outside the caller's
/// visibility).
pub async fn customer(State(s): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let a = ctx.require(Permission::OrgRead)?;
    let org = service::visible_org(&s.app, a, id).await?;
    let lang = ctx.lang;
    let users = if a.principal.has(Permission::UserRead) {
        let first = service::Page {
            after: 0,
            limit: C360_ROWS,
        };
        // Outside the caller's user visibility the list is empty, not the page missing.
        match users::list(&s.app, a, id, first).await {
            Ok(list) => list,
            Err(ServiceError::NotFound) => Vec::new(),
            Err(other) => return Err(other.into()),
        }
    } else {
        Vec::new()
    };
    let money = a.principal.has(Permission::AccountRead) && org.kind.is_customer();
    let (balances, instances, orders, lines) = if money {
        let g = accounts::glance(&s.app, a, id, C360_ROWS).await?;
        (Some(g.balances), g.instances, g.orders, g.statements)
    } else {
        (None, Vec::new(), Vec::new(), Vec::new())
    };
    let pids: Vec<i64> = instances
        .iter()
        .map(|i| i.product_id)
        .chain(orders.iter().map(|o| o.product_id))
        .collect();
    let (products, specs) = catalogue::names(&s.app, &pids).await?;
    let body = html! {
        h1 { (ctx.t("c360.title")) ": " (org.name) }
        dl.facts {
            dt { (ctx.t("org.kind")) } dd { (ctx.t(&format!("org.kind.{}", org.kind.as_str()))) }
            dt { (ctx.t("org.status")) } dd { (ctx.t(&format!("org.status.{}", org.status.as_str()))) }
            dt { (ctx.t("org.created")) } dd { (lang.datetime(org.created_ms)) }
        }
        @if !users.is_empty() {
            h2 { (ctx.t("c360.users")) }
            table.data { tbody { @for u in &users { tr { td { (u.login) } td { (u.display_name) } td { @for r in &u.roles { code { (r.as_str()) } " " } } } } } }
        }
        @if let Some(b) = balances {
            h2 { (ctx.t("c360.balances")) }
            dl.facts {
                dt { (ctx.t("account.cash")) } dd { (lang.money(b.cash_fen)) }
                dt { (ctx.t("account.voucher")) } dd { (lang.money(b.voucher_fen)) }
                dt { (ctx.t("account.credit")) } dd { (lang.money(b.credit_line_fen)) }
                dt { (ctx.t("account.credit_used")) } dd { (lang.money(b.credit_used_fen)) }
                dt { (ctx.t("account.frozen")) } dd { (lang.money(b.frozen_fen)) }
            }
            @if ctx.has(Permission::FinanceManage) {
                div.two {
                    form method="post" action=(format!("/ops/customers/{}", org.id.get())) novalidate {
                        (csrf(&ctx))
                        input type="hidden" name="what" value="voucher";
                        input type="hidden" name="idem" value=(form::idempotency_key());
                        (form::field(&ctx, "voucher", "fin.voucher", Kind::Decimal, "", &FormErrors::default(), true))
                        div.actions { button type="submit" { (ctx.t("fin.grant")) } }
                    }
                    form method="post" action=(format!("/ops/customers/{}", org.id.get())) novalidate {
                        (csrf(&ctx))
                        input type="hidden" name="what" value="credit";
                        (form::field(&ctx, "credit", "fin.credit_line", Kind::Decimal, "", &FormErrors::default(), true))
                        div.actions { button type="submit" { (ctx.t("common.save")) } }
                    }
                }
            }
            h2 { (ctx.t("c360.instances")) }
            @if instances.is_empty() { p.empty { (ctx.t("list.empty")) } }
            ul { @for i in &instances { li { "#" (i.id) " " (spec_label(&products, &specs, i.product_id, i.spec_id)) " · " (ctx.t(&format!("status.{}", i.status.as_str()))) } } }
            h2 { (ctx.t("c360.orders")) }
            @if orders.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (orders_table(&ctx, &orders, &products, &specs)) }
            h2 { (ctx.t("c360.statements")) }
            @if lines.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (statements_table(&ctx, &lines)) }
        }
    };
    Ok(layout::page(&ctx, &org.name, Some(&OPS), body))
}

/// A voucher grant or credit-line change on the 360 view.
#[derive(Debug, Default, Deserialize)]
pub struct GrantForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `voucher` or `credit`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    voucher: String,
    #[serde(default)]
    credit: String,
    #[serde(default)]
    idem: String,
}

/// What the 360 view's finance forms grant.
pub(super) enum Grant {
    /// A credit line, in fen.
    Credit(i64),
    /// A cash voucher.
    Voucher(VoucherGrant),
}

/// `POST /ops/customers/{id}`: grants a cash voucher or sets the credit line through the
/// API (beyond one finance user's limit it waits for a second one: four eyes).
pub async fn customer_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<GrantForm>,
) -> PageResult {
    let a = ctx.require(Permission::FinanceManage)?;
    let lang = ctx.lang;
    let back = format!("/ops/customers/{id}");
    let mut e = FormErrors::default();
    let (grant, field) = if f.what == "credit" {
        let fen = e.yuan_opt(lang, "credit", &f.credit).unwrap_or_else(|| {
            if e.get("credit").is_none() {
                e.add("credit", lang.t("err.required"));
            }
            0
        });
        (Grant::Credit(fen), "credit")
    } else {
        let fen = e.yuan(lang, "voucher", &f.voucher);
        let key = if f.idem.is_empty() {
            form::idempotency_key()
        } else {
            f.idem.clone()
        };
        (
            Grant::Voucher(VoucherGrant {
                amount_fen: fen,
                idempotency_key: key,
            }),
            "voucher",
        )
    };
    if let Some(m) = e.get(field) {
        let msg = m.to_owned();
        let body = html! {
            div.form-errors role="alert" { p { (msg) } }
            p { a.button href=(back) { (ctx.t("order.back")) } }
        };
        let mut r = layout::page(&ctx, &ctx.t("error.form"), Some(&OPS), body);
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    }
    let granted = api::run(&ctx, &f.csrf, async {
        match &grant {
            Grant::Credit(fen) => accounts::set_credit_line(&s.app, a, id, *fen).await,
            Grant::Voucher(v) => accounts::grant_voucher(&s.app, a, id, v).await,
        }
    })
    .await?;
    match granted {
        Ok(g) => {
            let key = if g.balances.is_none() {
                "fin.grant_pending"
            } else {
                "fin.granted"
            };
            Ok(done(&back, key, ""))
        }
        Err(fail) => refused(&ctx, &fail, &back),
    }
}
