//! The `suanli` binary end to end: the demo, offline verification's exit codes, and a
//! crash test that kills a loaded node with SIGKILL and finds every acknowledged
//! transaction after restart.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use suanli_ledger::anchor::AnchorRecord;
use suanli_ledger::{Payload, Transaction};
use suanli_node::ChainStore;
use suanli_primitives::{ChainId, ChainKind, SecretKey, sha256};

mod common;

use common::{start_node_child as start_node, suanli};

#[test]
fn the_demo_tells_one_story_and_leaves_books_that_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let out = suanli()
        .args(["demo", "--exit", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One story: listed, found, ordered, accepted, checked in, stopped, rated, verified.
    for said in [
        "enters the catalogue",
        "result(s), ranked by the published incentive policy",
        "the first failing clause is",
        "is on the trade chain (status placed)",
        "the trade is active",
        "checks the hour in on the chain: 60 minutes, ¥108.00",
        "the supplier's agent pauses the service and the platform tells the start-up",
        "is paused for low funds",
        "the agent resumes the service",
        "(stopped_by_consumer)",
        "Its bill comes from the chain's settlements",
        "→ VERIFIED",
        "trade chain sound",
    ] {
        assert!(stdout.contains(said), "{said:?} missing from:\n{stdout}");
    }
    // Money in one unit, no Rust debug text, no request logs in the narration.
    for never in [" fen", "Some(", "Ok(", "INFO"] {
        assert!(!stdout.contains(never), "{never:?} in:\n{stdout}");
    }
    // The data directory is `suanli serve`'s: the operator's reconciliation opens it and
    // finds every trade on the chain and no difference.
    let rec = suanli()
        .args(["ops", "reconcile", "--json", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rec.stdout);
    assert!(
        rec.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["orders"], 1, "{v}");
    assert_eq!(v["orders_on_chain"], v["orders"], "{v}");
    assert_eq!(v["checkins"], v["checkins_billed"], "{v}");
    assert_eq!(v["journal_minus_chain_fen"], 0, "{v}");
    let ok = suanli()
        .args(["chain", "verify", "--data"])
        .arg(dir.path().join("node"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn the_tour_walks_the_parts_and_its_chains_verify_then_tampering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = suanli()
        .args(["demo", "--tour", "--exit", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("→ VALID"), "{stdout}");
    // Identity: a KYC credential verifies, a replayed presentation and a revoked credential
    // are refused with their reasons.
    assert!(stdout.contains("→ VERIFIED"), "{stdout}");
    assert!(stdout.contains("refused (challenge_mismatch)"), "{stdout}");
    assert!(stdout.contains("status failed with revoked"), "{stdout}");
    assert!(stdout.contains("trade chain sound"), "{stdout}");
    assert!(
        stdout.contains("is anchored on the trade chain"),
        "{stdout}"
    );
    assert!(
        stdout.contains("nonce 0 was already used (replay)"),
        "{stdout}"
    );

    let node_dir = dir.path().join("node");
    let ok = suanli()
        .args(["chain", "verify", "--data"])
        .arg(&node_dir)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let export = dir.path().join("chain.export");
    let ex = suanli()
        .args(["chain", "export", "--data"])
        .arg(&node_dir)
        .arg("--out")
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        ex.status.success(),
        "{}",
        String::from_utf8_lossy(&ex.stderr)
    );
    assert!(
        std::fs::read(&export)
            .unwrap()
            .starts_with(b"SUANLI-CHAIN-EXPORT\0")
    );

    {
        let store = ChainStore::open(&node_dir.join("chain.redb")).unwrap();
        let mut bytes = store.block_bytes(ChainKind::Trade, 2).unwrap().unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        store
            .overwrite_block_bytes(ChainKind::Trade, 2, &bytes, true)
            .unwrap();
    }
    let bad = suanli()
        .args(["chain", "verify", "--data"])
        .arg(&node_dir)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("trade chain, block 2"), "{stderr}");
}

#[test]
fn verify_and_bad_arguments_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = suanli()
        .args(["chain", "verify", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no chain store"));
    let out = suanli()
        .args(["node", "--block-txs-max", "0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--block-txs-max must be"));
    let out = suanli()
        .args(["node", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("without --api-token-file"));
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let chain: ChainId = "suanli-local/trade".parse().unwrap();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut next_nonce = [0u64; 4];
    for round in 0..2 {
        let (mut child, url) = start_node(dir.path());
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (url, chain, acked, stop) = (
                    url.clone(),
                    chain.clone(),
                    Arc::clone(&acked),
                    Arc::clone(&stop),
                );
                let start = next_nonce[w];
                std::thread::spawn(move || {
                    let key = SecretKey::from_label(&format!("crash/worker/{w}"));
                    let agent = agent();
                    let mut nonce = start;
                    while !stop.load(Ordering::SeqCst) {
                        let digest = sha256(format!("{round}/{w}/{nonce}").as_bytes());
                        let tx = Transaction::sign(
                            &chain,
                            &key,
                            nonce,
                            Payload::Anchor(AnchorRecord::new("crash-test", digest).unwrap()),
                        );
                        let resp = agent
                            .post(&format!("{url}/v1/txs?wait_ms=10000"))
                            .header("content-type", "application/octet-stream")
                            .send(tx.encoded());
                        match resp {
                            Ok(r) if r.status() == 200 => {
                                acked.lock().unwrap().push(tx.id().to_string());
                                nonce += 1;
                            }
                            // The node died mid-request: this one was never acknowledged.
                            _ => break,
                        }
                    }
                    nonce
                })
            })
            .collect();
        let target = 150 * (round + 1);
        while acked.lock().unwrap().len() < target {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, Ordering::SeqCst);
        for (w, handle) in workers.into_iter().enumerate() {
            // A request in flight at the kill may have committed without an ack; the next
            // round asks the node for the signer's real next nonce.
            let _ = handle.join().unwrap();
            let _ = w;
        }
        let (mut child, url) = start_node(dir.path());
        let agent = agent();
        let ids = acked.lock().unwrap().clone();
        for id in &ids {
            let mut resp = agent.get(&format!("{url}/v1/txs/{id}")).call().unwrap();
            let body = resp.body_mut().read_to_string().unwrap();
            assert!(
                body.contains("\"committed\""),
                "acknowledged {id} lost after kill -9: {body}"
            );
        }
        for (w, n) in next_nonce.iter_mut().enumerate() {
            let key = SecretKey::from_label(&format!("crash/worker/{w}")).public();
            let mut resp = agent
                .get(&format!("{url}/v1/chains/trade/nonces/{key}"))
                .call()
                .unwrap();
            let v: serde_json::Value =
                serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
            *n = v["next_nonce"].as_u64().unwrap();
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(acked.lock().unwrap().len() >= 300);
    let verify = suanli()
        .args(["chain", "verify", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn serve_anchors_its_audit_head_on_the_embedded_chain() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = suanli()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("SUANLI_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The server logs each anchored head; a reader thread reports the first one.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("audit head anchored on the trade chain") {
                let _ = tx.send(line);
            }
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let agent = agent();
    let up = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        agent.get(&format!("{base}/api/v1/health")).call().is_ok()
    });
    assert!(up, "suanli serve did not come up");
    // A failed login is a state-changing request: it is audited, and the head anchored.
    let resp = agent
        .post(&format!("{base}/api/v1/auth/login"))
        .header("content-type", "application/json")
        .send(r#"{"login":"admin","password":"not-the-password"}"#)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("no audit head was anchored");
    assert!(line.contains("seq=1"), "{line}");
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(
        child.wait().unwrap().success(),
        "serve must stop cleanly on SIGTERM"
    );
    let store = ChainStore::open(&dir.path().join("node").join("chain.redb")).unwrap();
    let reports = suanli_node::verify::verify_all(
        &store,
        &suanli_ledger::Extensions::new()
            .with(std::sync::Arc::new(suanli_identity::IdentityContract)),
    )
    .unwrap();
    let trade = reports
        .iter()
        .find(|r| r.chain == ChainKind::Trade)
        .unwrap();
    assert_eq!(trade.transactions, 1, "{reports:?}");
}
