//! The durable block store: one redb database per node holding, for each chain, the
//! genesis, every block and every block's outcomes — the source of truth — plus derived
//! data checkpointed every few blocks: the transaction index and the state as of the
//! checkpoint height.
//!
//! A block and its outcomes are written in one redb write transaction with immediate
//! durability (one fsync per block), so after a crash the store is exactly at the last
//! block whose commit returned. Derived data may lag behind the blocks; on restart the
//! node re-executes the blocks after the checkpoint (deterministic) to rebuild it.

use std::path::Path;

use redb::{Database, ReadableDatabase, TableDefinition};
use suanli_ledger::block::BlockDecodeError;
use suanli_ledger::genesis::GenesisError;
use suanli_ledger::{Block, Genesis, Outcome, State, TxId, WriteSet};
use suanli_primitives::ChainKind;
use suanli_primitives::codec::{Reader, Writer};

const BLOCKS: TableDefinition<(u8, u64), &[u8]> = TableDefinition::new("blocks");
const OUTCOMES: TableDefinition<(u8, u64), &[u8]> = TableDefinition::new("outcomes");
const TX_INDEX: TableDefinition<&[u8], (u8, u64, u32)> = TableDefinition::new("tx_index");
const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
const GENESIS: TableDefinition<u8, &[u8]> = TableDefinition::new("genesis");
/// Height up to which STATE and TX_INDEX are current, per chain.
const CHECKPOINT: TableDefinition<u8, u64> = TableDefinition::new("checkpoint");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("block store: {0}")]
    Db(String),
    #[error("stored block {height} of the {chain} chain is corrupt: {error}")]
    CorruptBlock {
        chain: ChainKind,
        height: u64,
        error: BlockDecodeError,
    },
    #[error("stored genesis of the {chain} chain is corrupt: {error}")]
    CorruptGenesis {
        chain: ChainKind,
        error: GenesisError,
    },
    #[error("stored outcomes of block {height} of the {chain} chain are corrupt")]
    CorruptOutcomes { chain: ChainKind, height: u64 },
}

fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Db(e.into().to_string())
}

/// Where a committed transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TxLocation {
    pub chain: ChainKind,
    pub height: u64,
    pub index: u32,
}

/// Derived data accumulated since the last checkpoint: the merged state writes and the
/// index entries of the blocks in between.
#[derive(Debug, Default)]
pub struct Checkpoint {
    pub writes: WriteSet,
    pub index: Vec<(TxId, TxLocation)>,
}

impl Checkpoint {
    /// Folds a later block's writes and transactions in.
    pub fn absorb(&mut self, block: &Block, writes: &WriteSet) {
        let chain = block.header.unsigned.chain.kind();
        let height = block.header.height();
        for (key, value) in writes.iter() {
            self.writes.0.insert(key.clone(), value.clone());
        }
        self.index
            .extend(block.txs.iter().enumerate().map(|(i, tx)| {
                (
                    tx.id(),
                    TxLocation {
                        chain,
                        height,
                        index: i as u32,
                    },
                )
            }));
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.index.is_empty()
    }
}

#[derive(Debug)]
pub struct ChainStore {
    db: Database,
}

fn state_key(chain: ChainKind, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(chain.code());
    k.extend_from_slice(key);
    k
}

pub fn encode_outcomes(outcomes: &[Outcome]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(outcomes.len() as u32);
    for o in outcomes {
        o.encode(&mut w);
    }
    w.finish()
}

fn decode_outcomes(bytes: &[u8]) -> Option<Vec<Outcome>> {
    let mut r = Reader::new(bytes);
    let n = r.u32("outcome count").ok()? as usize;
    let mut out = Vec::with_capacity(n.min(suanli_ledger::block::BLOCK_TXS_MAX));
    for _ in 0..n {
        out.push(Outcome::decode(&mut r).ok()?);
    }
    r.finish().ok()?;
    Some(out)
}

