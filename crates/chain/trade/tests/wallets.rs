#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Organisation wallets and channel delegations (`docs/trade.md` §1.2) through the ledger
//! engine: orders paid from a wallet within a member's limit, refunds back to it, every
//! refusal with its code and nothing changed, the order signature covering the wallet and
//! the delegation, and a delegated channel key that runs the channel and nothing else.

mod common;

use common::{MINUTE, Net, Party, SPEC, fen, pos, signed_state};
use suanli_primitives::SecretKey;
use suanli_trade::channel::ChannelOp;
use suanli_trade::model::Requirements;
use suanli_trade::op::{self, OrderFields};
use suanli_trade::records::Status;
use suanli_trade::wallet::{ChannelDelegation, WalletMember, WalletName, wallet_account};
use suanli_trade::{CloseReason, PartyDid, Role, Serial, TradeOp};

const HOUR: u64 = 60 * MINUTE;

fn wallet(name: &str) -> WalletName {
    WalletName::parse(name).unwrap()
}

fn mint(w: &WalletName, amount: i64) -> TradeOp {
    TradeOp::WalletMint {
        wallet: w.clone(),
        amount_fen: pos(amount),
        reference: "recharge:1".into(),
    }
}

fn member(w: &WalletName, did: &PartyDid, limit: i64) -> TradeOp {
    TradeOp::WalletMember {
        wallet: w.clone(),
        did: did.clone(),
        limit_fen: fen(limit),
    }
}

struct Order<'a> {
    consumer: &'a Party,
    supplier: &'a PartyDid,
    serial: Serial,
    offer: u64,
    value: i64,
    wallet: Option<WalletName>,
    channel: Option<ChannelDelegation>,
}

/// A v2 order; `signed_wallet` is what the signature covers (normally the same wallet).
fn order_v2(net: &Net, o: &Order<'_>, signed_wallet: Option<&WalletName>) -> TradeOp {
    let requirements = Requirements {
        spec: SPEC.into(),
        quantity: 1,
        duration_minutes: 120,
    };
    let digest = op::order_digest_v2(
        OrderFields {
            serial: &o.serial,
            time_ms: net.now_ms,
            supplier: o.supplier,
            offer_id: o.offer,
            requirements: &requirements,
            value_fen: pos(o.value),
        },
        signed_wallet,
        o.channel.as_ref(),
    );
    TradeOp::Order {
        serial: o.serial,
        offer_id: o.offer,
        time_ms: net.now_ms,
        requirements,
        value_fen: pos(o.value),
        signature: op::sign_digest(&o.consumer.key, &digest),
        wallet: o.wallet.clone(),
        channel: o.channel.clone(),
    }
}

fn wallet_balance(net: &Net, w: &WalletName) -> i64 {
    net.trade
        .state()
        .get(&suanli_ledger::credit::account_balance_key(
            &wallet_account(w),
        ))
        .and_then(suanli_ledger::credit::decode_fen)
        .map_or(0, |f| f.get())
}

fn spent(net: &Net, w: &WalletName, did: &PartyDid) -> i64 {
    let bytes = net
        .trade
        .state()
        .get(&suanli_trade::wallet::wallet_member_key(w, did))
        .expect("a member");
    serde_json::from_slice::<WalletMember>(bytes)
        .unwrap()
        .spent_fen
        .get()
}

/// A supplier with an offer, a consumer with no credits of its own, and wallet `org:1`
/// holding 50,000 fen with the consumer as a member allowed 10,000.
fn setup(net: &mut Net) -> (Party, Party, u64, WalletName) {
    let supplier = net.party("supplier", Role::Supplier);
    let consumer = net.party("consumer", Role::Consumer);
    let offer = net.mode_and_offer(&supplier, 8);
    let w = wallet("org:1");
    let operator = net.operator.clone();
    net.trade_op(&operator, &mint(&w, 50_000)).unwrap();
    net.trade_op(&operator, &member(&w, &consumer.did, 10_000))
        .unwrap();
    (supplier, consumer, offer, w)
}

