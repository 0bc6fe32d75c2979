//! The agent's configuration file (TOML, `docs/supply.md` §3.2). Parsed into
//! [`Settings`]: every field checked here, with the field named in the error; secrets
//! (the API token, the key) are read from the files the configuration names, never
//! written into it.
//!
//! ```toml
//! node_url = "http://127.0.0.1:7400"        # the trade chain's node
//! # node_token_file = "/etc/suanli/node.token"  # a reader or member token, off loopback
//! platform_url = "https://suanli.example.com"
//! api_token_file = "/etc/suanli/agent.token"  # an API token with scope supply:agent
//! supplier_did = "did:suanli:mainnet:…"        # the supplier DID the agent acts for
//! key_file = "/etc/suanli/agent.pem"           # `suanli agent keygen --out …`
//! key_fragment = "key-1"                       # its verification method in the DID document
//! data_dir = "/var/lib/suanli-agent"           # the agent's small store
//! poll_interval_secs = 10
//!
//! [policy]
//! mode = "auto"            # or "manual": every order waits for the supplier
//! max_units = 8
//! max_minutes = 1440
//! max_value_fen = 500000
//! offers = [1, 2]          # offers accepted automatically (empty or absent: all)
//! ```

use crate::AgentError;
use crate::policy::{Policy, PolicyDraft};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use suanli_trade::PartyDid;

/// Shortest poll interval, in seconds.
pub const POLL_INTERVAL_SECS_MIN: u64 = 1;
/// Longest poll interval, in seconds (a check-in period is at least a minute).
pub const POLL_INTERVAL_SECS_MAX: u64 = 3_600;
/// Poll interval when the file gives none, in seconds.
pub const POLL_INTERVAL_SECS_DEFAULT: u64 = 10;
/// Largest configuration file, in bytes.
pub const CONFIG_BYTES_MAX: u64 = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    node_url: String,
    node_token_file: Option<PathBuf>,
    platform_url: String,
    api_token_file: PathBuf,
    supplier_did: String,
    key_file: PathBuf,
    key_fragment: Option<String>,
    data_dir: PathBuf,
    poll_interval_secs: Option<u64>,
    policy: PolicyFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    mode: String,
    max_units: Option<u32>,
    max_minutes: Option<u64>,
    max_value_fen: Option<i64>,
    offers: Option<Vec<u64>>,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The node's base URL.
    pub node_url: String,
    /// The node token file, if any.
    pub node_token_file: Option<PathBuf>,
    /// The platform's base URL.
    pub platform_url: String,
    /// The platform API token file (scope `supply:agent`).
    pub api_token_file: PathBuf,
    /// The supplier DID the agent acts for.
    pub supplier_did: PartyDid,
    /// The agent key file (PKCS#8 PEM).
    pub key_file: PathBuf,
    /// The key's verification method fragment in the supplier's DID document.
    pub key_fragment: String,
    /// Where the agent keeps its store.
    pub data_dir: PathBuf,
    /// Seconds between rounds.
    pub poll_interval_secs: u64,
    /// The acceptance policy.
    pub policy: Policy,
}

fn bad(field: &str, why: impl std::fmt::Display) -> AgentError {
    AgentError::Config(format!("{field}: {why}"))
}

fn url(field: &str, raw: &str) -> Result<String, AgentError> {
    let t = raw.trim().trim_end_matches('/');
    if !(t.starts_with("http://") || t.starts_with("https://")) || t.contains(char::is_whitespace) {
        return Err(bad(field, "an http:// or https:// URL"));
    }
    Ok(t.to_owned())
}

fn policy(p: PolicyFile) -> Result<Policy, AgentError> {
    Policy::from_draft(PolicyDraft {
        mode: p.mode,
        max_units: p.max_units,
        max_minutes: p.max_minutes,
        max_value_fen: p.max_value_fen,
        offers: p.offers,
    })
    .map_err(|e| bad(&e.field, e.message))
}

