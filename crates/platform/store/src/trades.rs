//! Trades (issue 18, `docs/exchange.md`, migration `0013_trades`): the [`TradeStore`]
//! trait — orders of supplier offers stored with their signed chain transaction and the
//! escrow entry in one SQL transaction, their decision (placed, or refused with the escrow
//! entry reversed), the journal entries that follow their chain records, members'
//! spending limits and the wallet alarms — and its records. Implemented for both backends
//! by one macro body (`money_sql/trades.rs`).

use crate::StoreResult;
use suanli_platform_domain::journal::JournalTx;
use suanli_platform_domain::money::Fen;
use suanli_platform_domain::trades::TradeStatus;
use suanli_platform_domain::{OrgId, UserId};

/// Longest refusal message stored with a refused trade, in characters (the chain's
/// reason is cut there).
pub const REFUSAL_MESSAGE_CHARS_MAX: usize = 500;

/// A trade as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TradeRecord {
    /// The trade's serial (32 hex).
    pub serial: String,
    /// The ordering organisation.
    pub org: OrgId,
    /// The member who signed the order.
    pub user: UserId,
    /// The platform's offer (version) ordered.
    pub offer_id: i64,
    /// The offer's id on the trade chain.
    pub chain_offer_id: u64,
    /// The supplier organisation.
    pub supplier_org: OrgId,
    /// Units.
    pub units: u32,
    /// The contract's length, minutes.
    pub duration_minutes: u64,
    /// Pay-as-you-go (the value is a budget) or a term paid up front.
    pub payg: bool,
    /// What the trade's escrow received: the order's value, then its top-ups on the
    /// chain as the exchange worker follows them (`docs/exchange.md` §3).
    pub value: Fen,
    /// `web` (signed by the platform with the member's unsealed key), `presigned`, or
    /// `chain` (placed on the chain past the platform and imported by the exchange worker).
    pub source: String,
    /// The chain transaction's id.
    pub tx_ref: String,
    /// The signed chain transaction, hex (resubmitted as is until decided).
    #[serde(skip)]
    pub tx_hex: String,
    /// Where it stands.
    pub status: TradeStatus,
    /// The chain's refusal code, when refused.
    pub refusal_code: Option<String>,
    /// The chain's refusal message.
    pub refusal_message: Option<String>,
    /// The close's reason, once closed.
    pub close_reason: Option<String>,
    /// The journal transaction that escrowed the value.
    pub escrow_tx_id: i64,
    /// Paid to the supplier by check-ins, as the journal follows them.
    pub paid: Fen,
    /// Refunded at the close.
    pub refunded: Fen,
    /// Check-ins followed.
    pub checkins: u32,
    /// The rating's chain transaction, once rated.
    pub rating_ref: Option<String>,
    /// Created.
    pub created_ms: i64,
    /// Placed or refused.
    pub decided_ms: Option<i64>,
    /// Closed.
    pub closed_ms: Option<i64>,
}

/// A trade to store with its escrow entry.
#[derive(Debug, Clone)]
pub struct NewTrade {
    /// Serial.
    pub serial: String,
    /// The organisation.
    pub org: OrgId,
    /// The signing member.
    pub user: UserId,
    /// The platform offer.
    pub offer_id: i64,
    /// Its chain id.
    pub chain_offer_id: u64,
    /// The supplier.
    pub supplier_org: OrgId,
    /// Units.
    pub units: u32,
    /// Minutes.
    pub duration_minutes: u64,
    /// Pay-as-you-go.
    pub payg: bool,
    /// The escrow.
    pub value: Fen,
    /// `web`, `presigned` or `chain` (imported).
    pub source: &'static str,
    /// The caller's idempotency key (scoped to the organisation).
    pub idem_key: String,
    /// The digest of the request it answers (a replay must match).
    pub body_digest: String,
    /// The chain transaction's id.
    pub tx_ref: String,
    /// The signed transaction, hex.
    pub tx_hex: String,
    /// When.
    pub at_ms: i64,
}

