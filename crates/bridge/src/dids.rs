//! The platform's [`DidRegistry`] on the identity chain (`docs/key-custody.md`): the DID of
//! a user's key is created by an identity `create` transaction signed with that key — at
//! nonce 0, since a new key has signed nothing — in the embedded node or on a remote node
//! over its HTTP API. The server signs it while the key is in memory and stores it; this
//! sends it, again if need be (the nonce lets the chain apply it at most once).

use std::sync::Arc;
use std::time::Duration;

use crate::operator::OperatorSigner;
use serde_json::Value;
use suanli_identity::op::IdentityOp;
use suanli_identity::{DidId, SuanliDid};
use suanli_ledger::{Payload, Transaction};
use suanli_ledger_client::LedgerClient;
use suanli_platform_http::PortError;
use suanli_platform_http::keys::DidRegistry;
use suanli_platform_http::kyc::PartyEnrolment;
use suanli_platform_http::payment::SignedTx;
use suanli_primitives::{ChainId, ChainKind, Clock, NetworkName, PublicKey, SecretKey, sha256};
use suanli_trade::{PartyDid, Role, TradeOp};
use suanli_vc::credential::{CredentialDraft, SchemaRef};

use crate::BridgeError;

/// Longest to wait for a DID-creating transaction to commit, in milliseconds.
pub const DID_COMMIT_TIMEOUT_MS: u64 = 10_000;

fn commit_wait() -> Duration {
    Duration::from_millis(DID_COMMIT_TIMEOUT_MS)
}

/// Creates users' DIDs on the identity chain of a ledger.
#[derive(Debug)]
pub struct LedgerDids {
    ledger: Arc<dyn LedgerClient>,
    chain: ChainId,
    network: NetworkName,
}

impl LedgerDids {
    /// A registry on `ledger`'s identity chain (asks a remote node for its chain id).
    pub fn new(ledger: Arc<dyn LedgerClient>) -> Result<Self, BridgeError> {
        let chain = ledger.chain_id(ChainKind::Identity)?;
        let network = chain.network().clone();
        Ok(Self {
            ledger,
            chain,
            network,
        })
    }

    fn create(&self, key: &SecretKey) -> Result<SignedTx, BridgeError> {
        let call = IdentityOp::CreateDid
            .to_call()
            .map_err(|e| BridgeError::Call {
                what: "create",
                detail: e.to_string(),
            })?;
        let tx = Transaction::sign(&self.chain, key, 0, Payload::Call(call));
        Ok(SignedTx {
            reference: tx.id().to_string(),
            encoded_hex: hex::encode(tx.encoded()),
        })
    }
}

/// Makes sure the stored signed transaction is committed and applied (the client's one
/// idempotent path: sent again only when the ledger does not know it).
pub(crate) fn send_signed(
    ledger: &dyn LedgerClient,
    signed: &SignedTx,
    wait: Duration,
) -> Result<(), BridgeError> {
    let tx = Transaction::decode(&hex::decode(&signed.encoded_hex)?)?;
    ledger.commit(&tx, wait)?;
    Ok(())
}

impl DidRegistry for LedgerDids {
    fn did_of(&self, key: &PublicKey) -> String {
        SuanliDid::for_initial_key(self.network.clone(), key).to_string()
    }

    fn sign_create(&self, key: &SecretKey) -> Result<SignedTx, PortError> {
        Ok(self.create(key)?)
    }

    fn send(&self, signed: &SignedTx) -> Result<(), PortError> {
        Ok(send_signed(self.ledger.as_ref(), signed, commit_wait())?)
    }
}

/// Approved parties' KYC credentials and enrolment (`PartyEnrolment`) on the embedded
/// node, with the genesis operator key: it is the identity chain's genesis authority
/// (issuer of the `kyc-consumer` credential) and the trade chain's operator (signer of
/// `enroll`). A remote node's operator key is not on this machine, so with `--node` the
/// platform runs without it. Credentials are dated by `clock`, the node's own.
#[derive(Debug)]
pub struct LedgerParties {
    ledger: Arc<dyn LedgerClient>,
    clock: Arc<dyn Clock>,
    /// The operator key, shared with every other port that signs with it: one
    /// enrolment (or other operator transaction) at a time, so nonces are taken in order.
    operator: OperatorSigner,
}

