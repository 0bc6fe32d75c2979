//! Resources: the caller's instances with renewal and unsubscribe (the prorated refund shown first).

use super::*;

/// Product and spec names for a page of rows: two queries.
pub(crate) async fn catalogue_names(
    s: &WebState,
    product_ids: impl Iterator<Item = i64>,
) -> Result<(Vec<ProductRecord>, Vec<SpecRecord>), WebError> {
    let ids: Vec<i64> = product_ids.collect();
    Ok(catalogue::names(&s.app, &ids).await?)
}

/// A page of the console's lists.
pub(super) fn rows(pg: &Page) -> service::Page {
    service::Page {
        after: pg.after.unwrap_or(0),
        limit: LIST_PAGE_ROWS,
    }
}

/// `product / family name` of a row.
pub fn spec_label(products: &[ProductRecord], specs: &[SpecRecord], pid: i64, sid: i64) -> String {
    let p = products
        .iter()
        .find(|p| p.id == pid)
        .map_or_else(|| format!("#{pid}"), |p| p.name.clone());
    let sp = specs
        .iter()
        .find(|s| s.id == sid)
        .map_or_else(|| format!("#{sid}"), |s| format!("{} {}", s.family, s.name));
    format!("{p} / {sp}")
}

/// `GET /console/resources`
pub async fn resources(State(s): State<WebState>, ctx: Ctx, Query(pg): Query<Page>) -> PageResult {
    let a = ctx.require(Permission::AccountRead)?;
    let lang = ctx.lang;
    let list = accounts::instances(&s.app, a, a.org.id.get(), rows(&pg)).await?;
    let (products, specs) = catalogue_names(&s, list.iter().map(|i| i.product_id)).await?;
    let now = s.app.clock.now_unix_ms();
    let can_order = ctx.has(Permission::OrderPlace);
    let body = html! {
        h1 { (ctx.t("console.resources")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #resources {
            thead { tr {
                th { (ctx.t("res.id")) } th { (ctx.t("res.product")) } th { (ctx.t("order.mode")) }
                th { (ctx.t("res.status")) } th { (ctx.t("res.expires")) } th { (ctx.t("res.access")) } th { (ctx.t("res.actions")) }
            } }
            tbody {
                @for i in &list {
                    tr data-instance=(i.id) {
                        td { "#" (i.id) }
                        td { (spec_label(&products, &specs, i.product_id, i.spec_id)) " × " (i.quantity) }
                        td { (ctx.t(&mode_key(i.mode))) }
                        td.status { (ctx.t(&status_key(i.status))) }
                        td {
                            @if let Some(e) = i.ends_ms {
                                (lang.date(e))
                                @if i.status != InstanceStatus::Released && e > now && e - now < EXPIRY_WARNING_DAYS * suanli_platform_domain::money::DAY_MS {
                                    " " span.badge.warn { (ctx.t("res.expiring")) }
                                }
                            } @else { (ctx.t("common.none")) }
                        }
                        td { (i.access_address.clone().unwrap_or_else(|| ctx.t("common.none"))) }
                        td.actions {
                            @if can_order && i.status != InstanceStatus::Released {
                                @if i.mode == ChargingMode::Prepaid && i.status != InstanceStatus::Pending {
                                    form.inline method="post" action=(format!("/console/resources/{}/renew", i.id)) {
                                        (csrf(&ctx))
                                        input type="hidden" name="idem" value=(form::idempotency_key());
                                        label.visually-hidden for=(format!("renew-{}", i.id)) { (ctx.t("order.months")) }
                                        input.small id=(format!("renew-{}", i.id)) name="months" value="1" inputmode="numeric" size="2";
                                        button type="submit" { (ctx.t("res.renew")) }
                                    }
                                }
                                a.button.secondary href=(format!("/console/resources/{}/unsubscribe", i.id)) { (ctx.t("res.unsubscribe")) }
                            }
                        }
                    }
                }
            }
        }
        @if list.len() == LIST_PAGE_ROWS as usize {
            @if let Some(last) = list.last() { a href=(format!("/console/resources?after={}", last.id)) { (ctx.t("list.next")) } }
        }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("console.resources"),
        Some(&CONSOLE),
        body,
    ))
}

pub(super) async fn own_instance(
    s: &WebState,
    ctx: &Ctx,
    id: i64,
) -> Result<InstanceRecord, WebError> {
    let a = ctx.require(Permission::OrderPlace)?;
    Ok(orders::instance(&s.app, a, id).await?)
}

/// The refund an unsubscribe gives now (prepaid), with the days counted.
pub(super) fn refund_preview(i: &InstanceRecord, now: i64) -> Option<(Fen, i64, i64)> {
    if i.mode != ChargingMode::Prepaid {
        return None;
    }
    let paid = i.paid.total().ok()?;
    if i.status == InstanceStatus::Pending {
        return Some((paid, 0, 0));
    }
    let end = i.ends_ms?;
    let (total, used) = suanli_platform_domain::proration::days(i.span_start_ms, end, now);
    let refund =
        suanli_platform_domain::proration::refund_amount(paid, i.span_start_ms, end, now).ok()?;
    Some((refund, used, total))
}

