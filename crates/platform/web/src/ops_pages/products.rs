//! The catalogue: categories, products, specs and their pricing, publishing.

use super::*;

pub use suanli_platform_http::service::orgs::ORGS_SCANNED_MAX;

/// Active supplier organisations (every page of organisations).
pub(super) async fn supplier_orgs(s: &WebState) -> Result<Vec<OrgRecord>, WebError> {
    Ok(orgs::suppliers(&s.app).await?)
}

/// The catalogue forms (category, product).
#[derive(Debug, Default, Deserialize)]
pub struct CatalogueForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `category` or `product`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    cat_name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    supplier: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    manual: Option<String>,
    #[serde(default)]
    share: String,
}

pub(super) async fn catalogue_view(
    s: &WebState,
    ctx: &Ctx,
    f: &CatalogueForm,
    e: &FormErrors,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let (categories, products) = catalogue::manage(&s.app, a).await?;
    let suppliers = supplier_orgs(s).await?;
    let cat_opts: Vec<(String, String)> = categories
        .iter()
        .map(|c| (c.id.to_string(), c.name.clone()))
        .collect();
    let sup_opts: Vec<(String, String)> = suppliers
        .iter()
        .map(|o| (o.id.get().to_string(), o.name.clone()))
        .collect();
    let product_form = f.what == "product";
    let empty = FormErrors::default();
    let (ce, pe) = if product_form {
        (&empty, e)
    } else {
        (e, &empty)
    };
    let body = html! {
        h1 { (ctx.t("ops.catalogue")) }
        h2 { (ctx.t("cat.products")) }
        @if products.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
        table.data #products {
            thead { tr { th { "#" } th { (ctx.t("cat.name")) } th { (ctx.t("cat.category")) } th { (ctx.t("cat.supplier")) } th { (ctx.t("cat.region")) } th { (ctx.t("org.status")) } th { (ctx.t("common.actions")) } } }
            tbody {
                @for p in &products {
                    tr data-product=(p.id) {
                        td { (p.id) }
                        td { (p.name) }
                        td { (categories.iter().find(|c| c.id == p.category_id).map_or_else(String::new, |c| c.name.clone())) }
                        td { (suppliers.iter().find(|o| o.id == p.supplier).map_or_else(|| format!("#{}", p.supplier.get()), |o| o.name.clone())) }
                        td { (p.region) }
                        td.pub-state { (ctx.t(if p.published { "product.published" } else { "product.unpublished" })) }
                        td { a.button href=(format!("/ops/products/{}", p.id)) { (ctx.t("cat.manage")) } }
                    }
                }
            }
        }
        }
        div.two {
            section {
                h2 { (ctx.t("cat.new_product")) }
                @if sup_opts.is_empty() { p.hint { (ctx.t("cat.no_supplier")) } }
                @if cat_opts.is_empty() { p.hint { (ctx.t("cat.new_category")) } }
                @if product_form { (form::summary(ctx, pe)) }
                form method="post" action="/ops/catalogue" novalidate {
                    (csrf(ctx))
                    input type="hidden" name="what" value="product";
                    (form::field(ctx, "name", "cat.name", Kind::Text, &f.name, pe, true))
                    (form::select(ctx, "category", "cat.category", &cat_opts, &f.category, pe))
                    (form::select(ctx, "supplier", "cat.supplier", &sup_opts, &f.supplier, pe))
                    (form::field(ctx, "region", "cat.region", Kind::Text, &f.region, pe, true))
                    (form::field(ctx, "share", "cat.share", Kind::Decimal, if f.share.is_empty() { "70" } else { &f.share }, pe, true))
                    (form::checkbox(ctx, "manual", "cat.manual", f.manual.is_some()))
                    div.actions { button type="submit" { (ctx.t("cat.create")) } }
                }
            }
            section {
                h2 { (ctx.t("cat.categories")) }
                ul { @for c in &categories { li { (c.name) } } }
                h3 { (ctx.t("cat.new_category")) }
                @if !product_form { (form::summary(ctx, ce)) }
                form method="post" action="/ops/catalogue" novalidate {
                    (csrf(ctx))
                    input type="hidden" name="what" value="category";
                    (form::field(ctx, "cat_name", "cat.name", Kind::Text, &f.cat_name, ce, true))
                    div.actions { button type="submit" { (ctx.t("cat.create")) } }
                }
            }
        }
    };
    Ok(layout::page(ctx, &ctx.t("ops.catalogue"), Some(&OPS), body))
}

