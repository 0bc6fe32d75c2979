//! The `TradeDesk` and the bill lines over an embedded node (issue 18, billing,
//! `docs/exchange.md` §6–9): a wallet-paid order topped up by the consumer's own key
//! (the trade's `fund` before any channel), accepted and checked in by the supplier; the
//! bill line of the check-in names the chain record that holds it (sequence, height,
//! transaction) and costs what the record says; the bundle the desk builds verifies
//! offline with the check-ins' sum; bad top-ups are refused with their codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use suanli_bridge::trade_book::LedgerTradeBook;
use suanli_bridge::trade_desk::LedgerTradeDesk;
use suanli_identity::SuanliDid;
use suanli_ledger::MempoolConfig;
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::embedded::open_node_with_clock;
use suanli_ledger_client::exchange::{self, OrderDraft, WalletOp};
use suanli_ledger_client::trade::submit;
use suanli_platform_http::PortError;
use suanli_platform_http::service::trade_bills::lines_of;
use suanli_platform_http::trade_desk::TradeDesk;
use suanli_primitives::{Clock, Fen, NetworkName, PositiveFen, SecretKey};
use suanli_trade::bundle::{Bundle, verify};
use suanli_trade::model::{MINUTE_MS, ModeTerms, OfferTerms, Requirements, Resource, Weights};
use suanli_trade::record_data::RecordData;
use suanli_trade::wallet::WalletName;
use suanli_trade::{PartyDid, Role, Serial, TradeOp};

const NETWORK: &str = "suanli-test";
const RATE_FEN: i64 = 10;
const WALLET_FEN: i64 = 50_000;

/// Real time plus an offset the test moves forward.
#[derive(Debug, Default)]
struct Skip(AtomicI64);

impl Clock for Skip {
    fn now_ms(&self) -> u64 {
        suanli_primitives::SystemClock
            .now_ms()
            .saturating_add_signed(self.0.load(Ordering::SeqCst))
    }
}

struct Party {
    key: SecretKey,
    did: PartyDid,
}

fn party(label: &str) -> Party {
    let key = SecretKey::from_label(label);
    let did = SuanliDid::for_initial_key(NetworkName::new(NETWORK).unwrap(), &key.public());
    Party {
        did: PartyDid::parse(&did.to_string()).unwrap(),
        key,
    }
}

fn enroll(ledger: &dyn LedgerClient, operator: &SecretKey, p: &Party, role: Role) {
    let op = TradeOp::Enroll {
        did: p.did.clone(),
        role,
        key: p.key.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: Some(format!("urn:test:kyc:{}", p.did.as_str())),
        kyc_credential_sha256: Some("00".repeat(32)),
    };
    submit(ledger, operator, &op, "enroll").unwrap();
}

