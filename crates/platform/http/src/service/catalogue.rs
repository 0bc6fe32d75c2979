//! The catalogue: categories, products, specs and their prices (orders keep the snapshot
//! they were placed at), publishing, discount rules and coupons. Reading the published
//! catalogue needs no permission; everything else needs `catalogue.manage`.

use super::orders::coupon_code;
use super::{ServiceError, ServiceResult, amount, bp, fen0, pricing, text};
use crate::AppState;
use crate::auth::Authed;
use serde::{Deserialize, Serialize};
use suanli_platform_domain::pricing::{
    CouponValue, Discount, DiscountScope, QUANTITY_MAX, SpecPricing,
};
use suanli_platform_domain::{OrgId, Permission};
use suanli_platform_store::{
    CategoryRecord, CouponRecord, NewCoupon, NewProduct, NewSpec, ProductRecord, SpecRecord,
    StoreError,
};

/// A product with its specs.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// The product.
    pub product: ProductRecord,
    /// Its specs with current prices.
    pub specs: Vec<SpecRecord>,
}

/// A page of the catalogue with every category.
#[derive(Debug, Clone, Serialize)]
pub struct Catalogue {
    /// Every category.
    pub categories: Vec<CategoryRecord>,
    /// Products after the cursor, with their specs.
    pub items: Vec<Listing>,
}

/// Products after `page.after` with their specs; unpublished ones too when `all` (which
/// needs `catalogue.manage`).
pub async fn browse(
    s: &AppState,
    a: &Authed,
    all: bool,
    page: super::Page,
) -> ServiceResult<Catalogue> {
    if all {
        a.allow(Permission::CatalogueManage)?;
    }
    let products = s.store.list_products(!all, page.after, page.limit).await?;
    let mut items = Vec::with_capacity(products.len());
    for p in products {
        let specs = s.store.list_specs(p.id).await?;
        items.push(Listing { product: p, specs });
    }
    Ok(Catalogue {
        categories: s.store.list_categories().await?,
        items,
    })
}

/// Creates a category.
pub async fn create_category(
    s: &AppState,
    a: &Authed,
    name: &str,
) -> ServiceResult<CategoryRecord> {
    a.allow(Permission::CatalogueManage)?;
    let name = text(name, "name")?;
    Ok(s.store
        .create_category(&name, s.clock.now_unix_ms())
        .await?)
}

/// A new product.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProductDraft {
    /// Its category.
    pub category_id: i64,
    /// Name.
    pub name: String,
    /// The supplier organisation.
    pub supplier_org_id: i64,
    /// Region.
    pub region: String,
    /// Whether the operator provisions it by hand (and accepts each instance).
    pub manual_provisioning: bool,
    /// The supplier's share, in basis points.
    pub supplier_share_bp: u32,
}

/// Creates a product (unpublished).
pub async fn create_product(
    s: &AppState,
    a: &Authed,
    r: &ProductDraft,
) -> ServiceResult<ProductRecord> {
    a.allow(Permission::CatalogueManage)?;
    let supplier = s
        .store
        .get_org(
            OrgId::new(r.supplier_org_id)
                .ok_or_else(|| ServiceError::invalid("supplier_org_id", "no such supplier"))?,
        )
        .await?
        .filter(|o| o.kind.is_supplier())
        .ok_or_else(|| {
            ServiceError::invalid("supplier_org_id", "must be a supplier organisation")
        })?;
    s.store
        .create_product(&NewProduct {
            category_id: r.category_id,
            name: text(&r.name, "name")?,
            supplier: supplier.id,
            region: text(&r.region, "region")?,
            manual_provisioning: r.manual_provisioning,
            supplier_share: bp(r.supplier_share_bp, "supplier_share_bp")?,
            at_ms: s.clock.now_unix_ms(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ServiceError::invalid("category_id", "no such category"),
            e => e.into(),
        })
}

/// A new spec.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpecDraft {
    /// Family (e.g. `A100`).
    pub family: String,
    /// Name (e.g. `8 × 80 GB`).
    pub name: String,
    /// Pricing strategy.
    pub pricing: SpecPricing,
}

