//! Engine behaviour: execution, rejection reasons, deterministic replay and the credit
//! supply invariant under random operation sequences.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use proptest::prelude::*;
use suanli_ledger::credit::{CreditOp, PositiveFen, SUPPLY_KEY, balance_key, decode_fen};
use suanli_ledger::engine::BlockError;
use suanli_ledger::mempool::AdmitError;
use suanli_ledger::{
    Block, ChainEngine, Genesis, Mempool, MempoolConfig, Outcome, Payload, Transaction,
};
use suanli_primitives::{ChainId, PublicKey, SecretKey};

fn chain() -> ChainId {
    "suanli-test/trade".parse().unwrap()
}

fn proposer() -> SecretKey {
    SecretKey::from_label("proposer")
}

fn operator() -> SecretKey {
    SecretKey::from_label("operator")
}

fn engine() -> ChainEngine {
    let genesis = Genesis::new(
        chain(),
        1_000,
        vec![proposer().public()],
        operator().public(),
    )
    .unwrap();
    let block0 = ChainEngine::genesis_block(&genesis, &proposer());
    ChainEngine::from_genesis(genesis, &block0.header).unwrap()
}

fn credit(key: &SecretKey, nonce: u64, op: CreditOp) -> Transaction {
    Transaction::sign(&chain(), key, nonce, Payload::Credit(op))
}

fn amount(n: i64) -> PositiveFen {
    PositiveFen::new(n).unwrap()
}

/// Executes, seals and commits one block; returns it with its outcomes.
fn produce(engine: &mut ChainEngine, txs: Vec<Transaction>, ts: u64) -> (Block, Vec<Outcome>) {
    let executed = engine.execute(txs, ts, proposer().public()).unwrap();
    let header = executed.header.clone().seal(&proposer());
    engine.commit(header.clone(), executed.writes);
    (
        Block {
            header,
            txs: executed.txs,
        },
        executed.outcomes,
    )
}

fn balance(engine: &ChainEngine, who: &PublicKey) -> i64 {
    engine
        .state()
        .get(&balance_key(who))
        .and_then(decode_fen)
        .map_or(0, |f| f.get())
}

#[test]
fn mint_transfer_burn_and_failures_with_reasons() {
    let mut e = engine();
    let alice = SecretKey::from_label("alice");
    let bob = SecretKey::from_label("bob").public();
    let txs = vec![
        credit(
            &operator(),
            0,
            CreditOp::Mint {
                to: alice.public(),
                amount: amount(100),
            },
        ),
        credit(
            &alice,
            0,
            CreditOp::Transfer {
                to: bob,
                amount: amount(30),
            },
        ),
        credit(
            &alice,
            1,
            CreditOp::Transfer {
                to: bob,
                amount: amount(500),
            },
        ),
        credit(&alice, 2, CreditOp::Burn { amount: amount(10) }),
        credit(
            &alice,
            3,
            CreditOp::Mint {
                to: alice.public(),
                amount: amount(1),
            },
        ),
    ];
    let (_, outcomes) = produce(&mut e, txs, 2_000);
    assert_eq!(outcomes[0], Outcome::Applied);
    assert_eq!(outcomes[1], Outcome::Applied);
    assert!(
        matches!(&outcomes[2], Outcome::Failed { reason } if reason.starts_with("insufficient_balance"))
    );
    assert_eq!(outcomes[3], Outcome::Applied);
    assert!(
        matches!(&outcomes[4], Outcome::Failed { reason } if reason.starts_with("not_operator"))
    );
    assert_eq!(balance(&e, &alice.public()), 60);
    assert_eq!(balance(&e, &bob), 30);
    assert_eq!(
        e.state()
            .get(SUPPLY_KEY)
            .and_then(decode_fen)
            .unwrap()
            .get(),
        90
    );
    assert_eq!(
        e.next_nonce(&alice.public()),
        4,
        "failed transactions consume nonces"
    );
}

#[test]
fn replay_reproduces_every_commitment_and_rejects_tampering() {
    let mut producer = engine();
    let alice = SecretKey::from_label("alice");
    let mut blocks = Vec::new();
    for i in 0..5u64 {
        let txs = vec![
            credit(
                &operator(),
                i,
                CreditOp::Mint {
                    to: alice.public(),
                    amount: amount(10),
                },
            ),
            credit(&alice, i, CreditOp::Burn { amount: amount(3) }),
        ];
        blocks.push(produce(&mut producer, txs, 2_000 + i).0);
    }
    let mut replica = engine();
    for block in &blocks {
        let executed = replica.validate(block, false).unwrap();
        replica.commit(block.header.clone(), executed.writes);
        assert_eq!(replica.head().hash, block.header.hash);
    }
    assert_eq!(replica.state(), producer.state());

    // A block with a transaction whose signature was swapped for another's is caught.
    let mut fresh = engine();
    let mut bad = blocks[0].clone();
    bad.txs.swap(0, 1);
    assert!(matches!(
        fresh.validate(&bad, false),
        Err(BlockError::TxRoot { .. })
    ));
    let executed = fresh.validate(&blocks[0], false).unwrap();
    fresh.commit(blocks[0].header.clone(), executed.writes);
    assert!(matches!(
        fresh.validate(&blocks[2], false),
        Err(BlockError::Height { .. })
    ));
}

