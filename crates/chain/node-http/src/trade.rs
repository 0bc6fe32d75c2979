//! Trade endpoints (under `/v1/trade`): parties, modes, offers, trades, histories and
//! supplier reputation from the trade chain, and `prepare` to build a trade transaction
//! for a client to sign. Writes are ordinary transactions posted to `/v1/txs`.
//!
//! Disclosure (`docs/trade.md` §Visibility): `GET /v1/trade/trades/{serial}` is the public
//! view; the full records need `POST /v1/trade/trades/{serial}/full` with a read request
//! signed by one of the trade's parties or a regulator, and a party's history needs
//! `POST /v1/trade/parties/{did}/history` signed by that party or a regulator.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use suanli_node::Node;
use suanli_primitives::{ChainKind, PublicKey, Signature};
use suanli_trade::view::{self, ReadDenied};
use suanli_trade::{PartyDid, Serial, TradeOp};

use crate::identity::{param, params, parse_body};
use crate::{ApiError, ApiResult, blocking, read_body};

fn ok(body: Value) -> ApiResult {
    Ok(axum::Json(body).into_response())
}

fn serial(text: &str) -> Result<Serial, ApiError> {
    Serial::parse(text).map_err(|e| ApiError::bad("bad_serial", e))
}

fn did(text: &str) -> Result<PartyDid, ApiError> {
    PartyDid::parse(text).map_err(|e| ApiError::bad("bad_did", e))
}

fn number(params: &[(String, String)], name: &str, default: u64) -> Result<u64, ApiError> {
    param(params, name).map_or(Ok(default), |v| {
        v.parse().map_err(|_| {
            ApiError::bad(
                "bad_query",
                format!("{name} must be a non-negative integer, got {v:?}"),
            )
        })
    })
}

fn denied(e: ReadDenied) -> ApiError {
    let status = match e {
        ReadDenied::NotEntitled => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    ApiError::new(status, "read_denied", e.to_string())
}

pub(crate) async fn party(State(node): State<Arc<Node>>, Path(text): Path<String>) -> ApiResult {
    let did = did(&text)?;
    blocking(&node, move |node| {
        let party = node
            .with_state(ChainKind::Trade, |s| view::party(s, &did))
            .ok_or_else(|| ApiError::not_found(format!("{did} is not enrolled")))?;
        ok(json!({"party": party}))
    })
    .await
}

fn id(text: &str, what: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad(
            "bad_id",
            format!("{what} ids are positive integers, got {text:?}"),
        )
    })
}

/// `GET /v1/trade/keys/{public key hex}`: the DID a key acts for (a party's own key, or a
/// supplier's agent key — then `acts_for.as` is `agent`, with its fragment and revocation).
pub(crate) async fn key_owner(
    State(node): State<Arc<Node>>,
    Path(text): Path<String>,
) -> ApiResult {
    let key = PublicKey::from_hex(&text)
        .map_err(|e| ApiError::bad("bad_key", format!("a public key is 64 hex characters: {e}")))?;
    blocking(&node, move |node| {
        let acts_for = node.with_state(ChainKind::Trade, |s| crate::supply::acts_for(s, &key));
        if acts_for.is_null() {
            return Err(ApiError::not_found(format!("key {key} is not enrolled")));
        }
        ok(json!({"did": acts_for["did"], "acts_for": acts_for}))
    })
    .await
}

/// `GET /v1/trade/next_ids`: the ids the next mode and offer will get (so a publisher can
/// find what it published).
pub(crate) async fn next_ids(State(node): State<Arc<Node>>) -> ApiResult {
    blocking(&node, move |node| {
        let (mode, offer) = node.with_state(ChainKind::Trade, |s| {
            (
                view::next_id(s, suanli_trade::records::MODE_NEXT_KEY),
                view::next_id(s, suanli_trade::records::OFFER_NEXT_KEY),
            )
        });
        ok(json!({"mode": mode, "offer": offer}))
    })
    .await
}

pub(crate) async fn mode(State(node): State<Arc<Node>>, Path(text): Path<String>) -> ApiResult {
    let id = id(&text, "mode")?;
    blocking(&node, move |node| {
        let mode = node
            .with_state(ChainKind::Trade, |s| view::mode(s, id))
            .ok_or_else(|| ApiError::not_found(format!("no trade mode {id}")))?;
        ok(json!({"mode": mode}))
    })
    .await
}

pub(crate) async fn offer(State(node): State<Arc<Node>>, Path(text): Path<String>) -> ApiResult {
    let id = id(&text, "offer")?;
    blocking(&node, move |node| {
        let (offer, mode) = node.with_state(ChainKind::Trade, |s| {
            let offer = view::offer(s, id);
            let mode = offer.as_ref().and_then(|o| view::mode(s, o.terms.mode_id));
            (offer, mode)
        });
        let offer = offer.ok_or_else(|| ApiError::not_found(format!("no offer {id}")))?;
        ok(json!({"offer": offer, "mode": mode}))
    })
    .await
}

/// `GET /v1/trade/offers?from=<id>&limit=<n>&open=true`.
pub(crate) async fn offers(State(node): State<Arc<Node>>, RawQuery(query): RawQuery) -> ApiResult {
    let params = params(&query)?;
    let from = number(&params, "from", 1)?;
    let limit = number(&params, "limit", view::PAGE_MAX as u64)?.min(view::PAGE_MAX as u64);
    let open = match param(&params, "open") {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(ApiError::bad(
                "bad_query",
                format!("open must be true or false, got {v:?}"),
            ));
        }
    };
    blocking(&node, move |node| {
        let now = node.now_ms();
        let (offers, next) = node.with_state(ChainKind::Trade, |s| {
            view::offers(s, from, limit as usize, open.then_some(now))
        });
        ok(json!({"offers": offers, "next_from": next}))
    })
    .await
}

