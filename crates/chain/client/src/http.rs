//! A small blocking client of a node's HTTP API for the CLI: reads, and signed
//! transactions built locally (the node never sees a private key) and waited for until
//! committed.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::Value;
use suanli_ledger::{Payload, Transaction};
use suanli_primitives::{ChainId, ChainKind, SecretKey};

/// How long the CLI waits for a transaction to commit, in milliseconds.
const COMMIT_WAIT_MS: u64 = 15_000;

#[derive(Debug, Clone, Args)]
pub struct NodeTarget {
    /// Base URL of the node's HTTP API.
    #[arg(long, env = "SUANLI_NODE", default_value = "http://127.0.0.1:7410")]
    pub node: String,
    /// File holding a member token for nodes that require one.
    #[arg(long, env = "SUANLI_NODE_TOKEN_FILE")]
    pub token_file: Option<std::path::PathBuf>,
}

#[derive(Debug)]
pub struct NodeClient {
    base: String,
    bearer: Option<String>,
    agent: ureq::Agent,
}

impl NodeClient {
    pub fn new(target: &NodeTarget) -> anyhow::Result<Self> {
        let bearer = match &target.token_file {
            None => None,
            Some(path) => Some(format!(
                "Bearer {}",
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .trim()
            )),
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(2 * COMMIT_WAIT_MS)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(NodeClient {
            base: target.node.trim_end_matches('/').to_owned(),
            bearer,
            agent,
        })
    }

    fn answer(
        &self,
        what: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut response =
            response.with_context(|| format!("{what}: cannot reach the node at {}", self.base))?;
        let status = response.status().as_u16();
        let body: Value = response
            .body_mut()
            .read_json()
            .with_context(|| format!("{what}: the node's answer is not JSON"))?;
        Ok((status, body))
    }

    /// GET `path`; returns the HTTP status and JSON body (errors included).
    pub fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let mut request = self.agent.get(&format!("{}{path}", self.base));
        if let Some(b) = &self.bearer {
            request = request.header("authorization", b);
        }
        self.answer(path, request.call())
    }

    /// GET `path` and insist on 200.
    pub fn get_ok(&self, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.get(path)?;
        anyhow::ensure!(
            status == 200,
            "{path}: node answered {status}: {}",
            error_text(&body)
        );
        Ok(body)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(b) = &self.bearer {
            request = request.header("authorization", b);
        }
        self.answer(path, request.send(body.to_string()))
    }

    /// Signs `payload` with `key` for the `kind` chain at the signer's next nonce, submits
    /// it and waits until it is committed. A committed failure is an error naming the
    /// contract's rule.
    pub fn transact(
        &self,
        kind: ChainKind,
        key: &SecretKey,
        payload: Payload,
    ) -> anyhow::Result<String> {
        let head = self.get_ok(&format!("/v1/chains/{kind}/head"))?;
        let chain: ChainId = head["chain"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .context("node answered an unreadable chain id")?;
        let nonces = self.get_ok(&format!("/v1/chains/{kind}/nonces/{}", key.public()))?;
        let nonce = nonces["next_nonce"]
            .as_u64()
            .context("node answered without next_nonce")?;
        let tx = Transaction::sign(&chain, key, nonce, payload);
        let body = serde_json::json!({"tx_hex": hex::encode(tx.encoded())});
        let (status, answer) =
            self.post_json(&format!("/v1/txs?wait_ms={COMMIT_WAIT_MS}"), &body)?;
        anyhow::ensure!(
            status < 300,
            "the node refused the transaction: {}",
            error_text(&answer)
        );
        let result = &answer["result"];
        match (
            result["status"].as_str(),
            result["outcome"]["status"].as_str(),
        ) {
            (Some("committed"), Some("applied")) => Ok(tx.id().to_string()),
            (Some("committed"), _) => anyhow::bail!(
                "transaction {} was committed as failed: {}",
                tx.id(),
                result["outcome"]["reason"].as_str().unwrap_or("no reason")
            ),
            _ => anyhow::bail!(
                "transaction {} was not committed within {COMMIT_WAIT_MS} ms ({result}); check later with GET /v1/txs/{}",
                tx.id(),
                tx.id()
            ),
        }
    }
}

/// The message of a JSON error answer, or the whole answer.
pub fn error_text(body: &Value) -> String {
    match body["error"]["message"].as_str() {
        Some(m) => format!("{} ({})", m, body["error"]["code"].as_str().unwrap_or("?")),
        None => body.to_string(),
    }
}
