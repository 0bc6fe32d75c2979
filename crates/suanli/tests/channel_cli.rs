//! The channel CLI end to end against a running `suanli node`, with two controller
//! processes: the consumer publishes its channel endpoint as a `SuanliChannel` service in
//! its DID document; the supplier's controller finds it there, the two exchange a
//! dual-signed statement, the supplier checks it in; the consumer force-closes with the
//! latest state it holds, and settlement waits for the challenge window.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use suanli_primitives::SecretKey;

mod common;

use common::{
    credit, json_out, kyc_party, kyc_supplier, mint, mode_and_offer, suanli, trade_world,
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn channel_flow_from_the_command_line() {
    let w = trade_world();
    let (dir, data, url, cli) = (&w.dir, &w.data, w.url.clone(), &w.cli);
    let (s_key, _) = kyc_supplier(cli, "supplier", "黔算科技有限公司");
    let (c_key, consumer) = kyc_party(
        cli,
        "consumer",
        "consumer",
        &json!({"name": "王五", "idType": "resident-id-card"}),
    );
    let operator = SecretKey::load(&data.join("operator.key")).unwrap();
    let c_path = dir.path().join(&c_key).to_string_lossy().into_owned();
    let s_path = dir.path().join(&s_key).to_string_lossy().into_owned();
    mint(&url, &operator, &c_path, 10_000);
    mint(&url, &operator, &s_path, 1_000);
    let offer_id = mode_and_offer(cli, &s_key, ("10", "100", "gpu=1000"), ("H800 x1", "1"));
    let order = json_out(&cli.ok(&[
        "trade",
        "order",
        "--key",
        &c_key,
        "--offer",
        &offer_id,
        "--minutes",
        "120",
        "--value-fen",
        "1000",
    ]));
    let serial = order["serial"].as_str().unwrap().to_owned();

    // Before the contract there is no channel to open.
    let refused = cli.fails(&["channel", "open", "--key", &c_key, "--serial", &serial]);
    assert!(refused.contains("not_contracted"), "{refused}");
    cli.ok(&["trade", "accept", "--key", &s_key, "--serial", &serial]);
    // Bad input is refused before anything is sent.
    let refused = cli.fails(&[
        "channel",
        "open",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--challenge-window-ms",
        "5",
    ]);
    assert!(refused.contains("challenge_window_ms"), "{refused}");
    // Only the consumer opens.
    let refused = cli.fails(&["channel", "open", "--key", &s_key, "--serial", &serial]);
    assert!(refused.contains("not_consumer"), "{refused}");
    cli.ok(&[
        "channel",
        "open",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--bond-fen",
        "300",
        "--challenge-window-ms",
        "300000",
    ]);
    cli.ok(&[
        "channel",
        "bond",
        "--key",
        &s_key,
        "--serial",
        &serial,
        "--amount-fen",
        "200",
    ]);
    assert_eq!(credit(&url, &c_path), 10_000 - 1_000 - 300);
    // The trade's own check-ins are refused now.
    let refused = cli.fails(&["trade", "checkin", "--key", &s_key, "--serial", &serial]);
    assert!(!refused.is_empty());

    // The consumer publishes its endpoint in its DID document.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let endpoint = format!("tcp://{listen}");
    cli.ok(&[
        "did",
        "update",
        "--did",
        &consumer,
        "--key",
        &c_key,
        "set-service",
        "--fragment",
        "channel",
        "--type",
        "SuanliChannel",
        "--endpoint",
        &endpoint,
    ]);
    // The supplier's side finds the endpoint there.
    cli.ok(&[
        "channel",
        "attach",
        "--key",
        &s_key,
        "--serial",
        &serial,
        "--data-dir",
        "s-ctl",
    ]);
    cli.ok(&[
        "channel",
        "attach",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--data-dir",
        "c-ctl",
    ]);
    // A key that is not a party cannot attach.
    let stranger = cli.key("stranger");
    let refused = cli.fails(&[
        "channel",
        "attach",
        "--key",
        &stranger,
        "--serial",
        &serial,
        "--data-dir",
        "x-ctl",
    ]);
    assert!(!refused.is_empty());

    // The consumer's controller runs in the background; the supplier's runs one round.
    let mut consumer_ctl = suanli()
        .args([
            "channel",
            "run",
            "--key",
            &c_key,
            "--data-dir",
            "c-ctl",
            "--listen",
            &listen,
            "--interval-ms",
            "200",
            "--rounds",
            "150",
        ])
        .env("SUANLI_NODE", &url)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let round = loop {
        let out = cli.run(&[
            "channel",
            "run",
            "--key",
            &s_key,
            "--data-dir",
            "s-ctl",
            "--rounds",
            "1",
        ]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("proposed 1") || started.elapsed() > Duration::from_secs(20) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        round.contains("proposed 1") && round.contains("submitted 1"),
        "{round}"
    );
    let shown = json_out(&cli.ok(&[
        "channel",
        "show",
        "--key",
        &s_key,
        "--serial",
        &serial,
        "--data-dir",
        "s-ctl",
    ]));
    assert_eq!(shown["chain"]["status"], "open");
    assert_eq!(shown["chain"]["settled"]["seq"], 1, "{shown}");
    assert_eq!(shown["store_latest"]["statement"]["seq"], 1, "{shown}");
    // The consumer's store holds the same dual-signed state.
    let _ = consumer_ctl.kill();
    let _ = consumer_ctl.wait();
    let mine = json_out(&cli.ok(&[
        "channel",
        "show",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--data-dir",
        "c-ctl",
    ]));
    assert_eq!(mine["store_latest"], shown["store_latest"]);
    // Another party's read is refused.
    let refused = cli.fails(&["channel", "show", "--key", &stranger, "--serial", &serial]);
    assert!(!refused.is_empty());

    // The consumer closes unilaterally; settlement waits for the window.
    cli.ok(&[
        "channel",
        "force-close",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--data-dir",
        "c-ctl",
        "--reason",
        "stopped-by-consumer",
    ]);
    let refused = cli.fails(&[
        "channel",
        "top-up",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--amount-fen",
        "5",
    ]);
    assert!(refused.contains("channel_closing"), "{refused}");
    // Settlement waits for the five-minute window (its end is tested in the trade crate on
    // an injected clock).
    let early = cli.fails(&["channel", "settle", "--key", &s_key, "--serial", &serial]);
    assert!(early.contains("window_open"), "{early}");
    let closing = json_out(&cli.ok(&["channel", "show", "--key", &c_key, "--serial", &serial]));
    assert_eq!(closing["chain"]["status"], "closing");
    assert_eq!(closing["chain"]["closing"]["posted"]["seq"], 1, "{closing}");
    // The bonds are still held; the escrow still holds the deposit.
    assert_eq!(credit(&url, &c_path), 10_000 - 1_000 - 300);
    assert_eq!(credit(&url, &s_path), 1_000 - 200);
}
