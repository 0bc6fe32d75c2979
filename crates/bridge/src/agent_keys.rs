//! `AgentKeys` over a [`LedgerClient`]: the facts of a trade a work order is raised for,
//! read from the trade chain's state (`docs/supply.md` §3.4), so the platform records the
//! trade's parties and amounts as the chain has them.

use std::sync::Arc;

use suanli_ledger_client::LedgerClient;
use suanli_platform_http::PortError;
use suanli_platform_http::agent_keys::{AgentKeys, TradeFacts, TradeStage};
use suanli_primitives::ChainKind;
use suanli_trade::Serial;
use suanli_trade::records::{Status, Trade, trade_key};

/// The agent's chain port over a ledger client.
#[derive(Debug, Clone)]
pub struct LedgerAgentKeys {
    ledger: Arc<dyn LedgerClient>,
}

impl LedgerAgentKeys {
    /// The port over `ledger`.
    pub fn new(ledger: Arc<dyn LedgerClient>) -> Self {
        Self { ledger }
    }
}

/// The platform's view of a trade record.
pub fn facts(t: &Trade) -> TradeFacts {
    TradeFacts {
        supplier_did: t.supplier.as_str().to_owned(),
        consumer_did: t.consumer.as_str().to_owned(),
        offer_id: t.offer_id,
        units: t.requirements.quantity,
        minutes: t.requirements.duration_minutes,
        value_fen: t.funded_fen.get(),
        stage: match t.status {
            Status::Ordered => TradeStage::Ordered,
            Status::Active => TradeStage::Active,
            Status::Closed => TradeStage::Closed,
        },
    }
}

impl AgentKeys for LedgerAgentKeys {
    fn trade(&self, serial: &str) -> Result<Option<TradeFacts>, PortError> {
        let serial = Serial::parse(serial).map_err(|e| PortError::Refused {
            code: "invalid_serial",
            message: e.to_string(),
        })?;
        let Some(bytes) = self
            .ledger
            .state_get(ChainKind::Trade, &trade_key(&serial))
            .map_err(PortError::ledger)?
        else {
            return Ok(None);
        };
        let t: Trade = serde_json::from_slice(&bytes).map_err(PortError::ledger)?;
        Ok(Some(facts(&t)))
    }
}
