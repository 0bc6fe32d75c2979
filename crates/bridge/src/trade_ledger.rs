//! `TradeLedger` (issue 18, `docs/exchange.md`) over `suanli_ledger_client::exchange`:
//! orders signed by the member's key and paid from the organisation's wallet (with the
//! platform's channel key delegated for pay-as-you-go), pre-signed orders checked,
//! submission of stored bytes with the chain's definite answers told apart from unknown
//! outcomes, a trade's records, the consumer's rating, wallets and their members (the
//! operator's key).

use std::collections::BTreeMap;
use std::sync::Arc;

use suanli_ledger::{Outcome, Transaction};
use suanli_ledger_client::exchange::{self, OrderDraft as ChainDraft, WalletOp};
use suanli_ledger_client::supply::ChainState;
use suanli_ledger_client::{ClientError, LedgerClient, LedgerError, TxStatus};
use suanli_platform_http::PortError;
use suanli_platform_http::store::{OpsStore, PAGE_SIZE_MAX};
use suanli_platform_http::trade_book::ChainTrade;
use suanli_platform_http::trade_ledger::{
    ChainOrder, Delegation, OrderDraft, OrderFacts, RatingDraft, SignedOrder, Submitted,
    TradeLedger, WalletMember, WalletView,
};
use suanli_primitives::{ChainKind, Fen, PositiveFen, PublicKey, SecretKey};
use suanli_trade::model::{Requirements, Scores};
use suanli_trade::record_data::RecordData;
use suanli_trade::records::{Record, Trade, history_count_key, history_key, record_key, trade_key};
use suanli_trade::wallet::{ChannelDelegation, WalletName};
use suanli_trade::{CloseReason, PartyDid, Resource, Serial};

use crate::BridgeError;
use crate::channel_key::PlatformChannel;
use crate::operator::OperatorSigner;
use crate::trade_book::LedgerTradeBook;

/// Longest wait for an order, a rating or a limit to commit, in milliseconds.
pub const EXCHANGE_COMMIT_WAIT_MS: u64 = 10_000;

/// The exchange's chain side on one ledger.
#[derive(Debug)]
pub struct LedgerTrades {
    ledger: Arc<dyn LedgerClient>,
    operator: Option<OperatorSigner>,
    channel: Option<PlatformChannel>,
    book: LedgerTradeBook,
    /// The consumer channel controller (filled when it starts): every delegated trade the
    /// exchange reads is put under its watch.
    channels: Option<ChannelSlot>,
}

/// Where the consumer channel controller's handle is once it runs.
pub type ChannelSlot = Arc<std::sync::OnceLock<Arc<crate::consumer_channels::ConsumerChannels>>>;

fn invalid(code: &'static str, e: impl std::fmt::Display) -> BridgeError {
    BridgeError::invalid(code, e.to_string())
}

fn client(e: ClientError) -> BridgeError {
    match e {
        ClientError::Ledger(l) => BridgeError::Ledger(l),
        other => invalid("chain_refused", suanli_primitives::error_chain(&other)),
    }
}

/// The chain's code at the head of a failed call's reason (`code: message`).
fn code_of(reason: &str) -> String {
    match reason.split_once(':') {
        Some((c, _)) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => {
            c.to_owned()
        }
        _ => "chain_refused".to_owned(),
    }
}

/// Admission codes that say the signer's nonce is taken: another submission of the same
/// bytes (by another decider) causes them as well as a transaction that took the nonce.
pub const NONCE_TAKEN_CODES: &[&str] = &["nonce_replayed"];

/// Admission codes that say an earlier nonce of the signer is still missing: a member's
/// pre-signed orders at consecutive nonces may arrive out of order (after a crash, the
/// worker resubmits them by serial), so the order waits — its outcome is unknown, never a
/// refusal — until the gap is filled.
pub const NONCE_GAP_CODES: &[&str] = &["nonce_gap"];

