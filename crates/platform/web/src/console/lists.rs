//! Lists: orders, statements and bills (with the CSV export) of the caller's organisation.

use super::*;

/// An orders table (shared with the operations console).
pub fn orders_table(
    ctx: &Ctx,
    orders: &[OrderRecord],
    products: &[ProductRecord],
    specs: &[SpecRecord],
) -> Markup {
    let lang = ctx.lang;
    html! {
        table.data #orders {
            thead { tr {
                th { (ctx.t("order.id")) } th { (ctx.t("order.time")) } th { (ctx.t("order.kind")) }
                th { (ctx.t("res.product")) } th { (ctx.t("order.mode")) } th { (ctx.t("order.charged")) }
                th { (ctx.t("bills.discount")) } th { (ctx.t("order.refunded")) } th { (ctx.t("order.deposit")) }
            } }
            tbody {
                @for o in orders {
                    tr {
                        td { "#" (o.id) } td { (lang.datetime(o.created_ms)) }
                        td { (ctx.t(&format!("order.kind.{}", o.kind))) }
                        td { (spec_label(products, specs, o.product_id, o.spec_id)) " × " (o.quantity) }
                        td { (ctx.t(&mode_key(o.mode))) @if o.months > 0 { " · " (o.months) } }
                        td.num { (lang.money(o.charged_fen.get())) }
                        td.num { (lang.money(o.discount_fen.get())) }
                        td.num { (lang.money(o.refunded_fen.get())) }
                        td.num { (lang.money(o.deposit_fen.get())) }
                    }
                }
            }
        }
    }
}

/// `GET /console/orders`
pub async fn orders(State(s): State<WebState>, ctx: Ctx, Query(pg): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let list = accounts::orders(&s.app, a, a.org.id.get(), rows(&pg)).await?;
    let (products, specs) = catalogue_names(&s, list.iter().map(|o| o.product_id)).await?;
    let body = html! {
        h1 { (ctx.t("console.orders")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (orders_table(&ctx, &list, &products, &specs)) }
        @if list.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = list.last() { a href=(format!("/console/orders?after={}", last.id)) { (ctx.t("list.next")) } }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("console.orders"),
        Some(&CONSOLE),
        body,
    ))
}

/// A statements table (shared with the customer 360 view).
pub fn statements_table(ctx: &Ctx, lines: &[suanli_platform_store::StatementLine]) -> Markup {
    let lang = ctx.lang;
    html! {
        table.data #statements {
            thead { tr {
                th { (ctx.t("stmt.time")) } th { (ctx.t("stmt.type")) } th { (ctx.t("stmt.account")) }
                th { (ctx.t("stmt.amount")) } th { (ctx.t("stmt.balance")) } th { (ctx.t("stmt.memo")) }
            } }
            tbody {
                @for l in lines {
                    tr data-type=(l.kind) {
                        td { (lang.datetime(l.at_ms)) }
                        td { (ctx.t(&format!("stmt.type.{}", l.kind))) }
                        td { (ctx.t(&format!("acct.{}", l.account))) }
                        td.num.amount { (lang.money(l.amount_fen)) }
                        td.num { (lang.money(l.balance_after_fen)) }
                        td { (l.memo) @if let Some(i) = l.instance_id { " #" (i) } }
                    }
                }
            }
        }
    }
}

/// `GET /console/statements`
pub async fn statements(State(s): State<WebState>, ctx: Ctx, Query(pg): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lines = accounts::statements(&s.app, a, a.org.id.get(), rows(&pg)).await?;
    let body = html! {
        h1 { (ctx.t("console.statements")) }
        @if lines.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (statements_table(&ctx, &lines)) }
        @if lines.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = lines.last() { a href=(format!("/console/statements?after={}", last.id)) { (ctx.t("list.next")) } }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("console.statements"),
        Some(&CONSOLE),
        body,
    ))
}

/// Bill filters.
#[derive(Debug, Default, Deserialize)]
pub struct BillForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    mode: String,
}

pub(super) fn iso_date(ms: i64) -> String {
    let local = ms + suanli_platform_domain::money::CST_OFFSET_MS;
    let (y, m, d) = suanli_platform_domain::money::civil_from_days(
        local.div_euclid(suanli_platform_domain::money::DAY_MS),
    );
    format!("{y:04}-{m:02}-{d:02}")
}

