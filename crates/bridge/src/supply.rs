//! The platform's [`SupplyLedger`] on the trade chain (`docs/supply.md` §2): a supplier's
//! trade modes and offers are published — and offers withdrawn — by transactions signed
//! with the supplier's own key (the administrator's DID key, opened by the platform for
//! the one request and dropped after it). The chain applies the operation only for a key
//! enrolled in role `supplier`, and names the supplier from that key: the stored mode or
//! offer carries the supplier's DID, which a reader checks against the key's enrolment.
//!
//! The id a new mode or offer got is found after the commit by scanning from the chain's
//! next id before it for the record with this supplier and exactly these terms (other
//! parties may publish in between).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use suanli_ledger::Payload;
use suanli_ledger_client::{LedgerClient, LedgerError};
use suanli_platform_http::PortError;
use suanli_platform_http::supply_ledger::{ChainMode, ChainOffer, Published, SupplyLedger};
use suanli_primitives::{ChainKind, Fen, SecretKey};
use suanli_trade::model::{Encryption, ModeTerms, OfferTerms, Resource, Weights};
use suanli_trade::records::{MODE_NEXT_KEY, Mode, OFFER_NEXT_KEY, Offer, mode_key, offer_key};
use suanli_trade::{PartyDid, TradeOp};

use crate::BridgeError;

/// Longest to wait for a supplier's transaction to commit, in milliseconds.
pub const SUPPLY_COMMIT_TIMEOUT_MS: u64 = 15_000;
/// Most ids scanned for the mode or offer just published.
pub const PUBLISHED_SCAN_MAX: u64 = 1_000;

/// Publishes suppliers' modes and offers on the trade chain of a ledger.
#[derive(Debug)]
pub struct LedgerSupply {
    ledger: Arc<dyn LedgerClient>,
    /// One publication at a time: a signer's nonces are taken in order, and the scan for
    /// the new id starts from the id before this commit.
    serial: Mutex<()>,
}

fn refused(code: &'static str, message: impl Into<String>) -> BridgeError {
    BridgeError::Invalid {
        code,
        message: message.into(),
    }
}

/// A committed transaction the contract refused is the chain's answer to show the
/// supplier (with its reason); anything else is a ledger failure.
fn chain_answer(e: LedgerError) -> BridgeError {
    match e {
        LedgerError::Failed { reason, .. } => refused("chain_refused", reason),
        other => BridgeError::Ledger(other),
    }
}

fn read<T: DeserializeOwned>(
    ledger: &dyn LedgerClient,
    key: &[u8],
) -> Result<Option<T>, BridgeError> {
    match ledger.state_get(ChainKind::Trade, key)? {
        None => Ok(None),
        Some(b) => Ok(Some(serde_json::from_slice(&b)?)),
    }
}

fn next_id(ledger: &dyn LedgerClient, key: &[u8]) -> Result<u64, BridgeError> {
    let raw = ledger.state_get(ChainKind::Trade, key)?;
    Ok(suanli_trade::records::decode_u64(raw).max(1))
}

impl LedgerSupply {
    pub fn new(ledger: Arc<dyn LedgerClient>) -> Self {
        Self {
            ledger,
            serial: Mutex::new(()),
        }
    }

