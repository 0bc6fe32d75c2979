//! The crate's one error type.

/// Everything that can go wrong in this crate. Variants are precise so that callers (the
/// verifier, the HTTP edge) can map each to a stable code without parsing messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VcError {
    #[error("JSON canonicalisation (RFC 8785) failed: {0}")]
    Canonicalization(String),
    #[error("multibase: {0}")]
    Multibase(String),
    #[error("multikey: {0}")]
    Multikey(String),
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
    #[error("invalid DID: {0}")]
    InvalidDid(String),
    #[error("DID method not supported here: {0}")]
    DidMethodNotSupported(String),
    #[error("invalid XML Schema dateTime {0:?}: {1}")]
    InvalidDateTime(String, &'static str),
    #[error("time {0} ms is outside the representable range (1970 to 9999)")]
    TimeOutOfRange(u64),
    #[error("document has no proof")]
    ProofMissing,
    #[error("malformed proof: {0}")]
    ProofMalformed(String),
    #[error("unsupported proof type {0:?} (expected DataIntegrityProof)")]
    UnsupportedProofType(String),
    #[error("unsupported cryptosuite {0:?} (expected eddsa-jcs-2022)")]
    UnsupportedCryptosuite(String),
    #[error("proofValue is not a base58btc multibase Ed25519 signature: {0}")]
    ProofValueEncoding(String),
    #[error("the proof's @context is not a prefix of the document's @context")]
    ProofContextMismatch,
    #[error("signature does not verify")]
    SignatureInvalid,
    #[error("{what} is {bytes} bytes, more than the limit of {max_bytes}")]
    TooLarge {
        what: &'static str,
        bytes: usize,
        max_bytes: usize,
    },
    #[error("{what}: {count} items, more than the limit of {max}")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("malformed document: {0}")]
    MalformedDocument(String),
    #[error("status list: {0}")]
    StatusList(String),
    #[error("status list index {index} is outside a list of {bits} bits")]
    StatusIndexOutOfRange { index: u64, bits: u64 },
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
    #[error("claims violate the schema at {path:?}: {message}")]
    ClaimsViolateSchema { path: String, message: String },
}
