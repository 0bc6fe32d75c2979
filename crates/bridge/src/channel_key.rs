//! The platform's consumer-side channel identity (issue 18, `docs/trade.md` §1.2): the key
//! an order delegates the consumer's side of its service channel to, and the endpoint
//! where the platform's channel controller listens for the suppliers' agents.
//!
//! The key lives in the platform's data directory (`channel.key`, PKCS#8 PEM, mode 0600,
//! created on first use and never overwritten) and never leaves it; each delegation that
//! names it is bounded by its trade (its serial, its escrow) and by its own end, so the
//! key can countersign metered statements of the trades that delegated to it and nothing
//! else (`docs/key-custody.md`).

use std::path::Path;

use suanli_primitives::{PublicKey, SecretKey};

use crate::BridgeError;

/// The key file's name in the data directory.
pub const CHANNEL_KEY_FILE: &str = "channel.key";
/// Where the controller listens unless configured otherwise.
pub const CHANNEL_ENDPOINT_DEFAULT: &str = "tcp://127.0.0.1:7420";

/// The platform's channel key and endpoint.
#[derive(Debug, Clone)]
pub struct PlatformChannel {
    key: SecretKey,
    endpoint: String,
}

impl PlatformChannel {
    /// Loads `DATA_DIR/channel.key`, creating it on first use; `endpoint` is where the
    /// controller listens (`tcp://host:port`).
    pub fn open(data_dir: &Path, endpoint: &str) -> Result<Self, BridgeError> {
        let key = SecretKey::load_or_generate(&data_dir.join(CHANNEL_KEY_FILE))?;
        Ok(PlatformChannel {
            key,
            endpoint: endpoint.to_owned(),
        })
    }

    /// The delegated key (what an order's `channel.key` names).
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// The controller's endpoint (what an order's `channel.endpoint` names).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The secret key, for the platform's own channel controller only.
    pub fn secret(&self) -> &SecretKey {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_and_kept() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let first = PlatformChannel::open(dir.path(), CHANNEL_ENDPOINT_DEFAULT).expect("created");
        let again = PlatformChannel::open(dir.path(), "tcp://127.0.0.1:9").expect("loaded");
        assert_eq!(first.public(), again.public());
        assert_eq!(again.endpoint(), "tcp://127.0.0.1:9");
    }
}