/// How long a KYC credential issued at approval is valid, in milliseconds (one year).
pub const KYC_VALIDITY_MS: u64 = 365 * 86_400_000;

impl LedgerParties {
    pub fn new(
        ledger: Arc<dyn LedgerClient>,
        clock: Arc<dyn Clock>,
        operator: impl Into<OperatorSigner>,
    ) -> Self {
        Self {
            ledger,
            clock,
            operator: operator.into(),
        }
    }

    fn commit(
        &self,
        operator: &SecretKey,
        kind: ChainKind,
        payload: Payload,
    ) -> Result<(), BridgeError> {
        self.ledger
            .transact(kind, operator, payload, commit_wait())?;
        Ok(())
    }

    fn did_exists(&self, key: &PublicKey) -> Result<bool, BridgeError> {
        let count = suanli_identity::keys::did_count(&DidId::derive(key));
        Ok(self
            .ledger
            .state_get(ChainKind::Identity, &count)?
            .is_some())
    }

    fn enrol(
        &self,
        did: &str,
        public_hex: &str,
        claims: &Value,
        party: PartyKind,
    ) -> Result<Value, BridgeError> {
        let (_signing, operator) = self.operator.lock();
        let network = self.ledger.chain_id(ChainKind::Identity)?.network().clone();
        let authority = SuanliDid::for_initial_key(network.clone(), &operator.public());
        if !self.did_exists(&operator.public())? {
            let call = IdentityOp::CreateDid
                .to_call()
                .map_err(|e| BridgeError::Call {
                    what: "create",
                    detail: e.to_string(),
                })?;
            self.commit(operator, ChainKind::Identity, Payload::Call(call))?;
        }
        let holder = SuanliDid::parse(did)
            .map_err(|e| BridgeError::invalid("bad_did", format!("{did}: {e}")))?;
        if holder.network() != &network {
            return Err(BridgeError::invalid(
                "wrong_network",
                format!("{did} is not a DID of network {network}"),
            ));
        }
        let key = PublicKey::from_hex(public_hex)?;
        if SuanliDid::for_initial_key(network.clone(), &key) != holder || !self.did_exists(&key)? {
            return Err(BridgeError::invalid(
                "did_not_on_chain",
                format!("{did} is not on the identity chain with this key"),
            ));
        }
        let Value::Object(mut subject) = claims.clone() else {
            return Err(BridgeError::invalid(
                "bad_claims",
                "claims must be a JSON object",
            ));
        };
        subject.insert("id".into(), did.into());
        let cpt = suanli_identity::cpt::builtin_id(party.template())
            .ok_or_else(|| BridgeError::invalid("no_template", "no KYC CPT"))?;
        let now = self.clock.now_ms();
        let draft = CredentialDraft {
            // One id per DID and template: a retried enrolment issues the same credential
            // id again, and the chain records the newest digest.
            id: Some(format!(
                "urn:suanli:{network}:{}:{}",
                party.id_kind(),
                holder.id()
            )),
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
        let vc = suanli_vc::credential::issue_with_schema(
            &draft,
            &suanli_vc::cpt::builtin_templates()
                .into_iter()
                .find(|(n, _)| *n == party.template())
                .map(|(_, schema)| schema)
                .ok_or_else(|| BridgeError::invalid("no_template", "no KYC CPT"))?,
            &format!("{authority}#key-1"),
            now,
            operator,
        )?;
        let enroll = TradeOp::Enroll {
            did: PartyDid::parse(did).map_err(|e| BridgeError::invalid("bad_did", e))?,
            role: party.role(),
            key,
            key_fragment: "key-1".into(),
            kyc_credential_id: vc["id"].as_str().map(str::to_owned),
            kyc_credential_sha256: Some(sha256(&serde_json::to_vec(&vc)?).to_hex()),
        };
        let call = enroll.to_call().map_err(|e| BridgeError::Call {
            what: "enroll",
            detail: e.to_string(),
        })?;
        self.commit(operator, ChainKind::Trade, Payload::Call(call))?;
        Ok(vc)
    }
}

/// Who is enrolled: the KYC template of the credential and the trade-chain role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartyKind {
    Consumer,
    Supplier,
}