pub(super) fn bill_filter(
    lang: Lang,
    f: &BillForm,
    now: i64,
    e: &mut FormErrors,
) -> (BillRequest, String, String) {
    let (default_from, default_to) = accounts::default_span(now);
    let from = if f.from.trim().is_empty() {
        default_from
    } else {
        parse_date(&f.from).unwrap_or_else(|| {
            e.add("from", lang.t("err.date"));
            default_from
        })
    };
    let to = if f.to.trim().is_empty() {
        default_to
    } else {
        parse_date(&f.to).unwrap_or_else(|| {
            e.add("to", lang.t("err.date"));
            default_to
        })
    };
    let filter = BillRequest {
        from_ms: from,
        to_ms: to,
        product_id: f.product.trim().parse().ok(),
        mode: ChargingMode::parse(&f.mode),
        limit: Some(PAGE_SIZE_MAX),
        ..BillRequest::default()
    };
    (filter, iso_date(from), iso_date(to))
}

/// `GET /console/bills`
pub async fn bills(State(s): State<WebState>, ctx: Ctx, Query(f): Query<BillForm>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let (mut filter, from, to) = bill_filter(lang, &f, s.app.clock.now_unix_ms(), &mut e);
    filter.org_id = Some(a.org.id.get());
    let lines = accounts::bill(&s.app, a, &filter).await?.items;
    let (products, _) = catalogue_names(&s, std::iter::empty()).await?;
    let mut prod_opts = vec![(String::new(), ctx.t("filter.any"))];
    prod_opts.extend(products.iter().map(|p| (p.id.to_string(), p.name.clone())));
    let mode_opts = vec![
        (String::new(), ctx.t("filter.any")),
        ("prepaid".to_owned(), ctx.t("mode.prepaid")),
        ("payg".to_owned(), ctx.t("mode.payg")),
    ];
    let csv_q = serde_urlencoded::to_string([
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("product", f.product.as_str()),
        ("mode", f.mode.as_str()),
    ])
    .unwrap_or_default();
    let body = html! {
        h1 { (ctx.t("console.bills")) }
        form.filters method="get" action="/console/bills" {
            (form::field(&ctx, "from", "bills.period_from", Kind::Date, &from, &e, false))
            (form::field(&ctx, "to", "bills.period_to", Kind::Date, &to, &e, false))
            (form::select(&ctx, "product", "bills.product", &prod_opts, &f.product, &e))
            (form::select(&ctx, "mode", "bills.mode", &mode_opts, &f.mode, &e))
            div.actions {
                button type="submit" { (ctx.t("filter.apply")) }
                a.button.secondary href=(format!("/console/bills.csv?{csv_q}")) download { (ctx.t("bills.csv")) }
            }
        }
        @if lines.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #bills {
                thead { tr {
                    th { (ctx.t("bills.product")) } th { (ctx.t("bills.mode")) } th { (ctx.t("bills.prepaid")) }
                    th { (ctx.t("bills.usage")) } th { (ctx.t("bills.refund")) } th { (ctx.t("bills.discount")) }
                    th { (ctx.t("bills.unpaid")) } th { (ctx.t("bills.due")) }
                } }
                tbody {
                    @for l in &lines {
                        tr {
                            td { (products.iter().find(|p| p.id == l.product_id).map_or_else(|| format!("#{}", l.product_id), |p| p.name.clone())) }
                            td { (ChargingMode::parse(&l.mode).map_or_else(|| l.mode.clone(), |m| ctx.t(&mode_key(m)))) }
                            td.num { (lang.money(l.prepaid_fen)) } td.num { (lang.money(l.usage_fen)) }
                            td.num { (lang.money(l.refund_fen)) } td.num { (lang.money(l.discount_fen)) }
                            td.num { (lang.money(l.unpaid_fen)) } td.num.due { (lang.money(l.amount_due_fen)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("console.bills"),
        Some(&CONSOLE),
        body,
    ))
}

/// `GET /console/bills.csv`: the same lines as CSV (amounts in yuan with two decimals).
pub async fn bills_csv(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(f): Query<BillForm>,
) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let mut e = FormErrors::default();
    let (mut filter, from, to) = bill_filter(ctx.lang, &f, s.app.clock.now_unix_ms(), &mut e);
    if !e.is_empty() {
        return Err(WebError::NotFound);
    }
    filter.org_id = Some(a.org.id.get());
    let lines = accounts::bill(&s.app, a, &filter).await?.items;
    let yuan = |fen: i64| {
        let sign = if fen < 0 { "-" } else { "" };
        let a = fen.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    };
    let mut out = String::from(
        "product_id,mode,prepaid_yuan,usage_yuan,refund_yuan,discount_yuan,unpaid_yuan,amount_due_yuan\n",
    );
    for l in &lines {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            l.product_id,
            l.mode,
            yuan(l.prepaid_fen),
            yuan(l.usage_fen),
            yuan(l.refund_fen),
            yuan(l.discount_fen),
            yuan(l.unpaid_fen),
            yuan(l.amount_due_fen)
        ));
    }
    let disposition = format!("attachment; filename=\"bill-{from}-{to}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}
