//! Trade-chain operations: the typed body of a trade [`ContractCall`], encoded as JSON
//! (UTF-8, at most the ledger's call body limit, unknown fields refused), and the exact
//! bytes the parties' record signatures cover (seed 003 eq. 6, 7, 8 and 11).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use suanli_ledger::{ContractCall, ContractId};
use suanli_primitives::hash::sha256_parts;
use suanli_primitives::{Fen, PositiveFen, PublicKey, SecretKey, Signature};

use crate::model::{
    CloseReason, InvalidValue, ModeTerms, OfferTerms, PartyDid, Requirements, Role, Scores, Serial,
};
use crate::wallet::{ChannelDelegation, WALLET_REFERENCE_LEN_MAX, WalletName};

/// Longest credential id (the KYC credential an enrollment rests on), in bytes.
pub const CREDENTIAL_ID_LEN_MAX: usize = 256;

/// One trade-chain operation. Who may sign each is written on the variant; the contract
/// refuses anyone else with a named rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum TradeOp {
    /// Operator: platform policy (whether browse records are kept).
    SetPolicy { record_browse: bool },
    /// Operator: binds `did` to the trade-chain key `key` in `role`, after checking the
    /// party's KYC credential on the identity chain (suppliers and consumers name it).
    Enroll {
        did: PartyDid,
        role: Role,
        key: PublicKey,
        /// The fragment of `key` in the DID document (`key-1` for a DID's first key):
        /// record credentials must name exactly this verification method.
        #[serde(default = "default_key_fragment")]
        key_fragment: String,
        #[serde(default)]
        kyc_credential_id: Option<String>,
        #[serde(default)]
        kyc_credential_sha256: Option<String>,
    },
    /// Operator: withdraws a role (e.g. after the KYC credential was revoked). Running
    /// trades go on; no new mode, offer or order.
    Unenroll { did: PartyDid, role: Role },
    /// Supplier: publishes a trade mode; it gets the next mode id.
    PublishMode { terms: ModeTerms },
    /// Supplier: publishes an offer under one of its modes; it gets the next offer id.
    PublishOffer { terms: OfferTerms },
    /// Supplier: withdraws an offer (running trades go on).
    WithdrawOffer { offer_id: u64 },
    /// Consumer: browse record (ConType_1), kept only when the policy says so.
    Browse {
        serial: Serial,
        supplier: PartyDid,
        time_ms: u64,
        signature: Signature,
    },
    /// Consumer: order request (ConType_2), escrowing `value_fen` settlement credits.
    Order {
        serial: Serial,
        offer_id: u64,
        time_ms: u64,
        requirements: Requirements,
        value_fen: PositiveFen,
        signature: Signature,
        /// Pay from this organisation wallet (the signer must be a member) instead of the
        /// signer's own balance; refunds go back to it. Covered by the signature (v2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wallet: Option<WalletName>,
        /// The consumer's channel side delegated to this key for this trade only. Covered
        /// by the signature (v2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<ChannelDelegation>,
    },
    /// Supplier: contract (ConType_3): countersigns the consumer's order signature and
    /// issues the trade-start credential.
    Accept {
        serial: Serial,
        signature: Signature,
        /// Encoded with the members of every object in ascending key order.
        #[serde(serialize_with = "crate::record_data::sorted_value")]
        credential: Value,
    },
    /// Consumer: adds settlement credits to the escrow of an open trade.
    Fund {
        serial: Serial,
        amount_fen: PositiveFen,
    },
    /// Supplier: one period's check-in with its check-in credential.
    Checkin {
        serial: Serial,
        start_ms: u64,
        end_ms: u64,
        cost_fen: Fen,
        /// Encoded with the members of every object in ascending key order.
        #[serde(serialize_with = "crate::record_data::sorted_value")]
        credential: Value,
    },
    /// A party: ends the trade.
    Close { serial: Serial, reason: CloseReason },
    /// Consumer: the rating (ConType_4), once, after close.
    Rate {
        serial: Serial,
        time_ms: u64,
        scores: Scores,
        signature: Signature,
    },
    /// Supplier (its own enrolled key): delegates `key` to its agent. The agent key may
    /// then sign, for this supplier only, `accept`, `checkin`, `close` and the channel
    /// operations; its credentials name `<supplier>#<key_fragment>` (the key is added to
    /// the supplier's DID document under that fragment on the identity chain). `proof` is
    /// the agent key's signature over [`agent_proof_digest`]: the supplier holds (or was
    /// given by its holder) a key it delegates, so it cannot claim another's key.
    AuthoriseAgent {
        key: PublicKey,
        key_fragment: String,
        proof: Signature,
    },
    /// Supplier (its own enrolled key): revokes an agent key, permanently.
    RevokeAgent { key: PublicKey },
    /// Operator: money in — mints `amount_fen` settlement credits into a wallet.
    WalletMint {
        wallet: WalletName,
        amount_fen: PositiveFen,
        reference: String,
    },
    /// Operator: money out — burns `amount_fen` from a wallet.
    WalletBurn {
        wallet: WalletName,
        amount_fen: PositiveFen,
        reference: String,
    },
    /// Operator: records `did` as a member of a wallet who may have at most `limit_fen`
    /// out of it (0 blocks new orders; what is spent stays counted).
    WalletMember {
        wallet: WalletName,
        did: PartyDid,
        limit_fen: Fen,
    },
    /// Operator: suspends a wallet (no orders, top-ups or bonds from it) or lifts that.
    WalletSuspend { wallet: WalletName, suspended: bool },
    /// Supplier (its own enrolled key): adopts version 1 of CPT `cpt`, registered by its
    /// DID on the identity chain with exactly `schema` (checked at admission), as the
    /// template of its `purpose` credentials, so its modes may name it.
    AdoptCpt {
        cpt: u32,
        purpose: crate::cpts::CptPurpose,
        /// Encoded with the members of every object in ascending key order.
        #[serde(serialize_with = "crate::record_data::sorted_value")]
        schema: Value,
    },
}

