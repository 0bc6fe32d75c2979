//! Custodial DID keys (`docs/key-custody.md`).
//!
//! Every self-registered user gets an Ed25519 key at registration (a user whose password
//! someone else set — an operator-created administrator, a sub-user — gets one at their
//! first password change, so the key is only ever encrypted under a password the user
//! alone chose). The key's PKCS#8 v1 PEM is sealed with XChaCha20-Poly1305 under a 256-bit
//! key derived from the password by argon2id with a per-key random 16-byte salt and the
//! parameters stored beside it ([`SealedKey`]); the AEAD's associated data binds the
//! ciphertext to the key's public key. The server holds no other copy: without the
//! password nobody — operator included — can decrypt it.
//!
//! The secret is decrypted only inside the request that needs it (registration, password
//! change, export, and signing a chain record) and dropped — zeroed — at the end of it:
//! the derived key and the PEM are [`Zeroizing`], `SecretKey` zeroes itself on drop.
//!
//! The key's DID is created on the identity chain through [`DidRegistry`], which the
//! binary implements on its ledger node (this crate does not depend on the chain crates):
//! the `create` transaction is signed with the new key while it is in memory, stored with
//! the key (an outbox, like the settlement mirror's) and sent by [`pump_dids`], so a
//! chain that is down delays the DID and loses nothing.

use crate::AppState;
use crate::auth::Authed;
use crate::config::Argon2Config;
use crate::error::ApiResult;
use crate::http::ApiJson;
use crate::payment::SignedTx;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use suanli_platform_domain::clock::Clock;
use suanli_platform_store::{NewUserKey, OpsStore, SealedKey, UserKeyRecord};
use suanli_primitives::{PublicKey, SecretKey};
use zeroize::Zeroizing;

/// Name of the key-derivation function recorded with every sealed key.
pub const KDF_ARGON2ID: &str = "argon2id-v19";
/// Domain tag of the AEAD's associated data (followed by the 32-byte public key).
pub const KEY_AAD_DOMAIN: &[u8] = b"suanli/user-key/v1";
/// Bytes of the argon2id salt.
pub const KDF_SALT_BYTES: usize = 16;
/// Bytes of the XChaCha20-Poly1305 nonce.
pub const NONCE_BYTES: usize = 24;
/// Most key derivations running at once: each holds `[key_wrap] memory_kib` of memory,
/// so a burst of registrations or exports cannot exhaust the server's memory.
pub const KEY_DERIVATIONS_CONCURRENT_MAX: usize = 2;
/// Most pending DID transactions sent per [`pump_dids`] page.
pub const DID_PAGE_MAX: u32 = 100;

/// Key-custody failures. None carries secret material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The password does not open the key (wrong password, or the stored key was altered).
    #[error("the password does not open the key")]
    Unlock,
    /// The derivation parameters are not usable.
    #[error("key derivation parameters: {0}")]
    Params(String),
    /// The OS random source failed.
    #[error("random source failed")]
    Random,
    /// The stored key or its record is malformed.
    #[error("stored key is malformed: {0}")]
    Malformed(String),
    /// Key generation or encoding failed.
    #[error("key: {0}")]
    Key(String),
    /// The DID registry could not sign the DID-creating transaction.
    #[error("DID registry")]
    Registry(#[from] crate::PortError),
}

/// Creates `did:suanli` DIDs on the identity chain. Implemented by the binary on its
/// ledger node; the platform runs without one in tests (keys are then created without a
/// DID).
pub trait DidRegistry: Send + Sync + std::fmt::Debug {
    /// The DID that `key` creates (derived from the key and the chain's network).
    fn did_of(&self, key: &PublicKey) -> String;
    /// Signs, without sending, the identity-chain transaction that creates that DID.
    fn sign_create(&self, key: &SecretKey) -> Result<SignedTx, crate::PortError>;
    /// Makes sure `tx` is applied: done if it already was, otherwise submits it (again)
    /// and waits for it. Safe to repeat.
    fn send(&self, tx: &SignedTx) -> Result<(), crate::PortError>;
}

/// Seals and opens user keys with bounded concurrency.
#[derive(Debug, Clone)]
pub struct Custody {
    params: Argon2Config,
    gate: Arc<tokio::sync::Semaphore>,
}

fn aad(public: &PublicKey) -> Vec<u8> {
    let mut v = KEY_AAD_DOMAIN.to_vec();
    v.extend_from_slice(public.as_bytes());
    v
}

