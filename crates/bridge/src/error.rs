//! The bridge's errors and how the platform's ports see them.

use suanli_ledger_client::LedgerError;
use suanli_platform_http::PortError;

/// Why an adapter could not do what the platform asked.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The ledger failed, refused or did not commit in time.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The request cannot succeed as given.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// A stored signed transaction is not hex.
    #[error("the signed transaction is not hex: {0}")]
    Hex(#[from] hex::FromHexError),
    /// A stored signed transaction does not decode.
    #[error("the signed transaction does not decode: {0}")]
    Tx(#[from] suanli_ledger::TxError),
    /// An operation could not be encoded as a contract call.
    #[error("encoding the {what} call: {detail}")]
    Call { what: &'static str, detail: String },
    /// The anchor record is not acceptable.
    #[error(transparent)]
    Anchor(#[from] suanli_ledger::anchor::AnchorError),
    /// The credential could not be issued.
    #[error("issuing the KYC credential: {0}")]
    Credential(#[from] suanli_vc::VcError),
    /// An amount is not a positive number of fen.
    #[error(transparent)]
    Money(#[from] suanli_primitives::MoneyError),
    /// A public key is malformed.
    #[error(transparent)]
    Key(#[from] suanli_primitives::KeyError),
    /// A credential could not be serialised.
    #[error("serialising the credential: {0}")]
    Json(#[from] serde_json::Error),
    /// The embedded node could not be opened.
    #[error(transparent)]
    Open(#[from] suanli_ledger_client::embedded::OpenError),
    /// The platform's store failed.
    #[error(transparent)]
    Store(#[from] suanli_platform_http::store::StoreError),
    /// Mirroring or reconciling failed.
    #[error("{stage}: {source}")]
    Reconcile {
        stage: &'static str,
        #[source]
        source: suanli_platform_http::payment::MirrorError,
    },
    /// A thread or runtime could not be started.
    #[error("starting the anchor worker or a runtime: {0}")]
    Thread(#[source] std::io::Error),
}

impl BridgeError {
    pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        BridgeError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &str {
        match self {
            BridgeError::Ledger(e) => e.code(),
            BridgeError::Invalid { code, .. } => code,
            BridgeError::Hex(_) | BridgeError::Tx(_) => "bad_signed_tx",
            BridgeError::Call { .. } => "call_encoding",
            BridgeError::Anchor(_) => "bad_anchor",
            BridgeError::Credential(_) => "credential",
            BridgeError::Money(_) => "bad_amount",
            BridgeError::Key(_) => "bad_key",
            BridgeError::Json(_) => "json",
            BridgeError::Open(e) => e.code(),
            BridgeError::Store(_) => "store",
            BridgeError::Reconcile { .. } => "reconcile",
            BridgeError::Thread(_) => "thread",
        }
    }
}

impl From<BridgeError> for PortError {
    fn from(e: BridgeError) -> Self {
        match e {
            BridgeError::Invalid { code, message } => PortError::Refused { code, message },
            other => PortError::ledger(other),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::BridgeError;
    use suanli_platform_http::PortError;

    #[test]
    fn errors_crossing_into_the_platform_keep_their_cause() {
        let hex = BridgeError::from(hex::decode("zz").unwrap_err());
        let text = hex.to_string();
        assert!(
            text.starts_with("the signed transaction is not hex: "),
            "{text}"
        );
        assert!(text.len() > "the signed transaction is not hex: ".len());
        let json = BridgeError::from(serde_json::from_str::<u8>("x").unwrap_err());
        let port = PortError::from(json);
        let line = suanli_primitives::error_chain(&port);
        assert!(
            line.starts_with("serialising the credential: expected"),
            "{line}"
        );
    }
}
