//! The ledger node's JSON HTTP API (edge layer). Only this crate knows HTTP status codes
//! and JSON DTOs for the ledger; everything it does is a call on
//! `suanli_node::Node`.
//!
//! Endpoints (all under `/v1`, documented in `docs/node-api.md`):
//! `POST /txs` (binary body or JSON, optional `?wait_ms=`), `GET /txs/{id}`,
//! `GET /txs/{id}/proof`, `GET /chains/{chain}/head`, `GET /chains/{chain}/blocks`,
//! `GET /chains/{chain}/blocks/{height}`, `GET /chains/{chain}/state/{key_hex}`,
//! `GET /chains/{chain}/nonces/{public_key}`, `GET /chains/trade/credit/{public_key}`.
//!
//! Trade endpoints (parties, modes, offers, trades with their linked records for the
//! entitled, histories, supplier reputation) live under `/v1/trade`: see [`trade`].
//!
//! Identity endpoints (DID resolution in the DIF Universal Resolver shape, CPTs, issuers,
//! status lists, credential and presentation verification) live under `/1.0`: see
//! [`identity`].
//!
//! Invariants: with member tokens configured ([`Access`]) every endpoint requires one;
//! bodies are read with a hard limit ([`BODY_BYTES_MAX`]), pages are bounded
//! ([`PAGE_BLOCKS_MAX`]), every error is `{"error":{"code","message","retryable"}}` with a
//! 4xx status for bad input, 503 + `Retry-After` for back-pressure, and input never
//! causes a 500 or a panic.
//!
//! Start reading at [`router`].

pub mod identity;
mod supply;
pub mod trade;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use suanli_ledger::credit::{balance_key, decode_fen};
use suanli_ledger::{Payload, Transaction, TxId};
use suanli_node::{Node, StoreError, SubmitError, TxStatus};
use suanli_primitives::{ChainId, ChainKind, Hash32, PublicKey, Signature};

/// Largest request body, in bytes.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// Most blocks one page returns.
pub const PAGE_BLOCKS_MAX: u64 = 20;
/// Most submissions waiting for their commit at once (each holds a blocking thread);
/// beyond it a submission is admitted without waiting and answers 202 pending.
pub const WAITERS_MAX: usize = 256;
/// Seconds a client should wait before retrying after back-pressure.
const RETRY_AFTER_S: &str = "1";

/// An API error: HTTP status, stable code, message for people.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retryable: bool,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retryable: false,
        }
    }

    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure while answering a request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage",
            "the node's store failed; see its log",
        )
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let status = if e.is_retryable() || matches!(e, SubmitError::Halted) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError {
            status,
            code: e.code(),
            message: e.to_string(),
            retryable: e.is_retryable(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message, "retryable": self.retryable}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.retryable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_S));
        }
        response
    }
}

type ApiResult = Result<Response, ApiError>;

/// Who may call the API. A consortium node that listens beyond loopback gives each member
/// a bearer token; only SHA-256 digests of the tokens are kept.
/// Reader tokens reach only the public part of the API: the trade endpoints (whose full
/// records need a party's signed read request), the identity endpoints, submitting a
/// transaction and reading its status, chain heads and nonces — not the raw ledger
/// (blocks, state, balances, proofs), which would bypass the trade chain's disclosure
/// policy (`docs/trade.md` §7).
#[derive(Debug, Clone, Default)]
pub struct Access {
    token_digests: Arc<Vec<Hash32>>,
    reader_digests: Arc<Vec<Hash32>>,
}

/// Whether a reader token may call `method path`.
fn reader_may(method: &axum::http::Method, path: &str) -> bool {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["", "v1", "trade", ..] | ["", "1.0", ..] => true,
        ["", "v1", "txs"] => method == axum::http::Method::POST,
        ["", "v1", "txs", _] => method == axum::http::Method::GET,
        ["", "v1", "chains", _, "head"] | ["", "v1", "chains", _, "nonces", _] => {
            method == axum::http::Method::GET
        }
        _ => false,
    }
}

impl Access {
    /// No tokens: every caller is allowed (for loopback-only nodes).
    pub fn open() -> Self {
        Access::default()
    }

