//! [`LedgerTradeDesk`] — the platform's `TradeDesk` port (issue 18, `docs/exchange.md`
//! §6–8) over `LedgerClient`: the consumer's top-up of its trade signed with the
//! member's own key (the channel's `top_up` while the trade's channel is open, the
//! trade's `fund` before — the contract takes both from the organisation's wallet within
//! the member's limit), the low-funds notices of the platform's consumer-side channel
//! controller (`consumer_channels.rs`, taken through the controller's slot), a trade's
//! channel with its disputes, and a trade's bundle for offline verification
//! (`suanli_ledger_client::bundle`, `docs/trade.md` §10).

use std::sync::Arc;

use suanli_ledger_client::supply::ChainState;
use suanli_ledger_client::{ClientError, LedgerClient, LedgerError};
use suanli_platform_http::PortError;
use suanli_platform_http::service::trades::CHAIN_REFUSALS;
use suanli_platform_http::trade_desk::{ChannelNotice, ChannelView, LiveChannel, TradeDesk};
use suanli_primitives::{ChainKind, PositiveFen, SecretKey};
use suanli_trade::channel::ChannelOp;
use suanli_trade::records::ChannelStatus;
use suanli_trade::{Serial, TradeOp};

use crate::trade_ledger::ChannelSlot;

/// The desk on one ledger; the controller's notices come through `slot` once the
/// consumer channel worker runs.
#[derive(Debug, Clone)]
pub struct LedgerTradeDesk {
    ledger: Arc<dyn LedgerClient>,
    slot: ChannelSlot,
}

impl LedgerTradeDesk {
    /// A desk on `ledger` with the consumer channel controller's `slot`.
    pub fn new(ledger: Arc<dyn LedgerClient>, slot: ChannelSlot) -> Self {
        Self { ledger, slot }
    }
}

fn refused(code: &'static str, message: impl Into<String>) -> PortError {
    PortError::Refused {
        code,
        message: message.into(),
    }
}

fn serial_of(raw: &str) -> Result<Serial, PortError> {
    suanli_ledger_client::trade::serial(raw).map_err(|e| refused("invalid_serial", e.to_string()))
}

/// A failed call is the chain's answer (its code when the API names it, else
/// `chain_refused`); a ledger that could not be asked is a ledger failure.
fn answer(e: ClientError) -> PortError {
    let mut cur = &e;
    while let ClientError::Context { source, .. } = cur {
        cur = source;
    }
    match cur {
        ClientError::Ledger(LedgerError::Failed { reason, .. }) => {
            let head = reason.split_once(':').map_or("", |(c, _)| c);
            let code = CHAIN_REFUSALS
                .iter()
                .find(|c| **c == head)
                .copied()
                .unwrap_or("chain_refused");
            refused(code, reason.clone())
        }
        ClientError::Ledger(_) => PortError::ledger(e),
        other => refused("chain_refused", suanli_primitives::error_chain(other)),
    }
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl TradeDesk for LedgerTradeDesk {
    fn top_up(&self, key: &SecretKey, serial: &str, amount_fen: i64) -> Result<String, PortError> {
        let serial = serial_of(serial)?;
        let amount = PositiveFen::new(amount_fen)
            .ok()
            .ok_or_else(|| refused("invalid_amount", "a top-up is a positive amount"))?;
        let state = ChainState::new(self.ledger.as_ref(), ChainKind::Trade);
        let channel = suanli_trade::view::channel(&state, &serial);
        let open = state
            .done(channel)
            .map_err(answer)?
            .is_some_and(|c| c.status == ChannelStatus::Open);
        if open {
            let op = ChannelOp::TopUp {
                serial,
                amount_fen: amount,
            };
            suanli_ledger_client::channel::submit(self.ledger.as_ref(), key, &op).map_err(answer)
        } else {
            let op = TradeOp::Fund {
                serial,
                amount_fen: amount,
            };
            suanli_ledger_client::trade::submit(self.ledger.as_ref(), key, &op, "fund")
                .map_err(answer)
        }
    }

    fn live(&self, serial: &str) -> Option<LiveChannel> {
        let serial = serial_of(serial).ok()?;
        let controller = self.slot.get()?.controller();
        let setup = controller.setup(&serial)?;
        let latest = controller.latest(&serial).map(|s| s.statement);
        Some(LiveChannel {
            seq: latest.as_ref().map(|s| s.seq),
            minutes: latest.as_ref().map_or(0, |s| s.minutes),
            cost_fen: latest.as_ref().map_or(0, |s| s.cost_fen.get()),
            margin_fen: setup.margin_fen(),
        })
    }

    fn take_notices(&self) -> Vec<ChannelNotice> {
        let Some(controller) = self.slot.get() else {
            return Vec::new();
        };
        controller
            .notices()
            .into_iter()
            .map(|n| ChannelNotice {
                serial: n.serial.to_string(),
                paused: n.paused,
                remaining_fen: n.remaining_fen,
                margin_fen: n.margin_fen,
            })
            .collect()
    }

    fn channel(&self, serial: &str) -> Result<Option<ChannelView>, PortError> {
        let serial = serial_of(serial)?;
        let state = ChainState::new(self.ledger.as_ref(), ChainKind::Trade);
        let found = suanli_trade::view::channel(&state, &serial);
        let Some(c) = state.done(found).map_err(answer)? else {
            return Ok(None);
        };
        let status = match c.status {
            ChannelStatus::Open => "open",
            ChannelStatus::Closing => "closing",
            ChannelStatus::Closed => "closed",
        };
        let disputed = c.status == ChannelStatus::Closing
            || c.consumer_challenges > 0
            || c.supplier_challenges > 0
            || c.penalty.is_some();
        Ok(Some(ChannelView {
            status: status.to_owned(),
            opened_at_ms: ms(c.opened_at_ms),
            checkins: c.checkins,
            settled_minutes: c.settled.minutes,
            settled_cost_fen: c.settled.cost_fen.get(),
            consumer_challenges: c.consumer_challenges,
            supplier_challenges: c.supplier_challenges,
            penalty: c.penalty.is_some(),
            disputed,
        }))
    }

    fn bundle_json(&self, serial: &str) -> Result<Option<String>, PortError> {
        let serial = serial_of(serial)?;
        let bundle = suanli_ledger_client::bundle::trade_bundle(self.ledger.as_ref(), &serial)
            .map_err(answer)?;
        bundle
            .map(|b| serde_json::to_string_pretty(&b))
            .transpose()
            .map_err(|e| PortError::ledger(std::io::Error::other(e.to_string())))
    }
}
