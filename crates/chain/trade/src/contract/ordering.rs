//! The trade contract's ordering side: serials, browse records, order requests with their
//! escrow, the supplier's acceptance (the dual-signed contract) and top-ups.

use super::*;
use crate::wallet::{ChannelDelegation, WalletName};

/// An order request as the contract receives it ([`TradeOp::Order`]).
pub(crate) struct OrderCall {
    pub(crate) serial: Serial,
    pub(crate) offer_id: u64,
    pub(crate) time_ms: u64,
    pub(crate) requirements: crate::model::Requirements,
    pub(crate) value_fen: PositiveFen,
    pub(crate) signature: Signature,
    pub(crate) wallet: Option<WalletName>,
    pub(crate) channel: Option<ChannelDelegation>,
}

impl Exec<'_, '_> {
    /// A serial is free unless a trade uses it or another pair's browse records do.
    pub(crate) fn check_serial_free(
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

    pub(crate) fn browse(
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

    pub(crate) fn order(&mut self, call: OrderCall) -> Result<(), ContractError> {
        let OrderCall {
            serial,
            offer_id,
            time_ms,
            requirements,
            value_fen,
            signature,
            wallet,
            channel,
        } = call;
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
        let digest = op::order_digest_v2(
            op::OrderFields {
                serial: &serial,
                time_ms,
                supplier: &offer.supplier,
                offer_id,
                requirements: &requirements,
                value_fen,
            },
            wallet.as_ref(),
            channel.as_ref(),
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
        if let Some(d) = &channel
            && d.valid_until_ms <= now
        {
            return Err(err(
                "delegation_expired",
                "the order's channel delegation has already ended",
            ));
        }
        let escrow_key = Self::escrow_key(&serial);
        let payer = match &wallet {
            Some(w) => self.wallet_spend(w, &consumer.did, value_fen.fen())?,
            None => balance_key(&consumer.key),
        };
        self.move_fen(&payer, &escrow_key, value_fen.fen())?;
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
            wallet: wallet.clone(),
            delegate: channel.clone(),
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
            wallet,
            channel,
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
        self.refuse_delegate(&trade)?;
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
        self.refuse_delegate(&trade)?;
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

    pub(crate) fn accept(
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
        let (mut trade, consumer) = self.trade_as_consumer_side(serial)?;
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
        let payer = self.consumer_payer(&trade, amount_fen.fen())?;
        self.move_fen(&payer, &escrow_key, amount_fen.fen())?;
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
}
