//! The platform's [`DidRegistry`] on the identity chain (`docs/key-custody.md`): the DID of
//! a user's key is created by an identity `create` transaction signed with that key — at
//! nonce 0, since a new key has signed nothing — in the embedded node or on a remote node
//! over its HTTP API. The server signs it while the key is in memory and stores it; this
//! sends it, again if need be (the nonce lets the chain apply it at most once).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;
use serde_json::Value;
use suanli_identity::op::IdentityOp;
use suanli_identity::{DidId, SuanliDid};
use suanli_ledger::{Outcome, Payload, Transaction};
use suanli_node::{Node, TxStatus};
use suanli_platform_http::keys::DidRegistry;
use suanli_platform_http::kyc::PartyEnrolment;
use suanli_platform_http::payment::SignedTx;
use suanli_primitives::{ChainId, ChainKind, NetworkName, PublicKey, SecretKey, sha256};
use suanli_trade::{PartyDid, Role, TradeOp};
use suanli_vc::credential::{CredentialDraft, SchemaRef};

use super::audit_anchor::LedgerTarget;

/// Longest to wait for a DID-creating transaction to commit, in milliseconds.
pub const DID_COMMIT_TIMEOUT_MS: u64 = 10_000;

/// Creates users' DIDs on the identity chain of `target`.
#[derive(Debug)]
pub struct LedgerDids {
    target: LedgerTarget,
    chain: ChainId,
    network: NetworkName,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(2 * DID_COMMIT_TIMEOUT_MS)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn with_token<T>(r: ureq::RequestBuilder<T>, token: &Option<String>) -> ureq::RequestBuilder<T> {
    match token {
        Some(t) => r.header("authorization", &format!("Bearer {t}")),
        None => r,
    }
}

impl LedgerDids {
    /// A registry on `target`'s identity chain (asks a remote node for its chain id).
    pub fn new(target: LedgerTarget) -> anyhow::Result<Self> {
        let chain = match &target {
            LedgerTarget::Embedded(node) => node.chain_id(ChainKind::Identity),
            LedgerTarget::Remote { url, token } => {
                let head: serde_json::Value = with_token(
                    agent().get(&format!("{url}/v1/chains/identity/head")),
                    token,
                )
                .call()
                .with_context(|| format!("reaching the ledger node at {url}"))?
                .body_mut()
                .read_json()
                .context("the node's identity head is not JSON")?;
                head["chain"]
                    .as_str()
                    .unwrap_or_default()
                    .parse()
                    .with_context(|| format!("the node at {url} named no identity chain"))?
            }
        };
        let network = chain.network().clone();
        Ok(Self {
            target,
            chain,
            network,
        })
    }
}

impl DidRegistry for LedgerDids {
    fn did_of(&self, key: &PublicKey) -> String {
        SuanliDid::for_initial_key(self.network.clone(), key).to_string()
    }

    fn sign_create(&self, key: &SecretKey) -> Result<SignedTx, String> {
        let call = IdentityOp::CreateDid.to_call().map_err(|e| e.to_string())?;
        let tx = Transaction::sign(&self.chain, key, 0, Payload::Call(call));
        Ok(SignedTx {
            reference: tx.id().to_string(),
            encoded_hex: hex::encode(tx.encoded()),
        })
    }

    fn send(&self, signed: &SignedTx) -> Result<(), String> {
        let bytes = hex::decode(&signed.encoded_hex).map_err(|e| e.to_string())?;
        match &self.target {
            LedgerTarget::Embedded(node) => {
                let tx = Transaction::decode(&bytes).map_err(|e| e.to_string())?;
                let id = tx.id();
                let mut status = node.status(&id).map_err(|e| e.to_string())?;
                if matches!(status, TxStatus::Unknown | TxStatus::Rejected { .. }) {
                    node.submit(tx).map_err(|e| e.to_string())?;
                    status = TxStatus::Pending;
                }
                if status == TxStatus::Pending {
                    status = node
                        .wait(
                            &id,
                            ChainKind::Identity,
                            Duration::from_millis(DID_COMMIT_TIMEOUT_MS),
                        )
                        .map_err(|e| e.to_string())?;
                }
                match status {
                    TxStatus::Committed {
                        outcome: Outcome::Applied,
                        ..
                    } => Ok(()),
                    other => Err(format!("DID transaction {id} ended as {other:?}")),
                }
            }
            LedgerTarget::Remote { url, token } => {
                let agent = agent();
                let status = |agent: &ureq::Agent| -> Result<serde_json::Value, String> {
                    with_token(
                        agent.get(&format!("{url}/v1/txs/{}", signed.reference)),
                        token,
                    )
                    .call()
                    .map_err(|e| e.to_string())?
                    .body_mut()
                    .read_json()
                    .map_err(|e| e.to_string())
                };
                // `{"tx_id", "result": {"status": "committed", "outcome": {"status": …}}}`;
                // an unknown transaction answers 404 with an error body.
                let mut answer = status(&agent)?;
                if answer["result"]["status"] != "committed" {
                    let post = with_token(
                        agent.post(&format!("{url}/v1/txs?wait_ms={DID_COMMIT_TIMEOUT_MS}")),
                        token,
                    )
                    .header("content-type", "application/octet-stream");
                    post.send(&bytes[..]).map_err(|e| e.to_string())?;
                    answer = status(&agent)?;
                }
                let result = &answer["result"];
                if result["status"] == "committed" && result["outcome"]["status"] == "applied" {
                    Ok(())
                } else {
                    Err(format!(
                        "DID transaction {} not applied: {answer}",
                        signed.reference
                    ))
                }
            }
        }
    }
}

/// Approved parties' KYC credentials and enrolment (`PartyEnrolment`) on the embedded
/// node, with the genesis operator key: it is the identity chain's genesis authority
/// (issuer of the `kyc-consumer` credential) and the trade chain's operator (signer of
/// `enroll`). A remote node's operator key is not on this machine, so with `--node` the
/// platform runs without it.
#[derive(Debug)]
pub struct LedgerParties {
    node: Arc<Node>,
    operator: SecretKey,
    /// One enrolment at a time: the operator's nonces are taken in order.
    serial: Mutex<()>,
}

/// How long a KYC credential issued at approval is valid, in milliseconds (one year).
pub const KYC_VALIDITY_MS: u64 = 365 * 86_400_000;

impl LedgerParties {
    pub fn new(node: Arc<Node>, operator: SecretKey) -> Self {
        Self {
            node,
            operator,
            serial: Mutex::new(()),
        }
    }