    /// Callers must send `Authorization: Bearer <token>` with one of these tokens.
    pub fn tokens<S: AsRef<str>>(tokens: &[S]) -> Self {
        let digests = tokens
            .iter()
            .map(|t| suanli_primitives::sha256(t.as_ref().as_bytes()))
            .collect();
        Access {
            token_digests: Arc::new(digests),
            reader_digests: Arc::new(Vec::new()),
        }
    }

    /// Adds reader tokens (see [`Access`]); only meaningful with member tokens.
    pub fn with_readers<S: AsRef<str>>(mut self, tokens: &[S]) -> Self {
        self.reader_digests = Arc::new(
            tokens
                .iter()
                .map(|t| suanli_primitives::sha256(t.as_ref().as_bytes()))
                .collect(),
        );
        self
    }

    pub fn is_open(&self) -> bool {
        self.token_digests.is_empty()
    }

    fn allows(&self, headers: &HeaderMap, method: &axum::http::Method, path: &str) -> bool {
        if self.is_open() {
            return true;
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| suanli_primitives::sha256(t.trim().as_bytes()));
        // Comparing digests, not tokens, keeps timing independent of the secret.
        presented.is_some_and(|d| {
            self.token_digests.contains(&d)
                || (self.reader_digests.contains(&d) && reader_may(method, path))
        })
    }
}

async fn authorise(
    State(access): State<Access>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if access.allows(request.headers(), request.method(), request.uri().path()) {
        next.run(request).await
    } else {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this node requires `Authorization: Bearer <token>`: a member token, or a reader token for the public endpoints (docs/node-api.md)",
        )
        .into_response()
    }
}

/// The router over a running node.
pub fn router(node: Arc<Node>, access: Access) -> Router {
    Router::new()
        .route("/v1/txs", post(submit))
        .route("/v1/txs/{id}", get(tx_status))
        .route("/v1/txs/{id}/proof", get(tx_proof))
        .route("/v1/chains/{chain}/head", get(head))
        .route("/v1/chains/{chain}/blocks", get(blocks))
        .route("/v1/chains/{chain}/blocks/{height}", get(block))
        .route("/v1/chains/{chain}/state/{key}", get(state))
        .route("/v1/chains/{chain}/nonces/{key}", get(nonce))
        .route("/v1/chains/trade/credit/{key}", get(credit_balance))
        .route("/v1/trade/parties/{did}", get(trade::party))
        .route("/v1/trade/parties/{did}/history", post(trade::history))
        .route(
            "/v1/trade/suppliers/{did}/reputation",
            get(trade::reputation),
        )
        .route("/v1/trade/keys/{key}", get(trade::key_owner))
        // supplier endpoints (issue 16)
        .route("/v1/trade/suppliers/{did}/modes", get(supply::modes))
        .route("/v1/trade/suppliers/{did}/offers", get(supply::offers))
        .route("/v1/trade/suppliers/{did}/agents", get(supply::agents))
        .route("/v1/trade/signers/{id}", get(supply::signer))
        .route("/v1/trade/cpts/{id}", get(supply::adopted_cpt))
        .route("/v1/trade/next_ids", get(trade::next_ids))
        .route("/v1/trade/modes/{id}", get(trade::mode))
        .route("/v1/trade/offers", get(trade::offers))
        .route("/v1/trade/offers/{id}", get(trade::offer))
        .route("/v1/trade/trades/{serial}", get(trade::public_trade))
        .route("/v1/trade/trades/{serial}/full", post(trade::full_trade))
        .route("/v1/trade/prepare", post(trade::prepare))
        .route("/1.0/identifiers/{did}", get(identity::resolve_did))
        .route("/1.0/cpts", get(identity::list_cpts))
        .route("/1.0/cpts/{id}", get(identity::get_cpt))
        .route("/1.0/issuers", get(identity::list_issuers))
        .route("/1.0/identity/prepare", post(identity::prepare))
        .route("/1.0/status/{id}", get(identity::status_list))
        .route("/1.0/credentials/verify", post(identity::verify_credential))
        .route(
            "/1.0/presentations/verify",
            post(identity::verify_presentation),
        )
        .fallback(|| async { ApiError::not_found("no such endpoint; see docs/node-api.md") })
        .with_state(node)
        .layer(axum::Extension(Arc::new(tokio::sync::Semaphore::new(
            WAITERS_MAX,
        ))))
        .layer(axum::middleware::from_fn_with_state(access, authorise))
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    node: Arc<Node>,
    access: Access,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(node, access))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The JSON form of a signed transaction.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TxJson {
    pub chain: ChainId,
    pub signer: PublicKey,
    pub nonce: u64,
    pub payload: Payload,
    pub signature: Signature,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitJson {
    tx_hex: Option<String>,
    tx: Option<TxJson>,
}

fn query_param<'a>(query: &'a Option<String>, name: &str) -> Option<&'a str> {
    query
        .as_deref()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn parse_u64_param(query: &Option<String>, name: &str, default: u64) -> Result<u64, ApiError> {
    match query_param(query, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            ApiError::bad(
                "bad_query",
                format!("query parameter {name} must be a non-negative integer, got {v:?}"),
            )
        }),
    }
}

