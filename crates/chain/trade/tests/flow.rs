//! The whole trade flow on the real engines: KYC'd parties, mode and offer, order,
//! contract, three check-ins, close, rating, reputation; balances conserved at every step
//! and every record's credential verifying on its own against the identity chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod golden;

use common::{MINUTE, Net, pos};
use suanli_trade::records::{RecordKind, Status};
use suanli_trade::{CloseReason, Role, view};

#[test]
fn a_trade_from_order_to_rating() {
    let mut net = Net::new();
    let supplier = net.party("supplier", Role::Supplier);
    let consumer = net.party("consumer", Role::Consumer);
    net.mint(&consumer, 100_000);
    let offer = net.mode_and_offer(&supplier, 4);
    let serial = Net::serial(1);

    // Order: 4 hours, escrow 1,000 fen (first period costs max(60 × 10, 500) = 600).
    let order = net.order_op(&consumer, &supplier.did, serial, offer, 240, 1_000);
    net.trade_op(&consumer.key, &order).unwrap();
    assert_eq!(net.balance(&consumer), 99_000);
    assert_eq!(view::escrow_fen(net.trade.state(), &serial).get(), 1_000);
    assert_eq!(view::offer(net.trade.state(), offer).unwrap().available, 3);
    let (sum, supply) = net.conservation();
    assert_eq!(sum, supply);

    // Contract: the supplier countersigns and issues the trade-start credential.
    let accept = net.accept_op(&supplier, &serial);
    net.trade_op(&supplier.key, &accept).unwrap();
    let t = net.trade(&serial);
    assert_eq!(t.status, Status::Active);
    let start = t.contract_start_ms.unwrap();
    assert_eq!(t.contract_end_ms, Some(start + 240 * MINUTE));

    // Three hourly check-ins; the escrow covers one, so the consumer tops up before the second.
    let mut expected_supplier = 0;
    for (i, cost) in [(1, 600), (2, 600), (3, 600)] {
        net.advance(60 * MINUTE);
        if i == 2 {
            net.trade_op(
                &consumer.key,
                &suanli_trade::TradeOp::Fund {
                    serial,
                    amount_fen: pos(2_000),
                },
            )
            .unwrap();
        }
        let checkin = net.checkin_op(&supplier, &serial, 60);
        net.trade_op(&supplier.key, &checkin).unwrap();
        expected_supplier += cost;
        assert_eq!(
            net.balance(&supplier),
            expected_supplier,
            "after check-in {i}"
        );
        let (sum, supply) = net.conservation();
        assert_eq!(sum, supply, "after check-in {i}");
    }
    let t = net.trade(&serial);
    assert_eq!(t.checkins, 3);
    assert_eq!(t.billed_minutes, 180);
    assert_eq!(t.charged_fen.get(), 1_800);

    // The consumer stops after 30 more minutes (and a few seconds: a started minute counts).
    net.advance(30 * MINUTE);
    let close = Net::close_op(&serial, CloseReason::StoppedByConsumer);
    net.trade_op(&consumer.key, &close).unwrap();
    let t = net.trade(&serial);
    let closure = t.closure.clone().unwrap();
    assert_eq!(t.status, Status::Closed);
    let tail = closure.tail_minutes;
    assert!((30..=32).contains(&tail), "tail {tail}");
    assert_eq!(closure.tail_cost_fen.get(), tail as i64 * 10);
    assert_eq!(
        closure.refund_fen.get(),
        3_000 - 1_800 - closure.tail_cost_fen.get()
    );
    assert_eq!(net.balance(&supplier), 1_800 + closure.tail_cost_fen.get());
    assert_eq!(
        net.balance(&consumer),
        100_000 - 1_800 - closure.tail_cost_fen.get()
    );
    assert_eq!(view::escrow_fen(net.trade.state(), &serial).get(), 0);
    assert_eq!(t.escrow_expected_fen(), 0);
    assert_eq!(view::offer(net.trade.state(), offer).unwrap().available, 4);
    let (sum, supply) = net.conservation();
    assert_eq!((sum, supply), (100_000, 100_000));

    // Rating, then the reputation reflects it.
    let rate = net.rate_op(&consumer, &serial, 90);
    net.trade_op(&consumer.key, &rate).unwrap();
    let rep = view::reputation(net.trade.state(), &supplier.did, net.now_ms);
    assert_eq!(rep.orders, 1);
    assert_eq!(rep.contracted, 1);
    assert_eq!(rep.ratings, 1);
    assert_eq!(rep.closed.get(&CloseReason::StoppedByConsumer), Some(&1));
    assert_eq!(rep.completion_rate, Some(0.0));
    assert!((rep.overall.unwrap() - 90.0).abs() < 1e-9);
    assert_eq!(rep.per_resource.len(), 6);

    // The linked records: one serial, in order, each with the transaction that made it.
    let records = view::records(net.trade.state(), &serial, 0, 100);
    let kinds: Vec<RecordKind> = records.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RecordKind::Order,
            RecordKind::Contract,
            RecordKind::Checkin,
            RecordKind::Fund,
            RecordKind::Checkin,
            RecordKind::Checkin,
            RecordKind::Close,
            RecordKind::Rating
        ]
    );
    assert!(records.iter().all(|r| r.serial == serial));

    // Every credential verifies on its own against the identity chain.
    let credentials: Vec<&serde_json::Value> =
        records.iter().filter_map(|r| r.data.credential()).collect();
    assert_eq!(credentials.len(), 4);
    for vc in credentials {
        let report = net.verify(vc);
        assert!(report.ok(), "{} does not verify: {report:?}", vc["id"]);
    }

    // The order and contract signatures verify with nothing but the parties' keys.
    let order = &records[0].data.to_value().unwrap();
    let requirements: suanli_trade::model::Requirements =
        serde_json::from_value(order["requirements"].clone()).unwrap();
    let digest = suanli_trade::op::order_digest(
        &serial,
        order["time_ms"].as_u64().unwrap(),
        &supplier.did,
        offer,
        &requirements,
        suanli_primitives::PositiveFen::new(order["value_fen"].as_i64().unwrap()).unwrap(),
    );
    let consumer_sig: suanli_primitives::Signature =
        serde_json::from_value(order["signature"].clone()).unwrap();
    assert!(consumer.key.public().verify(&digest, &consumer_sig));
    let contract = &records[1].data.to_value().unwrap();
    let supplier_sig: suanli_primitives::Signature =
        serde_json::from_value(contract["supplier_signature"].clone()).unwrap();
    assert!(supplier.key.public().verify(
        &suanli_trade::op::contract_message(&consumer_sig),
        &supplier_sig
    ));

    // Histories: both parties see the trade.
    assert_eq!(
        view::history(net.trade.state(), &consumer.did, 0, 10),
        (1, vec![serial])
    );
    assert_eq!(
        view::history(net.trade.state(), &supplier.did, 0, 10),
        (1, vec![serial])
    );
}