    fn who(&self, key: &SecretKey) -> Result<PartyDid, BridgeError> {
        let k = suanli_trade::records::keyof_key(&key.public());
        let raw = self.ledger.state_get(ChainKind::Trade, &k)?;
        raw.and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| PartyDid::parse(&s).ok())
            .ok_or_else(|| {
                refused(
                    "not_enrolled",
                    "this key is not enrolled on the trade chain as a supplier",
                )
            })
    }

    fn submit(&self, key: &SecretKey, op: &TradeOp) -> Result<String, BridgeError> {
        let call = op
            .to_call()
            .map_err(|e| refused("chain_refused", e.to_string()))?;
        let wait = Duration::from_millis(SUPPLY_COMMIT_TIMEOUT_MS);
        let done = self
            .ledger
            .transact(ChainKind::Trade, key, Payload::Call(call), wait)
            .map_err(chain_answer)?;
        Ok(done.id.to_string())
    }

    fn find<T: DeserializeOwned>(
        &self,
        from: u64,
        key_of: fn(u64) -> Vec<u8>,
        matches: impl Fn(&T) -> bool,
    ) -> Result<u64, BridgeError> {
        for id in from..from + PUBLISHED_SCAN_MAX {
            match read::<T>(self.ledger.as_ref(), &key_of(id))? {
                None => break,
                Some(item) if matches(&item) => return Ok(id),
                Some(_) => {}
            }
        }
        Err(refused(
            "not_found_after_commit",
            "the record was committed but is not among the newest ids",
        ))
    }

    fn mode_terms(m: &ChainMode) -> Result<ModeTerms, BridgeError> {
        let mut weights = BTreeMap::new();
        for (name, w) in &m.weights {
            let r = Resource::ALL
                .into_iter()
                .find(|r| r.as_str() == name)
                .ok_or_else(|| refused("chain_refused", format!("unknown resource {name:?}")))?;
            weights.insert(r, *w);
        }
        Ok(ModeTerms {
            trade_start_cpt: m.trade_start_cpt,
            checkin_cpt: m.checkin_cpt,
            price_fen_per_minute: Fen::new(m.price_fen_per_min)?,
            min_cost_fen: Fen::new(m.min_charge_fen)?,
            checkin_period_minutes: m.checkin_period_min,
            weights: Weights::new(weights).map_err(|e| refused("chain_refused", e.to_string()))?,
            encryption: Encryption::Plaintext,
            trade_type: m.trade_type.clone(),
        })
    }

    fn publish_mode_now(&self, key: &SecretKey, m: &ChainMode) -> Result<Published, BridgeError> {
        let terms = Self::mode_terms(m)?;
        terms
            .check()
            .map_err(|e| refused("chain_refused", e.to_string()))?;
        let _one = self.serial.lock();
        let me = self.who(key)?;
        let before = next_id(self.ledger.as_ref(), MODE_NEXT_KEY)?;
        let tx = self.submit(
            key,
            &TradeOp::PublishMode {
                terms: terms.clone(),
            },
        )?;
        let id = self.find(before, mode_key, |x: &Mode| {
            x.supplier == me && x.terms == terms
        })?;
        Ok(Published { chain_id: id, tx })
    }

    fn publish_offer_now(&self, key: &SecretKey, o: &ChainOffer) -> Result<Published, BridgeError> {
        let terms = OfferTerms {
            mode_id: o.mode_id,
            spec: o.spec.clone(),
            quantity: o.quantity,
            valid_from_ms: o.valid_from_ms,
            valid_until_ms: o.valid_until_ms,
        };
        terms
            .check()
            .map_err(|e| refused("chain_refused", e.to_string()))?;
        let _one = self.serial.lock();
        let me = self.who(key)?;
        let before = next_id(self.ledger.as_ref(), OFFER_NEXT_KEY)?;
        let tx = self.submit(
            key,
            &TradeOp::PublishOffer {
                terms: terms.clone(),
            },
        )?;
        let id = self.find(before, offer_key, |x: &Offer| {
            x.supplier == me && x.terms == terms
        })?;
        Ok(Published { chain_id: id, tx })
    }
}

impl SupplyLedger for LedgerSupply {
    fn publish_mode(&self, key: &SecretKey, mode: &ChainMode) -> Result<Published, PortError> {
        Ok(self.publish_mode_now(key, mode)?)
    }

    fn publish_offer(&self, key: &SecretKey, offer: &ChainOffer) -> Result<Published, PortError> {
        Ok(self.publish_offer_now(key, offer)?)
    }