/// The chain's answer to a submission that did not commit, `status_now` asking the node
/// again where the nonce was taken: a definite refusal, or `Err` when the outcome is
/// unknown. A `nonce_replayed` refusal is never taken as the order's refusal: the same
/// transaction may be waiting or committed (then its own status decides).
fn answer_of(
    e: LedgerError,
    status_now: impl FnOnce() -> Result<TxStatus, LedgerError>,
) -> Result<Submitted, BridgeError> {
    let nonce_taken = match &e {
        LedgerError::Refused(_)
        | LedgerError::RefusedRemote { .. }
        | LedgerError::Rejected { .. } => NONCE_TAKEN_CODES.contains(&e.code()),
        _ => false,
    };
    let gap = matches!(
        &e,
        LedgerError::Refused(_) | LedgerError::RefusedRemote { .. } | LedgerError::Rejected { .. }
    ) && NONCE_GAP_CODES.contains(&e.code());
    if gap {
        return Err(BridgeError::Ledger(e));
    }
    if nonce_taken {
        return match status_now()? {
            TxStatus::Committed {
                outcome: Outcome::Applied,
                ..
            } => Ok(Submitted::Applied),
            TxStatus::Committed {
                outcome: Outcome::Failed { reason },
                ..
            } => Ok(Submitted::Refused {
                code: code_of(&reason),
                message: reason,
            }),
            _ => Err(BridgeError::Ledger(e)),
        };
    }
    match e {
        LedgerError::Failed { reason, .. } => Ok(Submitted::Refused {
            code: code_of(&reason),
            message: reason,
        }),
        LedgerError::Rejected { code, reason, .. } => Ok(Submitted::Refused {
            code,
            message: reason,
        }),
        e @ (LedgerError::Refused(_) | LedgerError::RefusedRemote { .. }) if !e.is_retryable() => {
            Ok(Submitted::Refused {
                code: e.code().to_owned(),
                message: e.to_string(),
            })
        }
        other => Err(BridgeError::Ledger(other)),
    }
}

/// The chain's answer to a resubmitted operator transaction (a mirror instruction): as
/// [`answer_of`], except that a nonce taken by **another** transaction — the node says
/// `nonce_replayed` and does not know this one, or says `nonce_gap` — is a definite
/// refusal: these bytes can never apply, and the caller signs the instruction anew.
pub(crate) fn resend_answer(
    e: LedgerError,
    status_now: impl FnOnce() -> Result<TxStatus, LedgerError>,
) -> Result<Submitted, BridgeError> {
    let taken = matches!(
        &e,
        LedgerError::Refused(_) | LedgerError::RefusedRemote { .. } | LedgerError::Rejected { .. }
    ) && NONCE_TAKEN_CODES.contains(&e.code());
    if NONCE_GAP_CODES.contains(&e.code()) {
        // The operator's own stored bytes ahead of its next nonce: the transaction that
        // held the nonce before them is lost; these can never apply as they are.
        return Ok(Submitted::Refused {
            code: e.code().to_owned(),
            message: e.to_string(),
        });
    }
    if !taken {
        return answer_of(e, status_now);
    }
    match status_now()? {
        TxStatus::Committed {
            outcome: Outcome::Applied,
            ..
        } => Ok(Submitted::Applied),
        TxStatus::Committed {
            outcome: Outcome::Failed { reason },
            ..
        } => Ok(Submitted::Refused {
            code: code_of(&reason),
            message: reason,
        }),
        TxStatus::Pending => Err(BridgeError::Ledger(e)),
        TxStatus::Unknown | TxStatus::Rejected { .. } => Ok(Submitted::Refused {
            code: e.code().to_owned(),
            message: e.to_string(),
        }),
    }
}

impl LedgerTrades {
    /// The exchange on `ledger`; wallets' members are set with `operator` (the genesis
    /// operator, embedded node only); pay-as-you-go orders delegate to `channel`.
    pub fn new(
        ledger: Arc<dyn LedgerClient>,
        operator: Option<OperatorSigner>,
        channel: Option<PlatformChannel>,
        book: LedgerTradeBook,
    ) -> Self {
        Self {
            ledger,
            operator,
            channel,
            book,
            channels: None,
        }
    }

    /// Puts the trades whose orders delegated their channel to this platform's key under
    /// the watch of the consumer channel controller in `slot` (issue 18: pay-as-you-go
    /// metered by channels).
    pub fn with_channels(mut self, slot: ChannelSlot) -> Self {
        self.channels = Some(slot);
        self
    }

