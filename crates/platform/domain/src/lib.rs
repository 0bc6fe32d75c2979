//! suanli-platform-domain: the operations-platform domain, pure and deterministic.
//!
//! Owns: typed ids ([`ids`]), organisation kinds and states ([`org`]), roles and
//! permissions as described in seeds 002/004 ([`role`]), the authorisation policy that
//! decides who may see and change what ([`authz`]), validation of real-name registration
//! data — unified social credit codes (GB 32100-2015) and resident ID numbers
//! (GB 11643-1999) — ([`validate`]), the password and login-lockout policies
//! ([`security`]), the hash-chained audit record ([`audit`]) and the injected [`clock`].
//!
//! Money (docs/money.md): integer fen and basis points plus the CST calendar ([`money`]),
//! the double-entry journal with its accounts, funding order (cash → voucher → credit) and
//! balanced-transaction builders ([`journal`]), catalogue pricing strategies, discounts,
//! coupons and the quote with its precedence and stacking rule ([`pricing`]), prorated
//! refunds and the split of money back to its sources ([`proration`]), and the instance
//! lifecycle with pay-as-you-go metering behind the [`instance::UsageSource`] interface
//! ([`instance`]). The rules of order operations — coupon eligibility, the plan of a
//! purchase (price, funding order, shares), renewal checks, the price of a change of spec,
//! where refunds go — are pure functions in [`orders`]; every money refusal is a typed
//! [`rejection::MoneyRejection`] with a stable code.
//!
//! Invariants: no I/O, no clock reads, no randomness. Every value that crosses a layer is a
//! newtype whose constructor enforces its invariants; authorisation decisions are plain
//! functions of a [`authz::Principal`] and the target's attributes, so list filters and
//! by-id checks come from the same [`authz::OrgVisibility`] and cannot disagree.
//!
//! Start reading at [`role`] (the role → permission table), then [`authz`]; for money,
//! [`journal`], then [`pricing`] and [`proration`].

pub mod audit;
pub mod authz;
pub mod clock;
pub mod ids;
pub mod instance;
pub mod journal;
pub mod money;
pub mod orders;
pub mod org;
pub mod pricing;
pub mod proration;
pub mod rejection;
pub mod role;
pub mod security;
pub mod supply;
pub mod throttle;
// Orders of supplier offers as trades on the trade chain (issue 18).
pub mod trades;
// Bills of trades from the chain's check-ins (issue 18, billing).
pub mod trade_bills;
pub mod validate;

pub use authz::{OrgVisibility, Principal};
pub use clock::{Clock, ManualClock};
pub use ids::{
    InstanceId, JournalTxId, OrderId, OrgId, ProductId, RegistrationId, SpecId, TokenId, UserId,
};
pub use org::{OrgKind, OrgStatus};
pub use role::{Permission, Role};
