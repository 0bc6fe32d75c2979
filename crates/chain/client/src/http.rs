//! A blocking client of a node's HTTP API (`docs/node-api.md`): [`LedgerClient`] over
//! `/v1`, plus the JSON reads and posts the CLI's identity and trade commands make.
//! Transactions are built and signed on this side; the node never sees a private key.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use suanli_ledger::{Outcome, Transaction, TxId};
use suanli_primitives::{ChainId, ChainKind, NetworkName, PublicKey};

use crate::{COMMIT_WAIT_MS, LedgerClient, LedgerError, TxStatus};

/// How often a wait on a remote node asks for the status, in milliseconds.
const POLL_MS: u64 = 20;

/// A node's HTTP API.
pub struct HttpLedger {
    base: String,
    bearer: Option<String>,
    agent: ureq::Agent,
    chains: [OnceLock<ChainId>; 2],
}

/// Written by hand: the secrets are redacted.
impl std::fmt::Debug for HttpLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpLedger")
            .field("base", &self.base)
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .field("chains", &self.chains)
            .finish_non_exhaustive()
    }
}

type Answer = Result<ureq::http::Response<ureq::Body>, ureq::Error>;

impl HttpLedger {
    /// A client of the node at `url` (e.g. `http://127.0.0.1:7410`), sending `token` as a
    /// member token when given.
    pub fn new(url: &str, token: Option<&str>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(2 * COMMIT_WAIT_MS)))
            .http_status_as_error(false)
            .build()
            .into();
        HttpLedger {
            base: url.trim_end_matches('/').to_owned(),
            bearer: token.map(|t| format!("Bearer {}", t.trim())),
            agent,
            chains: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// [`Self::new`] with the member token read from `token_file`.
    pub fn with_token_file(url: &str, token_file: Option<&Path>) -> Result<Self, LedgerError> {
        let token =
            match token_file {
                None => None,
                Some(path) => Some(std::fs::read_to_string(path).map_err(|source| {
                    LedgerError::TokenFile {
                        path: path.to_owned(),
                        source,
                    }
                })?),
            };
        Ok(Self::new(url, token.as_deref()))
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn answer(&self, what: &str, response: Answer) -> Result<(u16, Value), LedgerError> {
        let mut response = response.map_err(|source| LedgerError::Unreachable {
            what: what.to_owned(),
            url: self.base.clone(),
            source: Box::new(source),
        })?;
        let status = response.status().as_u16();
        let body: Value = response
            .body_mut()
            .read_json()
            .map_err(|e| LedgerError::BadAnswer {
                what: what.to_owned(),
                detail: format!("not JSON: {e}"),
            })?;
        Ok((status, body))
    }

    /// GET `path`; returns the HTTP status and JSON body (errors included).
    pub fn get(&self, path: &str) -> Result<(u16, Value), LedgerError> {
        let mut request = self.agent.get(&format!("{}{path}", self.base));
        if let Some(b) = &self.bearer {
            request = request.header("authorization", b);
        }
        self.answer(path, request.call())
    }

    /// GET `path` and insist on 200.
    pub fn get_ok(&self, path: &str) -> Result<Value, LedgerError> {
        let (status, body) = self.get(path)?;
        ok(path, status, body)
    }

    /// POST `body` as JSON to `path`; returns the HTTP status and JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> Result<(u16, Value), LedgerError> {
        let mut request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(b) = &self.bearer {
            request = request.header("authorization", b);
        }
        self.answer(path, request.send(body.to_string()))
    }

    /// POST `body` to `path` and insist on 200.
    pub fn post_ok(&self, path: &str, body: &Value) -> Result<Value, LedgerError> {
        let (status, answer) = self.post_json(path, body)?;
        ok(path, status, answer)
    }

    /// The network of the node's chains.
    pub fn network(&self) -> Result<NetworkName, LedgerError> {
        Ok(self.chain_id(ChainKind::Identity)?.network().clone())
    }
}

fn ok(what: &str, status: u16, body: Value) -> Result<Value, LedgerError> {
    if status == 200 {
        return Ok(body);
    }
    Err(LedgerError::Api {
        what: what.to_owned(),
        status,
        code: body["error"]["code"].as_str().unwrap_or("http").to_owned(),
        message: error_text(&body),
        retryable: body["error"]["retryable"].as_bool().unwrap_or(false),
    })
}

/// The message of a JSON error answer, or the whole answer.
pub fn error_text(body: &Value) -> String {
    match body["error"]["message"].as_str() {
        Some(m) => format!("{} ({})", m, body["error"]["code"].as_str().unwrap_or("?")),
        None => body.to_string(),
    }
}

fn bad(what: &str, detail: impl Into<String>) -> LedgerError {
    LedgerError::BadAnswer {
        what: what.to_owned(),
        detail: detail.into(),
    }
}

/// A transaction status as the node's API writes it (`result` of `/v1/txs…`).
fn parse_status(what: &str, v: &Value) -> Result<TxStatus, LedgerError> {
    let text = |field: &str| v[field].as_str().unwrap_or_default().to_owned();
    match v["status"].as_str() {
        Some("pending") => Ok(TxStatus::Pending),
        Some("unknown") => Ok(TxStatus::Unknown),
        Some("rejected") => Ok(TxStatus::Rejected {
            code: text("code"),
            reason: text("reason"),
        }),
        Some("committed") => {
            let chain: ChainKind = v["chain"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|e| bad(what, format!("chain: {e}")))?;
            let height = v["height"].as_u64().ok_or_else(|| bad(what, "no height"))?;
            let index = v["index"]
                .as_u64()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| bad(what, "no index"))?;
            let outcome: Outcome = serde_json::from_value(v["outcome"].clone())
                .map_err(|e| bad(what, format!("outcome: {e}")))?;
            Ok(TxStatus::Committed {
                chain,
                height,
                index,
                outcome,
            })
        }
        _ => Err(bad(what, format!("no transaction status in {v}"))),
    }
}