#[test]
fn a_wallet_pays_its_members_orders_and_takes_the_refunds_back() {
    let mut net = Net::new();
    let (supplier, consumer, offer, w) = setup(&mut net);
    let o = Order {
        consumer: &consumer,
        supplier: &supplier.did,
        serial: Net::serial(1),
        offer,
        value: 6_000,
        wallet: Some(w.clone()),
        channel: None,
    };
    let order = order_v2(&net, &o, Some(&w));
    net.trade_op(&consumer.key, &order).unwrap();
    assert_eq!(wallet_balance(&net, &w), 44_000);
    assert_eq!(spent(&net, &w, &consumer.did), 6_000);
    assert_eq!(net.balance(&consumer), 0);
    assert_eq!(net.trade(&o.serial).wallet, Some(w.clone()));

    // A second order would take the member past its limit: refused, nothing changed.
    let second = Order {
        serial: Net::serial(2),
        value: 5_000,
        ..o
    };
    let refused = order_v2(&net, &second, Some(&w));
    net.refused(&consumer.key, &refused, "member_limit_exceeded");

    // Contract, one hour used, stopped: 600 fen paid, the rest back to the wallet.
    let accept = net.accept_op(&supplier, &o.serial);
    net.trade_op(&supplier.key, &accept).unwrap();
    net.advance(HOUR);
    let checkin = net.checkin_op(&supplier, &o.serial, 60);
    net.trade_op(&supplier.key, &checkin).unwrap();
    let close = Net::close_op(&o.serial, CloseReason::StoppedByConsumer);
    net.trade_op(&consumer.key, &close).unwrap();
    let trade = net.trade(&o.serial);
    assert_eq!(trade.status, Status::Closed);
    let paid = trade.paid_fen.get();
    let refund = trade.closure.as_ref().unwrap().refund_fen.get();
    assert_eq!(paid + refund, 6_000);
    assert_eq!(wallet_balance(&net, &w), 44_000 + refund);
    assert_eq!(spent(&net, &w, &consumer.did), 6_000 - refund);
    assert_eq!(
        net.balance(&consumer),
        0,
        "a refund never goes to the member"
    );
    let (sum, supply) = net.conservation();
    assert_eq!(sum, supply);
}

#[test]
fn wallet_refusals_change_nothing() {
    let mut net = Net::new();
    let (supplier, consumer, offer, w) = setup(&mut net);
    let operator = net.operator.clone();
    let outsider = net.party("outsider", Role::Consumer);
    let o = Order {
        consumer: &outsider,
        supplier: &supplier.did,
        serial: Net::serial(1),
        offer,
        value: 1_000,
        wallet: Some(w.clone()),
        channel: None,
    };
    let not_member = order_v2(&net, &o, Some(&w));
    net.refused(&outsider.key, &not_member, "not_wallet_member");

    // Only the operator mints, burns and records members.
    net.refused(&consumer.key, &mint(&w, 1), "not_operator");
    net.refused(&consumer.key, &member(&w, &consumer.did, 1), "not_operator");
    let burn_too_much = TradeOp::WalletBurn {
        wallet: w.clone(),
        amount_fen: pos(50_001),
        reference: "withdrawal:1".into(),
    };
    net.refused(&operator, &burn_too_much, "insufficient_balance");

    // The signature covers the wallet: an order moved onto another wallet is forged.
    let other = wallet("org:2");
    net.trade_op(&operator, &mint(&other, 5_000)).unwrap();
    net.trade_op(&operator, &member(&other, &consumer.did, 5_000))
        .unwrap();
    let moved = Order {
        consumer: &consumer,
        wallet: Some(other.clone()),
        ..o
    };
    let forged = order_v2(&net, &moved, Some(&w));
    net.refused(&consumer.key, &forged, "bad_signature");

    // A suspended wallet pays for nothing.
    let suspend = TradeOp::WalletSuspend {
        wallet: other.clone(),
        suspended: true,
    };
    net.trade_op(&operator, &suspend).unwrap();
    let honest = order_v2(&net, &moved, Some(&other));
    net.refused(&consumer.key, &honest, "wallet_suspended");

    // Money out: a burn within the balance is applied and the supply shrinks with it.
    let burn = TradeOp::WalletBurn {
        wallet: w.clone(),
        amount_fen: pos(20_000),
        reference: "withdrawal:2".into(),
    };
    net.trade_op(&operator, &burn).unwrap();
    assert_eq!(wallet_balance(&net, &w), 30_000);
    let (sum, supply) = net.conservation();
    assert_eq!(sum, supply);
}