fn decode_submission(headers: &HeaderMap, body: &[u8]) -> Result<Transaction, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/octet-stream") {
        return Transaction::decode(body).map_err(|e| SubmitError::from(e).into());
    }
    if !content_type.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the encoded transaction as application/octet-stream, or JSON {\"tx_hex\":…} or {\"tx\":{…}} as application/json",
        ));
    }
    let parsed: SubmitJson = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad(
            "bad_json",
            format!("request body is not a valid submission: {e}"),
        )
    })?;
    match (parsed.tx_hex, parsed.tx) {
        (Some(text), None) => {
            let bytes = hex::decode(text.trim())
                .map_err(|e| ApiError::bad("bad_hex", format!("tx_hex is not hex: {e}")))?;
            Transaction::decode(&bytes).map_err(|e| SubmitError::from(e).into())
        }
        (None, Some(t)) => Ok(Transaction::from_parts(
            t.chain,
            t.signer,
            t.nonce,
            t.payload,
            t.signature,
        )),
        _ => Err(ApiError::bad(
            "bad_json",
            "give exactly one of tx_hex or tx",
        )),
    }
}

/// Reads a request body of at most [`BODY_BYTES_MAX`] bytes.
async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    to_bytes(body, BODY_BYTES_MAX).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request body is larger than {BODY_BYTES_MAX} bytes or was cut off"),
        )
    })
}

async fn submit(
    State(node): State<Arc<Node>>,
    axum::Extension(waiters): axum::Extension<Arc<tokio::sync::Semaphore>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let wait_ms = parse_u64_param(&query, "wait_ms", 0)?;
    let body = read_body(body).await?;
    let tx = decode_submission(&headers, &body)?;
    let kind = tx.chain().kind();
    let permit = if wait_ms > 0 {
        waiters.try_acquire_owned().ok()
    } else {
        None
    };
    let worker = Arc::clone(&node);
    let outcome = tokio::task::spawn_blocking(move || -> Result<(TxId, TxStatus), ApiError> {
        let id = worker.submit(tx)?;
        let status = if permit.is_some() {
            worker.wait(&id, kind, Duration::from_millis(wait_ms))?
        } else {
            TxStatus::Pending
        };
        Ok((id, status))
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "submission worker failed",
        )
    })?;
    let (id, status) = outcome?;
    let code = if matches!(status, TxStatus::Committed { .. }) {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, axum::Json(json!({"tx_id": id, "result": status}))).into_response())
}

/// Runs store reads and block decoding off the async workers, so that heavy queries
/// cannot stall the runtime.
async fn blocking<F>(node: &Arc<Node>, work: F) -> ApiResult
where
    F: FnOnce(&Node) -> ApiResult + Send + 'static,
{
    let node = Arc::clone(node);
    tokio::task::spawn_blocking(move || work(&node))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "query worker failed",
            )
        })?
}

pub(crate) fn parse_tx_id(text: &str) -> Result<TxId, ApiError> {
    Hash32::from_hex(text)
        .map(TxId)
        .map_err(|e| ApiError::bad("bad_tx_id", e.to_string()))
}

fn parse_chain(text: &str) -> Result<ChainKind, ApiError> {
    text.parse().map_err(|e: suanli_primitives::IdError| {
        ApiError::new(StatusCode::NOT_FOUND, "unknown_chain", e.to_string())
    })
}

fn parse_key(text: &str) -> Result<PublicKey, ApiError> {
    PublicKey::from_hex(text).map_err(|e| ApiError::bad("bad_public_key", e.to_string()))
}