impl PartyKind {
    fn template(self) -> &'static str {
        match self {
            PartyKind::Consumer => "kyc-consumer",
            PartyKind::Supplier => "kyc-supplier",
        }
    }
    /// The credential id's kind segment (`kyc` kept for consumers' existing ids).
    fn id_kind(self) -> &'static str {
        match self {
            PartyKind::Consumer => "kyc",
            PartyKind::Supplier => "kyc-supplier",
        }
    }
    fn role(self) -> Role {
        match self {
            PartyKind::Consumer => Role::Consumer,
            PartyKind::Supplier => Role::Supplier,
        }
    }
}

impl PartyEnrolment for LedgerParties {
    fn enrol_consumer(
        &self,
        did: &str,
        public_key_hex: &str,
        claims: &Value,
    ) -> Result<Value, PortError> {
        Ok(self.enrol(did, public_key_hex, claims, PartyKind::Consumer)?)
    }

    fn enrol_supplier(
        &self,
        did: &str,
        public_key_hex: &str,
        claims: &Value,
    ) -> Result<Value, PortError> {
        Ok(self.enrol(did, public_key_hex, claims, PartyKind::Supplier)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every check of the credential against the node's identity chain.
    fn verify(node: &suanli_node::Node, vc: &Value) -> suanli_vc::verify::VerificationReport {
        let network = node.chain_id(ChainKind::Identity).network().clone();
        let authority = DidId::derive(&node.genesis(ChainKind::Identity).credit_operator);
        node.with_state(ChainKind::Identity, |s| {
            let r = suanli_identity::ChainResolver {
                state: s,
                network: &network,
                authority: &authority,
            };
            suanli_vc::verify::Verifier {
                keys: &r,
                schemas: &r,
                status: &r,
            }
            .verify_credential(vc, node.now_ms())
        })
    }

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
        let (node, producers) = suanli_ledger_client::embedded::open_node(
            dir.path(),
            "suanli-test",
            None,
            suanli_ledger::MempoolConfig {
                block_interval_ms: 5,
                ..Default::default()
            },
        )
        .unwrap();

        let dids = LedgerDids::new(Arc::clone(&node) as Arc<dyn LedgerClient>).unwrap();
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
        let remote = LedgerDids::new(Arc::new(suanli_ledger_client::HttpLedger::new(
            &url,
            Some("member-token-0123456789"),
        )))
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
        let nowhere = LedgerDids::new(Arc::new(suanli_ledger_client::HttpLedger::new(
            "http://127.0.0.1:9",
            None,
        )));
        assert!(nowhere.is_err());

        node.stop();
        producers.into_iter().for_each(|p| p.join().unwrap());
    }

    #[test]
    fn approval_enrolment_issues_a_verifying_kyc_credential_and_enrols_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let (node, producers) = suanli_ledger_client::embedded::open_node(
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
        let dids = LedgerDids::new(Arc::clone(&node) as Arc<dyn LedgerClient>).unwrap();
        let parties = LedgerParties::new(
            Arc::clone(&node) as Arc<dyn LedgerClient>,
            Arc::new(suanli_primitives::SystemClock),
            operator,
        );
        let user = SecretKey::from_label("custody/consumer");
        let did = dids.did_of(&user.public());
        let claims = serde_json::json!({"name": "Li Si", "idType": "resident-id-card"});

        // Not before the DID is on the identity chain.
        let early = parties.enrol_consumer(&did, &user.public().to_hex(), &claims);
        let early = early.unwrap_err();
        assert_eq!(early.code(), "did_not_on_chain");
        assert!(early.to_string().contains("not on the identity chain"));
        dids.send(&dids.sign_create(&user).unwrap()).unwrap();
        // Not with another key than the DID's.
        let other = SecretKey::from_label("custody/other").public().to_hex();
        assert!(parties.enrol_consumer(&did, &other, &claims).is_err());

        let vc = parties
            .enrol_consumer(&did, &user.public().to_hex(), &claims)
            .unwrap();
        assert_eq!(vc["credentialSubject"]["id"], did.as_str());
        let report = verify(&node, &vc);
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
