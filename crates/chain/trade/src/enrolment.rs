//! Enrolment: the operator binds a DID to a trade-chain key in a role (after checking its
//! KYC credential off the chain), re-binds it after a key rotation, and withdraws roles.
//! Part of [`crate::contract::TradeContract`]'s execution.

use suanli_ledger::contract::ContractError;

use crate::contract::Exec;
use crate::model::{PartyDid, Role};
use crate::op::TradeOp;
use crate::records::{Party, keyof_key, party_key};

fn err(code: &'static str, message: impl Into<String>) -> ContractError {
    ContractError::new(code, message)
}

impl Exec<'_, '_> {
    pub(crate) fn enroll(&mut self, op: TradeOp) -> Result<(), ContractError> {
        let TradeOp::Enroll {
            did,
            role,
            key,
            key_fragment,
            kyc_credential_id,
            kyc_credential_sha256,
        } = op
        else {
            return Err(err("malformed_call", "not an enrolment"));
        };
        self.require_operator()?;
        if self.agent(&key)?.is_some() {
            return Err(err(
                "key_in_use",
                format!("key {key} is a supplier's agent key"),
            ));
        }
        if let Some(bound) = self.state.get(&keyof_key(&key))
            && bound != did.as_str().as_bytes()
        {
            return Err(err(
                "key_in_use",
                format!("key {key} is already enrolled for another DID"),
            ));
        }
        let mut party = self.party(&did)?.unwrap_or(Party {
            did: did.clone(),
            key,
            key_fragment: key_fragment.clone(),
            key_since_ms: self.ctx.timestamp_ms,
            roles: Vec::new(),
            kyc_credential_id: None,
            kyc_credential_sha256: None,
            enrolled_at_ms: self.ctx.timestamp_ms,
        });
        if party.key != key || party.key_fragment != key_fragment {
            // Re-enrolment after a key rotation: the old key stops acting for the DID.
            self.state.delete(keyof_key(&party.key));
            if party.key != key {
                // The old key's delegations end with it (`docs/trade.md` §1.1).
                self.revoke_all_agents(&party)?;
            }
            party.key = key;
            party.key_fragment = key_fragment;
            party.key_since_ms = self.ctx.timestamp_ms;
        }
        if !party.has(role) {
            party.roles.push(role);
            party.roles.sort();
        }
        if kyc_credential_id.is_some() {
            party.kyc_credential_id = kyc_credential_id;
            party.kyc_credential_sha256 = kyc_credential_sha256;
        }
        self.state
            .put(keyof_key(&key), did.as_str().as_bytes().to_vec());
        self.put(party_key(&did), &party);
        Ok(())
    }

    pub(crate) fn unenroll(&mut self, did: &PartyDid, role: Role) -> Result<(), ContractError> {
        self.require_operator()?;
        let mut party = self
            .party(did)?
            .ok_or_else(|| err("not_enrolled", format!("{did} is not enrolled")))?;
        if !party.has(role) {
            return Err(err(
                "role_missing",
                format!("{did} is not enrolled as a {}", role.as_str()),
            ));
        }
        party.roles.retain(|r| *r != role);
        self.put(party_key(did), &party);
        Ok(())
    }
}