    fn withdraw_offer(&self, key: &SecretKey, chain_offer_id: u64) -> Result<String, PortError> {
        let _one = self.serial.lock();
        Ok(self.submit(
            key,
            &TradeOp::WithdrawOffer {
                offer_id: chain_offer_id,
            },
        )?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::dids::LedgerDids;
    use suanli_platform_http::keys::DidRegistry;
    use suanli_trade::Role;

    fn mode() -> ChainMode {
        ChainMode {
            price_fen_per_min: 300,
            min_charge_fen: 1000,
            checkin_period_min: 60,
            weights: [("gpu".to_owned(), 1000)].into(),
            trade_start_cpt: 1,
            checkin_cpt: 2,
            trade_type: "payg-minute".into(),
        }
    }

    #[test]
    fn publishes_modes_and_offers_signed_by_the_suppliers_key() {
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
        let client = Arc::clone(&node) as Arc<dyn LedgerClient>;
        let operator = SecretKey::load(&dir.path().join("operator.key")).unwrap();
        let dids = LedgerDids::new(Arc::clone(&client)).unwrap();
        let supplier = SecretKey::from_label("supply/supplier");
        dids.send(&dids.sign_create(&supplier).unwrap()).unwrap();
        let did = PartyDid::parse(&dids.did_of(&supplier.public())).unwrap();
        let enroll = TradeOp::Enroll {
            did: did.clone(),
            role: Role::Supplier,
            key: supplier.public(),
            key_fragment: "key-1".into(),
            // The test names a credential; onboarding (§1) issues the real kyc-supplier one.
            kyc_credential_id: Some("urn:suanli:suanli-test:kyc-supplier:test".into()),
            kyc_credential_sha256: Some(suanli_primitives::sha256(b"kyc-supplier").to_hex()),
        };
        client
            .transact(
                ChainKind::Trade,
                &operator,
                Payload::Call(enroll.to_call().unwrap()),
                Duration::from_secs(10),
            )
            .unwrap();
        let supply = LedgerSupply::new(Arc::clone(&client));

        // A key that is not enrolled is refused before anything is sent.
        let stranger = SecretKey::from_label("supply/stranger");
        let e = supply.publish_mode(&stranger, &mode()).unwrap_err();
        assert_eq!(e.code(), "not_enrolled");
        // A CPT the chain does not accept for this supplier: the chain's refusal.
        let e = supply
            .publish_mode(
                &supplier,
                &ChainMode {
                    trade_start_cpt: 99,
                    ..mode()
                },
            )
            .unwrap_err();
        assert_eq!(e.code(), "chain_refused", "{e}");

        let m = supply.publish_mode(&supplier, &mode()).unwrap();
        let now = suanli_primitives::Clock::now_ms(&suanli_primitives::SystemClock);
        let offer = ChainOffer {
            mode_id: m.chain_id,
            spec: "A100x8 80GB cn-west".into(),
            quantity: 2,
            valid_from_ms: now,
            valid_until_ms: now + 86_400_000,
        };
        let o = supply.publish_offer(&supplier, &offer).unwrap();
        // Read back through the node: the supplier of both is the DID the key is enrolled
        // for, and the offer's transaction is signed by the supplier's key.
        let (mode_rec, offer_rec) = node.with_state(ChainKind::Trade, |s| {
            (
                suanli_trade::view::mode(s, m.chain_id).unwrap(),
                suanli_trade::view::offer(s, o.chain_id).unwrap(),
            )
        });
        assert_eq!(mode_rec.supplier, did);
        assert_eq!(offer_rec.supplier, did);
        assert_eq!(offer_rec.terms.spec, offer.spec);
        let mut signer = None;
        for h in 0.. {
            let Some(block) = node.block(ChainKind::Trade, h).unwrap() else {
                break;
            };
            if let Some(t) = block.txs.iter().find(|t| t.id().to_string() == o.tx) {
                signer = Some(*t.signer());
            }
        }
        assert_eq!(signer, Some(supplier.public()));

        supply.withdraw_offer(&supplier, o.chain_id).unwrap();
        let gone = node.with_state(ChainKind::Trade, |s| {
            suanli_trade::view::offer(s, o.chain_id).unwrap().withdrawn
        });
        assert!(gone);
        // Another supplier's key cannot withdraw it.
        let e = supply.withdraw_offer(&stranger, o.chain_id).unwrap_err();
        assert_ne!(e.code(), "ok");

        node.stop();
        producers.into_iter().for_each(|p| p.join().unwrap());
    }
}
