//! Discount rules and coupons.

use super::*;

/// Discount and coupon forms.
#[derive(Debug, Default, Deserialize)]
pub struct DiscountForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `discount` or `coupon`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    off: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    min_spend: String,
    #[serde(default)]
    days: String,
}

pub(super) async fn discounts_view(
    s: &WebState,
    ctx: &Ctx,
    f: &DiscountForm,
    e: &FormErrors,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let list = catalogue::discounts(&s.app, a).await?;
    let scopes: Vec<(String, String)> = ["global", "customer", "region", "volume"]
        .iter()
        .map(|k| ((*k).to_owned(), ctx.t(&format!("disc.scope.{k}"))))
        .collect();
    let coupon_form = f.what == "coupon";
    let empty = FormErrors::default();
    let (de, ce) = if coupon_form {
        (&empty, e)
    } else {
        (e, &empty)
    };
    let body = html! {
        h1 { (ctx.t("ops.discounts")) }
        @if list.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #discounts {
                thead { tr { th { "#" } th { (ctx.t("disc.scope")) } th { (ctx.t("disc.off")) } } }
                tbody {
                    @for d in &list {
                        tr {
                            td { (d.id) }
                            td { @match &d.scope {
                                suanli_platform_domain::pricing::DiscountScope::Global => { (ctx.t("disc.scope.global")) }
                                suanli_platform_domain::pricing::DiscountScope::Customer { org_id } => { (ctx.t("disc.scope.customer")) " #" (org_id.get()) }
                                suanli_platform_domain::pricing::DiscountScope::Region { region } => { (ctx.t("disc.scope.region")) " " (region) }
                                suanli_platform_domain::pricing::DiscountScope::Volume { min_quantity } => { (ctx.t("disc.scope.volume")) " ≥ " (min_quantity) }
                            } }
                            td { (bp_percent(d.off_bp.get())) }
                        }
                    }
                }
            }
        }
        div.two {
            section {
                h2 { (ctx.t("disc.create")) }
                @if !coupon_form { (form::summary(ctx, de)) }
                form method="post" action="/ops/discounts" novalidate {
                    (csrf(ctx))
                    input type="hidden" name="what" value="discount";
                    (form::select(ctx, "scope", "disc.scope", &scopes, &f.scope, de))
                    (form::field(ctx, "target", "disc.target", Kind::Text, &f.target, de, false))
                    (form::field(ctx, "off", "disc.off", Kind::Decimal, &f.off, de, true))
                    div.actions { button type="submit" { (ctx.t("cat.create")) } }
                }
            }
            section {
                h2 { (ctx.t("disc.coupons")) }
                @if coupon_form { (form::summary(ctx, ce)) }
                form method="post" action="/ops/discounts" novalidate {
                    (csrf(ctx))
                    input type="hidden" name="what" value="coupon";
                    (form::field(ctx, "code", "disc.code", Kind::Text, &f.code, ce, true))
                    (form::field(ctx, "amount", "disc.amount_off", Kind::Decimal, &f.amount, ce, true))
                    (form::field(ctx, "min_spend", "disc.min_spend", Kind::Decimal, if f.min_spend.is_empty() { "0" } else { &f.min_spend }, ce, true))
                    (form::field(ctx, "days", "disc.valid_days", Kind::Integer, if f.days.is_empty() { "30" } else { &f.days }, ce, true))
                    div.actions { button type="submit" { (ctx.t("cat.create")) } }
                }
            }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.discounts"), Some(&OPS), body))
}

/// `GET /ops/discounts`
pub async fn discounts(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::CatalogueManage)?;
    discounts_view(&s, &ctx, &DiscountForm::default(), &FormErrors::default()).await
}

/// What the discounts page creates.
pub(super) enum Rule {
    /// A coupon.
    Coupon(CouponDraft),
    /// A discount rule.
    Discount(DiscountDraft),
}

/// `POST /ops/discounts`
pub async fn discounts_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<DiscountForm>,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let call = if f.what == "coupon" {
        let code = e.required(lang, "code", &f.code);
        let amount = e.yuan(lang, "amount", &f.amount);
        let min = e.yuan_opt(lang, "min_spend", &f.min_spend).unwrap_or(0);
        let days = e.int(lang, "days", &f.days, 1, COUPON_DAYS_MAX);
        let expires = s.app.clock.now_unix_ms() + days * DAY_MS;
        let fen = Fen::new(amount).unwrap_or_else(|err| {
            e.add("amount", format!("{} ({err})", lang.t("err.invalid_field")));
            Fen::ZERO
        });
        (
            Rule::Coupon(CouponDraft {
                code,
                org_id: None,
                value: CouponValue::AmountOff { fen },
                min_spend_fen: min,
                expires_ms: expires,
            }),
            vec![
                ("code", "code"),
                ("value", "amount"),
                ("min_spend_fen", "min_spend"),
                ("expires_ms", "days"),
            ],
        )
    } else {
        let off = e.percent_bp(lang, "off", &f.off);
        let target = f.target.trim();
        let rule = match f.scope.as_str() {
            "global" => DiscountScope::Global,
            "customer" => {
                // Without a valid id the field already carries its message.
                match OrgId::new(e.int(lang, "target", target, 1, i64::MAX)) {
                    Some(org_id) => DiscountScope::Customer { org_id },
                    None => DiscountScope::Global,
                }
            }
            "region" => DiscountScope::Region {
                region: e.required(lang, "target", target),
            },
            "volume" => {
                let q = e.int(
                    lang,
                    "target",
                    target,
                    1,
                    i64::from(suanli_platform_domain::pricing::QUANTITY_MAX),
                );
                DiscountScope::Volume {
                    min_quantity: u32::try_from(q).unwrap_or(1),
                }
            }
            _ => {
                e.add("scope", lang.t("err.choose"));
                DiscountScope::Global
            }
        };
        (
            Rule::Discount(DiscountDraft { rule, off_bp: off }),
            vec![("rule", "target"), ("off_bp", "off")],
        )
    };
    if e.is_empty() {
        let (rule, fields) = call;
        let created = api::run(&ctx, &f.csrf, async {
            match &rule {
                Rule::Coupon(c) => catalogue::create_coupon(&s.app, a, c).await.map(|_| ()),
                Rule::Discount(d) => catalogue::create_discount(&s.app, a, d).await.map(|_| ()),
            }
        })
        .await?;
        match created {
            Ok(_) => return Ok(done("/ops/discounts", "disc.created", "")),
            Err(fail) => {
                e.api(lang, &fail, &fields);
                if fail.code == "conflict" && f.what == "coupon" {
                    e.general = None;
                    e.add("code", lang.t("err.conflict"));
                }
            }
        }
    }
    let mut r = discounts_view(&s, &ctx, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}