/// What the journal follows of a trade's records at one sync.
#[derive(Debug, Clone)]
pub struct TradeSync {
    /// The entries (top-ups, check-ins, the refund), each idempotent by its key.
    pub entries: Vec<JournalTx>,
    /// What the trade's escrow received on the chain (the order's value and its
    /// top-ups): the row's `value_fen` becomes it.
    pub funded: Fen,
    /// The status the chain shows (`placed`, `active` or `closed`).
    pub status: TradeStatus,
    /// The close's reason, when closed.
    pub close_reason: Option<String>,
    /// Σ check-in costs so far.
    pub paid: Fen,
    /// The refund, when closed.
    pub refunded: Fen,
    /// Check-ins so far.
    pub checkins: u32,
}

/// A member's spending limit as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberLimitRecord {
    /// The organisation.
    pub org: OrgId,
    /// The member.
    pub user: UserId,
    /// The member's DID (what the chain's wallet names).
    pub did: String,
    /// The limit.
    pub limit: Fen,
    /// Who set it.
    pub set_by: UserId,
    /// When.
    pub set_ms: i64,
    /// The chain transaction that mirrored it, once sent.
    pub chain_ref: Option<String>,
    /// When it was sent.
    pub chain_ms: Option<i64>,
}

/// Counts for `suanli ops reconcile` (`docs/exchange.md` §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TradeCounts {
    /// Orders stored (every status).
    pub orders: u64,
    /// Orders the chain took (placed, active or closed).
    pub orders_on_chain: u64,
    /// Orders still waiting for the chain's answer.
    pub placing: u64,
    /// Check-ins the journal followed.
    pub checkins_billed: u64,
}

/// A wallet alarm: the journal's cash and the chain wallet disagreed twice in a row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalletAlarm {
    /// Id.
    pub id: i64,
    /// The organisation.
    pub org: OrgId,
    /// Its cash in the journal.
    pub journal_fen: i64,
    /// Its wallet on the chain.
    pub chain_fen: i64,
    /// When raised.
    pub raised_ms: i64,
}

