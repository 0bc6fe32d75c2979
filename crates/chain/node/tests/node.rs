//! Node runtime: admission, commit acknowledgement, proofs, restart recovery, tamper
//! detection by offline verification, and back-pressure.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;
use std::time::Duration;

use suanli_ledger::credit::{CreditOp, PositiveFen, balance_key, decode_fen};
use suanli_ledger::mempool::AdmitError;
use suanli_ledger::{MempoolConfig, Outcome, Payload, Transaction, TxError};
use suanli_node::verify::{VerifyError, verify_all, verify_chain};
use suanli_node::{ChainStore, Node, NodeConfig, Solo, SubmitError, TxStatus};
use suanli_primitives::merkle::leaf_hash;
use suanli_primitives::{ChainKind, NetworkName, SecretKey, SystemClock};

fn operator() -> SecretKey {
    SecretKey::from_label("operator")
}

fn open(dir: &std::path::Path, mempool: MempoolConfig) -> Arc<Node> {
    let config = NodeConfig {
        network: NetworkName::new("suanli-test").unwrap(),
        credit_operator: operator().public(),
        mempool,
        extensions: Default::default(),
        admission: Vec::new(),
    };
    Node::open(
        dir,
        config,
        Arc::new(Solo::new(SecretKey::from_label("node"))),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn fast() -> MempoolConfig {
    MempoolConfig {
        txs_max: 1_000,
        block_txs_max: 64,
        block_interval_ms: 5,
        ..MempoolConfig::default()
    }
}

fn mint(node: &Node, nonce: u64, to: &SecretKey, amount: i64) -> Transaction {
    Transaction::sign(
        &node.chain_id(ChainKind::Trade),
        &operator(),
        nonce,
        Payload::Credit(CreditOp::Mint {
            to: to.public(),
            amount: PositiveFen::new(amount).unwrap(),
        }),
    )
}

fn commit(node: &Node, tx: Transaction) -> TxStatus {
    let id = node.submit(tx).unwrap();
    node.wait(&id, ChainKind::Trade, Duration::from_secs(10))
        .unwrap()
}

/// Commits `blocks` blocks of a few transactions each and returns the committed txs.
fn fill(node: &Node, blocks: u64) -> Vec<Transaction> {
    let alice = SecretKey::from_label("alice");
    let mut txs = Vec::new();
    for b in 0..blocks {
        let a = mint(node, 2 * b, &alice, 100);
        let c = mint(node, 2 * b + 1, &alice, 5);
        let ids = node.submit_many(vec![a.clone(), c.clone()]);
        assert!(ids.iter().all(Result::is_ok));
        node.wait(&c.id(), ChainKind::Trade, Duration::from_secs(10))
            .unwrap();
        txs.push(a);
        txs.push(c);
    }
    txs
}

#[test]
fn committed_transactions_survive_restart_with_state() {
    let dir = tempfile::tempdir().unwrap();
    let alice = SecretKey::from_label("alice");
    let (head, id) = {
        let node = open(dir.path(), fast());
        let producers = node.start();
        let tx = mint(&node, 0, &alice, 700);
        let id = tx.id();
        assert!(matches!(
            commit(&node, tx),
            TxStatus::Committed {
                outcome: Outcome::Applied,
                ..
            }
        ));
        node.stop();
        producers.into_iter().for_each(|p| p.join().unwrap());
        (node.head(ChainKind::Trade), id)
    };
    let node = open(dir.path(), fast());
    assert_eq!(node.head(ChainKind::Trade), head);
    assert!(matches!(
        node.status(&id).unwrap(),
        TxStatus::Committed { height: 1, .. }
    ));
    let balance = node
        .state_get(ChainKind::Trade, &balance_key(&alice.public()))
        .and_then(|v| decode_fen(&v));
    assert_eq!(balance.unwrap().get(), 700);
    assert_eq!(node.next_nonce(ChainKind::Trade, &operator().public()), 1);
}

#[test]
fn restart_after_many_checkpoints_keeps_every_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let (txs, head) = {
        let node = open(
            dir.path(),
            MempoolConfig {
                block_txs_max: 2,
                ..fast()
            },
        );
        let producers = node.start();
        let txs = fill(&node, 20);
        // (The replay of blocks after a lagging checkpoint is exercised by the kill -9
        // test of the `suanli` binary; here the clean stop flushes the checkpoint.)
        let head = node.head(ChainKind::Trade);
        assert!(head.height() > suanli_node::node::CHECKPOINT_INTERVAL_BLOCKS);
        node.stop();
        producers.into_iter().for_each(|p| p.join().unwrap());
        (txs, head)
    };
    let node = open(dir.path(), fast());
    assert_eq!(node.head(ChainKind::Trade), head);
    for tx in &txs {
        assert!(matches!(
            node.status(&tx.id()).unwrap(),
            TxStatus::Committed { .. }
        ));
        assert!(node.proof(&tx.id()).unwrap().is_some());
    }
    let alice = SecretKey::from_label("alice");
    let balance = node
        .state_get(ChainKind::Trade, &balance_key(&alice.public()))
        .and_then(|v| decode_fen(&v));
    assert_eq!(balance.unwrap().get(), 20 * 105);
    verify_all(node.store(), &Default::default()).unwrap();
}

#[test]
fn rejections_name_the_rule_and_are_queryable() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path(), fast());
    let producers = node.start();
    let alice = SecretKey::from_label("alice");
    let first = mint(&node, 0, &alice, 1);
    commit(&node, first.clone());
    assert_eq!(
        node.submit(first.clone()),
        Err(SubmitError::Admit(AdmitError::NonceReplayed {
            expected: 1,
            got: 0
        }))
    );
    let gap = mint(&node, 5, &alice, 1);
    assert_eq!(
        node.submit(gap.clone()),
        Err(SubmitError::Admit(AdmitError::NonceGap {
            expected: 1,
            got: 5
        }))
    );
    assert!(
        matches!(node.status(&gap.id()).unwrap(), TxStatus::Rejected { ref code, .. } if code == "nonce_gap")
    );
    let mut bytes = mint(&node, 1, &alice, 1).encoded().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(
        node.submit_bytes(&bytes),
        Err(SubmitError::Tx(TxError::BadSignature))
    );
    assert!(matches!(
        node.submit_bytes(b"garbage"),
        Err(SubmitError::Tx(TxError::Malformed(_)) | SubmitError::Tx(TxError::Version(_)))
    ));
    let other_net = Transaction::sign(
        &"elsewhere/trade".parse().unwrap(),
        &operator(),
        1,
        mint(&node, 1, &alice, 1).payload().clone(),
    );
    assert!(matches!(
        node.submit(other_net),
        Err(SubmitError::Tx(TxError::WrongChain { .. }))
    ));
    node.stop();
    producers.into_iter().for_each(|p| p.join().unwrap());
}

