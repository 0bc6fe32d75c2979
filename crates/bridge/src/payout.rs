//! The platform's [`PayoutLedger`] on the trade chain (`docs/supply.md` §4 Payouts): a
//! supplier payout moves settlement credits from the supplier's enrolled key to custody
//! (the genesis credit operator's key) with a transfer the supplier's key signs, and from
//! custody out of existence (burn, approved) or back to the supplier (transfer, rejected)
//! with transactions the operator key signs.
//!
//! Every transaction is signed at its signer's next nonce (counting the mempool) and
//! returned for the caller to store before [`PayoutLedger::send`] commits it; a second
//! `send` of the same transaction finds it applied, so it is applied at most once. The
//! platform sends each one right after storing it, so a signer's next transaction is not
//! signed while one is stored and unsent unless that send failed; such a transaction may
//! then lose its nonce to a later one of the same key and is refused (`chain_refused`).

use std::sync::Arc;
use std::time::Duration;

use suanli_ledger::credit::{CreditOp, PositiveFen, balance_key, decode_fen};
use suanli_ledger::{Outcome, Payload, Transaction};
use suanli_ledger_client::{LedgerClient, LedgerError, TxStatus};
use suanli_platform_http::PortError;
use suanli_platform_http::domain::money::Fen;
use suanli_platform_http::payment::SignedTx;
use suanli_platform_http::payout_ledger::PayoutLedger;
use suanli_primitives::{ChainKind, PublicKey, SecretKey};

use crate::BridgeError;
use crate::operator::OperatorSigner;

/// Longest to wait for a payout transaction to commit, in milliseconds.
pub const PAYOUT_COMMIT_TIMEOUT_MS: u64 = 15_000;

/// Supplier payouts on a ledger whose genesis credit operator's key this platform holds.
#[derive(Debug)]
pub struct LedgerPayouts {
    ledger: Arc<dyn LedgerClient>,
    operator: OperatorSigner,
}

impl LedgerPayouts {
    /// Payouts on `ledger`, with custody at the genesis credit operator `operator` (shared
    /// with the other ports that sign with it, `crate::operator`).
    pub fn new(ledger: Arc<dyn LedgerClient>, operator: impl Into<OperatorSigner>) -> Self {
        Self {
            ledger,
            operator: operator.into(),
        }
    }

    /// The custody account's key (where requested payouts wait for their decision).
    pub fn custody(&self) -> PublicKey {
        self.operator.public()
    }

    fn balance_of(&self, key: &PublicKey) -> Result<i64, BridgeError> {
        Ok(self
            .ledger
            .state_get(ChainKind::Trade, &balance_key(key))?
            .and_then(|b| decode_fen(&b))
            .map_or(0, |f| f.get()))
    }

    fn sign(&self, key: &SecretKey, op: CreditOp) -> Result<SignedTx, BridgeError> {
        let tx: Transaction = self
            .ledger
            .sign_next(ChainKind::Trade, key, Payload::Credit(op))?;
        Ok(SignedTx {
            reference: tx.id().to_string(),
            encoded_hex: hex::encode(tx.encoded()),
        })
    }

    fn to_custody(&self, supplier: &SecretKey, amount: Fen) -> Result<SignedTx, BridgeError> {
        let amount = PositiveFen::new(amount.get())?;
        let held = self.balance_of(&supplier.public())?;
        if held < amount.get() {
            return Err(BridgeError::invalid(
                "chain_balance_short",
                format!(
                    "the supplier's settlement credits on the trade chain are {held} fen, \
                     less than the {} fen asked for",
                    amount.get()
                ),
            ));
        }
        self.sign(
            supplier,
            CreditOp::Transfer {
                to: self.custody(),
                amount,
            },
        )
    }

    fn burned_by(&self, signed: &SignedTx) -> Result<i64, BridgeError> {
        let tx = Transaction::decode(&hex::decode(&signed.encoded_hex)?)?;
        let Payload::Credit(CreditOp::Burn { amount }) = tx.payload() else {
            return Ok(0);
        };
        if *tx.signer() != self.custody() || tx.chain().kind() != ChainKind::Trade {
            return Ok(0);
        }
        Ok(match self.ledger.status(&tx.id())? {
            TxStatus::Committed {
                outcome: Outcome::Applied,
                ..
            } => amount.get(),
            _ => 0,
        })
    }

    fn return_of(&self, transfer: &SignedTx) -> Result<SignedTx, BridgeError> {
        let tx = Transaction::decode(&hex::decode(&transfer.encoded_hex)?)?;
        match tx.payload() {
            Payload::Credit(CreditOp::Transfer { to, amount }) if *to == self.custody() => {
                let (_signing, operator) = self.operator.lock();
                self.sign(
                    operator,
                    CreditOp::Transfer {
                        to: *tx.signer(),
                        amount: *amount,
                    },
                )
            }
            _ => Err(BridgeError::invalid(
                "not_a_payout_transfer",
                "the stored transaction is not a transfer to custody",
            )),
        }
    }

    fn commit(&self, signed: &SignedTx) -> Result<(), BridgeError> {
        let tx = Transaction::decode(&hex::decode(&signed.encoded_hex)?)?;
        let wait = Duration::from_millis(PAYOUT_COMMIT_TIMEOUT_MS);
        // Sent while no other operator user signs (its nonce may be the next one).
        let _signing = self.operator.lock();
        match self.ledger.commit(&tx, wait) {
            Ok(_) => Ok(()),
            // The contract or the node refused this very transaction (spent balance, used
            // nonce): sending it again will not help.
            Err(
                e @ (LedgerError::Failed { .. }
                | LedgerError::Rejected { .. }
                | LedgerError::Refused(_)
                | LedgerError::RefusedRemote { .. }),
            ) if !e.is_retryable() => Err(BridgeError::invalid("chain_refused", e.to_string())),
            Err(e) => Err(BridgeError::Ledger(e)),
        }
    }
}