impl ChainStore {
    /// Opens (or creates) the store at `path`. redb recovers from an unclean shutdown.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let database = Database::create(path).map_err(db)?;
        let w = database.begin_write().map_err(db)?;
        {
            w.open_table(BLOCKS).map_err(db)?;
            w.open_table(OUTCOMES).map_err(db)?;
            w.open_table(TX_INDEX).map_err(db)?;
            w.open_table(STATE).map_err(db)?;
            w.open_table(GENESIS).map_err(db)?;
            w.open_table(CHECKPOINT).map_err(db)?;
        }
        w.commit().map_err(db)?;
        Ok(ChainStore { db: database })
    }

    pub fn genesis(&self, chain: ChainKind) -> Result<Option<Genesis>, StoreError> {
        let r = self.db.begin_read().map_err(db)?;
        let t = r.open_table(GENESIS).map_err(db)?;
        let Some(bytes) = t.get(chain.code()).map_err(db)? else {
            return Ok(None);
        };
        Genesis::decode(bytes.value())
            .map(Some)
            .map_err(|error| StoreError::CorruptGenesis { chain, error })
    }

    /// Writes the genesis and block 0 of a new chain.
    pub fn init_chain(&self, genesis: &Genesis, block0: &Block) -> Result<(), StoreError> {
        let chain = genesis.chain.kind();
        let w = self.db.begin_write().map_err(db)?;
        {
            let mut g = w.open_table(GENESIS).map_err(db)?;
            g.insert(chain.code(), genesis.encode().as_slice())
                .map_err(db)?;
            let mut b = w.open_table(BLOCKS).map_err(db)?;
            b.insert((chain.code(), 0), block0.encode().as_slice())
                .map_err(db)?;
            let mut o = w.open_table(OUTCOMES).map_err(db)?;
            o.insert((chain.code(), 0), encode_outcomes(&[]).as_slice())
                .map_err(db)?;
        }
        w.commit().map_err(db)
    }

    /// Durably appends a block with its outcomes; with a checkpoint, also brings the
    /// derived data up to this block, all in one write transaction.
    pub fn commit_block(
        &self,
        block: &Block,
        outcomes: &[Outcome],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        let chain = block.header.unsigned.chain.kind();
        let height = block.header.height();
        let w = self.db.begin_write().map_err(db)?;
        {
            let mut b = w.open_table(BLOCKS).map_err(db)?;
            b.insert((chain.code(), height), block.encode().as_slice())
                .map_err(db)?;
            let mut o = w.open_table(OUTCOMES).map_err(db)?;
            o.insert((chain.code(), height), encode_outcomes(outcomes).as_slice())
                .map_err(db)?;
        }
        if let Some(cp) = checkpoint {
            Self::write_checkpoint(&w, chain, height, cp)?;
        }
        w.commit().map_err(db)
    }

    fn write_checkpoint(
        w: &redb::WriteTransaction,
        chain: ChainKind,
        height: u64,
        cp: &Checkpoint,
    ) -> Result<(), StoreError> {
        let mut idx = w.open_table(TX_INDEX).map_err(db)?;
        let mut entries: Vec<&(TxId, TxLocation)> = cp.index.iter().collect();
        // Sorted inserts touch each B-tree page once.
        entries.sort_unstable_by_key(|(id, _)| *id);
        for (id, loc) in entries {
            idx.insert(
                id.0.as_bytes().as_slice(),
                (loc.chain.code(), loc.height, loc.index),
            )
            .map_err(db)?;
        }
        let mut s = w.open_table(STATE).map_err(db)?;
        for (key, value) in cp.writes.iter() {
            let k = state_key(chain, key);
            match value {
                Some(v) => {
                    s.insert(k.as_slice(), v.as_slice()).map_err(db)?;
                }
                None => {
                    s.remove(k.as_slice()).map_err(db)?;
                }
            }
        }
        let mut c = w.open_table(CHECKPOINT).map_err(db)?;
        c.insert(chain.code(), height).map_err(db)?;
        Ok(())
    }

    /// Writes a checkpoint on its own (e.g. at shutdown) for blocks up to `height`.
    pub fn commit_checkpoint(
        &self,
        chain: ChainKind,
        height: u64,
        cp: &Checkpoint,
    ) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(db)?;
        Self::write_checkpoint(&w, chain, height, cp)?;
        w.commit().map_err(db)
    }

    /// Height up to which the stored state and transaction index are current.
    pub fn checkpoint_height(&self, chain: ChainKind) -> Result<u64, StoreError> {
        let r = self.db.begin_read().map_err(db)?;
        let t = r.open_table(CHECKPOINT).map_err(db)?;
        Ok(t.get(chain.code()).map_err(db)?.map_or(0, |v| v.value()))
    }

    /// Height of the last stored block, if the chain exists.
    pub fn head_height(&self, chain: ChainKind) -> Result<Option<u64>, StoreError> {
        let r = self.db.begin_read().map_err(db)?;
        let t = r.open_table(BLOCKS).map_err(db)?;
        let mut range = t
            .range((chain.code(), 0)..=(chain.code(), u64::MAX))
            .map_err(db)?;
        match range.next_back() {
            Some(entry) => Ok(Some(entry.map_err(db)?.0.value().1)),
            None => Ok(None),
        }
    }

    pub fn block_bytes(
        &self,
        chain: ChainKind,
        height: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.db.begin_read().map_err(db)?;
        let t = r.open_table(BLOCKS).map_err(db)?;
        Ok(t.get((chain.code(), height))
            .map_err(db)?
            .map(|v| v.value().to_vec()))
    }

    pub fn block(&self, chain: ChainKind, height: u64) -> Result<Option<Block>, StoreError> {
        match self.block_bytes(chain, height)? {
            None => Ok(None),
            Some(bytes) => {
                Block::decode(&bytes)
                    .map(Some)
                    .map_err(|error| StoreError::CorruptBlock {
                        chain,
                        height,
                        error,
                    })
            }
        }
    }

    pub fn outcomes(
        &self,
        chain: ChainKind,
        height: u64,
    ) -> Result<Option<Vec<Outcome>>, StoreError> {
        let r = self.db.begin_read().map_err(db)?;
        let t = r.open_table(OUTCOMES).map_err(db)?;
        match t.get((chain.code(), height)).map_err(db)? {
            None => Ok(None),
            Some(v) => decode_outcomes(v.value())
                .map(Some)
                .ok_or(StoreError::CorruptOutcomes { chain, height }),
        }
    }

    pub fn tx_location(&self, id: &TxId) -> Result<Option<TxLocation>, StoreError> {
        let r = self.db.begin_read().map_err(db)?;
        let t = r.open_table(TX_INDEX).map_err(db)?;
        Ok(t.get(id.0.as_bytes().as_slice())
            .map_err(db)?
            .and_then(|v| {
                let (code, height, index) = v.value();
                ChainKind::from_code(code).map(|chain| TxLocation {
                    chain,
                    height,
                    index,
                })
            }))
    }

    /// The state of a chain as of its checkpoint height (loaded once at start).
    pub fn load_state(&self, chain: ChainKind) -> Result<State, StoreError> {
        let r = self.db.begin_read().map_err(db)?;
        let t = r.open_table(STATE).map_err(db)?;
        let lo = [chain.code()];
        let hi = [chain.code() + 1];
        let mut entries = Vec::new();
        for entry in t.range(lo.as_slice()..hi.as_slice()).map_err(db)? {
            let (k, v) = entry.map_err(db)?;
            entries.push((k.value()[1..].to_vec(), v.value().to_vec()));
        }
        Ok(State::from_entries(entries))
    }

    /// Overwrites the stored bytes of a block. Only for repair tools and for tests that
    /// prove `chain verify` notices tampering; the node never calls it. `durable: false`
    /// skips the fsync (the change is lost at exit unless a durable write follows),
    /// which lets a test try thousands of single-byte flips quickly.
    pub fn overwrite_block_bytes(
        &self,
        chain: ChainKind,
        height: u64,
        bytes: &[u8],
        durable: bool,
    ) -> Result<(), StoreError> {
        let mut w = self.db.begin_write().map_err(db)?;
        if !durable {
            w.set_durability(redb::Durability::None)
                .map_err(|e| StoreError::Db(e.to_string()))?;
        }
        {
            let mut b = w.open_table(BLOCKS).map_err(db)?;
            b.insert((chain.code(), height), bytes).map_err(db)?;
        }
        w.commit().map_err(db)
    }
}
