//! A pay-as-you-go trade metered by its service channel, end to end over an embedded node
//! (issue 18): an order paid from an organisation wallet delegates the consumer's channel
//! side to the platform's channel key; the supplier agent accepts, its work order is
//! filled, the platform's consumer side opens the channel, minutes pass on the test's
//! clock, the agent proposes a statement per minute that the platform countersigns, a
//! check-in lands on the chain after a period, both sides restart mid-channel losing
//! nothing acknowledged, the consumer asks to stop, the channel closes cooperatively with
//! `stopped_by_consumer`, the rest of the escrow is back in the wallet and what was
//! charged is exactly what the check-ins and the close settled. And low funds: the channel
//! pauses below its margin (the platform gets the notice; paused time is not metered), a
//! top-up from the wallet with the delegated key resumes it, and a top-up beyond the
//! delegation's bound is refused. A consumer side that opens late costs the supplier
//! nothing: the periods before are checked in directly, and the channel meters on from
//! where they ended.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{NETWORK, Party, enroll, party};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use suanli_agent::channels::SupplierChannels;
use suanli_agent::platform::{Access, Platform, WorkOrder};
use suanli_agent::policy::{Limits, Policy};
use suanli_agent::provision::ManualWorkOrders;
use suanli_agent::store::DoneStore;
use suanli_agent::{Agent, AgentError};
use suanli_bridge::channel_key::PlatformChannel;
use suanli_bridge::consumer_channels::{CONSUMER_CHANNELS_DIR, ChannelNotice, ConsumerChannels};
use suanli_ledger::MempoolConfig;
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::embedded::{open_node_with_clock, stop};
use suanli_ledger_client::exchange::{self, OrderDraft, WalletOp};
use suanli_ledger_client::trade::submit;
use suanli_primitives::{Clock, Fen, PositiveFen, SecretKey};
use suanli_trade::model::{MINUTE_MS, ModeTerms, OfferTerms, Requirements, Resource, Weights};
use suanli_trade::record_data::RecordData;
use suanli_trade::records::{ChannelStatus, Status};
use suanli_trade::wallet::{ChannelDelegation, WalletName};
use suanli_trade::{CloseReason, Role, Serial, TradeOp};

const RATE_FEN: i64 = 10;
const PERIOD_MINUTES: u64 = 5;
const WALLET_FEN: i64 = 50_000;
const VALUE_FEN: i64 = 20_000;
const TOP_UP_MAX_FEN: i64 = 5_000;
/// How long the test waits for a notice to cross the loopback link, at most (a bound, not
/// a measurement).
const NOTICE_WAIT_MS: u64 = 10_000;

/// Real time plus an offset the test moves forward (every party's clock).
#[derive(Debug, Default)]
struct Skip(AtomicI64);

impl Clock for Skip {
    fn now_ms(&self) -> u64 {
        let real = suanli_primitives::SystemClock.now_ms();
        real.saturating_add_signed(self.0.load(Ordering::SeqCst))
    }
}

impl Skip {
    fn minutes(&self, m: i64) {
        self.0.fetch_add(m * 60_000, Ordering::SeqCst);
    }
}

/// The platform's work orders, in memory.
#[derive(Debug, Default)]
struct Orders(Mutex<BTreeMap<String, WorkOrder>>);

impl Platform for Orders {
    fn raise(&self, serial: &Serial, _needs_approval: bool) -> Result<WorkOrder, AgentError> {
        let mut m = self.0.lock().unwrap();
        let id = m.len() as i64 + 1;
        Ok(m.entry(serial.to_string())
            .or_insert_with(|| WorkOrder {
                id,
                serial: serial.to_string(),
                status: "open".into(),
                access: None,
            })
            .clone())
    }
    fn close(&self, id: i64) -> Result<WorkOrder, AgentError> {
        let mut m = self.0.lock().unwrap();
        let w = m.values_mut().find(|w| w.id == id).unwrap();
        w.status = "closed".into();
        Ok(w.clone())
    }
}

