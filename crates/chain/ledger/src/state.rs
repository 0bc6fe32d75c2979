//! Chain state: a key-value map, the per-block write set and the state commitment.
//!
//! The commitment is a hash chain over write sets (documented in `docs/ledger-format.md`):
//! `C(h) = SHA-256("suanli/state/v1" | C(h-1) | u64 height | outcomes | sorted writes)`.
//! It commits to the whole state, because the state is a function of the ordered write
//! sets, and costs O(writes) per block instead of O(state). It does not support proofs
//! of individual state entries; that needs a sparse Merkle tree, which is left for later.

use std::collections::{BTreeMap, HashMap};

use suanli_primitives::codec::Writer;
use suanli_primitives::{Hash32, sha256};

use crate::tx::Outcome;

/// Domain tag of the state commitment.
pub const STATE_DOMAIN: &[u8] = b"suanli/state/v1";

/// The committed state of one chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    entries: HashMap<Vec<u8>, Vec<u8>>,
}

impl State {
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn apply(&mut self, writes: WriteSet) {
        for (key, value) in writes.0 {
            match value {
                Some(v) => {
                    self.entries.insert(key, v);
                }
                None => {
                    self.entries.remove(&key);
                }
            }
        }
    }

    /// Entries whose key starts with `prefix`, in no particular order.
    pub fn scan_prefix<'a>(
        &'a self,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        self.entries
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Loads a state from stored entries (used by stores on restart).
    pub fn from_entries(entries: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>) -> Self {
        State {
            entries: entries.into_iter().collect(),
        }
    }
}

/// Writes of one block, sorted by key; `None` deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSet(pub BTreeMap<Vec<u8>, Option<Vec<u8>>>);

impl WriteSet {
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Option<Vec<u8>>)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The commitment after a block at `height` with these outcomes and writes.
pub fn next_commitment(
    previous: &Hash32,
    height: u64,
    outcomes: &[Outcome],
    writes: &WriteSet,
) -> Hash32 {
    let mut w = Writer::with_capacity(64 + writes.len() * 64);
    w.fixed(STATE_DOMAIN).fixed(previous.as_bytes()).u64(height);
    w.u32(u32::try_from(outcomes.len()).unwrap_or(u32::MAX));
    for outcome in outcomes {
        outcome.encode(&mut w);
    }
    w.u32(u32::try_from(writes.len()).unwrap_or(u32::MAX));
    for (key, value) in writes.iter() {
        w.bytes(key);
        match value {
            Some(v) => {
                w.u8(1).bytes(v);
            }
            None => {
                w.u8(0);
            }
        }
    }
    sha256(w.as_slice())
}

/// Read/write access a system contract gets while executing one transaction.
pub trait StateAccess {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>);
    fn delete(&mut self, key: Vec<u8>);
}

/// The state as seen inside a block being executed: committed state plus the writes of
/// earlier transactions of the block.
#[derive(Debug)]
pub struct BlockOverlay<'a> {
    base: &'a State,
    writes: WriteSet,
}

impl<'a> BlockOverlay<'a> {
    pub fn new(base: &'a State) -> Self {
        BlockOverlay {
            base,
            writes: WriteSet::default(),
        }
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.writes.0.get(key) {
            Some(value) => value.clone(),
            None => self.base.get(key).map(<[u8]>::to_vec),
        }
    }

    /// A scratch layer for one transaction; commit it with [`TxOverlay::commit`].
    pub fn begin_tx(&mut self) -> TxOverlay<'_, 'a> {
        TxOverlay {
            block: self,
            writes: BTreeMap::new(),
        }
    }

    pub fn into_writes(self) -> WriteSet {
        self.writes
    }
}

/// The writes of one transaction, discarded unless committed.
#[derive(Debug)]
pub struct TxOverlay<'b, 'a> {
    block: &'b mut BlockOverlay<'a>,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl TxOverlay<'_, '_> {
    pub fn commit(self) {
        self.block.writes.0.extend(self.writes);
    }
}

impl StateAccess for TxOverlay<'_, '_> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.writes.get(key) {
            Some(value) => value.clone(),
            None => self.block.get(key),
        }
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_layers_and_discard() {
        let base = State::from_entries([(b"a".to_vec(), b"1".to_vec())]);
        let mut block = BlockOverlay::new(&base);
        {
            let mut tx = block.begin_tx();
            tx.put(b"a".to_vec(), b"2".to_vec());
            assert_eq!(tx.get(b"a"), Some(b"2".to_vec()));
            // dropped without commit
        }
        let mut tx = block.begin_tx();
        assert_eq!(tx.get(b"a"), Some(b"1".to_vec()));
        tx.delete(b"a".to_vec());
        tx.commit();
        let writes = block.into_writes();
        let mut state = base.clone();
        state.apply(writes);
        assert!(state.get(b"a").is_none());
    }

    #[test]
    fn commitment_depends_on_every_input() {
        let mut writes = WriteSet::default();
        writes.0.insert(b"k".to_vec(), Some(b"v".to_vec()));
        let base = next_commitment(&Hash32::ZERO, 1, &[Outcome::Applied], &writes);
        assert_ne!(
            base,
            next_commitment(&Hash32::ZERO, 2, &[Outcome::Applied], &writes)
        );
        let failed = Outcome::Failed { reason: "x".into() };
        assert_ne!(base, next_commitment(&Hash32::ZERO, 1, &[failed], &writes));
        assert_ne!(
            base,
            next_commitment(&Hash32::ZERO, 1, &[Outcome::Applied], &WriteSet::default())
        );
    }
}
