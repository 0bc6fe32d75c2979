//! The channel contract ([`ContractId::Channel`]): executes [`ChannelOp`]s on the trade
//! chain against the trade a channel meters. Rules and codes are listed in
//! `docs/channel-protocol.md` §4.
//!
//! Money: the consumer's deposit is the trade's escrow (`funded − paid − refunded`, as for
//! every trade); each party's bond sits in its own keyless account
//! ([`bond_account`]); a check-in pays the settled state's new cost from escrow to the
//! supplier; a close charges the rest of the final (or last posted) state, refunds the
//! escrow's remainder and returns the bonds, except a bond forfeited to the other party
//! by a stale state proven in a challenge. Credits only move between balances.

use crate::record_data::{
    ChannelBondData, ChannelChallengeData, ChannelCheckinData, ChannelForceCloseData,
    ChannelOpenData,
};
use suanli_ledger::contract::{ContractError, TxContext};
use suanli_ledger::credit::{account_balance_key, balance_key};
use suanli_ledger::state::StateAccess;
use suanli_ledger::{ContractId, ExtensionContract};
use suanli_primitives::{Fen, PositiveFen};

use crate::channel::{ChannelOp, ChannelTerms, SignedState, StateError, Statement};
use crate::contract::{Conclusion, Exec, TIME_SKEW_MS_MAX, add_fen};
use crate::model::{CloseReason, MINUTE_MS, PartyDid, Role, Serial};
use crate::records::*;

/// Most check-ins of one channel (each settles a newer state; the contract's length bounds
/// how many a party needs).
pub const CHANNEL_CHECKINS_MAX: u32 = 100_000;
/// Most bond postings of one channel.
pub const BONDS_PER_CHANNEL_MAX: u32 = 100;
/// Most challenges one party posts against one unilateral close.
pub const CHALLENGES_PER_CHANNEL_MAX: u32 = 100;

fn err(code: &'static str, message: impl Into<String>) -> ContractError {
    ContractError::new(code, message)
}

fn state_err(e: StateError) -> ContractError {
    ContractError::new(e.code(), e.to_string())
}

/// The service-channel system contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChannelContract;

impl ExtensionContract for ChannelContract {
    fn id(&self) -> ContractId {
        ContractId::Channel
    }

    fn check(&self, body: &[u8]) -> Result<(), ContractError> {
        ChannelOp::decode(body)
            .map(|_| ())
            .map_err(|e| err("malformed_call", e.to_string()))
    }

    fn execute(
        &self,
        ctx: &TxContext<'_>,
        body: &[u8],
        state: &mut dyn StateAccess,
    ) -> Result<(), ContractError> {
        let op = ChannelOp::decode(body).map_err(|e| err("malformed_call", e.to_string()))?;
        let mut exec = Exec { ctx, state };
        match op {
            ChannelOp::Open {
                serial,
                deposit_fen,
                bond_fen,
                challenge_window_ms,
            } => exec.channel_open(&serial, deposit_fen, bond_fen, challenge_window_ms),
            ChannelOp::Bond { serial, amount_fen } => exec.channel_bond(&serial, amount_fen),
            ChannelOp::TopUp { serial, amount_fen } => {
                exec.channel_in(&serial, &[ChannelStatus::Open])?;
                exec.fund(&serial, amount_fen)
            }
            ChannelOp::Checkin { serial, state } => exec.channel_checkin(&serial, &state),
            ChannelOp::CoopClose { serial, state } => exec.channel_coop_close(&serial, &state),
            ChannelOp::ForceClose {
                serial,
                state,
                reason,
            } => exec.channel_force_close(&serial, state.as_ref(), reason),
            ChannelOp::Challenge { serial, state } => exec.channel_challenge(&serial, &state),
            ChannelOp::Settle { serial } => exec.channel_settle(&serial),
        }
    }
}

impl PostedState {
    fn of(s: &Statement) -> Self {
        PostedState {
            seq: s.seq,
            minutes: s.minutes,
            cost_fen: s.cost_fen,
            usage_sha256: s.usage_sha256,
        }
    }