/// A `GET /v1/txs/{id}/proof` answer: the proof, with the header from its binary
/// encoding (`header_hex`).
fn parse_proof(what: &str, body: &Value) -> Result<suanli_node::TxProof, LedgerError> {
    let p = &body["proof"];
    let header_hex = body["header_hex"]
        .as_str()
        .ok_or_else(|| bad(what, "no header_hex"))?;
    let header_bytes =
        hex::decode(header_hex).map_err(|e| bad(what, format!("header_hex: {e}")))?;
    let mut reader = suanli_primitives::codec::Reader::new(&header_bytes);
    let header = suanli_ledger::BlockHeader::decode_from(&mut reader)
        .map_err(|e| bad(what, format!("header: {e}")))?;
    let location = &p["location"];
    let chain: ChainKind = location["chain"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| bad(what, format!("chain: {e}")))?;
    let height = location["height"]
        .as_u64()
        .ok_or_else(|| bad(what, "no height"))?;
    let index = location["index"]
        .as_u64()
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| bad(what, "no index"))?;
    Ok(suanli_node::TxProof {
        tx_hex: p["tx_hex"]
            .as_str()
            .ok_or_else(|| bad(what, "no tx_hex"))?
            .to_owned(),
        location: suanli_node::TxLocation {
            chain,
            height,
            index,
        },
        outcome: serde_json::from_value(p["outcome"].clone())
            .map_err(|e| bad(what, format!("outcome: {e}")))?,
        header,
        proof: serde_json::from_value(p["proof"].clone())
            .map_err(|e| bad(what, format!("proof: {e}")))?,
    })
}

fn kind_slot(kind: ChainKind) -> usize {
    match kind {
        ChainKind::Identity => 0,
        ChainKind::Trade => 1,
    }
}

impl LedgerClient for HttpLedger {
    fn chain_id(&self, kind: ChainKind) -> Result<ChainId, LedgerError> {
        let slot = &self.chains[kind_slot(kind)];
        if let Some(id) = slot.get() {
            return Ok(id.clone());
        }
        let path = format!("/v1/chains/{kind}/head");
        let head = self.get_ok(&path)?;
        let id: ChainId = head["chain"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .map_err(|e| bad(&path, format!("unreadable chain id: {e}")))?;
        Ok(slot.get_or_init(|| id).clone())
    }

    fn next_nonce(&self, kind: ChainKind, signer: &PublicKey) -> Result<u64, LedgerError> {
        let path = format!("/v1/chains/{kind}/nonces/{signer}");
        self.get_ok(&path)?["next_nonce"]
            .as_u64()
            .ok_or_else(|| bad(&path, "no next_nonce"))
    }

    fn state_get(&self, kind: ChainKind, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        let path = format!("/v1/chains/{kind}/state/{}", hex::encode(key));
        match self.get_ok(&path)?["value_hex"].as_str() {
            None => Ok(None),
            Some(h) => hex::decode(h)
                .map(Some)
                .map_err(|e| bad(&path, format!("value_hex: {e}"))),
        }
    }

    fn tx_proof(&self, id: &TxId) -> Result<Option<suanli_node::TxProof>, LedgerError> {
        let path = format!("/v1/txs/{id}/proof");
        let (status, body) = self.get(&path)?;
        if status == 404 {
            return Ok(None);
        }
        let body = ok(&path, status, body)?;
        parse_proof(&path, &body).map(Some)
    }

    fn status(&self, id: &TxId) -> Result<TxStatus, LedgerError> {
        let path = format!("/v1/txs/{id}");
        let (status, body) = self.get(&path)?;
        if status == 404 {
            return Ok(TxStatus::Unknown);
        }
        let body = ok(&path, status, body)?;
        parse_status(&path, &body["result"])
    }

    fn submit_wait(&self, tx: &Transaction, wait: Duration) -> Result<TxStatus, LedgerError> {
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let path = format!("/v1/txs?wait_ms={wait_ms}");
        let mut request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", "application/octet-stream");
        if let Some(b) = &self.bearer {
            request = request.header("authorization", b);
        }
        let (status, body) = self.answer("/v1/txs", request.send(tx.encoded()))?;
        if status >= 300 {
            return Err(LedgerError::RefusedRemote {
                code: body["error"]["code"].as_str().unwrap_or("http").to_owned(),
                message: body["error"]["message"]
                    .as_str()
                    .map_or_else(|| body.to_string(), str::to_owned),
                retryable: body["error"]["retryable"].as_bool().unwrap_or(false),
            });
        }
        parse_status("/v1/txs", &body["result"])
    }

    fn wait(&self, id: &TxId, _kind: ChainKind, wait: Duration) -> Result<TxStatus, LedgerError> {
        let deadline = Instant::now() + wait;
        loop {
            let status = self.status(id)?;
            if status != TxStatus::Pending || Instant::now() >= deadline {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(POLL_MS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HttpLedger;

    #[test]
    fn debug_hides_the_member_token() {
        let l = HttpLedger::new("http://node:8545", Some("member-token-SECRET"));
        let debug = format!("{l:?}");
        assert!(!debug.contains("member-token-SECRET"), "{debug}");
        assert!(debug.contains("<redacted>") && debug.contains("http://node:8545"));
    }
}
