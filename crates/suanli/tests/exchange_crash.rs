//! The exchange survives `kill -9` (issue 18, `docs/exchange.md`): the real `suanli serve`
//! (embedded node, SQLite, a temporary data directory) is killed with SIGKILL in the
//! middle of pre-signed orders arriving over HTTP and of check-ins the exchange worker has
//! yet to follow, then started again on the same data. Afterwards every acknowledged order
//! (201, 202 or a replay) has its trade on the chain, every order sent again under its
//! `Idempotency-Key` is answered without a second escrow, and `suanli ops reconcile --data
//! DIR --json` finds every check-in billed once (`checkins` = `checkins_billed`), no order
//! still `placing`, and the journal equal to the chain (`journal_minus_chain_fen` 0, no
//! difference). The metering uses the chain's real clock, so the test waits one minute for
//! the first whole minute to check in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use suanli_bench::exchange_world::{self, ExchangeWorld};
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::http::HttpLedger;
use suanli_primitives::{Clock, SystemClock};
use suanli_trade::Serial;

/// Orders placed before the crash and accepted (then checked in).
const METERED: usize = 4;
/// Orders sent while the server is killed.
const IN_FLIGHT: usize = 12;
/// Longest wait for the server to answer after a start, or for the worker to follow.
const WAIT: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
    node: String,
}

