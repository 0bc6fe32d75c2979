//! The platform's [`OnboardingLedger`] (issue 16, `docs/supply.md` §1) over a
//! [`LedgerClient`]: a supplier's qualification credential verified through the identity
//! chain with the chain's own resolver and the `suanli-vc` verifier — signature against the
//! issuer's key valid at issuance, the CPT a registered qualification template, the claims
//! valid for it and the issuer the authority or admitted when it issued, the validity
//! period, the status bit — and the roles a DID holds on the trade chain. State is read
//! through the client (an embedded node or a remote one over its API); a read that fails
//! makes the whole answer an error, never a failed check.

use std::cell::RefCell;
use std::sync::Arc;

use serde_json::Value;
use suanli_identity::contract::{CPT_ID_FIRST, StateRead};
use suanli_identity::{ChainResolver, DidId, urn};
use suanli_ledger_client::{LedgerClient, LedgerError};
use suanli_platform_http::PortError;
use suanli_platform_http::onboarding::{OnboardingLedger, QualificationCheck, QualificationReport};
use suanli_primitives::{ChainKind, Clock, NetworkName};
use suanli_trade::PartyDid;
use suanli_vc::verify::{CheckName, CheckOutcome, Verifier};

use crate::BridgeError;

/// Reads one chain's committed state through the client, remembering the first failure.
struct ClientState<'a> {
    ledger: &'a dyn LedgerClient,
    kind: ChainKind,
    failed: RefCell<Option<LedgerError>>,
}

impl<'a> ClientState<'a> {
    fn new(ledger: &'a dyn LedgerClient, kind: ChainKind) -> Self {
        Self {
            ledger,
            kind,
            failed: RefCell::new(None),
        }
    }

