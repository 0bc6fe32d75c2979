//! One chain's deterministic state machine: executes transactions into blocks and
//! validates blocks made elsewhere (or read back from disk) by re-executing them.

use suanli_primitives::{ChainId, Hash32, PublicKey, SecretKey};

use crate::anchor::AnchorContract;
use crate::block::{BLOCK_TXS_MAX, Block, BlockHeader, UnsignedHeader, tx_root};
use crate::contract::{SystemContract, TxContext};
use crate::credit::CreditContract;
use crate::extension::Extensions;
use crate::genesis::Genesis;
use crate::state::{BlockOverlay, State, StateAccess, WriteSet, next_commitment};
use crate::tx::{Outcome, Payload, Transaction, TxError};

const NONCE_PREFIX: &[u8] = b"nonce/";

pub fn nonce_key(signer: &PublicKey) -> Vec<u8> {
    let mut key = NONCE_PREFIX.to_vec();
    key.extend_from_slice(signer.as_bytes());
    key
}

fn decode_nonce(bytes: Option<Vec<u8>>) -> u64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Why a block is not a valid successor of the current head. Names the first problem.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BlockError {
    #[error("block is for chain {got}, expected {expected}")]
    WrongChain { expected: String, got: String },
    #[error("height {got} does not follow the head at {head}")]
    Height { head: u64, got: u64 },
    #[error("previous-hash link broken: block points to {got}, head is {expected}")]
    Link { expected: Hash32, got: Hash32 },
    #[error("timestamp {got} ms is before the previous block's {previous} ms")]
    Timestamp { previous: u64, got: u64 },
    #[error("proposer {0} is not a proposer named in the genesis")]
    UnknownProposer(String),
    #[error("proposer signature on the header does not verify")]
    HeaderSignature,
    #[error("header says {declared} transactions, body has {actual}")]
    TxCount { declared: u32, actual: usize },
    #[error("block carries {0} transactions, more than the {BLOCK_TXS_MAX} allowed")]
    TooManyTxs(usize),
    #[error("Merkle root of transactions is {actual}, header says {declared}")]
    TxRoot { declared: Hash32, actual: Hash32 },
    #[error("state commitment after re-execution is {actual}, header says {declared}")]
    StateRoot { declared: Hash32, actual: Hash32 },
    #[error("transaction {index}: {error}")]
    Tx { index: usize, error: TxError },
    #[error("transaction {index}: nonce {got} but the signer's next nonce is {expected}")]
    Nonce {
        index: usize,
        expected: u64,
        got: u64,
    },
    #[error("genesis block does not match the genesis configuration: {0}")]
    Genesis(String),
}

/// The result of executing a batch: everything needed to seal and store a block.
#[derive(Debug, Clone)]
pub struct ExecutedBlock {
    pub header: UnsignedHeader,
    pub txs: Vec<Transaction>,
    pub outcomes: Vec<Outcome>,
    pub writes: WriteSet,
}

/// A chain's genesis, committed state and head.
#[derive(Debug, Clone)]
pub struct ChainEngine {
    genesis: Genesis,
    credit: CreditContract,
    extensions: Extensions,
    state: State,
    head: BlockHeader,
}

impl ChainEngine {
    /// The unsigned block 0 of a genesis.
    pub fn genesis_header(genesis: &Genesis) -> UnsignedHeader {
        let genesis_hash = genesis.hash();
        UnsignedHeader {
            chain: genesis.chain.clone(),
            height: 0,
            prev_hash: genesis_hash,
            timestamp_ms: genesis.timestamp_ms,
            tx_root: tx_root(&[]),
            state_root: next_commitment(&genesis_hash, 0, &[], &WriteSet::default()),
            tx_count: 0,
            proposer: genesis.proposers[0],
        }
    }