    fn as_statement(&self, serial: Serial) -> Statement {
        Statement {
            serial,
            seq: self.seq,
            minutes: self.minutes,
            cost_fen: self.cost_fen,
            usage_sha256: self.usage_sha256,
            close: None,
        }
    }
}

fn bond_key(serial: &Serial, role: Role) -> Vec<u8> {
    account_balance_key(&bond_account(serial, role))
}

impl Exec<'_, '_> {
    fn channel(&self, serial: &Serial) -> Result<Channel, ContractError> {
        self.get(&channel_key(serial), "channel")?.ok_or_else(|| {
            err(
                "channel_not_found",
                format!("trade {serial} has no channel"),
            )
        })
    }

    /// The channel, if its status is one of `allowed`.
    fn channel_in(
        &self,
        serial: &Serial,
        allowed: &[ChannelStatus],
    ) -> Result<Channel, ContractError> {
        let channel = self.channel(serial)?;
        if !allowed.contains(&channel.status) {
            let (code, what) = match channel.status {
                ChannelStatus::Open => ("channel_open", "is open"),
                ChannelStatus::Closing => ("channel_closing", "is closing"),
                ChannelStatus::Closed => ("channel_closed", "is closed"),
            };
            return Err(err(code, format!("the channel of trade {serial} {what}")));
        }
        Ok(channel)
    }

    /// The key that signs the supplier's channel statements: the agent key that accepted
    /// the contract while it is not revoked, else the supplier's enrolled key. Fixed for
    /// the channel's life at its opening.
    fn channel_supplier_key(
        &self,
        trade: &Trade,
    ) -> Result<suanli_primitives::PublicKey, ContractError> {
        if let Some(key) = trade.agent_key
            && self.agent(&key)?.is_some_and(|a| !a.is_revoked())
        {
            return Ok(key);
        }
        self.key_of(&trade.supplier)
    }

    fn save_channel(&mut self, channel: &Channel) {
        self.put(channel_key(&channel.serial), channel);
    }

    /// A dual-signed state whose signatures verify with the channel's keys. Once the
    /// channel's supplier key is a revoked agent key, that key signs nothing more: the
    /// supplier's signature must then verify with its enrolled key or one of its active
    /// agent keys (`docs/channel-protocol.md` §4).
    fn verified(
        &self,
        channel: &Channel,
        supplier: &PartyDid,
        state: &SignedState,
    ) -> Result<(), ContractError> {
        let revoked = self
            .agent(&channel.terms.supplier_key)?
            .is_some_and(|a| a.is_revoked());
        if !revoked {
            return channel.terms.verify(state).map_err(state_err);
        }
        let statement = &state.statement;
        let party = self.party(supplier)?.ok_or_else(|| corrupt("party"))?;
        let mut keys = vec![party.key];
        keys.extend(self.active_agent_keys(&party)?);
        let supplier_ok = keys
            .iter()
            .any(|k| statement.verify(k, &state.supplier_signature));
        if supplier_ok && statement.verify(&channel.terms.consumer_key, &state.consumer_signature) {
            Ok(())
        } else {
            Err(state_err(StateError::BadSignature))
        }
    }