    /// Watches `serial` when its order delegated to our channel key (idempotent and
    /// durable on the controller's side; read on every status read, so a restart or a
    /// missed call is made good at the exchange worker's next pass).
    fn follow_channel(&self, serial: &Serial) {
        let (Some(slot), Some(channel)) = (&self.channels, &self.channel) else {
            return;
        };
        let Some(controller) = slot.get() else {
            return;
        };
        match exchange::trade_status(self.ledger.as_ref(), serial) {
            Ok(Some(t))
                if t.trade.status != suanli_trade::records::Status::Closed
                    && t.trade
                        .delegate
                        .as_ref()
                        .is_some_and(|d| d.key == channel.public()) =>
            {
                if let Err(e) = controller.watch(*serial) {
                    tracing::warn!(%serial, code = e.code(), error = %e, "cannot watch the trade's channel");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%serial, error = %e, "cannot read the trade for its channel"),
        }
    }

    fn serial(text: &str) -> Result<Serial, BridgeError> {
        Serial::parse(text).map_err(|e| invalid("serial_invalid", e))
    }

    fn wallet(text: &str) -> Result<WalletName, BridgeError> {
        WalletName::parse(text).map_err(|e| invalid("wallet_invalid", e))
    }

    fn draft(d: &OrderDraft) -> Result<ChainDraft, BridgeError> {
        let channel = match &d.channel {
            Some(c) => Some(ChannelDelegation {
                key: PublicKey::from_hex(&c.key_hex)?,
                endpoint: c.endpoint.clone(),
                valid_until_ms: c.valid_until_ms,
                max_fen: Fen::new(c.max_fen).map_err(|e| invalid("invalid_amount", e))?,
            }),
            None => None,
        };
        Ok(ChainDraft {
            serial: Self::serial(&d.serial)?,
            offer_id: d.chain_offer_id,
            requirements: Requirements {
                spec: d.spec.clone(),
                quantity: d.units,
                duration_minutes: d.duration_minutes,
            },
            value_fen: PositiveFen::new(d.value_fen)?,
            wallet: Some(Self::wallet(&d.wallet)?),
            channel,
            time_ms: d.time_ms,
        })
    }

    fn decode(tx_hex: &str) -> Result<Transaction, BridgeError> {
        Ok(Transaction::decode(&hex::decode(tx_hex)?)?)
    }

    fn submit_hex(&self, tx_hex: &str) -> Result<Submitted, BridgeError> {
        let tx = Self::decode(tx_hex)?;
        match exchange::submit(self.ledger.as_ref(), &tx, EXCHANGE_COMMIT_WAIT_MS) {
            Ok(_) => Ok(Submitted::Applied),
            Err(ClientError::Ledger(e)) => answer_of(e, || self.ledger.status(&tx.id())),
            Err(other) => Err(client(other)),
        }
    }

    fn facts(&self, tx_hex: &str) -> Result<OrderFacts, BridgeError> {
        let tx = Self::decode(tx_hex).map_err(|e| invalid("forged_order", e))?;
        let f = exchange::check_order(self.ledger.as_ref(), &tx)
            .map_err(|e| invalid("forged_order", suanli_primitives::error_chain(&e)))?;
        let d = &f.draft;
        Ok(OrderFacts {
            signer_key_hex: f.signer.to_string(),
            tx_ref: f.tx_id,
            serial: d.serial.to_string(),
            chain_offer_id: d.offer_id,
            spec: d.requirements.spec.clone(),
            units: d.requirements.quantity,
            duration_minutes: d.requirements.duration_minutes,
            value_fen: d.value_fen.get(),
            wallet: d.wallet.as_ref().map(|w| w.as_str().to_owned()),
            channel: d.channel.as_ref().map(|c| Delegation {
                key_hex: c.key.to_string(),
                endpoint: c.endpoint.clone(),
                valid_until_ms: c.valid_until_ms,
                max_fen: c.max_fen.get(),
            }),
        })
    }

    fn rate_now(&self, key: &SecretKey, r: &RatingDraft) -> Result<String, BridgeError> {
        let mut scores = BTreeMap::new();
        for (dim, v) in &r.scores {
            let res = Resource::ALL
                .into_iter()
                .find(|x| x.as_str() == dim)
                .ok_or_else(|| invalid("invalid_field", format!("no resource dimension {dim}")))?;
            scores.insert(res, *v);
        }
        let scores = Scores::new(scores).map_err(|e| invalid("invalid_field", e))?;
        let serial = Self::serial(&r.serial)?;
        let (_, tx) = exchange::rate(self.ledger.as_ref(), key, &serial, scores, r.time_ms)
            .map_err(|e| match e {
                ClientError::Ledger(LedgerError::Failed { reason, .. }) => {
                    invalid("chain_refused", reason)
                }
                other => client(other),
            })?;
        Ok(tx)
    }

    /// [`TradeLedger::consumer_orders`]: the party's history entries `from..from+limit`,
    /// each trade and its order record read strictly (missing or undecodable is an error).
    fn orders_of(
        &self,
        did: &str,
        from: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ChainOrder>), BridgeError> {
        let did = PartyDid::parse(did).map_err(|e| invalid("invalid_did", e))?;
        let corrupt = |what: &str| {
            invalid(
                "trade_chain_corrupt",
                format!("the trade chain's {what} of {did} is missing or does not decode"),
            )
        };
        let get = |key: &[u8]| self.ledger.state_get(ChainKind::Trade, key);
        let total = match get(&history_count_key(&did))? {
            None => 0,
            Some(b) => u64::from_be_bytes(
                <[u8; 8]>::try_from(b.as_slice()).map_err(|_| corrupt("history count"))?,
            ),
        };
        let end = total.min(from.saturating_add(u64::from(limit)));
        let mut out = Vec::new();
        for n in from..end {
            let b = get(&history_key(&did, n))?.ok_or_else(|| corrupt("history entry"))?;
            let serial = Serial::from_bytes(
                <[u8; 16]>::try_from(b.as_slice()).map_err(|_| corrupt("history entry"))?,
            );
            let t: Trade =
                serde_json::from_slice(&get(&trade_key(&serial))?.ok_or_else(|| corrupt("trade"))?)
                    .map_err(|_| corrupt("trade"))?;
            if t.consumer != did {
                continue;
            }
            let r: Record = serde_json::from_slice(
                &get(&record_key(&serial, 0))?.ok_or_else(|| corrupt("order record"))?,
            )
            .map_err(|_| corrupt("order record"))?;
            let RecordData::Order(o) = &r.data else {
                return Err(corrupt("order record"));
            };
            out.push(ChainOrder {
                serial: serial.to_string(),
                consumer: t.consumer.as_str().to_owned(),
                wallet: t.wallet.as_ref().map(|w| w.as_str().to_owned()),
                chain_offer_id: t.offer_id,
                units: t.requirements.quantity,
                duration_minutes: t.requirements.duration_minutes,
                value_fen: o.value_fen.get(),
                tx_ref: r.tx_id.to_string(),
                payg: t.delegate.is_some(),
            });
        }
        Ok((end.max(from), out))
    }

    fn view(&self, wallet: &str) -> Result<Option<WalletView>, BridgeError> {
        let w = Self::wallet(wallet)?;
        let v = exchange::wallet_view(self.ledger.as_ref(), &w).map_err(client)?;
        Ok(v.map(|v| WalletView {
            balance_fen: v.balance_fen,
            suspended: v.suspended,
            members: v
                .members
                .into_iter()
                .map(|m| WalletMember {
                    did: m.did.as_str().to_owned(),
                    limit_fen: m.limit_fen,
                    spent_fen: m.spent_fen,
                })
                .collect(),
        }))
    }

    fn member(&self, wallet: &str, did: &str, limit_fen: i64) -> Result<String, BridgeError> {
        let did = PartyDid::parse(did).map_err(|e| invalid("invalid_did", e))?;
        self.operator_op(
            wallet,
            WalletOp::Member {
                did,
                limit_fen: Fen::new(limit_fen)?,
            },
        )
    }

    /// One of the operator's wallet operations, signed and committed.
    fn operator_op(&self, wallet: &str, op: WalletOp) -> Result<String, BridgeError> {
        let signer = self.operator.as_ref().ok_or_else(|| {
            invalid(
                "ledger_unavailable",
                "the operator key is not here (separate ledger node): wallets cannot be changed",
            )
        })?;
        let w = Self::wallet(wallet)?;
        // One signer at a time with the operator key (its nonces), as everywhere.
        let (_signing, key) = signer.lock();
        exchange::wallet_op(self.ledger.as_ref(), key, &w, op).map_err(|e| match e {
            ClientError::Ledger(LedgerError::Failed { reason, .. }) => {
                invalid("chain_refused", reason)
            }
            other => client(other),
        })
    }
}

impl TradeLedger for LedgerTrades {
    fn channel_key(&self) -> (String, String) {
        match &self.channel {
            Some(c) => (c.public().to_string(), c.endpoint().to_owned()),
            None => (String::new(), String::new()),
        }
    }

