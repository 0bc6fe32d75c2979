//! suanli identity: the identity chain's contract and its read side.
//!
//! Owns the `did:suanli` method ([`did`], specified in `docs/did-method.md`), the on-chain
//! DID document history ([`document`]), the identity operations ([`op`]) and the
//! [`contract::IdentityContract`] that executes them (DIDs with key rotation, services and
//! deactivation; the genesis authority and its Authority-Issuer list; the CPT registry;
//! credential status lists), the resource identifiers credentials point at ([`urn`]), and
//! the readers: DID resolution in the Universal Resolver shape and [`view::ChainResolver`],
//! which plugs the chain into the credential verifier of `suanli-vc`.
//!
//! Invariants:
//! - pure and deterministic like every contract: no I/O, no clock; time is the block's;
//! - a DID changes only by a transaction signed with one of its current
//!   capabilityInvocation keys, and never loses its last one (deactivate instead);
//! - every DID version is kept: resolution at a past time sees the keys valid then;
//! - CPT versions are immutable once published; only their publisher adds versions;
//!   qualification CPTs need the genesis authority or an admitted issuer;
//! - revocation is permanent; suspension is reversible.
//!
//! Start reading at [`op::IdentityOp`], then [`contract`], then [`view`].

pub mod contract;
pub mod cpt;
pub mod did;
pub mod document;
pub mod keys;
pub mod op;
pub mod op_json;
pub mod records;
pub mod urn;
pub mod view;

pub use contract::{IdentityContract, StateRead};
pub use did::{DidError, DidId, Fragment, InvalidValue, SuanliDid};
pub use op::IdentityOp;
pub use view::{ChainResolver, ResolveError, VersionSelector, resolve};