    fn channel_open(
        &mut self,
        serial: &Serial,
        deposit_fen: Fen,
        bond_fen: Fen,
        challenge_window_ms: u64,
    ) -> Result<(), ContractError> {
        let (trade, consumer) = self.trade_as_consumer_side(serial)?;
        Self::require_open(&trade)?;
        if self.state.get(&channel_key(serial)).is_some() {
            return Err(err("channel_exists", "a trade has at most one channel"));
        }
        let (Some(start_ms), Some(end_ms)) = (trade.billed_until_ms, trade.contract_end_ms) else {
            return Err(err(
                "not_contracted",
                "a channel opens on a trade with a contract",
            ));
        };
        if self.ctx.timestamp_ms >= end_ms {
            return Err(err("contract_ended", "the contract has already ended"));
        }
        if let Ok(deposit) = PositiveFen::try_from(deposit_fen) {
            self.fund(serial, deposit)?;
        }
        // `fund` saved the trade with the deposit: read it again.
        let trade = self.trade(serial)?;
        // The whole minutes since the last check-in were served under the trade's own
        // terms: they are settled now (the minimum charge included), so the channel
        // starts with nothing unbilled behind it and cannot be used to skip them.
        let (mut trade, start_ms, settled_minutes, settled_fen) =
            self.settle_before_channel(trade, start_ms, end_ms)?;
        let end_ms = trade.contract_end_ms.unwrap_or(end_ms);
        trade.billed_until_ms = Some(start_ms);
        // The channel's consumer key is the signer's: the consumer's own key, or the
        // channel key it delegated with the order.
        let consumer_key = *self.ctx.signer;
        let payer = if bond_fen > Fen::ZERO {
            self.consumer_payer(&trade, bond_fen)?
        } else {
            Vec::new()
        };
        self.move_fen(&payer, &bond_key(serial, Role::Consumer), bond_fen)?;
        let terms = ChannelTerms {
            serial: *serial,
            supplier_key: self.channel_supplier_key(&trade)?,
            consumer_key,
            rate_fen_per_minute: trade.rate_fen_per_minute,
            min_cost_fen: trade.min_cost_fen,
            base_minutes: trade.billed_minutes,
            base_charged_fen: trade.charged_fen,
            start_ms,
            end_ms,
        };
        self.save(&trade);
        let channel = Channel {
            serial: *serial,
            status: ChannelStatus::Open,
            opened_at_ms: self.ctx.timestamp_ms,
            terms,
            challenge_window_ms,
            consumer_bond_fen: bond_fen,
            supplier_bond_fen: Fen::ZERO,
            settled: PostedState::default(),
            checkins: 0,
            bonds: 0,
            consumer_challenges: 0,
            supplier_challenges: 0,
            closing: None,
            penalty: None,
        };
        self.save_channel(&channel);
        let data = RecordData::ChannelOpen(ChannelOpenData {
            bond_fen,
            challenge_window_ms,
            deposit_fen,
            settled_before_fen: settled_fen,
            settled_before_minutes: settled_minutes,
            terms,
        });
        self.append_record(serial, &consumer.did, data)
    }

    /// Settles the trade's unbilled time up to now (or the contract's end) from escrow;
    /// returns the trade and the channel's minute 0, and what was settled.
    fn settle_before_channel(
        &mut self,
        mut trade: Trade,
        billed_until: u64,
        end_ms: u64,
    ) -> Result<(Trade, u64, u64, Fen), ContractError> {
        let until = end_ms.min(self.ctx.timestamp_ms);
        // Whole minutes only: a started minute runs on into the channel's first minute
        // (minute 0 of the channel is the end of what is settled here).
        let minutes = until.saturating_sub(billed_until) / MINUTE_MS;
        if minutes == 0 {
            return Ok((trade, billed_until, 0, Fen::ZERO));
        }
        let cost = crate::pricing::settlement_cost(
            trade.billed_minutes,
            trade.charged_fen,
            minutes,
            trade.rate_fen_per_minute,
            trade.min_cost_fen,
        )
        .map_err(|_| err("overflow", "the cost overflows the fen range"))?;
        let escrow_key = Self::escrow_key(&trade.serial);
        let escrow = self.escrow_fen(&escrow_key)?;
        if escrow < cost {
            return Err(err(
                "insufficient_escrow",
                format!(
                    "the {minutes} minutes since the last check-in cost {} fen and the escrow holds {}; deposit more with the opening",
                    cost.get(),
                    escrow.get()
                ),
            ));
        }
        let supplier_key = self.key_of(&trade.supplier)?;
        self.move_fen(&escrow_key, &balance_key(&supplier_key), cost)?;
        // Payment before the channel: escrow before = escrow after + paid.
        debug_assert_eq!(escrow.checked_sub(cost), Ok(self.escrow_fen(&escrow_key)?));
        let start_ms = billed_until
            .checked_add(minutes * MINUTE_MS)
            .ok_or_else(|| err("overflow", "the time overflows"))?;
        trade.billed_minutes += minutes;
        trade.charged_fen = add_fen(trade.charged_fen, cost, "charge")?;
        trade.paid_fen = add_fen(trade.paid_fen, cost, "payment")?;
        Ok((trade, start_ms.min(end_ms), minutes, cost))
    }