/// Adds a spec to product `product_id`.
pub async fn create_spec(
    s: &AppState,
    a: &Authed,
    product_id: i64,
    r: SpecDraft,
) -> ServiceResult<SpecRecord> {
    a.allow(Permission::CatalogueManage)?;
    Ok(s.store
        .create_spec(&NewSpec {
            product_id,
            family: text(&r.family, "family")?,
            name: text(&r.name, "name")?,
            pricing: pricing(r.pricing)?,
            at_ms: s.clock.now_unix_ms(),
        })
        .await?)
}

/// Sets the pricing of spec `id` (orders already placed keep their snapshot).
pub async fn set_pricing(
    s: &AppState,
    a: &Authed,
    id: i64,
    p: SpecPricing,
) -> ServiceResult<SpecRecord> {
    a.allow(Permission::CatalogueManage)?;
    Ok(s.store.set_spec_pricing(id, &pricing(p)?).await?)
}

/// Publishes (`on`) or withdraws product `id`; the product after it.
pub async fn publish(
    s: &AppState,
    a: &Authed,
    id: i64,
    on: bool,
) -> ServiceResult<Option<ProductRecord>> {
    a.allow(Permission::CatalogueManage)?;
    s.store.set_product_published(id, on).await?;
    Ok(s.store.get_product(id).await?)
}

/// A new discount rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountDraft {
    /// To whom it applies.
    pub rule: DiscountScope,
    /// Off, in basis points.
    pub off_bp: u32,
}

/// Creates a discount rule.
pub async fn create_discount(
    s: &AppState,
    a: &Authed,
    r: &DiscountDraft,
) -> ServiceResult<Discount> {
    a.allow(Permission::CatalogueManage)?;
    match &r.rule {
        DiscountScope::Customer { org_id } => {
            s.store
                .get_org(*org_id)
                .await?
                .filter(|o| o.kind.is_customer())
                .ok_or_else(|| {
                    ServiceError::invalid("org_id", "must be a customer organisation")
                })?;
        }
        DiscountScope::Region { region } => {
            text(region, "region")?;
        }
        DiscountScope::Volume { min_quantity } => {
            if *min_quantity == 0 || *min_quantity > QUANTITY_MAX {
                return Err(ServiceError::invalid(
                    "min_quantity",
                    format!("must be 1 to {QUANTITY_MAX}"),
                ));
            }
        }
        DiscountScope::Global => {}
    }
    Ok(s.store
        .create_discount(&r.rule, bp(r.off_bp, "off_bp")?, s.clock.now_unix_ms())
        .await?)
}

/// Every discount rule.
pub async fn discounts(s: &AppState, a: &Authed) -> ServiceResult<Vec<Discount>> {
    a.allow(Permission::CatalogueManage)?;
    Ok(s.store.list_discounts().await?)
}

/// A new coupon.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CouponDraft {
    /// Code (`A-Z 0-9 - _`).
    pub code: String,
    /// Only for this customer.
    pub org_id: Option<i64>,
    /// Amount or percent off.
    pub value: CouponValue,
    /// Minimum spend, in fen.
    pub min_spend_fen: i64,
    /// Expiry, ms (in the future).
    pub expires_ms: i64,
}

/// Creates a coupon.
pub async fn create_coupon(
    s: &AppState,
    a: &Authed,
    r: &CouponDraft,
) -> ServiceResult<CouponRecord> {
    a.allow(Permission::CatalogueManage)?;
    let org = match r.org_id {
        Some(o) => Some(
            s.store
                .get_org(
                    OrgId::new(o)
                        .ok_or_else(|| ServiceError::invalid("org_id", "no such customer"))?,
                )
                .await?
                .filter(|o| o.kind.is_customer())
                .ok_or_else(|| ServiceError::invalid("org_id", "must be a customer organisation"))?
                .id,
        ),
        None => None,
    };
    if let CouponValue::AmountOff { fen } = r.value {
        amount(fen.get(), "value.fen")?;
    }
    let now = s.clock.now_unix_ms();
    if r.expires_ms <= now {
        return Err(ServiceError::invalid("expires_ms", "must be in the future"));
    }
    Ok(s.store
        .create_coupon(&NewCoupon {
            code: coupon_code(&r.code)?,
            org,
            value: r.value,
            min_spend: fen0(r.min_spend_fen, "min_spend_fen")?,
            expires_ms: r.expires_ms,
            at_ms: now,
        })
        .await?)
}

