//! A fake `PayoutLedger`: settlement-credit balances per key (hex) with custody, signed
//! transactions as text (`transfer:{from}:{to}:{fen}`, `burn:{fen}`), each applied at
//! most once; a send can be made to time out once (applied or not) or to be refused.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use crate::PortError;
use crate::payment::SignedTx;
use crate::payout_ledger::PayoutLedger;
use suanli_platform_domain::money::Fen;
use suanli_primitives::{PublicKey, SecretKey};

/// Custody's key in the fake.
pub const CUSTODY: &str = "custody";

/// What the next send does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextSend {
    /// Applies it.
    Apply,
    /// Applies it, then reports a timeout.
    ApplyThenTimeOut,
    /// Reports a timeout without applying it.
    TimeOut,
    /// The chain refuses it.
    Refuse,
}

#[derive(Debug)]
pub struct FakePayouts {
    pub balances: Mutex<BTreeMap<String, i64>>,
    pub applied: Mutex<BTreeSet<String>>,
    pub next: Mutex<NextSend>,
    signed: Mutex<u64>,
}

impl Default for FakePayouts {
    fn default() -> Self {
        Self {
            balances: Mutex::default(),
            applied: Mutex::default(),
            next: Mutex::new(NextSend::Apply),
            signed: Mutex::new(0),
        }
    }
}

impl FakePayouts {
    pub fn held(&self, who: &str) -> i64 {
        self.balances.lock().unwrap().get(who).copied().unwrap_or(0)
    }

    fn tx(&self, body: String) -> SignedTx {
        let mut n = self.signed.lock().unwrap();
        *n += 1;
        SignedTx {
            reference: format!("tx{n}"),
            encoded_hex: body,
        }
    }

    fn apply(&self, body: &str) -> Result<(), PortError> {
        let parts: Vec<&str> = body.split(':').collect();
        let mut b = self.balances.lock().unwrap();
        let (from, to, fen) = match parts.as_slice() {
            ["transfer", from, to, fen] => (*from, Some(*to), fen.parse::<i64>().unwrap()),
            ["burn", fen] => (CUSTODY, None, fen.parse::<i64>().unwrap()),
            _ => panic!("not a fake transaction: {body}"),
        };
        let held = b.get(from).copied().unwrap_or(0);
        if held < fen {
            return Err(PortError::Refused {
                code: "chain_refused",
                message: "insufficient credits".into(),
            });
        }
        b.insert(from.to_owned(), held - fen);
        if let Some(to) = to {
            *b.entry(to.to_owned()).or_insert(0) += fen;
        }
        Ok(())
    }
}

fn timeout() -> PortError {
    PortError::ledger(std::io::Error::other("timed out waiting for the commit"))
}

impl PayoutLedger for FakePayouts {
    fn balance(&self, key: &PublicKey) -> Result<i64, PortError> {
        Ok(self.held(&key.to_hex()))
    }
    fn sign_to_custody(&self, supplier: &SecretKey, amount: Fen) -> Result<SignedTx, PortError> {
        let from = supplier.public().to_hex();
        if self.held(&from) < amount.get() {
            return Err(PortError::Refused {
                code: "chain_balance_short",
                message: "the supplier's settlement credits are short".into(),
            });
        }
        Ok(self.tx(format!("transfer:{from}:{CUSTODY}:{}", amount.get())))
    }
    fn sign_burn(&self, amount: Fen) -> Result<SignedTx, PortError> {
        Ok(self.tx(format!("burn:{}", amount.get())))
    }
    fn sign_return(&self, transfer: &SignedTx) -> Result<SignedTx, PortError> {
        let parts: Vec<&str> = transfer.encoded_hex.split(':').collect();
        Ok(self.tx(format!("transfer:{CUSTODY}:{}:{}", parts[1], parts[3])))
    }
    fn send(&self, tx: &SignedTx) -> Result<(), PortError> {
        let next = std::mem::replace(&mut *self.next.lock().unwrap(), NextSend::Apply);
        match next {
            NextSend::TimeOut => return Err(timeout()),
            NextSend::Refuse => {
                return Err(PortError::Refused {
                    code: "chain_refused",
                    message: "nonce already used".into(),
                });
            }
            NextSend::Apply | NextSend::ApplyThenTimeOut => {}
        }
        if self.applied.lock().unwrap().insert(tx.reference.clone()) {
            if let Err(e) = self.apply(&tx.encoded_hex) {
                self.applied.lock().unwrap().remove(&tx.reference);
                return Err(e);
            }
        }
        if next == NextSend::ApplyThenTimeOut {
            return Err(timeout());
        }
        Ok(())
    }
    fn burned(&self, tx: &SignedTx) -> Result<i64, PortError> {
        let applied = self.applied.lock().unwrap().contains(&tx.reference);
        Ok(match tx.encoded_hex.strip_prefix("burn:") {
            Some(fen) if applied => fen.parse().unwrap(),
            _ => 0,
        })
    }
}