fn derive(
    password: &[u8],
    salt: &[u8],
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let params = argon2::Params::new(memory_kib, iterations, parallelism, Some(32))
        .map_err(|e| KeyError::Params(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(password, salt, out.as_mut())
        .map_err(|e| KeyError::Params(e.to_string()))?;
    Ok(out)
}

/// Seals `key` under `password` with `params` (blocking: runs argon2id).
pub fn seal_blocking(
    params: Argon2Config,
    password: &str,
    key: &SecretKey,
) -> Result<SealedKey, KeyError> {
    let mut salt = [0u8; KDF_SALT_BYTES];
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut salt).map_err(|_| KeyError::Random)?;
    getrandom::fill(&mut nonce).map_err(|_| KeyError::Random)?;
    let kek = derive(
        password.as_bytes(),
        &salt,
        params.memory_kib,
        params.iterations,
        params.parallelism,
    )?;
    let pem = Zeroizing::new(key.to_pem().map_err(|e| KeyError::Key(e.to_string()))?);
    let aead = XChaCha20Poly1305::new(kek.as_ref().into());
    let ciphertext = aead
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: pem.as_bytes(),
                aad: &aad(&key.public()),
            },
        )
        .map_err(|_| KeyError::Key("encryption failed".into()))?;
    Ok(SealedKey {
        ciphertext,
        nonce: nonce.to_vec(),
        kdf_salt: salt.to_vec(),
        kdf: KDF_ARGON2ID.into(),
        kdf_memory_kib: params.memory_kib,
        kdf_iterations: params.iterations,
        kdf_parallelism: params.parallelism,
    })
}

/// Opens a sealed key with `password` (blocking: runs argon2id with the stored
/// parameters) and checks it is the key of `public_hex`.
pub fn open_blocking(
    password: &str,
    sealed: &SealedKey,
    public_hex: &str,
) -> Result<SecretKey, KeyError> {
    if sealed.kdf != KDF_ARGON2ID {
        return Err(KeyError::Malformed(format!("unknown kdf {:?}", sealed.kdf)));
    }
    if sealed.nonce.len() != NONCE_BYTES || sealed.kdf_salt.len() != KDF_SALT_BYTES {
        return Err(KeyError::Malformed("nonce or salt length".into()));
    }
    let public = PublicKey::from_hex(public_hex).map_err(|e| KeyError::Malformed(e.to_string()))?;
    let kek = derive(
        password.as_bytes(),
        &sealed.kdf_salt,
        sealed.kdf_memory_kib,
        sealed.kdf_iterations,
        sealed.kdf_parallelism,
    )?;
    let aead = XChaCha20Poly1305::new(kek.as_ref().into());
    let pem = Zeroizing::new(
        aead.decrypt(
            XNonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: &aad(&public),
            },
        )
        .map_err(|_| KeyError::Unlock)?,
    );
    let text = std::str::from_utf8(&pem).map_err(|_| KeyError::Malformed("not PEM".into()))?;
    let key = SecretKey::from_pem(text).map_err(|e| KeyError::Malformed(e.to_string()))?;
    if key.public() != public {
        return Err(KeyError::Malformed(
            "key does not match its public key".into(),
        ));
    }
    Ok(key)
}

impl Custody {
    /// Custody with argon2id parameters `params` (checked now).
    pub fn new(params: Argon2Config) -> Result<Self, KeyError> {
        argon2::Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(32),
        )
        .map_err(|e| KeyError::Params(e.to_string()))?;
        Ok(Self {
            params,
            gate: Arc::new(tokio::sync::Semaphore::new(KEY_DERIVATIONS_CONCURRENT_MAX)),
        })
    }

    /// The parameters new keys are sealed with.
    pub fn params(&self) -> Argon2Config {
        self.params
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, KeyError> + Send + 'static,
    ) -> Result<T, KeyError> {
        let _permit = self
            .gate
            .acquire()
            .await
            .map_err(|_| KeyError::Key("custody closed".into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| KeyError::Key("key task failed".into()))?
    }

    /// Generates a key, signs its DID-creating transaction (when a registry is attached)
    /// and seals it under `password`. The secret leaves memory when this returns.
    pub async fn create(
        &self,
        password: &str,
        registry: Option<&Arc<dyn DidRegistry>>,
        at_ms: i64,
    ) -> Result<NewUserKey, KeyError> {
        let params = self.params;
        let password = Zeroizing::new(password.to_owned());
        let registry = registry.cloned();
        self.blocking(move || {
            let key = SecretKey::generate().map_err(|e| KeyError::Key(e.to_string()))?;
            let public = key.public();
            let (did, did_tx) = match &registry {
                Some(r) => {
                    let tx = r.sign_create(&key)?;
                    (
                        Some(r.did_of(&public)),
                        Some((tx.reference, tx.encoded_hex)),
                    )
                }
                None => (None, None),
            };
            let sealed = seal_blocking(params, &password, &key)?;
            Ok(NewUserKey {
                did,
                public_key: public.to_hex(),
                sealed,
                at_ms,
                did_tx,
            })
        })
        .await
    }

    /// Opens `stored` with `old` and seals it again under `new` (same key, new salt and
    /// nonce, current parameters).
    pub async fn rewrap(
        &self,
        stored: &UserKeyRecord,
        old: &str,
        new: &str,
        at_ms: i64,
    ) -> Result<NewUserKey, KeyError> {
        let params = self.params;
        let (old, new) = (
            Zeroizing::new(old.to_owned()),
            Zeroizing::new(new.to_owned()),
        );
        let stored = stored.clone();
        self.blocking(move || {
            let key = open_blocking(&old, &stored.sealed, &stored.public_key)?;
            let sealed = seal_blocking(params, &new, &key)?;
            Ok(NewUserKey {
                did: stored.did,
                public_key: stored.public_key,
                sealed,
                at_ms,
                did_tx: None,
            })
        })
        .await
    }

    /// Opens `stored` with `password` and returns its PKCS#8 v1 PEM.
    pub async fn export_pem(
        &self,
        stored: &UserKeyRecord,
        password: &str,
    ) -> Result<Zeroizing<String>, KeyError> {
        let password = Zeroizing::new(password.to_owned());
        let stored = stored.clone();
        self.blocking(move || {
            let key = open_blocking(&password, &stored.sealed, &stored.public_key)?;
            key.to_pem()
                .map(Zeroizing::new)
                .map_err(|e| KeyError::Key(e.to_string()))
        })
        .await
    }
}