fn serve(data: &Path, config: &Path, ports: (u16, u16, u16)) -> Server {
    let (api, node, channel) = ports;
    let child = common::suanli()
        .args(["serve", "--data"])
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{api}")])
        .args(["--node-listen", &format!("127.0.0.1:{node}")])
        .args(["--channel-listen", &format!("127.0.0.1:{channel}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = Server {
        child,
        base: format!("http://127.0.0.1:{api}"),
        node: format!("http://127.0.0.1:{node}"),
    };
    let until = Instant::now() + WAIT;
    loop {
        let up = ureq::get(&format!("{}/api/v1/health", s.base))
            .call()
            .is_ok()
            && ureq::get(&format!("{}/v1/chains/trade/head", s.node))
                .call()
                .is_ok();
        if up {
            return s;
        }
        assert!(Instant::now() < until, "suanli serve did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Posts a pre-signed order; the status and body (0 when the server did not answer).
fn place(buyer: &suanli_webtest::harness::Client, key: &str, tx: &str) -> (u16, Value) {
    match buyer.api_post("/api/v1/trades/presigned", &json!({ "tx": tx }), Some(key)) {
        Ok(a) => (a.status, a.json()),
        Err(_) => (0, Value::Null),
    }
}

fn acknowledged(status: u16) -> bool {
    matches!(status, 200..=202)
}

/// Waits until `f` holds (the worker follows on its own timer).
fn until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < end, "{what}: not reached in {WAIT:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn status(ledger: &dyn LedgerClient, serial: &Serial) -> Option<String> {
    ExchangeWorld::status(ledger, serial).ok().flatten()
}

#[test]
fn kill_9_in_the_middle_of_orders_and_metering_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("platform");
    std::fs::create_dir_all(&data).unwrap();
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        "[argon2]\nmemory_kib = 64\niterations = 1\nparallelism = 1\n\n[money]\nsandbox_payments = true\n",
    )
    .unwrap();
    let ports = (free_port(), free_port(), free_port());
    let mut server = serve(&data, &config, ports);
    let admin_pw =
        std::fs::read_to_string(data.join(suanli_platform_http::BOOTSTRAP_PASSWORD_FILE)).unwrap();
    let ledger = HttpLedger::new(&server.node, None);
    let mut world = exchange_world::build(
        &server.base,
        admin_pw.trim(),
        &ledger,
        &data,
        100,
        1,
        100_000,
    )
    .unwrap();

    // Before the crash: orders placed and accepted by the supplier's key; one minute on
    // they are checked in.
    let serials: Vec<Serial> = (0..METERED + IN_FLIGHT)
        .map(|i| {
            let mut b = [0u8; 16];
            b[0] = 0xc0;
            b[15] = u8::try_from(i).unwrap();
            Serial::from_bytes(b)
        })
        .collect();
    let orders = world
        .sign_orders(&ledger, 0, &serials, 5, SystemClock.now_ms())
        .unwrap();
    let mut acked = Vec::new();
    for (i, (serial, tx)) in orders.iter().take(METERED).enumerate() {
        let (s, v) = place(&world.buyers[0].client, &format!("k-{i}"), tx);
        assert_eq!(s, 201, "{v}");
        acked.push(*serial);
        suanli_ledger_client::supply::accept_order(
            &ledger,
            &world.supplier_key,
            "key-1",
            serial,
            SystemClock.now_ms(),
        )
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(61_000));
    for serial in &acked {
        suanli_ledger_client::supply::checkin_trade(
            &ledger,
            &world.supplier_key,
            "key-1",
            serial,
            SystemClock.now_ms(),
        )
        .unwrap();
    }

    // The crash: orders arrive from another thread while the check-ins are still to be
    // followed; the server is killed after the first few answers.
    let answered: Arc<Mutex<Vec<(usize, u16)>>> = Arc::default();
    let sender = {
        let (answered, base) = (Arc::clone(&answered), server.base.clone());
        let mut buyer = suanli_webtest::harness::Client::new(&base);
        buyer
            .login(&world.buyers[0].login, exchange_world::BUYER_PASSWORD)
            .unwrap();
        let in_flight: Vec<(usize, String)> = orders
            .iter()
            .enumerate()
            .skip(METERED)
            .map(|(i, (_, tx))| (i, tx.clone()))
            .collect();
        std::thread::spawn(move || {
            for (i, tx) in in_flight {
                let (s, _) = place(&buyer, &format!("k-{i}"), &tx);
                answered.lock().unwrap().push((i, s));
            }
        })
    };
    until("a few orders answered", || {
        answered.lock().unwrap().len() >= 3
    });
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    sender.join().unwrap();

    // Restarted on the same data: every order sent again under its key.
    let mut server = serve(&data, &config, ports);
    let login = world.buyers[0].login.clone();
    world.buyers[0]
        .client
        .login(&login, exchange_world::BUYER_PASSWORD)
        .unwrap();
    let before: Vec<(usize, u16)> = answered.lock().unwrap().clone();
    for (i, (serial, tx)) in orders.iter().enumerate().skip(METERED) {
        let (s, v) = place(&world.buyers[0].client, &format!("k-{i}"), tx);
        assert!(acknowledged(s), "order {i} after the restart: {s} {v}");
        let first = before.iter().find(|(j, _)| *j == i).map(|(_, s)| *s);
        if first.is_some_and(acknowledged) {
            assert_eq!(v["replayed"], true, "acknowledged before the crash: {v}");
        }
        acked.push(*serial);
    }
    let ledger = HttpLedger::new(&server.node, None);
    for serial in &acked {
        until("the acknowledged order on the chain", || {
            status(&ledger, serial).is_some()
        });
    }
    // The worker follows the check-ins made before the crash, once each.
    until("the check-ins billed", || {
        let list = world.buyers[0]
            .client
            .get("/api/v1/trades?limit=100")
            .unwrap()
            .json();
        list["items"].as_array().is_some_and(|items| {
            items.len() == acked.len()
                && items
                    .iter()
                    .filter(|t| t["checkins"].as_u64() == Some(1))
                    .count()
                    == METERED
        })
    });
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    // The books, offline.
    let out = common::suanli()
        .args(["ops", "reconcile", "--json", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(text.trim()).unwrap();
    let n = u64::try_from(acked.len()).unwrap();
    assert_eq!(r["orders"], n, "{r}");
    assert_eq!(r["orders_on_chain"], n, "{r}");
    assert_eq!(r["placing"], 0, "{r}");
    assert_eq!(r["checkins"], u64::try_from(METERED).unwrap(), "{r}");
    assert_eq!(r["checkins_billed"], r["checkins"], "{r}");
    assert_eq!(r["journal_minus_chain_fen"], 0, "{r}");
    assert_eq!(r["differences"], json!([]), "{r}");
    assert_eq!(r["mirror_failed"], 0, "{r}");
}
