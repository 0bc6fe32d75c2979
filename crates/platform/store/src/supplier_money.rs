//! Supplier money (issue 16, `docs/supply.md` §4, migration `0010_supplier_money`): the
//! [`SupplierMoneyStore`] trait — supply agreements (versioned; each version accepted by
//! the supplier), settlement statements (each check-in settled once: its serial and number
//! are a primary key), payouts with four eyes — and its records. Implemented for both
//! backends by one macro body (`money_sql/supplier_money.rs`); every operation that moves
//! money is one SQL transaction holding its journal entry and the row it belongs to.

use std::collections::BTreeSet;

use crate::StoreResult;
use suanli_platform_domain::money::{Bp, Fen};
use suanli_platform_domain::supply::settlement::{
    AgreementTerms, CheckInKey, PeriodKey, SalesMode, SettlementPeriod, Statement,
};
use suanli_platform_domain::{OrgId, UserId};

/// One version of a supplier's supply agreement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgreementRecord {
    /// Id.
    pub id: i64,
    /// The supplier organisation.
    pub org: OrgId,
    /// 1, 2, … per supplier.
    pub version: i64,
    /// The agreement's text.
    pub body: String,
    /// Discount or rebate.
    pub sales_mode: SalesMode,
    /// The operator's commission on gross.
    pub commission: Bp,
    /// Statement period.
    pub period: SettlementPeriod,
    /// The operator user who recorded it.
    pub entered_by: UserId,
    /// When.
    pub entered_ms: i64,
    /// The supplier user who accepted it.
    pub accepted_by: Option<UserId>,
    /// When.
    pub accepted_ms: Option<i64>,
}

/// A settlement statement as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatementRecord {
    /// Id.
    pub id: i64,
    /// The supplier.
    pub org: OrgId,
    /// The period's label (`2026-11`, `2026-Q4`).
    pub period: String,
    /// 1 for the period's first statement; later runs settle only late check-ins.
    pub seq: i64,
    /// Period start (Unix ms, CST midnight).
    pub period_start_ms: i64,
    /// Period end (exclusive).
    pub period_end_ms: i64,
    /// The agreement version that governed it.
    pub agreement_id: i64,
    /// Its commission.
    pub commission_bp: Bp,
    /// Σ check-in costs.
    pub gross: Fen,
    /// The operator's commission.
    pub commission: Fen,
    /// Owed to the supplier.
    pub net: Fen,
    /// How many check-ins.
    pub checkins: i64,
    /// Its journal transaction.
    pub journal_tx_id: i64,
    /// The finance user who ran it.
    pub run_by: UserId,
    /// When.
    pub run_ms: i64,
}

/// What a statement run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementOutcome {
    /// The new statement, or `None` when the period had nothing left to settle.
    pub statement: Option<StatementRecord>,
}

/// A new statement to store.
#[derive(Debug, Clone)]
pub struct NewStatement<'a> {
    /// The supplier.
    pub org: OrgId,
    /// The period.
    pub period: &'a PeriodKey,
    /// The governing agreement.
    pub agreement: &'a AgreementRecord,
    /// What the domain computed.
    pub statement: &'a Statement,
    /// Who runs it.
    pub by: UserId,
    /// When.
    pub at_ms: i64,
}

/// A payout's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    /// Asked for by the supplier.
    Requested,
    /// Checked by a first finance user.
    Checked,
    /// Approved by a second finance user: paid (journal posted).
    Approved,
    /// Refused by a finance user.
    Rejected,
}

impl PayoutStatus {
    /// Stable text.
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Requested => "requested",
            PayoutStatus::Checked => "checked",
            PayoutStatus::Approved => "approved",
            PayoutStatus::Rejected => "rejected",
        }
    }
    /// Parses [`PayoutStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            PayoutStatus::Requested,
            PayoutStatus::Checked,
            PayoutStatus::Approved,
            PayoutStatus::Rejected,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// A payout as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PayoutRecord {
    /// Id.
    pub id: i64,
    /// The supplier.
    pub org: OrgId,
    /// Amount.
    pub amount: Fen,
    /// The supplier user who asked.
    pub requested_by: UserId,
    /// When.
    pub requested_ms: i64,
    /// State.
    pub status: PayoutStatus,
    /// The finance user who checked it (first eyes).
    pub checked_by: Option<UserId>,
    /// When.
    pub checked_ms: Option<i64>,
    /// The finance user who approved or rejected it.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_ms: Option<i64>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The payout's journal transaction once approved.
    pub journal_tx_id: Option<i64>,
    /// The transfer of the amount from the supplier's key to custody on the trade chain,
    /// signed by the supplier at the request (`None`: requested before payouts moved
    /// credits).
    pub transfer: Option<PayoutChainTx>,
    /// When the chain applied it.
    pub transfer_sent_ms: Option<i64>,
    /// The burn from custody (approved) or the return to the supplier (rejected).
    pub settle: Option<PayoutChainTx>,
    /// When the chain applied it.
    pub settle_sent_ms: Option<i64>,
}

impl PayoutRecord {
    /// The payout's chain transaction still to send: the transfer until the chain applied
    /// it, then the burn or return once decided.
    pub fn unsent(&self) -> Option<(PayoutLeg, &PayoutChainTx)> {
        match (
            &self.transfer,
            self.transfer_sent_ms,
            &self.settle,
            self.settle_sent_ms,
        ) {
            (Some(t), None, _, _) => Some((PayoutLeg::Transfer, t)),
            (_, _, Some(t), None) => Some((PayoutLeg::Settle, t)),
            _ => None,
        }
    }
}

