//! The agent's trade-chain operations over any [`LedgerClient`] (an embedded node or a
//! node's HTTP API): reading its supplier's trades from the chain's state, and the
//! supplier's records — the contract with its trade-start credential, the check-ins with
//! their credentials, the close — signed by the agent's key with the verification
//! method the configuration names, at the time of the injected clock.

use crate::AgentError;
use std::cell::RefCell;
use suanli_identity::StateRead;
use suanli_ledger_client::trade::submit;
use suanli_ledger_client::{ClientError, LedgerClient, LedgerError};
use suanli_primitives::{ChainKind, Fen, SecretKey};
use suanli_trade::model::MINUTE_MS;
use suanli_trade::records::Trade;
use suanli_trade::{CloseReason, PartyDid, Serial, TradeOp, credentials, op, pricing, view};

/// The chain's state through a ledger client; the first read failure is kept so the
/// caller can report it instead of taking "absent" for an answer.
pub(crate) struct ChainState<'a> {
    client: &'a dyn LedgerClient,
    failure: RefCell<Option<LedgerError>>,
}

impl StateRead for ChainState<'_> {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.client.state_get(ChainKind::Trade, key) {
            Ok(v) => v,
            Err(e) => {
                self.failure.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

impl<'a> ChainState<'a> {
    pub(crate) fn new(client: &'a dyn LedgerClient) -> Self {
        ChainState {
            client,
            failure: RefCell::new(None),
        }
    }
    pub(crate) fn done<T>(self, v: T) -> Result<T, AgentError> {
        match self.failure.into_inner() {
            Some(e) => Err(e.into()),
            None => Ok(v),
        }
    }
}

/// The supplier's most recent trades (at most `view::PAGE_MAX`, newest first).
pub fn recent_trades(
    client: &dyn LedgerClient,
    supplier: &PartyDid,
) -> Result<Vec<Trade>, AgentError> {
    let state = ChainState::new(client);
    let (_, serials) = view::history(&state, supplier, 0, view::PAGE_MAX);
    let trades = serials
        .iter()
        .filter_map(|s| view::trade(&state, s))
        .collect();
    state.done(trades)
}

/// One trade as the chain holds it; `None` if the chain has no such trade.
pub fn trade_of(client: &dyn LedgerClient, serial: &Serial) -> Result<Option<Trade>, AgentError> {
    let state = ChainState::new(client);
    let trade = view::trade(&state, serial);
    state.done(trade)
}

/// Countersigns the order and issues the trade-start credential.
pub fn accept(
    client: &dyn LedgerClient,
    key: &SecretKey,
    fragment: &str,
    trade: &Trade,
    now_ms: u64,
) -> Result<String, AgentError> {
    let serial = trade.serial;
    let draft = credentials::draft(
        trade,
        credentials::start_credential_id(&serial),
        trade.trade_start_cpt,
        credentials::start_claims(trade),
        now_ms,
    )
    .map_err(ClientError::from)?;
    let credential =
        credentials::issue(&draft, key, fragment, now_ms).map_err(ClientError::from)?;
    let accept = TradeOp::Accept {
        serial,
        signature: key.sign(&op::contract_message(&trade.order_signature)),
        credential,
    };
    Ok(submit(client, key, &accept, "accept")?)
}

/// A check-in made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedIn {
    /// Minutes settled.
    pub minutes: u64,
    /// What they cost.
    pub cost_fen: Fen,
}

/// Checks in the next period if a whole one has passed (or the contract ended with whole
/// minutes left): from where the chain's last check-in ended, up to one period and the
/// contract's end. `None` when there is nothing to settle yet.
pub fn checkin_due(
    client: &dyn LedgerClient,
    key: &SecretKey,
    fragment: &str,
    trade: &Trade,
    now_ms: u64,
) -> Result<Option<CheckedIn>, AgentError> {
    let (Some(start), Some(end_max)) = (trade.billed_until_ms, trade.contract_end_ms) else {
        return Ok(None);
    };
    let period_end = start.saturating_add(trade.period_minutes.saturating_mul(MINUTE_MS));
    // A whole period, or the last stretch of the contract once it ended.
    let due = if period_end <= end_max {
        period_end
    } else {
        end_max
    };
    if now_ms < due {
        return Ok(None);
    }
    let minutes = due.saturating_sub(start) / MINUTE_MS;
    if minutes == 0 {
        return Ok(None);
    }
    let end = start.saturating_add(minutes.saturating_mul(MINUTE_MS));
    let cost = pricing::settlement_cost(
        trade.billed_minutes,
        trade.charged_fen,
        minutes,
        trade.rate_fen_per_minute,
        trade.min_cost_fen,
    )
    .map_err(ClientError::invalid)?;
    let draft = credentials::draft(
        trade,
        credentials::checkin_credential_id(&trade.serial, trade.checkins + 1),
        trade.checkin_cpt,
        credentials::checkin_claims(trade, start, end, cost),
        start,
    )
    .map_err(ClientError::from)?;
    let credential = credentials::issue(&draft, key, fragment, end).map_err(ClientError::from)?;
    let op = TradeOp::Checkin {
        serial: trade.serial,
        start_ms: start,
        end_ms: end,
        cost_fen: cost,
        credential,
    };
    submit(client, key, &op, "check-in")?;
    Ok(Some(CheckedIn {
        minutes,
        cost_fen: cost,
    }))
}

/// Closes the trade for `reason`.
pub fn close(
    client: &dyn LedgerClient,
    key: &SecretKey,
    serial: Serial,
    reason: CloseReason,
) -> Result<String, AgentError> {
    Ok(submit(
        client,
        key,
        &TradeOp::Close { serial, reason },
        "close",
    )?)
}