#[test]
fn inclusion_proofs_verify_against_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(
        dir.path(),
        MempoolConfig {
            block_interval_ms: 30,
            ..fast()
        },
    );
    let producers = node.start();
    let txs = fill(&node, 3);
    for tx in &txs {
        let proof = node.proof(&tx.id()).unwrap().unwrap();
        assert!(proof.proof.verify(
            &leaf_hash(tx.id().0.as_bytes()),
            &proof.header.unsigned.tx_root
        ));
        assert!(proof.header.verify_signature());
    }
    node.stop();
    producers.into_iter().for_each(|p| p.join().unwrap());
}

#[test]
fn full_mempool_pushes_back_without_losing_anything() {
    let dir = tempfile::tempdir().unwrap();
    // Producers are not started, so nothing drains the pool.
    let node = open(
        dir.path(),
        MempoolConfig {
            txs_max: 3,
            block_txs_max: 64,
            block_interval_ms: 5,
            ..MempoolConfig::default()
        },
    );
    let alice = SecretKey::from_label("alice");
    let txs: Vec<Transaction> = (0..5).map(|n| mint(&node, n, &alice, 1)).collect();
    let results = node.submit_many(txs.clone());
    assert!(results[..3].iter().all(Result::is_ok));
    let full = results[3].clone().unwrap_err();
    assert!(full.is_retryable(), "{full}");
    assert_eq!(full.code(), "mempool_full");
    // Draining the pool makes room; the refused transaction then goes through.
    let producers = node.start();
    node.wait(&txs[2].id(), ChainKind::Trade, Duration::from_secs(10))
        .unwrap();
    node.submit(txs[3].clone()).unwrap();
    node.submit(txs[4].clone()).unwrap();
    let status = node
        .wait(&txs[4].id(), ChainKind::Trade, Duration::from_secs(10))
        .unwrap();
    assert!(matches!(status, TxStatus::Committed { .. }));
    for tx in &txs {
        assert!(matches!(
            node.status(&tx.id()).unwrap(),
            TxStatus::Committed { .. }
        ));
    }
    node.stop();
    producers.into_iter().for_each(|p| p.join().unwrap());
}

