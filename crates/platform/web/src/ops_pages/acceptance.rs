//! Orders and the operator's acceptance of manually provisioned instances.

use super::*;

/// `GET /ops/orders`: every order, and the instances of the page awaiting acceptance.
pub async fn orders(State(s): State<WebState>, ctx: Ctx, Query(q): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    let page = service::Page {
        after: q.after.unwrap_or(0),
        limit: LIST_PAGE_ROWS,
    };
    let list = orders::list_all(&s.app, a, page).await?;
    // Every instance waiting for acceptance (oldest first), whatever page of orders is shown.
    let instances = orders::pending_instances(&s.app, a, PAGE_SIZE_MAX).await?;
    let pending: Vec<_> = instances.iter().collect();
    let pids: Vec<i64> = list
        .iter()
        .map(|o| o.product_id)
        .chain(pending.iter().map(|i| i.product_id))
        .collect();
    let (products, specs) = catalogue::names(&s.app, &pids).await?;
    let customers = names(&s, pending.iter().map(|i| i.org)).await?;
    let body = html! {
        h1 { (ctx.t("ops.orders")) }
        h2 { (ctx.t("acc.pending")) }
        @if pending.is_empty() { p.empty { (ctx.t("list.empty")) } }
        @for i in &pending {
            form.card method="post" action=(format!("/ops/instances/{}/accept", i.id)) novalidate {
                (csrf(&ctx))
                p { "#" (i.id) " · " (spec_label(&products, &specs, i.product_id, i.spec_id)) " · " (ctx.t("acc.customer")) ": " (org_name(&customers, i.org)) }
                (form::field(&ctx, "resource_id", "acc.resource_id", Kind::Text, "", &FormErrors::default(), true))
                (form::field(&ctx, "access_address", "acc.address", Kind::Text, "", &FormErrors::default(), true))
                div.actions { button type="submit" { (ctx.t("acc.accept")) } }
            }
        }
        h2 { (ctx.t("console.orders")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else { (orders_table(&ctx, &list, &products, &specs)) }
        @if list.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = list.last() { a href=(format!("/ops/orders?after={}", last.id)) { (ctx.t("list.next")) } }
        }
    };
    Ok(layout::page(&ctx, &ctx.t("ops.orders"), Some(&OPS), body))
}

/// The acceptance form.
#[derive(Debug, Default, Deserialize)]
pub struct AcceptForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    access_address: String,
}

/// `POST /ops/instances/{id}/accept`: provisioning details filled back.
pub async fn accept(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<AcceptForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrderManage)?;
    let r = Acceptance {
        resource_id: f.resource_id.trim().to_owned(),
        access_address: f.access_address.trim().to_owned(),
        opened_ms: None,
    };
    match api::run(&ctx, &f.csrf, orders::accept(&s.app, a, id, &r)).await? {
        Ok(_) => Ok(done("/ops/orders", "acc.accepted", &id.to_string())),
        Err(fail) => refused(&ctx, &fail, "/ops/orders"),
    }
}