    fn sign_order(&self, key: &SecretKey, d: &OrderDraft) -> Result<SignedOrder, PortError> {
        let draft = Self::draft(d)?;
        let tx = exchange::sign_order(self.ledger.as_ref(), key, &draft).map_err(client)?;
        Ok(SignedOrder {
            tx_ref: tx.id().to_string(),
            tx_hex: hex::encode(tx.encoded()),
        })
    }

    fn check_order(&self, tx_hex: &str) -> Result<OrderFacts, PortError> {
        Ok(self.facts(tx_hex)?)
    }

    fn submit(&self, tx_hex: &str) -> Result<Submitted, PortError> {
        Ok(self.submit_hex(tx_hex)?)
    }

    fn trade_status(&self, serial: &str) -> Result<Option<ChainTrade>, PortError> {
        let serial = Self::serial(serial)?;
        self.follow_channel(&serial);
        Ok(self.book.trade_of(&serial)?)
    }

    fn stop(&self, key: &SecretKey, serial: &str) -> Result<String, PortError> {
        let serial = Self::serial(serial)?;
        // A trade metered by the platform's channel stops through the channel: the
        // consumer side asks the supplier's agent, which closes it cooperatively with
        // the final state (the chain refuses a plain close once the channel is open).
        if let Some(controller) = self.channels.as_ref().and_then(|slot| slot.get())
            && controller.watched().is_ok_and(|w| w.contains(&serial))
        {
            let state = ChainState::new(self.ledger.as_ref(), ChainKind::Trade);
            let open = suanli_trade::view::channel(&state, &serial).is_some();
            if state.done(open).map_err(client)? {
                let handle = tokio::runtime::Handle::current();
                handle
                    .block_on(controller.request_stop(serial))
                    .map_err(|e| invalid("channel_stop", e))?;
                return Ok(String::from("channel stop requested"));
            }
        }
        Ok(suanli_ledger_client::supply::close_trade(
            self.ledger.as_ref(),
            key,
            &serial,
            CloseReason::StoppedByConsumer,
        )
        .map_err(|e| match e {
            ClientError::Ledger(LedgerError::Failed { reason, .. }) => {
                invalid("chain_refused", reason)
            }
            other => client(other),
        })?)
    }