pub(crate) async fn public_trade(
    State(node): State<Arc<Node>>,
    Path(text): Path<String>,
) -> ApiResult {
    let serial = serial(&text)?;
    blocking(&node, move |node| {
        let trade = node
            .with_state(ChainKind::Trade, |s| view::trade(s, &serial))
            .ok_or_else(|| ApiError::not_found(format!("no trade {serial}")))?;
        ok(view::public_trade(&trade))
    })
    .await
}

/// A signed read request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadRequest {
    reader: PartyDid,
    time_ms: u64,
    signature: Signature,
}

impl ReadRequest {
    fn parse(body: &axum::body::Bytes) -> Result<Self, ApiError> {
        parse_body(
            body,
            "{\"reader\": \"<did>\", \"time_ms\": <unix ms>, \"signature\": \"<hex>\"}",
        )
    }

    fn signed(&self) -> view::SignedRead<'_> {
        view::SignedRead {
            reader: &self.reader,
            time_ms: self.time_ms,
            signature: &self.signature,
        }
    }
}

/// `POST /v1/trade/trades/{serial}/full?from=<record>`: every record, for parties and
/// regulators.
pub(crate) async fn full_trade(
    State(node): State<Arc<Node>>,
    Path(text): Path<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> ApiResult {
    let serial = serial(&text)?;
    let from = number(&params(&query)?, "from", 0)?;
    let from = u32::try_from(from).map_err(|_| ApiError::bad("bad_query", "from is too large"))?;
    let body = read_body(body).await?;
    let req = ReadRequest::parse(&body)?;
    blocking(&node, move |node| {
        let now = node.now_ms();
        let chain = node.chain_id(ChainKind::Trade).to_string();
        node.with_state(ChainKind::Trade, |s| {
            let trade = view::trade(s, &serial)
                .ok_or_else(|| ApiError::not_found(format!("no trade {serial}")))?;
            view::authorize_read(
                s,
                &chain,
                &serial.to_string(),
                &[&trade.consumer, &trade.supplier],
                Some(&trade.supplier),
                &req.signed(),
                now,
            )
            .map_err(denied)?;
            let full = view::full_trade(s, &serial, from)
                .ok_or_else(|| ApiError::not_found(format!("no trade {serial}")))?;
            ok(full)
        })
    })
    .await
}

/// `POST /v1/trade/parties/{did}/history?skip=&limit=`: a party's trades, newest first, for
/// the party itself and regulators.
pub(crate) async fn history(
    State(node): State<Arc<Node>>,
    Path(text): Path<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> ApiResult {
    let did = did(&text)?;
    let params = params(&query)?;
    let skip = number(&params, "skip", 0)?;
    let limit = number(&params, "limit", view::PAGE_MAX as u64)?.min(view::PAGE_MAX as u64);
    let body = read_body(body).await?;
    let req = ReadRequest::parse(&body)?;
    blocking(&node, move |node| {
        let now = node.now_ms();
        let chain = node.chain_id(ChainKind::Trade).to_string();
        node.with_state(ChainKind::Trade, |s| {
            view::authorize_read(s, &chain, did.as_str(), &[&did], None, &req.signed(), now)
                .map_err(denied)?;
            let (total, serials) = view::history(s, &did, skip, limit as usize);
            let trades: Vec<Value> = serials
                .iter()
                .filter_map(|serial| view::trade(s, serial))
                .map(|t| json!(t))
                .collect();
            ok(json!({"did": did, "total": total, "skip": skip, "trades": trades}))
        })
    })
    .await
}

pub(crate) async fn reputation(
    State(node): State<Arc<Node>>,
    Path(text): Path<String>,
) -> ApiResult {
    let did = did(&text)?;
    blocking(&node, move |node| {
        let now = node.now_ms();
        let rep = node.with_state(ChainKind::Trade, |s| {
            view::party(s, &did)
                .filter(|p| p.has(suanli_trade::Role::Supplier))
                .map(|_| view::reputation(s, &did, now))
        });
        let rep =
            rep.ok_or_else(|| ApiError::not_found(format!("{did} is not an enrolled supplier")))?;
        ok(json!({"reputation": rep}))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrepareRequest {
    signer: PublicKey,
    op: Value,
}

/// `POST /v1/trade/prepare`: turns a JSON trade operation into the transaction fields and
/// the exact bytes to sign at the signer's next nonce (the node never sees a private key).
pub(crate) async fn prepare(State(node): State<Arc<Node>>, body: Body) -> ApiResult {
    let body = read_body(body).await?;
    let req: PrepareRequest = parse_body(
        &body,
        "{\"signer\": \"<hex key>\", \"op\": {\"op\": \"order\", …}}",
    )?;
    let op_bytes =
        serde_json::to_vec(&req.op).map_err(|e| ApiError::bad("bad_op", e.to_string()))?;
    let op = TradeOp::decode(&op_bytes).map_err(|e| ApiError::bad("bad_op", e.to_string()))?;
    let call = op
        .to_call()
        .map_err(|e| ApiError::bad("bad_op", e.to_string()))?;
    let payload = suanli_ledger::Payload::Call(call);
    let chain = node.chain_id(ChainKind::Trade);
    let nonce = node.next_nonce(ChainKind::Trade, &req.signer);
    let message = suanli_ledger::tx::signing_bytes(&chain, &req.signer, nonce, &payload);
    ok(json!({
        "tx": {"chain": chain, "signer": req.signer, "nonce": nonce, "payload": payload},
        "signing_message_hex": hex::encode(message),
    }))
}
