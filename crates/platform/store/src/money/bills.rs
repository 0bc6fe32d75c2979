//! Bill and chain-mirror records.

use serde::Serialize;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::pricing::ChargingMode;
use suanli_platform_domain::{OrgId, UserId};

/// Bill filters.
#[derive(Debug, Clone, Default)]
pub struct BillFilter {
    /// Period start (inclusive).
    pub from_ms: i64,
    /// Period end (exclusive).
    pub to_ms: i64,
    /// One customer.
    pub org: Option<OrgId>,
    /// One ordering user.
    pub user: Option<UserId>,
    /// One product.
    pub product: Option<i64>,
    /// One charging mode.
    pub mode: Option<ChargingMode>,
    /// Only lines after this one in the order (customer, product, mode): the cursor of the
    /// next page (the last line of the previous page).
    pub after: Option<BillKey>,
    /// Lines per page; `None` (and anything above it) is [`crate::PAGE_SIZE_MAX`].
    pub limit: Option<u32>,
}

/// Where a bill line sits in the order of a bill: customer, product, charging mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillKey {
    /// Customer.
    pub org_id: i64,
    /// Product.
    pub product_id: i64,
    /// Charging mode (`prepaid`, `payg`).
    pub mode: String,
}

impl BillLine {
    /// This line's position (the cursor for the page after it).
    pub fn key(&self) -> BillKey {
        BillKey {
            org_id: self.org_id,
            product_id: self.product_id,
            mode: self.mode.clone(),
        }
    }
}

/// One bill line: a customer × product × charging mode in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillLine {
    /// Customer.
    pub org_id: i64,
    /// Product.
    pub product_id: i64,
    /// Mode.
    pub mode: String,
    /// Prepaid charges (purchases, renewals, changes of spec).
    pub prepaid_fen: i64,
    /// Pay-as-you-go usage charged.
    pub usage_fen: i64,
    /// Refunds.
    pub refund_fen: i64,
    /// Discounts and coupons applied.
    pub discount_fen: i64,
    /// Usage that could not be charged (owed).
    pub unpaid_fen: i64,
    /// prepaid + usage − refunds + unpaid.
    pub amount_due_fen: i64,
}

/// A settlement-credit mirror instruction (mint on money in, burn on money out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MirrorRecord {
    /// Id.
    pub id: i64,
    /// The journal transaction mirrored.
    pub journal_tx_id: i64,
    /// Customer.
    pub org: OrgId,
    /// `mint` or `burn`.
    pub op: String,
    /// Amount.
    pub amount_fen: Fen,
    /// The chain transaction that carried it, once sent.
    pub sent_ref: Option<String>,
    /// The chain transaction signed for it (reference), stored before it is submitted.
    pub signed_ref: Option<String>,
    /// That signed transaction, encoded (hex): what a retry submits again.
    pub signed_tx: Option<String>,
}
