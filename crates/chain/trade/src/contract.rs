//! The trade contract: executes [`TradeOp`]s against the trade chain's state. Every
//! rejection is a [`ContractError`] whose code names the rule (listed in `docs/trade.md`).
//!
//! Money: an order moves `value_fen` settlement credits from the consumer into the trade's
//! escrow account; each check-in moves the period's cost from escrow to the supplier; the
//! close settles the unbilled tail and refunds the rest. Credits only move between
//! balances, so `Σ balances = supply` holds at every height, and for every trade
//! `escrow = funded − paid − refunded`.

use crate::record_data::{
    BrowseData, CheckinData, CloseData, ContractData, FundData, OrderData, RatingData,
};
use suanli_ledger::contract::{ContractError, TxContext};
use suanli_ledger::credit::{
    PositiveFen, account_balance_key, balance_key, move_credits, read_fen,
};
use suanli_ledger::state::StateAccess;
use suanli_ledger::{ContractId, ExtensionContract};
use suanli_primitives::{Fen, PublicKey, Signature};

use crate::agents::Actor;
use crate::credentials::{self, Expected};
use crate::model::{CloseReason, MINUTE_MS, PartyDid, Role, Serial};
use crate::op::{self, TradeOp};
use crate::pricing;
use crate::records::*;

mod ordering;
mod settling;
mod wallets;

/// How far a record's own time may be from its block's time, in ms.
pub const TIME_SKEW_MS_MAX: u64 = 10 * MINUTE_MS;
/// Most top-ups of one trade. With the other kinds bounded by the trade itself (one order,
/// contract, close and rating; check-ins by the contract's length; browse records by
/// [`BROWSE_RECORDS_MAX`]) this bounds a trade's records, and no kind can use up another's
/// room: a consumer's top-ups cannot block the supplier's check-ins or the close.
pub const FUNDS_PER_TRADE_MAX: u32 = 1_000;
/// Most browse records under one serial.
pub const BROWSE_RECORDS_MAX: u32 = 100;
/// Most modes and most offers the chain may hold.
pub const IDS_MAX: u64 = 10_000_000;
/// Most modes one supplier may publish.
pub const MODES_PER_SUPPLIER_MAX: u64 = 100;
/// Most offers one supplier may publish.
pub const OFFERS_PER_SUPPLIER_MAX: u64 = 10_000;

fn err(code: &'static str, message: impl Into<String>) -> ContractError {
    ContractError::new(code, message)
}

/// `a + b`, or the contract's `overflow` error naming `what`.
pub(crate) fn add_fen(a: Fen, b: Fen, what: &str) -> Result<Fen, ContractError> {
    a.checked_add(b)
        .map_err(|_| err("overflow", format!("the {what} overflows the fen range")))
}

/// The trade-chain system contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct TradeContract;

impl ExtensionContract for TradeContract {
    fn id(&self) -> ContractId {
        ContractId::Trade
    }

    fn check(&self, body: &[u8]) -> Result<(), ContractError> {
        TradeOp::decode(body)
            .map(|_| ())
            .map_err(|e| err("malformed_call", e.to_string()))
    }

    fn execute(
        &self,
        ctx: &TxContext<'_>,
        body: &[u8],
        state: &mut dyn StateAccess,
    ) -> Result<(), ContractError> {
        let op = TradeOp::decode(body).map_err(|e| err("malformed_call", e.to_string()))?;
        Exec { ctx, state }.run(op)
    }
}

/// How a trade ends: see [`Exec::conclude`].
pub(crate) struct Conclusion {
    pub(crate) reason: CloseReason,
    pub(crate) role: Role,
    pub(crate) by: PartyDid,
    pub(crate) tail_minutes: u64,
    pub(crate) tail_cost: Fen,
    pub(crate) was_active: bool,
    /// A consumer's claim of a supplier fault (counted apart from admissions).
    pub(crate) fault_claim: bool,
}

pub(crate) struct Exec<'a, 'b> {
    pub(crate) ctx: &'a TxContext<'b>,
    pub(crate) state: &'a mut dyn StateAccess,
}

