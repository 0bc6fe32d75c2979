//! The exchange's chain side against an embedded node (review findings H3 and H4,
//! `docs/exchange.md` §1 and §3):
//!
//! - a member signs an order paid from its organisation's wallet and sends it to the
//!   chain itself: `LedgerTrades::consumer_orders` reads it from the member's history
//!   (serial, wallet, offer, units, minutes, the order's value, its transaction) — what
//!   the exchange worker imports;
//! - a mirror transaction whose nonce another operator transaction took is answered as a
//!   definite refusal (`nonce_replayed`), never as applied or unknown; signed anew it
//!   applies once, and a third signature of the same instruction is refused with
//!   `reference_used` — the money moves once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{NETWORK, Party, enroll, party};

use std::sync::Arc;

use suanli_bridge::mirror::LedgerMirror;
use suanli_bridge::operator::OperatorSigner;
use suanli_bridge::trade_book::LedgerTradeBook;
use suanli_bridge::trade_ledger::LedgerTrades;
use suanli_ledger::MempoolConfig;
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::embedded::{open_node, stop};
use suanli_ledger_client::exchange::{self, OrderDraft, WalletOp};
use suanli_ledger_client::trade::submit;
use suanli_platform_http::domain::OrgId;
use suanli_platform_http::domain::money::Fen as PlatformFen;
use suanli_platform_http::payment::{MirrorOp, SettlementMirror};
use suanli_platform_http::trade_ledger::{Submitted, TradeLedger};
use suanli_primitives::{Clock, Fen, PositiveFen, SecretKey, SystemClock};
use suanli_trade::model::{MINUTE_MS, ModeTerms, OfferTerms, Requirements, Resource, Weights};
use suanli_trade::wallet::WalletName;
use suanli_trade::{Role, Serial, TradeOp};

const WALLET_FEN: i64 = 50_000;
const VALUE_FEN: i64 = 6_000;

fn publish(ledger: &dyn LedgerClient, supplier: &Party, now: u64) {
    let terms = ModeTerms {
        trade_start_cpt: 1,
        checkin_cpt: 2,
        price_fen_per_minute: Fen::new(100).unwrap(),
        min_cost_fen: Fen::ZERO,
        checkin_period_minutes: 5,
        weights: Weights::new([(Resource::Gpu, 1000)].into()).unwrap(),
        encryption: suanli_trade::model::Encryption::Plaintext,
        trade_type: "term".into(),
    };
    submit(
        ledger,
        &supplier.key,
        &TradeOp::PublishMode { terms },
        "mode",
    )
    .unwrap();
    let offer = OfferTerms {
        mode_id: 1,
        spec: "gpu-a100".into(),
        quantity: 4,
        valid_from_ms: now - MINUTE_MS,
        valid_until_ms: now + 24 * 60 * MINUTE_MS,
    };
    submit(
        ledger,
        &supplier.key,
        &TradeOp::PublishOffer { terms: offer },
        "offer",
    )
    .unwrap();
}

struct World {
    _dir: tempfile::TempDir,
    running: suanli_ledger_client::embedded::Running,
    ledger: Arc<dyn LedgerClient>,
    operator: OperatorSigner,
    buyer: Party,
    wallet: WalletName,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let mempool = MempoolConfig {
        block_interval_ms: 5,
        ..MempoolConfig::default()
    };
    let node_dir = dir.path().join("node");
    let running = open_node(&node_dir, NETWORK, None, mempool).unwrap();
    let operator = SecretKey::load(&node_dir.join("operator.key")).unwrap();
    let ledger: Arc<dyn LedgerClient> = running.0.clone();
    let l = ledger.as_ref();
    let (supplier, buyer) = (party("robust/supplier"), party("robust/buyer"));
    enroll(l, &operator, &supplier, Role::Supplier);
    enroll(l, &operator, &buyer, Role::Consumer);
    publish(l, &supplier, SystemClock.now_ms());
    let wallet = WalletName::parse("org:1").unwrap();
    let mint = WalletOp::Mint {
        amount_fen: PositiveFen::new(WALLET_FEN).unwrap(),
        reference: "recharge:1".into(),
    };
    exchange::wallet_op(l, &operator, &wallet, mint).unwrap();
    let member = WalletOp::Member {
        did: buyer.did.clone(),
        limit_fen: Fen::new(WALLET_FEN).unwrap(),
    };
    exchange::wallet_op(l, &operator, &wallet, member).unwrap();
    World {
        _dir: dir,
        running,
        ledger,
        operator: OperatorSigner::new(operator),
        buyer,
        wallet,
    }
}