/// `GET /ops/catalogue`
pub async fn catalogue(State(s): State<WebState>, ctx: Ctx) -> PageResult {
    ctx.require(Permission::CatalogueManage)?;
    catalogue_view(&s, &ctx, &CatalogueForm::default(), &FormErrors::default()).await
}

/// What the catalogue form creates.
pub(super) enum Draft {
    /// A category of this name.
    Category(String),
    /// A product.
    Product(ProductDraft),
}

/// `POST /ops/catalogue`: a new category or product.
pub async fn catalogue_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Form(f): Form<CatalogueForm>,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let lang = ctx.lang;
    let mut e = FormErrors::default();
    let call = if f.what == "category" {
        let name = e.required(lang, "cat_name", &f.cat_name);
        e.is_empty().then_some(Draft::Category(name))
    } else {
        let name = e.required(lang, "name", &f.name);
        let category: i64 = f.category.parse().unwrap_or_else(|_| {
            e.add("category", lang.t("err.choose"));
            0
        });
        let supplier: i64 = f.supplier.parse().unwrap_or_else(|_| {
            e.add("supplier", lang.t("err.choose"));
            0
        });
        let region = e.required(lang, "region", &f.region);
        let share = e.percent_bp(lang, "share", &f.share);
        e.is_empty().then(|| {
            Draft::Product(ProductDraft {
                category_id: category,
                name,
                supplier_org_id: supplier,
                region,
                manual_provisioning: f.manual.is_some(),
                supplier_share_bp: share,
            })
        })
    };
    if let Some(draft) = call {
        let created = api::run(&ctx, &f.csrf, async {
            match &draft {
                Draft::Category(name) => catalogue::create_category(&s.app, a, name)
                    .await
                    .map(|_| None),
                Draft::Product(p) => catalogue::create_product(&s.app, a, p)
                    .await
                    .map(|p| Some(p.id)),
            }
        })
        .await?;
        match created {
            Ok(Some(id)) => {
                return Ok(done(
                    &format!("/ops/products/{id}"),
                    "cat.created_product",
                    &id.to_string(),
                ));
            }
            Ok(None) => return Ok(done("/ops/catalogue", "disc.created", "")),
            Err(fail) => e.api(
                lang,
                &fail,
                &[
                    (
                        "name",
                        if f.what == "category" {
                            "cat_name"
                        } else {
                            "name"
                        },
                    ),
                    ("category_id", "category"),
                    ("supplier_org_id", "supplier"),
                    ("region", "region"),
                    ("supplier_share_bp", "share"),
                ],
            ),
        }
    }
    let mut r = catalogue_view(&s, &ctx, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// The product page's forms (new spec, publish, unpublish).
#[derive(Debug, Default, Deserialize)]
pub struct ProductForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// `spec`, `publish` or `unpublish`.
    #[serde(default)]
    what: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    monthly: String,
    #[serde(default)]
    yearly: String,
    #[serde(default)]
    per_minute: String,
    #[serde(default)]
    minimum: String,
    #[serde(default)]
    deposit: String,
    /// The spec being repriced (`what=pricing`).
    #[serde(default)]
    spec: String,
    #[serde(default)]
    p_monthly: String,
    #[serde(default)]
    p_yearly: String,
    #[serde(default)]
    p_per_minute: String,
    #[serde(default)]
    p_minimum: String,
    #[serde(default)]
    p_deposit: String,
}

/// Pricing strategies from the five price fields named `{prefix}monthly` … (yuan), as the
/// API's JSON; messages on the fields.
pub(super) fn pricing_json(
    lang: crate::i18n::Lang,
    e: &mut FormErrors,
    prefix: &str,
    v: [&str; 5],
) -> Value {
    let n = |k: &str| format!("{prefix}{k}");
    let monthly = e.yuan_opt(lang, &n("monthly"), v[0]);
    let yearly = e.yuan_opt(lang, &n("yearly"), v[1]);
    let per_minute = e.yuan_opt(lang, &n("per_minute"), v[2]);
    let minimum = e.yuan_opt(lang, &n("minimum"), v[3]).unwrap_or(0);
    let deposit = e.yuan_opt(lang, &n("deposit"), v[4]).unwrap_or(0);
    if monthly.is_none()
        && per_minute.is_none()
        && e.get(&n("monthly")).is_none()
        && e.get(&n("per_minute")).is_none()
    {
        e.add(&n("monthly"), lang.t("cat.need_mode"));
    }
    let mut pricing = serde_json::Map::new();
    if let Some(m) = monthly {
        let mut pp = json!({"monthly_fen": m});
        if let Some(y) = yearly {
            pp["yearly_fen"] = json!(y);
        }
        pricing.insert("prepaid".into(), pp);
    }
    if let Some(pm) = per_minute {
        pricing.insert(
            "payg".into(),
            json!({"per_minute_fen": pm, "minimum_fen": minimum, "deposit_fen": deposit}),
        );
    }
    Value::Object(pricing)
}

