//! suanli primitives: the vocabulary every other crate speaks.
//!
//! Owns: typed identifiers ([`ChainId`], [`Hash32`]), money in integer fen ([`Fen`]),
//! Ed25519 keys and their on-disk format ([`keys`]), SHA-256 ([`hash`]), the deterministic
//! versioned binary encoding used for everything that is signed or hashed ([`codec`]) and
//! RFC 6962 Merkle trees with inclusion proofs ([`merkle`]) and the injected
//! clock ([`time`]).
//!
//! Invariants: no I/O except the explicit key-file functions and `SystemClock` (which only
//! the edge constructs and injects); no floating
//! point money. Every encoding is canonical: one value has exactly one byte string, and
//! decoding rejects trailing bytes, so hashes and signatures are stable across machines.
//!
//! Start reading at [`codec`] (the wire format, documented in `docs/ledger-format.md`),
//! then [`keys`] and [`merkle`].

pub mod calendar;
pub mod codec;
pub mod error_text;
pub mod hash;
pub mod ids;
pub mod keys;
pub mod merkle;
pub mod money;
pub mod time;

pub use error_text::error_chain;
pub use hash::{Hash32, sha256};
pub use ids::{ChainId, ChainKind, IdError, NetworkName};
pub use keys::{KeyError, PublicKey, SecretKey, Signature};
pub use money::{Bp, Fen, MoneyError, PositiveFen};
pub use time::{Clock, ManualClock, SystemClock, UnixMs};
