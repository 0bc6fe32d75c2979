//! Money plumbing at the edge: the [`PaymentProvider`] interface with the built-in
//! [`SandboxProvider`] (no real money moves: every response that involves it says
//! `"sandbox": true`), webhook signatures (HMAC-SHA256, compared in constant time), the
//! [`SettlementMirror`] interface that mirrors money in/out onto settlement credits on the
//! chain, and the money configuration.

use crate::trade_ledger::Submitted;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::sync::Arc;
use suanli_platform_domain::OrgId;
use suanli_platform_domain::instance::LifecycleSettings;
use suanli_platform_domain::money::Fen;
use suanli_platform_store::{OpsStore, StoreError};

/// Header carrying the hex HMAC-SHA256 of a webhook body.
pub const SIGNATURE_HEADER: &str = "x-suanli-signature";

/// Failures of the payment plumbing (provider, sandbox secret).
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// No randomness for a reference or a key.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// The sandbox webhook secret is not hex (`where`: the setting or the key file).
    #[error("{place}: the sandbox webhook secret must be hex")]
    NotHex {
        /// The setting or file holding it.
        place: String,
    },
    /// Reading or writing the sandbox key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Failures of mirroring money onto the chain and of reconciling the two.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The operations store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A pending instruction names an operation this version does not know.
    #[error("mirror instruction {id}: unknown operation {op}")]
    UnknownOp {
        /// The instruction.
        id: i64,
        /// Its operation.
        op: String,
    },
    /// The ledger refused or could not be reached (`instruction`: the one being sent).
    #[error("{}{message}", instruction.map(|i| format!("mirror instruction {i}: ")).unwrap_or_default())]
    Ledger {
        /// The instruction being signed or sent, if any.
        instruction: Option<i64>,
        /// The ledger's answer.
        message: String,
    },
}

impl PartialEq for MirrorError {
    /// Errors compare by what they say (the store's errors carry no equality).
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// A payment provider: starts payments and authenticates their confirmations.
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Stable name (`sandbox`), stored with the payment.
    fn name(&self) -> &'static str;
    /// Whether no real money moves (the sandbox).
    fn is_sandbox(&self) -> bool;
    /// A fresh provider reference and where the payer goes to pay.
    fn start(&self, amount: Fen) -> Result<(String, String), PaymentError>;
    /// Whether `signature_hex` is the provider's signature of `body`.
    fn verify(&self, body: &[u8], signature_hex: &str) -> bool;
}

/// The built-in sandbox provider. It pays instantly when asked to
/// (`POST /api/v1/recharges/{id}/sandbox-pay`), by signing the same webhook callback a real
/// provider would send and feeding it through the same verification path.
#[derive(Clone)]
pub struct SandboxProvider {
    secret: Arc<[u8]>,
}

impl std::fmt::Debug for SandboxProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SandboxProvider(secret: ***)")
    }
}

impl SandboxProvider {
    /// A sandbox signing with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    /// Signs `body` (hex HMAC-SHA256), as the sandbox "bank" does for its callbacks.
    pub fn sign(&self, body: &[u8]) -> String {
        sign(&self.secret, body)
    }
}

/// Hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut m) => {
            m.update(body);
            hex::encode(m.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; unreachable in practice.
        Err(_) => String::new(),
    }
}

impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }
    fn is_sandbox(&self) -> bool {
        true
    }
    fn start(&self, _amount: Fen) -> Result<(String, String), PaymentError> {
        let r = crate::crypto::random_token()?;
        let reference = format!("sbx_{}", &r[..24]);
        let url = format!("sandbox://pay/{reference}");
        Ok((reference, url))
    }
    fn verify(&self, body: &[u8], signature_hex: &str) -> bool {
        let Ok(sig) = hex::decode(signature_hex.trim()) else {
            return false;
        };
        match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(mut m) => {
                m.update(body);
                // verify_slice compares in constant time.
                m.verify_slice(&sig).is_ok()
            }
            Err(_) => false,
        }
    }
}

