//! The in-process ledger: [`LedgerClient`] for `suanli_node::Node`, and how a solo node is
//! opened (the network's contracts, the node and operator keys, the producers).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use suanli_ledger::{ContractId, Extensions, MempoolConfig, Transaction, TxId};
use suanli_node::{Node, NodeConfig, NodeError, Solo, TxStatus};
use suanli_primitives::{
    ChainId, ChainKind, Clock, IdError, KeyError, NetworkName, PublicKey, SecretKey, SystemClock,
};

use crate::{LedgerClient, LedgerError};

impl LedgerClient for Node {
    fn chain_id(&self, kind: ChainKind) -> Result<ChainId, LedgerError> {
        Ok(Node::chain_id(self, kind))
    }

    fn next_nonce(&self, kind: ChainKind, signer: &PublicKey) -> Result<u64, LedgerError> {
        Ok(Node::next_nonce(self, kind, signer))
    }

    fn state_get(&self, kind: ChainKind, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(Node::state_get(self, kind, key))
    }

    fn status(&self, id: &TxId) -> Result<TxStatus, LedgerError> {
        Ok(Node::status(self, id)?)
    }

    fn tx_proof(&self, id: &TxId) -> Result<Option<suanli_node::TxProof>, LedgerError> {
        Ok(Node::proof(self, id)?)
    }

    fn submit_wait(&self, tx: &Transaction, wait: Duration) -> Result<TxStatus, LedgerError> {
        let kind = tx.chain().kind();
        let id = self.submit(tx.clone())?;
        Ok(Node::wait(self, &id, kind, wait)?)
    }

    fn wait(&self, id: &TxId, kind: ChainKind, wait: Duration) -> Result<TxStatus, LedgerError> {
        Ok(Node::wait(self, id, kind, wait)?)
    }
}

/// The contracts every node and verifier of a suanli network installs (a chain rule: a
/// node with a different set computes different state).
pub fn network_contracts() -> Extensions {
    Extensions::new()
        .with(Arc::new(suanli_identity::IdentityContract))
        .with(Arc::new(suanli_trade::TradeContract))
        .with(Arc::new(suanli_trade::ChannelContract))
}

/// The admission rules every node of a suanli network runs: the trade chain's CPT
/// adoption checked against the identity chain's registry (`docs/trade.md` §2.1).
pub fn network_admission() -> Vec<Arc<dyn suanli_node::AdmissionRule>> {
    vec![Arc::new(CptAdmission)]
}

/// `adopt_cpt` on the trade chain: [`suanli_trade::cpts::admission_check`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CptAdmission;

impl suanli_node::AdmissionRule for CptAdmission {
    fn check(
        &self,
        tx: &suanli_ledger::Transaction,
        trade: &suanli_ledger::State,
        identity: &suanli_ledger::State,
    ) -> Result<(), suanli_ledger::TxError> {
        let suanli_ledger::Payload::Call(call) = tx.payload() else {
            return Ok(());
        };
        if tx.chain().kind() != ChainKind::Trade || call.contract() != ContractId::Trade {
            return Ok(());
        }
        suanli_trade::cpts::admission_check(trade, identity, tx.signer(), call.body()).map_err(
            |e| suanli_ledger::TxError::CallRejected {
                contract: ContractId::Trade,
                code: e.code,
                message: e.message,
            },
        )
    }
}

/// Default network name of a local node.
pub const NETWORK_DEFAULT: &str = "suanli-local";

/// Why a node could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("creating {}", path.display())]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is missing but the chains in {} exist: restore the node's key (a new key could not sign their blocks)",
        key.display(),
        dir.display()
    )]
    MissingNodeKey { key: PathBuf, dir: PathBuf },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Network(#[from] IdError),
    #[error("{0}")]
    Tuning(String),
    #[error("opening the node in {}", dir.display())]
    Node {
        dir: PathBuf,
        #[source]
        source: NodeError,
    },
}

impl OpenError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            OpenError::Dir { .. } => "data_dir",
            OpenError::MissingNodeKey { .. } => "node_key_missing",
            OpenError::Key(_) => "key",
            OpenError::Network(_) => "network_name",
            OpenError::Tuning(_) => "mempool_tuning",
            OpenError::Node { .. } => "node_open",
        }
    }
}

/// The mempool of a node tuned by its operator (the `suanli node` flags): at most
/// `txs_max` waiting transactions, a block sealed at `block_txs_max` transactions or when
/// the oldest has waited `block_interval_ms`.
pub fn mempool_config(
    txs_max: usize,
    block_txs_max: usize,
    block_interval_ms: u64,
) -> Result<MempoolConfig, OpenError> {
    let max = suanli_ledger::block::BLOCK_TXS_MAX;
    let refuse = |m: String| Err(OpenError::Tuning(m));
    if !(1..=max).contains(&block_txs_max) {
        return refuse(format!("--block-txs-max must be 1..={max}"));
    }
    if txs_max < 1 {
        return refuse("--mempool-txs-max must be at least 1".into());
    }
    if !(1..=60_000).contains(&block_interval_ms) {
        return refuse("--block-interval-ms must be 1..=60000".into());
    }
    Ok(MempoolConfig {
        txs_max,
        block_txs_max,
        block_interval_ms,
        ..MempoolConfig::default()
    })
}

/// A running node and its block producers.
pub type Running = (Arc<Node>, Vec<JoinHandle<()>>);

/// Opens (creating on first use) a solo node in `data` and starts its producers.
pub fn open_node(
    data: &Path,
    network: &str,
    credit_operator: Option<PublicKey>,
    mempool: MempoolConfig,
) -> Result<Running, OpenError> {
    open_node_with_clock(
        data,
        network,
        credit_operator,
        mempool,
        Arc::new(SystemClock),
    )
}

/// [`open_node`] with the clock the proposer stamps blocks with (the demo fast-forwards
/// its own).
pub fn open_node_with_clock(
    data: &Path,
    network: &str,
    credit_operator: Option<PublicKey>,
    mempool: MempoolConfig,
    clock: Arc<dyn Clock>,
) -> Result<Running, OpenError> {
    std::fs::create_dir_all(data).map_err(|source| OpenError::Dir {
        path: data.to_owned(),
        source,
    })?;
    let key_path = data.join("node.key");
    if !key_path.exists() && data.join("chain.redb").exists() {
        return Err(OpenError::MissingNodeKey {
            key: key_path,
            dir: data.to_owned(),
        });
    }
    let node_key = SecretKey::load_or_generate(&key_path)?;
    let operator = match credit_operator {
        Some(key) => key,
        None => SecretKey::load_or_generate(&data.join("operator.key"))?.public(),
    };
    let config = NodeConfig {
        network: NetworkName::new(network)?,
        credit_operator: operator,
        mempool,
        extensions: network_contracts(),
        admission: network_admission(),
    };
    let node =
        Node::open(data, config, Arc::new(Solo::new(node_key)), clock).map_err(|source| {
            OpenError::Node {
                dir: data.to_owned(),
                source,
            }
        })?;
    let producers = node.start();
    Ok((node, producers))
}

/// Stops `node` and joins its producers.
pub fn stop((node, producers): Running) {
    node.stop();
    for p in producers {
        let _ = p.join();
    }
}
