//! Catalogue records: categories, products, specs, coupons.

use serde::Serialize;
use suanli_platform_domain::OrgId;
use suanli_platform_domain::money::{Bp, Fen};
use suanli_platform_domain::pricing::{CouponValue, SpecPricing};

/// A product category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryRecord {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_ms: i64,
}

/// A new product.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// Category.
    pub category_id: i64,
    /// Name.
    pub name: String,
    /// The supplier organisation behind it.
    pub supplier: OrgId,
    /// Region (for regional discounts).
    pub region: String,
    /// Whether an operator provisions each order by hand (acceptance).
    pub manual_provisioning: bool,
    /// The supplier's share of every payment.
    pub supplier_share: Bp,
    /// Creation time.
    pub at_ms: i64,
}

/// A stored product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductRecord {
    /// Id.
    pub id: i64,
    /// Category.
    pub category_id: i64,
    /// Name.
    pub name: String,
    /// Supplier organisation.
    pub supplier: OrgId,
    /// Region.
    pub region: String,
    /// Manual provisioning.
    pub manual_provisioning: bool,
    /// Supplier share in basis points.
    pub supplier_share_bp: Bp,
    /// Whether customers can see and order it.
    pub published: bool,
    /// Creation time.
    pub created_ms: i64,
}

/// A new spec of a product.
#[derive(Debug, Clone)]
pub struct NewSpec {
    /// Product.
    pub product_id: i64,
    /// Spec family (e.g. `gpu-a100`).
    pub family: String,
    /// Spec name (e.g. `8x80GB`).
    pub name: String,
    /// Pricing strategies.
    pub pricing: SpecPricing,
    /// Creation time.
    pub at_ms: i64,
}

/// A stored spec with its current pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecRecord {
    /// Id.
    pub id: i64,
    /// Product.
    pub product_id: i64,
    /// Family.
    pub family: String,
    /// Name.
    pub name: String,
    /// Current pricing.
    pub pricing: SpecPricing,
    /// Pricing version (1, then +1 per change).
    pub version: i64,
    /// Creation time.
    pub created_ms: i64,
}

/// A new coupon.
#[derive(Debug, Clone)]
pub struct NewCoupon {
    /// Code.
    pub code: String,
    /// Restricted to one customer, or anyone.
    pub org: Option<OrgId>,
    /// Value.
    pub value: CouponValue,
    /// Minimum spend.
    pub min_spend: Fen,
    /// Expiry.
    pub expires_ms: i64,
    /// Creation time.
    pub at_ms: i64,
}

/// A stored coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponRecord {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Restricted to.
    pub org: Option<OrgId>,
    /// Value.
    pub value: CouponValue,
    /// Minimum spend.
    pub min_spend_fen: Fen,
    /// Expiry.
    pub expires_ms: i64,
    /// The order that used it.
    pub used_order_id: Option<i64>,
    /// Creation time.
    pub created_ms: i64,
}