#[test]
fn a_contract_that_runs_to_its_end_completes_and_settles_its_tail() {
    let mut net = Net::new();
    let supplier = net.party("s", Role::Supplier);
    let consumer = net.party("c", Role::Consumer);
    net.mint(&consumer, 10_000);
    let offer = net.mode_and_offer(&supplier, 1);
    let serial = Net::serial(7);
    let order = net.order_op(&consumer, &supplier.did, serial, offer, 90, 2_000);
    net.trade_op(&consumer.key, &order).unwrap();
    let accept = net.accept_op(&supplier, &serial);
    net.trade_op(&supplier.key, &accept).unwrap();
    net.advance(60 * MINUTE);
    let checkin = net.checkin_op(&supplier, &serial, 60);
    net.trade_op(&supplier.key, &checkin).unwrap();
    net.advance(2 * 60 * MINUTE);
    let close = Net::close_op(&serial, CloseReason::Completed);
    net.trade_op(&supplier.key, &close).unwrap();
    let t = net.trade(&serial);
    // The tail stops at the contract's end: 30 minutes, not the 2 hours that passed.
    assert_eq!(t.closure.as_ref().unwrap().tail_minutes, 30);
    assert_eq!(t.charged_fen.get(), 900);
    assert_eq!(net.balance(&supplier), 900);
    assert_eq!(net.balance(&consumer), 10_000 - 900);
    let rep = view::reputation(net.trade.state(), &supplier.did, net.now_ms);
    assert_eq!(rep.completion_rate, Some(1.0));
}

#[test]
fn the_minimum_charge_applies_to_a_short_trade_but_not_to_a_supplier_fault() {
    let mut net = Net::new();
    let supplier = net.party("s", Role::Supplier);
    let consumer = net.party("c", Role::Consumer);
    net.mint(&consumer, 10_000);
    let offer = net.mode_and_offer(&supplier, 2);
    for (n, reason, by_supplier, charged) in [
        (1, CloseReason::StoppedByConsumer, false, 500),
        (2, CloseReason::SupplierFault, true, 0),
    ] {
        let serial = Net::serial(n);
        let order = net.order_op(&consumer, &supplier.did, serial, offer, 120, 600);
        net.trade_op(&consumer.key, &order).unwrap();
        let accept = net.accept_op(&supplier, &serial);
        net.trade_op(&supplier.key, &accept).unwrap();
        net.advance(5 * MINUTE);
        let key = if by_supplier {
            &supplier.key
        } else {
            &consumer.key
        };
        net.trade_op(key, &Net::close_op(&serial, reason)).unwrap();
        assert_eq!(net.trade(&serial).charged_fen.get(), charged, "{reason:?}");
    }
    assert_eq!(net.balance(&supplier), 500);
    assert_eq!(net.balance(&consumer), 9_500);
}
