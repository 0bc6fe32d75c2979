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
            } => self.order(
                serial,
                offer_id,
                time_ms,
                requirements,
                value_fen,
                signature,
            ),
            TradeOp::Accept {
                serial,
                signature,
                credential,
            } => self.accept(&serial, signature, &credential),
            TradeOp::Fund { serial, amount_fen } => self.fund(&serial, amount_fen),
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

    // ---- the trade -----------------------------------------------------------------

    /// A serial is free unless a trade uses it or another pair's browse records do.
    fn check_serial_free(
        &self,
        serial: &Serial,
        consumer: &PartyDid,
        supplier: &PartyDid,
    ) -> Result<(), ContractError> {
        if self.state.get(&trade_key(serial)).is_some() {
            return Err(err(
                "serial_in_use",
                format!("trade serial {serial} is taken"),
            ));
        }
        if let Some(first) = self.get::<Record>(&record_key(serial, 0), "record")? {
            let same_pair = first.by == *consumer && first.data.supplier() == Some(supplier);
            if !same_pair {
                return Err(err(
                    "serial_in_use",
                    format!("trade serial {serial} is taken by another consumer's browse records"),
                ));
            }
        }
        Ok(())
    }

    fn browse(
        &mut self,
        serial: Serial,
        supplier: PartyDid,
        time_ms: u64,
        signature: Signature,
    ) -> Result<(), ContractError> {
        let policy: Policy = self.get(POLICY_KEY, "policy")?.unwrap_or_default();
        if !policy.record_browse {
            return Err(err(
                "browse_recording_off",
                "this platform does not keep browse records (policy record_browse is off)",
            ));
        }
        let consumer = self.signer_in(Role::Consumer)?;
        if !self
            .party(&supplier)?
            .is_some_and(|p| p.has(Role::Supplier))
        {
            return Err(err(
                "supplier_not_enrolled",
                format!("{supplier} is not an enrolled supplier"),
            ));
        }
        self.check_time(time_ms)?;
        self.check_serial_free(&serial, &consumer.did, &supplier)?;
        if !op::verify_digest(
            &consumer.key,
            &op::browse_digest(&serial, time_ms, &supplier),
            &signature,
        ) {
            return Err(err(
                "bad_signature",
                "the consumer's browse signature does not verify",
            ));
        }
        let data = RecordData::Browse(BrowseData {
            signature,
            supplier,
            time_ms,
        });
        if decode_u32(self.state.get(&record_count_key(&serial))) >= BROWSE_RECORDS_MAX {
            return Err(err(
                "limit_reached",
                format!("a serial holds at most {BROWSE_RECORDS_MAX} browse records"),
            ));
        }
        self.append_record(&serial, &consumer.did, data)
    }

    fn order(
        &mut self,
        serial: Serial,
        offer_id: u64,
        time_ms: u64,
        requirements: crate::model::Requirements,
        value_fen: PositiveFen,
        signature: Signature,
    ) -> Result<(), ContractError> {
        let consumer = self.signer_in(Role::Consumer)?;
        let mut offer = self.offer(offer_id)?;
        if offer.supplier == consumer.did {
            return Err(err("self_trade", "a party cannot order from its own offer"));
        }
        self.check_serial_free(&serial, &consumer.did, &offer.supplier)?;
        self.check_time(time_ms)?;
        let now = self.ctx.timestamp_ms;
        if offer.withdrawn || now < offer.terms.valid_from_ms || now >= offer.terms.valid_until_ms {
            return Err(err(
                "offer_not_valid",
                format!("offer {offer_id} is not open for orders now"),
            ));
        }
        if !self
            .party(&offer.supplier)?
            .is_some_and(|p| p.has(Role::Supplier))
        {
            return Err(err(
                "supplier_not_enrolled",
                "the offering supplier is no longer enrolled",
            ));
        }
        if requirements.spec != offer.terms.spec {
            return Err(err(
                "spec_mismatch",
                format!(
                    "the order's spec must be the offer's: {:?}",
                    offer.terms.spec
                ),
            ));
        }
        if requirements.quantity > offer.available {
            return Err(err(
                "offer_sold_out",
                format!(
                    "the offer has {} units free, {} ordered",
                    offer.available, requirements.quantity
                ),
            ));
        }
        let digest = op::order_digest(
            &serial,
            time_ms,
            &offer.supplier,
            offer_id,
            &requirements,
            value_fen,
        );
        if !op::verify_digest(&consumer.key, &digest, &signature) {
            return Err(err(
                "bad_signature",
                "the consumer's order signature does not verify",
            ));
        }
        let mode: Mode = self
            .get(&mode_key(offer.terms.mode_id), "mode")?
            .ok_or_else(|| corrupt("mode"))?;
        let overflow = |_| err("overflow", "the trade's price overflows the fen range");
        let rate =
            pricing::rate_fen_per_minute(mode.terms.price_fen_per_minute, requirements.quantity)
                .map_err(overflow)?;
        let first = pricing::first_period_cost(
            mode.terms.checkin_period_minutes,
            requirements.duration_minutes,
            rate,
            mode.terms.min_cost_fen,
        )
        .map_err(overflow)?;
        if value_fen.fen() < first {
            return Err(err(
                "escrow_below_first_period",
                format!(
                    "the order must escrow at least the first period's {} fen, it offers {}",
                    first.get(),
                    value_fen.get()
                ),
            ));
        }
        let escrow_key = Self::escrow_key(&serial);
        self.move_fen(&balance_key(&consumer.key), &escrow_key, value_fen.fen())?;
        // Escrow funding: the new trade's escrow holds exactly the order's value.
        debug_assert_eq!(self.escrow_fen(&escrow_key)?, value_fen.fen());
        offer.available -= requirements.quantity;
        self.put(offer_key(offer_id), &offer);
        let trade = Trade {
            serial,
            consumer: consumer.did.clone(),
            supplier: offer.supplier.clone(),
            mode_id: mode.id,
            offer_id,
            requirements: requirements.clone(),
            rate_fen_per_minute: rate,
            min_cost_fen: mode.terms.min_cost_fen,
            period_minutes: mode.terms.checkin_period_minutes,
            trade_type: mode.terms.trade_type.clone(),
            trade_start_cpt: mode.terms.trade_start_cpt,
            checkin_cpt: mode.terms.checkin_cpt,
            encryption: mode.terms.encryption,
            weights: mode.terms.weights.clone(),
            status: Status::Ordered,
            ordered_at_ms: now,
            accept_by_ms: offer.terms.valid_until_ms,
            order_signature: signature,
            contract_start_ms: None,
            contract_end_ms: None,
            billed_until_ms: None,
            billed_minutes: 0,
            charged_fen: Fen::ZERO,
            funded_fen: value_fen.fen(),
            paid_fen: Fen::ZERO,
            unpaid_fen: Fen::ZERO,
            checkins: 0,
            funds: 0,
            closure: None,
            rating: None,
            agent_key: None,
        };
        self.save(&trade);
        self.append_history(&consumer.did, &serial);
        self.append_history(&offer.supplier, &serial);
        self.update_stats(&offer.supplier, |s| s.orders += 1)?;
        let data = RecordData::Order(OrderData {
            offer_id,
            requirements,
            signature,
            supplier: offer.supplier,
            time_ms,
            value_fen,
        });
        self.append_record(&serial, &consumer.did, data)
    }

    /// The trade, if the signer is its `role` party (the supplier's agent keys count as
    /// the supplier).
    pub(crate) fn trade_as(
        &self,
        serial: &Serial,
        role: Role,
    ) -> Result<(Trade, Party), ContractError> {
        let (trade, actor) = self.trade_as_actor(serial, role)?;
        Ok((trade, actor.party))
    }

    /// [`Exec::trade_as`], with the agent key if one signed.
    pub(crate) fn trade_as_actor(
        &self,
        serial: &Serial,
        role: Role,
    ) -> Result<(Trade, Actor), ContractError> {
        let trade = self.trade(serial)?;
        let actor = if role == Role::Supplier {
            self.actor()?
        } else {
            Actor {
                party: self.signer()?,
                agent: None,
            }
        };
        let party = &actor.party;
        let (did, code) = match role {
            Role::Supplier => (&trade.supplier, "not_supplier"),
            _ => (&trade.consumer, "not_consumer"),
        };
        if party.did != *did {
            return Err(err(
                code,
                format!("only the trade's {} may do this", role.as_str()),
            ));
        }
        Ok((trade, actor))
    }

    /// The trade, if the signer is one of its parties, with the signer's role in it.
    pub(crate) fn trade_as_party(
        &self,
        serial: &Serial,
    ) -> Result<(Trade, Party, Role), ContractError> {
        let trade = self.trade(serial)?;
        let actor = self.actor()?;
        if let Some(agent) = actor
            .agent
            .as_ref()
            .filter(|_| actor.party.did != trade.supplier)
        {
            return Err(self.refuse_agent(agent));
        }
        let party = actor.party;
        let role = if party.did == trade.consumer {
            Role::Consumer
        } else if party.did == trade.supplier {
            Role::Supplier
        } else {
            return Err(err(
                "not_a_party",
                "only the trade's consumer and supplier act on it",
            ));
        };
        Ok((trade, party, role))
    }

    pub(crate) fn require_open(trade: &Trade) -> Result<(), ContractError> {
        if trade.status == Status::Closed {
            return Err(err(
                "trade_closed",
                format!("trade {} is closed", trade.serial),
            ));
        }
        Ok(())
    }

    fn accept(
        &mut self,
        serial: &Serial,
        signature: Signature,
        credential: &serde_json::Value,
    ) -> Result<(), ContractError> {
        let (mut trade, actor) = self.trade_as_actor(serial, Role::Supplier)?;
        let supplier = &actor.party;
        Self::require_open(&trade)?;
        if !supplier.has(Role::Supplier) {
            return Err(err(
                "role_missing",
                format!(
                    "{} is no longer enrolled as a supplier and takes no new contracts",
                    supplier.did
                ),
            ));
        }
        if trade.status != Status::Ordered {
            return Err(err(
                "already_contracted",
                "the trade already has its contract",
            ));
        }
        let now = self.ctx.timestamp_ms;
        if now >= trade.accept_by_ms {
            return Err(err(
                "order_expired",
                "the order lapsed with its offer; close it as expired",
            ));
        }
        if !actor
            .key()
            .verify(&op::contract_message(&trade.order_signature), &signature)
        {
            return Err(err(
                "bad_signature",
                "the supplier's countersignature over the consumer's order signature does not verify",
            ));
        }
        let schema = self.record_schema(trade.trade_start_cpt)?;
        credentials::check(
            credential,
            &Expected {
                id: credentials::start_credential_id(serial),
                issuer: &trade.supplier,
                issuer_key: actor.key(),
                issuer_fragment: actor.fragment(),
                key_since_ms: actor.since_ms(),
                cpt: trade.trade_start_cpt,
                claims: credentials::start_claims(&trade),
                at_ms: now.saturating_add(TIME_SKEW_MS_MAX),
                schema: schema.as_ref(),
            },
        )?;
        let end = trade
            .requirements
            .duration_minutes
            .checked_mul(MINUTE_MS)
            .and_then(|d| now.checked_add(d))
            .ok_or_else(|| err("overflow", "the contract's end overflows the time range"))?;
        trade.status = Status::Active;
        trade.contract_start_ms = Some(now);
        trade.contract_end_ms = Some(end);
        trade.billed_until_ms = Some(now);
        trade.agent_key = actor.agent.as_ref().map(|a| a.key);
        self.save(&trade);
        self.update_stats(&trade.supplier, |s| s.contracted += 1)?;
        let data = RecordData::Contract(ContractData {
            consumer_signature: trade.order_signature,
            contract_end_ms: end,
            contract_start_ms: now,
            credential: credential.clone(),
            supplier_signature: signature,
        });
        self.append_record(serial, &trade.supplier, data)
    }

    pub(crate) fn fund(
        &mut self,
        serial: &Serial,
        amount_fen: PositiveFen,
    ) -> Result<(), ContractError> {
        let (mut trade, consumer) = self.trade_as(serial, Role::Consumer)?;
        Self::require_open(&trade)?;
        if trade.funds >= FUNDS_PER_TRADE_MAX {
            return Err(err(
                "limit_reached",
                format!(
                    "a trade takes at most {FUNDS_PER_TRADE_MAX} top-ups; top up larger amounts"
                ),
            ));
        }
        trade.funds += 1;
        let escrow_key = Self::escrow_key(serial);
        let escrow_before = self.escrow_fen(&escrow_key)?;
        self.move_fen(&balance_key(&consumer.key), &escrow_key, amount_fen.fen())?;
        trade.funded_fen = add_fen(trade.funded_fen, amount_fen.fen(), "escrow")?;
        // Escrow funding: escrow after = escrow before + the top-up.
        debug_assert_eq!(
            escrow_before.checked_add(amount_fen.fen()),
            Ok(self.escrow_fen(&escrow_key)?)
        );
        self.save(&trade);
        self.append_record(
            serial,
            &consumer.did,
            RecordData::Fund(FundData { amount_fen }),
        )
    }

    fn checkin(
        &mut self,
        serial: &Serial,
        start_ms: u64,
        end_ms: u64,
        cost_fen: Fen,
        credential: &serde_json::Value,
    ) -> Result<(), ContractError> {
        let (mut trade, actor) = self.trade_as_actor(serial, Role::Supplier)?;
        let supplier = &actor.party;
        Self::require_open(&trade)?;
        self.refuse_if_channel(serial, "checked in")?;
        let (Some(billed_until), Some(contract_end)) =
            (trade.billed_until_ms, trade.contract_end_ms)
        else {
            return Err(err("not_contracted", "check-ins start after the contract"));
        };
        if start_ms != billed_until {
            return Err(err(
                "checkin_not_contiguous",
                format!(
                    "the next period must start at {billed_until} (the end of the last one), not {start_ms}"
                ),
            ));
        }
        if end_ms > contract_end {
            return Err(err(
                "checkin_beyond_contract",
                format!("the period ends after the contract's end {contract_end}"),
            ));
        }
        if end_ms > self.ctx.timestamp_ms {
            return Err(err(
                "checkin_in_future",
                "a period can be checked in only once it has ended (by the block's time)",
            ));
        }
        let span = end_ms - start_ms;
        if span % MINUTE_MS != 0 {
            return Err(err(
                "checkin_not_whole_minutes",
                "a check-in period is a whole number of minutes",
            ));
        }
        let minutes = span / MINUTE_MS;
        if minutes > trade.period_minutes {
            return Err(err(
                "checkin_longer_than_period",
                format!("a period lasts at most {} minutes", trade.period_minutes),
            ));
        }
        let expected = pricing::settlement_cost(
            trade.billed_minutes,
            trade.charged_fen,
            minutes,
            trade.rate_fen_per_minute,
            trade.min_cost_fen,
        )
        .map_err(|_| err("overflow", "the cost overflows the fen range"))?;
        if cost_fen != expected {
            return Err(err(
                "cost_mismatch",
                format!(
                    "{minutes} minutes cost {} fen under this trade's terms, not {}",
                    expected.get(),
                    cost_fen.get()
                ),
            ));
        }
        let escrow_key = Self::escrow_key(serial);
        let escrow = self.escrow_fen(&escrow_key)?;
        if escrow < cost_fen {
            return Err(err(
                "insufficient_escrow",
                format!(
                    "the escrow holds {} fen, the period costs {}; the consumer must fund it or the supplier closes for out_of_funds",
                    escrow.get(),
                    cost_fen.get()
                ),
            ));
        }
        let schema = self.record_schema(trade.checkin_cpt)?;
        credentials::check(
            credential,
            &Expected {
                id: credentials::checkin_credential_id(serial, trade.checkins + 1),
                issuer: &trade.supplier,
                issuer_key: actor.key(),
                issuer_fragment: actor.fragment(),
                key_since_ms: actor.since_ms(),
                cpt: trade.checkin_cpt,
                claims: credentials::checkin_claims(&trade, start_ms, end_ms, cost_fen),
                at_ms: self.ctx.timestamp_ms.saturating_add(TIME_SKEW_MS_MAX),
                schema: schema.as_ref(),
            },
        )?;
        let payee = balance_key(&supplier.key);
        self.move_fen(&escrow_key, &payee, cost_fen)?;
        // Check-in payment: escrow before = escrow after + paid.
        debug_assert_eq!(
            escrow.checked_sub(cost_fen),
            Ok(self.escrow_fen(&escrow_key)?)
        );
        trade.billed_until_ms = Some(end_ms);
        trade.billed_minutes += minutes;
        trade.charged_fen = add_fen(trade.charged_fen, cost_fen, "charge")?;
        trade.paid_fen = add_fen(trade.paid_fen, cost_fen, "payment")?;
        trade.checkins += 1;
        self.save(&trade);
        let data = RecordData::Checkin(CheckinData {
            cost_fen,
            credential: credential.clone(),
            end_ms,
            minutes,
            n: trade.checkins,
            start_ms,
        });
        self.append_record(serial, &trade.supplier, data)
    }

    /// A trade with a service channel is checked in and closed through the channel.
    fn refuse_if_channel(&self, serial: &Serial, what: &str) -> Result<(), ContractError> {
        if self.state.get(&channel_key(serial)).is_some() {
            return Err(err(
                "channel_open",
                format!(
                    "trade {serial} runs a service channel: it is {what} through the channel contract"
                ),
            ));
        }
        Ok(())
    }

    fn check_close_allowed(
        &self,
        trade: &Trade,
        role: Role,
        reason: CloseReason,
    ) -> Result<(), ContractError> {
        let now = self.ctx.timestamp_ms;
        let refuse = |why: &str| {
            Err(err(
                "reason_not_allowed",
                format!(
                    "the {} cannot close for {} {why}",
                    role.as_str(),
                    reason.as_str()
                ),
            ))
        };
        match (trade.status, reason) {
            (Status::Ordered, CloseReason::StoppedByConsumer) if role == Role::Consumer => Ok(()),
            (Status::Ordered, CloseReason::SupplierFault) if role == Role::Supplier => Ok(()),
            (Status::Ordered, CloseReason::Expired) => {
                if now < trade.accept_by_ms {
                    return Err(err("order_not_expired", "the order can still be accepted"));
                }
                Ok(())
            }
            (Status::Ordered, _) => refuse("before the contract"),
            (Status::Active, CloseReason::Completed) => {
                if trade.contract_end_ms.is_some_and(|end| now < end) {
                    return Err(err(
                        "contract_not_ended",
                        "the contract has not reached its end",
                    ));
                }
                Ok(())
            }
            (Status::Active, CloseReason::StoppedByConsumer) if role == Role::Consumer => Ok(()),
            (Status::Active, CloseReason::SupplierFault) => Ok(()),
            (Status::Active, CloseReason::OutOfFunds) if role == Role::Supplier => {
                let next = self.next_period_cost(trade)?;
                if self.escrow_fen(&Self::escrow_key(&trade.serial))? >= next {
                    return Err(err(
                        "escrow_still_covers",
                        format!(
                            "the escrow still covers the next period's {} fen",
                            next.get()
                        ),
                    ));
                }
                Ok(())
            }
            (Status::Active, _) => refuse("while the contract runs"),
            (Status::Closed, _) => Err(err("trade_closed", "the trade is already closed")),
        }
    }

    fn next_period_cost(&self, trade: &Trade) -> Result<Fen, ContractError> {
        let (Some(billed), Some(end)) = (trade.billed_until_ms, trade.contract_end_ms) else {
            return Ok(Fen::ZERO);
        };
        let minutes = trade.period_minutes.min(pricing::minutes_ceil(billed, end));
        pricing::settlement_cost(
            trade.billed_minutes,
            trade.charged_fen,
            minutes,
            trade.rate_fen_per_minute,
            trade.min_cost_fen,
        )
        .map_err(|_| err("overflow", "the cost overflows the fen range"))
    }

    fn close(&mut self, serial: &Serial, reason: CloseReason) -> Result<(), ContractError> {
        let (trade, party, role) = self.trade_as_party(serial)?;
        self.refuse_if_channel(serial, "closed")?;
        self.check_close_allowed(&trade, role, reason)?;
        let now = self.ctx.timestamp_ms;
        let was_active = trade.status == Status::Active;
        let (mut tail_minutes, mut tail_cost) = (0, Fen::ZERO);
        // A fault the supplier admits waives the unbilled tail and the minimum charge. A
        // fault the consumer claims cannot be judged by the chain: the time used is still
        // paid for, only the minimum charge's top-up is waived, and the claim is counted
        // as a claim (not an admission) in the supplier's record.
        let fault = reason == CloseReason::SupplierFault;
        let admitted_fault = fault && role == Role::Supplier;
        let min_cost = if fault { Fen::ZERO } else { trade.min_cost_fen };
        if was_active && !admitted_fault {
            let billed = trade.billed_until_ms.unwrap_or(now);
            let until = trade.contract_end_ms.map_or(now, |end| end.min(now));
            tail_minutes = pricing::minutes_ceil(billed, until);
            tail_cost = pricing::settlement_cost(
                trade.billed_minutes,
                trade.charged_fen,
                tail_minutes,
                trade.rate_fen_per_minute,
                min_cost,
            )
            .map_err(|_| err("overflow", "the cost overflows the fen range"))?;
        }
        self.conclude(
            trade,
            Conclusion {
                reason,
                role,
                by: party.did,
                tail_minutes,
                tail_cost,
                was_active,
                fault_claim: fault && !admitted_fault,
            },
        )
    }

    /// Ends a trade: charges the tail from escrow (what it cannot cover is `unpaid`),
    /// refunds the rest, frees the offer's units, records the closure, the supplier's
    /// statistics and the close record. Shared by the trade's close and the channel's.
    pub(crate) fn conclude(
        &mut self,
        mut trade: Trade,
        c: Conclusion,
    ) -> Result<(), ContractError> {
        let serial = trade.serial;
        let now = self.ctx.timestamp_ms;
        let escrow_key = Self::escrow_key(&serial);
        let escrow = self.escrow_fen(&escrow_key)?;
        let paid = c.tail_cost.min(escrow);
        let supplier_key = self.key_of(&trade.supplier)?;
        let consumer_key = self.key_of(&trade.consumer)?;
        self.move_fen(&escrow_key, &balance_key(&supplier_key), paid)?;
        let refund = escrow.saturating_sub(paid);
        self.move_fen(&escrow_key, &balance_key(&consumer_key), refund)?;
        // Refund and close: escrow before = paid + refunded, and nothing is left behind.
        debug_assert_eq!(paid.checked_add(refund), Ok(escrow));
        debug_assert_eq!(self.escrow_fen(&escrow_key)?, Fen::ZERO);
        let unpaid = c.tail_cost.saturating_sub(paid);
        debug_assert_eq!(paid.checked_add(unpaid), Ok(c.tail_cost));
        let mut offer = self.offer(trade.offer_id)?;
        offer.available = offer
            .available
            .saturating_add(trade.requirements.quantity)
            .min(offer.terms.quantity);
        self.put(offer_key(trade.offer_id), &offer);
        trade.billed_minutes += c.tail_minutes;
        trade.charged_fen = add_fen(trade.charged_fen, c.tail_cost, "charge")?;
        trade.paid_fen = add_fen(trade.paid_fen, paid, "payment")?;
        trade.unpaid_fen = add_fen(trade.unpaid_fen, unpaid, "unpaid charge")?;
        // The trade's books: charged = paid + unpaid; what was funded is paid or refunded.
        debug_assert_eq!(
            trade.paid_fen.checked_add(trade.unpaid_fen),
            Ok(trade.charged_fen)
        );
        debug_assert_eq!(
            trade.funded_fen.get(),
            trade.paid_fen.get() + refund.get(),
            "escrow = funded − paid − refunded must end at zero"
        );
        trade.status = Status::Closed;
        trade.closure = Some(Closure {
            reason: c.reason,
            by: c.role,
            at_ms: now,
            tail_minutes: c.tail_minutes,
            tail_cost_fen: c.tail_cost,
            refund_fen: refund,
        });
        self.save(&trade);
        self.update_stats(&trade.supplier, |s| {
            if c.was_active {
                *s.closed.entry(c.reason).or_default() += 1;
                if c.fault_claim {
                    s.fault_claims_by_consumer += 1;
                }
            } else {
                s.lapsed += 1;
            }
        })?;
        let data = RecordData::Close(CloseData {
            by_role: c.role,
            reason: c.reason,
            refund_fen: refund,
            tail_cost_fen: c.tail_cost,
            tail_minutes: c.tail_minutes,
            unpaid_fen: unpaid,
        });
        self.append_record(&serial, &c.by, data)
    }

    fn rate(
        &mut self,
        serial: &Serial,
        time_ms: u64,
        scores: crate::model::Scores,
        signature: Signature,
    ) -> Result<(), ContractError> {
        let (mut trade, consumer) = self.trade_as(serial, Role::Consumer)?;
        if trade.status != Status::Closed {
            return Err(err("not_closed", "a trade is rated after it is closed"));
        }
        if trade.contract_start_ms.is_none() {
            return Err(err(
                "never_contracted",
                "an order that never got its contract is not rated",
            ));
        }
        if trade.rating.is_some() {
            return Err(err("already_rated", "a trade is rated exactly once"));
        }
        self.check_time(time_ms)?;
        let overall = scores
            .overall_milli(&trade.weights)
            .map_err(|m| err("scores_invalid", m))?;
        let digest = op::rating_digest(serial, time_ms, &trade.supplier, overall, &scores);
        if !op::verify_digest(&consumer.key, &digest, &signature) {
            return Err(err(
                "bad_signature",
                "the consumer's rating signature does not verify",
            ));
        }
        let now = self.ctx.timestamp_ms;
        trade.rating = Some(Rating {
            scores: scores.clone(),
            overall_milli: overall,
            at_ms: now,
        });
        self.save(&trade);
        let count_key = rating_count_key(&trade.supplier);
        let n = decode_u64(self.state.get(&count_key));
        let entry = RatingEntry {
            serial: *serial,
            at_ms: now,
            overall_milli: overall,
            scores: scores.clone(),
            charged_fen: trade.charged_fen,
            full_period_fen: pricing::first_period_cost(
                trade.period_minutes,
                trade.requirements.duration_minutes,
                trade.rate_fen_per_minute,
                trade.min_cost_fen,
            )
            .map_err(|_| err("overflow", "the cost overflows the fen range"))?,
        };
        self.put(rating_key(&trade.supplier, n), &entry);
        self.state.put(count_key, (n + 1).to_be_bytes().to_vec());
        self.update_stats(&trade.supplier, |s| s.ratings += 1)?;
        let data = RecordData::Rating(RatingData {
            overall_milli: overall,
            scores,
            signature,
            time_ms,
        });
        self.append_record(serial, &consumer.did, data)
    }
}