/// A webhook callback body.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    /// The provider's reference of the payment.
    pub provider_ref: String,
    /// Amount paid, in fen.
    pub amount_fen: i64,
    /// `paid` (other statuses are acknowledged and ignored).
    pub status: String,
}

/// What a mirror instruction does on the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorOp {
    /// Money in: mint settlement credits to the customer's account.
    Mint,
    /// Money out: burn them from it.
    Burn,
}

impl MirrorOp {
    /// From the outbox's `op` column.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mint" => Some(MirrorOp::Mint),
            "burn" => Some(MirrorOp::Burn),
            _ => None,
        }
    }
}

/// A signed chain transaction, not yet known to be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// Its reference (the chain transaction id).
    pub reference: String,
    /// The encoded transaction, hex.
    pub encoded_hex: String,
}

/// Mirrors money in and out of the journal onto the chain's settlement credits: mint on
/// money in (recharge), burn on money out (withdrawal). The journal writes each
/// instruction into an outbox in the same SQL transaction
/// ([`crate::exchange::outbox::pump_mirror`] sends them), so none is lost if the process
/// stops in between.
///
/// An instruction is carried by one signed chain transaction at a time:
/// [`Self::sign_and_send`] signs it at the operator's next nonce, has `record` store it,
/// and submits it — all while holding the operator key's lock, so no other user of the
/// key takes that nonce in between; after a timeout or a crash [`Self::send`] submits
/// *the same* transaction again, which the chain applies at most once. A transaction the
/// chain definitely refused is answered [`Submitted::Refused`] (never an `Err`, which
/// means the outcome is unknown).
pub trait SettlementMirror: Send + Sync + std::fmt::Debug {
    /// Signs, without sending, the transaction that mints or burns `amount` settlement
    /// credits on the customer's chain account (tools and tests; the outbox uses
    /// [`Self::sign_and_send`]).
    fn sign(
        &self,
        op: MirrorOp,
        org: OrgId,
        amount: Fen,
        memo: &str,
    ) -> Result<SignedTx, crate::PortError>;
    /// Signs the instruction, calls `record` with the signed transaction (the outbox
    /// stores it; an `Err` from `record` stops before anything is submitted) and submits
    /// it, holding the operator key's lock from the signature to the chain's answer.
    fn sign_and_send(
        &self,
        op: MirrorOp,
        org: OrgId,
        amount: Fen,
        memo: &str,
        record: &mut dyn FnMut(&SignedTx) -> Result<(), crate::PortError>,
    ) -> Result<(SignedTx, Submitted), crate::PortError>;
    /// Makes sure `tx` is applied: done if it already was, otherwise submits it (again)
    /// and waits for it. Safe to repeat for the same transaction. `Ok(Refused)` when the
    /// chain definitely will not apply it (refused at admission — its nonce taken by
    /// another transaction included —, or included as a failed call); `Err` when unknown.
    fn send(&self, tx: &SignedTx) -> Result<Submitted, crate::PortError>;
    /// The customer's settlement-credit balance on the chain.
    fn balance(&self, org: OrgId) -> Result<i64, crate::PortError>;

    /// Signs and sends a mint at once (outside the outbox: tools, tests and the opening
    /// mint); a definite refusal is an `Err` with code `mirror_refused`.
    fn mint(&self, org: OrgId, amount: Fen, memo: &str) -> Result<String, crate::PortError> {
        let (tx, sent) = self.sign_and_send(MirrorOp::Mint, org, amount, memo, &mut |_| Ok(()))?;
        match sent {
            Submitted::Applied => Ok(tx.reference),
            Submitted::Refused { code, message } => Err(crate::PortError::Refused {
                code: "mirror_refused",
                message: format!("{code}: {message}"),
            }),
        }
    }
}

/// One difference found by [`reconcile`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// Customer.
    pub org: i64,
    /// Money in − money out in the journal, in fen.
    pub journal_fen: i64,
    /// Settlement credits on the chain.
    pub chain_fen: i64,
}