    fn rate(&self, key: &SecretKey, rating: &RatingDraft) -> Result<String, PortError> {
        Ok(self.rate_now(key, rating)?)
    }

    fn consumer_orders(
        &self,
        did: &str,
        from: u64,
        limit: u32,
    ) -> Result<(u64, Vec<ChainOrder>), PortError> {
        Ok(self.orders_of(did, from, limit)?)
    }

    fn wallet_view(&self, wallet: &str) -> Result<Option<WalletView>, PortError> {
        Ok(self.view(wallet)?)
    }

    fn set_suspended(&self, wallet: &str, suspended: bool) -> Result<String, PortError> {
        Ok(self.operator_op(wallet, WalletOp::Suspend { suspended })?)
    }

    fn set_member(&self, wallet: &str, did: &str, limit_fen: i64) -> Result<String, PortError> {
        Ok(self.member(wallet, did, limit_fen)?)
    }
}

/// The exchange's part of `suanli ops reconcile` (`docs/exchange.md` §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TradeReconciliation {
    /// Trades stored (every status).
    pub orders: u64,
    /// Trades the chain took.
    pub orders_on_chain: u64,
    /// Trades still waiting for the chain's answer.
    pub placing: u64,
    /// Settlements the chain holds for the stored trades.
    pub checkins: u64,
    /// Check-ins the journal followed.
    pub checkins_billed: u64,
    /// Σ customers' cash in the journal − Σ their wallets on the chain.
    pub journal_minus_chain_fen: i64,
}

