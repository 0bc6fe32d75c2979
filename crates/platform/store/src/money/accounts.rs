//! Account records: statements, payments, offline transfers, finance grants.

use serde::Serialize;
use suanli_platform_domain::journal::{Balances, IdemKey};
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::{OrgId, UserId};

/// One statement line: a movement of one of a customer's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    /// Journal line id.
    pub id: i64,
    /// Journal transaction id.
    pub tx_id: i64,
    /// When.
    pub at_ms: i64,
    /// `recharge`, `deduction`, `consumption` or `refund`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The journal transaction kind.
    pub tx_kind: String,
    /// `sandbox`, `offline`, `cash`, `voucher`, `credit`, `frozen`.
    pub channel: String,
    /// Which account (`cash`, `voucher`, `credit`, `frozen`).
    pub account: String,
    /// Signed change of that account's balance.
    pub amount_fen: i64,
    /// That account's balance after the line.
    pub balance_after_fen: i64,
    /// Memo.
    pub memo: String,
    /// Instance, if any.
    pub instance_id: Option<i64>,
}

/// A recharge through a payment provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRecord {
    /// Id.
    pub id: i64,
    /// Customer.
    pub org: OrgId,
    /// Who started it.
    pub user: UserId,
    /// Provider name (`sandbox`).
    pub provider: String,
    /// The provider's reference.
    pub provider_ref: String,
    /// Amount.
    pub amount_fen: Fen,
    /// `pending` or `confirmed`.
    pub status: String,
    /// Creation time.
    pub created_ms: i64,
    /// Confirmation time.
    pub confirmed_ms: Option<i64>,
    /// The recharge's journal transaction.
    pub journal_tx_id: Option<i64>,
}

/// Direction of an offline transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Money in (offline recharge, e.g. bank transfer).
    In,
    /// Money out (withdrawal to the customer's bank).
    Out,
}

impl Direction {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// What a finance grant changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    /// A cash voucher granted to the customer (amount = the voucher).
    Voucher,
    /// The customer's credit line set (amount = the new limit).
    CreditLine,
}

impl GrantKind {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Voucher => "voucher",
            GrantKind::CreditLine => "credit_line",
        }
    }
    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [GrantKind::Voucher, GrantKind::CreditLine]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A voucher grant or credit-line change asked for by a finance user
/// ([`crate::MoneyStore::request_grant`]).
#[derive(Debug, Clone)]
pub struct GrantRequest {
    /// Customer.
    pub org: OrgId,
    /// Voucher or credit line.
    pub kind: GrantKind,
    /// The voucher amount, or the new credit limit.
    pub amount: Fen,
    /// The client's idempotency key (vouchers).
    pub key: Option<IdemKey>,
    /// The finance user asking.
    pub by: UserId,
    /// When.
    pub at_ms: i64,
    /// Start of the (CST) day from which the user's vouchers granted alone are counted.
    pub day_start_ms: i64,
    /// What the user may do without a second approver: vouchers granted alone since
    /// `day_start_ms`, this one included, up to this; a credit line up to this.
    pub alone_max: Fen,
}

/// A stored grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantRecord {
    /// Id.
    pub id: i64,
    /// Customer.
    pub org: OrgId,
    /// Voucher or credit line.
    pub kind: GrantKind,
    /// The voucher amount, or the new credit limit.
    pub amount_fen: Fen,
    /// The client's idempotency key (vouchers).
    pub idem_key: Option<String>,
    /// Who asked.
    pub entered_by: UserId,
    /// When.
    pub entered_ms: i64,
    /// `alone` (within the user's limit, done), `pending` (waits for a second finance
    /// user), `approved` (done by the second user).
    pub status: String,
    /// Who approved.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_ms: Option<i64>,
}

/// A grant and, when it took effect, the customer's balances after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantOutcome {
    /// The grant.
    pub grant: GrantRecord,
    /// Balances after it; `None` while it waits for approval.
    pub balances: Option<Balances>,
}

/// A new offline transfer entered by finance.
#[derive(Debug, Clone)]
pub struct NewOffline {
    /// Customer.
    pub org: OrgId,
    /// In or out.
    pub direction: Direction,
    /// Amount.
    pub amount: Fen,
    /// Bank reference.
    pub reference: String,
    /// Who entered it.
    pub entered_by: UserId,
    /// When.
    pub at_ms: i64,
}

/// A stored offline transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineRecord {
    /// Id.
    pub id: i64,
    /// Customer.
    pub org: OrgId,
    /// In or out.
    pub direction: Direction,
    /// Amount.
    pub amount_fen: Fen,
    /// Bank reference.
    pub reference: String,
    /// Entered by.
    pub entered_by: UserId,
    /// Entered at.
    pub entered_ms: i64,
    /// `pending` or `approved`.
    pub status: String,
    /// Approved by (never the one who entered it).
    pub decided_by: Option<UserId>,
    /// Approved at.
    pub decided_ms: Option<i64>,
    /// Its journal transaction.
    pub journal_tx_id: Option<i64>,
}