#[test]
fn flipping_any_stored_byte_of_a_block_fails_verification_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let node = open(
            dir.path(),
            MempoolConfig {
                block_interval_ms: 30,
                ..fast()
            },
        );
        let producers = node.start();
        fill(&node, 3);
        node.stop();
        producers.into_iter().for_each(|p| p.join().unwrap());
    }
    let store = ChainStore::open(&dir.path().join("chain.redb")).unwrap();
    verify_all(&store, &Default::default()).unwrap();
    let head = store.head_height(ChainKind::Trade).unwrap().unwrap();
    assert!(head >= 2);
    for height in [1, head] {
        let original = store
            .block_bytes(ChainKind::Trade, height)
            .unwrap()
            .unwrap();
        for i in 0..original.len() {
            let mut tampered = original.clone();
            tampered[i] ^= 0x01;
            store
                .overwrite_block_bytes(ChainKind::Trade, height, &tampered, false)
                .unwrap();
            match verify_chain(&store, ChainKind::Trade, &Default::default()) {
                Err(VerifyError::BadBlock {
                    chain: ChainKind::Trade,
                    height: h,
                    reason,
                }) => {
                    assert_eq!(h, height, "byte {i}: wrong block named ({reason})");
                }
                other => panic!("flipping byte {i} of block {height} went unnoticed: {other:?}"),
            }
        }
        store
            .overwrite_block_bytes(ChainKind::Trade, height, &original, true)
            .unwrap();
    }
    verify_all(&store, &Default::default()).unwrap();
}

/// A consensus engine that can never finalize (e.g. lost its quorum).
#[derive(Debug)]
struct NoQuorum(Solo);

impl suanli_node::Consensus for NoQuorum {
    fn proposers(&self) -> Vec<suanli_primitives::PublicKey> {
        self.0.proposers()
    }
    fn local_proposer(&self) -> Option<suanli_primitives::PublicKey> {
        self.0.local_proposer()
    }
    fn seal(
        &self,
        header: suanli_ledger::UnsignedHeader,
    ) -> Result<suanli_ledger::BlockHeader, suanli_node::ConsensusError> {
        self.0.seal(header)
    }
    fn finalize(&self, _: &suanli_ledger::Block) -> Result<(), suanli_node::ConsensusError> {
        Err(suanli_node::ConsensusError::NotFinal("no quorum".into()))
    }
}

#[test]
fn a_node_that_cannot_finalize_halts_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig {
        network: NetworkName::new("suanli-test").unwrap(),
        credit_operator: operator().public(),
        mempool: fast(),
        extensions: Default::default(),
        admission: Vec::new(),
    };
    let node = Node::open(
        dir.path(),
        config,
        Arc::new(NoQuorum(Solo::new(SecretKey::from_label("node")))),
        Arc::new(SystemClock),
    )
    .unwrap();
    let producers = node.start();
    let alice = SecretKey::from_label("alice");
    let tx = mint(&node, 0, &alice, 1);
    let id = node.submit(tx).unwrap();
    let status = node
        .wait(&id, ChainKind::Trade, Duration::from_secs(10))
        .unwrap();
    assert!(
        matches!(&status, TxStatus::Rejected { code, .. } if code == "node_halted"),
        "{status:?}"
    );
    assert_eq!(
        node.submit(mint(&node, 0, &alice, 1)),
        Err(SubmitError::Halted)
    );
    assert_eq!(
        node.head(ChainKind::Trade).height(),
        0,
        "nothing was written"
    );
    node.stop();
    producers.into_iter().for_each(|p| p.join().unwrap());
}