fn publish(ledger: &dyn LedgerClient, supplier: &Party, now: u64) {
    let terms = ModeTerms {
        trade_start_cpt: 1,
        checkin_cpt: 2,
        price_fen_per_minute: Fen::new(RATE_FEN).unwrap(),
        min_cost_fen: Fen::ZERO,
        checkin_period_minutes: PERIOD_MINUTES,
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
    let op = TradeOp::PublishOffer { terms: offer };
    submit(ledger, &supplier.key, &op, "offer").unwrap();
}

fn trade(ledger: &dyn LedgerClient, serial: &Serial) -> suanli_trade::records::Trade {
    suanli_agent::chain::trade_of(ledger, serial)
        .unwrap()
        .unwrap()
}

fn channel(ledger: &dyn LedgerClient, serial: &Serial) -> suanli_trade::records::Channel {
    suanli_agent::channels::channel_of(ledger, serial)
        .unwrap()
        .unwrap()
        .0
}

fn balance(ledger: &dyn LedgerClient, w: &WalletName) -> i64 {
    exchange::wallet_view(ledger, w)
        .unwrap()
        .unwrap()
        .balance_fen
}

/// What the chain's check-in records of a trade charged, in fen, and the escrow left.
fn checkins_fen(ledger: &dyn LedgerClient, serial: &Serial) -> (i64, i64) {
    let records = exchange::trade_status(ledger, serial).unwrap().unwrap();
    let paid = records
        .records
        .iter()
        .map(|r| match &r.data {
            RecordData::ChannelCheckin(c) => c.cost_fen.get(),
            RecordData::Checkin(c) => c.cost_fen.get(),
            _ => 0,
        })
        .sum();
    (paid, records.escrow_fen.get())
}

struct Consumer {
    rt: tokio::runtime::Runtime,
    channels: ConsumerChannels,
}

fn consumer_side(
    ledger: &Arc<dyn LedgerClient>,
    dir: &std::path::Path,
    listen: SocketAddr,
    clock: &Arc<Skip>,
) -> Consumer {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let key = PlatformChannel::open(dir, &format!("tcp://{listen}")).unwrap();
    let channels = rt
        .block_on(ConsumerChannels::open(
            Arc::clone(ledger),
            &key,
            listen,
            None,
            &dir.join(CONSUMER_CHANNELS_DIR),
            clock.clone(),
        ))
        .unwrap();
    Consumer { rt, channels }
}

/// Everything up to a running channel: the node, the parties, the wallet, the platform's
/// consumer side, an order of `value_fen` delegating to it, the agent that accepted it,
/// the filled work order, the channel opened by the consumer's side and kept by both.
struct World {
    dir: tempfile::TempDir,
    clock: Arc<Skip>,
    running: suanli_ledger_client::embedded::Running,
    ledger: Arc<dyn LedgerClient>,
    wallet: WalletName,
    listen: SocketAddr,
    consumer: Consumer,
    agent: Agent,
    serial: Serial,
}

fn world(value_fen: i64) -> World {
    let w = unopened(value_fen);
    open(&w);
    w
}

/// The consumer's side opens the channel with the delegated key and keeps it in the same
/// round; the agent meters it.
fn open(w: &World) {
    let (l, consumer, serial) = (w.ledger.as_ref(), &w.consumer, w.serial);
    let c = consumer.rt.block_on(consumer.channels.round()).unwrap();
    assert_eq!((c.opened, c.kept, c.failed), (1, 1, 0), "{c:?}");
    let opened = channel(l, &serial);
    assert_eq!(
        opened.terms.consumer_key,
        consumer.channels.controller().public_key()
    );
    assert_eq!(
        opened.challenge_window_ms,
        suanli_bridge::consumer_channels::CHALLENGE_WINDOW_MS
    );
    // The next round has nothing more to open or keep.
    let c = consumer.rt.block_on(consumer.channels.round()).unwrap();
    assert_eq!((c.opened, c.kept, c.failed), (0, 0, 0), "{c:?}");
    let r = w.agent.tick().unwrap();
    assert_eq!((r.metered, r.failed), (1, 0), "{r:?}");
}

/// [`world`] before the consumer's side opened the channel.
fn unopened(value_fen: i64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(Skip::default());
    let operator = SecretKey::from_label("channels-test/operator");
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
    let (supplier, buyer) = (
        party("channels-test/supplier"),
        party("channels-test/buyer"),
    );
    enroll(l, &operator, &supplier, Role::Supplier);
    enroll(l, &operator, &buyer, Role::Consumer);
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

    // The platform's consumer side listens; the order delegates the channel to its key.
    let platform_dir = dir.path().join("platform");
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = probe.local_addr().unwrap();
    drop(probe);
    let consumer = consumer_side(&ledger, &platform_dir, listen, &clock);
    let now = clock.now_ms();
    let serial = Serial::from_bytes([42; 16]);
    let draft = OrderDraft {
        serial,
        offer_id: 1,
        requirements: Requirements {
            spec: "gpu-a100".into(),
            quantity: 1,
            duration_minutes: 60,
        },
        value_fen: PositiveFen::new(value_fen).unwrap(),
        wallet: Some(w.clone()),
        channel: Some(ChannelDelegation {
            key: consumer.channels.delegate().0,
            endpoint: consumer.channels.delegate().1.to_owned(),
            valid_until_ms: now + 24 * 60 * MINUTE_MS,
            max_fen: Fen::new(TOP_UP_MAX_FEN).unwrap(),
        }),
        time_ms: now,
    };
    let tx = exchange::sign_order(l, &buyer.key, &draft).unwrap();
    exchange::submit(l, &tx, 15_000).unwrap();
    consumer.channels.watch(serial).unwrap();
    assert_eq!(balance(l, &w), WALLET_FEN - value_fen);

    // The agent accepts; its work order is filled back.
    let orders = Arc::new(Orders::default());
    let agent_dir = dir.path().join("agent");
    let agent = Agent {
        ledger: ledger.clone(),
        platform: orders.clone(),
        provisioner: Arc::new(ManualWorkOrders::new(orders.clone())),
        supplier: supplier.did.clone(),
        key: supplier.key.clone(),
        key_fragment: "key-1".into(),
        policy: Policy::Auto(Limits {
            max_units: 4,
            max_minutes: 120,
            max_value_fen: VALUE_FEN,
            offers: vec![1],
        }),
        store: DoneStore::open(&agent_dir).unwrap(),
        clock: clock.clone(),
        channels: SupplierChannels::own_runtime(&agent_dir).unwrap(),
    };
    let r = agent.tick().unwrap();
    assert_eq!((r.accepted, r.failed), (1, 0), "{r:?}");
    {
        let mut m = orders.0.lock().unwrap();
        let wo = m.get_mut(&serial.to_string()).unwrap();
        wo.status = "filled".into();
        wo.access = Some(Access {
            address: "ssh://10.0.0.7:22".into(),
            credentials_ref: "vault:kv/dc1/n7".into(),
            pool_id: "pool-a".into(),
        });
    }
    // Provisioned, but the consumer's side has not opened the channel (no period passed).
    let r = agent.tick().unwrap();
    assert_eq!(
        (r.channel_waiting, r.checked_in, r.failed),
        (1, 0, 0),
        "{r:?}"
    );

    World {
        dir,
        clock,
        running,
        ledger,
        wallet: w,
        listen,
        consumer,
        agent,
        serial,
    }
}

#[test]
fn a_wallet_paid_trade_is_metered_by_its_channel_and_stopped_cooperatively() {
    let World {
        dir,
        clock,
        running,
        ledger,
        wallet: w,
        listen,
        consumer,
        mut agent,
        serial,
    } = world(VALUE_FEN);
    let l = ledger.as_ref();
    let (platform_dir, agent_dir) = (dir.path().join("platform"), dir.path().join("agent"));
    // Minute by minute: a statement each, countersigned; after a period, a check-in.
    for minute in 1..=PERIOD_MINUTES {
        clock.minutes(1);
        let r = agent.tick().unwrap();
        assert_eq!((r.statements, r.failed), (1, 0), "minute {minute}: {r:?}");
        let submitted = u32::from(minute == PERIOD_MINUTES);
        assert_eq!(r.channel_submitted, submitted, "minute {minute}: {r:?}");
    }
    let ch = channel(l, &serial);
    assert_eq!((ch.checkins, ch.settled.minutes), (1, PERIOD_MINUTES));
    let period_fen = RATE_FEN * PERIOD_MINUTES as i64;
    assert_eq!(checkins_fen(l, &serial).0, period_fen);
    let supplier_side = agent
        .channels
        .controller()
        .unwrap()
        .latest(&serial)
        .unwrap();
    let consumer_side_state = consumer.channels.controller().latest(&serial).unwrap();
    assert_eq!(
        supplier_side, consumer_side_state,
        "both sides hold the same dual-signed state"
    );

    // Both sides restart mid-channel: nothing acknowledged is lost.
    let held = supplier_side.statement.seq;
    agent.channels = SupplierChannels::own_runtime(&agent_dir).unwrap();
    consumer.rt.block_on(consumer.channels.shutdown());
    drop(consumer);
    let consumer = consumer_side(&ledger, &platform_dir, listen, &clock);
    assert_eq!(consumer.channels.watched().unwrap(), vec![serial]);
    assert_eq!(
        consumer
            .channels
            .controller()
            .latest(&serial)
            .unwrap()
            .statement
            .seq,
        held
    );
    clock.minutes(2);
    let r = agent.tick().unwrap();
    assert_eq!((r.metered, r.statements, r.failed), (1, 1, 0), "{r:?}");
    let after = agent
        .channels
        .controller()
        .unwrap()
        .latest(&serial)
        .unwrap();
    assert_eq!(
        (after.statement.seq, after.statement.minutes),
        (held + 1, PERIOD_MINUTES + 2)
    );

    // The consumer asks to stop: told with the next answer, then the final state closes
    // the trade cooperatively.
    consumer
        .rt
        .block_on(consumer.channels.request_stop(serial))
        .unwrap();
    clock.minutes(1);
    let r = agent.tick().unwrap();
    assert_eq!((r.statements, r.failed), (1, 0), "{r:?}");
    let supplier_controller = agent.channels.controller().unwrap();
    let mut waited = 0;
    while !supplier_controller.stop_requested(&serial) && waited < NOTICE_WAIT_MS {
        std::thread::sleep(Duration::from_millis(10));
        waited += 10;
    }
    assert!(
        supplier_controller.stop_requested(&serial),
        "the stop request arrived"
    );
    let r = agent.tick().unwrap();
    assert_eq!(
        (r.finals, r.channel_submitted, r.failed),
        (1, 1, 0),
        "{r:?}"
    );
    let t = trade(l, &serial);
    let closure = t.closure.clone().unwrap();
    assert_eq!(
        (t.status, closure.reason),
        (Status::Closed, CloseReason::StoppedByConsumer)
    );
    assert_eq!(channel(l, &serial).status, ChannelStatus::Closed);

    // Money: minutes served at the rate, exactly what the check-in and the close settled;
    // the rest of the escrow is back in the wallet.
    let minutes = PERIOD_MINUTES as i64 + 3;
    let charged = RATE_FEN * minutes;
    assert_eq!(t.charged_fen.get(), charged);
    let (checked_in, escrow_left) = checkins_fen(l, &serial);
    assert_eq!(checked_in + closure.tail_cost_fen.get(), charged);
    assert_eq!(escrow_left, 0);
    assert_eq!(balance(l, &w), WALLET_FEN - charged);

    // Both sides let the trade go.
    let c = consumer.rt.block_on(consumer.channels.round()).unwrap();
    assert_eq!((c.forgotten, c.failed), (1, 0), "{c:?}");
    assert!(consumer.channels.watched().unwrap().is_empty());
    let r = agent.tick().unwrap();
    assert_eq!(r.released, 1, "{r:?}");
    consumer.rt.block_on(consumer.channels.shutdown());
    drop(agent);
    stop(running);
}

/// The platform's notices of `serial` until one arrives or the wait's bound passes.
fn next_notice(consumer: &Consumer) -> Vec<ChannelNotice> {
    let mut waited = 0;
    loop {
        let notices = consumer.channels.notices();
        if !notices.is_empty() || waited >= NOTICE_WAIT_MS {
            return notices;
        }
        std::thread::sleep(Duration::from_millis(10));
        waited += 10;
    }
}

#[test]
fn low_funds_pause_the_channel_and_a_top_up_from_the_wallet_resumes_it() {
    // The escrow pays two periods; the margin is one period (5 minutes × 10 fen).
    let value = 2 * RATE_FEN * PERIOD_MINUTES as i64;
    let World {
        clock,
        running,
        ledger,
        wallet: w,
        consumer,
        agent,
        serial,
        ..
    } = world(value);
    let l = ledger.as_ref();
    for _ in 0..PERIOD_MINUTES {
        clock.minutes(1);
        let r = agent.tick().unwrap();
        assert_eq!((r.statements, r.failed), (1, 0), "{r:?}");
    }
    assert_eq!(channel(l, &serial).settled.minutes, PERIOD_MINUTES);

    // Minute 6 is signed, and the escrow left (40 fen) is below the margin: paused.
    clock.minutes(1);
    let r = agent.tick().unwrap();
    assert_eq!((r.statements, r.failed), (1, 0), "{r:?}");
    let paused = next_notice(&consumer);
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert!(paused[0].paused && paused[0].serial == serial, "{paused:?}");
    assert_eq!((paused[0].remaining_fen, paused[0].margin_fen), (40, 50));
    // Paused time is not metered.
    clock.minutes(1);
    let r = agent.tick().unwrap();
    assert_eq!((r.statements, r.failed), (0, 0), "{r:?}");
    assert_eq!(
        agent
            .channels
            .controller()
            .unwrap()
            .latest(&serial)
            .unwrap()
            .statement
            .minutes,
        PERIOD_MINUTES + 1
    );

    // A top-up from the wallet with the delegated key; the agent resumes at its next round.
    let before = balance(l, &w);
    let top_up = PositiveFen::new(200).unwrap();
    consumer
        .rt
        .block_on(consumer.channels.top_up(serial, top_up))
        .unwrap();
    assert_eq!(balance(l, &w), before - 200);
    let r = agent.tick().unwrap();
    assert_eq!(r.failed, 0, "{r:?}");
    let resumed = next_notice(&consumer);
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    assert!(
        !resumed[0].paused && resumed[0].serial == serial,
        "{resumed:?}"
    );
    clock.minutes(1);
    let r = agent.tick().unwrap();
    assert_eq!((r.statements, r.failed), (1, 0), "{r:?}");
    let latest = agent
        .channels
        .controller()
        .unwrap()
        .latest(&serial)
        .unwrap();
    assert_eq!(latest.statement.minutes, PERIOD_MINUTES + 2);
    // Beyond the delegation's bound: refused by the chain, nothing moved.
    let too_much = PositiveFen::new(TOP_UP_MAX_FEN).unwrap();
    let refused = consumer
        .rt
        .block_on(consumer.channels.top_up(serial, too_much));
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(balance(l, &w), before - 200);
    consumer.rt.block_on(consumer.channels.shutdown());
    drop(agent);
    stop(running);
}

#[test]
fn a_stop_asked_while_paused_still_closes_the_channel_cooperatively() {
    let value = 2 * RATE_FEN * PERIOD_MINUTES as i64;
    let World {
        clock,
        running,
        ledger,
        wallet: w,
        consumer,
        agent,
        serial,
        ..
    } = world(value);
    let l = ledger.as_ref();
    for _ in 0..=PERIOD_MINUTES {
        clock.minutes(1);
        let r = agent.tick().unwrap();
        assert_eq!((r.statements, r.failed), (1, 0), "{r:?}");
    }
    assert!(next_notice(&consumer)[0].paused);
    // Paused: no statement carries the stop request; the round's sync does.
    consumer
        .rt
        .block_on(consumer.channels.request_stop(serial))
        .unwrap();
    let r = agent.tick().unwrap();
    assert_eq!((r.statements, r.failed), (0, 0), "{r:?}");
    let supplier_controller = agent.channels.controller().unwrap();
    let mut waited = 0;
    while !supplier_controller.stop_requested(&serial) && waited < NOTICE_WAIT_MS {
        std::thread::sleep(Duration::from_millis(10));
        waited += 10;
    }
    assert!(
        supplier_controller.stop_requested(&serial),
        "the stop request arrived"
    );
    let r = agent.tick().unwrap();
    assert_eq!(
        (r.finals, r.channel_submitted, r.failed),
        (1, 1, 0),
        "{r:?}"
    );
    let t = trade(l, &serial);
    let closure = t.closure.clone().unwrap();
    assert_eq!(
        (t.status, closure.reason),
        (Status::Closed, CloseReason::StoppedByConsumer)
    );
    let charged = RATE_FEN * (PERIOD_MINUTES as i64 + 1);
    assert_eq!(t.charged_fen.get(), charged);
    assert_eq!(balance(l, &w), WALLET_FEN - charged);
    consumer.rt.block_on(consumer.channels.shutdown());
    drop(agent);
    stop(running);
}

#[test]
fn periods_before_the_channel_opens_are_checked_in_directly_and_the_channel_meters_on() {
    let w = unopened(VALUE_FEN);
    let l = w.ledger.as_ref();
    // The consumer's side is late: a whole period passes, checked in directly.
    w.clock.minutes(PERIOD_MINUTES as i64);
    let r = w.agent.tick().unwrap();
    assert_eq!(
        (r.channel_waiting, r.checked_in, r.failed),
        (1, 1, 0),
        "{r:?}"
    );
    let t = trade(l, &w.serial);
    assert_eq!((t.checkins, t.billed_minutes), (1, PERIOD_MINUTES));
    // Then it opens: the channel's minute 0 is where the direct check-in ended.
    open(&w);
    assert_eq!(
        Some(channel(l, &w.serial).terms.start_ms),
        trade(l, &w.serial).billed_until_ms
    );
    w.clock.minutes(1);
    let r = w.agent.tick().unwrap();
    assert_eq!((r.statements, r.checked_in, r.failed), (1, 0, 0), "{r:?}");
    let latest = w
        .agent
        .channels
        .controller()
        .unwrap()
        .latest(&w.serial)
        .unwrap();
    assert_eq!(latest.statement.minutes, 1);
    assert_eq!(latest.statement.cost_fen.get(), RATE_FEN);
    w.consumer.rt.block_on(w.consumer.channels.shutdown());
    drop(w.agent);
    stop(w.running);
}
