//! Two controllers over loopback: updates, bad statements, crashes and resumes, low
//! funds, the schedule's check-ins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use parking_lot::Mutex;
use suanli_channel_controller::wire::{self, Answer, Message, NoticeKind, Proposal};
use suanli_channel_controller::{
    ChainPort, ChainView, ChannelError, ChannelSetup, ClosingView, Controller, ControllerConfig,
    ServePolicy, ServiceTimeMeter, Usage,
};
use suanli_primitives::{Fen, ManualClock, SecretKey};
use suanli_trade::Serial;
use suanli_trade::channel::{ChannelOp, ChannelTerms, SignedState, Statement};
use suanli_trade::model::{MINUTE_MS, Role};
use tokio::net::TcpStream;

const T0: u64 = 1_700_000_000_000;
const RATE: i64 = 10;

fn fen(raw: i64) -> Fen {
    Fen::new(raw).unwrap()
}

struct Side {
    key: SecretKey,
    dir: tempfile::TempDir,
    ctl: Controller,
}

fn terms(n: u8, supplier: &SecretKey, consumer: &SecretKey) -> ChannelTerms {
    ChannelTerms {
        serial: Serial::from_bytes([n; 16]),
        supplier_key: supplier.public(),
        consumer_key: consumer.public(),
        rate_fen_per_minute: fen(RATE),
        min_cost_fen: fen(50),
        base_minutes: 0,
        base_charged_fen: Fen::ZERO,
        start_ms: T0,
        end_ms: T0 + 1_000 * MINUTE_MS,
    }
}

fn setup(t: ChannelTerms, role: Role, peer: Option<String>, escrow_fen: i64) -> ChannelSetup {
    ChannelSetup {
        terms: t,
        role,
        peer,
        margin_minutes: 5,
        escrow_fen: fen(escrow_fen),
        settled_seq: 0,
        settled_cost_fen: Fen::ZERO,
        paused_since_ms: None,
        paused_total_ms: 0,
        closed: false,
        closing: false,
        stop_requested: false,
        policy: ServePolicy::default(),
        consumer_bond_fen: Fen::ZERO,
        challenge_window_ms: 0,
    }
}

async fn start(
    key: &SecretKey,
    dir: &std::path::Path,
    listen: bool,
    clock: &Arc<ManualClock>,
) -> Controller {
    Controller::start(
        ControllerConfig {
            key: key.clone(),
            data_dir: dir.to_path_buf(),
            listen: listen.then(|| "127.0.0.1:0".parse().unwrap()),
            skew_ms: 60_000,
        },
        clock.clone(),
    )
    .await
    .unwrap()
}

/// A supplier and a consumer controller sharing `channels` channels.
async fn pair(channels: u8, escrow_fen: i64) -> (Side, Side, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0 + 500 * MINUTE_MS));
    let (sk, ck) = (
        SecretKey::from_label("supplier"),
        SecretKey::from_label("consumer"),
    );
    let (sdir, cdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let consumer = start(&ck, cdir.path(), true, &clock).await;
    let supplier = start(&sk, sdir.path(), false, &clock).await;
    let addr = consumer.local_addr().unwrap().to_string();
    let ts: Vec<ChannelTerms> = (1..=channels).map(|n| terms(n, &sk, &ck)).collect();
    consumer
        .add_channels(
            ts.iter()
                .map(|t| setup(*t, Role::Consumer, None, escrow_fen))
                .collect(),
        )
        .await
        .unwrap();
    supplier
        .add_channels(
            ts.iter()
                .map(|t| setup(*t, Role::Supplier, Some(addr.clone()), escrow_fen))
                .collect(),
        )
        .await
        .unwrap();
    (
        Side {
            key: sk,
            dir: sdir,
            ctl: supplier,
        },
        Side {
            key: ck,
            dir: cdir,
            ctl: consumer,
        },
        clock,
    )
}

