//! The worked test vector of `docs/ledger-format.md`: a transaction and a block header
//! built from fixed keys must encode, hash and sign to exactly the bytes the document
//! prints, so a third party can check their own implementation against it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use suanli_ledger::block::tx_root;
use suanli_ledger::credit::{CreditOp, PositiveFen};
use suanli_ledger::{Payload, Transaction, UnsignedHeader};
use suanli_primitives::{ChainId, Hash32, SecretKey};

/// The values the document shows, computed from fixed inputs.
fn vector() -> Vec<(&'static str, String)> {
    // RFC 8032 §7.1 TEST 1 and TEST 2 secret keys.
    let signer = SecretKey::from_seed(&hex32(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    ));
    let proposer = SecretKey::from_seed(&hex32(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    ));
    let chain: ChainId = "suanli-local/trade".parse().unwrap();
    let tx = Transaction::sign(
        &chain,
        &signer,
        0,
        Payload::Credit(CreditOp::Transfer {
            to: proposer.public(),
            amount: PositiveFen::new(2_500).unwrap(),
        }),
    );
    let header = UnsignedHeader {
        chain,
        height: 1,
        prev_hash: Hash32::from_bytes([0x11; 32]),
        timestamp_ms: 1_795_000_000_000,
        tx_root: tx_root(std::slice::from_ref(&tx)),
        state_root: Hash32::from_bytes([0x22; 32]),
        tx_count: 1,
        proposer: proposer.public(),
    }
    .seal(&proposer);
    vec![
        ("signer public key", signer.public().to_hex()),
        ("proposer public key", proposer.public().to_hex()),
        (
            "transaction signing message",
            hex::encode(tx.signing_message()),
        ),
        ("transaction signature", tx.signature().to_hex()),
        ("transaction encoding", hex::encode(tx.encoded())),
        ("transaction id", tx.id().to_string()),
        ("tx_root", header.unsigned.tx_root.to_hex()),
        ("header signature", header.signature.to_hex()),
        ("header encoding", hex::encode(header.encode())),
        ("block hash", header.hash.to_hex()),
    ]
}

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

#[test]
fn document_matches_the_code() {
    // The manifest directory at run time (a build cache reused by another checkout would
    // carry the compile-time path of the checkout that built it).
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let doc = std::fs::read_to_string(format!("{dir}/../../../docs/ledger-format.md"))
        .unwrap()
        .split_whitespace()
        .collect::<String>();
    for (name, value) in vector() {
        assert!(
            doc.contains(&value),
            "docs/ledger-format.md lacks the {name}: {value}"
        );
    }
}

/// `cargo test -p suanli-ledger --test format_vector -- --ignored --nocapture` prints the
/// vector for the document.
#[test]
#[ignore = "prints the vector; not a check"]
fn print_vector() {
    for (name, value) in vector() {
        println!("{name}: {value}");
    }
}