    fn channel_bond(
        &mut self,
        serial: &Serial,
        amount_fen: PositiveFen,
    ) -> Result<(), ContractError> {
        let (_, actor) = self.trade_as_actor(serial, Role::Supplier)?;
        if let Some(agent) = &actor.agent {
            // Bonds move the supplier's own money into the channel: its enrolled key only,
            // so a stolen agent key cannot tie up the supplier's balance.
            return Err(self.refuse_agent(agent));
        }
        let supplier = actor.party;
        let mut channel = self.channel_in(serial, &[ChannelStatus::Open])?;
        if channel.bonds >= BONDS_PER_CHANNEL_MAX {
            return Err(err(
                "limit_reached",
                format!("a channel takes at most {BONDS_PER_CHANNEL_MAX} bond postings"),
            ));
        }
        let bond = bond_key(serial, Role::Supplier);
        self.move_fen(&balance_key(&supplier.key), &bond, amount_fen.fen())?;
        channel.bonds += 1;
        channel.supplier_bond_fen = add_fen(channel.supplier_bond_fen, amount_fen.fen(), "bond")?;
        // Bond posting: the bond account holds what the channel says the bond is.
        debug_assert_eq!(self.escrow_fen(&bond)?, channel.supplier_bond_fen);
        self.save_channel(&channel);
        self.append_record(
            serial,
            &supplier.did,
            RecordData::ChannelBond(ChannelBondData {
                amount_fen,
                bond_fen: channel.supplier_bond_fen,
            }),
        )
    }

    fn channel_checkin(
        &mut self,
        serial: &Serial,
        state: &SignedState,
    ) -> Result<(), ContractError> {
        let (mut trade, party, _) = self.trade_as_channel_party(serial)?;
        let mut channel = self.channel_in(serial, &[ChannelStatus::Open])?;
        if channel.checkins >= CHANNEL_CHECKINS_MAX {
            return Err(err(
                "limit_reached",
                format!("a channel takes at most {CHANNEL_CHECKINS_MAX} check-ins; close it"),
            ));
        }
        let next = &state.statement;
        if next.close.is_some() {
            return Err(err(
                "final_state",
                "a final state (close reason set) is posted with coop_close",
            ));
        }
        self.check_newer(&channel, &channel.settled, next)?;
        self.verified(&channel, &trade.supplier, state)?;
        // `check_newer` holds: costs never decrease, so the delta is not negative.
        let delta = next.cost_fen.saturating_sub(channel.settled.cost_fen);
        debug_assert!(next.cost_fen >= channel.settled.cost_fen);
        let escrow_key = Self::escrow_key(serial);
        let escrow = self.escrow_fen(&escrow_key)?;
        if escrow < delta {
            return Err(err(
                "insufficient_escrow",
                format!(
                    "the escrow holds {} fen, the state's new cost is {}; the consumer tops up or a party closes",
                    escrow.get(),
                    delta.get()
                ),
            ));
        }
        let supplier_key = self.key_of(&trade.supplier)?;
        self.move_fen(&escrow_key, &balance_key(&supplier_key), delta)?;
        // Channel check-in payment: escrow before = escrow after + paid.
        debug_assert_eq!(escrow.checked_sub(delta), Ok(self.escrow_fen(&escrow_key)?));
        let start_ms = trade.billed_until_ms.unwrap_or(channel.terms.start_ms);
        let end_ms = channel.terms.start_ms + next.minutes * MINUTE_MS;
        trade.billed_minutes += next.minutes - channel.settled.minutes;
        trade.billed_until_ms = Some(end_ms);
        trade.charged_fen = add_fen(trade.charged_fen, delta, "charge")?;
        trade.paid_fen = add_fen(trade.paid_fen, delta, "payment")?;
        trade.checkins += 1;
        self.save(&trade);
        channel.settled = PostedState::of(next);
        channel.checkins += 1;
        self.save_channel(&channel);
        let data = RecordData::ChannelCheckin(ChannelCheckinData {
            channel: true,
            cost_fen: delta,
            cumulative_cost_fen: next.cost_fen,
            end_ms,
            minutes: next.minutes,
            n: trade.checkins,
            start_ms,
            state: *state,
        });
        self.append_record(serial, &party.did, data)
    }