    /// The first failed read, if any.
    fn failure(self) -> Result<(), BridgeError> {
        match self.failed.into_inner() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

impl StateRead for ClientState<'_> {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.ledger.state_get(self.kind, key) {
            Ok(v) => v,
            Err(e) => {
                self.failed.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

/// Verifies qualification credentials and reads enrolments on a ledger.
#[derive(Debug)]
pub struct LedgerOnboarding {
    ledger: Arc<dyn LedgerClient>,
    network: NetworkName,
    /// The identity chain's genesis authority (head of the Authority-Issuer list).
    authority: DidId,
    /// The node's clock: "now" of the validity period.
    clock: Arc<dyn Clock>,
}

impl LedgerOnboarding {
    /// On `ledger`, whose identity chain's genesis authority is `authority`.
    pub fn new(
        ledger: Arc<dyn LedgerClient>,
        authority: DidId,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BridgeError> {
        let network = ledger.chain_id(ChainKind::Identity)?.network().clone();
        Ok(Self {
            ledger,
            network,
            authority,
            clock,
        })
    }

    /// The `cpt` check: the credential's schema is a registered qualification CPT of this
    /// network (the built-in KYC templates are not qualifications); with its title.
    fn cpt_check(
        &self,
        state: &ClientState<'_>,
        credential: &Value,
    ) -> (QualificationCheck, Option<String>) {
        let id = credential["credentialSchema"]["id"]
            .as_str()
            .unwrap_or_default();
        let Ok((network, cpt, version)) = urn::parse_cpt(id) else {
            return (
                QualificationCheck::failed(
                    "cpt",
                    "cpt_not_found",
                    format!("{id:?} is not a CPT URN"),
                ),
                None,
            );
        };
        if network != self.network {
            return (
                QualificationCheck::failed(
                    "cpt",
                    "cpt_not_found",
                    format!(
                        "CPT of network {network}, this identity chain is {}",
                        self.network
                    ),
                ),
                None,
            );
        }
        match suanli_identity::cpt::get(state, cpt, Some(version)) {
            Ok(Some(info)) if info.qualification && cpt >= CPT_ID_FIRST => {
                (QualificationCheck::passed("cpt"), Some(info.title))
            }
            Ok(Some(info)) => (
                QualificationCheck::failed(
                    "cpt",
                    "cpt_not_qualification",
                    format!(
                        "CPT {cpt} ({}) is not a registered qualification template",
                        info.title
                    ),
                ),
                Some(info.title),
            ),
            Ok(None) => (
                QualificationCheck::failed(
                    "cpt",
                    "cpt_not_found",
                    format!("no CPT {cpt} version {version} on the identity chain"),
                ),
                None,
            ),
            Err(e) => (
                QualificationCheck::failed("cpt", "cpt_not_found", e.to_string()),
                None,
            ),
        }
    }

    fn verify(&self, credential: &Value) -> Result<QualificationReport, BridgeError> {
        let state = ClientState::new(self.ledger.as_ref(), ChainKind::Identity);
        let now = self.clock.now_ms();
        let report = {
            let resolver = ChainResolver {
                state: &state,
                network: &self.network,
                authority: &self.authority,
            };
            Verifier {
                keys: &resolver,
                schemas: &resolver,
                status: &resolver,
            }
            .verify_credential(credential, now)
        };
        let (cpt, cpt_title) = self.cpt_check(&state, credential);
        state.failure()?;
        let mut checks = Vec::new();
        for (name, outcome) in &report.checks {
            if *name == CheckName::Schema {
                checks.push(cpt.clone());
            }
            checks.push(match outcome {
                CheckOutcome::Passed => QualificationCheck::passed(name.as_str()),
                CheckOutcome::Failed { code, message } => {
                    QualificationCheck::failed(name.as_str(), code, message.clone())
                }
                CheckOutcome::Skipped(why) => {
                    QualificationCheck::skipped(name.as_str(), why.clone())
                }
            });
        }
        if !checks.iter().any(|c| c.check == "cpt") {
            // A malformed document stops after `proof`; the CPT still says what it is.
            checks.push(cpt);
        }
        Ok(QualificationReport {
            checks,
            cpt_title,
            valid_until_ms: credential["validUntil"]
                .as_str()
                .and_then(|t| suanli_vc::time::parse_datetime_ms(t).ok()),
            verified_at_ms: now,
        })
    }

    fn roles(&self, did: &str) -> Result<Vec<String>, BridgeError> {
        let party = PartyDid::parse(did).map_err(|e| BridgeError::invalid("bad_did", e))?;
        let state = ClientState::new(self.ledger.as_ref(), ChainKind::Trade);
        let found = suanli_trade::view::party(&state, &party);
        state.failure()?;
        Ok(found
            .map(|p| p.roles.iter().map(|r| r.as_str().to_owned()).collect())
            .unwrap_or_default())
    }
}

impl OnboardingLedger for LedgerOnboarding {
    fn verify_qualification(&self, credential: &Value) -> Result<QualificationReport, PortError> {
        Ok(self.verify(credential)?)
    }

    fn trade_roles(&self, did: &str) -> Result<Vec<String>, PortError> {
        Ok(self.roles(did)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use suanli_identity::SuanliDid;
    use suanli_identity::op::{IdentityOp, StatusPurpose};
    use suanli_ledger::Payload;
    use suanli_platform_http::kyc::PartyEnrolment;
    use suanli_platform_http::onboarding::CheckState;
    use suanli_primitives::{SecretKey, SystemClock};
    use suanli_vc::credential::{CredentialDraft, SchemaRef, StatusRef};

    use crate::dids::{LedgerDids, LedgerParties};
    use suanli_platform_http::keys::DidRegistry;

    struct Chain {
        _dir: tempfile::TempDir,
        node: Arc<suanli_node::Node>,
        producers: Vec<std::thread::JoinHandle<()>>,
        operator: SecretKey,
        network: NetworkName,
    }

    impl Chain {
        fn open() -> Self {
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
            let network = node.chain_id(ChainKind::Identity).network().clone();
            Self {
                _dir: dir,
                node,
                producers,
                operator,
                network,
            }
        }

        fn client(&self) -> Arc<dyn LedgerClient> {
            Arc::clone(&self.node) as Arc<dyn LedgerClient>
        }

        fn submit(&self, key: &SecretKey, op: IdentityOp) {
            self.client()
                .transact(
                    ChainKind::Identity,
                    key,
                    Payload::Call(op.to_call().unwrap()),
                    std::time::Duration::from_secs(10),
                )
                .unwrap();
        }

        fn did(&self, key: &SecretKey) -> SuanliDid {
            SuanliDid::for_initial_key(self.network.clone(), &key.public())
        }

        fn register_cpt(&self, qualification: bool, title: &str) {
            let schema = json!({"title": title, "description": "a test qualification",
                "type": "object", "properties": {"licence": {"type": "string"},
                    "unifiedSocialCreditCode": {"type": "string"}},
                "required": ["licence", "unifiedSocialCreditCode"], "additionalProperties": false});
            self.submit(
                &self.operator,
                IdentityOp::RegisterCpt {
                    publisher: self.did(&self.operator).id().clone(),
                    cpt: None,
                    qualification,
                    schema_json: schema.to_string(),
                },
            );
        }

        /// A credential about the company 91350100M000100Y43 on CPT `cpt` signed by `key`, with status bit
        /// `index` of its issuer's revocation list 0.
        fn issue(&self, key: &SecretKey, cpt: u32, claims: Value, index: u32) -> Value {
            let issuer = self.did(key);
            let mut subject = claims.as_object().cloned().unwrap();
            subject.insert(
                "unifiedSocialCreditCode".into(),
                json!("91350100M000100Y43"),
            );
            let now = self.node.now_ms();
            let draft = CredentialDraft {
                id: None,
                types: vec!["DataCentreLicence".into()],
                issuer: issuer.to_string(),
                subject,
                valid_from: now,
                valid_until: Some(now + 86_400_000),
                schema: Some(SchemaRef {
                    id: urn::cpt(&self.network, cpt, 1),
                }),
                status: Some(StatusRef {
                    list_credential: urn::StatusListId {
                        network: self.network.clone(),
                        issuer: issuer.id().clone(),
                        purpose: StatusPurpose::Revocation,
                        list: 0,
                    }
                    .urn(),
                    index: u64::from(index),
                    purpose: StatusPurpose::Revocation,
                }),
            };
            suanli_vc::credential::issue(&draft, &format!("{issuer}#key-1"), now, key).unwrap()
        }

        fn stop(self) {
            self.node.stop();
            self.producers.into_iter().for_each(|p| p.join().unwrap());
        }
    }

    fn failed(report: &QualificationReport) -> Option<(String, String)> {
        report
            .first_failure()
            .map(|c| (c.check.clone(), c.code.clone().unwrap_or_default()))
    }

    #[test]
    fn qualification_credentials_are_verified_through_the_identity_chain() {
        let chain = Chain::open();
        let authority = DidId::derive(&chain.operator.public());
        chain.submit(&chain.operator, IdentityOp::CreateDid);
        chain.register_cpt(true, "数据中心经营许可 IDC licence"); // CPT 1000
        chain.register_cpt(false, "a plain template"); // CPT 1001
        let stranger = SecretKey::from_label("onboarding/stranger");
        chain.submit(&stranger, IdentityOp::CreateDid);
        let onboarding =
            LedgerOnboarding::new(chain.client(), authority, Arc::new(SystemClock)).unwrap();
        let claims = json!({"licence": "B1-2026-001"});

        // Issued by the authority on a qualification CPT: every check passes.
        let good = chain.issue(&chain.operator, CPT_ID_FIRST, claims.clone(), 0);
        let report = onboarding.verify_qualification(&good).unwrap();
        assert!(report.ok(), "{report:?}");
        let names: Vec<&str> = report.checks.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            names,
            [
                "proof",
                "issuer_key",
                "cpt",
                "schema",
                "validity_period",
                "status"
            ]
        );
        assert_eq!(
            report.cpt_title.as_deref(),
            Some("数据中心经营许可 IDC licence")
        );
        assert!(report.valid_until_ms.is_some());

        // Each way to fail names its check and code.
        let cases = [
            (
                chain.issue(&chain.operator, CPT_ID_FIRST + 1, claims.clone(), 1),
                ("cpt", "cpt_not_qualification"),
            ),
            (
                chain.issue(&stranger, CPT_ID_FIRST, claims.clone(), 0),
                ("schema", "issuer_not_admitted"),
            ),
            (
                chain.issue(
                    &SecretKey::from_label("onboarding/nobody"),
                    CPT_ID_FIRST,
                    claims.clone(),
                    0,
                ),
                ("issuer_key", "did_not_found"),
            ),
            (
                chain.issue(&chain.operator, CPT_ID_FIRST, json!({"licence": 7}), 2),
                ("schema", "claims_violate_schema"),
            ),
            (
                {
                    let mut v = good.clone();
                    v["credentialSubject"]["licence"] = json!("forged");
                    v
                },
                ("proof", "proof_signature_invalid"),
            ),
        ];
        for (vc, (check, code)) in cases {
            let report = onboarding.verify_qualification(&vc).unwrap();
            assert_eq!(
                failed(&report),
                Some((check.to_owned(), code.to_owned())),
                "{report:?}"
            );
        }

        // Revoked by its issuer: the status check fails from then on.
        let revocable = chain.issue(&chain.operator, CPT_ID_FIRST, claims, 3);
        assert!(onboarding.verify_qualification(&revocable).unwrap().ok());
        chain.submit(
            &chain.operator,
            IdentityOp::SetStatus {
                issuer: DidId::derive(&chain.operator.public()),
                purpose: StatusPurpose::Revocation,
                list: 0,
                index: 3,
                set: true,
            },
        );
        let report = onboarding.verify_qualification(&revocable).unwrap();
        assert_eq!(
            failed(&report),
            Some(("status".to_owned(), "revoked".to_owned()))
        );
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.outcome == CheckState::Passed)
        );
        chain.stop();
    }

    #[test]
    fn a_supplier_is_enrolled_with_a_verifying_kyc_supplier_credential_and_retries_are_safe() {
        let chain = Chain::open();
        let authority = DidId::derive(&chain.operator.public());
        let dids = LedgerDids::new(chain.client()).unwrap();
        let parties = LedgerParties::new(
            chain.client(),
            Arc::new(SystemClock),
            chain.operator.clone(),
        );
        let onboarding =
            LedgerOnboarding::new(chain.client(), authority, Arc::new(SystemClock)).unwrap();
        let admin = SecretKey::from_label("onboarding/supplier-admin");
        let did = dids.did_of(&admin.public());
        dids.send(&dids.sign_create(&admin).unwrap()).unwrap();
        assert!(onboarding.trade_roles(&did).unwrap().is_empty());
        let claims = json!({
            "organisationName": "GPU Park", "unifiedSocialCreditCode": "91350100M000100Y43",
            "legalRepresentative": "Zhang San",
            "qualifications": [{"name": "IDC licence", "number": "B1-2026-001"}],
            "contact": {"name": "Li Si", "phone": "13800138000"}});
        let public = admin.public().to_hex();
        let vc = parties.enrol_supplier(&did, &public, &claims).unwrap();
        assert_eq!(vc["credentialSubject"]["id"], did.as_str());
        assert!(vc["id"].as_str().unwrap().contains(":kyc-supplier:"));
        assert!(
            vc["credentialSchema"]["id"]
                .as_str()
                .unwrap()
                .ends_with(":cpt:3:1"),
            "{vc}"
        );
        assert_eq!(onboarding.trade_roles(&did).unwrap(), ["supplier"]);
        // Again (a retry after a lost answer): same credential id, still one role.
        let again = parties.enrol_supplier(&did, &public, &claims).unwrap();
        assert_eq!(again["id"], vc["id"]);
        assert_eq!(onboarding.trade_roles(&did).unwrap(), ["supplier"]);
        // Claims the kyc-supplier template refuses are never signed.
        let bad = json!({"organisationName": "GPU Park"});
        assert!(parties.enrol_supplier(&did, &public, &bad).is_err());
        chain.stop();
    }
}