/// Compares, for every customer with money in or out, the journal's net (money in − money
/// out) with its settlement-credit balance on the chain. Empty when they agree.
pub async fn reconcile(
    store: &dyn OpsStore,
    mirror: &dyn SettlementMirror,
) -> Result<(usize, Vec<Difference>), MirrorError> {
    let expected = store.mirror_expected().await?;
    let mut diffs = Vec::new();
    for (org, net) in &expected {
        let chain = mirror.balance(*org).map_err(|e| MirrorError::Ledger {
            instruction: None,
            message: suanli_primitives::error_chain(&e),
        })?;
        if chain != *net {
            diffs.push(Difference {
                org: org.get(),
                journal_fen: *net,
                chain_fen: chain,
            });
        }
    }
    Ok((expected.len(), diffs))
}

/// `[money]` configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MoneyConfig {
    /// Reminder lead times before a prepaid term ends, in seconds.
    pub reminder_leads_secs: Vec<i64>,
    /// How long expired instances are kept before release, in seconds.
    pub expired_retention_secs: i64,
    /// Secret of the sandbox provider's webhook signatures (hex); generated into the
    /// data directory (`sandbox-webhook.key`) when absent.
    pub sandbox_webhook_secret: Option<crate::config::Secret>,
    /// Whether the sandbox payment provider may create balances. Off by default: sandbox
    /// money is not real, yet once credited it buys products and could be withdrawn, so
    /// only test and demo deployments turn it on.
    pub sandbox_payments: bool,
}

impl Default for MoneyConfig {
    fn default() -> Self {
        let l = LifecycleSettings::default();
        Self {
            reminder_leads_secs: l.reminder_leads_secs,
            expired_retention_secs: l.expired_retention_secs,
            sandbox_webhook_secret: None,
            sandbox_payments: false,
        }
    }
}

impl MoneyConfig {
    /// The lifecycle settings.
    pub fn lifecycle(&self) -> LifecycleSettings {
        LifecycleSettings {
            reminder_leads_secs: self.reminder_leads_secs.clone(),
            expired_retention_secs: self.expired_retention_secs,
        }
    }
}

/// Money state shared by the handlers.
#[derive(Debug, Clone)]
pub struct MoneyState {
    /// The payment provider (the sandbox).
    pub provider: Arc<SandboxProvider>,
    /// Whether the sandbox provider is enabled (`[money] sandbox_payments`).
    pub sandbox_enabled: bool,
    /// Lifecycle settings.
    pub lifecycle: LifecycleSettings,
}

/// Loads or creates the sandbox webhook secret under `dir`.
pub fn sandbox_secret(
    dir: &std::path::Path,
    configured: Option<&str>,
) -> Result<Vec<u8>, PaymentError> {
    let not_hex = |place: &str| PaymentError::NotHex {
        place: place.to_owned(),
    };
    if let Some(hexed) = configured {
        return hex::decode(hexed.trim()).map_err(|_| not_hex("sandbox_webhook_secret"));
    }
    let path = dir.join("sandbox-webhook.key");
    let io = |source| PaymentError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(t) => hex::decode(t.trim()).map_err(|_| not_hex(&path.display().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let k = crate::crypto::random_token()?;
            crate::crypto::write_private(&path, k.as_bytes()).map_err(io)?;
            hex::decode(k).map_err(|_| not_hex("the generated key"))
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_signatures_verify_and_reject_tampering() {
        let p = SandboxProvider::new(b"k");
        let body = br#"{"provider_ref":"sbx_1","amount_fen":100,"status":"paid"}"#;
        let sig = p.sign(body);
        assert!(p.verify(body, &sig));
        assert!(!p.verify(b"{}", &sig));
        assert!(!p.verify(body, "zz"));
        assert!(!SandboxProvider::new(b"other").verify(body, &sig));
        assert!(p.is_sandbox());
    }
}
