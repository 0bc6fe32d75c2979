//! The trade contract's settling side: check-ins, the close with its tail and refund, and
//! the consumer's rating.

use super::*;

impl Exec<'_, '_> {
    pub(crate) fn checkin(
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
    pub(crate) fn refuse_if_channel(
        &self,
        serial: &Serial,
        what: &str,
    ) -> Result<(), ContractError> {
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

    pub(crate) fn check_close_allowed(
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

    pub(crate) fn next_period_cost(&self, trade: &Trade) -> Result<Fen, ContractError> {
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

    pub(crate) fn close(
        &mut self,
        serial: &Serial,
        reason: CloseReason,
    ) -> Result<(), ContractError> {
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
        self.move_fen(&escrow_key, &balance_key(&supplier_key), paid)?;
        let refund = escrow.saturating_sub(paid);
        let payee = self.consumer_payee(&trade, refund)?;
        self.move_fen(&escrow_key, &payee, refund)?;
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

    pub(crate) fn rate(
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
