//! [`LedgerTradeBook`] — the platform's `TradeBook` port over the trade chain's read side
//! (`suanli_trade::view`): a supplier DID's trades (its party history, newest first) with
//! their records — order, contract, check-ins (and channel check-ins) with amounts and
//! periods, top-ups, close, rating — and its reputation per resource dimension.
//!
//! The platform's node is a member of the chain and reads its state directly through
//! `LedgerClient::state_get`; nothing here writes. Reads are strict, because statements
//! settle what is read: the whole history of the DID is paged (not only the newest
//! `view::PAGE_MAX`), every record from 0 to the trade's record count is read, and a
//! failed read, a missing entry or one that does not decode is an error — never fewer
//! trades, records or check-ins. Amounts stay integer fen; a close that charged a tail
//! counts as the trade's next settlement, numbered after the chain's check-in count
//! (`trade.checkins + 1`), for what it actually paid the supplier: the tail minus what
//! the escrow could not cover; opening a channel that settled the minutes since the last
//! check-in counts as settlement number 0.

use std::sync::Arc;

use serde::de::DeserializeOwned;
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
    ChainCheckIn, ChainClose, ChainRating, ChainReputation, ChainTopUp, ChainTrade, TradeBook,
};
use suanli_primitives::{ChainKind, Clock, SystemClock};
use suanli_trade::PartyDid;
use suanli_trade::record_data::RecordData;
use suanli_trade::records::{
    Record, Status, Trade, history_count_key, history_key, record_count_key, record_key, trade_key,
};
use suanli_trade::view;

use crate::BridgeError;

/// Most records read per trade (check-ins are bounded by the contract's length); a trade
/// with more is an error, not a shortened list.
const RECORDS_PER_TRADE_MAX: u32 = 10_000;

/// Reads trades and reputations from the trade chain of `ledger`.
#[derive(Debug)]
pub struct LedgerTradeBook {
    ledger: Arc<dyn LedgerClient>,
    clock: Arc<dyn Clock>,
}

/// The chain's state, read key by key through the client for `view::reputation` (not used
/// for settlement: a failed read there is a missing value).
struct ClientState<'a>(&'a dyn LedgerClient);

impl StateRead for ClientState<'_> {
    fn read(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.state_get(ChainKind::Trade, key).ok().flatten()
    }
}

fn corrupt(what: &str) -> BridgeError {
    BridgeError::invalid(
        "trade_chain_corrupt",
        format!("the trade chain's {what} is missing or does not decode"),
    )
}

/// The chain's state read strictly: a failed read is an error.
struct Strict<'a>(&'a dyn LedgerClient);

impl Strict<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BridgeError> {
        Ok(self.0.state_get(ChainKind::Trade, key)?)
    }

    /// The value at `key`, which must be there and decode.
    fn value<T: DeserializeOwned>(&self, key: &[u8], what: &str) -> Result<T, BridgeError> {
        let bytes = self.get(key)?.ok_or_else(|| corrupt(what))?;
        serde_json::from_slice(&bytes).map_err(|_| corrupt(what))
    }

    /// A big-endian counter of `N` bytes (absent: 0).
    fn counter<const N: usize>(&self, key: &[u8], what: &str) -> Result<u64, BridgeError> {
        let Some(bytes) = self.get(key)? else {
            return Ok(0);
        };
        let b = <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| corrupt(what))?;
        let mut wide = [0u8; 8];
        wide[8 - N..].copy_from_slice(&b);
        Ok(u64::from_be_bytes(wide))
    }

    /// Every trade serial `did` is party to, newest first: the whole history.
    fn history(&self, did: &PartyDid) -> Result<Vec<suanli_trade::Serial>, BridgeError> {
        let total = self.counter::<8>(&history_count_key(did), "history count")?;
        let mut out = Vec::new();
        for n in (0..total).rev() {
            let bytes = self
                .get(&history_key(did, n))?
                .ok_or_else(|| corrupt("history entry"))?;
            let b = <[u8; 16]>::try_from(bytes.as_slice()).map_err(|_| corrupt("history entry"))?;
            out.push(suanli_trade::Serial::from_bytes(b));
        }
        Ok(out)
    }

    /// Every record of `serial`, from 0 to its record count, in order.
    fn records(&self, serial: &suanli_trade::Serial) -> Result<Vec<Record>, BridgeError> {
        let count = self.counter::<4>(&record_count_key(serial), "record count")?;
        let count = u32::try_from(count).map_err(|_| corrupt("record count"))?;
        if count > RECORDS_PER_TRADE_MAX {
            return Err(BridgeError::invalid(
                "too_many_records",
                format!("trade {serial} has more than {RECORDS_PER_TRADE_MAX} records"),
            ));
        }
        (0..count)
            .map(|seq| self.value(&record_key(serial, seq), "record"))
            .collect()
    }
}

