//! [`LedgerTradeBook`] — the platform's `TradeBook` port over the trade chain's read side
//! (`suanli_trade::view`): a supplier DID's trades (its party history, newest first) with
//! their records — order, contract, check-ins (and channel check-ins) with amounts and
//! periods, top-ups, close, rating — and its reputation per resource dimension.
//!
//! The platform's node is a member of the chain and reads its state directly through
//! `LedgerClient::state_get`; nothing here writes. Amounts stay integer fen; a close
//! that charged a tail counts as the trade's next settlement (what it actually paid the
//! supplier: the tail minus what the escrow could not cover).

use std::sync::Arc;

use suanli_identity::StateRead;
use suanli_ledger_client::LedgerClient;
use suanli_platform_http::PortError;
use suanli_platform_http::domain::OrgVisibility;
use suanli_platform_http::domain::money::Fen;
use suanli_platform_http::service::supply_money::{
    SupplierReconciliation, books_of, supplier_did_in,
};
// --- payout burns (issue 16, payout helper)
use suanli_platform_http::payout_ledger::PayoutLedger;
use suanli_platform_http::service::supply_money::payout_chain::burned_of;
use suanli_platform_http::store::{OpsStore, PAGE_SIZE_MAX};
use suanli_platform_http::trade_book::{
    ChainCheckIn, ChainClose, ChainRating, ChainReputation, ChainTopUp, ChainTrade,
    TRADES_READ_MAX, TradeBook,
};
use suanli_primitives::{ChainKind, Clock, SystemClock};
use suanli_trade::PartyDid;
use suanli_trade::record_data::RecordData;
use suanli_trade::records::{Record, Status, Trade};
use suanli_trade::view;

use crate::BridgeError;

/// Most records read per trade (check-ins are bounded by the contract's length).
const RECORDS_PER_TRADE_MAX: u32 = 10_000;

/// Reads trades and reputations from the trade chain of `ledger`.
#[derive(Debug)]
pub struct LedgerTradeBook {
    ledger: Arc<dyn LedgerClient>,
    clock: Arc<dyn Clock>,
}

/// The chain's state, read key by key through the client.
struct ClientState<'a>(&'a dyn LedgerClient);

impl StateRead for ClientState<'_> {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        // A failed read is a missing value to the view; the caller sees fewer records,
        // never invented ones.
        self.0.state_get(ChainKind::Trade, key).ok().flatten()
    }
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn status(s: &Status) -> &'static str {
    match s {
        Status::Ordered => "ordered",
        Status::Active => "active",
        Status::Closed => "closed",
    }
}

fn fen(v: suanli_primitives::Fen) -> Result<Fen, BridgeError> {
    Ok(Fen::new(v.get())?)
}

impl LedgerTradeBook {
    /// A trade book on `ledger`; reputations are computed at `clock`'s time.
    pub fn new(ledger: Arc<dyn LedgerClient>, clock: Arc<dyn Clock>) -> Self {
        Self { ledger, clock }
    }

    fn all_records(&self, t: &Trade) -> Vec<Record> {
        let state = ClientState(self.ledger.as_ref());
        let mut out = Vec::new();
        let mut from = 0u32;
        while from < RECORDS_PER_TRADE_MAX {
            let page = view::records(&state, &t.serial, from, view::PAGE_MAX);
            if page.is_empty() {
                break;
            }
            from = from.saturating_add(u32::try_from(page.len()).unwrap_or(u32::MAX));
            out.extend(page);
        }
        out
    }

