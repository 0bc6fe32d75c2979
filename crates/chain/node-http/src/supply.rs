//! Supplier endpoints (under `/v1/trade`): a supplier's modes, offers and agent keys, and
//! who signed a committed transaction — what the platform and a third party need to check
//! that a supplier's modes, offers and CPTs were signed by its own key and acceptances by
//! its delegated agent keys (`docs/node-api.md`, `docs/trade.md` §1.1).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use suanli_ledger::Transaction;
use suanli_node::Node;
use suanli_primitives::{ChainKind, PublicKey};
use suanli_trade::PartyDid;
use suanli_trade::view;

use crate::identity::{param, params};
use crate::{ApiError, ApiResult, blocking, parse_tx_id};

fn ok(body: Value) -> ApiResult {
    Ok(axum::Json(body).into_response())
}

fn did(text: &str) -> Result<PartyDid, ApiError> {
    PartyDid::parse(text).map_err(|e| ApiError::bad("bad_did", e))
}

fn skip(query: Option<String>) -> Result<u64, ApiError> {
    let params = params(&query)?;
    param(&params, "skip").map_or(Ok(0), |v| {
        v.parse().map_err(|_| {
            ApiError::bad(
                "bad_query",
                format!("skip must be a non-negative integer, got {v:?}"),
            )
        })
    })
}

/// `GET /v1/trade/suppliers/{did}/modes?skip=N`: the supplier's modes in publication order.
pub(crate) async fn modes(
    State(node): State<Arc<Node>>,
    Path(text): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let did = did(&text)?;
    let skip = skip(query)?;
    blocking(&node, move |node| {
        let (total, modes) = node.with_state(ChainKind::Trade, |s| {
            (
                view::supplier_stats(s, &did).modes,
                view::supplier_modes(s, &did, skip, view::PAGE_MAX),
            )
        });
        ok(json!({"supplier": did, "total": total, "modes": modes}))
    })
    .await
}

/// `GET /v1/trade/suppliers/{did}/offers?skip=N`: the supplier's offers in publication
/// order, withdrawn and lapsed ones included.
pub(crate) async fn offers(
    State(node): State<Arc<Node>>,
    Path(text): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let did = did(&text)?;
    let skip = skip(query)?;
    blocking(&node, move |node| {
        let (total, offers) = node.with_state(ChainKind::Trade, |s| {
            (
                view::supplier_stats(s, &did).offers,
                view::supplier_offers(s, &did, skip, view::PAGE_MAX),
            )
        });
        ok(json!({"supplier": did, "total": total, "offers": offers}))
    })
    .await
}

/// `GET /v1/trade/suppliers/{did}/agents`: the agent keys the supplier authorised.
pub(crate) async fn agents(State(node): State<Arc<Node>>, Path(text): Path<String>) -> ApiResult {
    let did = did(&text)?;
    blocking(&node, move |node| {
        let agents = node.with_state(ChainKind::Trade, |s| view::agents(s, &did));
        ok(json!({"supplier": did, "agents": agents}))
    })
    .await
}

/// `GET /v1/trade/cpts/{id}`: a registered CPT adopted on the trade chain — the supplier
/// that adopted it, its purpose (`trade_start` or `checkin`), version, schema and the
/// adopting transaction.
pub(crate) async fn adopted_cpt(
    State(node): State<Arc<Node>>,
    Path(text): Path<String>,
) -> ApiResult {
    let id: u32 = text
        .parse()
        .map_err(|_| ApiError::bad("bad_id", format!("CPT ids are integers, got {text:?}")))?;
    blocking(&node, move |node| {
        let adopted = node
            .with_state(ChainKind::Trade, |s| suanli_trade::cpts::adopted(s, id))
            .ok_or_else(|| {
                ApiError::not_found(format!("CPT {id} is not adopted on the trade chain"))
            })?;
        ok(json!({"cpt": adopted}))
    })
    .await
}

/// Whom a trade-chain key acts for now: a party's own key or a supplier's agent key.
pub(crate) fn acts_for(state: &suanli_ledger::State, key: &PublicKey) -> Value {
    if let Some(did) = view::did_of_key(state, key) {
        let fragment = view::party(state, &did).map(|p| p.key_fragment);
        return json!({"did": did, "as": "party", "key_fragment": fragment});
    }
    match view::agent(state, key) {
        Some(a) => json!({
            "did": a.supplier,
            "as": "agent",
            "key_fragment": a.key_fragment,
            "authorised_at_ms": a.authorised_at_ms,
            "revoked_at_ms": a.revoked_at_ms,
        }),
        None => Value::Null,
    }
}

/// `GET /v1/trade/signers/{tx_id}`: who signed a committed transaction of either chain —
/// its signer key, chain, height, index and outcome, and for a trade-chain signer whom the
/// key acts for now (`acts_for`: a party's own key or a supplier's agent key, `null` for
/// neither). No payload is shown.
pub(crate) async fn signer(State(node): State<Arc<Node>>, Path(text): Path<String>) -> ApiResult {
    let id = parse_tx_id(&text)?;
    blocking(&node, move |node| {
        let proof = node.proof(&id)?.ok_or_else(|| {
            ApiError::not_found(format!("transaction {id} is not committed on this node"))
        })?;
        let bytes = hex::decode(&proof.tx_hex)
            .map_err(|_| ApiError::not_found("the stored transaction does not decode"))?;
        let tx = Transaction::decode(&bytes)
            .map_err(|_| ApiError::not_found("the stored transaction does not decode"))?;
        let signer = *tx.signer();
        let acts_for = match proof.location.chain {
            ChainKind::Trade => node.with_state(ChainKind::Trade, |s| acts_for(s, &signer)),
            ChainKind::Identity => Value::Null,
        };
        ok(json!({
            "tx_id": id,
            "chain": proof.location.chain,
            "height": proof.location.height,
            "index": proof.location.index,
            "outcome": proof.outcome,
            "signer": signer,
            "acts_for": acts_for,
        }))
    })
    .await
}