#[test]
fn block_with_out_of_order_nonce_is_invalid() {
    let e = engine();
    let alice = SecretKey::from_label("alice");
    let err = e
        .execute(
            vec![credit(&alice, 1, CreditOp::Burn { amount: amount(1) })],
            2_000,
            proposer().public(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        BlockError::Nonce {
            index: 0,
            expected: 0,
            got: 1
        }
    );
}

#[test]
fn mempool_rejects_replays_and_gaps_and_pushes_back_when_full() {
    let config = MempoolConfig {
        txs_max: 2,
        block_txs_max: 10,
        block_interval_ms: 5,
        signer_pending_max: 100,
    };
    let mut pool = Mempool::new(config);
    let alice = SecretKey::from_label("alice");
    let burn = |n| credit(&alice, n, CreditOp::Burn { amount: amount(1) });
    pool.admit(burn(0), || 0, 0).unwrap();
    assert_eq!(
        pool.admit(burn(0), || 0, 0),
        Err(AdmitError::NonceReplayed {
            expected: 1,
            got: 0
        })
    );
    assert_eq!(
        pool.admit(burn(5), || 0, 0),
        Err(AdmitError::NonceGap {
            expected: 1,
            got: 5
        })
    );
    pool.admit(burn(1), || 0, 0).unwrap();
    let full = pool.admit(burn(2), || 0, 0).unwrap_err();
    assert!(full.is_retryable());
    assert_eq!(pool.take_due(1), None, "not due before the interval");
    let block = pool.take_due(5).unwrap();
    assert_eq!(block.len(), 2);
    pool.admit(burn(2), || 0, 6).unwrap();
}

#[test]
fn one_signer_cannot_fill_the_mempool() {
    let config = MempoolConfig {
        signer_pending_max: 2,
        ..MempoolConfig::default()
    };
    let mut pool = Mempool::new(config);
    let alice = SecretKey::from_label("alice");
    let bob = SecretKey::from_label("bob");
    let burn = |k: &SecretKey, n| credit(k, n, CreditOp::Burn { amount: amount(1) });
    pool.admit(burn(&alice, 0), || 0, 0).unwrap();
    pool.admit(burn(&alice, 1), || 0, 0).unwrap();
    let refused = pool.admit(burn(&alice, 2), || 0, 0).unwrap_err();
    assert_eq!(refused, AdmitError::SignerQuota { max: 2 });
    assert!(refused.is_retryable());
    pool.admit(burn(&bob, 0), || 0, 0).unwrap();
    // Once alice's first transaction is committed, she may add another.
    pool.admit(burn(&alice, 2), || 1, 0).unwrap();
}

#[derive(Debug, Clone)]
enum Op {
    Mint(usize, i64),
    Transfer(usize, usize, i64),
    Burn(usize, i64),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize, 1..1_000i64).prop_map(|(a, n)| Op::Mint(a, n)),
        (0..4usize, 0..4usize, 1..1_500i64).prop_map(|(a, b, n)| Op::Transfer(a, b, n)),
        (0..4usize, 1..1_500i64).prop_map(|(a, n)| Op::Burn(a, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn credit_supply_is_conserved(ops in proptest::collection::vec(op_strategy(), 1..60), block_size in 1..8usize) {
        let mut e = engine();
        let keys: Vec<SecretKey> = (0..4).map(|i| SecretKey::from_label(&format!("acct{i}"))).collect();
        let mut nonces = [0u64; 5];
        let mut txs = Vec::new();
        let (mut minted, mut burned) = (0i64, 0i64);
        let mut shadow = [0i64; 4];
        for op in ops {
            let tx = match op {
                Op::Mint(a, n) => {
                    minted += n;
                    shadow[a] += n;
                    let t = credit(&operator(), nonces[4], CreditOp::Mint { to: keys[a].public(), amount: amount(n) });
                    nonces[4] += 1;
                    t
                }
                Op::Transfer(a, b, n) => {
                    if shadow[a] >= n { shadow[a] -= n; shadow[b] += n; }
                    let t = credit(&keys[a], nonces[a], CreditOp::Transfer { to: keys[b].public(), amount: amount(n) });
                    nonces[a] += 1;
                    t
                }
                Op::Burn(a, n) => {
                    if shadow[a] >= n { shadow[a] -= n; burned += n; }
                    let t = credit(&keys[a], nonces[a], CreditOp::Burn { amount: amount(n) });
                    nonces[a] += 1;
                    t
                }
            };
            txs.push(tx);
        }
        for (i, chunk) in txs.chunks(block_size).enumerate() {
            produce(&mut e, chunk.to_vec(), 2_000 + i as u64);
            let supply = e.state().get(SUPPLY_KEY).and_then(decode_fen).map_or(0, |f| f.get());
            let sum: i64 = keys.iter().map(|k| balance(&e, &k.public())).sum();
            prop_assert_eq!(supply, sum, "sum of balances equals supply at every height");
            prop_assert!(keys.iter().all(|k| balance(&e, &k.public()) >= 0));
        }
        let supply = e.state().get(SUPPLY_KEY).and_then(decode_fen).map_or(0, |f| f.get());
        prop_assert_eq!(supply, minted - burned);
        for (k, want) in keys.iter().zip(shadow) {
            prop_assert_eq!(balance(&e, &k.public()), want);
        }
    }
}