    /// Block 0, signed by the first proposer.
    pub fn genesis_block(genesis: &Genesis, key: &SecretKey) -> Block {
        Block {
            header: Self::genesis_header(genesis).seal(key),
            txs: Vec::new(),
        }
    }

    /// Starts a chain from its genesis and block 0 (checked against each other).
    pub fn from_genesis(genesis: Genesis, block0: &BlockHeader) -> Result<Self, BlockError> {
        let expected = Self::genesis_header(&genesis);
        if block0.unsigned != expected {
            return Err(BlockError::Genesis("header fields differ".into()));
        }
        if !block0.verify_signature() {
            return Err(BlockError::HeaderSignature);
        }
        Ok(Self::restore(genesis, block0.clone(), State::default()))
    }

    /// Resumes from a stored head and state (trusted: read back from our own store).
    pub fn restore(genesis: Genesis, head: BlockHeader, state: State) -> Self {
        let credit = CreditContract::new(genesis.credit_operator);
        ChainEngine {
            genesis,
            credit,
            extensions: Extensions::default(),
            state,
            head,
        }
    }

    /// Installs the pluggable contracts (identity, trade, channel) this chain runs.
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Admission checks that need the installed contracts: a call's contract is installed
    /// and accepts the body. Signature, chain and nonce are checked elsewhere.
    pub fn check_call(&self, tx: &Transaction) -> Result<(), TxError> {
        let Payload::Call(call) = tx.payload() else {
            return Ok(());
        };
        self.extensions
            .check(call)
            .map_err(|e| TxError::CallRejected {
                contract: call.contract(),
                code: e.code,
                message: e.message,
            })
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    pub fn chain(&self) -> &ChainId {
        &self.genesis.chain
    }
    pub fn head(&self) -> &BlockHeader {
        &self.head
    }
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The next nonce `signer` must use, by committed state.
    pub fn next_nonce(&self, signer: &PublicKey) -> u64 {
        decode_nonce(self.state.get(&nonce_key(signer)).map(<[u8]>::to_vec))
    }

    /// Executes `txs` (already admitted: signatures checked, nonces in sequence) on top of
    /// the head, producing the unsigned header of the next block.
    pub fn execute(
        &self,
        txs: Vec<Transaction>,
        timestamp_ms: u64,
        proposer: PublicKey,
    ) -> Result<ExecutedBlock, BlockError> {
        if txs.len() > BLOCK_TXS_MAX {
            return Err(BlockError::TooManyTxs(txs.len()));
        }
        let head = &self.head.unsigned;
        let timestamp_ms = timestamp_ms.max(head.timestamp_ms);
        let height = head.height + 1;
        let (outcomes, writes) = self.run(&txs, height, timestamp_ms)?;
        let header = UnsignedHeader {
            chain: self.genesis.chain.clone(),
            height,
            prev_hash: self.head.hash,
            timestamp_ms,
            tx_root: tx_root(&txs),
            state_root: next_commitment(&head.state_root, height, &outcomes, &writes),
            tx_count: txs.len() as u32,
            proposer,
        };
        Ok(ExecutedBlock {
            header,
            txs,
            outcomes,
            writes,
        })
    }

    fn run(
        &self,
        txs: &[Transaction],
        height: u64,
        timestamp_ms: u64,
    ) -> Result<(Vec<Outcome>, WriteSet), BlockError> {
        let mut overlay = BlockOverlay::new(&self.state);
        let mut outcomes = Vec::with_capacity(txs.len());
        for (index, tx) in txs.iter().enumerate() {
            tx.check_chain(&self.genesis.chain)
                .map_err(|error| BlockError::Tx { index, error })?;
            let mut scope = overlay.begin_tx();
            let key = nonce_key(tx.signer());
            let expected = decode_nonce(scope.get(&key));
            if tx.nonce() != expected {
                return Err(BlockError::Nonce {
                    index,
                    expected,
                    got: tx.nonce(),
                });
            }
            let ctx = TxContext {
                chain: self.genesis.chain.kind(),
                signer: tx.signer(),
                nonce: tx.nonce(),
                tx_id: tx.id(),
                height,
                timestamp_ms,
                operator: &self.genesis.credit_operator,
            };
            let result = match tx.payload() {
                Payload::Credit(op) => self.credit.execute(&ctx, op, &mut scope),
                Payload::Anchor(record) => AnchorContract.execute(&ctx, record, &mut scope),
                Payload::Call(call) => self.extensions.execute(&ctx, call, &mut scope),
            };
            let outcome = match result {
                Ok(()) => {
                    scope.put(key, (expected + 1).to_be_bytes().to_vec());
                    scope.commit();
                    Outcome::Applied
                }
                Err(error) => {
                    drop(scope);
                    // A failed transaction still consumes its nonce.
                    let mut nonce_only = overlay.begin_tx();
                    nonce_only.put(key, (expected + 1).to_be_bytes().to_vec());
                    nonce_only.commit();
                    Outcome::failed(&error.to_string())
                }
            };
            outcomes.push(outcome);
        }
        Ok((outcomes, overlay.into_writes()))
    }

    /// Makes an executed, sealed block the new head.
    pub fn commit(&mut self, header: BlockHeader, writes: WriteSet) {
        self.state.apply(writes);
        self.head = header;
    }

    /// Checks that `block` is a valid successor of the head: link, height, time,
    /// proposer and its signature, Merkle root, every transaction signature (unless the
    /// caller already checked them, e.g. in parallel), and the state commitment by
    /// re-execution. Does not change the engine; commit the result to advance.
    pub fn validate(
        &self,
        block: &Block,
        tx_signatures_checked: bool,
    ) -> Result<ExecutedBlock, BlockError> {
        let h = &block.header.unsigned;
        let head = &self.head;
        if h.chain != self.genesis.chain {
            return Err(BlockError::WrongChain {
                expected: self.genesis.chain.to_string(),
                got: h.chain.to_string(),
            });
        }
        if h.height != head.unsigned.height + 1 {
            return Err(BlockError::Height {
                head: head.unsigned.height,
                got: h.height,
            });
        }
        if h.prev_hash != head.hash {
            return Err(BlockError::Link {
                expected: head.hash,
                got: h.prev_hash,
            });
        }
        if h.timestamp_ms < head.unsigned.timestamp_ms {
            return Err(BlockError::Timestamp {
                previous: head.unsigned.timestamp_ms,
                got: h.timestamp_ms,
            });
        }
        if !self.genesis.proposers.contains(&h.proposer) {
            return Err(BlockError::UnknownProposer(h.proposer.to_hex()));
        }
        if !block.header.verify_signature() {
            return Err(BlockError::HeaderSignature);
        }
        if h.tx_count as usize != block.txs.len() {
            return Err(BlockError::TxCount {
                declared: h.tx_count,
                actual: block.txs.len(),
            });
        }
        let actual_root = tx_root(&block.txs);
        if actual_root != h.tx_root {
            return Err(BlockError::TxRoot {
                declared: h.tx_root,
                actual: actual_root,
            });
        }
        if !tx_signatures_checked {
            check_signatures(&block.txs)?;
        }
        let executed = self.execute(block.txs.clone(), h.timestamp_ms, h.proposer)?;
        if executed.header.state_root != h.state_root {
            return Err(BlockError::StateRoot {
                declared: h.state_root,
                actual: executed.header.state_root,
            });
        }
        Ok(executed)
    }
}

/// Verifies every transaction signature (batch fast path); names the first bad one.
pub fn check_signatures(txs: &[Transaction]) -> Result<(), BlockError> {
    match crate::tx::verify_signatures(txs).iter().position(|ok| !ok) {
        Some(index) => Err(BlockError::Tx {
            index,
            error: TxError::BadSignature,
        }),
        None => Ok(()),
    }
}