pub(super) async fn product_view(
    s: &WebState,
    ctx: &Ctx,
    id: i64,
    f: &ProductForm,
    e: &FormErrors,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let (p, specs) = catalogue::product(&s.app, a, id).await?;
    let spec_opts: Vec<(String, String)> = specs
        .iter()
        .map(|sp| {
            (
                sp.id.to_string(),
                format!("{} {} (v{})", sp.family, sp.name, sp.version),
            )
        })
        .collect();
    let body = html! {
        h1 { (p.name) " " span.badge #pub-state { (ctx.t(if p.published { "product.published" } else { "product.unpublished" })) } }
        p { a href=(format!("/products/{}", p.id)) { (ctx.t("portal.details")) } " · " (p.region) }
        form.inline method="post" action=(format!("/ops/products/{}", p.id)) {
            (csrf(ctx))
            @if p.published {
                input type="hidden" name="what" value="unpublish";
                button #unpublish.secondary type="submit" { (ctx.t("cat.unpublish")) }
            } @else {
                input type="hidden" name="what" value="publish";
                button #publish type="submit" { (ctx.t("cat.publish")) }
            }
        }
        h2 { (ctx.t("product.specs")) }
        @if specs.is_empty() { p.empty { (ctx.t("list.empty")) } } @else {
            table.data #specs {
                thead { tr { th { (ctx.t("product.family")) } th { (ctx.t("product.spec")) } th { (ctx.t("product.prepaid")) " / " (ctx.t("product.payg")) } } }
                tbody { @for sp in &specs { tr { td { (sp.family) } td { (sp.name) } td { (pricing_view(ctx.lang, &sp.pricing)) } } } }
            }
        }
        @if !specs.is_empty() {
            h2 { (ctx.t("cat.reprice")) }
            p.hint { (ctx.t("cat.reprice_note")) }
            @if f.what == "pricing" { (form::summary(ctx, e)) }
            form method="post" action=(format!("/ops/products/{}", p.id)) novalidate {
                (csrf(ctx))
                input type="hidden" name="what" value="pricing";
                (form::select(ctx, "spec", "product.spec", &spec_opts, &f.spec, e))
                (form::field(ctx, "p_monthly", "cat.monthly", Kind::Decimal, &f.p_monthly, e, false))
                (form::field(ctx, "p_yearly", "cat.yearly", Kind::Decimal, &f.p_yearly, e, false))
                (form::field(ctx, "p_per_minute", "cat.per_minute", Kind::Decimal, &f.p_per_minute, e, false))
                (form::field(ctx, "p_minimum", "cat.minimum", Kind::Decimal, &f.p_minimum, e, false))
                (form::field(ctx, "p_deposit", "cat.deposit", Kind::Decimal, &f.p_deposit, e, false))
                div.actions { button type="submit" { (ctx.t("common.save")) } }
            }
        }
        h2 { (ctx.t("cat.new_spec")) }
        @if f.what != "pricing" { (form::summary(ctx, e)) }
        form method="post" action=(format!("/ops/products/{}", p.id)) novalidate {
            (csrf(ctx))
            input type="hidden" name="what" value="spec";
            (form::field(ctx, "family", "cat.family", Kind::Text, &f.family, e, true))
            (form::field(ctx, "name", "cat.spec_name", Kind::Text, &f.name, e, true))
            (form::field(ctx, "monthly", "cat.monthly", Kind::Decimal, &f.monthly, e, false))
            (form::field(ctx, "yearly", "cat.yearly", Kind::Decimal, &f.yearly, e, false))
            (form::field(ctx, "per_minute", "cat.per_minute", Kind::Decimal, &f.per_minute, e, false))
            (form::field(ctx, "minimum", "cat.minimum", Kind::Decimal, &f.minimum, e, false))
            (form::field(ctx, "deposit", "cat.deposit", Kind::Decimal, &f.deposit, e, false))
            div.actions { button type="submit" { (ctx.t("cat.create")) } }
        }
    };
    Ok(layout::page(ctx, &p.name, Some(&OPS), body))
}

