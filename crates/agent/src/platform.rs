//! The agent's side of the platform API (`docs/supply.md` §3.4): raising a trade's work
//! order (again: the same one), reading its decision and its access details, closing it.
//! [`Platform`] is the port; [`HttpPlatform`] talks to `/api/v1/supplier/work-orders`
//! with an API token of scope `supply:agent`.

use crate::AgentError;
use serde::Deserialize;
use serde_json::{Value, json};
use suanli_trade::Serial;

/// How long one platform request may take, in seconds.
pub const PLATFORM_TIMEOUT_SECS: u64 = 30;
/// Largest platform answer read, in bytes.
pub const PLATFORM_ANSWER_BYTES_MAX: u64 = 1024 * 1024;

/// A work order's access details as the platform answers them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Access {
    /// Where to reach the resource.
    pub address: String,
    /// Where the credentials are kept (a reference).
    pub credentials_ref: String,
    /// The pool.
    pub pool_id: String,
}

/// A work order as the agent sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WorkOrder {
    /// Its id on the platform.
    pub id: i64,
    /// The trade's serial.
    pub serial: String,
    /// `awaiting_approval`, `open`, `filled`, `closed` or `declined`.
    pub status: String,
    /// The access details, once filled.
    pub access: Option<Access>,
}

impl WorkOrder {
    /// Whether the supplier approved the order (or it needed no approval).
    pub fn approved(&self) -> bool {
        matches!(self.status.as_str(), "open" | "filled" | "closed")
    }
    /// Whether the supplier declined it.
    pub fn declined(&self) -> bool {
        self.status == "declined"
    }
}

/// The platform, as the agent uses it.
pub trait Platform: Send + Sync + std::fmt::Debug {
    /// Raises the work order of trade `serial` (`needs_approval`: left for the supplier
    /// to approve); if one exists, answers it unchanged.
    fn raise(&self, serial: &Serial, needs_approval: bool) -> Result<WorkOrder, AgentError>;
    /// Closes a work order (the trade ended).
    fn close(&self, id: i64) -> Result<WorkOrder, AgentError>;
}

/// The platform's HTTP API.
pub struct HttpPlatform {
    base: String,
    token: String,
    http: ureq::Agent,
}

/// Written by hand: the token is redacted.
impl std::fmt::Debug for HttpPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPlatform")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl HttpPlatform {
    /// A client of the platform at `base` (no trailing slash) with API token `token`.
    pub fn new(base: &str, token: String) -> Self {
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(PLATFORM_TIMEOUT_SECS)))
            .build()
            .into();
        HttpPlatform {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http,
        }
    }

    fn post(&self, path: &str, body: &Value) -> Result<WorkOrder, AgentError> {
        let unreachable = |e: ureq::Error| AgentError::Platform {
            code: "unreachable".into(),
            message: e.to_string(),
        };
        let mut resp = self
            .http
            .post(&format!("{}{path}", self.base))
            .header("authorization", &format!("Bearer {}", self.token))
            .send_json(body)
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(PLATFORM_ANSWER_BYTES_MAX)
            .read_to_string()
            .map_err(unreachable)?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(AgentError::Platform {
                code: v["error"]["code"].as_str().unwrap_or("http").to_owned(),
                message: format!(
                    "{status}: {}",
                    v["error"]["message"].as_str().unwrap_or("no error message")
                ),
            });
        }
        serde_json::from_value(v["work_order"].clone()).map_err(|e| AgentError::Platform {
            code: "bad_answer".into(),
            message: format!("unreadable work order: {e}"),
        })
    }
}

impl Platform for HttpPlatform {
    fn raise(&self, serial: &Serial, needs_approval: bool) -> Result<WorkOrder, AgentError> {
        self.post(
            "/api/v1/supplier/work-orders",
            &json!({"serial": serial.to_string(), "needs_approval": needs_approval}),
        )
    }

    fn close(&self, id: i64) -> Result<WorkOrder, AgentError> {
        self.post(
            &format!("/api/v1/supplier/work-orders/{id}/close"),
            &json!({}),
        )
    }
}