impl PayoutLedger for LedgerPayouts {
    fn balance(&self, key: &PublicKey) -> Result<i64, PortError> {
        Ok(self.balance_of(key)?)
    }

    fn sign_to_custody(&self, supplier: &SecretKey, amount: Fen) -> Result<SignedTx, PortError> {
        Ok(self.to_custody(supplier, amount)?)
    }

    fn sign_burn(&self, amount: Fen) -> Result<SignedTx, PortError> {
        let amount = PositiveFen::new(amount.get()).map_err(BridgeError::from)?;
        let (_signing, operator) = self.operator.lock();
        Ok(self.sign(operator, CreditOp::Burn { amount })?)
    }

    fn sign_return(&self, transfer: &SignedTx) -> Result<SignedTx, PortError> {
        Ok(self.return_of(transfer)?)
    }

    fn send(&self, tx: &SignedTx) -> Result<(), PortError> {
        Ok(self.commit(tx)?)
    }

    fn burned(&self, tx: &SignedTx) -> Result<i64, PortError> {
        Ok(self.burned_by(tx)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn fen(n: i64) -> Fen {
        Fen::new(n).unwrap()
    }

    #[test]
    fn a_payout_moves_credits_to_custody_then_burns_or_returns_them_once() {
        let dir = tempfile::tempdir().unwrap();
        let (node, producers) = suanli_ledger_client::embedded::open_node(
            dir.path(),
            "suanli-test",
            None,
            suanli_ledger::MempoolConfig {
                block_interval_ms: 5,
                ..Default::default()
            },
        )
        .unwrap();
        let client = Arc::clone(&node) as Arc<dyn LedgerClient>;
        let operator = SecretKey::load(&dir.path().join("operator.key")).unwrap();
        let supplier = SecretKey::from_label("payout/supplier");
        // The supplier's settlement credits, as check-ins would have paid them.
        client
            .transact(
                ChainKind::Trade,
                &operator,
                Payload::Credit(CreditOp::Mint {
                    to: supplier.public(),
                    amount: PositiveFen::new(10_000).unwrap(),
                }),
                Duration::from_secs(10),
            )
            .unwrap();
        let payouts = LedgerPayouts::new(Arc::clone(&client), operator);
        let custody = payouts.custody();
        let held = |k: &PublicKey| payouts.balance(k).unwrap();
        let custody_before = held(&custody);
        assert_eq!(held(&supplier.public()), 10_000);

        // Above the chain balance: refused before anything is signed.
        let e = payouts.sign_to_custody(&supplier, fen(10_001)).unwrap_err();
        assert_eq!(e.code(), "chain_balance_short");
        assert_eq!(held(&supplier.public()), 10_000);

        // Request: the supplier's key moves 6,000 into custody; a second send of the same
        // transaction (a retry after a timeout) applies nothing more.
        let to_custody = payouts.sign_to_custody(&supplier, fen(6_000)).unwrap();
        payouts.send(&to_custody).unwrap();
        payouts.send(&to_custody).unwrap();
        assert_eq!(held(&supplier.public()), 4_000);
        assert_eq!(held(&custody), custody_before + 6_000);
        let tx = Transaction::decode(&hex::decode(&to_custody.encoded_hex).unwrap()).unwrap();
        assert_eq!(
            *tx.signer(),
            supplier.public(),
            "signed by the supplier's key"
        );

        // Approval: custody burns 5,000 once, however often it is sent.
        let burn = payouts.sign_burn(fen(5_000)).unwrap();
        assert_eq!(
            payouts.burned(&burn).unwrap(),
            0,
            "signed, not sent: nothing burned"
        );
        payouts.send(&burn).unwrap();
        payouts.send(&burn).unwrap();
        assert_eq!(held(&custody), custody_before + 1_000);
        assert_eq!(payouts.burned(&burn).unwrap(), 5_000);
        // A transfer is not a burn.
        assert_eq!(payouts.burned(&to_custody).unwrap(), 0);

        // Rejection: custody returns a request's 1,000 to the supplier's key, once.
        // (A 1,000 request: its transfer to custody, then its return.)
        let small = payouts.sign_to_custody(&supplier, fen(1_000)).unwrap();
        payouts.send(&small).unwrap();
        assert_eq!(held(&custody), custody_before + 2_000);
        assert!(
            payouts.sign_return(&burn).is_err(),
            "only a transfer is returned"
        );
        let back = payouts.sign_return(&small).unwrap();
        payouts.send(&back).unwrap();
        payouts.send(&back).unwrap();
        assert_eq!(held(&custody), custody_before + 1_000);
        assert_eq!(held(&supplier.public()), 4_000);

        // A transfer the chain cannot apply any more (signed, then the supplier's key spent
        // its nonce before it was sent) is the chain's refusal, not a ledger failure.
        let late = payouts.sign_to_custody(&supplier, fen(4_000)).unwrap();
        let spend = payouts
            .sign(
                &supplier,
                CreditOp::Burn {
                    amount: PositiveFen::new(1).unwrap(),
                },
            )
            .unwrap();
        payouts.send(&spend).unwrap();
        let e = payouts.send(&late).unwrap_err();
        assert_eq!(e.code(), "chain_refused", "{e}");
        assert_eq!(held(&supplier.public()), 3_999);
        // A burn by another key is not a payout's burn.
        assert_eq!(payouts.burned(&spend).unwrap(), 0);

        node.stop();
        producers.into_iter().for_each(|p| p.join().unwrap());
    }
}