/// Unix ms as the platform's `i64`; beyond its range is an error.
fn ms(v: u64) -> Result<i64, BridgeError> {
    i64::try_from(v).map_err(|_| corrupt("time"))
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

    fn chain_trade(&self, t: &Trade) -> Result<ChainTrade, BridgeError> {
        let mut out = ChainTrade {
            serial: t.serial.to_string(),
            offer_id: t.offer_id,
            mode_id: t.mode_id,
            supplier: t.supplier.as_str().to_owned(),
            consumer: t.consumer.as_str().to_owned(),
            wallet: t.wallet.as_ref().map(|w| w.as_str().to_owned()),
            status: status(&t.status).to_owned(),
            ordered_ms: ms(t.ordered_at_ms)?,
            contract_start_ms: t.contract_start_ms.map(ms).transpose()?,
            contract_end_ms: t.contract_end_ms.map(ms).transpose()?,
            funded_fen: fen(t.funded_fen)?,
            paid_fen: fen(t.paid_fen)?,
            unpaid_fen: fen(t.unpaid_fen)?,
            checkins: Vec::new(),
            topups: Vec::new(),
            close: None,
            rating: None,
        };
        for r in Strict(self.ledger.as_ref()).records(&t.serial)? {
            let at = ms(r.block_time_ms)?;
            match &r.data {
                RecordData::Checkin(c) => out.checkins.push(ChainCheckIn {
                    n: c.n,
                    start_ms: ms(c.start_ms)?,
                    end_ms: ms(c.end_ms)?,
                    minutes: c.minutes,
                    cost_fen: fen(c.cost_fen)?,
                    at_ms: at,
                    kind: "checkin",
                    seq: r.seq,
                    height: r.height,
                    tx_ref: r.tx_id.to_string(),
                }),
                RecordData::ChannelCheckin(c) => out.checkins.push(ChainCheckIn {
                    n: c.n,
                    start_ms: ms(c.start_ms)?,
                    end_ms: ms(c.end_ms)?,
                    minutes: c.minutes,
                    cost_fen: fen(c.cost_fen)?,
                    at_ms: at,
                    kind: "channel_checkin",
                    seq: r.seq,
                    height: r.height,
                    tx_ref: r.tx_id.to_string(),
                }),
                RecordData::ChannelOpen(o) if !o.settled_before_fen.is_zero() => {
                    // Opening a channel settles the whole minutes since the last
                    // check-in from escrow, without a check-in number: it is the
                    // trade's settlement 0 (a trade has at most one channel).
                    let start = match (out.checkins.last(), t.contract_start_ms) {
                        (Some(l), _) => l.end_ms,
                        (None, Some(s)) => ms(s)?,
                        (None, None) => at,
                    };
                    let span = o
                        .settled_before_minutes
                        .checked_mul(60_000)
                        .and_then(|m| i64::try_from(m).ok())
                        .and_then(|m| start.checked_add(m))
                        .ok_or_else(|| corrupt("channel open"))?;
                    out.checkins.push(ChainCheckIn {
                        n: 0,
                        start_ms: start,
                        end_ms: span,
                        minutes: o.settled_before_minutes,
                        cost_fen: fen(o.settled_before_fen)?,
                        at_ms: at,
                        kind: "channel_open",
                        seq: r.seq,
                        height: r.height,
                        tx_ref: r.tx_id.to_string(),
                    });
                }
                RecordData::Fund(f) => out.topups.push(ChainTopUp {
                    amount_fen: Fen::new(f.amount_fen.get())?,
                    at_ms: at,
                }),
                RecordData::Close(c) => {
                    let paid = c.tail_cost_fen.get().saturating_sub(c.unpaid_fen.get());
                    if paid > 0 {
                        let start = match (out.checkins.last(), t.contract_start_ms) {
                            (Some(l), _) => l.end_ms,
                            (None, Some(s)) => ms(s)?,
                            (None, None) => at,
                        };
                        // The chain counts its check-ins; the tail is the next one.
                        let n = t.checkins.checked_add(1).ok_or_else(|| corrupt("trade"))?;
                        out.checkins.push(ChainCheckIn {
                            n,
                            start_ms: start,
                            end_ms: at,
                            minutes: c.tail_minutes,
                            cost_fen: Fen::new(paid)?,
                            at_ms: at,
                            kind: "close_tail",
                            seq: r.seq,
                            height: r.height,
                            tx_ref: r.tx_id.to_string(),
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
        let strict = Strict(self.ledger.as_ref());
        let mut out = Vec::new();
        for serial in strict.history(&did)? {
            // The history holds every trade the DID is party to; keep those it supplies.
            let t: Trade = strict.value(&trade_key(&serial), "trade")?;
            if t.supplier == did {
                out.push(self.chain_trade(&t)?);
            }
        }
        Ok(out)
    }
}

impl LedgerTradeBook {
    /// One trade with its records (issue 18: the exchange follows the trades it placed);
    /// `None` when the chain has no trade with this serial.
    pub fn trade_of(
        &self,
        serial: &suanli_trade::Serial,
    ) -> Result<Option<ChainTrade>, BridgeError> {
        let strict = Strict(self.ledger.as_ref());
        match strict.get(&trade_key(serial))? {
            None => Ok(None),
            Some(bytes) => {
                let t: Trade = serde_json::from_slice(&bytes).map_err(|_| corrupt("trade"))?;
                Ok(Some(self.chain_trade(&t)?))
            }
        }
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

    /// A chain state in a map; reads of the keys in `failing` fail.
    #[derive(Debug, Default)]
    struct MapLedger {
        state: std::collections::HashMap<Vec<u8>, Vec<u8>>,
        failing: std::collections::HashSet<Vec<u8>>,
    }

    fn no(what: &str) -> suanli_ledger_client::LedgerError {
        suanli_ledger_client::LedgerError::BadAnswer {
            what: what.into(),
            detail: "not in the map".into(),
        }
    }

    impl LedgerClient for MapLedger {
        fn chain_id(
            &self,
            _: ChainKind,
        ) -> Result<suanli_primitives::ChainId, suanli_ledger_client::LedgerError> {
            Err(no("chain_id"))
        }
        fn next_nonce(
            &self,
            _: ChainKind,
            _: &suanli_primitives::PublicKey,
        ) -> Result<u64, suanli_ledger_client::LedgerError> {
            Err(no("next_nonce"))
        }
        fn state_get(
            &self,
            _: ChainKind,
            key: &[u8],
        ) -> Result<Option<Vec<u8>>, suanli_ledger_client::LedgerError> {
            if self.failing.contains(key) {
                return Err(no("state_get"));
            }
            Ok(self.state.get(key).cloned())
        }
        fn status(
            &self,
            _: &suanli_ledger::TxId,
        ) -> Result<suanli_ledger_client::TxStatus, suanli_ledger_client::LedgerError> {
            Err(no("status"))
        }
        fn submit_wait(
            &self,
            _: &suanli_ledger::Transaction,
            _: std::time::Duration,
        ) -> Result<suanli_ledger_client::TxStatus, suanli_ledger_client::LedgerError> {
            Err(no("submit_wait"))
        }
        fn wait(
            &self,
            _: &suanli_ledger::TxId,
            _: ChainKind,
            _: std::time::Duration,
        ) -> Result<suanli_ledger_client::TxStatus, suanli_ledger_client::LedgerError> {
            Err(no("wait"))
        }
    }

    const DID: &str = "did:suanli:t:11111111111111111111111";

    /// A history of `n` entries of `did`, entry i holding serial i.
    fn with_history(n: u64) -> MapLedger {
        let did = party(DID).unwrap();
        let mut m = MapLedger::default();
        m.state
            .insert(history_count_key(&did), n.to_be_bytes().to_vec());
        for i in 0..n {
            let mut serial = [0u8; 16];
            serial[8..].copy_from_slice(&i.to_be_bytes());
            m.state.insert(history_key(&did, i), serial.to_vec());
        }
        m
    }

    /// The whole history is read, newest first — not only the newest `view::PAGE_MAX`.
    #[test]
    fn reads_the_whole_history() {
        let m = with_history(150);
        let serials = Strict(&m).history(&party(DID).unwrap()).unwrap();
        assert_eq!(serials.len(), 150);
        assert_eq!(serials[0].as_bytes()[15], 149);
        assert_eq!(serials[149].as_bytes()[15], 0);
    }

    /// A failed read, a missing history entry or a missing trade is an error, not a
    /// shorter list of trades.
    #[test]
    fn a_failed_or_partial_read_is_an_error() {
        let did = party(DID).unwrap();
        let mut m = with_history(2);
        m.failing.insert(history_key(&did, 0));
        let book = LedgerTradeBook::new(Arc::new(m), Arc::new(SystemClock));
        assert!(book.supplier_trades(DID).is_err());
        let mut m = with_history(2);
        m.state.remove(&history_key(&did, 1));
        let book = LedgerTradeBook::new(Arc::new(m), Arc::new(SystemClock));
        assert_eq!(
            book.supplier_trades(DID).unwrap_err().code(),
            "trade_chain_corrupt"
        );
        // Both entries there, but their trades are not: an error too.
        let book = LedgerTradeBook::new(Arc::new(with_history(2)), Arc::new(SystemClock));
        assert!(book.supplier_trades(DID).is_err());
    }

    /// Records are read from 0 to the record count: one missing, unreadable or failing
    /// is an error, not dropped.
    #[test]
    fn a_missing_record_is_an_error() {
        let serial = suanli_trade::Serial::from_bytes([7; 16]);
        let mut m = MapLedger::default();
        m.state
            .insert(record_count_key(&serial), 2u32.to_be_bytes().to_vec());
        m.state.insert(record_key(&serial, 1), b"{}".to_vec());
        let err = Strict(&m).records(&serial).unwrap_err();
        assert_eq!(err.code(), "trade_chain_corrupt");
        m.failing.insert(record_key(&serial, 0));
        assert!(Strict(&m).records(&serial).is_err());
        // A count that is not 4 bytes does not read as 0 records.
        m.state.insert(record_count_key(&serial), vec![1]);
        assert!(Strict(&m).records(&serial).is_err());
        // No records at all is an empty list.
        let empty = MapLedger::default();
        assert!(Strict(&empty).records(&serial).unwrap().is_empty());
    }

    #[test]
    fn times_beyond_i64_are_errors() {
        assert_eq!(ms(5).unwrap(), 5);
        assert!(ms(u64::MAX).is_err());
    }

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
