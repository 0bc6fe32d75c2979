//! The certification body's side of supplier onboarding for tests and the demo (issue 16,
//! `docs/supply.md` §1): on a harness with an embedded ledger, the identity chain's
//! genesis authority registers a qualification CPT and issues a qualification credential
//! about a company — what `suanli cpt register --qualification` and `suanli vc issue` do
//! against a node's API, here through the ledger client library on the embedded node.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use suanli_identity::contract::StateRead;
use suanli_identity::op::{IdentityOp, StatusPurpose};
use suanli_identity::{SuanliDid, urn};
use suanli_ledger::Payload;
use suanli_ledger_client::LedgerClient;
use suanli_primitives::{ChainKind, SecretKey};
use suanli_vc::credential::{CredentialDraft, SchemaRef, StatusRef};

use crate::WebtestError as WebError;

/// How long to wait for an identity operation to commit, in milliseconds.
pub const COMMIT_WAIT_MS: u64 = 10_000;

/// The title of the qualification CPT the authority registers.
pub const QUALIFICATION_TITLE: &str = "数据中心经营许可 IDC licence";

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

struct State<'a>(&'a dyn LedgerClient);

impl StateRead for State<'_> {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.state_get(ChainKind::Identity, key).ok().flatten()
    }
}

/// The identity chain's authority of an embedded node under `data_dir` (its operator key).
#[derive(Debug)]
pub struct Certifier {
    key: SecretKey,
    did: SuanliDid,
}

impl Certifier {
    /// The genesis operator of the node in `data_dir/node`, with its DID on the chain.
    pub fn open(client: &dyn LedgerClient, data_dir: &Path) -> Result<Self, WebError> {
        let key = SecretKey::load(&data_dir.join("node").join("operator.key")).map_err(internal)?;
        let network = client
            .chain_id(ChainKind::Identity)
            .map_err(internal)?
            .network()
            .clone();
        let did = SuanliDid::for_initial_key(network, &key.public());
        let count = suanli_identity::keys::did_count(did.id());
        if client
            .state_get(ChainKind::Identity, &count)
            .map_err(internal)?
            .is_none()
        {
            submit(client, &key, IdentityOp::CreateDid)?;
        }
        Ok(Self { key, did })
    }

    /// Registers a qualification CPT (claims: `unifiedSocialCreditCode`, `licence`);
    /// returns its id.
    pub fn register_cpt(&self, client: &dyn LedgerClient) -> Result<u32, WebError> {
        let id = suanli_identity::contract::next_cpt_id(&State(client)).map_err(internal)?;
        let schema = json!({"title": QUALIFICATION_TITLE,
            "description": "A data-centre operating licence (test and demo qualification).",
            "type": "object",
            "properties": {"unifiedSocialCreditCode": {"type": "string"},
                           "licence": {"type": "string", "minLength": 1}},
            "required": ["unifiedSocialCreditCode", "licence"], "additionalProperties": false});
        submit(
            client,
            &self.key,
            IdentityOp::RegisterCpt {
                publisher: self.did.id().clone(),
                cpt: None,
                qualification: true,
                schema_json: schema.to_string(),
            },
        )?;
        Ok(id)
    }

    /// A qualification credential on CPT `cpt` about the company with `credit_code`, with
    /// revocation bit `index`, valid for a year from `now_ms`.
    pub fn issue(
        &self,
        cpt: u32,
        credit_code: &str,
        index: u32,
        now_ms: u64,
    ) -> Result<Value, WebError> {
        let network = self.did.network().clone();
        let mut subject = serde_json::Map::new();
        subject.insert("unifiedSocialCreditCode".into(), json!(credit_code));
        subject.insert("licence".into(), json!("B1-2026-0042"));
        let draft = CredentialDraft {
            id: None,
            types: vec!["DataCentreLicence".into()],
            issuer: self.did.to_string(),
            subject,
            valid_from: now_ms,
            valid_until: Some(now_ms + 365 * 86_400_000),
            schema: Some(SchemaRef {
                id: urn::cpt(&network, cpt, 1),
            }),
            status: Some(StatusRef {
                list_credential: urn::StatusListId {
                    network,
                    issuer: self.did.id().clone(),
                    purpose: StatusPurpose::Revocation,
                    list: 0,
                }
                .urn(),
                index: u64::from(index),
                purpose: StatusPurpose::Revocation,
            }),
        };
        suanli_vc::credential::issue(&draft, &format!("{}#key-1", self.did), now_ms, &self.key)
            .map_err(internal)
    }

    /// Revokes the credential with revocation bit `index`.
    pub fn revoke(&self, client: &dyn LedgerClient, index: u32) -> Result<(), WebError> {
        submit(
            client,
            &self.key,
            IdentityOp::SetStatus {
                issuer: self.did.id().clone(),
                purpose: StatusPurpose::Revocation,
                list: 0,
                index,
                set: true,
            },
        )
    }
}

fn submit(client: &dyn LedgerClient, key: &SecretKey, op: IdentityOp) -> Result<(), WebError> {
    let call = op.to_call().map_err(internal)?;
    client
        .transact(
            ChainKind::Identity,
            key,
            Payload::Call(call),
            Duration::from_millis(COMMIT_WAIT_MS),
        )
        .map_err(internal)?;
    Ok(())
}
