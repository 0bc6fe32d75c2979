//! The `PayoutLedger` port (issue 16, `docs/supply.md` §4 Payouts): the trade-chain side
//! of a supplier payout. Check-ins pay a supplier's settlement credits to its enrolled DID
//! key, which only the supplier holds (sealed under its administrator's password,
//! `docs/key-custody.md`); so a payout moves them in three transactions:
//!
//! 1. when the supplier asks for it, a credit **transfer** of the amount from the
//!    supplier's key to the platform's **custody** (the genesis credit operator's key),
//!    signed by the supplier's key (unsealed with the password of that request);
//! 2. when a second finance user approves it, a **burn** of the amount from custody,
//!    signed by the operator key;
//! 3. when a finance user rejects it, a **return**: a transfer of the amount from custody
//!    back to the supplier's key, signed by the operator key.
//!
//! Each is signed first ([`SignedTx`]) so that the caller can store it before it is sent,
//! and [`PayoutLedger::send`] submits the stored transaction again after a timeout or a
//! crash (its nonce lets the chain apply it at most once), never a new one. This crate
//! does not depend on the chain crates: `suanli-bridge` (`payout.rs`) implements the port
//! over the ledger client. Blocking (the service runs it off the async runtime).

use crate::payment::SignedTx;
use suanli_platform_domain::money::Fen;
use suanli_primitives::{PublicKey, SecretKey};

/// The chain side of supplier payouts: custody transfers, burns and returns.
pub trait PayoutLedger: Send + Sync + std::fmt::Debug {
    /// The settlement-credit balance of `key`'s account on the trade chain, in fen.
    fn balance(&self, key: &PublicKey) -> Result<i64, crate::PortError>;
    /// Signs, without sending, a transfer of `amount` from `supplier`'s account to
    /// custody; refused (`chain_balance_short`) when the account holds less.
    fn sign_to_custody(
        &self,
        supplier: &SecretKey,
        amount: Fen,
    ) -> Result<SignedTx, crate::PortError>;
    /// Signs, without sending, a burn of `amount` from custody (an approved payout).
    fn sign_burn(&self, amount: Fen) -> Result<SignedTx, crate::PortError>;
    /// Signs, without sending, the return of a payout's `transfer` to custody: a transfer
    /// of its amount from custody back to its signer (a rejected payout).
    fn sign_return(&self, transfer: &SignedTx) -> Result<SignedTx, crate::PortError>;
    /// Makes sure `tx` is committed and applied: done if it already is, otherwise
    /// submitted (again) and waited for. Safe to repeat for the same transaction; a
    /// transaction the chain refused is `Refused` (`chain_refused`).
    fn send(&self, tx: &SignedTx) -> Result<(), crate::PortError>;
    /// What `tx` burned from custody on the chain, in fen: its amount when it is a burn
    /// signed by the custody key, committed and applied; 0 otherwise (unknown, pending,
    /// refused, or not a custody burn). Reconciliation reads burns here, not in the store.
    fn burned(&self, tx: &SignedTx) -> Result<i64, crate::PortError>;
}
