//! suanli-vc: W3C decentralised identifiers and verifiable credentials, as pure functions.
//!
//! Owns: JCS canonicalisation ([`jcs`]), multibase/Multikey encodings ([`multibase`],
//! [`multikey`]), DID URL syntax ([`did`]) and the `did:key` method ([`did_key`]), Data
//! Integrity proofs with the `eddsa-jcs-2022` cryptosuite ([`proof`]), XML Schema dateTime
//! ↔ Unix ms ([`time`]), VC Data Model 2.0 credentials and presentations ([`credential`],
//! [`presentation`]), the verifier that reports every check separately ([`verify`]),
//! Bitstring Status List helpers ([`status_list`]) and CPT schema templates ([`cpt`]).
//!
//! Invariants:
//! - No I/O, no clock reads, no randomness: times are parameters (Unix ms), and every
//!   lookup (keys valid at a time, schemas, status bits) goes through a trait the caller
//!   implements ([`verify::KeyResolver`], [`verify::SchemaResolver`],
//!   [`verify::StatusResolver`]).
//! - Proofs are plain `eddsa-jcs-2022`: nothing suanli-specific is needed to check one, so
//!   any conforming verifier accepts our credentials (the W3C test vectors pass, and
//!   `tests/interop.rs` verifies with an independent minimal implementation).
//! - Results never depend on hidden state. The only shared state is a bounded memo of
//!   compiled CPT schemas ([`cpt`]); `jsonschema` seeds its internal hash maps from the OS,
//!   so which violation is reported is chosen by a fixed order, not the validator's.
//! - Every input is bounded by a named constant (`CREDENTIAL_BYTES_MAX`,
//!   `PRESENTATION_BYTES_MAX`, `PRESENTATION_CREDENTIALS_MAX`, `SCHEMA_BYTES_MAX`,
//!   `STATUS_LIST_BYTES_MAX`, …); no panics on input.
//!
//! Start reading at [`proof`] (the cryptosuite), then [`credential`] and [`verify`].

pub mod cpt;
pub mod credential;
pub mod did;
pub mod did_key;
mod error;
pub mod jcs;
pub mod multibase;
pub mod multikey;
pub mod presentation;
pub mod proof;
pub mod status_list;
pub mod time;
pub mod verify;

pub use credential::{
    CredentialDraft, SchemaRef, StatusPurpose, StatusRef, issue, issue_with_schema,
};
pub use did_key::DidKey;
pub use error::VcError;
pub use multikey::{decode_ed25519_multikey, encode_ed25519_multikey};
pub use presentation::present;
pub use proof::{ProofInfo, ProofOptions, ProofPurpose, add_proof, proof_info, verify_proof};
pub use verify::{
    ChainedResolver, CheckName, CheckOutcome, DidKeyResolver, KeyResolver, LookupError,
    SchemaResolver, StatusResolver, VerificationReport, Verifier,
};