async fn tx_status(State(node): State<Arc<Node>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_tx_id(&id)?;
    blocking(&node, move |node| {
        let status = node.status(&id)?;
        if status == TxStatus::Unknown {
            return Err(ApiError::not_found(format!(
                "transaction {id} is not known to this node"
            )));
        }
        Ok(axum::Json(json!({"tx_id": id, "result": status})).into_response())
    })
    .await
}

async fn tx_proof(State(node): State<Arc<Node>>, Path(id): Path<String>) -> ApiResult {
    let id = parse_tx_id(&id)?;
    blocking(&node, move |node| {
        let proof = node.proof(&id)?.ok_or_else(|| {
            ApiError::not_found(format!("transaction {id} is not committed on this node"))
        })?;
        let header_hex = hex::encode(proof.header.encode());
        Ok(
            axum::Json(json!({"tx_id": id, "proof": proof, "header_hex": header_hex}))
                .into_response(),
        )
    })
    .await
}

async fn head(State(node): State<Arc<Node>>, Path(chain): Path<String>) -> ApiResult {
    let kind = parse_chain(&chain)?;
    Ok(axum::Json(json!({"chain": node.chain_id(kind), "head": node.head(kind)})).into_response())
}

fn block_json(block: &suanli_ledger::Block) -> serde_json::Value {
    let ids: Vec<TxId> = block.txs.iter().map(Transaction::id).collect();
    json!({"header": block.header, "tx_ids": ids})
}

async fn block(
    State(node): State<Arc<Node>>,
    Path((chain, height)): Path<(String, String)>,
) -> ApiResult {
    let kind = parse_chain(&chain)?;
    let height: u64 = height.parse().map_err(|_| {
        ApiError::bad(
            "bad_height",
            format!("height must be a non-negative integer, got {height:?}"),
        )
    })?;
    blocking(&node, move |node| {
        let block = node
            .block(kind, height)?
            .ok_or_else(|| ApiError::not_found(format!("{kind} chain has no block {height}")))?;
        let mut value = block_json(&block);
        value["block_hex"] = json!(hex::encode(block.encode()));
        Ok(axum::Json(value).into_response())
    })
    .await
}

async fn blocks(
    State(node): State<Arc<Node>>,
    Path(chain): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let kind = parse_chain(&chain)?;
    let from = parse_u64_param(&query, "from", 0)?;
    let limit = parse_u64_param(&query, "limit", 20)?;
    if limit == 0 || limit > PAGE_BLOCKS_MAX {
        return Err(ApiError::bad(
            "bad_query",
            format!("limit must be 1..={PAGE_BLOCKS_MAX}"),
        ));
    }
    blocking(&node, move |node| {
        let head = node.head(kind).height();
        let mut out = Vec::new();
        let mut height = from;
        while height <= head && (out.len() as u64) < limit {
            if let Some(b) = node.block(kind, height)? {
                out.push(block_json(&b));
            }
            height += 1;
        }
        let next = (height <= head).then_some(height);
        Ok(axum::Json(json!({"blocks": out, "next_from": next})).into_response())
    })
    .await
}

async fn state(
    State(node): State<Arc<Node>>,
    Path((chain, key)): Path<(String, String)>,
) -> ApiResult {
    let kind = parse_chain(&chain)?;
    let key = hex::decode(&key)
        .map_err(|e| ApiError::bad("bad_key", format!("state key must be hex: {e}")))?;
    let value = node.state_get(kind, &key);
    Ok(
        axum::Json(json!({"key_hex": hex::encode(&key), "value_hex": value.map(hex::encode)}))
            .into_response(),
    )
}

async fn nonce(
    State(node): State<Arc<Node>>,
    Path((chain, key)): Path<(String, String)>,
) -> ApiResult {
    let kind = parse_chain(&chain)?;
    let key = parse_key(&key)?;
    Ok(
        axum::Json(json!({"signer": key, "next_nonce": node.next_nonce(kind, &key)}))
            .into_response(),
    )
}

async fn credit_balance(State(node): State<Arc<Node>>, Path(key): Path<String>) -> ApiResult {
    let key = parse_key(&key)?;
    let balance = node
        .state_get(ChainKind::Trade, &balance_key(&key))
        .and_then(|v| decode_fen(&v))
        .map_or(0, |f| f.get());
    Ok(axum::Json(json!({"owner": key, "balance_fen": balance})).into_response())
}
