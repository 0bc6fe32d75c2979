//! Offline verification and export of a node's chains.
//!
//! `verify` re-derives everything from block 0: decoding, header signature, hash links,
//! heights, timestamps, Merkle roots, every transaction signature, re-execution to each
//! state commitment, the stored outcomes, and the checkpointed state. It stops at the first bad block and names it.

use std::io::Write;

use rayon::prelude::*;
use suanli_ledger::engine::check_signatures;
use suanli_ledger::{Block, ChainEngine, Extensions};
use suanli_primitives::ChainKind;
use suanli_primitives::codec::Writer;

use crate::store::{ChainStore, StoreError};

/// Signatures are checked in parallel chunks of this many transactions.
const VERIFY_CHUNK_TXS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{chain} chain: no genesis stored")]
    NoGenesis { chain: ChainKind },
    #[error("{chain} chain, block {height}: {reason}")]
    BadBlock {
        chain: ChainKind,
        height: u64,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing export: {0}")]
    Io(#[from] std::io::Error),
}

/// What a sound chain looks like.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainReport {
    pub chain: ChainKind,
    pub height: u64,
    pub head_hash: String,
    pub transactions: u64,
}

fn bad(chain: ChainKind, height: u64, reason: impl ToString) -> VerifyError {
    VerifyError::BadBlock {
        chain,
        height,
        reason: reason.to_string(),
    }
}

/// Verifies one chain end to end, re-executing with the installed `extensions` (the same
/// contracts the network's nodes run).
pub fn verify_chain(
    store: &ChainStore,
    chain: ChainKind,
    extensions: &Extensions,
) -> Result<ChainReport, VerifyError> {
    replay(store, chain, extensions).map(|(report, _)| report)
}

/// [`verify_chain`], keeping the re-executed engine (its state is the head's).
fn replay(
    store: &ChainStore,
    chain: ChainKind,
    extensions: &Extensions,
) -> Result<(ChainReport, ChainEngine), VerifyError> {
    let genesis = store
        .genesis(chain)?
        .ok_or(VerifyError::NoGenesis { chain })?;
    let block0 = load(store, chain, 0)?.ok_or_else(|| bad(chain, 0, "block 0 missing"))?;
    let mut engine = ChainEngine::from_genesis(genesis, &block0.header)
        .map_err(|e| bad(chain, 0, e))?
        .with_extensions(extensions.clone());
    if !block0.txs.is_empty() {
        return Err(bad(chain, 0, "block 0 must carry no transactions"));
    }
    let head = store.head_height(chain)?.unwrap_or(0);
    let checkpoint = store.checkpoint_height(chain)?;
    let mut transactions = 0u64;
    for height in 1..=head {
        let block = load(store, chain, height)?.ok_or_else(|| bad(chain, height, "missing"))?;
        if block.header.height() != height {
            return Err(bad(
                chain,
                height,
                format!(
                    "stored under height {height} but says {}",
                    block.header.height()
                ),
            ));
        }
        let sig_result: Result<(), _> = block
            .txs
            .par_chunks(VERIFY_CHUNK_TXS)
            .enumerate()
            .try_for_each(|(chunk, txs)| {
                check_signatures(txs).map_err(|e| (chunk * VERIFY_CHUNK_TXS, e))
            });
        if let Err((offset, e)) = sig_result {
            return Err(bad(
                chain,
                height,
                format!("{e} (chunk starting at transaction {offset})"),
            ));
        }
        let executed = engine
            .validate(&block, true)
            .map_err(|e| bad(chain, height, e))?;
        let stored = store.outcomes(chain, height)?;
        if stored.as_deref() != Some(executed.outcomes.as_slice()) {
            return Err(bad(
                chain,
                height,
                "stored outcomes differ from re-execution",
            ));
        }
        transactions += block.txs.len() as u64;
        engine.commit(block.header, executed.writes);
        if height == checkpoint && &store.load_state(chain)? != engine.state() {
            return Err(bad(
                chain,
                height,
                "checkpointed state differs from re-execution",
            ));
        }
    }
    let report = ChainReport {
        chain,
        height: head,
        head_hash: engine.head().hash.to_hex(),
        transactions,
    };
    Ok((report, engine))
}

