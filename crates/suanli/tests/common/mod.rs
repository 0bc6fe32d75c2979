//! Shared harness of the binary's end-to-end tests: the built `suanli` and a node
//! started on an OS-chosen port.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};
use suanli_ledger::credit::{CreditOp, PositiveFen};
use suanli_ledger::{Payload, Transaction};
use suanli_primitives::{ChainId, SecretKey};

pub fn suanli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_suanli"))
}

/// Starts a node on an OS-chosen port and returns it with its base URL.
pub fn start_node_child(data: &Path) -> (Child, String) {
    let mut child = suanli()
        .args([
            "node",
            "--listen",
            "127.0.0.1:0",
            "--block-interval-ms",
            "3",
            "--data",
        ])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

/// Kills the node when dropped.
pub struct NodeGuard(Child);
impl Drop for NodeGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// [`start_node_child`] with a guard that stops the node at the end of the test.
pub fn start_node(data: &Path) -> (NodeGuard, String) {
    let (child, url) = start_node_child(data);
    (NodeGuard(child), url)
}

/// Runs `suanli` against one node from one working directory.
pub struct Cli {
    pub url: String,
    pub dir: std::path::PathBuf,
}

impl Cli {
    pub fn run(&self, args: &[&str]) -> Output {
        suanli()
            .args(args)
            .env("SUANLI_NODE", &self.url)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "suanli {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail and returns stdout + stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "suanli {args:?} should fail:\n{text}"
        );
        text
    }

    pub fn key(&self, name: &str) -> String {
        let path = format!("{name}.key");
        self.ok(&["key", "generate", "--out", &path]);
        path
    }

    pub fn write(&self, name: &str, value: &Value) -> String {
        std::fs::write(self.dir.join(name), value.to_string()).unwrap();
        name.to_owned()
    }

    /// The code of the first failed check in a verification's printed report.
    pub fn first_failure(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should not verify");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json_end = stdout.rfind('}').unwrap();
        let report: Value = serde_json::from_str(&stdout[..=json_end]).unwrap();
        report["first_failure"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no first_failure in {report}"))
            .to_owned()
    }
}

// ---- trade-chain set-up shared by the trade and channel CLI tests -------------------

pub fn json_out(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A DID with a KYC credential issued by the authority, enrolled in `role`.
pub fn kyc_party(cli: &Cli, name: &str, role: &str, claims: &Value) -> (String, String) {
    let key = cli.key(name);
    let did = cli.ok(&["did", "create", "--key", &key]).trim().to_owned();
    let claims_file = cli.write(&format!("{name}-claims.json"), claims);
    let app = format!("{name}-app.json");
    let kyc = format!("{name}-kyc.json");
    cli.ok(&[
        "kyc",
        "apply",
        "--did",
        &did,
        "--key",
        &key,
        "--role",
        role,
        "--claims",
        &claims_file,
        "--out",
        &app,
    ]);
    let authority = cli.ok(&["issuer", "list"]);
    let authority = json_out(&authority)["authority"]
        .as_str()
        .unwrap()
        .to_owned();
    cli.ok(&[
        "kyc",
        "issue",
        &app,
        "--issuer",
        &authority,
        "--key",
        "authority.key",
        "--out",
        &kyc,
    ]);
    cli.ok(&[
        "trade",
        "enroll",
        "--operator-key",
        "authority.key",
        "--did",
        &did,
        "--role",
        role,
        "--kyc",
        &kyc,
    ]);
    (key, did)
}

pub fn mint(url: &str, operator: &SecretKey, to: &str, fen: i64) {
    let head: Value = ureq::get(&format!("{url}/v1/chains/trade/head"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let chain: ChainId = head["chain"].as_str().unwrap().parse().unwrap();
    let nonces: Value = ureq::get(&format!(
        "{url}/v1/chains/trade/nonces/{}",
        operator.public()
    ))
    .call()
    .unwrap()
    .body_mut()
    .read_json()
    .unwrap();
    let to = SecretKey::load(std::path::Path::new(to)).unwrap().public();
    let tx = Transaction::sign(
        &chain,
        operator,
        nonces["next_nonce"].as_u64().unwrap(),
        Payload::Credit(CreditOp::Mint {
            to,
            amount: PositiveFen::new(fen).unwrap(),
        }),
    );
    let answer: Value = ureq::post(&format!("{url}/v1/txs?wait_ms=10000"))
        .send_json(json!({"tx_hex": hex::encode(tx.encoded())}))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(answer["result"]["outcome"]["status"], "applied", "{answer}");
}

pub fn credit(url: &str, key_file: &str) -> i64 {
    let key = SecretKey::load(std::path::Path::new(key_file))
        .unwrap()
        .public();
    let body: Value = ureq::get(&format!("{url}/v1/chains/trade/credit/{key}"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    body["balance_fen"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

/// A running node, a CLI in a temporary directory, and the genesis authority's DID
/// created (its key as `authority.key`): where the trade and channel CLI tests start.
pub struct TradeWorld {
    pub dir: tempfile::TempDir,
    pub data: std::path::PathBuf,
    pub node: NodeGuard,
    pub url: String,
    pub cli: Cli,
}

pub fn trade_world() -> TradeWorld {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (node, url) = start_node(&data);
    let cli = Cli {
        url: url.clone(),
        dir: dir.path().to_owned(),
    };
    std::fs::copy(data.join("operator.key"), dir.path().join("authority.key")).unwrap();
    cli.ok(&["did", "create", "--key", "authority.key"]);
    TradeWorld {
        dir,
        data,
        node,
        url,
        cli,
    }
}

/// A supplier DID with a kyc-supplier credential for `organisation`, enrolled.
pub fn kyc_supplier(cli: &Cli, name: &str, organisation: &str) -> (String, String) {
    kyc_party(
        cli,
        name,
        "supplier",
        &json!({
            "organisationName": organisation,
            "unifiedSocialCreditCode": "91350100M000100Y43",
            "legalRepresentative": "张三",
            "qualifications": [{"name": "IDC licence", "number": "B1-20230001"}],
            "contact": {"name": "李四", "phone": "+86 591 5555 0101"}
        }),
    )
}

/// `supplier` publishes a mode (`price` fen per minute, `min_cost` fen, hourly check-ins,
/// `weights`) and an offer of `units` units of `spec`; returns the offer id.
pub fn mode_and_offer(
    cli: &Cli,
    supplier: &str,
    (price, min_cost, weights): (&str, &str, &str),
    (spec, units): (&str, &str),
) -> String {
    let mode = json_out(&cli.ok(&[
        "trade",
        "mode",
        "--key",
        supplier,
        "--price-fen-per-minute",
        price,
        "--min-cost-fen",
        min_cost,
        "--period-minutes",
        "60",
        "--weights",
        weights,
    ]));
    let mode_id = mode["mode_id"].as_u64().unwrap().to_string();
    let offer = json_out(&cli.ok(&[
        "trade",
        "offer",
        "--key",
        supplier,
        "--mode",
        &mode_id,
        "--spec",
        spec,
        "--quantity",
        units,
    ]));
    offer["offer_id"].as_u64().unwrap().to_string()
}
