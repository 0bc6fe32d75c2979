//! Ordering: the order form, the price breakdown before confirming (the same pricing function the store charges with), placing the order, adding to the cart.

use super::*;

/// The order form (both steps).
#[derive(Debug, Default, Deserialize)]
pub struct OrderForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    spec: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    months: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    coupon: String,
    /// `preview` or `confirm`.
    #[serde(default)]
    step: String,
    #[serde(default)]
    idem: String,
}

pub(super) async fn orderable_spec(
    s: &WebState,
    spec: &str,
) -> Result<(SpecRecord, ProductRecord), WebError> {
    let id: i64 = spec.trim().parse().map_err(|_| WebError::NotFound)?;
    Ok(orders::orderable_spec(&s.app, id).await?)
}

/// `GET /console/order?spec=ID`
pub async fn order_page(
    State(s): State<WebState>,
    ctx: Ctx,
    Query(f): Query<OrderForm>,
) -> PageResult {
    ctx.require(Permission::OrderPlace)?;
    let (sp, p) = orderable_spec(&s, &f.spec).await?;
    Ok(order_form_view(&ctx, &sp, &p, &f, &FormErrors::default()))
}

pub(super) fn order_form_view(
    ctx: &Ctx,
    sp: &SpecRecord,
    p: &ProductRecord,
    f: &OrderForm,
    e: &FormErrors,
) -> Response {
    let mut modes = Vec::new();
    if sp.pricing.prepaid.is_some() {
        modes.push(("prepaid".to_owned(), ctx.t("mode.prepaid")));
    }
    if sp.pricing.payg.is_some() {
        modes.push(("payg".to_owned(), ctx.t("mode.payg")));
    }
    let mode = if f.mode.is_empty() {
        modes.first().map_or("", |m| m.0.as_str())
    } else {
        f.mode.as_str()
    };
    let months = if f.months.is_empty() { "1" } else { &f.months };
    let quantity = if f.quantity.is_empty() {
        "1"
    } else {
        &f.quantity
    };
    let body = html! {
        h1 { (ctx.t("order.title")) ": " (p.name) " · " (sp.family) " " (sp.name) }
        (pricing_view(ctx.lang, &sp.pricing))
        (form::summary(ctx, e))
        form method="post" action="/console/order" novalidate {
            (csrf(ctx))
            input type="hidden" name="spec" value=(sp.id);
            (form::select(ctx, "mode", "order.mode", &modes, mode, e))
            (form::field(ctx, "months", "order.months", Kind::Integer, months, e, false))
            (form::field(ctx, "quantity", "order.quantity", Kind::Integer, quantity, e, true))
            (form::field(ctx, "coupon", "order.coupon", Kind::Text, &f.coupon, e, false))
            div.actions {
                button #preview-order type="submit" name="step" value="preview" { (ctx.t("order.preview")) }
                button #add-to-cart.secondary type="submit" name="step" value="cart" { (ctx.t("cart.add")) }
            }
        }
    };
    layout::page(ctx, &ctx.t("order.title"), Some(&CONSOLE), body)
}