impl Settings {
    /// Parses the TOML text of a configuration file.
    pub fn parse(text: &str) -> Result<Self, AgentError> {
        let f: File = toml::from_str(text).map_err(|e| AgentError::Config(e.to_string()))?;
        let supplier_did =
            PartyDid::parse(f.supplier_did.trim()).map_err(|e| bad("supplier_did", e))?;
        let key_fragment = f.key_fragment.unwrap_or_else(|| "key-1".to_owned());
        suanli_identity::Fragment::new(&key_fragment).map_err(|e| bad("key_fragment", e))?;
        let poll_interval_secs = f.poll_interval_secs.unwrap_or(POLL_INTERVAL_SECS_DEFAULT);
        if !(POLL_INTERVAL_SECS_MIN..=POLL_INTERVAL_SECS_MAX).contains(&poll_interval_secs) {
            return Err(bad(
                "poll_interval_secs",
                format!("{POLL_INTERVAL_SECS_MIN} to {POLL_INTERVAL_SECS_MAX}"),
            ));
        }
        Ok(Settings {
            node_url: url("node_url", &f.node_url)?,
            node_token_file: f.node_token_file,
            platform_url: url("platform_url", &f.platform_url)?,
            api_token_file: f.api_token_file,
            supplier_did,
            key_file: f.key_file,
            key_fragment,
            data_dir: f.data_dir,
            poll_interval_secs,
            policy: policy(f.policy)?,
        })
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Self, AgentError> {
        let file_err = |source| AgentError::File {
            what: "configuration file",
            path: path.display().to_string(),
            source,
        };
        let len = std::fs::metadata(path).map_err(file_err)?.len();
        if len > CONFIG_BYTES_MAX {
            return Err(bad("file", format!("larger than {CONFIG_BYTES_MAX} bytes")));
        }
        Settings::parse(&std::fs::read_to_string(path).map_err(file_err)?)
    }
}

/// Reads a token file (surrounding whitespace dropped).
pub fn read_token(what: &'static str, path: &Path) -> Result<String, AgentError> {
    let text = std::fs::read_to_string(path).map_err(|source| AgentError::File {
        what,
        path: path.display().to_string(),
        source,
    })?;
    let t = text.trim();
    if t.is_empty() {
        return Err(bad(what, "the file is empty"));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn text(policy: &str) -> String {
        let network = suanli_primitives::NetworkName::new("suanli-dev").unwrap();
        let key = suanli_primitives::SecretKey::from_label("config/supplier").public();
        let did = suanli_identity::SuanliDid::for_initial_key(network, &key);
        format!(
            "node_url = \"http://127.0.0.1:7400/\"\nplatform_url = \"https://p.example\"\n\
             api_token_file = \"t\"\nsupplier_did = \"{did}\"\nkey_file = \"k.pem\"\n\
             data_dir = \"d\"\n[policy]\n{policy}\n"
        )
    }

    #[test]
    fn a_documented_file_parses_and_every_bad_field_is_named() {
        let s = Settings::parse(&text(
            "mode = \"auto\"\nmax_units = 8\nmax_minutes = 1440\nmax_value_fen = 500000\noffers = [1, 2]",
        ))
        .unwrap();
        assert_eq!(s.node_url, "http://127.0.0.1:7400");
        assert_eq!(s.key_fragment, "key-1");
        assert_eq!(s.poll_interval_secs, POLL_INTERVAL_SECS_DEFAULT);
        assert!(matches!(s.policy, Policy::Auto(ref l) if l.offers == vec![1, 2]));
        assert_eq!(
            Settings::parse(&text("mode = \"manual\"")).unwrap().policy,
            Policy::Manual
        );
        for (policy, field) in [
            ("mode = \"sometimes\"", "policy.mode"),
            (
                "mode = \"auto\"\nmax_units = 1\nmax_minutes = 1",
                "policy.max_value_fen",
            ),
            ("mode = \"manual\"\nmax_units = 3", "policy"),
            (
                "mode = \"auto\"\nmax_units = 0\nmax_minutes = 1\nmax_value_fen = 1",
                "policy",
            ),
        ] {
            let e = Settings::parse(&text(policy)).unwrap_err().to_string();
            assert!(e.contains(field), "{policy}: {e}");
        }
        let e = Settings::parse(&text("mode = \"manual\"").replace("http://127", "ftp://127"))
            .unwrap_err();
        assert!(e.to_string().contains("node_url"), "{e}");
        let e =
            Settings::parse(&format!("{}\nsurprise = 1", text("mode = \"manual\""))).unwrap_err();
        assert_eq!(e.code(), "config");
    }
}