    fn commit(&self, kind: ChainKind, payload: Payload, what: &str) -> Result<(), String> {
        let key = &self.operator;
        let nonce = self.node.next_nonce(kind, &key.public());
        let tx = Transaction::sign(&self.node.chain_id(kind), key, nonce, payload);
        let id = self.node.submit(tx).map_err(|e| e.to_string())?;
        match self
            .node
            .wait(&id, kind, Duration::from_millis(DID_COMMIT_TIMEOUT_MS))
            .map_err(|e| e.to_string())?
        {
            TxStatus::Committed {
                outcome: Outcome::Applied,
                ..
            } => Ok(()),
            other => Err(format!("{what} transaction {id} ended as {other:?}")),
        }
    }

    fn did_exists(&self, key: &PublicKey) -> bool {
        self.node
            .state_get(
                ChainKind::Identity,
                &suanli_identity::keys::did_count(&DidId::derive(key)),
            )
            .is_some()
    }

    fn enrol(&self, did: &str, public_hex: &str, claims: &Value) -> Result<Value, String> {
        let _one = self.serial.lock();
        let network = self.node.chain_id(ChainKind::Identity).network().clone();
        let authority = SuanliDid::for_initial_key(network.clone(), &self.operator.public());
        if !self.did_exists(&self.operator.public()) {
            let call = IdentityOp::CreateDid.to_call().map_err(|e| e.to_string())?;
            self.commit(ChainKind::Identity, Payload::Call(call), "authority DID")?;
        }
        let party = SuanliDid::parse(did).map_err(|e| format!("{did}: {e}"))?;
        if party.network() != &network {
            return Err(format!("{did} is not a DID of network {network}"));
        }
        let key = PublicKey::from_hex(public_hex).map_err(|e| e.to_string())?;
        if SuanliDid::for_initial_key(network.clone(), &key) != party || !self.did_exists(&key) {
            return Err(format!("{did} is not on the identity chain with this key"));
        }
        let Value::Object(mut subject) = claims.clone() else {
            return Err("claims must be a JSON object".into());
        };
        subject.insert("id".into(), did.into());
        let cpt = suanli_identity::cpt::builtin_id("kyc-consumer").ok_or("no kyc-consumer CPT")?;
        let now = self.node.now_ms();
        let draft = CredentialDraft {
            id: Some(format!("urn:suanli:{network}:kyc:{}", party.id())),
            types: vec!["KycCredential".into()],
            issuer: authority.to_string(),
            subject,
            valid_from: now,
            valid_until: Some(now + KYC_VALIDITY_MS),
            schema: Some(SchemaRef {
                id: suanli_identity::urn::cpt(&network, cpt, 1),
            }),
            status: None,
        };
        let vc = suanli_vc::credential::issue(
            &draft,
            &format!("{authority}#key-1"),
            now,
            &self.operator,
        )
        .map_err(|e| e.to_string())?;
        let enroll = TradeOp::Enroll {
            did: PartyDid::parse(did).map_err(|e| e.to_string())?,
            role: Role::Consumer,
            key,
            key_fragment: "key-1".into(),
            kyc_credential_id: vc["id"].as_str().map(str::to_owned),
            kyc_credential_sha256: Some(
                sha256(&serde_json::to_vec(&vc).map_err(|e| e.to_string())?).to_hex(),
            ),
        };
        let call = enroll.to_call().map_err(|e| e.to_string())?;
        self.commit(ChainKind::Trade, Payload::Call(call), "enroll")?;
        Ok(vc)
    }
}

impl PartyEnrolment for LedgerParties {
    fn enrol_consumer(
        &self,
        did: &str,
        public_key_hex: &str,
        claims: &Value,
    ) -> Result<Value, String> {
        self.enrol(did, public_key_hex, claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_chain(node: &suanli_node::Node, key: &PublicKey) -> bool {
        node.state_get(
            ChainKind::Identity,
            &suanli_identity::keys::did_count(&DidId::derive(key)),
        )
        .is_some()
    }

    #[test]
    fn creates_dids_signed_by_their_keys_on_an_embedded_and_a_remote_node() {
        let dir = tempfile::tempdir().unwrap();
        let (node, producers) = crate::cmd::node::open_node(
            dir.path(),
            "suanli-test",
            None,
            suanli_ledger::MempoolConfig {
                block_interval_ms: 5,
                ..Default::default()
            },
        )
        .unwrap();

        let dids = LedgerDids::new(LedgerTarget::Embedded(Arc::clone(&node))).unwrap();
        let key = SecretKey::from_label("custody/embedded");
        let did = dids.did_of(&key.public());
        assert!(did.starts_with("did:suanli:suanli-test:"), "{did}");
        assert_eq!(
            did,
            format!(
                "did:suanli:suanli-test:{}",
                DidId::derive(&key.public()).as_str()
            )
        );
        let tx = dids.sign_create(&key).unwrap();
        // Signed by the user's key itself, at its first nonce.
        let decoded = Transaction::decode(&hex::decode(&tx.encoded_hex).unwrap()).unwrap();
        assert_eq!(decoded.signer(), &key.public());
        assert!(!on_chain(&node, &key.public()));
        dids.send(&tx).unwrap();
        assert!(on_chain(&node, &key.public()));
        dids.send(&tx).unwrap(); // again: already applied, nothing happens

        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(suanli_node_http::serve(
            Arc::clone(&node),
            suanli_node_http::Access::tokens(&["member-token-0123456789"]),
            listener,
            std::future::pending(),
        ));
        let remote = LedgerDids::new(LedgerTarget::Remote {
            url: url.clone(),
            token: Some("member-token-0123456789".into()),
        })
        .unwrap();
        let key2 = SecretKey::from_label("custody/remote");
        assert_eq!(
            remote.did_of(&key2.public()),
            dids.did_of(&key2.public()),
            "same network"
        );
        let tx2 = remote.sign_create(&key2).unwrap();
        remote.send(&tx2).unwrap();
        assert!(on_chain(&node, &key2.public()));
        remote.send(&tx2).unwrap();
        // A node that cannot be reached is an error to retry, not a DID.
        let nowhere = LedgerDids::new(LedgerTarget::Remote {
            url: "http://127.0.0.1:9".into(),
            token: None,
        });
        assert!(nowhere.is_err());

        node.stop();
        producers.into_iter().for_each(|p| p.join().unwrap());
    }

    #[test]
    fn approval_enrolment_issues_a_verifying_kyc_credential_and_enrols_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let (node, producers) = crate::cmd::node::open_node(
            dir.path(),
            "suanli-test",
            None,
            suanli_ledger::MempoolConfig {
                block_interval_ms: 5,
                ..Default::default()
            },
        )
        .unwrap();
        let operator = SecretKey::load(&dir.path().join("operator.key")).unwrap();
        let dids = LedgerDids::new(LedgerTarget::Embedded(Arc::clone(&node))).unwrap();
        let parties = LedgerParties::new(Arc::clone(&node), operator);
        let user = SecretKey::from_label("custody/consumer");
        let did = dids.did_of(&user.public());
        let claims = serde_json::json!({"name": "Li Si", "idType": "resident-id-card"});

        // Not before the DID is on the identity chain.
        let early = parties.enrol_consumer(&did, &user.public().to_hex(), &claims);
        assert!(early.unwrap_err().contains("not on the identity chain"));
        dids.send(&dids.sign_create(&user).unwrap()).unwrap();
        // Not with another key than the DID's.
        let other = SecretKey::from_label("custody/other").public().to_hex();
        assert!(parties.enrol_consumer(&did, &other, &claims).is_err());

        let vc = parties
            .enrol_consumer(&did, &user.public().to_hex(), &claims)
            .unwrap();
        assert_eq!(vc["credentialSubject"]["id"], did.as_str());
        let report = crate::cmd::demo_identity::verify(&node, &vc);
        assert_eq!(
            report.first_failure().map(|f| f.1.to_owned()),
            None,
            "{report:?}"
        );

        let party = node
            .with_state(ChainKind::Trade, |s| {
                suanli_trade::view::party(s, &PartyDid::parse(&did).unwrap())
            })
            .expect("enrolled");
        let text = serde_json::to_string(&party).unwrap();
        assert!(text.contains(&user.public().to_hex()), "{text}");
        assert!(text.contains(vc["id"].as_str().unwrap()), "{text}");

        node.stop();
        producers.into_iter().for_each(|p| p.join().unwrap());
    }
}