/// `GET /console/resources/{id}/unsubscribe`: the refund, then a confirm button.
pub async fn unsubscribe_page(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> PageResult {
    let i = own_instance(&s, &ctx, id).await?;
    if i.status == InstanceStatus::Released {
        return Err(WebError::NotFound);
    }
    Ok(unsubscribe_view(
        &ctx,
        &i,
        s.app.clock.now_unix_ms(),
        &FormErrors::default(),
    ))
}

pub(super) fn unsubscribe_view(
    ctx: &Ctx,
    i: &InstanceRecord,
    now: i64,
    e: &FormErrors,
) -> Response {
    let lang = ctx.lang;
    let body = html! {
        h1 { (ctx.t("res.unsub.title")) " #" (i.id) }
        (form::summary(ctx, e))
        @match refund_preview(i, now) {
            Some((refund, used, total)) => {
                dl.facts {
                    dt { (ctx.t("res.unsub.refund")) } dd #refund { (lang.money(refund.get())) }
                    dt { (ctx.t("res.expires")) } dd { (i.ends_ms.map(|e| lang.date(e)).unwrap_or_default()) }
                    dt { "" } dd { (lang.tf("res.unsub.days", &[&used.to_string(), &total.to_string()])) }
                }
            }
            None => { p { (ctx.t("res.unsub.payg")) } }
        }
        form method="post" action=(format!("/console/resources/{}/unsubscribe", i.id)) {
            (csrf(ctx))
            input type="hidden" name="idem" value=(form::idempotency_key());
            div.actions {
                button #confirm-unsubscribe.danger type="submit" { (ctx.t("res.unsub.confirm")) }
                a.button.secondary href="/console/resources" { (ctx.t("order.back")) }
            }
        }
    };
    layout::page(ctx, &ctx.t("res.unsub.title"), Some(&CONSOLE), body)
}

/// An order operation's form on a resource.
#[derive(Debug, Default, Deserialize)]
pub struct ResourceForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    idem: String,
    #[serde(default)]
    months: String,
}

/// `POST /console/resources/{id}/unsubscribe`
pub async fn unsubscribe_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ResourceForm>,
) -> PageResult {
    let i = own_instance(&s, &ctx, id).await?;
    let idem = if f.idem.is_empty() {
        form::idempotency_key()
    } else {
        f.idem.clone()
    };
    let a = ctx.user()?;
    let path = format!("/api/v1/instances/{id}/unsubscribe");
    let done = api::run(&ctx, &f.csrf, async {
        let idem = Idem::of(Some(&idem), &path, b"")?;
        orders::unsubscribe(&s.app, a, idem, id).await
    })
    .await?;
    match done {
        Ok(o) => Ok(Redirect::to(&Ctx::notice_url(
            "/console/resources",
            "res.unsub.done",
            &ctx.lang.money(o.order.refunded_fen.get()),
        ))
        .into_response()),
        Err(fail) => {
            let mut e = FormErrors::default();
            e.api(ctx.lang, &fail, &[]);
            let mut r = unsubscribe_view(&ctx, &i, s.app.clock.now_unix_ms(), &e);
            *r.status_mut() = fail.status;
            Ok(r)
        }
    }
}

/// `POST /console/resources/{id}/renew`
pub async fn renew_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ResourceForm>,
) -> PageResult {
    own_instance(&s, &ctx, id).await?;
    let a = ctx.user()?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let months = e.int(lang, "months", &f.months, 1, i64::from(TERM_MONTHS_MAX));
    if e.is_empty() {
        let path = format!("/api/v1/instances/{id}/renew");
        let months = u32::try_from(months).unwrap_or(1);
        let renewed = api::run(&ctx, &f.csrf, async {
            let idem = Idem::of_request(&f.idem, &path, &json!({"months": months}))?;
            orders::renew(&s.app, a, idem, id, months).await
        })
        .await?;
        match renewed {
            Ok(_) => {
                return Ok(Redirect::to(&Ctx::notice_url(
                    "/console/resources",
                    "res.renew.done",
                    "",
                ))
                .into_response());
            }
            Err(fail) => e.api(lang, &fail, &[("months", "months")]),
        }
    }
    let msg = e
        .get("months")
        .map(str::to_owned)
        .or(e.general)
        .unwrap_or_default();
    let body = html! {
        h1 { (ctx.t("res.renew")) " #" (id) }
        div.form-errors role="alert" { p { (msg) } }
        p { a href="/console/resources" { (ctx.t("console.resources")) } }
    };
    let mut r = layout::page(&ctx, &ctx.t("res.renew"), Some(&CONSOLE), body);
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}