/// An order from the wallet delegating the channel to `delegate` until `until`, contracted.
fn delegated_trade(
    net: &mut Net,
    supplier: &Party,
    consumer: &Party,
    offer: u64,
    w: &WalletName,
    delegate: &SecretKey,
    until: u64,
) -> Serial {
    let o = Order {
        consumer,
        supplier: &supplier.did,
        serial: Net::serial(7),
        offer,
        value: 2_000,
        wallet: Some(w.clone()),
        channel: Some(ChannelDelegation {
            key: delegate.public(),
            endpoint: "tcp://127.0.0.1:7420".into(),
            valid_until_ms: until,
        }),
    };
    let order = order_v2(net, &o, Some(w));
    net.trade_op(&consumer.key, &order).unwrap();
    let accept = net.accept_op(supplier, &o.serial);
    net.trade_op(&supplier.key, &accept).unwrap();
    o.serial
}

#[test]
fn a_delegated_key_runs_the_channel_and_nothing_else() {
    let mut net = Net::new();
    let (supplier, consumer, offer, w) = setup(&mut net);
    let delegate = SecretKey::from_label("platform channel key");
    let until = net.now_ms + 10 * HOUR;
    let serial = delegated_trade(&mut net, &supplier, &consumer, offer, &w, &delegate, until);
    assert_eq!(spent(&net, &w, &consumer.did), 2_000);

    let open = ChannelOp::Open {
        serial,
        deposit_fen: fen(1_000),
        bond_fen: fen(100),
        challenge_window_ms: 10 * MINUTE,
    };
    net.channel_op(&delegate, &open).unwrap();
    assert_eq!(net.channel(&serial).terms.consumer_key, delegate.public());
    assert_eq!(
        spent(&net, &w, &consumer.did),
        3_100,
        "deposit and bond from the wallet"
    );
    assert_eq!(wallet_balance(&net, &w), 50_000 - 3_100);

    // Statements signed by the supplier and the delegated key settle on the chain.
    net.advance(30 * MINUTE);
    let state = signed_state(&supplier.key, &delegate, net.statement(&serial, 1, 30));
    let checkin = ChannelOp::Checkin { serial, state };
    net.channel_op(&delegate, &checkin).unwrap();

    // Not the trade's close and not the rating: those are the consumer's own key's.
    let close = Net::close_op(&serial, CloseReason::StoppedByConsumer);
    net.refused(&delegate, &close, "delegate_not_allowed");

    // A cooperative stop: the final state closes the trade, the rest goes to the wallet.
    net.advance(5 * MINUTE);
    let mut last = net.statement(&serial, 2, 35);
    last.close = Some(CloseReason::StoppedByConsumer);
    let state = signed_state(&supplier.key, &delegate, last);
    net.channel_op(&delegate, &ChannelOp::CoopClose { serial, state })
        .unwrap();
    let trade = net.trade(&serial);
    assert_eq!(trade.status, Status::Closed);
    let rate = net.rate_op(&consumer, &serial, 90);
    net.refused(&delegate, &rate, "delegate_not_allowed");
    net.trade_op(&consumer.key, &rate).unwrap();
    let charged = trade.paid_fen.get();
    assert_eq!(wallet_balance(&net, &w), 50_000 - charged);
    assert_eq!(spent(&net, &w, &consumer.did), charged);
    assert_eq!(net.balance(&consumer), 0);
    let (sum, supply) = net.conservation();
    assert_eq!(sum, supply);
}

#[test]
fn a_delegation_ends_when_it_says() {
    let mut net = Net::new();
    let (supplier, consumer, offer, w) = setup(&mut net);
    let delegate = SecretKey::from_label("platform channel key");
    let until = net.now_ms + HOUR;
    let serial = delegated_trade(&mut net, &supplier, &consumer, offer, &w, &delegate, until);
    let fund = TradeOp::Fund {
        serial,
        amount_fen: pos(100),
    };
    net.trade_op(&delegate, &fund).unwrap();
    assert_eq!(spent(&net, &w, &consumer.did), 2_100);
    net.advance(HOUR);
    net.refused(&delegate, &fund, "delegation_expired");

    // An order whose delegation has already ended is refused outright.
    let o = Order {
        consumer: &consumer,
        supplier: &supplier.did,
        serial: Net::serial(8),
        offer,
        value: 1_000,
        wallet: Some(w.clone()),
        channel: Some(ChannelDelegation {
            key: delegate.public(),
            endpoint: "tcp://127.0.0.1:7420".into(),
            valid_until_ms: net.now_ms,
        }),
    };
    let late = order_v2(&net, &o, Some(&w));
    net.refused(&consumer.key, &late, "delegation_expired");
}