/// `POST /console/order`: `step=preview` shows the price breakdown (the same pricing
/// function the store charges with); `step=confirm` places the order through the API.
pub async fn order_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<OrderForm>,
) -> PageResult {
    let a = ctx.require(Permission::OrderPlace)?;
    if f.step != "confirm" {
        // The preview and adding to the cart (a cookie) change nothing: not audited.
        suanli_platform_http::http::set_silent(ctx.audit.as_ref());
    }
    let lang = ctx.lang;
    let (sp, p) = orderable_spec(&s, &f.spec).await?;
    let mut e = FormErrors::default();
    let mode = match ChargingMode::parse(&f.mode) {
        Some(m) => m,
        None => {
            e.add("mode", lang.t("err.choose"));
            ChargingMode::Prepaid
        }
    };
    let months = if mode == ChargingMode::Prepaid {
        u32::try_from(e.int(lang, "months", &f.months, 1, i64::from(TERM_MONTHS_MAX))).unwrap_or(1)
    } else {
        0
    };
    let quantity = u32::try_from(e.int(
        lang,
        "quantity",
        &f.quantity,
        1,
        i64::from(suanli_platform_domain::pricing::QUANTITY_MAX),
    ))
    .unwrap_or(1);
    let coupon = f.coupon.trim().to_owned();
    let mut breakdown = None;
    if e.is_empty() {
        match orders::quote(&s.app, a, &sp, &p, mode, months, quantity).await {
            Ok(b) => breakdown = Some(b),
            Err(ServiceError::Invalid { message, .. }) => {
                e.add("mode", format!("{} ({message})", lang.t("err.rejected")));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let Some(b) = breakdown else {
        let mut r = order_form_view(&ctx, &sp, &p, &f, &e);
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    };
    if f.step == "cart" {
        let owner = ctx.user()?.user.id.get();
        let mut cart = crate::cart::Cart::of(&ctx.headers, owner);
        let added = cart.add(crate::cart::Item {
            spec: sp.id,
            mode,
            months,
            quantity,
        });
        if !added {
            e.general = Some(lang.tf("cart.full", &[&crate::cart::CART_ITEMS_MAX.to_string()]));
            let mut r = order_form_view(&ctx, &sp, &p, &f, &e);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(r);
        }
        let mut r =
            Redirect::to(&Ctx::notice_url("/console/cart", "cart.added", "")).into_response();
        cart.set_cookie(&mut r, owner);
        return Ok(r);
    }
    if f.step == "confirm" {
        let req = NewOrder {
            spec_id: sp.id,
            mode,
            months,
            quantity,
            coupon: (!coupon.is_empty()).then(|| coupon.clone()),
        };
        let idem = if f.idem.is_empty() {
            form::idempotency_key()
        } else {
            f.idem.clone()
        };
        let action = ("POST /api/v1/orders", "/api/v1/orders");
        let placed = api::run_as(&ctx, &f.csrf, action, async {
            let idem = Idem::of_request(&idem, "/api/v1/orders", &req)?;
            orders::place(&s.app, a, idem, &req).await
        })
        .await?;
        match placed {
            Ok(o) => {
                return Ok(Redirect::to(&Ctx::notice_url(
                    "/console/resources",
                    "order.done",
                    &format!("{} / #{}", o.order.id, o.instance.id),
                ))
                .into_response());
            }
            Err(fail) => {
                e.api(
                    lang,
                    &fail,
                    &[
                        ("coupon", "coupon"),
                        ("months", "months"),
                        ("quantity", "quantity"),
                        ("mode", "mode"),
                    ],
                );
                let mut r = order_form_view(&ctx, &sp, &p, &f, &e);
                *r.status_mut() = fail.status;
                return Ok(r);
            }
        }
    }
    let idem = form::idempotency_key();
    let body = html! {
        h1 { (ctx.t("order.breakdown")) }
        p { (p.name) " · " (sp.family) " " (sp.name) " · " (ctx.t(&mode_key(mode))) " · "
            @if mode == ChargingMode::Prepaid { (months) " × " } (ctx.t("order.quantity")) " " (quantity) }
        table.breakdown #breakdown {
            tbody {
                @if mode == ChargingMode::Prepaid {
                    tr { th { (ctx.t("order.list")) } td { (lang.money(b.list_fen.get())) } }
                    @for st in &b.steps {
                        tr { th { (ctx.t(&format!("order.step.{}", st.kind))) } td { "−" (lang.money(st.off_fen.get())) } }
                    }
                    tr.total { th { (ctx.t("order.total")) } td #order-total { (lang.money(b.total_fen.get())) } }
                } @else {
                    tr.total { th { (ctx.t("order.deposit")) } td #order-total { (lang.money(b.deposit_fen.get())) } }
                }
            }
        }
        @if !coupon.is_empty() { p.hint { (lang.tf("order.coupon_note", &[&coupon])) } }
        form method="post" action="/console/order" {
            (csrf(&ctx))
            input type="hidden" name="spec" value=(sp.id);
            input type="hidden" name="mode" value=(mode.as_str());
            input type="hidden" name="months" value=(months);
            input type="hidden" name="quantity" value=(quantity);
            input type="hidden" name="coupon" value=(coupon);
            input type="hidden" name="idem" value=(idem);
            input type="hidden" name="step" value="confirm";
            div.actions {
                button #confirm-order type="submit" { (ctx.t("order.confirm")) }
                a.button.secondary href=(format!("/console/order?spec={}", sp.id)) { (ctx.t("order.back")) }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        &ctx.t("order.breakdown"),
        Some(&CONSOLE),
        body,
    ))
}