fn balance(w: &World) -> i64 {
    exchange::wallet_view(w.ledger.as_ref(), &w.wallet)
        .unwrap()
        .unwrap()
        .balance_fen
}

#[test]
fn an_order_sent_past_the_platform_is_read_from_the_members_history() {
    let w = world();
    let l = w.ledger.as_ref();
    let serial = Serial::from_bytes([7; 16]);
    let draft = OrderDraft {
        serial,
        offer_id: 1,
        requirements: Requirements {
            spec: "gpu-a100".into(),
            quantity: 2,
            duration_minutes: 30,
        },
        value_fen: PositiveFen::new(VALUE_FEN).unwrap(),
        wallet: Some(w.wallet.clone()),
        channel: None,
        time_ms: SystemClock.now_ms(),
    };
    // The member's own key, straight to the chain: the platform never saw it.
    let tx = exchange::sign_order(l, &w.buyer.key, &draft).unwrap();
    exchange::submit(l, &tx, 15_000).unwrap();
    assert_eq!(balance(&w), WALLET_FEN - VALUE_FEN, "the wallet paid");

    let trades = LedgerTrades::new(
        Arc::clone(&w.ledger),
        Some(w.operator.clone()),
        None,
        LedgerTradeBook::new(Arc::clone(&w.ledger), Arc::new(SystemClock)),
    );
    let (next, orders) = trades.consumer_orders(w.buyer.did.as_str(), 0, 10).unwrap();
    assert_eq!((next, orders.len()), (1, 1));
    let o = &orders[0];
    assert_eq!(o.serial, serial.to_string());
    assert_eq!(o.consumer, w.buyer.did.as_str());
    assert_eq!(o.wallet.as_deref(), Some("org:1"));
    assert_eq!(
        (
            o.chain_offer_id,
            o.units,
            o.duration_minutes,
            o.value_fen,
            o.payg
        ),
        (1, 2, 30, VALUE_FEN, false)
    );
    assert_eq!(o.tx_ref, tx.id().to_string());
    // Read from where it stopped: nothing new.
    let (again, none) = trades.consumer_orders(w.buyer.did.as_str(), 1, 10).unwrap();
    assert_eq!((again, none.len()), (1, 0));
    stop(w.running);
}

#[test]
fn a_mirror_transaction_whose_nonce_was_taken_is_refused_and_signed_anew_once() {
    let w = world();
    let mirror = LedgerMirror::new(Arc::clone(&w.ledger), w.operator.clone());
    let org = OrgId::new(1).unwrap();
    let amount = PlatformFen::new(1_000).unwrap();
    // Signed (as before a crash), never submitted; another operator transaction then
    // takes its nonce.
    let stale = mirror
        .sign(MirrorOp::Mint, org, amount, "journal tx 42")
        .unwrap();
    {
        let (_held, key) = w.operator.lock();
        let member = WalletOp::Member {
            did: w.buyer.did.clone(),
            limit_fen: Fen::new(WALLET_FEN).unwrap(),
        };
        exchange::wallet_op(w.ledger.as_ref(), key, &w.wallet, member).unwrap();
    }
    match mirror.send(&stale).unwrap() {
        Submitted::Refused { code, .. } => assert_eq!(code, "nonce_replayed"),
        other => panic!("a taken nonce is a definite refusal: {other:?}"),
    }
    assert_eq!(balance(&w), WALLET_FEN, "nothing minted by the stale bytes");
    // Signed anew, under one hold of the lock with the store's write in between.
    let mut recorded = Vec::new();
    let (tx, sent) = mirror
        .sign_and_send(MirrorOp::Mint, org, amount, "journal tx 42", &mut |t| {
            recorded.push(t.reference.clone());
            Ok(())
        })
        .unwrap();
    assert_eq!(sent, Submitted::Applied);
    assert_eq!(recorded, vec![tx.reference.clone()]);
    assert_eq!(balance(&w), WALLET_FEN + 1_000);
    // The same instruction signed a third time moves nothing: its reference is used.
    let (_, third) = mirror
        .sign_and_send(
            MirrorOp::Mint,
            org,
            amount,
            "journal tx 42",
            &mut |_| Ok(()),
        )
        .unwrap();
    match third {
        Submitted::Refused { code, .. } => assert_eq!(code, "reference_used"),
        other => panic!("{other:?}"),
    }
    assert_eq!(balance(&w), WALLET_FEN + 1_000, "minted once");
    stop(w.running);
}