/// A payout's signed trade-chain transaction, stored before it is sent (and sent again,
/// never re-signed, after a timeout or a crash).
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct PayoutChainTx {
    /// The chain transaction id.
    pub reference: String,
    /// The encoded transaction, hex (not serialised: the id names it).
    #[serde(skip_serializing)]
    pub encoded_hex: String,
}

impl std::fmt::Debug for PayoutChainTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayoutChainTx")
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

/// Which of a payout's chain transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutLeg {
    /// The transfer to custody (request).
    Transfer,
    /// The burn or return (decision).
    Settle,
}

/// The platform's side of a supplier's books (for reconciliation and the revenue page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SupplierLedger {
    /// Σ gross of its statements.
    pub settled_gross: Fen,
    /// Σ commission of its statements.
    pub settled_commission: Fen,
    /// Σ net of its statements.
    pub settled_net: Fen,
    /// Its payable balance in the journal.
    pub payable: Fen,
    /// Σ approved payouts.
    pub paid: Fen,
    /// Σ payouts requested or checked (not yet decided).
    pub pending_payouts: Fen,
}

impl SupplierLedger {
    /// What the supplier may still ask for: payable minus undecided payouts.
    pub fn free_payable(&self) -> Fen {
        self.payable.saturating_sub(self.pending_payouts)
    }
}

/// Supplier money: agreements, statements, payouts.
#[async_trait::async_trait]
pub trait SupplierMoneyStore: Send + Sync {
    /// Records a new agreement version for `org` (version = last + 1), not yet accepted.
    async fn record_agreement(
        &self,
        org: OrgId,
        terms: &AgreementTerms,
        by: UserId,
        at_ms: i64,
    ) -> StoreResult<AgreementRecord>;
    /// The supplier accepts agreement `id`: only the newest version, once
    /// (`not_pending` otherwise); `NotFound` for another organisation's agreement.
    async fn accept_agreement(
        &self,
        org: OrgId,
        id: i64,
        by: UserId,
        at_ms: i64,
    ) -> StoreResult<AgreementRecord>;
    /// Every agreement version of `org`, newest first.
    async fn supply_agreements(&self, org: OrgId) -> StoreResult<Vec<AgreementRecord>>;
    /// The agreement that governs settlement: the newest accepted version.
    async fn governing_agreement(&self, org: OrgId) -> StoreResult<Option<AgreementRecord>>;

    /// The check-ins of `org` already settled.
    async fn settled_checkins(&self, org: OrgId) -> StoreResult<BTreeSet<CheckInKey>>;
    /// Stores a statement with its check-ins and journal entry in one transaction; a
    /// statement without check-ins stores nothing. A check-in settled meanwhile by
    /// another run refuses the whole run (`Conflict`).
    async fn record_statement(&self, s: &NewStatement<'_>) -> StoreResult<StatementOutcome>;
    /// Statements, newest first (`org` = `None`: every supplier), ids below `before`
    /// (0 = from the newest).
    async fn settlement_statements(
        &self,
        org: Option<OrgId>,
        before: i64,
        limit: u32,
    ) -> StoreResult<Vec<StatementRecord>>;

    /// The platform's books of `org`.
    async fn supplier_ledger(&self, org: OrgId) -> StoreResult<SupplierLedger>;
    /// The supplier asks for `amount`, with the signed (not yet sent) `transfer` of it to
    /// custody: refused above its free payable (`payout_above_payable`).
    async fn request_payout(
        &self,
        org: OrgId,
        amount: Fen,
        by: UserId,
        at_ms: i64,
        transfer: &PayoutChainTx,
    ) -> StoreResult<PayoutRecord>;
    /// A first finance user checks a requested payout (never its requester: `four_eyes`);
    /// refused (`not_pending`) while its transfer to custody is not applied.
    async fn check_payout(&self, id: i64, by: UserId, at_ms: i64) -> StoreResult<PayoutRecord>;
    /// A second finance user approves a checked payout (never its requester nor its
    /// checker: `four_eyes`); posts supplier payable → bank and stores the signed `burn`
    /// (`None` only for a payout without a transfer).
    async fn approve_payout(
        &self,
        id: i64,
        by: UserId,
        at_ms: i64,
        burn: Option<&PayoutChainTx>,
    ) -> StoreResult<PayoutRecord>;
    /// A finance user rejects a requested or checked payout, storing the signed return of
    /// the amount to the supplier (`back`; `None` when nothing reached custody).
    async fn reject_payout(
        &self,
        id: i64,
        by: UserId,
        reason: &str,
        at_ms: i64,
        back: Option<&PayoutChainTx>,
    ) -> StoreResult<PayoutRecord>;
    /// The chain applied payout `id`'s `leg` at `at_ms` (idempotent).
    async fn payout_sent(&self, id: i64, leg: PayoutLeg, at_ms: i64) -> StoreResult<PayoutRecord>;
    /// Deletes requested payout `id` whose transfer to custody the chain refused (never
    /// applied): as if it had not been asked for. `false` when it is not such a payout.
    async fn drop_refused_payout(&self, id: i64) -> StoreResult<bool>;
    /// One payout.
    async fn get_payout(&self, id: i64) -> StoreResult<Option<PayoutRecord>>;
    /// Payouts, newest first (`org` = `None`: every supplier), ids below `before`.
    async fn supplier_payouts(
        &self,
        org: Option<OrgId>,
        before: i64,
        limit: u32,
    ) -> StoreResult<Vec<PayoutRecord>>;
}
