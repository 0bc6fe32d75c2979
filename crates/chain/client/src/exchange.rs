//! The consumer side of the exchange, typed, over any [`LedgerClient`]: organisation
//! wallets (the operator's mint, burn, member limits, suspension), orders paid from a
//! wallet with the consumer's channel side delegated (`docs/trade.md` §1.2), pre-signed
//! orders checked before they are stored, and a consumer's ratings. What the platform's
//! bridge and the benchmarks call.
//!
//! Orders are **signed transactions** ([`sign_order`]): the platform stores the signed
//! bytes before it submits them and resubmits exactly those bytes after a timeout or a
//! crash ([`submit`] goes through the one idempotent commit path,
//! [`LedgerClient::commit`]), and a programmatic buyer sends the same thing pre-signed
//! ([`check_order`] decodes and verifies it first).

use std::time::Duration;

use suanli_ledger::{ContractId, Payload, Transaction};
use suanli_primitives::{ChainKind, Fen, PositiveFen, PublicKey, SecretKey};
use suanli_trade::model::{Requirements, Scores};
use suanli_trade::op::{self, OrderFields};
use suanli_trade::records::Offer;
use suanli_trade::view;
use suanli_trade::wallet::{
    ChannelDelegation, Wallet, WalletMember, WalletName, wallet_account, wallet_key,
    wallet_member_index_key, wallet_member_key,
};
use suanli_trade::{PartyDid, Serial, TradeOp};

use crate::error::{ClientError, Context, ensure};
use crate::supply::{ChainState, TradeRecords, trade_records};
use crate::{COMMIT_WAIT_MS, Committed, LedgerClient};

/// Most members one [`wallet_view`] lists.
pub const WALLET_VIEW_MEMBERS_MAX: u32 = 1_000;

/// An order to sign: everything the consumer's signature covers but the supplier, which
/// [`sign_order`] reads from the offer on the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDraft {
    pub serial: Serial,
    pub offer_id: u64,
    pub requirements: Requirements,
    pub value_fen: PositiveFen,
    pub wallet: Option<WalletName>,
    pub channel: Option<ChannelDelegation>,
    /// The order's own time (within 10 minutes of its block's).
    pub time_ms: u64,
}

/// What a signed order says, checked ([`check_order`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    /// The transaction's id (hex).
    pub tx_id: String,
    /// The key that signed it, and the consumer DID that key is enrolled for.
    pub signer: PublicKey,
    pub consumer: PartyDid,
    pub supplier: PartyDid,
    pub draft: OrderDraft,
}

/// A wallet as the chain holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletView {
    pub balance_fen: i64,
    pub suspended: bool,
    pub members: Vec<MemberView>,
}

/// One member of a wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub did: PartyDid,
    pub limit_fen: i64,
    pub spent_fen: i64,
}

/// The operator's wallet operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletOp {
    Mint {
        amount_fen: PositiveFen,
        reference: String,
    },
    Burn {
        amount_fen: PositiveFen,
        reference: String,
    },
    Member {
        did: PartyDid,
        limit_fen: Fen,
    },
    Suspend {
        suspended: bool,
    },
}

fn trade_call(op: &TradeOp) -> Result<Payload, ClientError> {
    Ok(Payload::Call(op.to_call().map_err(ClientError::invalid)?))
}

/// Signs one of the operator's wallet operations at the operator's next nonce (the
/// caller stores the transaction before it [`submit`]s it, so a retry sends the same one).
pub fn sign_wallet_op(
    client: &dyn LedgerClient,
    operator: &SecretKey,
    wallet: &WalletName,
    op: WalletOp,
) -> Result<Transaction, ClientError> {
    let wallet = wallet.clone();
    let op = match op {
        WalletOp::Mint {
            amount_fen,
            reference,
        } => TradeOp::WalletMint {
            wallet,
            amount_fen,
            reference,
        },
        WalletOp::Burn {
            amount_fen,
            reference,
        } => TradeOp::WalletBurn {
            wallet,
            amount_fen,
            reference,
        },
        WalletOp::Member { did, limit_fen } => TradeOp::WalletMember {
            wallet,
            did,
            limit_fen,
        },
        WalletOp::Suspend { suspended } => TradeOp::WalletSuspend { wallet, suspended },
    };
    op.check().map_err(ClientError::invalid)?;
    Ok(client.sign_next(ChainKind::Trade, operator, trade_call(&op)?)?)
}