fn usage(minutes: u64) -> Usage {
    Usage {
        minutes,
        detail_sha256: [minutes as u8; 32],
    }
}

/// Proposes one update of channel `n` at `minutes` and waits for its answer.
async fn one(ctl: &Controller, n: u8, minutes: u64) -> Result<SignedState, ChannelError> {
    ctl.propose(vec![(serial(n), usage(minutes))])
        .await
        .pop()
        .unwrap_or(Err(ChannelError::Disconnected))
}

fn serial(n: u8) -> Serial {
    Serial::from_bytes([n; 16])
}

#[tokio::test]
async fn updates_are_dual_signed_and_stored_on_both_sides() {
    let (s, c, _clock) = pair(3, 1_000_000).await;
    for m in 1..=5u64 {
        let results = s
            .ctl
            .propose((1..=3).map(|n| (serial(n), usage(m * 2))).collect())
            .await;
        for r in results {
            let state = r.unwrap();
            assert_eq!(state.statement.seq, m);
            assert!(state.verify(&s.key.public(), &c.key.public()));
        }
    }
    for n in 1..=3 {
        let (a, b) = (
            s.ctl.latest(&serial(n)).unwrap(),
            c.ctl.latest(&serial(n)).unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(a.statement.minutes, 10);
        assert_eq!(a.statement.cost_fen.get(), 100);
    }
    // Cumulative minutes never decrease: the supplier's own side refuses it first.
    let r = s.ctl.propose(vec![(serial(1), usage(3))]).await;
    assert!(
        matches!(&r[0], Err(ChannelError::Rule(m)) if m.contains("never decrease")),
        "{r:?}"
    );
    // Minutes that have not passed yet are refused.
    let r = s.ctl.propose(vec![(serial(1), usage(600))]).await;
    assert!(
        matches!(&r[0], Err(ChannelError::Rule(m)) if m.contains("have passed")),
        "{r:?}"
    );
}

/// A raw connection to the consumer, speaking the wire protocol by hand.
async fn raw(
    c: &Side,
    key: &SecretKey,
    clock: &ManualClock,
) -> (
    tokio::net::tcp::OwnedReadHalf,
    tokio::net::tcp::OwnedWriteHalf,
) {
    use suanli_primitives::Clock;
    let stream = TcpStream::connect(c.ctl.local_addr().unwrap())
        .await
        .unwrap();
    let (mut r, mut w) = stream.into_split();
    wire::write_frame(&mut w, &wire::hello(key, clock.now_ms()))
        .await
        .unwrap();
    assert!(matches!(
        wire::read_frame(&mut r).await.unwrap(),
        Some(Message::Hello { .. })
    ));
    assert!(matches!(
        wire::read_frame(&mut r).await.unwrap(),
        Some(Message::Sync { .. })
    ));
    (r, w)
}

fn statement(n: u8, seq: u64, minutes: u64, cost_fen: i64) -> Statement {
    Statement {
        serial: serial(n),
        seq,
        minutes,
        cost_fen: fen(cost_fen),
        usage_sha256: [1; 32],
        close: None,
    }
}

#[tokio::test]
async fn forged_regressing_and_decreasing_statements_are_refused() {
    let (s, c, clock) = pair(1, 1_000_000).await;
    one(&s.ctl, 1, 10).await.unwrap();
    let before = c.ctl.latest(&serial(1)).unwrap();
    let (mut r, mut w) = raw(&c, &s.key, &clock).await;
    let forger = SecretKey::from_label("forger");
    let good_next = statement(1, 2, 11, 110);
    let proposals = vec![
        // Signed by another key.
        Proposal {
            statement: good_next,
            supplier_signature: good_next.sign(&forger),
        },
        // Sequence regression.
        Proposal {
            statement: statement(1, 1, 12, 120),
            supplier_signature: statement(1, 1, 12, 120).sign(&s.key),
        },
        // Cumulative cost decreasing (and so not the priced cost either).
        Proposal {
            statement: statement(1, 3, 10, 90),
            supplier_signature: statement(1, 3, 10, 90).sign(&s.key),
        },
        // Minutes decreasing.
        Proposal {
            statement: statement(1, 4, 9, 90),
            supplier_signature: statement(1, 4, 9, 90).sign(&s.key),
        },
        // Not the trade's price.
        Proposal {
            statement: statement(1, 5, 12, 999),
            supplier_signature: statement(1, 5, 12, 999).sign(&s.key),
        },
    ];
    wire::write_frame(&mut w, &Message::Propose { proposals })
        .await
        .unwrap();
    let Some(Message::Answer { answers }) = wire::read_frame(&mut r).await.unwrap() else {
        panic!("no answer");
    };
    let codes: Vec<String> = answers
        .iter()
        .map(|a| match a {
            Answer::Rejected { code, .. } => code.clone(),
            Answer::Countersigned { .. } => "countersigned".into(),
        })
        .collect();
    assert_eq!(
        codes,
        [
            "bad_signature",
            "seq_not_increasing",
            "cost_decreased",
            "minutes_decreased",
            "cost_mismatch"
        ]
    );
    assert_eq!(
        c.ctl.latest(&serial(1)).unwrap(),
        before,
        "nothing refused was stored"
    );
    // A stranger's key cannot even open a connection.
    let stream = TcpStream::connect(c.ctl.local_addr().unwrap())
        .await
        .unwrap();
    let (mut r2, mut w2) = stream.into_split();
    use suanli_primitives::Clock;
    wire::write_frame(&mut w2, &wire::hello(&forger, clock.now_ms()))
        .await
        .unwrap();
    assert!(
        wire::read_frame(&mut r2)
            .await
            .map(|m| m.is_none())
            .unwrap_or(true)
    );
}

#[tokio::test]
async fn either_side_crashes_mid_stream_and_resumes_with_nothing_lost() {
    let (s, c, clock) = pair(2, 1_000_000).await;
    for m in 1..=4u64 {
        for r in s
            .ctl
            .propose(vec![(serial(1), usage(m)), (serial(2), usage(m))])
            .await
        {
            r.unwrap();
        }
    }
    let acked = s.ctl.latest(&serial(1)).unwrap();
    // The consumer crashes: its process is gone, its store is what it committed.
    let Side {
        key: c_key,
        dir: c_dir,
        ctl: c_ctl,
    } = c;
    c_ctl.shutdown().await;
    drop(c_ctl);
    // A proposal while it is down fails without changing anything acknowledged.
    let down = s.ctl.propose(vec![(serial(1), usage(5))]).await;
    assert!(down[0].is_err());
    assert_eq!(s.ctl.latest(&serial(1)).unwrap(), acked);
    // It restarts from its store (on a new port: the supplier learns it from the DID
    // document's service entry in real life).
    let c2 = start(&c_key, c_dir.path(), true, &clock).await;
    assert_eq!(
        c2.latest(&serial(1)).unwrap(),
        acked,
        "the consumer kept every acknowledged state"
    );
    let addr = c2.local_addr().unwrap().to_string();
    let mut updated = Vec::new();
    for n in [1, 2] {
        let mut st = s.ctl.setup(&serial(n)).unwrap();
        st.peer = Some(addr.clone());
        updated.push(st);
    }
    s.ctl.add_channels(updated).await.unwrap();
    let next = one(&s.ctl, 1, 6).await.unwrap();
    assert!(next.statement.seq > acked.statement.seq);
    assert_eq!(c2.latest(&serial(1)).unwrap(), next);

    // The supplier crashes; it restarts from its store and goes on where it was.
    let Side {
        key: s_key,
        dir: s_dir,
        ctl: s_ctl,
    } = s;
    s_ctl.shutdown().await;
    drop(s_ctl);
    let s2 = start(&s_key, s_dir.path(), false, &clock).await;
    assert_eq!(s2.latest(&serial(1)).unwrap(), next);
    let after = s2
        .propose(vec![(serial(1), usage(7)), (serial(2), usage(7))])
        .await;
    for r in &after {
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(c2.latest(&serial(2)).unwrap(), *after[1].as_ref().unwrap());
}

#[tokio::test]
async fn a_supplier_that_lost_its_last_states_catches_up_from_the_consumer() {
    let (s, c, clock) = pair(1, 1_000_000).await;
    one(&s.ctl, 1, 1).await.unwrap();
    // A copy of the supplier's store taken now misses the next states.
    let snapshot = tempfile::tempdir().unwrap();
    let Side { key, dir, ctl } = s;
    ctl.shutdown().await;
    drop(ctl);
    std::fs::copy(
        dir.path()
            .join(suanli_channel_controller::store::STORE_FILE),
        snapshot
            .path()
            .join(suanli_channel_controller::store::STORE_FILE),
    )
    .unwrap();
    let s1 = start(&key, dir.path(), false, &clock).await;
    let latest = one(&s1, 1, 3).await.unwrap();
    s1.shutdown().await;
    drop(s1);
    // Restart from the old copy: the consumer's sync brings back the newer state, and the
    // next statement follows it.
    let s2 = start(&key, snapshot.path(), false, &clock).await;
    let next = one(&s2, 1, 4).await;
    let next = match next {
        Ok(n) => n,
        // The first proposal may race the sync; the second follows the adopted state.
        Err(_) => one(&s2, 1, 4).await.unwrap(),
    };
    assert!(
        next.statement.seq > latest.statement.seq,
        "{next:?} after {latest:?}"
    );
    assert_eq!(c.ctl.latest(&serial(1)).unwrap(), next);
}

#[tokio::test]
async fn low_funds_pause_the_channel_and_a_top_up_resumes_it() {
    // Escrow 200 fen, margin 5 minutes = 50 fen.
    let (s, c, _clock) = pair(1, 200).await;
    let ok = one(&s.ctl, 1, 15).await;
    assert_eq!(ok.unwrap().statement.cost_fen.get(), 150);
    assert!(s.ctl.setup(&serial(1)).unwrap().paused_since_ms.is_none());
    // 16 minutes leave 40 fen: the usage is signed, then metering pauses.
    let last = one(&s.ctl, 1, 16).await;
    assert_eq!(last.unwrap().statement.cost_fen.get(), 160);
    assert!(s.ctl.setup(&serial(1)).unwrap().paused_since_ms.is_some());
    // The consumer is told.
    wait_for(|| {
        c.ctl
            .notices()
            .iter()
            .any(|n| n.kind == NoticeKind::Paused && n.remaining_fen == 40)
    })
    .await;
    // Paused: nothing more is signed.
    let paused = one(&s.ctl, 1, 17).await;
    assert!(
        matches!(paused, Err(ChannelError::Paused { margin_fen: 50, .. })),
        "{paused:?}"
    );
    assert_eq!(
        c.ctl.latest(&serial(1)).unwrap().statement.cost_fen.get(),
        160
    );
    // The consumer tops up on the chain; the supplier sees it and resumes.
    s.ctl
        .update_from_chain(
            &serial(1),
            ChainView {
                open: true,
                escrow_fen: fen(1_000),
                settled_seq: 0,
                settled_cost_fen: Fen::ZERO,
                closing: None,
                consumer_bond_fen: Fen::ZERO,
                challenge_window_ms: 0,
            },
        )
        .await
        .unwrap();
    assert!(s.ctl.setup(&serial(1)).unwrap().paused_since_ms.is_none());
    wait_for(|| {
        c.ctl
            .notices()
            .iter()
            .any(|n| n.kind == NoticeKind::Resumed)
    })
    .await;
    let resumed = one(&s.ctl, 1, 17).await.unwrap();
    assert_eq!(resumed.statement.cost_fen.get(), 170);
}

#[tokio::test]
async fn usage_the_escrow_cannot_pay_is_not_signed() {
    let (s, _c, _clock) = pair(1, 100).await;
    let r = one(&s.ctl, 1, 20).await;
    assert!(
        matches!(
            r,
            Err(ChannelError::Paused {
                remaining_fen: -100,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(s.ctl.latest(&serial(1)).is_none());
}

async fn wait_for(mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("condition not reached");
}

/// A chain that records what is submitted and settles check-ins at once.
#[derive(Debug)]
struct FakeChain {
    escrow_fen: i64,
    bond_fen: Mutex<i64>,
    closing: Mutex<Option<ClosingView>>,
    settled: Mutex<(u64, i64, bool)>,
    ops: Mutex<Vec<ChannelOp>>,
}

impl FakeChain {
    /// A chain holding 1,000,000 fen of escrow, the consumer's bond `bond_fen`, and
    /// `closing` if a unilateral close is in progress.
    fn new(bond_fen: i64, closing: Option<ClosingView>) -> Arc<Self> {
        Arc::new(FakeChain {
            escrow_fen: 1_000_000,
            bond_fen: Mutex::new(bond_fen),
            closing: Mutex::new(closing),
            settled: Mutex::new((0, 0, false)),
            ops: Mutex::new(Vec::new()),
        })
    }
}

impl ChainPort for FakeChain {
    fn view(&self, _serial: &Serial) -> Result<ChainView, ChannelError> {
        let (seq, cost, closed) = *self.settled.lock();
        let closing = *self.closing.lock();
        Ok(ChainView {
            open: !closed && closing.is_none(),
            escrow_fen: fen(self.escrow_fen - cost),
            settled_seq: seq,
            settled_cost_fen: fen(cost),
            closing,
            consumer_bond_fen: fen(*self.bond_fen.lock()),
            challenge_window_ms: 600_000,
        })
    }
    fn submit(&self, op: &ChannelOp) -> Result<(), ChannelError> {
        match op {
            ChannelOp::Checkin { state, .. } => {
                *self.settled.lock() = (state.statement.seq, state.statement.cost_fen.get(), false);
            }
            ChannelOp::CoopClose { state, .. } => {
                *self.settled.lock() = (state.statement.seq, state.statement.cost_fen.get(), true);
            }
            ChannelOp::Challenge { state, .. } => {
                if let Some(c) = self.closing.lock().as_mut() {
                    c.posted_seq = state.statement.seq;
                }
            }
            ChannelOp::Settle { .. } => {
                *self.closing.lock() = None;
                self.settled.lock().2 = true;
            }
            _ => {}
        }
        self.ops.lock().push(op.clone());
        Ok(())
    }
}

#[tokio::test]
async fn the_schedule_meters_checks_in_and_closes_on_request() {
    let (s, c, clock) = pair(1, 1_000_000).await;
    let chain = FakeChain::new(0, None);
    // Minute 0 of the channel is T0 and the clock is at T0 + 500 min: the service meter
    // bills 500 minutes.
    let report = s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    assert_eq!((report.proposed, report.submitted), (1, 1), "{report:?}");
    let latest = s.ctl.latest(&serial(1)).unwrap();
    assert_eq!(latest.statement.minutes, 500);
    assert!(matches!(&chain.ops.lock()[0], ChannelOp::Checkin { state, .. } if *state == latest));
    // Nothing new: nothing proposed or submitted.
    let idle = s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    assert_eq!((idle.proposed, idle.submitted), (0, 0), "{idle:?}");
    // The consumer asks to stop; the stop reaches the supplier with the next answer.
    c.ctl.request_stop(&serial(1)).await.unwrap();
    clock.advance_ms(MINUTE_MS as i64);
    s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    wait_for(|| s.ctl.stop_requested(&serial(1))).await;
    let last = s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    assert_eq!(last.finals, 1, "{last:?}");
    let ops = chain.ops.lock().clone();
    assert!(
        matches!(ops.last(), Some(ChannelOp::CoopClose { state, .. })
            if state.statement.close == Some(suanli_trade::CloseReason::StoppedByConsumer)),
        "{ops:?}"
    );
    assert_eq!(
        c.ctl.latest(&serial(1)).unwrap().statement.close,
        Some(suanli_trade::CloseReason::StoppedByConsumer)
    );
}

#[tokio::test]
async fn a_stale_unilateral_close_is_challenged_and_then_settled() {
    let (s, _c, clock) = pair(1, 1_000_000).await;
    for m in 1..=3 {
        one(&s.ctl, 1, m).await.unwrap();
    }
    let latest = s.ctl.latest(&serial(1)).unwrap();
    // The consumer force-closed posting state 1 of 3; the window runs ten minutes.
    let now = T0 + 500 * MINUTE_MS;
    let chain = FakeChain::new(
        0,
        Some(ClosingView {
            posted_seq: 1,
            deadline_ms: now + 10 * MINUTE_MS,
        }),
    );
    let report = s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    assert_eq!(report.proposed, 0, "no metering while closing: {report:?}");
    assert!(
        matches!(chain.ops.lock().as_slice(), [ChannelOp::Challenge { state, .. }] if *state == latest),
        "{:?}",
        chain.ops.lock()
    );
    // Nothing more to do inside the window; after it, the controller settles.
    s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    assert_eq!(chain.ops.lock().len(), 1);
    clock.advance_ms(10 * MINUTE_MS as i64);
    s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    assert!(matches!(
        chain.ops.lock().last(),
        Some(ChannelOp::Settle { .. })
    ));
    // The next round reads the chain's view: the channel is closed and nothing more is done.
    s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    assert!(s.ctl.setup(&serial(1)).unwrap().closed);
    assert_eq!(chain.ops.lock().len(), 2);
}

#[tokio::test]
async fn a_countersignature_by_another_consumer_is_not_taken() {
    // The supplier S keeps channel 1 with consumer C and channel 2 with consumer X. C's
    // endpoint leads to X's controller, which answers channel 1 with its own key.
    let clock = Arc::new(ManualClock::new(T0 + 500 * MINUTE_MS));
    let (sk, ck, xk) = (
        SecretKey::from_label("supplier"),
        SecretKey::from_label("consumer"),
        SecretKey::from_label("rogue"),
    );
    let (sdir, xdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let rogue = start(&xk, xdir.path(), true, &clock).await;
    let supplier = start(&sk, sdir.path(), false, &clock).await;
    let addr = rogue.local_addr().unwrap().to_string();
    rogue
        .add_channels(vec![
            setup(terms(1, &sk, &xk), Role::Consumer, None, 1_000_000),
            setup(terms(2, &sk, &xk), Role::Consumer, None, 1_000_000),
        ])
        .await
        .unwrap();
    supplier
        .add_channels(vec![
            setup(
                terms(1, &sk, &ck),
                Role::Supplier,
                Some(addr.clone()),
                1_000_000,
            ),
            setup(terms(2, &sk, &xk), Role::Supplier, Some(addr), 1_000_000),
        ])
        .await
        .unwrap();
    let r = supplier
        .propose(vec![(serial(1), usage(1)), (serial(2), usage(1))])
        .await;
    assert!(
        matches!(&r[0], Err(ChannelError::Rejected { code, .. }) if code == "bad_countersignature"),
        "{r:?}"
    );
    assert!(r[1].is_ok(), "{r:?}");
    assert!(
        supplier.latest(&serial(1)).is_none(),
        "nothing stored for channel 1"
    );
}

#[tokio::test]
async fn nothing_follows_an_agreed_final_state() {
    let (s, c, _clock) = pair(1, 1_000_000).await;
    one(&s.ctl, 1, 1).await.unwrap();
    s.ctl
        .propose_final(
            serial(1),
            usage(2),
            suanli_trade::CloseReason::SupplierFault,
        )
        .await
        .unwrap();
    // A supplier that tries to go on after the final state is refused by the consumer.
    let (mut r, mut w) = raw(&c, &s.key, &_clock).await;
    let next = statement(1, 3, 3, 50.max(3 * RATE));
    wire::write_frame(
        &mut w,
        &Message::Propose {
            proposals: vec![Proposal {
                statement: next,
                supplier_signature: next.sign(&s.key),
            }],
        },
    )
    .await
    .unwrap();
    let Some(Message::Answer { answers }) = wire::read_frame(&mut r).await.unwrap() else {
        panic!("no answer");
    };
    assert!(
        matches!(&answers[0], Answer::Rejected { code, .. } if code == "channel_final"),
        "{answers:?}"
    );
    // An out-of-funds final state is refused while the escrow still covers the margin.
    let (s2, _c2, _clock2) = pair(1, 1_000_000).await;
    let r = s2
        .ctl
        .propose_final(serial(1), usage(1), suanli_trade::CloseReason::OutOfFunds)
        .await;
    assert!(
        matches!(&r, Err(ChannelError::Rejected { code, .. }) if code == "escrow_still_covers"),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_party_closing_countersigns_nothing_more_and_a_stop_request_survives_a_restart() {
    let (s, c, clock) = pair(2, 1_000_000).await;
    s.ctl
        .propose(vec![(serial(1), usage(1)), (serial(2), usage(1))])
        .await;
    // The consumer marks channel 1 closing (as `suanli channel force-close` does).
    let mut closing = c.ctl.setup(&serial(1)).unwrap();
    closing.closing = true;
    c.ctl.add_channels(vec![closing]).await.unwrap();
    let r = one(&s.ctl, 1, 2).await;
    assert!(
        matches!(&r, Err(ChannelError::Rejected { code, .. }) if code == "channel_closing"),
        "{r:?}"
    );
    // A stop request is kept durably: after a restart the consumer still agrees.
    c.ctl.request_stop(&serial(2)).await.unwrap();
    let Side { key, dir, ctl } = c;
    ctl.shutdown().await;
    drop(ctl);
    let c2 = start(&key, dir.path(), true, &clock).await;
    let mut moved = s.ctl.setup(&serial(2)).unwrap();
    moved.peer = Some(c2.local_addr().unwrap().to_string());
    s.ctl.add_channels(vec![moved]).await.unwrap();
    let fin = s
        .ctl
        .propose_final(
            serial(2),
            usage(2),
            suanli_trade::CloseReason::StoppedByConsumer,
        )
        .await;
    assert!(fin.is_ok(), "{fin:?}");
}

#[tokio::test]
async fn a_supplier_serves_only_channels_that_meet_its_policy() {
    let (s, _c, _clock) = pair(1, 1_000_000).await;
    let mut strict = s.ctl.setup(&serial(1)).unwrap();
    strict.policy = ServePolicy {
        consumer_bond_min_fen: fen(500),
        challenge_window_min_ms: 300_000,
    };
    s.ctl.add_channels(vec![strict]).await.unwrap();
    let chain = FakeChain::new(100, None);
    let refused = s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    assert_eq!(refused.proposed, 0);
    assert!(
        refused.errors.iter().any(|e| e.contains("not served")),
        "{refused:?}"
    );
    assert!(s.ctl.latest(&serial(1)).is_none());
    *chain.bond_fen.lock() = 500;
    let served = s.ctl.tick(&ServiceTimeMeter, chain.clone()).await.unwrap();
    assert_eq!(served.proposed, 1, "{served:?}");
}
