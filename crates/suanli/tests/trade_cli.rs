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

/// `docs/trade.md` §1.1 and §2.1 from the command line: a supplier registers its own
/// trade-start CPT and names it in a mode, delegates a key to its agent, the agent accepts
/// an order, and after the revocation the agent's acceptance is refused.
#[test]
fn own_cpts_and_agent_keys_from_the_command_line() {
    let w = trade_world();
    let (dir, data, url, cli) = (&w.dir, &w.data, w.url.clone(), &w.cli);
    let (s_key, supplier) = kyc_supplier(cli, "supplier", "闽算科技有限公司");
    let consumer_claims = json!({"name": "王五", "idType": "resident-id-card"});
    let (c_key, _) = kyc_party(cli, "consumer", "consumer", &consumer_claims);
    let mut schema = suanli_vc::cpt::builtin_templates()[0].1.clone();
    schema["title"] = json!("闽算 trade-start");
    let schema_file = cli.write("start-cpt.json", &schema);
    // A check-in template cannot stand in for a trade-start one.
    let refused = cli.fails(&[
        "trade",
        "cpt",
        "--key",
        &s_key,
        "--purpose",
        "checkin",
        "--schema",
        &schema_file,
    ]);
    assert!(refused.contains("cpt_incompatible"), "{refused}");
    let cpt = json_out(&cli.ok(&[
        "trade",
        "cpt",
        "--key",
        &s_key,
        "--purpose",
        "trade-start",
        "--schema",
        &schema_file,
    ]));
    let cpt_id = cpt["cpt"].to_string();
    let mode = json_out(&cli.ok(&[
        "trade",
        "mode",
        "--key",
        &s_key,
        "--price-fen-per-minute",
        "10",
        "--weights",
        "gpu=1000",
        "--start-cpt",
        &cpt_id,
    ]));
    let offer = json_out(&cli.ok(&[
        "trade",
        "offer",
        "--key",
        &s_key,
        "--mode",
        &mode["mode_id"].to_string(),
        "--spec",
        "H800 x8",
        "--quantity",
        "2",
    ]));
    let offer_id = offer["offer_id"].to_string();
    let operator = SecretKey::load(&data.join("operator.key")).unwrap();
    mint(
        &url,
        &operator,
        &dir.path().join(&c_key).to_string_lossy(),
        10_000,
    );
    let order = |cli: &common::Cli| {
        let out = json_out(&cli.ok(&[
            "trade",
            "order",
            "--key",
            &c_key,
            "--offer",
            &offer_id,
            "--minutes",
            "60",
            "--value-fen",
            "600",
        ]));
        out["serial"].as_str().unwrap().to_owned()
    };

    let agent_key = cli.key("agent");
    let agent = SecretKey::load(&dir.path().join(&agent_key))
        .unwrap()
        .public()
        .to_hex();
    let proof = cli
        .ok(&[
            "agent",
            "proof",
            "--key",
            &agent_key,
            "--supplier",
            &supplier,
            "--fragment",
            "agent-1",
        ])
        .trim()
        .to_owned();
    cli.ok(&[
        "trade",
        "agent-authorise",
        "--key",
        &s_key,
        "--agent",
        &agent,
        "--proof",
        &proof,
        "--fragment",
        "agent-1",
    ]);
    let first = order(cli);
    cli.ok(&[
        "trade", "accept", "--key", &agent_key, "--serial", &first, "--method", "agent-1",
    ]);
    cli.ok(&["trade", "agent-revoke", "--key", &s_key, "--agent", &agent]);
    let second = order(cli);
    let refused = cli.fails(&[
        "trade", "accept", "--key", &agent_key, "--serial", &second, "--method", "agent-1",
    ]);
    assert!(refused.contains("agent_key_revoked"), "{refused}");
    cli.ok(&["trade", "accept", "--key", &s_key, "--serial", &second]);
}
