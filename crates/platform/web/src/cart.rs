//! The cart (seed 004: 购物车聚合购买): items kept in a cookie on the customer's browser,
//! priced together with the same pricing function the store charges with, and bought in
//! one go — each item an order through the API with its own idempotency key, so a
//! repeated checkout never buys an item twice.

use crate::api;
use crate::console::spec_label;
use crate::ctx::{Ctx, cookie};
use crate::form::{self, FormErrors};
use crate::layout::{self, CONSOLE, csrf};
use crate::{PageResult, WebState};
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use suanli_platform_domain::Permission;
use suanli_platform_domain::pricing::ChargingMode;
use suanli_platform_http::service::orders::{self, Idem, Line, NewOrder};

/// Name of the cart cookie.
pub const CART_COOKIE: &str = "suanli_cart";
/// Items a cart holds at most.
pub const CART_ITEMS_MAX: usize = 10;

/// One item: a spec, mode, term and quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Spec id.
    pub spec: i64,
    /// Charging mode.
    pub mode: ChargingMode,
    /// Months (prepaid) or 0.
    pub months: u32,
    /// Units.
    pub quantity: u32,
}

/// The cart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cart {
    /// Items in the order added.
    pub items: Vec<Item>,
}

impl Cart {
    /// `owner`'s cart in the request's cookie; unreadable items are dropped, and a cart
    /// another user filled in this browser is not shown (nor bought).
    pub fn of(headers: &HeaderMap, owner: i64) -> Cart {
        let value = cookie(headers, CART_COOKIE).unwrap_or("");
        let items = match value.split_once('~') {
            Some((who, items)) if who.parse() == Ok(owner) => items,
            _ => "",
        };
        let items = items
            .split('_')
            .filter_map(|it| {
                let mut p = it.split('.');
                let spec = p.next()?.parse().ok()?;
                let mode = ChargingMode::parse(p.next()?)?;
                let months = p.next()?.parse().ok()?;
                let quantity = p.next()?.parse().ok()?;
                Some(Item {
                    spec,
                    mode,
                    months,
                    quantity,
                })
            })
            .take(CART_ITEMS_MAX)
            .collect();
        Cart { items }
    }

    /// Adds an item; `false` when the cart is full.
    pub fn add(&mut self, item: Item) -> bool {
        if self.items.len() >= CART_ITEMS_MAX {
            return false;
        }
        self.items.push(item);
        true
    }

    fn encode(&self) -> String {
        self.items
            .iter()
            .map(|i| format!("{}.{}.{}.{}", i.spec, i.mode.as_str(), i.months, i.quantity))
            .collect::<Vec<_>>()
            .join("_")
    }