fn default_key_fragment() -> String {
    "key-1".into()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    #[error("the trade operation is not valid JSON of a known shape: {0}")]
    Decode(String),
    #[error("{0}")]
    Invalid(#[from] InvalidValue),
    #[error("the operation is {0} bytes, more than a contract call may carry")]
    TooLarge(usize),
}

impl TradeOp {
    pub fn decode(body: &[u8]) -> Result<Self, OpError> {
        let op: TradeOp =
            serde_json::from_slice(body).map_err(|e| OpError::Decode(e.to_string()))?;
        op.check()?;
        Ok(op)
    }

    pub fn encode(&self) -> Vec<u8> {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn to_call(&self) -> Result<ContractCall, OpError> {
        let body = self.encode();
        let len = body.len();
        ContractCall::new(ContractId::Trade, body).map_err(|_| OpError::TooLarge(len))
    }

    /// Stateless checks of the fields.
    pub fn check(&self) -> Result<(), InvalidValue> {
        match self {
            TradeOp::Enroll {
                role,
                key_fragment,
                kyc_credential_id,
                kyc_credential_sha256,
                ..
            } => {
                suanli_identity::Fragment::new(key_fragment)?;
                Ok(check_enroll(
                    *role,
                    kyc_credential_id,
                    kyc_credential_sha256,
                )?)
            }
            TradeOp::AuthoriseAgent { key_fragment, .. } => {
                suanli_identity::Fragment::new(key_fragment)?;
                Ok(())
            }
            TradeOp::AdoptCpt { cpt, .. } => {
                if *cpt < suanli_identity::contract::CPT_ID_FIRST {
                    return Err(InvalidValue::from(format!(
                        "only registered CPTs (ids from {}) are adopted; built-ins need no adoption",
                        suanli_identity::contract::CPT_ID_FIRST
                    )));
                }
                Ok(())
            }
            TradeOp::PublishMode { terms } => terms.check(),
            TradeOp::PublishOffer { terms } => terms.check(),
            // Amounts are never negative (`Fen`), orders and top-ups never zero
            // (`PositiveFen`): decoding refuses them.
            TradeOp::Order {
                requirements,
                channel,
                ..
            } => {
                requirements.check()?;
                channel.as_ref().map_or(Ok(()), ChannelDelegation::check)
            }
            TradeOp::WalletMint { reference, .. } | TradeOp::WalletBurn { reference, .. } => {
                if reference.is_empty() || reference.len() > WALLET_REFERENCE_LEN_MAX {
                    return Err(InvalidValue::from(format!(
                        "reference must be 1..={WALLET_REFERENCE_LEN_MAX} bytes"
                    )));
                }
                Ok(())
            }
            TradeOp::Checkin {
                start_ms, end_ms, ..
            } => {
                if end_ms <= start_ms {
                    return Err(InvalidValue::from(
                        "a check-in period must end after it starts".to_owned(),
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn check_enroll(
    role: Role,
    credential_id: &Option<String>,
    credential_hash: &Option<String>,
) -> Result<(), String> {
    match (role, credential_id, credential_hash) {
        (Role::Regulator, _, _) => {}
        (_, Some(id), Some(hash)) => {
            if id.is_empty() || id.len() > CREDENTIAL_ID_LEN_MAX {
                return Err(format!(
                    "kyc_credential_id must be 1..={CREDENTIAL_ID_LEN_MAX} bytes"
                ));
            }
            if hash.len() != 64 || hex::decode(hash).is_err() {
                return Err("kyc_credential_sha256 must be 64 hex characters".into());
            }
        }
        (role, _, _) => {
            return Err(format!(
                "a {} is enrolled on its KYC credential: name kyc_credential_id and kyc_credential_sha256",
                role.as_str()
            ));
        }
    }
    Ok(())
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// What the consumer signs for a browse record (seed 003 eq. 6):
/// SHA-256("suanli/trade/browse/v1" ‖ serial ‖ time ‖ supplier).
pub fn browse_digest(serial: &Serial, time_ms: u64, supplier: &PartyDid) -> [u8; 32] {
    let mut s = Vec::new();
    field(&mut s, supplier.as_str().as_bytes());
    *sha256_parts(&[
        b"suanli/trade/browse/v1".as_slice(),
        serial.as_bytes(),
        &time_ms.to_be_bytes(),
        &s,
    ])
    .as_bytes()
}

/// What the consumer signs for an order request (seed 003 eq. 7): SHA-256 over
/// "suanli/trade/order/v1" ‖ serial ‖ time ‖ supplier ‖ offer id ‖ requirement list ‖ value.
pub fn order_digest(
    serial: &Serial,
    time_ms: u64,
    supplier: &PartyDid,
    offer_id: u64,
    requirements: &Requirements,
    value_fen: PositiveFen,
) -> [u8; 32] {
    let mut s = Vec::new();
    field(&mut s, supplier.as_str().as_bytes());
    *sha256_parts(&[
        b"suanli/trade/order/v1".as_slice(),
        serial.as_bytes(),
        &time_ms.to_be_bytes(),
        &s,
        &offer_id.to_be_bytes(),
        &requirements.signing_bytes(),
        &value_fen.get().to_be_bytes(),
    ])
    .as_bytes()
}

/// What the consumer signs for an order that pays from a wallet or delegates its channel
/// side (`docs/trade.md` §3): the v1 fields under the tag "suanli/trade/order/v2", then
/// len‖wallet (empty: none), a flag byte (1: a delegation follows, 0: none) and the
/// delegation's key (32 bytes) ‖ len‖endpoint ‖ valid_until_ms u64 BE. An order with
/// neither signs [`order_digest`] (v1), so v1 signatures keep verifying.
pub fn order_digest_v2(
    v1: OrderFields<'_>,
    wallet: Option<&WalletName>,
    channel: Option<&ChannelDelegation>,
) -> [u8; 32] {
    if wallet.is_none() && channel.is_none() {
        return order_digest(
            v1.serial,
            v1.time_ms,
            v1.supplier,
            v1.offer_id,
            v1.requirements,
            v1.value_fen,
        );
    }
    let mut s = Vec::new();
    field(&mut s, v1.supplier.as_str().as_bytes());
    let mut extra = Vec::new();
    field(&mut extra, wallet.map_or("", WalletName::as_str).as_bytes());
    match channel {
        None => extra.push(0),
        Some(d) => {
            extra.push(1);
            extra.extend_from_slice(d.key.as_bytes());
            field(&mut extra, d.endpoint.as_bytes());
            extra.extend_from_slice(&d.valid_until_ms.to_be_bytes());
        }
    }
    *sha256_parts(&[
        b"suanli/trade/order/v2".as_slice(),
        v1.serial.as_bytes(),
        &v1.time_ms.to_be_bytes(),
        &s,
        &v1.offer_id.to_be_bytes(),
        &v1.requirements.signing_bytes(),
        &v1.value_fen.get().to_be_bytes(),
        &extra,
    ])
    .as_bytes()
}

/// The fields an order digest covers besides the wallet and the delegation.
#[derive(Debug, Clone, Copy)]
pub struct OrderFields<'a> {
    pub serial: &'a Serial,
    pub time_ms: u64,
    pub supplier: &'a PartyDid,
    pub offer_id: u64,
    pub requirements: &'a Requirements,
    pub value_fen: PositiveFen,
}

/// What the supplier signs to countersign (seed 003 eq. 8): the consumer's order
/// signature, under a domain tag.
pub fn contract_message(consumer_signature: &Signature) -> Vec<u8> {
    let mut m = b"suanli/trade/contract/v1".to_vec();
    m.extend_from_slice(consumer_signature.as_bytes());
    m
}

/// What the consumer signs for a rating (seed 003 eq. 11): SHA-256 over
/// "suanli/trade/rating/v1" ‖ serial ‖ time ‖ supplier ‖ overall (thousandths) ‖ scores.
pub fn rating_digest(
    serial: &Serial,
    time_ms: u64,
    supplier: &PartyDid,
    overall_milli: u32,
    scores: &Scores,
) -> [u8; 32] {
    let mut s = Vec::new();
    field(&mut s, supplier.as_str().as_bytes());
    let mut list = Vec::new();
    for (resource, score) in scores.iter() {
        field(&mut list, resource.as_str().as_bytes());
        list.push(score);
    }
    *sha256_parts(&[
        b"suanli/trade/rating/v1".as_slice(),
        serial.as_bytes(),
        &time_ms.to_be_bytes(),
        &s,
        &overall_milli.to_be_bytes(),
        &list,
    ])
    .as_bytes()
}

/// What an agent key signs to consent to act for a supplier (`authorise_agent`'s proof of
/// possession): SHA-256("suanli/trade/agent/v1" ‖ len‖supplier DID ‖ key ‖
/// len‖key_fragment). The supplier DID names the network, so a proof serves one network,
/// one supplier and one fragment.
pub fn agent_proof_digest(supplier: &PartyDid, key: &PublicKey, key_fragment: &str) -> [u8; 32] {
    let mut s = Vec::new();
    field(&mut s, supplier.as_str().as_bytes());
    s.extend_from_slice(key.as_bytes());
    field(&mut s, key_fragment.as_bytes());
    *sha256_parts(&[b"suanli/trade/agent/v1".as_slice(), &s]).as_bytes()
}

/// The agent's proof of possession for `authorise_agent` (see [`agent_proof_digest`]).
pub fn agent_proof(agent: &SecretKey, supplier: &PartyDid, key_fragment: &str) -> Signature {
    agent.sign(&agent_proof_digest(supplier, &agent.public(), key_fragment))
}

/// What a party or regulator signs to read a trade's full records through a node:
/// SHA-256("suanli/trade/read/v2" ‖ chain id ‖ reader DID ‖ subject ‖ time), where the
/// subject is the serial or the DID whose history is read. Binding the chain and the
/// reader keeps a request from being used on another network or by another DID; it stays
/// usable for [`crate::contract::TIME_SKEW_MS_MAX`] by whoever holds it (send it over TLS).
pub fn read_digest(chain: &str, reader: &PartyDid, subject: &str, time_ms: u64) -> [u8; 32] {
    let mut s = Vec::new();
    field(&mut s, chain.as_bytes());
    field(&mut s, reader.as_str().as_bytes());
    field(&mut s, subject.as_bytes());
    *sha256_parts(&[
        b"suanli/trade/read/v2".as_slice(),
        &s,
        &time_ms.to_be_bytes(),
    ])
    .as_bytes()
}

/// Signs a digest (the record signatures sign the 32-byte hash, as seed 003 does).
pub fn sign_digest(key: &SecretKey, digest: &[u8; 32]) -> Signature {
    key.sign(digest)
}

pub fn verify_digest(key: &PublicKey, digest: &[u8; 32], signature: &Signature) -> bool {
    key.verify(digest, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        let bad =
            br#"{"op":"fund","serial":"00112233445566778899aabbccddeeff","amount_fen":5,"x":1}"#;
        assert!(matches!(TradeOp::decode(bad), Err(OpError::Decode(_))));
        // Zero and negative amounts do not decode (`PositiveFen`).
        let zero = br#"{"op":"fund","serial":"00112233445566778899aabbccddeeff","amount_fen":0}"#;
        assert!(matches!(TradeOp::decode(zero), Err(OpError::Decode(_))));
        let negative =
            br#"{"op":"fund","serial":"00112233445566778899aabbccddeeff","amount_fen":-5}"#;
        assert!(matches!(TradeOp::decode(negative), Err(OpError::Decode(_))));
        let ok = br#"{"op":"fund","serial":"00112233445566778899aabbccddeeff","amount_fen":5}"#;
        assert!(TradeOp::decode(ok).is_ok());
    }

    #[test]
    fn enrolling_a_supplier_needs_its_kyc_credential() {
        let did = "did:suanli:t:11111111111111111111111";
        let body = format!(
            r#"{{"op":"enroll","did":"{did}","role":"supplier","key":"{}"}}"#,
            SecretKey::from_label("k").public().to_hex()
        );
        match TradeOp::decode(body.as_bytes()) {
            Err(OpError::Invalid(m)) => assert!(m.0.contains("KYC"), "{m}"),
            Err(OpError::Decode(m)) if m.contains("did") => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn digests_differ_in_every_field() {
        let serial = Serial::from_bytes([1; 16]);
        let other = Serial::from_bytes([2; 16]);
        let did = PartyDid::parse(&format!(
            "did:suanli:t:{}",
            suanli_identity::DidId::derive(&SecretKey::from_label("s").public())
        ))
        .unwrap();
        let req = Requirements {
            spec: "a".into(),
            quantity: 1,
            duration_minutes: 60,
        };
        let fen = |raw| PositiveFen::new(raw).unwrap();
        let base = order_digest(&serial, 1, &did, 1, &req, fen(100));
        assert_ne!(base, order_digest(&other, 1, &did, 1, &req, fen(100)));
        assert_ne!(base, order_digest(&serial, 2, &did, 1, &req, fen(100)));
        assert_ne!(base, order_digest(&serial, 1, &did, 2, &req, fen(100)));
        assert_ne!(base, order_digest(&serial, 1, &did, 1, &req, fen(101)));
        let req2 = Requirements {
            quantity: 2,
            ..req.clone()
        };
        assert_ne!(base, order_digest(&serial, 1, &did, 1, &req2, fen(100)));
    }
}