    /// `next` follows `last` under the channel's rules, by the block's time.
    fn check_newer(
        &self,
        channel: &Channel,
        last: &PostedState,
        next: &Statement,
    ) -> Result<(), ContractError> {
        channel
            .terms
            .check_successor(
                Some(&last.as_statement(channel.serial)),
                next,
                self.ctx.timestamp_ms,
                TIME_SKEW_MS_MAX,
            )
            .map_err(|e| match e {
                StateError::SeqNotIncreasing { last, got } => err(
                    "state_not_newer",
                    format!(
                        "state {got} is not newer than state {last}, which the chain already holds"
                    ),
                ),
                other => state_err(other),
            })
    }

    fn channel_coop_close(
        &mut self,
        serial: &Serial,
        state: &SignedState,
    ) -> Result<(), ContractError> {
        let (trade, party, role) = self.trade_as_channel_party(serial)?;
        let mut channel =
            self.channel_in(serial, &[ChannelStatus::Open, ChannelStatus::Closing])?;
        let next = &state.statement;
        let Some(reason) = next.close else {
            return Err(err("not_final", "a cooperative close needs a final state"));
        };
        if reason == CloseReason::Expired {
            return Err(err(
                "reason_not_allowed",
                "expired ends orders that were never contracted, not channels",
            ));
        }
        if reason == CloseReason::Completed && self.ctx.timestamp_ms < channel.terms.end_ms {
            // Completed means the contract ran to its end, agreed or not (as for a trade's
            // close and a unilateral channel close).
            return Err(err(
                "contract_not_ended",
                "the contract has not reached its end",
            ));
        }
        let last = channel
            .closing
            .as_ref()
            .map_or(channel.settled, |c| c.posted);
        self.check_newer(&channel, &last, next)?;
        self.verified(&channel, &trade.supplier, state)?;
        self.finish_channel(
            trade,
            &mut channel,
            next,
            Conclusion {
                reason,
                role,
                by: party.did,
                tail_minutes: 0,
                tail_cost: Fen::ZERO,
                was_active: true,
                fault_claim: false,
            },
        )
    }

    /// Settles `last` (the tail beyond the settled state), returns the bonds and closes the
    /// trade.
    fn finish_channel(
        &mut self,
        mut trade: Trade,
        channel: &mut Channel,
        last: &Statement,
        mut conclusion: Conclusion,
    ) -> Result<(), ContractError> {
        let serial = channel.serial;
        conclusion.tail_minutes = last.minutes - channel.settled.minutes;
        // `last` is newer than the settled state (`check_newer`): its cost is not lower.
        debug_assert!(last.cost_fen >= channel.settled.cost_fen);
        conclusion.tail_cost = last.cost_fen.saturating_sub(channel.settled.cost_fen);
        // The minimum charge is the trade's flag-fall, channel or not: a close that leaves
        // the trade below it charges the difference, unless it closes for a supplier fault
        // (as the trade's own close does).
        let charged = add_fen(trade.charged_fen, conclusion.tail_cost, "charge")?;
        if conclusion.reason != CloseReason::SupplierFault && charged < trade.min_cost_fen {
            conclusion.tail_cost = add_fen(
                conclusion.tail_cost,
                trade.min_cost_fen.saturating_sub(charged),
                "charge",
            )?;
        }
        trade.billed_until_ms = Some(channel.terms.start_ms + last.minutes * MINUTE_MS);
        for role in [Role::Consumer, Role::Supplier] {
            let bond = bond_key(&serial, role);
            let held = self.escrow_fen(&bond)?;
            let payee = if role == Role::Consumer {
                self.consumer_payee(&trade, held)?
            } else {
                balance_key(&self.key_of(&trade.supplier)?)
            };
            // Settlement returns each bond whole: the channel's record of it and the
            // account agree, and the account ends empty.
            debug_assert_eq!(
                held,
                match role {
                    Role::Consumer => channel.consumer_bond_fen,
                    _ => channel.supplier_bond_fen,
                }
            );
            self.move_fen(&bond, &payee, held)?;
            debug_assert_eq!(self.escrow_fen(&bond)?, Fen::ZERO);
        }
        channel.status = ChannelStatus::Closed;
        self.save_channel(channel);
        self.conclude(trade, conclusion)
    }