/// Why a pass of [`pump_dids`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum DidPumpError {
    /// The operations store failed.
    #[error("store: {0}")]
    Store(#[from] suanli_platform_store::StoreError),
    /// The identity chain refused the transaction or could not be reached.
    #[error("identity chain: {0}")]
    Chain(#[source] crate::PortError),
    /// The task that sent the transaction panicked or was cancelled.
    #[error("the sending task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Sends every stored, not yet applied DID-creating transaction through `registry`,
/// oldest user first; records each applied one. Returns how many were applied; stops at
/// the first failure (the rest stay pending for the next pass).
pub async fn pump_dids(
    store: &dyn OpsStore,
    registry: &Arc<dyn DidRegistry>,
    clock: &dyn Clock,
) -> Result<u64, DidPumpError> {
    let mut applied = 0u64;
    loop {
        let page = store.dids_pending(DID_PAGE_MAX).await?;
        if page.is_empty() {
            return Ok(applied);
        }
        for k in page {
            let Some((reference, encoded_hex)) = k.did_tx.clone() else {
                continue;
            };
            let r = Arc::clone(registry);
            let tx = SignedTx {
                reference,
                encoded_hex,
            };
            let sent = tokio::task::spawn_blocking(move || r.send(&tx)).await?;
            sent.map_err(DidPumpError::Chain)?;
            store.set_did_created(k.user, clock.now_unix_ms()).await?;
            applied += 1;
            tracing::info!(user_id = k.user.get(), did = ?k.did, "DID created on the identity chain");
        }
    }
}

// ---------------------------------------------------------------- endpoints

/// What the platform tells users about their key (the key page shows it).
pub const SIGNING_NOTE: &str = "Every record you make on the chain is signed with this key. \
The platform keeps it encrypted under your password and decrypts it only while a request of \
yours that needs it runs; without your password nobody, the operator included, can use it.";

fn key_view(k: &UserKeyRecord) -> Value {
    json!({
        "did": k.did,
        "public_key": k.public_key,
        "created_ms": k.created_ms,
        "rewrapped_ms": k.rewrapped_ms,
        "did_on_chain": k.did_created_ms.is_some(),
        "did_created_ms": k.did_created_ms,
        "encryption": {
            "aead": "XChaCha20-Poly1305",
            "kdf": k.sealed.kdf,
            "memory_kib": k.sealed.kdf_memory_kib,
            "iterations": k.sealed.kdf_iterations,
            "parallelism": k.sealed.kdf_parallelism,
        },
        "signing": SIGNING_NOTE,
    })
}

/// `GET /api/v1/me/key` — the caller's DID, public key and how the secret is kept.
pub async fn get_my_key(State(s): State<AppState>, a: Authed) -> ApiResult<Json<Value>> {
    let k = crate::service::keys::mine_or_none(&s, &a).await?;
    Ok(Json(json!({ "key": key_view(&k) })))
}

/// Export request: the password again.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportReq {
    password: String,
}

/// Redacts the secret fields.
impl std::fmt::Debug for ExportReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportReq")
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `POST /api/v1/me/key/export` — the caller's secret key as PKCS#8 v1 PEM. Needs a
/// logged-in session and the password again; a wrong password counts like a failed login
/// (account lock, per-address throttling). Audited (the audit record holds method, path
/// and outcome, never the body); the answer is marked `Cache-Control: no-store`.
pub async fn export_my_key(
    State(s): State<AppState>,
    a: Authed,
    client: Option<axum::Extension<crate::http::Client>>,
    ApiJson(r): ApiJson<ExportReq>,
) -> ApiResult<Response> {
    let ip = client.map(|c| c.ip.clone()).unwrap_or_default();
    let x = crate::service::keys::export(&s, &a, &ip, r.password).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let body = json!({
        "did": x.did,
        "public_key": x.public_key,
        "pkcs8_pem": x.pkcs8_pem.as_str(),
    });
    Ok((headers, Json(body)).into_response())
}

/// How long the DID worker waits before retrying after a failure, in seconds.
pub const DID_RETRY_SECS: u64 = 10;

/// Runs [`pump_dids`] at start and whenever `kick` is notified (a new key was stored),
/// retrying after [`DID_RETRY_SECS`] when the chain refused or could not be reached.
/// Runs until the runtime stops.
pub async fn did_worker(
    store: Arc<dyn OpsStore>,
    registry: Arc<dyn DidRegistry>,
    clock: Arc<dyn Clock>,
    kick: Arc<tokio::sync::Notify>,
) {
    loop {
        let wait = match pump_dids(store.as_ref(), &registry, clock.as_ref()).await {
            Ok(_) => None,
            Err(e) => {
                let error = suanli_primitives::error_chain(&e);
                tracing::warn!(%error, "creating DIDs on the identity chain failed; will retry");
                Some(std::time::Duration::from_secs(DID_RETRY_SECS))
            }
        };
        match wait {
            None => kick.notified().await,
            Some(d) => {
                let _ = tokio::time::timeout(d, kick.notified()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Config = Argon2Config {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn seal_open_round_trip_and_refusals() {
        let key = SecretKey::from_label("custody/test");
        let public = key.public().to_hex();
        let sealed = seal_blocking(CHEAP, "correct horse battery", &key).unwrap_or_else(|e| {
            panic!("{e}");
        });
        assert_eq!(
            (sealed.nonce.len(), sealed.kdf_salt.len()),
            (NONCE_BYTES, KDF_SALT_BYTES)
        );
        let pem = key.to_pem().unwrap_or_default();
        assert!(
            !sealed
                .ciphertext
                .windows(16)
                .any(|w| pem.as_bytes().windows(16).any(|p| p == w)),
            "ciphertext carries no PEM text"
        );
        let opened = open_blocking("correct horse battery", &sealed, &public)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opened.seed(), key.seed());
        assert!(matches!(
            open_blocking("wrong horse battery", &sealed, &public),
            Err(KeyError::Unlock)
        ));
        // Bound to its public key: moved to another user's row it does not open.
        let other = SecretKey::from_label("custody/other").public().to_hex();
        assert!(matches!(
            open_blocking("correct horse battery", &sealed, &other),
            Err(KeyError::Unlock)
        ));
        // Every byte of ciphertext, nonce and salt is covered.
        for field in 0..3 {
            let len = [sealed.ciphertext.len(), NONCE_BYTES, KDF_SALT_BYTES][field];
            for i in 0..len {
                let mut bad = sealed.clone();
                match field {
                    0 => bad.ciphertext[i] ^= 1,
                    1 => bad.nonce[i] ^= 1,
                    _ => bad.kdf_salt[i] ^= 1,
                }
                assert!(
                    open_blocking("correct horse battery", &bad, &public).is_err(),
                    "field {field} byte {i}"
                );
            }
        }
        // Stored parameters are used, not the current ones: a changed parameter fails.
        let mut other_params = sealed.clone();
        other_params.kdf_iterations = 2;
        assert!(open_blocking("correct horse battery", &other_params, &public).is_err());
        let mut unknown = sealed;
        unknown.kdf = "scrypt".into();
        assert!(matches!(
            open_blocking("correct horse battery", &unknown, &public),
            Err(KeyError::Malformed(_))
        ));
        // Two seals of one key differ (fresh salt and nonce).
        let a = seal_blocking(CHEAP, "pw-one-two-three", &key).unwrap_or_else(|e| panic!("{e}"));
        let b = seal_blocking(CHEAP, "pw-one-two-three", &key).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a.kdf_salt, b.kdf_salt);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn bad_parameters_are_refused_up_front() {
        assert!(
            Custody::new(Argon2Config {
                memory_kib: 1,
                iterations: 1,
                parallelism: 1,
            })
            .is_err()
        );
        assert!(Custody::new(CHEAP).is_ok());
    }
}