/// The names of products and specs for rows that name them: every product (published or
/// not: an order keeps its product) and the specs of `product_ids`. Two queries.
pub async fn names(
    s: &AppState,
    product_ids: &[i64],
) -> ServiceResult<(Vec<ProductRecord>, Vec<SpecRecord>)> {
    let products = s
        .store
        .list_products(false, 0, suanli_platform_store::PAGE_SIZE_MAX)
        .await?;
    let specs = s.store.specs_of_products(product_ids).await?;
    Ok((products, specs))
}

/// Every category and every product, published or not (catalogue managers).
pub async fn manage(
    s: &AppState,
    a: &Authed,
) -> ServiceResult<(Vec<CategoryRecord>, Vec<ProductRecord>)> {
    a.allow(Permission::CatalogueManage)?;
    let categories = s.store.list_categories().await?;
    let products = s
        .store
        .list_products(false, 0, suanli_platform_store::PAGE_SIZE_MAX)
        .await?;
    Ok((categories, products))
}

/// Product `id`, published or not, with its specs (catalogue managers).
pub async fn product(
    s: &AppState,
    a: &Authed,
    id: i64,
) -> ServiceResult<(ProductRecord, Vec<SpecRecord>)> {
    a.allow(Permission::CatalogueManage)?;
    let p = s
        .store
        .get_product(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let specs = s.store.list_specs(id).await?;
    Ok((p, specs))
}

/// A pricing strategy from its JSON form (as the API receives it), the offending field
/// named by its path under `pricing` (`invalid_field`).
pub fn pricing_of(v: serde_json::Value) -> ServiceResult<SpecPricing> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "pricing".to_owned()
        } else {
            format!("pricing.{path}")
        };
        ServiceError::Invalid {
            code: "invalid_field",
            field: Some(field),
            message: e.into_inner().to_string(),
        }
    })
}

/// The public catalogue: every category, every published product and their specs (no
/// caller needed). Three queries.
pub async fn published(
    s: &AppState,
) -> ServiceResult<(Vec<CategoryRecord>, Vec<ProductRecord>, Vec<SpecRecord>)> {
    let categories = s.store.list_categories().await?;
    let products = s
        .store
        .list_products(true, 0, suanli_platform_store::PAGE_SIZE_MAX)
        .await?;
    let ids: Vec<i64> = products.iter().map(|p| p.id).collect();
    let specs = s.store.specs_of_products(&ids).await?;
    Ok((categories, products, specs))
}

/// A product's public page: the product, its specs and its supplier. An unpublished
/// product is not found, except for catalogue managers.
pub async fn show(
    s: &AppState,
    a: Option<&Authed>,
    id: i64,
) -> ServiceResult<(
    ProductRecord,
    Vec<SpecRecord>,
    Option<crate::store::OrgRecord>,
)> {
    let p = s
        .store
        .get_product(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !p.published && !a.is_some_and(|a| a.principal.has(Permission::CatalogueManage)) {
        return Err(ServiceError::NotFound);
    }
    let specs = s.store.list_specs(p.id).await?;
    let supplier = s.store.get_org(p.supplier).await?;
    Ok((p, specs, supplier))
}

/// A supplier's public page: the supplier organisation and its published products (not
/// found for an organisation that is not a supplier).
pub async fn supplier(
    s: &AppState,
    id: i64,
) -> ServiceResult<(crate::store::OrgRecord, Vec<ProductRecord>)> {
    let oid = OrgId::new(id).ok_or(ServiceError::NotFound)?;
    let org = s.store.get_org(oid).await?.ok_or(ServiceError::NotFound)?;
    if !org.kind.is_supplier() {
        return Err(ServiceError::NotFound);
    }
    let products = s
        .store
        .list_products(true, 0, suanli_platform_store::PAGE_SIZE_MAX)
        .await?
        .into_iter()
        .filter(|p| p.supplier == oid)
        .collect();
    Ok((org, products))
}