    /// A final state (close reason set) is settled by `coop_close`, which honours the
    /// agreed reason.
    fn not_final(state: &SignedState) -> Result<(), ContractError> {
        if state.statement.close.is_some() {
            return Err(err(
                "final_state",
                "a final state (close reason set) is posted with coop_close",
            ));
        }
        Ok(())
    }

    fn check_close_reason(
        &self,
        channel: &Channel,
        role: Role,
        reason: CloseReason,
    ) -> Result<(), ContractError> {
        let allowed = match reason {
            CloseReason::Completed => {
                if self.ctx.timestamp_ms < channel.terms.end_ms {
                    return Err(err(
                        "contract_not_ended",
                        "the contract has not reached its end",
                    ));
                }
                true
            }
            CloseReason::StoppedByConsumer => role == Role::Consumer,
            CloseReason::SupplierFault => true,
            CloseReason::OutOfFunds => role == Role::Supplier,
            CloseReason::Expired => false,
        };
        if !allowed {
            return Err(err(
                "reason_not_allowed",
                format!(
                    "the {} cannot close a channel for {}",
                    role.as_str(),
                    reason.as_str()
                ),
            ));
        }
        Ok(())
    }

    /// `out_of_funds` only when the escrow left after `posted` no longer covers the next
    /// period, as for the trade's own close.
    fn check_out_of_funds(
        &self,
        channel: &Channel,
        posted: &PostedState,
    ) -> Result<(), ContractError> {
        let trade = self.trade(&channel.serial)?;
        let escrow = self.escrow_fen(&Self::escrow_key(&channel.serial))?;
        // Signed: the posted state may cost more than the escrow holds.
        let left = escrow.get() - (posted.cost_fen.get() - channel.settled.cost_fen.get());
        let next_minutes = posted
            .minutes
            .saturating_add(trade.period_minutes)
            .min(channel.terms.minutes_max());
        let next = channel
            .terms
            .cost_of(next_minutes)
            .map_err(state_err)?
            .get()
            - posted.cost_fen.get();
        if next > 0 && left >= next {
            return Err(err(
                "escrow_still_covers",
                format!("the escrow left ({left} fen) still covers the next period's {next} fen"),
            ));
        }
        Ok(())
    }

    fn channel_force_close(
        &mut self,
        serial: &Serial,
        state: Option<&SignedState>,
        reason: CloseReason,
    ) -> Result<(), ContractError> {
        let (trade, party, role) = self.trade_as_channel_party(serial)?;
        let mut channel = self.channel_in(serial, &[ChannelStatus::Open])?;
        self.check_close_reason(&channel, role, reason)?;
        if let Some(state) = state {
            Self::not_final(state)?;
        }
        let posted = match state {
            Some(state) => {
                self.check_newer(&channel, &channel.settled, &state.statement)?;
                self.verified(&channel, &trade.supplier, state)?;
                PostedState::of(&state.statement)
            }
            None => channel.settled,
        };
        if reason == CloseReason::OutOfFunds {
            self.check_out_of_funds(&channel, &posted)?;
        }
        let now = self.ctx.timestamp_ms;
        let deadline_ms = now.saturating_add(channel.challenge_window_ms);
        channel.status = ChannelStatus::Closing;
        channel.closing = Some(Closing {
            by: role,
            reason,
            at_ms: now,
            deadline_ms,
            posted,
            posted_by: role,
        });
        self.save_channel(&channel);
        let data = RecordData::ChannelForceClose(ChannelForceCloseData {
            by_role: role,
            deadline_ms,
            posted_cost_fen: posted.cost_fen,
            posted_seq: posted.seq,
            reason,
            state: state.copied(),
        });
        self.append_record(serial, &party.did, data)
    }