    fn chain_trade(&self, t: &Trade) -> Result<ChainTrade, BridgeError> {
        let mut out = ChainTrade {
            serial: t.serial.to_string(),
            offer_id: t.offer_id,
            mode_id: t.mode_id,
            consumer: t.consumer.as_str().to_owned(),
            status: status(&t.status).to_owned(),
            ordered_ms: ms(t.ordered_at_ms),
            contract_start_ms: t.contract_start_ms.map(ms),
            contract_end_ms: t.contract_end_ms.map(ms),
            funded_fen: fen(t.funded_fen)?,
            paid_fen: fen(t.paid_fen)?,
            unpaid_fen: fen(t.unpaid_fen)?,
            checkins: Vec::new(),
            topups: Vec::new(),
            close: None,
            rating: None,
        };
        for r in self.all_records(t) {
            let at = ms(r.block_time_ms);
            match &r.data {
                RecordData::Checkin(c) => out.checkins.push(ChainCheckIn {
                    n: c.n,
                    start_ms: ms(c.start_ms),
                    end_ms: ms(c.end_ms),
                    minutes: c.minutes,
                    cost_fen: fen(c.cost_fen)?,
                    at_ms: at,
                    kind: "checkin",
                }),
                RecordData::ChannelCheckin(c) => out.checkins.push(ChainCheckIn {
                    n: c.n,
                    start_ms: ms(c.start_ms),
                    end_ms: ms(c.end_ms),
                    minutes: c.minutes,
                    cost_fen: fen(c.cost_fen)?,
                    at_ms: at,
                    kind: "channel_checkin",
                }),
                RecordData::Fund(f) => out.topups.push(ChainTopUp {
                    amount_fen: Fen::new(f.amount_fen.get())?,
                    at_ms: at,
                }),
                RecordData::Close(c) => {
                    let paid = c.tail_cost_fen.get().saturating_sub(c.unpaid_fen.get());
                    if paid > 0 {
                        let start = out
                            .checkins
                            .last()
                            .map_or(t.contract_start_ms.map_or(at, ms), |l| l.end_ms);
                        let n = out.checkins.last().map_or(1, |l| l.n.saturating_add(1));
                        out.checkins.push(ChainCheckIn {
                            n,
                            start_ms: start,
                            end_ms: at,
                            minutes: c.tail_minutes,
                            cost_fen: Fen::new(paid)?,
                            at_ms: at,
                            kind: "close_tail",
                        });
                    }
                    out.close = Some(ChainClose {
                        reason: c.reason.as_str().to_owned(),
                        by: c.by_role.as_str().to_owned(),
                        refund_fen: fen(c.refund_fen)?,
                        at_ms: at,
                    });
                }
                RecordData::Rating(g) => {
                    out.rating = Some(ChainRating {
                        overall_milli: g.overall_milli,
                        scores: g
                            .scores
                            .iter()
                            .map(|(r, s)| (r.as_str().to_owned(), s))
                            .collect(),
                        at_ms: at,
                    });
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn trades_of(&self, did: &str) -> Result<Vec<ChainTrade>, BridgeError> {
        let did = party(did)?;
        let state = ClientState(self.ledger.as_ref());
        let (_, serials) = view::history(&state, &did, 0, TRADES_READ_MAX);
        let mut out = Vec::new();
        for serial in serials {
            // The history holds every trade the DID is party to; keep those it supplies.
            let Some(t) = view::trade(&state, &serial) else {
                continue;
            };
            if t.supplier == did {
                out.push(self.chain_trade(&t)?);
            }
        }
        Ok(out)
    }
}

fn party(did: &str) -> Result<PartyDid, BridgeError> {
    PartyDid::parse(did).map_err(|e| BridgeError::invalid("invalid_did", e.to_string()))
}

impl TradeBook for LedgerTradeBook {
    fn supplier_trades(&self, supplier_did: &str) -> Result<Vec<ChainTrade>, PortError> {
        Ok(self.trades_of(supplier_did)?)
    }

    fn reputation(&self, supplier_did: &str) -> Result<ChainReputation, PortError> {
        let did = party(supplier_did)?;
        let state = ClientState(self.ledger.as_ref());
        let r = view::reputation(&state, &did, self.clock.now_ms());
        Ok(ChainReputation {
            orders: r.orders,
            contracted: r.contracted,
            ratings: r.ratings,
            completion_rate: r.completion_rate,
            overall: r.overall,
            per_resource: r
                .per_resource
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v))
                .collect(),
        })
    }
}

/// Every supplier organisation's books (`suanli ops reconcile`, issue 16): its trades read
/// from `ledger` by its supplier DID, compared with its statements and payouts
/// (`service::supply_money::books_of`).
///
/// `payouts` reads the burns of approved payouts (`None`: the operator key is not here,
/// nothing is counted as burned).
pub async fn reconcile_suppliers(
    store: &dyn OpsStore,
    ledger: Arc<dyn LedgerClient>,
    payouts: Option<Arc<dyn PayoutLedger>>,
) -> Result<Vec<SupplierReconciliation>, BridgeError> {
    let book = LedgerTradeBook::new(ledger, Arc::new(SystemClock));
    let now = SystemClock.now_unix_ms();
    let fail =
        |e: &dyn std::fmt::Display| BridgeError::invalid("supplier_reconcile", e.to_string());
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let orgs = store
            .list_orgs(OrgVisibility::All, after, PAGE_SIZE_MAX)
            .await
            .map_err(|e| fail(&e))?;
        let Some(last) = orgs.last() else { break };
        after = Some(last.id);
        for org in orgs.iter().filter(|o| o.kind.is_supplier()) {
            let did = supplier_did_in(store, org.id).await.map_err(|e| fail(&e))?;
            let trades = match did {
                Some(did) => book.trades_of(&did)?,
                None => Vec::new(),
            };
            let burned = match &payouts {
                Some(p) => burned_of(store, Arc::clone(p), org.id)
                    .await
                    .map_err(|e| fail(&e))?,
                None => 0,
            };
            out.push(
                books_of(store, org.id, Some(&trades), burned, now)
                    .await
                    .map_err(|e| fail(&e))?,
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::dids::LedgerDids;
    use suanli_platform_http::keys::DidRegistry;
    use suanli_primitives::SecretKey;

    /// On a node without trades, a supplier DID has no trades and an empty record; a
    /// DID that does not parse is refused, not read.
    #[test]
    fn reads_an_empty_book_and_refuses_a_bad_did() {
        let dir = tempfile::tempdir().unwrap();
        let (node, producers) = suanli_ledger_client::embedded::open_node(
            dir.path(),
            "suanli-test",
            None,
            suanli_ledger::MempoolConfig::default(),
        )
        .unwrap();
        let ledger = Arc::clone(&node) as Arc<dyn LedgerClient>;
        let did = LedgerDids::new(Arc::clone(&ledger))
            .unwrap()
            .did_of(&SecretKey::from_label("trade-book/supplier").public());
        let book = LedgerTradeBook::new(ledger, Arc::new(SystemClock));
        assert_eq!(book.supplier_trades(&did).unwrap(), Vec::new());
        let r = book.reputation(&did).unwrap();
        assert_eq!(
            (r.orders, r.contracted, r.ratings, r.overall),
            (0, 0, 0, None)
        );
        let bad = book.supplier_trades("not-a-did").unwrap_err();
        assert_eq!(bad.code(), "invalid_did");
        suanli_ledger_client::embedded::stop((node, producers));
    }
}
