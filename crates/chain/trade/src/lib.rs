//! suanli trade: the trade chain's contract and its read side.
//!
//! Owns trade modes and offers, the linked records of a trade (browse → order request →
//! dual-signed contract with the trade-start credential → periodic check-ins with check-in
//! credentials → close → rating, seed 003 §2 and seed 001 §4.2), the escrow of settlement
//! credits that pays for them, and the supplier reputation read from the ratings.
//!
//! Invariants (each enforced by [`contract::TradeContract`], each tested):
//! - only enrolled parties act, and only on their own trades, in their own role; the
//!   operator enrols parties on their KYC credentials from the identity chain;
//! - a trade's records share its serial; check-ins are contiguous, whole minutes, inside
//!   the contract, never in the future, and cost exactly what [`pricing`] says; nothing
//!   follows a close but the single rating, by the consumer;
//! - credits only move between balances: `Σ balances = supply` at every height, and for
//!   every trade `escrow = funded − paid − refunded`;
//! - pure and deterministic like every contract: no I/O, no clock; time is the block's.
//!
//! Service channels (`docs/channel-protocol.md`) live here too: the pure protocol core in
//! [`channel`] (statements, the digest both parties sign, the successor rules the off-chain
//! controller and the chain share) and the [`channel_contract::ChannelContract`], which
//! settles a trade's dual-signed states, disputes and closes through the same escrow and
//! close logic as the trade contract.
//!
//! Suppliers delegate agent keys ([`agents`]: accept, check in, close and run channels for
//! the supplier, revocable) and adopt their own registered CPTs ([`cpts`]: checked against
//! the identity chain's registry at admission, against the built-ins' shape in the
//! contract).
//!
//! Organisations pay from keyless wallets their members order from within limits, and an
//! order can delegate the consumer's channel side to the platform's controller for that
//! trade only ([`wallet`]).
//!
//! Start reading at [`op::TradeOp`], then [`contract`], then [`view`]; money rules are in
//! [`pricing`], the credentials in [`credentials`], the state layout in [`records`] (a
//! record's typed content in [`record_data`]); amounts are `suanli_primitives::money::Fen`;
//! channels at [`channel`], then [`channel_contract`].

pub mod agents;
pub mod bundle;
pub mod channel;
pub mod channel_contract;
pub mod contract;
pub mod cpts;
pub mod credentials;
mod enrolment;
pub mod model;
pub mod op;
pub mod pricing;
pub mod record_data;
pub mod records;
pub mod view;
pub mod wallet;

pub use channel_contract::ChannelContract;
pub use contract::TradeContract;
pub use model::{CloseReason, PartyDid, Resource, Role, Serial};
pub use op::TradeOp;
