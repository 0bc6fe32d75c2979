//! The two LedgerClient implementations behave alike: the same commit path, the same
//! answers, the same errors, on an embedded node and through its HTTP API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;
use std::time::Duration;

use suanli_ledger::credit::{CreditOp, PositiveFen, balance_key};
use suanli_ledger::{MempoolConfig, Payload, Transaction};
use suanli_ledger_client::embedded::{NETWORK_DEFAULT, Running, open_node, stop};
use suanli_ledger_client::{HttpLedger, LedgerClient, LedgerError, TxStatus};
use suanli_primitives::{ChainKind, SecretKey};

const WAIT: Duration = Duration::from_secs(10);

fn node(dir: &std::path::Path) -> Running {
    let mempool = MempoolConfig {
        block_interval_ms: 5,
        ..Default::default()
    };
    open_node(dir, NETWORK_DEFAULT, None, mempool).unwrap()
}

fn serve(runtime: &tokio::runtime::Runtime, node: &Arc<suanli_node::Node>) -> String {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(suanli_node_http::serve(
        Arc::clone(node),
        suanli_node_http::Access::tokens(&["member-token-0123456789"]),
        listener,
        std::future::pending(),
    ));
    url
}

fn transfer(to: &SecretKey, fen: i64) -> Payload {
    Payload::Credit(CreditOp::Transfer {
        to: to.public(),
        amount: PositiveFen::new(fen).unwrap(),
    })
}

/// Mints to `payer`, then pays, re-commits the same payment, and overdraws, through
/// `client`.
fn exercise(client: &dyn LedgerClient, operator: &SecretKey, label: &str) {
    let payer = SecretKey::from_label(&format!("{label}/payer"));
    let payee = SecretKey::from_label(&format!("{label}/payee"));
    let mint = Payload::Credit(CreditOp::Mint {
        to: payer.public(),
        amount: PositiveFen::new(1_000).unwrap(),
    });
    client
        .transact(ChainKind::Trade, operator, mint, WAIT)
        .unwrap();

    let pay = client
        .sign_next(ChainKind::Trade, &payer, transfer(&payee, 300))
        .unwrap();
    assert_eq!(client.status(&pay.id()).unwrap(), TxStatus::Unknown);
    let first = client.commit(&pay, WAIT).unwrap();
    // Again: found applied, not submitted a second time.
    let again = client.commit(&pay, WAIT).unwrap();
    assert_eq!(first, again);
    assert_eq!(first.chain, ChainKind::Trade);
    assert_eq!(
        client
            .next_nonce(ChainKind::Trade, &payer.public())
            .unwrap(),
        1
    );
    let stored = client
        .state_get(ChainKind::Trade, &balance_key(&payee.public()))
        .unwrap();
    assert!(stored.is_some());

    // A committed failure is an error naming the contract's reason; it used its nonce.
    let overdraw = client.transact(ChainKind::Trade, &payer, transfer(&payee, 1_000_000), WAIT);
    match overdraw {
        Err(e @ LedgerError::Failed { .. }) => {
            assert_eq!(e.code(), "tx_failed");
            assert!(!e.is_retryable());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        client
            .next_nonce(ChainKind::Trade, &payer.public())
            .unwrap(),
        2
    );
}

#[test]
fn embedded_and_http_clients_commit_once_and_name_failures_alike() {
    let dir = tempfile::tempdir().unwrap();
    let (node, producers) = node(dir.path());
    let operator = SecretKey::load(&dir.path().join("operator.key")).unwrap();
    exercise(node.as_ref(), &operator, "embedded");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = serve(&runtime, &node);
    let remote = HttpLedger::new(&url, Some("member-token-0123456789"));
    assert_eq!(
        remote.chain_id(ChainKind::Identity).unwrap(),
        node.chain_id(ChainKind::Identity)
    );
    assert_eq!(remote.network().unwrap().as_str(), NETWORK_DEFAULT);
    exercise(&remote, &operator, "remote");

    // A transaction the node will not admit is refused with the node's code.
    let stranger = SecretKey::from_label("stranger");
    let chain = node.chain_id(ChainKind::Trade);
    let signed = Transaction::sign(&chain, &stranger, 0, transfer(&stranger, 1));
    let forged = Transaction::from_parts(
        chain.clone(),
        operator.public(),
        0,
        signed.payload().clone(),
        *signed.signature(),
    );
    let refused = remote.commit(&forged, WAIT).unwrap_err();
    assert_eq!(refused.code(), "bad_signature", "{refused}");
    let refused = node.as_ref().commit(&forged, WAIT).unwrap_err();
    assert_eq!(refused.code(), "bad_signature", "{refused}");

    // Without the member token, reads are refused with the API's code.
    let anonymous = HttpLedger::new(&url, None);
    assert!(anonymous.chain_id(ChainKind::Trade).is_err());

    stop((node, producers));
}

#[test]
fn an_unreachable_node_is_a_retryable_error() {
    let nowhere = HttpLedger::new("http://127.0.0.1:9", None);
    let e = nowhere.chain_id(ChainKind::Trade).unwrap_err();
    assert_eq!(e.code(), "ledger_unreachable");
    assert!(e.is_retryable());
    assert!(std::error::Error::source(&e).is_some(), "the cause is kept");
}