/// Signs and commits one of the operator's wallet operations; returns the transaction id.
pub fn wallet_op(
    client: &dyn LedgerClient,
    operator: &SecretKey,
    wallet: &WalletName,
    op: WalletOp,
) -> Result<String, ClientError> {
    let tx = sign_wallet_op(client, operator, wallet, op)?;
    Ok(submit(client, &tx, COMMIT_WAIT_MS)?.id.to_string())
}

/// A wallet's balance, suspension and (at most [`WALLET_VIEW_MEMBERS_MAX`]) members;
/// `None` when the chain has never heard of it.
pub fn wallet_view(
    client: &dyn LedgerClient,
    wallet: &WalletName,
) -> Result<Option<WalletView>, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let Some(w) = read::<Wallet>(&state, &wallet_key(wallet))? else {
        return state.done(None);
    };
    let balance = client.state_get(
        ChainKind::Trade,
        &suanli_ledger::credit::account_balance_key(&wallet_account(wallet)),
    )?;
    let balance_fen = balance
        .as_deref()
        .and_then(suanli_ledger::credit::decode_fen)
        .map_or(0, |f| f.get());
    let mut members = Vec::new();
    for n in 0..w.members.min(WALLET_VIEW_MEMBERS_MAX) {
        let Some(did) =
            suanli_identity::StateRead::read(&state, &wallet_member_index_key(wallet, n))
        else {
            continue;
        };
        let did = String::from_utf8(did)
            .ok()
            .and_then(|d| PartyDid::parse(&d).ok())
            .ok_or_else(|| ClientError::invalid("a wallet member index does not decode"))?;
        let m: WalletMember = read(&state, &wallet_member_key(wallet, &did))?.unwrap_or_default();
        members.push(MemberView {
            did,
            limit_fen: m.limit_fen.get(),
            spent_fen: m.spent_fen.get(),
        });
    }
    state.done(Some(WalletView {
        balance_fen,
        suspended: w.suspended,
        members,
    }))
}

fn read<T: serde::de::DeserializeOwned>(
    state: &ChainState<'_>,
    key: &[u8],
) -> Result<Option<T>, ClientError> {
    suanli_identity::StateRead::read(state, key)
        .map(|bytes| {
            serde_json::from_slice(&bytes).map_err(|e| {
                ClientError::invalid(format!("stored wallet state does not decode: {e}"))
            })
        })
        .transpose()
}

fn offer_of(client: &dyn LedgerClient, offer_id: u64) -> Result<Offer, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let offer = view::offer(&state, offer_id);
    state
        .done(offer)?
        .ok_or_else(|| ClientError::invalid(format!("no offer {offer_id} on the trade chain")))
}

/// The order operation `key` signs for `draft` from `supplier`'s offer (pure).
pub fn order_op(key: &SecretKey, supplier: &PartyDid, draft: &OrderDraft) -> TradeOp {
    let digest = op::order_digest_v2(
        OrderFields {
            serial: &draft.serial,
            time_ms: draft.time_ms,
            supplier,
            offer_id: draft.offer_id,
            requirements: &draft.requirements,
            value_fen: draft.value_fen,
        },
        draft.wallet.as_ref(),
        draft.channel.as_ref(),
    );
    TradeOp::Order {
        serial: draft.serial,
        offer_id: draft.offer_id,
        time_ms: draft.time_ms,
        requirements: draft.requirements.clone(),
        value_fen: draft.value_fen,
        signature: op::sign_digest(key, &digest),
        wallet: draft.wallet.clone(),
        channel: draft.channel.clone(),
    }
}

/// Signs `draft` with the consumer's `key` as a trade-chain transaction at the key's next
/// nonce (the order's signature and the transaction's both by `key`). The requirements'
/// spec must be the offer's.
pub fn sign_order(
    client: &dyn LedgerClient,
    key: &SecretKey,
    draft: &OrderDraft,
) -> Result<Transaction, ClientError> {
    draft.requirements.check().map_err(ClientError::invalid)?;
    let offer = offer_of(client, draft.offer_id)?;
    ensure!(
        draft.requirements.spec == offer.terms.spec,
        "the order's spec must be offer {}'s: {:?}",
        draft.offer_id,
        offer.terms.spec
    );
    let op = order_op(key, &offer.supplier, draft);
    Ok(client.sign_next(ChainKind::Trade, key, trade_call(&op)?)?)
}