impl Exec<'_, '_> {
    fn run(&mut self, op: TradeOp) -> Result<(), ContractError> {
        match op {
            TradeOp::SetPolicy { record_browse } => {
                self.require_operator()?;
                self.put(POLICY_KEY.to_vec(), &Policy { record_browse });
                Ok(())
            }
            op @ TradeOp::Enroll { .. } => self.enroll(op),
            TradeOp::Unenroll { did, role } => self.unenroll(&did, role),
            TradeOp::PublishMode { terms } => {
                let supplier = self.signer_in(Role::Supplier)?;
                self.check_mode_cpts(&supplier.did, &terms)?;
                let n = self.count_published(&supplier.did, true)?;
                let id = self.next_id(MODE_NEXT_KEY, "modes")?;
                self.state.put(
                    supplier_mode_key(&supplier.did, n),
                    id.to_be_bytes().to_vec(),
                );
                let mode = Mode {
                    id,
                    supplier: supplier.did,
                    terms,
                    published_at_ms: self.ctx.timestamp_ms,
                    tx_id: Some(self.ctx.tx_id),
                };
                self.put(mode_key(id), &mode);
                Ok(())
            }
            TradeOp::PublishOffer { terms } => self.publish_offer(terms),
            TradeOp::WithdrawOffer { offer_id } => {
                let supplier = self.signer_in(Role::Supplier)?;
                let mut offer = self.offer(offer_id)?;
                if offer.supplier != supplier.did {
                    return Err(err(
                        "not_offer_owner",
                        "only the offering supplier may withdraw it",
                    ));
                }
                offer.withdrawn = true;
                self.put(offer_key(offer_id), &offer);
                Ok(())
            }
            TradeOp::Browse {
                serial,
                supplier,
                time_ms,
                signature,
            } => self.browse(serial, supplier, time_ms, signature),
            TradeOp::Order {
                serial,
                offer_id,
                time_ms,
                requirements,
                value_fen,
                signature,
                wallet,
                channel,
            } => self.order(ordering::OrderCall {
                serial,
                offer_id,
                time_ms,
                requirements,
                value_fen,
                signature,
                wallet,
                channel,
            }),
            TradeOp::Accept {
                serial,
                signature,
                credential,
            } => self.accept(&serial, signature, &credential),
            TradeOp::Fund { serial, amount_fen } => self.fund(&serial, amount_fen),
            TradeOp::WalletMint {
                wallet, amount_fen, ..
            } => self.wallet_mint(&wallet, amount_fen),
            TradeOp::WalletBurn {
                wallet, amount_fen, ..
            } => self.wallet_burn(&wallet, amount_fen),
            TradeOp::WalletMember {
                wallet,
                did,
                limit_fen,
            } => self.wallet_member(&wallet, &did, limit_fen),
            TradeOp::WalletSuspend { wallet, suspended } => self.wallet_suspend(&wallet, suspended),
            TradeOp::Checkin {
                serial,
                start_ms,
                end_ms,
                cost_fen,
                credential,
            } => self.checkin(&serial, start_ms, end_ms, cost_fen, &credential),
            TradeOp::Close { serial, reason } => self.close(&serial, reason),
            TradeOp::Rate {
                serial,
                time_ms,
                scores,
                signature,
            } => self.rate(&serial, time_ms, scores, signature),
            TradeOp::AdoptCpt {
                cpt,
                purpose,
                schema,
            } => self.adopt_cpt(cpt, purpose, schema),
            TradeOp::AuthoriseAgent {
                key,
                key_fragment,
                proof,
            } => self.authorise_agent(key, key_fragment, &proof),
            TradeOp::RevokeAgent { key } => self.revoke_agent(key),
        }
    }

    // ---- state helpers -------------------------------------------------------------

