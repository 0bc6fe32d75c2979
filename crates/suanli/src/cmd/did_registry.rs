//! The platform's [`DidRegistry`] on the identity chain (`docs/key-custody.md`): the DID of
//! a user's key is created by an identity `create` transaction signed with that key — at
//! nonce 0, since a new key has signed nothing — in the embedded node or on a remote node
//! over its HTTP API. The server signs it while the key is in memory and stores it; this
//! sends it, again if need be (the nonce lets the chain apply it at most once).

use std::time::Duration;

use anyhow::Context;
use suanli_chainstore::TxStatus;
use suanli_identity::SuanliDid;
use suanli_identity::op::IdentityOp;
use suanli_ledger::{Outcome, Payload, Transaction};
use suanli_primitives::{ChainId, ChainKind, NetworkName, PublicKey, SecretKey};
use suanli_server::keys::DidRegistry;
use suanli_server::payment::SignedTx;

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use suanli_identity::DidId;

    use super::*;

    fn on_chain(node: &suanli_chainstore::Node, key: &PublicKey) -> bool {
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
        runtime.spawn(suanli_node_api::serve(
            Arc::clone(&node),
            suanli_node_api::Access::tokens(&["member-token-0123456789"]),
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
}