/// `GET /ops/products/{id}`
pub async fn product(State(s): State<WebState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    ctx.require(Permission::CatalogueManage)?;
    product_view(
        &s,
        &ctx,
        id,
        &ProductForm::default(),
        &FormErrors::default(),
    )
    .await
}

/// `POST /ops/products/{id}`
pub async fn product_post(
    State(s): State<WebState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(f): Form<ProductForm>,
) -> PageResult {
    let a = ctx.require(Permission::CatalogueManage)?;
    let lang = ctx.lang;
    let back = format!("/ops/products/{id}");
    let simple = match f.what.as_str() {
        "publish" => Some((true, "cat.published_ok")),
        "unpublish" => Some((false, "cat.unpublished_ok")),
        _ => None,
    };
    if let Some((on, key)) = simple {
        let published = api::run(&ctx, &f.csrf, catalogue::publish(&s.app, a, id, on)).await?;
        return match published {
            Ok(_) => Ok(done(&back, key, "")),
            Err(fail) => refused(&ctx, &fail, &back),
        };
    }
    let mut e = FormErrors::default();
    if f.what == "pricing" {
        let spec: i64 = f.spec.parse().unwrap_or_else(|_| {
            e.add("spec", lang.t("err.choose"));
            0
        });
        let pricing = pricing_json(
            lang,
            &mut e,
            "p_",
            [
                &f.p_monthly,
                &f.p_yearly,
                &f.p_per_minute,
                &f.p_minimum,
                &f.p_deposit,
            ],
        );
        if e.is_empty() {
            let target = format!("/api/v1/catalogue/specs/{spec}/pricing");
            let action = ("PUT /api/v1/catalogue/specs/{id}/pricing", target.as_str());
            let set = api::run_as(&ctx, &f.csrf, action, async {
                let p = catalogue::pricing_of(pricing)?;
                catalogue::set_pricing(&s.app, a, spec, p).await
            })
            .await?;
            match set {
                Ok(_) => return Ok(done(&back, "sec.saved", "")),
                Err(fail) if fail.status == StatusCode::NOT_FOUND => {
                    return Err(WebError::NotFound);
                }
                Err(fail) => e.api(
                    lang,
                    &fail,
                    &[
                        ("pricing.prepaid.yearly_fen", "p_yearly"),
                        ("pricing.prepaid", "p_monthly"),
                        ("pricing.payg.minimum_fen", "p_minimum"),
                        ("pricing.payg.deposit_fen", "p_deposit"),
                        ("pricing.payg", "p_per_minute"),
                        ("pricing", "p_monthly"),
                    ],
                ),
            }
        }
        let mut r = product_view(&s, &ctx, id, &f, &e).await?;
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    }
    let family = e.required(lang, "family", &f.family);
    let name = e.required(lang, "name", &f.name);
    let pricing = pricing_json(
        lang,
        &mut e,
        "",
        [&f.monthly, &f.yearly, &f.per_minute, &f.minimum, &f.deposit],
    );
    if e.is_empty() {
        let created = api::run(&ctx, &f.csrf, async {
            let draft = SpecDraft {
                family,
                name,
                pricing: catalogue::pricing_of(pricing)?,
            };
            catalogue::create_spec(&s.app, a, id, draft).await
        })
        .await?;
        match created {
            Ok(_) => return Ok(done(&back, "disc.created", "")),
            Err(fail) if fail.status == StatusCode::NOT_FOUND => return Err(WebError::NotFound),
            Err(fail) => e.api(
                lang,
                &fail,
                &[
                    ("family", "family"),
                    ("name", "name"),
                    ("pricing.prepaid.yearly_fen", "yearly"),
                    ("pricing.prepaid", "monthly"),
                    ("pricing.payg.minimum_fen", "minimum"),
                    ("pricing.payg.deposit_fen", "deposit"),
                    ("pricing.payg", "per_minute"),
                    ("pricing", "monthly"),
                ],
            ),
        }
    }
    let mut r = product_view(&s, &ctx, id, &f, &e).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}
