//! The dashboard: orders per day, revenue per product, top customers, resources by status (server-rendered SVG charts).

use super::*;

/// `GET /ops`: orders per day, revenue per product, top customers, resource usage.
pub async fn dashboard(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    let lang = ctx.lang;
    let now = s.app.clock.now_unix_ms();
    let today = suanli_platform_domain::money::cst_day_start(now);
    let from = today - (DASHBOARD_DAYS - 1) * DAY_MS;
    let counts = analytics::order_counts(&s.app, a, from, today + DAY_MS).await?;
    let per_day: Vec<(String, i64)> = (0..DASHBOARD_DAYS)
        .map(|k| {
            let day = from + k * DAY_MS;
            let n = counts
                .iter()
                .find(|(d, _)| *d == day)
                .map_or(0, |(_, n)| *n);
            (lang.day_short(day), n)
        })
        .collect();
    let lines = analytics::bill_lines(
        &s.app,
        a,
        today - (REVENUE_DAYS - 1) * DAY_MS,
        today + DAY_MS,
        DASHBOARD_BILL_PAGES_MAX,
    )
    .await?;
    let mut by_product: BTreeMap<i64, i64> = BTreeMap::new();
    let mut by_customer: BTreeMap<i64, i64> = BTreeMap::new();
    for l in &lines {
        let revenue = l.prepaid_fen + l.usage_fen - l.refund_fen;
        *by_product.entry(l.product_id).or_default() += revenue;
        *by_customer.entry(l.org_id).or_default() += revenue;
    }
    let (products, _) = catalogue::names(&s.app, &[]).await?;
    let mut revenue: Vec<(String, i64)> = by_product
        .iter()
        .map(|(pid, v)| {
            (
                products
                    .iter()
                    .find(|p| p.id == *pid)
                    .map_or_else(|| format!("#{pid}"), |p| p.name.clone()),
                *v,
            )
        })
        .collect();
    revenue.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mut top: Vec<(i64, i64)> = by_customer.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(TOP_CUSTOMERS);
    let top_orgs = names(&s, top.iter().filter_map(|(o, _)| OrgId::new(*o))).await?;
    let top: Vec<(String, i64)> = top
        .iter()
        .map(|(o, v)| {
            (
                OrgId::new(*o).map_or_else(|| format!("#{o}"), |id| org_name(&top_orgs, id)),
                *v,
            )
        })
        .collect();
    let usage: Vec<(String, i64)> = analytics::instance_counts(&s.app, a)
        .await?
        .into_iter()
        .map(|(st, n)| (lang.t(&format!("status.{st}")), n))
        .collect();
    let money = |v: i64| lang.money(v);
    let count = |v: i64| lang.number(v);
    let chart = |key: &str, items: &[(String, i64)], svg: String| {
        html! {
            figure.chart-box {
                figcaption { (ctx.t(key)) }
                @if items.iter().all(|i| i.1 == 0) { p.empty { (ctx.t("dash.no_data")) } } @else { (raw(svg)) }
            }
        }
    };
    let body = html! {
        h1 { (ctx.t("ops.dashboard")) }
        div.charts {
            (chart("dash.orders_per_day", &per_day, charts::columns(&ctx.t("dash.orders_per_day"), &per_day, &count)))
            (chart("dash.revenue_per_product", &revenue, charts::bars(&ctx.t("dash.revenue_per_product"), &revenue, &money)))
            (chart("dash.top_customers", &top, charts::bars(&ctx.t("dash.top_customers"), &top, &money)))
            (chart("dash.resources", &usage, charts::bars(&ctx.t("dash.resources"), &usage, &count)))
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("ops.dashboard"),
        Some(&OPS),
        body,
    ))
}