    /// Stores `owner`'s cart in the response's cookie (an empty cart clears it).
    pub fn set_cookie(&self, r: &mut Response, owner: i64) {
        let items = self.encode();
        let (value, max_age) = if items.is_empty() {
            (String::new(), 0)
        } else {
            (format!("{owner}~{items}"), 7 * 86_400)
        };
        let c = format!(
            "{CART_COOKIE}={value}; Path=/console; Max-Age={max_age}; SameSite=Strict; HttpOnly"
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

async fn cart_view(s: &WebState, ctx: &Ctx, cart: &Cart, e: &FormErrors) -> PageResult {
    let a = ctx.require(Permission::OrderPlace)?;
    let lang = ctx.lang;
    let lines: Vec<Line> = cart
        .items
        .iter()
        .map(|it| Line {
            spec_id: it.spec,
            mode: it.mode,
            months: it.months,
            quantity: it.quantity,
        })
        .collect();
    let quoted = orders::quote_lines(&s.app, a, &lines).await?;
    let mut rows = Vec::new();
    let (mut total, mut deposits) = (0i64, 0i64);
    for (k, (it, q)) in cart.items.iter().zip(quoted).enumerate() {
        let priced = q.breakdown;
        if let Some(b) = &priced {
            total += b.total_fen.get();
            deposits += b.deposit_fen.get();
        }
        let label = match &q.spec {
            Some((sp, p)) => spec_label(
                std::slice::from_ref(p),
                std::slice::from_ref(sp),
                p.id,
                sp.id,
            ),
            None => format!("#{}", it.spec),
        };
        rows.push((k, *it, label, priced));
    }
    let idem = form::idempotency_key();
    let body = html! {
        h1 { (ctx.t("cart.title")) }
        (form::summary(ctx, e))
        @if rows.is_empty() { p.empty { (ctx.t("cart.empty")) } a href="/" { (ctx.t("nav.portal")) } } @else {
            table.data #cart {
                thead { tr { th { (ctx.t("res.product")) } th { (ctx.t("order.mode")) } th { (ctx.t("order.quantity")) } th { (ctx.t("order.total")) } th { (ctx.t("common.actions")) } } }
                tbody {
                    @for (k, it, label, priced) in &rows {
                        tr {
                            td { (label) }
                            td { (ctx.t(&format!("mode.{}", it.mode.as_str()))) @if it.months > 0 { " · " (it.months) } }
                            td { (it.quantity) }
                            td.num {
                                @match priced {
                                    Some(b) if it.mode == ChargingMode::Prepaid => { (lang.money(b.total_fen.get())) }
                                    Some(b) => { (ctx.t("order.deposit")) " " (lang.money(b.deposit_fen.get())) }
                                    None => { (ctx.t("cart.unavailable")) }
                                }
                            }
                            td {
                                form.inline method="post" action="/console/cart" {
                                    (csrf(ctx))
                                    input type="hidden" name="action" value="remove";
                                    input type="hidden" name="index" value=(k);
                                    button.secondary type="submit" { (ctx.t("cart.remove")) }
                                }
                            }
                        }
                    }
                }
            }
            dl.facts {
                dt { (ctx.t("order.total")) } dd #cart-total { strong { (lang.money(total)) } }
                @if deposits > 0 { dt { (ctx.t("order.deposit")) } dd { (lang.money(deposits)) } }
            }
            form method="post" action="/console/cart" {
                (csrf(ctx))
                input type="hidden" name="action" value="checkout";
                input type="hidden" name="idem" value=(idem);
                div.actions { button #checkout type="submit" { (ctx.t("cart.checkout")) } }
            }
        }
    };
    Ok(layout::page(
        ctx,
        &ctx.t("cart.title"),
        Some(&CONSOLE),
        body,
    ))
}

/// `GET /console/cart`
pub async fn page(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    let owner = ctx.require(Permission::OrderPlace)?.user.id.get();
    let cart = Cart::of(&ctx.headers, owner);
    cart_view(&s, &ctx, &cart, &FormErrors::default()).await
}

/// The cart's forms.
#[derive(Debug, Default, Deserialize)]
pub struct CartForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `remove` or `checkout`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    index: String,
    #[serde(default)]
    idem: String,
}

/// `POST /console/cart`: remove an item, or buy everything (one order per item, in order;
/// it stops at the first refusal and keeps what was not bought in the cart).
pub async fn post(State(s): State<WebState>, ctx: Ctx, Form(f): Form<CartForm>) -> PageResult {
    let owner = ctx.require(Permission::OrderPlace)?.user.id.get();
    let lang = ctx.lang;
    let mut cart = Cart::of(&ctx.headers, owner);
    if f.action == "remove" {
        // The cart lives in a cookie: removing an item changes nothing on the platform.
        suanli_platform_http::http::set_silent(ctx.audit.as_ref());
        if let Ok(i) = f.index.parse::<usize>()
            && i < cart.items.len()
        {
            cart.items.remove(i);
        }
        let mut r = Redirect::to("/console/cart").into_response();
        cart.set_cookie(&mut r, owner);
        return Ok(r);
    }
    let base = if f.idem.is_empty() {
        form::idempotency_key()
    } else {
        f.idem.chars().take(64).collect()
    };
    let a = ctx.user()?;
    let mut bought = 0usize;
    let mut e = FormErrors::default();
    for (k, it) in cart.items.iter().enumerate() {
        let req = NewOrder {
            spec_id: it.spec,
            mode: it.mode,
            months: it.months,
            quantity: it.quantity,
            coupon: None,
        };
        let key = format!("{base}-{k}");
        // One audit record per order, as the API records each order it places.
        let action = ("POST /api/v1/orders", "/api/v1/orders");
        let placed = api::run_as(&ctx, &f.csrf, action, async {
            let idem = Idem::of_request(&key, "/api/v1/orders", &req)?;
            orders::place(&s.app, a, idem, &req).await
        })
        .await?;
        match placed {
            Ok(_) => bought += 1,
            Err(fail) => {
                e.general = Some(form::api_message(lang, &fail));
                break;
            }
        }
    }
    cart.items.drain(..bought);
    if cart.items.is_empty() {
        let mut r = Redirect::to(&Ctx::notice_url(
            "/console/resources",
            "cart.bought",
            &bought.to_string(),
        ))
        .into_response();
        cart.set_cookie(&mut r, owner);
        return Ok(r);
    }
    let mut r = cart_view(&s, &ctx, &cart, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    cart.set_cookie(&mut r, owner);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_cookie_round_trip_and_bounds() {
        let mut c = Cart::default();
        for k in 0..CART_ITEMS_MAX {
            assert!(c.add(Item {
                spec: k as i64 + 1,
                mode: ChargingMode::Prepaid,
                months: 3,
                quantity: 2
            }));
        }
        assert!(!c.add(Item {
            spec: 99,
            mode: ChargingMode::Payg,
            months: 0,
            quantity: 1
        }));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {CART_COOKIE}=7~{}", c.encode())).unwrap(),
        );
        assert_eq!(Cart::of(&h, 7), c);
        // Another user in the same browser sees none of it.
        assert_eq!(Cart::of(&h, 8), Cart::default());
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("suanli_cart=7~1.prepaid.1.1_garbage_2.payg.0.3"),
        );
        assert_eq!(Cart::of(&h, 7).items.len(), 2);
    }
}
