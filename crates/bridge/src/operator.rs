//! The genesis operator's key as every bridge port that signs with it shares it
//! (`OperatorSigner`): the wallet mirror's mints and burns (`mirror.rs`), members' limits
//! (`trade_ledger.rs`), enrolments (`dids.rs`) and payout burns and returns
//! (`payout.rs`). A transaction is signed at the signer's next nonce (counting the
//! mempool), so two signers working at once could take the same nonce and one of them
//! would never apply: each port signs — and, where it sends in the same call, sends —
//! while holding the one lock of the signer they were all given (`wiring.rs`).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use suanli_primitives::{PublicKey, SecretKey};

/// The operator key and the lock every user of it holds while it signs.
#[derive(Debug, Clone)]
pub struct OperatorSigner {
    key: SecretKey,
    lock: Arc<Mutex<()>>,
}

impl From<SecretKey> for OperatorSigner {
    fn from(key: SecretKey) -> Self {
        Self::new(key)
    }
}

impl OperatorSigner {
    /// A signer of its own (clone it to share the lock).
    pub fn new(key: SecretKey) -> Self {
        Self {
            key,
            lock: Arc::default(),
        }
    }

    /// The operator's public key.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// The key, with the lock held until the guard is dropped; no other user of this
    /// signer (or of a clone) signs meanwhile.
    pub fn lock(&self) -> (MutexGuard<'_, ()>, &SecretKey) {
        let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        (guard, &self.key)
    }

    /// Whether `other` shares this signer's lock.
    pub fn shares_lock_with(&self, other: &OperatorSigner) -> bool {
        Arc::ptr_eq(&self.lock, &other.lock)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::OperatorSigner;
    use suanli_primitives::SecretKey;

    #[test]
    fn clones_share_one_lock() {
        let a = OperatorSigner::new(SecretKey::generate().unwrap());
        let b = a.clone();
        assert!(a.shares_lock_with(&b));
        let (_held, _) = a.lock();
        assert!(b.lock.try_lock().is_err(), "a clone waits while one signs");
        let c = OperatorSigner::new(SecretKey::generate().unwrap());
        assert!(!a.shares_lock_with(&c));
    }
}