/// Decodes and checks a signed order (what a programmatic buyer sends): a trade-chain
/// transaction of this network whose signature verifies, carrying an `order` whose own
/// signature verifies with the same key, by a key enrolled on the chain, for an offer the
/// chain has. Whether the chain will take it (membership, limits, funds, the offer's
/// units) is the contract's to say when it is submitted.
pub fn check_order(client: &dyn LedgerClient, tx: &Transaction) -> Result<OrderFacts, ClientError> {
    let chain = client.chain_id(ChainKind::Trade)?;
    tx.check_chain(&chain)
        .map_err(|e| ClientError::invalid(format!("not a transaction of this trade chain: {e}")))?;
    tx.verify_signature()
        .map_err(|e| ClientError::invalid(format!("the transaction's signature: {e}")))?;
    let Payload::Call(call) = tx.payload() else {
        return Err(ClientError::invalid("the transaction is not a trade order"));
    };
    ensure!(
        call.contract() == ContractId::Trade,
        "the transaction is not a trade order"
    );
    let op = TradeOp::decode(call.body()).map_err(ClientError::invalid)?;
    let TradeOp::Order {
        serial,
        offer_id,
        time_ms,
        requirements,
        value_fen,
        signature,
        wallet,
        channel,
    } = op
    else {
        return Err(ClientError::invalid("the transaction is not a trade order"));
    };
    let offer = offer_of(client, offer_id)?;
    let draft = OrderDraft {
        serial,
        offer_id,
        requirements,
        value_fen,
        wallet,
        channel,
        time_ms,
    };
    let digest = op::order_digest_v2(
        OrderFields {
            serial: &draft.serial,
            time_ms,
            supplier: &offer.supplier,
            offer_id,
            requirements: &draft.requirements,
            value_fen,
        },
        draft.wallet.as_ref(),
        draft.channel.as_ref(),
    );
    ensure!(
        op::verify_digest(tx.signer(), &digest, &signature),
        "the order's signature does not verify with the transaction's key"
    );
    let state = ChainState::new(client, ChainKind::Trade);
    let consumer = state.done(view::did_of_key(&state, tx.signer()))?;
    let consumer = consumer.ok_or_else(|| {
        ClientError::invalid(format!(
            "key {} is not enrolled on the trade chain",
            tx.signer()
        ))
    })?;
    Ok(OrderFacts {
        tx_id: tx.id().to_string(),
        signer: *tx.signer(),
        consumer,
        supplier: offer.supplier,
        draft,
    })
}

/// Makes sure the signed `tx` is committed and applied (idempotent: the same bytes again
/// are never applied twice), waiting up to `wait_ms`.
pub fn submit(
    client: &dyn LedgerClient,
    tx: &Transaction,
    wait_ms: u64,
) -> Result<Committed, ClientError> {
    Ok(client.commit(tx, Duration::from_millis(wait_ms))?)
}

/// One trade with its records, escrow and status; `None` if the chain has no such trade.
pub fn trade_status(
    client: &dyn LedgerClient,
    serial: &Serial,
) -> Result<Option<TradeRecords>, ClientError> {
    trade_records(client, serial, 0)
}

/// The consumer rates a closed trade (once), signed with its `key`; `time_ms` is the
/// rating's own time. Returns the overall score (thousandths) and the transaction id.
pub fn rate(
    client: &dyn LedgerClient,
    key: &SecretKey,
    serial: &Serial,
    scores: Scores,
    time_ms: u64,
) -> Result<(u32, String), ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let trade = state
        .done(view::trade(&state, serial))?
        .ok_or_else(|| ClientError::invalid(format!("no trade {serial}")))?;
    let overall = scores
        .overall_milli(&trade.weights)
        .map_err(ClientError::invalid)?;
    let digest = op::rating_digest(serial, time_ms, &trade.supplier, overall, &scores);
    let rate = TradeOp::Rate {
        serial: *serial,
        time_ms,
        scores,
        signature: op::sign_digest(key, &digest),
    };
    let tx = client
        .sign_next(ChainKind::Trade, key, trade_call(&rate)?)
        .context("rate")?;
    Ok((overall, submit(client, &tx, COMMIT_WAIT_MS)?.id.to_string()))
}