/// Trades, member limits and wallet alarms (`docs/exchange.md`).
#[async_trait::async_trait]
pub trait TradeStore: Send + Sync {
    /// Stores a trade `placing` with its escrow entry (Dr cash, Cr trade escrow) in one
    /// SQL transaction; refused with `insufficient_balance` beyond the organisation's
    /// cash. A replay (same organisation and idempotency key) answers the stored trade and
    /// `true` when the digest matches, [`crate::StoreError::KeyReuse`] when it does not.
    async fn place_trade(
        &self,
        new: &NewTrade,
        escrow: &JournalTx,
    ) -> StoreResult<(TradeRecord, bool)>;
    /// Imports a trade a member placed on the chain past the platform, paid from its
    /// organisation's wallet (`new.source` `chain`, `docs/exchange.md` §3): stored `placed`
    /// with its escrow entry (Dr cash, Cr trade escrow) in one SQL transaction, **without**
    /// the cash check — the chain has already taken the value from the wallet, so the
    /// journal follows it even into a negative cash balance (which the wallet alarm then
    /// names). A serial already stored is answered as stored with `false`.
    async fn import_trade(
        &self,
        new: &NewTrade,
        escrow: &JournalTx,
    ) -> StoreResult<(TradeRecord, bool)>;
    /// Marks mirror instruction `id` failed with the chain's `code` and `message`: the
    /// chain definitely refused it, so it is no longer pending (`docs/exchange.md` §1).
    async fn mirror_failed(
        &self,
        id: i64,
        code: &str,
        message: &str,
        at_ms: i64,
    ) -> StoreResult<()>;
    /// Forgets the signed transaction of pending mirror instruction `id` (its nonce was
    /// taken by another transaction, so it can never apply): the next pass signs it anew.
    /// The chain applies a wallet reference once, so a new signature never moves money twice.
    async fn mirror_resign(&self, id: i64) -> StoreResult<()>;
    /// Mirror instructions marked failed: (count, Σ amount in fen).
    async fn mirror_failed_count(&self) -> StoreResult<(u64, i64)>;
    /// `placing` → `placed` (the chain took the order); a trade already decided is
    /// answered unchanged.
    async fn trade_placed(&self, serial: &str, at_ms: i64) -> StoreResult<TradeRecord>;
    /// `placing` → `refused` with the chain's code and message, and the escrow entry
    /// reversed, in one SQL transaction (a market demand confirmed into it is `matched` again);
    /// a trade already decided is answered unchanged.
    async fn trade_refused(
        &self,
        serial: &str,
        code: &str,
        message: &str,
        at_ms: i64,
    ) -> StoreResult<TradeRecord>;
    /// Posts what the journal follows of a placed trade (each entry once: replays change
    /// nothing) and records its status, in one SQL transaction.
    async fn trade_synced(
        &self,
        serial: &str,
        sync: &TradeSync,
        at_ms: i64,
    ) -> StoreResult<TradeRecord>;
    /// Records the rating's chain transaction.
    async fn trade_rated(&self, serial: &str, tx_ref: &str) -> StoreResult<TradeRecord>;
    /// The organisation's trade stored under idempotency key `idem_key`, with the digest
    /// of the request it answered.
    async fn trade_by_idem(
        &self,
        org: OrgId,
        idem_key: &str,
    ) -> StoreResult<Option<(TradeRecord, String)>>;
    /// The platform offer (newest version) published on the chain as `chain_offer_id`.
    async fn offer_by_chain_id(&self, chain_offer_id: u64) -> StoreResult<Option<i64>>;
    /// One trade.
    async fn get_trade(&self, serial: &str) -> StoreResult<Option<TradeRecord>>;
    /// The organisation's trades (every organisation's with `None`), newest first,
    /// created before `before_ms` (0: from the newest).
    async fn list_trades(
        &self,
        org: Option<OrgId>,
        before_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<TradeRecord>>;
    /// Trades whose chain records the journal still follows (`placing`, `placed`,
    /// `active`), serial order after `after`.
    async fn live_trades(&self, after: &str, limit: u32) -> StoreResult<Vec<TradeRecord>>;
    /// Every trade (any status), serial order after `after` (the reconciliation).
    async fn trades_after(&self, after: &str, limit: u32) -> StoreResult<Vec<TradeRecord>>;
    /// Counts for the reconciliation.
    async fn trade_counts(&self) -> StoreResult<TradeCounts>;
    /// Organisations with a trade still `placing` (their wallet may lag their journal).
    async fn orgs_placing(&self) -> StoreResult<Vec<OrgId>>;
    /// Sets a member's limit (not yet mirrored on the chain).
    async fn set_member_limit(
        &self,
        org: OrgId,
        user: UserId,
        did: &str,
        limit: Fen,
        by: UserId,
        at_ms: i64,
    ) -> StoreResult<MemberLimitRecord>;
    /// The organisation's member limits, by user.
    async fn member_limits(&self, org: OrgId) -> StoreResult<Vec<MemberLimitRecord>>;
    /// Limits not yet mirrored on the chain.
    async fn member_limits_pending(&self, limit: u32) -> StoreResult<Vec<MemberLimitRecord>>;
    /// Marks a limit mirrored (only if it is still the limit set at `set_ms`).
    async fn member_limit_sent(
        &self,
        org: OrgId,
        user: UserId,
        set_ms: i64,
        chain_ref: &str,
        at_ms: i64,
    ) -> StoreResult<()>;
    /// Records a wallet alarm.
    async fn raise_wallet_alarm(
        &self,
        org: OrgId,
        journal_fen: i64,
        chain_fen: i64,
        at_ms: i64,
    ) -> StoreResult<WalletAlarm>;
    /// The newest wallet alarms.
    async fn wallet_alarms(&self, limit: u32) -> StoreResult<Vec<WalletAlarm>>;
}
