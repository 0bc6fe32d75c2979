//! The trade CLI end to end against a running `suanli node`: KYC'd parties enrolled by the
//! operator, a mode and an offer, an order with escrow, the contract, top-up, close,
//! rating, history and reputation — and the refusals a user meets, with their reasons.
//! (Check-ins need whole minutes of wall-clock time; their rules are tested in the trade
//! crate and walked by `suanli demo`. Here the CLI's refusal before a minute has passed
//! is checked.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use suanli_primitives::SecretKey;

mod common;

use common::{credit, json_out, kyc_party, kyc_supplier, mint, mode_and_offer, trade_world};

#[test]
fn trade_flow_from_the_command_line() {
    let w = trade_world();
    let (dir, data, url, cli) = (&w.dir, &w.data, w.url.clone(), &w.cli);
    let (s_key, supplier) = kyc_supplier(cli, "supplier", "闽算科技有限公司");
    let consumer_claims = json!({"name": "王五", "idType": "resident-id-card"});
    let (c_key, consumer) = kyc_party(cli, "consumer", "consumer", &consumer_claims);

    // A supplier is enrolled only on a kyc-supplier credential about itself.
    let refused = cli.fails(&[
        "trade",
        "enroll",
        "--operator-key",
        "authority.key",
        "--did",
        &consumer,
        "--role",
        "supplier",
        "--kyc",
        "consumer-kyc.json",
    ]);
    assert!(refused.contains("kyc-supplier"), "{refused}");
    let refused = cli.fails(&[
        "trade",
        "enroll",
        "--operator-key",
        "authority.key",
        "--did",
        &supplier,
        "--role",
        "consumer",
        "--kyc",
        "consumer-kyc.json",
    ]);
    assert!(refused.contains("is about"), "{refused}");
    // Only the operator enrols.
    let refused = cli.fails(&[
        "trade",
        "enroll",
        "--operator-key",
        &s_key,
        "--did",
        &supplier,
        "--role",
        "supplier",
        "--kyc",
        "supplier-kyc.json",
    ]);
    assert!(refused.contains("not_operator"), "{refused}");

    // Mode and offer; bad weights are refused before anything is sent.
    let refused = cli.fails(&[
        "trade",
        "mode",
        "--key",
        &s_key,
        "--price-fen-per-minute",
        "10",
        "--weights",
        "cpu=500,gpu=400",
    ]);
    assert!(refused.contains("sum to 1000"), "{refused}");
    let offer_id = mode_and_offer(
        cli,
        &s_key,
        ("10", "500", "cpu=300,gpu=500,network=200"),
        ("A100-80G x1", "2"),
    );
    let listed = cli.ok(&["trade", "offers"]);
    assert!(listed.contains("A100-80G x1"), "{listed}");
    // A consumer cannot publish a mode.
    let refused = cli.fails(&[
        "trade",
        "mode",
        "--key",
        &c_key,
        "--price-fen-per-minute",
        "10",
        "--weights",
        "cpu=1000",
    ]);
    assert!(refused.contains("role_missing"), "{refused}");

    // Order: without credits the escrow cannot be taken.
    let refused = cli.fails(&[
        "trade",
        "order",
        "--key",
        &c_key,
        "--offer",
        &offer_id,
        "--minutes",
        "120",
        "--value-fen",
        "600",
    ]);
    assert!(refused.contains("insufficient_balance"), "{refused}");
    let operator = SecretKey::load(&data.join("operator.key")).unwrap();
    mint(
        &url,
        &operator,
        &dir.path().join(&c_key).to_string_lossy(),
        10_000,
    );
    let refused = cli.fails(&[
        "trade",
        "order",
        "--key",
        &c_key,
        "--offer",
        &offer_id,
        "--minutes",
        "120",
        "--value-fen",
        "599",
    ]);
    assert!(refused.contains("escrow_below_first_period"), "{refused}");
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
        "600",
    ]));
    let serial = order["serial"].as_str().unwrap().to_owned();
    let c_path = dir.path().join(&c_key).to_string_lossy().into_owned();
    assert_eq!(credit(&url, &c_path), 9_400);

    // Only the offering supplier contracts.
    let refused = cli.fails(&["trade", "accept", "--key", &c_key, "--serial", &serial]);
    assert!(refused.contains("not_supplier"), "{refused}");
    cli.ok(&["trade", "accept", "--key", &s_key, "--serial", &serial]);
    let refused = cli.fails(&["trade", "checkin", "--key", &s_key, "--serial", &serial]);
    assert!(refused.contains("no whole minute"), "{refused}");
    cli.ok(&[
        "trade",
        "fund",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--amount-fen",
        "400",
    ]);

    // The public view hides the consumer and the money; the parties see everything.
    let public = json_out(&cli.ok(&["trade", "show", "--serial", &serial]));
    assert_eq!(public["status"], "active");
    assert!(public.get("consumer").is_none() && !public.to_string().contains(&consumer));
    let full = json_out(&cli.ok(&["trade", "show", "--serial", &serial, "--key", &c_key]));
    assert_eq!(full["trade"]["consumer"], consumer.as_str());
    assert_eq!(full["trade"]["funded_fen"], 1_000);
    assert_eq!(full["records_total"], 3);

    // A rating before the close is refused; the consumer stops; the minimum charge applies.
    let refused = cli.fails(&[
        "trade",
        "rate",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--scores",
        "cpu=90,gpu=80,network=70",
    ]);
    assert!(refused.contains("not_closed"), "{refused}");
    let closed = json_out(&cli.ok(&[
        "trade",
        "close",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--reason",
        "stopped-by-consumer",
    ]));
    assert_eq!(closed["closure"]["tail_cost_fen"], 500);
    assert_eq!(closed["closure"]["refund_fen"], 500);
    assert_eq!(credit(&url, &c_path), 9_500);
    let refused = cli.fails(&[
        "trade",
        "rate",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--scores",
        "cpu=90,gpu=80",
    ]);
    assert!(refused.contains("network"), "{refused}");
    let rated = json_out(&cli.ok(&[
        "trade",
        "rate",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--scores",
        "cpu=90,gpu=80,network=70",
    ]));
    assert_eq!(rated["overall"], 81.0);
    let refused = cli.fails(&[
        "trade",
        "rate",
        "--key",
        &c_key,
        "--serial",
        &serial,
        "--scores",
        "cpu=90,gpu=80,network=70",
    ]);
    assert!(refused.contains("already_rated"), "{refused}");

    // History for the party itself; reputation for everyone.
    let history = json_out(&cli.ok(&["trade", "history", "--key", &c_key]));
    assert_eq!(history["total"], 1);
    assert_eq!(history["trades"][0]["serial"], serial.as_str());
    let refused = cli.fails(&["trade", "history", "--key", &s_key, "--did", &consumer]);
    assert!(
        refused.contains("only the trade's parties and regulators"),
        "{refused}"
    );
    let rep = json_out(&cli.ok(&["trade", "reputation", "--did", &supplier]));
    assert_eq!(rep["reputation"]["ratings"], 1);
    assert_eq!(rep["reputation"]["overall"], 81.0);
}
