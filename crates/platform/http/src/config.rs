//! Configuration: a TOML file, then environment variables on top, then command-line
//! flags on top of that (applied by the CLI). Documented in `docs/configuration.md`.
//! Secrets are held in [`Secret`], whose `Debug` never shows the value, so logging a
//! `Config` cannot leak them.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A secret string. `Debug` prints `Secret(***)`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The value; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Config {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Config {
    /// OWASP's recommended argon2id settings: m = 19 MiB, t = 2, p = 1.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Config {
    /// The default cost of the key that encrypts a user's DID key (`[key_wrap]`): RFC
    /// 9106's second recommended option, m = 64 MiB, t = 3, p = 4. Dearer than password
    /// hashing because it runs only at registration, password change, export and when a
    /// chain record is signed — never on every login — and a leaked database can be
    /// attacked offline only at this cost per guess.
    pub const KEY_WRAP_DEFAULT: Self = Self {
        memory_kib: 65_536,
        iterations: 3,
        parallelism: 4,
    };
}

/// Server configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory (SQLite database, field-encryption key, bootstrap password file).
    pub data_dir: PathBuf,
    /// `postgres://…` to keep operations data in PostgreSQL instead of SQLite.
    pub database_url: Option<Secret>,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub cookie_secure: bool,
    /// Password hashing cost.
    pub argon2: Argon2Config,
    /// Cost of deriving the key that encrypts each user's DID key from their password
    /// (`[key_wrap]`; see `docs/key-custody.md`).
    pub key_wrap: Argon2Config,
    /// 64 hex characters: the key that encrypts sensitive fields at rest. When absent, a
    /// key is generated into `<data_dir>/field.key` (mode 0600) on first start.
    pub field_key: Option<Secret>,
    /// Password of the first operator administrator (`admin`), used only when the
    /// database is empty. When absent, a random one is written to
    /// `<data_dir>/bootstrap-admin-password` (mode 0600).
    pub bootstrap_admin_password: Option<Secret>,
    /// Money: reminder lead times, expired-instance retention, sandbox webhook secret
    /// (`[money]`).
    pub money: crate::payment::MoneyConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("suanli-data/platform"),
            database_url: None,
            cookie_secure: false,
            argon2: Argon2Config::default(),
            key_wrap: Argon2Config::KEY_WRAP_DEFAULT,
            field_key: None,
            bootstrap_admin_password: None,
            money: crate::payment::MoneyConfig::default(),
        }
    }
}

/// Configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// Configuration text is not valid TOML for this schema.
    #[error("invalid configuration: {message}")]
    Syntax {
        /// Parser message.
        message: String,
    },
    /// An environment variable has an invalid value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Environment variables read by [`Config::apply_env`].
pub const ENV_VARS: [&str; 6] = [
    "SUANLI_LISTEN",
    "SUANLI_DATA_DIR",
    "SUANLI_DATABASE_URL",
    "SUANLI_COOKIE_SECURE",
    "SUANLI_FIELD_KEY",
    "SUANLI_BOOTSTRAP_ADMIN_PASSWORD",
];

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Syntax { message } => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Syntax {
            message: e.message().to_owned(),
        })
    }

    /// Applies environment variables (see [`ENV_VARS`]) through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("SUANLI_LISTEN") {
            self.listen = v.parse().map_err(|_| ConfigError::Env {
                name: "SUANLI_LISTEN",
                message: "expected host:port".into(),
            })?;
        }
        if let Some(v) = get("SUANLI_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("SUANLI_DATABASE_URL") {
            self.database_url = Some(Secret(v));
        }
        if let Some(v) = get("SUANLI_COOKIE_SECURE") {
            self.cookie_secure = match v.as_str() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(ConfigError::Env {
                        name: "SUANLI_COOKIE_SECURE",
                        message: "expected true or false".into(),
                    });
                }
            };
        }
        if let Some(v) = get("SUANLI_FIELD_KEY") {
            self.field_key = Some(Secret(v));
        }
        if let Some(v) = get("SUANLI_BOOTSTRAP_ADMIN_PASSWORD") {
            self.bootstrap_admin_password = Some(Secret(v));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_env_and_redaction() {
        let mut c = Config::from_toml(
            "listen = \"127.0.0.1:9000\"\ndatabase_url = \"postgres://u:hunter2@db/x\"\n\
             [argon2]\nmemory_kib = 64\niterations = 1\nparallelism = 1\n",
        )
        .unwrap_or_default();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.argon2.memory_kib, 64);
        c.apply_env(|k| (k == "SUANLI_FIELD_KEY").then(|| "ab".repeat(32)))
            .unwrap_or_else(|e| panic!("{e}"));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(!dbg.contains(&"ab".repeat(32)), "{dbg}");
        assert!(Config::from_toml("bogus = 1").is_err());
        assert!(
            c.apply_env(|k| (k == "SUANLI_LISTEN").then(|| "nope".into()))
                .is_err()
        );
    }
}
