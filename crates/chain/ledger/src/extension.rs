//! Pluggable system contracts: the identity, trade and channel contracts live in their own
//! crates (above this one) and are installed into every [`crate::ChainEngine`] of a node.
//! Their transactions carry a [`ContractCall`]: the contract's id and an opaque body the
//! contract decodes itself, so this crate never needs to know their operations.
//!
//! The installed set is part of a chain's rules: every node and every verifier of a
//! network must install the same contracts, or re-execution yields a different state
//! commitment (which `chain verify` reports as the first bad block).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use suanli_primitives::ChainKind;

use crate::contract::{ContractError, TxContext};
use crate::state::StateAccess;

/// Largest body of one contract call, in bytes (the envelope must still fit in
/// [`crate::tx::TX_BYTES_MAX`]).
pub const CALL_BODY_BYTES_MAX: usize = 15 * 1024;

/// The pluggable contracts a transaction can address. Each lives on exactly one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractId {
    /// DIDs, CPTs, authority-issuer list, credential status lists (identity chain).
    Identity,
    /// Trade modes and trade records (trade chain).
    Trade,
    /// Service channels (trade chain).
    Channel,
}

impl ContractId {
    pub const ALL: [ContractId; 3] = [ContractId::Identity, ContractId::Trade, ContractId::Channel];

    pub fn code(self) -> u16 {
        match self {
            ContractId::Identity => 1,
            ContractId::Trade => 2,
            ContractId::Channel => 3,
        }
    }

    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            ContractId::Identity => "identity",
            ContractId::Trade => "trade",
            ContractId::Channel => "channel",
        }
    }

    /// The chain this contract's transactions belong to.
    pub fn chain(self) -> ChainKind {
        match self {
            ContractId::Identity => ChainKind::Identity,
            ContractId::Trade | ContractId::Channel => ChainKind::Trade,
        }
    }
}

impl fmt::Display for ContractId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A call to an installed contract. The body is at most [`CALL_BODY_BYTES_MAX`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ContractCallDto", into = "ContractCallDto")]
pub struct ContractCall {
    contract: ContractId,
    body: Vec<u8>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("contract call body is {0} bytes, more than the {CALL_BODY_BYTES_MAX} allowed")]
pub struct CallTooLarge(pub usize);

impl ContractCall {
    pub fn new(contract: ContractId, body: Vec<u8>) -> Result<Self, CallTooLarge> {
        if body.len() > CALL_BODY_BYTES_MAX {
            return Err(CallTooLarge(body.len()));
        }
        Ok(ContractCall { contract, body })
    }
    pub fn contract(&self) -> ContractId {
        self.contract
    }
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

#[derive(Serialize, Deserialize)]
struct ContractCallDto {
    contract: ContractId,
    body_hex: String,
}

impl TryFrom<ContractCallDto> for ContractCall {
    type Error = String;
    fn try_from(dto: ContractCallDto) -> Result<Self, Self::Error> {
        let body = hex::decode(&dto.body_hex).map_err(|e| format!("body_hex: {e}"))?;
        ContractCall::new(dto.contract, body).map_err(|e| e.to_string())
    }
}

impl From<ContractCall> for ContractCallDto {
    fn from(call: ContractCall) -> Self {
        ContractCallDto {
            contract: call.contract,
            body_hex: hex::encode(&call.body),
        }
    }
}

/// A contract installed into the engine. Implementations must be deterministic: the same
/// body, context and state give the same writes and the same error on every machine.
pub trait ExtensionContract: Send + Sync + fmt::Debug {
    fn id(&self) -> ContractId;

    /// Stateless admission check (the body decodes and its fields are well formed), so a
    /// malformed call is refused at submission instead of being committed as a failure.
    fn check(&self, body: &[u8]) -> Result<(), ContractError>;

    /// Executes the call. On error the engine discards the call's writes and commits the
    /// error as the transaction's outcome.
    fn execute(
        &self,
        ctx: &TxContext<'_>,
        body: &[u8],
        state: &mut dyn StateAccess,
    ) -> Result<(), ContractError>;
}

/// The contracts installed into a node's engines. Cheap to clone.
#[derive(Clone, Default)]
pub struct Extensions {
    contracts: BTreeMap<ContractId, Arc<dyn ExtensionContract>>,
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.contracts.keys()).finish()
    }
}

impl Extensions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs `contract`, replacing any contract with the same id.
    pub fn with(mut self, contract: Arc<dyn ExtensionContract>) -> Self {
        self.contracts.insert(contract.id(), contract);
        self
    }

    pub fn get(&self, id: ContractId) -> Option<&Arc<dyn ExtensionContract>> {
        self.contracts.get(&id)
    }

    pub fn installed(&self) -> impl Iterator<Item = ContractId> + '_ {
        self.contracts.keys().copied()
    }

    /// Admission check of a call: the contract is installed and accepts the body.
    pub fn check(&self, call: &ContractCall) -> Result<(), ContractError> {
        self.require(call.contract())?.check(call.body())
    }

    pub(crate) fn execute(
        &self,
        ctx: &TxContext<'_>,
        call: &ContractCall,
        state: &mut dyn StateAccess,
    ) -> Result<(), ContractError> {
        self.require(call.contract())?
            .execute(ctx, call.body(), state)
    }

    fn require(&self, id: ContractId) -> Result<&Arc<dyn ExtensionContract>, ContractError> {
        self.get(id).ok_or_else(|| {
            ContractError::new(
                "contract_not_installed",
                format!("the {id} contract is not installed on this node"),
            )
        })
    }
}