    fn channel_challenge(
        &mut self,
        serial: &Serial,
        state: &SignedState,
    ) -> Result<(), ContractError> {
        Self::not_final(state)?;
        let (trade, party, role) = self.trade_as_channel_party(serial)?;
        let mut channel = self.channel_in(serial, &[ChannelStatus::Closing])?;
        let Some(mut closing) = channel.closing.clone() else {
            return Err(corrupt("channel closing"));
        };
        if self.ctx.timestamp_ms >= closing.deadline_ms {
            return Err(err(
                "window_passed",
                "the challenge window has passed; settle the channel",
            ));
        }
        // Counted per party, so one party's updates can never use up the other's right
        // to answer with its newest state.
        let count = match role {
            Role::Supplier => &mut channel.supplier_challenges,
            _ => &mut channel.consumer_challenges,
        };
        if *count >= CHALLENGES_PER_CHANNEL_MAX {
            return Err(err(
                "limit_reached",
                format!("a party posts at most {CHALLENGES_PER_CHANNEL_MAX} challenges per close"),
            ));
        }
        *count += 1;
        self.check_newer(&channel, &closing.posted, &state.statement)?;
        self.verified(&channel, &trade.supplier, state)?;
        let stale = closing.posted;
        let stale_by = closing.posted_by;
        let mut penalty_fen = Fen::ZERO;
        if stale_by == Role::Consumer && role == Role::Supplier {
            // The consumer posted a state older than one it had countersigned: its bond
            // goes to the supplier. Only the consumer gains from an older state (costs only
            // grow), and only the consumer always holds the newest state (it countersigns
            // and stores before it answers), so a supplier whose answer was lost is never
            // penalised for posting the newest state it holds.
            let bond = bond_key(serial, stale_by);
            penalty_fen = self.escrow_fen(&bond)?;
            let winner_did = if role == Role::Consumer {
                &trade.consumer
            } else {
                &trade.supplier
            };
            let winner = self.key_of(winner_did)?;
            self.move_fen(&bond, &balance_key(&winner), penalty_fen)?;
            // Penalty: the whole bond moved to the other party; nothing is left of it.
            debug_assert_eq!(self.escrow_fen(&bond)?, Fen::ZERO);
            match stale_by {
                Role::Supplier => channel.supplier_bond_fen = Fen::ZERO,
                _ => channel.consumer_bond_fen = Fen::ZERO,
            }
            channel.penalty = Some(Penalty {
                party: stale_by,
                fen: penalty_fen,
                stale_seq: stale.seq,
                proven_by_seq: state.statement.seq,
            });
        }
        closing.posted = PostedState::of(&state.statement);
        closing.posted_by = role;
        channel.closing = Some(closing);
        self.save_channel(&channel);
        let penalised = stale_by == Role::Consumer && role == Role::Supplier;
        let data = RecordData::ChannelChallenge(ChannelChallengeData {
            penalised_role: (!penalty_fen.is_zero() || penalised).then_some(stale_by),
            penalty_fen,
            seq: state.statement.seq,
            stale_by_role: stale_by,
            stale_seq: stale.seq,
            state: *state,
        });
        self.append_record(serial, &party.did, data)
    }

    fn channel_settle(&mut self, serial: &Serial) -> Result<(), ContractError> {
        let (trade, _, _) = self.trade_as_channel_party(serial)?;
        let mut channel = self.channel_in(serial, &[ChannelStatus::Closing])?;
        let Some(closing) = channel.closing.clone() else {
            return Err(corrupt("channel closing"));
        };
        if self.ctx.timestamp_ms < closing.deadline_ms {
            return Err(err(
                "window_open",
                format!(
                    "the challenge window runs until {}; settle after it",
                    closing.deadline_ms
                ),
            ));
        }
        let closer = if closing.by == Role::Consumer {
            trade.consumer.clone()
        } else {
            trade.supplier.clone()
        };
        let last = closing.posted.as_statement(*serial);
        self.finish_channel(
            trade,
            &mut channel,
            &last,
            Conclusion {
                reason: closing.reason,
                role: closing.by,
                by: closer,
                tail_minutes: 0,
                tail_cost: Fen::ZERO,
                was_active: true,
                fault_claim: closing.reason == CloseReason::SupplierFault
                    && closing.by == Role::Consumer,
            },
        )
    }
}
