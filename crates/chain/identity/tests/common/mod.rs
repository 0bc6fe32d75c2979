//! Shared harness: an identity chain driven through the real ledger engine with the
//! identity contract installed, one transaction per block, time under test control.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use suanli_identity::op::IdentityOp;
use suanli_identity::{DidId, IdentityContract, SuanliDid};
use suanli_ledger::{ChainEngine, Extensions, Genesis, Outcome, Payload, Transaction};
use suanli_primitives::{ChainId, ChainKind, NetworkName, PublicKey, SecretKey};

pub const T0: u64 = 1_700_000_000_000;

pub struct Chain {
    pub engine: ChainEngine,
    proposer: SecretKey,
    pub now_ms: u64,
    nonces: HashMap<PublicKey, u64>,
    pub network: NetworkName,
    pub authority: SecretKey,
}

impl Chain {
    pub fn new() -> Self {
        let network = NetworkName::new("suanli-test").unwrap();
        let proposer = SecretKey::from_label("proposer");
        let authority = SecretKey::from_label("authority");
        let genesis = Genesis::new(
            ChainId::new(network.clone(), ChainKind::Identity),
            T0,
            vec![proposer.public()],
            authority.public(),
        )
        .unwrap();
        let block0 = ChainEngine::genesis_block(&genesis, &proposer);
        let engine = ChainEngine::from_genesis(genesis, &block0.header)
            .unwrap()
            .with_extensions(Extensions::new().with(Arc::new(IdentityContract)));
        Chain {
            engine,
            proposer,
            now_ms: T0,
            nonces: HashMap::new(),
            network,
            authority,
        }
    }

    /// Admission check then one block with this transaction. `Err(code)` when refused at
    /// admission or committed as failed.
    pub fn submit(&mut self, key: &SecretKey, op: IdentityOp) -> Result<(), Refusal> {
        self.submit_payload(key, Payload::Call(op.to_call().unwrap()))
    }

    /// [`Chain::submit`] for any payload (an anchor, say).
    pub fn submit_payload(&mut self, key: &SecretKey, payload: Payload) -> Result<(), Refusal> {
        let nonce = self.nonces.entry(key.public()).or_default();
        let tx = Transaction::sign(self.engine.chain(), key, *nonce, payload);
        *nonce += 1;
        self.now_ms += 1_000;
        if let Err(e) = self.engine.check_call(&tx) {
            *self.nonces.get_mut(&key.public()).unwrap() -= 1;
            return Err(Refusal::Inadmissible(e.to_string()));
        }
        let executed = self
            .engine
            .execute(vec![tx], self.now_ms, self.proposer.public())
            .unwrap();
        let outcome = executed.outcomes[0].clone();
        let header = executed.header.seal(&self.proposer);
        self.engine.commit(header, executed.writes);
        match outcome {
            Outcome::Applied => Ok(()),
            Outcome::Failed { reason } => Err(Refusal::Failed(
                reason.split(':').next().unwrap_or_default().to_owned(),
            )),
        }
    }

    pub fn did_of(&self, key: &SecretKey) -> SuanliDid {
        SuanliDid::for_initial_key(self.network.clone(), &key.public())
    }

    pub fn id_of(key: &SecretKey) -> DidId {
        DidId::derive(&key.public())
    }

    /// Creates the DID of `key` and returns it.
    pub fn create(&mut self, key: &SecretKey) -> SuanliDid {
        self.submit(key, IdentityOp::CreateDid).unwrap();
        self.did_of(key)
    }

    /// Creates the authority's DID.
    pub fn bootstrap_authority(&mut self) -> SuanliDid {
        let authority = self.authority.clone();
        self.create(&authority)
    }

    pub fn state(&self) -> &suanli_ledger::State {
        self.engine.state()
    }
}

/// Why the harness chain did not apply a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Refused at admission (the call does not decode or check): the engine's message.
    Inadmissible(String),
    /// Included but failed: the rule's stable code.
    Failed(String),
}

impl Refusal {
    /// Whether the refusal's text contains `part`.
    pub fn contains(&self, part: &str) -> bool {
        self.to_string().contains(part)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Inadmissible(m) => write!(f, "rejected: {m}"),
            Refusal::Failed(code) => f.write_str(code),
        }
    }
}

/// A failure with `code` (for `assert_eq!(…, Err("code".into()))`).
impl From<&str> for Refusal {
    fn from(code: &str) -> Self {
        Refusal::Failed(code.to_owned())
    }
}