/// Follows the trades (when `follow`: imports wallet-paid trades placed past the
/// platform, decides `placing` ones, posts the entries of placed ones), then counts and
/// compares journal and chain.
pub async fn reconcile_trades(
    store: &dyn OpsStore,
    trades: Arc<LedgerTrades>,
    follow: bool,
    now_ms: i64,
) -> Result<TradeReconciliation, BridgeError> {
    let port: Arc<dyn TradeLedger> = trades.clone();
    if follow {
        let mut cursors = suanli_platform_http::exchange::Cursors::default();
        suanli_platform_http::exchange::follow_all(store, &port, &mut cursors, now_ms)
            .await
            .map_err(|e| BridgeError::invalid("reconcile", e.to_string()))?;
    }
    let counts = store.trade_counts().await?;
    let mut checkins = 0u64;
    let mut after = String::new();
    loop {
        let page = store.trades_after(&after, PAGE_SIZE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = last.serial.clone();
        for t in &page {
            if let Some(c) = trades.book.trade_of(&LedgerTrades::serial(&t.serial)?)? {
                checkins += u64::try_from(c.checkins.len()).unwrap_or(u64::MAX);
            }
        }
    }
    let mut diff = 0i64;
    for (org, cash) in store.mirror_expected().await? {
        let wallet = trades
            .view(&suanli_platform_http::domain::trades::wallet_name(org))?
            .map_or(0, |v| v.balance_fen);
        diff = diff.saturating_add(cash.saturating_sub(wallet));
    }
    Ok(TradeReconciliation {
        orders: counts.orders,
        orders_on_chain: counts.orders_on_chain,
        placing: counts.placing,
        checkins,
        checkins_billed: counts.checkins_billed,
        journal_minus_chain_fen: diff,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{answer_of, code_of};
    use suanli_ledger::{Outcome, TxId};
    use suanli_ledger_client::{LedgerError, TxStatus};
    use suanli_platform_http::trade_ledger::Submitted;

    fn replayed() -> LedgerError {
        LedgerError::RefusedRemote {
            code: "nonce_replayed".into(),
            message: "nonce 3 was already used".into(),
            retryable: false,
        }
    }

    #[test]
    fn a_taken_nonce_is_not_the_orders_refusal() {
        // Another decider's submission of the same bytes is waiting: unknown, not refused.
        assert!(answer_of(replayed(), || Ok(TxStatus::Pending)).is_err());
        assert!(answer_of(replayed(), || Ok(TxStatus::Unknown)).is_err());
        let committed = TxStatus::Committed {
            chain: suanli_primitives::ChainKind::Trade,
            height: 4,
            index: 0,
            outcome: Outcome::Applied,
        };
        assert_eq!(
            answer_of(replayed(), || Ok(committed)).unwrap(),
            Submitted::Applied
        );
        // An earlier nonce of the member missing: the order waits (unknown).
        let gap = LedgerError::RefusedRemote {
            code: "nonce_gap".into(),
            message: "nonce 5 skips ahead".into(),
            retryable: false,
        };
        assert!(answer_of(gap, || Ok(TxStatus::Unknown)).is_err());
        // A definite refusal stays one.
        let bad = LedgerError::RefusedRemote {
            code: "bad_signature".into(),
            message: "no".into(),
            retryable: false,
        };
        assert!(matches!(
            answer_of(bad, || Ok(TxStatus::Unknown)),
            Ok(Submitted::Refused { code, .. }) if code == "bad_signature"
        ));
        let failed = LedgerError::Failed {
            id: TxId(suanli_primitives::Hash32::from_bytes([1; 32])),
            reason: "member_limit_exceeded: over".into(),
        };
        assert!(matches!(
            answer_of(failed, || Ok(TxStatus::Unknown)),
            Ok(Submitted::Refused { code, .. }) if code == "member_limit_exceeded"
        ));
    }

    #[test]
    fn a_failed_calls_code_is_read_from_its_reason() {
        assert_eq!(
            code_of("member_limit_exceeded: the member may spend 10 fen more"),
            "member_limit_exceeded"
        );
        assert_eq!(code_of("no code here"), "chain_refused");
        assert_eq!(code_of("Weird: x"), "chain_refused");
    }
}