fn load(store: &ChainStore, chain: ChainKind, height: u64) -> Result<Option<Block>, VerifyError> {
    match store.block(chain, height) {
        Ok(b) => Ok(b),
        Err(StoreError::CorruptBlock { error, .. }) => Err(bad(chain, height, error)),
        Err(e) => Err(e.into()),
    }
}

/// Verifies both chains.
pub fn verify_all(
    store: &ChainStore,
    extensions: &Extensions,
) -> Result<Vec<ChainReport>, VerifyError> {
    ChainKind::ALL
        .iter()
        .map(|c| verify_chain(store, *c, extensions))
        .collect()
}

/// [`verify_all`], then the node's admission rules re-checked for every applied
/// transaction of both chains against the heads' states. Valid for rules whose passing
/// check stays passing at later heights (the CPT adoption rule: registered CPT versions and
/// their publishers never change), so a block made by a node that skipped a rule is found.
pub fn verify_all_with(
    store: &ChainStore,
    extensions: &Extensions,
    admission: &[std::sync::Arc<dyn crate::node::AdmissionRule>],
) -> Result<Vec<ChainReport>, VerifyError> {
    let (trade_report, trade) = replay(store, ChainKind::Trade, extensions)?;
    let (identity_report, identity) = replay(store, ChainKind::Identity, extensions)?;
    if !admission.is_empty() {
        for (chain, head) in [
            (ChainKind::Identity, identity_report.height),
            (ChainKind::Trade, trade_report.height),
        ] {
            for height in 1..=head {
                let block =
                    load(store, chain, height)?.ok_or_else(|| bad(chain, height, "missing"))?;
                let outcomes = store.outcomes(chain, height)?.unwrap_or_default();
                for (tx, outcome) in block.txs.iter().zip(&outcomes) {
                    if *outcome != suanli_ledger::Outcome::Applied {
                        continue;
                    }
                    for rule in admission {
                        rule.check(tx, trade.state(), identity.state())
                            .map_err(|e| {
                                bad(
                                    chain,
                                    height,
                                    format!(
                                        "transaction {} breaks an admission rule: {e}",
                                        tx.id()
                                    ),
                                )
                            })?;
                    }
                }
            }
        }
    }
    Ok(ChainKind::ALL
        .iter()
        .map(|c| match c {
            ChainKind::Identity => identity_report.clone(),
            ChainKind::Trade => trade_report.clone(),
        })
        .collect())
}

/// Magic bytes opening an export file.
pub const EXPORT_MAGIC: &[u8] = b"SUANLI-CHAIN-EXPORT\0";
pub const EXPORT_VERSION: u16 = 1;

/// Writes every chain in the export format of `docs/ledger-format.md`:
/// magic, `u16` version, `u8` chain count, then per chain: `u8` chain code,
/// `bytes` genesis, `u64` block count, and each block as `bytes` block encoding followed
/// by `bytes` outcomes encoding.
pub fn export(store: &ChainStore, out: &mut dyn Write) -> Result<u64, VerifyError> {
    let mut header = Writer::new();
    header
        .fixed(EXPORT_MAGIC)
        .u16(EXPORT_VERSION)
        .u8(ChainKind::ALL.len() as u8);
    out.write_all(header.as_slice())?;
    let mut blocks = 0;
    for chain in ChainKind::ALL {
        let genesis = store
            .genesis(chain)?
            .ok_or(VerifyError::NoGenesis { chain })?;
        let head = store.head_height(chain)?.unwrap_or(0);
        let mut w = Writer::new();
        w.u8(chain.code()).bytes(&genesis.encode()).u64(head + 1);
        out.write_all(w.as_slice())?;
        for height in 0..=head {
            let bytes = store
                .block_bytes(chain, height)?
                .ok_or_else(|| bad(chain, height, "missing"))?;
            let outcomes = store
                .outcomes(chain, height)?
                .ok_or_else(|| bad(chain, height, "outcomes missing"))?;
            let mut w = Writer::with_capacity(bytes.len() + 16);
            w.bytes(&bytes)
                .bytes(&crate::store::encode_outcomes(&outcomes));
            out.write_all(w.as_slice())?;
            blocks += 1;
        }
    }
    out.flush()?;
    Ok(blocks)
}