fn publish(ledger: &dyn LedgerClient, supplier: &Party, now: u64) {
    let terms = ModeTerms {
        trade_start_cpt: 1,
        checkin_cpt: 2,
        price_fen_per_minute: Fen::new(RATE_FEN).unwrap(),
        min_cost_fen: Fen::ZERO,
        checkin_period_minutes: 5,
        weights: Weights::new([(Resource::Cpu, 500), (Resource::Gpu, 500)].into()).unwrap(),
        encryption: suanli_trade::model::Encryption::Plaintext,
        trade_type: "payg-minute".into(),
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
        quantity: 16,
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

fn refused_code(e: PortError) -> &'static str {
    match e {
        PortError::Refused { code, .. } => code,
        other => panic!("not a refusal: {other}"),
    }
}

#[test]
fn top_up_bill_lines_and_a_bundle_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(Skip::default());
    let operator = SecretKey::from_label("desk-test/operator");
    let mempool = MempoolConfig {
        block_interval_ms: 5,
        ..MempoolConfig::default()
    };
    let running = open_node_with_clock(
        &dir.path().join("node"),
        NETWORK,
        Some(operator.public()),
        mempool,
        clock.clone(),
    )
    .unwrap();
    let ledger: Arc<dyn LedgerClient> = running.0.clone();
    let l = ledger.as_ref();
    let (supplier, buyer, stranger) = (
        party("desk-test/supplier"),
        party("desk-test/buyer"),
        party("desk-test/stranger"),
    );
    enroll(l, &operator, &supplier, Role::Supplier);
    enroll(l, &operator, &buyer, Role::Consumer);
    enroll(l, &operator, &stranger, Role::Consumer);
    publish(l, &supplier, clock.now_ms());
    let w = WalletName::parse("org:7").unwrap();
    let mint = WalletOp::Mint {
        amount_fen: PositiveFen::new(WALLET_FEN).unwrap(),
        reference: "recharge:1".into(),
    };
    exchange::wallet_op(l, &operator, &w, mint).unwrap();
    let member = WalletOp::Member {
        did: buyer.did.clone(),
        limit_fen: Fen::new(WALLET_FEN).unwrap(),
    };
    exchange::wallet_op(l, &operator, &w, member).unwrap();

    // A term order of 60 minutes paid from the wallet.
    let serial = Serial::from_bytes([7; 16]);
    let draft = OrderDraft {
        serial,
        offer_id: 1,
        requirements: Requirements {
            spec: "gpu-a100".into(),
            quantity: 1,
            duration_minutes: 60,
        },
        value_fen: PositiveFen::new(600).unwrap(),
        wallet: Some(w.clone()),
        channel: None,
        time_ms: clock.now_ms(),
    };
    let tx = exchange::sign_order(l, &buyer.key, &draft).unwrap();
    exchange::submit(l, &tx, 15_000).unwrap();

    let desk = LedgerTradeDesk::new(Arc::clone(&ledger), Arc::default());
    let s = serial.to_string();
    // Bad top-ups: nothing, a serial that is none, a key that is not the consumer's.
    assert_eq!(
        refused_code(desk.top_up(&buyer.key, &s, 0).unwrap_err()),
        "invalid_amount"
    );
    assert_eq!(
        refused_code(desk.top_up(&buyer.key, "xyz", 5).unwrap_err()),
        "invalid_serial"
    );
    assert_eq!(
        refused_code(desk.top_up(&stranger.key, &s, 5).unwrap_err()),
        "chain_refused"
    );
    // The consumer's own key tops the escrow up from the wallet (no channel yet: `fund`).
    desk.top_up(&buyer.key, &s, 400).unwrap();
    let view = exchange::wallet_view(l, &w).unwrap().unwrap();
    assert_eq!(view.balance_fen, WALLET_FEN - 600 - 400);
    assert!(desk.channel(&s).unwrap().is_none(), "no channel");
    assert!(desk.take_notices().is_empty(), "no controller runs");

    // The supplier accepts and checks in one period.
    suanli_ledger_client::supply::accept_order(l, &supplier.key, "key-1", &serial, clock.now_ms())
        .unwrap();
    clock.0.fetch_add(6 * MINUTE_MS as i64, Ordering::SeqCst);
    let done = suanli_ledger_client::supply::checkin_trade(
        l,
        &supplier.key,
        "key-1",
        &serial,
        clock.now_ms(),
    )
    .unwrap();

    // The bill line: the record that holds the check-in, its cost to the fen.
    let book = LedgerTradeBook::new(Arc::clone(&ledger), clock.clone());
    let chain = book.trade_of(&serial).unwrap().unwrap();
    assert_eq!(chain.funded_fen.get(), 1_000, "order and top-up");
    let lines = lines_of(&chain);
    assert_eq!(lines.len(), 1);
    let records = exchange::trade_status(l, &serial).unwrap().unwrap().records;
    let rec = records
        .iter()
        .find(|r| matches!(r.data, RecordData::Checkin(_)))
        .unwrap();
    assert_eq!(
        (
            lines[0].seq,
            lines[0].height,
            lines[0].tx_ref.as_str(),
            lines[0].cost.get()
        ),
        (
            rec.seq,
            rec.height,
            rec.tx_id.to_string().as_str(),
            done.cost_fen.get()
        )
    );
    assert_eq!(lines[0].minutes, done.minutes);

    // The bundle verifies offline, its check-ins summing to the bill.
    let json = desk.bundle_json(&s).unwrap().unwrap();
    let bundle: Bundle = serde_json::from_str(&json).unwrap();
    let report = verify(&bundle, &[]).unwrap();
    assert_eq!(report.records, records.len());
    assert_eq!(
        report.checkins_fen,
        lines.iter().map(|l| l.cost.get()).sum::<i64>()
    );
    assert!(
        desk.bundle_json(&Serial::from_bytes([9; 16]).to_string())
            .unwrap()
            .is_none()
    );
    drop(running);
}