    pub(crate) fn get<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
        what: &str,
    ) -> Result<Option<T>, ContractError> {
        self.state
            .get(key)
            .map(|bytes| decode(&bytes, what))
            .transpose()
    }

    pub(crate) fn put<T: serde::Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.state.put(key, encode(value));
    }

    fn next_id(&mut self, key: &[u8], what: &str) -> Result<u64, ContractError> {
        let next = decode_u64(self.state.get(key)).max(1);
        if next > IDS_MAX {
            return Err(err(
                "limit_reached",
                format!("the chain holds the most {what} it may"),
            ));
        }
        self.state
            .put(key.to_vec(), (next + 1).to_be_bytes().to_vec());
        Ok(next)
    }

    pub(crate) fn require_operator(&self) -> Result<(), ContractError> {
        if self.ctx.signer != self.ctx.operator {
            return Err(err(
                "not_operator",
                "only the operator key named in the trade chain's genesis may do this",
            ));
        }
        Ok(())
    }

    pub(crate) fn party(&self, did: &PartyDid) -> Result<Option<Party>, ContractError> {
        self.get(&party_key(did), "party")
    }

    /// The party the signing key is enrolled for (its own key: an agent key is refused,
    /// see [`Exec::actor`] for the operations agents may sign).
    pub(crate) fn signer(&self) -> Result<Party, ContractError> {
        let Some(did) = self.state.get(&keyof_key(self.ctx.signer)) else {
            if let Some(agent) = self.agent(self.ctx.signer)? {
                return Err(self.refuse_agent(&agent));
            }
            return Err(err(
                "not_enrolled",
                format!("key {} is not enrolled on the trade chain", self.ctx.signer),
            ));
        };
        let did = String::from_utf8(did)
            .ok()
            .and_then(|d| PartyDid::parse(&d).ok())
            .ok_or_else(|| corrupt("key index"))?;
        self.party(&did)?.ok_or_else(|| corrupt("party"))
    }

    fn signer_in(&self, role: Role) -> Result<Party, ContractError> {
        let party = self.signer()?;
        if !party.has(role) {
            return Err(err(
                "role_missing",
                format!("{} is not enrolled as a {}", party.did, role.as_str()),
            ));
        }
        Ok(party)
    }

    fn offer(&self, id: u64) -> Result<Offer, ContractError> {
        self.get(&offer_key(id), "offer")?
            .ok_or_else(|| err("offer_not_found", format!("no offer {id}")))
    }

    pub(crate) fn trade(&self, serial: &Serial) -> Result<Trade, ContractError> {
        self.get(&trade_key(serial), "trade")?
            .ok_or_else(|| err("trade_not_found", format!("no trade {serial}")))
    }

    pub(crate) fn save(&mut self, trade: &Trade) {
        self.put(trade_key(&trade.serial), trade);
    }

    fn check_time(&self, time_ms: u64) -> Result<(), ContractError> {
        if time_ms.abs_diff(self.ctx.timestamp_ms) > TIME_SKEW_MS_MAX {
            return Err(err(
                "time_out_of_window",
                format!(
                    "the record's time {time_ms} is more than {TIME_SKEW_MS_MAX} ms from the block's {}",
                    self.ctx.timestamp_ms
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn append_record(
        &mut self,
        serial: &Serial,
        by: &PartyDid,
        data: RecordData,
    ) -> Result<(), ContractError> {
        let count_key = record_count_key(serial);
        let seq = decode_u32(self.state.get(&count_key));
        // Bounded per kind by the operations themselves (see FUNDS_PER_TRADE_MAX); a u32
        // holds every record a trade can have.
        let record = Record {
            serial: *serial,
            seq,
            kind: data.kind(),
            by: by.clone(),
            tx_id: self.ctx.tx_id,
            height: self.ctx.height,
            block_time_ms: self.ctx.timestamp_ms,
            data,
            agent_key: self
                .agent(self.ctx.signer)?
                .map(|a| a.key)
                .filter(|_| self.state.get(&keyof_key(self.ctx.signer)).is_none()),
        };
        self.put(record_key(serial, seq), &record);
        self.state.put(count_key, (seq + 1).to_be_bytes().to_vec());
        Ok(())
    }

    fn append_history(&mut self, did: &PartyDid, serial: &Serial) {
        let count_key = history_count_key(did);
        let n = decode_u64(self.state.get(&count_key));
        self.state
            .put(history_key(did, n), serial.as_bytes().to_vec());
        self.state.put(count_key, (n + 1).to_be_bytes().to_vec());
    }

    pub(crate) fn update_stats(
        &mut self,
        supplier: &PartyDid,
        change: impl FnOnce(&mut SupplierStats),
    ) -> Result<(), ContractError> {
        let key = stats_key(supplier);
        let mut stats: SupplierStats = self.get(&key, "supplier stats")?.unwrap_or_default();
        change(&mut stats);
        self.put(key, &stats);
        Ok(())
    }

    /// Counts a mode (`mode`) or an offer published by `supplier`, within its quota;
    /// returns its index among the supplier's modes or offers (0-based).
    fn count_published(&mut self, supplier: &PartyDid, mode: bool) -> Result<u64, ContractError> {
        let key = stats_key(supplier);
        let mut stats: SupplierStats = self.get(&key, "supplier stats")?.unwrap_or_default();
        let (count, max, what) = if mode {
            (&mut stats.modes, MODES_PER_SUPPLIER_MAX, "modes")
        } else {
            (&mut stats.offers, OFFERS_PER_SUPPLIER_MAX, "offers")
        };
        if *count >= max {
            return Err(err(
                "limit_reached",
                format!("a supplier may publish at most {max} {what}"),
            ));
        }
        let n = *count;
        *count += 1;
        self.put(key, &stats);
        Ok(n)
    }

    /// The credit balance key of a trade's escrow (derive it once per operation: the
    /// derivation tries candidate hashes until one is not a public key).
    pub(crate) fn escrow_key(serial: &Serial) -> Vec<u8> {
        account_balance_key(&escrow_account(serial))
    }

    pub(crate) fn escrow_fen(&self, escrow_key: &[u8]) -> Result<Fen, ContractError> {
        read_fen(&*self.state, escrow_key)
    }

    pub(crate) fn move_fen(
        &mut self,
        from: &[u8],
        to: &[u8],
        fen: Fen,
    ) -> Result<(), ContractError> {
        let Ok(amount) = PositiveFen::try_from(fen) else {
            return Ok(()); // nothing to move
        };
        #[cfg(debug_assertions)]
        let before = (read_fen(&*self.state, from)?, read_fen(&*self.state, to)?);
        move_credits(self.state, from, to, amount)?;
        #[cfg(debug_assertions)]
        {
            // Conservation: what leaves `from` arrives at `to`, no more, no less.
            let after = (read_fen(&*self.state, from)?, read_fen(&*self.state, to)?);
            debug_assert_eq!(
                i128::from(before.0.get()) + i128::from(before.1.get()),
                i128::from(after.0.get()) + i128::from(after.1.get()),
                "a credit move created or destroyed credits"
            );
            debug_assert_eq!(before.0.get() - after.0.get(), fen.get());
        }
        Ok(())
    }

    pub(crate) fn key_of(&self, did: &PartyDid) -> Result<PublicKey, ContractError> {
        Ok(self.party(did)?.ok_or_else(|| corrupt("party"))?.key)
    }

    // ---- modes and offers ----------------------------------------------------------

    fn publish_offer(&mut self, terms: crate::model::OfferTerms) -> Result<(), ContractError> {
        let supplier = self.signer_in(Role::Supplier)?;
        let n = self.count_published(&supplier.did, false)?;
        let mode: Mode = self
            .get(&mode_key(terms.mode_id), "mode")?
            .ok_or_else(|| err("mode_not_found", format!("no trade mode {}", terms.mode_id)))?;
        if mode.supplier != supplier.did {
            return Err(err(
                "not_mode_owner",
                "an offer must be published under one of the supplier's own modes",
            ));
        }
        if terms.valid_until_ms <= self.ctx.timestamp_ms {
            return Err(err(
                "offer_already_lapsed",
                "the offer's validity has already ended",
            ));
        }
        let id = self.next_id(OFFER_NEXT_KEY, "offers")?;
        self.state.put(
            supplier_offer_key(&supplier.did, n),
            id.to_be_bytes().to_vec(),
        );
        let offer = Offer {
            id,
            supplier: supplier.did,
            available: terms.quantity,
            terms,
            withdrawn: false,
            published_at_ms: self.ctx.timestamp_ms,
            tx_id: Some(self.ctx.tx_id),
        };
        self.put(offer_key(id), &offer);
        Ok(())
    }
}
