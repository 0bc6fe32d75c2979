//! What the bridge's integration tests share: parties (a key and its `did:suanli` on the
//! test network) and their enrolment on the trade chain by the operator.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use suanli_identity::SuanliDid;
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::trade::submit;
use suanli_primitives::{NetworkName, SecretKey};
use suanli_trade::{PartyDid, Role, TradeOp};

/// The network of the tests' nodes.
pub const NETWORK: &str = "suanli-test";

pub struct Party {
    pub key: SecretKey,
    pub did: PartyDid,
}

pub fn party(label: &str) -> Party {
    let key = SecretKey::from_label(label);
    let did = SuanliDid::for_initial_key(NetworkName::new(NETWORK).unwrap(), &key.public());
    Party {
        did: PartyDid::parse(&did.to_string()).unwrap(),
        key,
    }
}

pub fn enroll(ledger: &dyn LedgerClient, operator: &SecretKey, p: &Party, role: Role) {
    let op = TradeOp::Enroll {
        did: p.did.clone(),
        role,
        key: p.key.public(),
        key_fragment: "key-1".into(),
        kyc_credential_id: Some(format!("urn:test:kyc:{}", p.did.as_str())),
        kyc_credential_sha256: Some("00".repeat(32)),
    };
    submit(ledger, operator, &op, "enroll").unwrap();
}
