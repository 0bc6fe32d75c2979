//! `suanli-bridge`: the platform ↔ ledger adapters. The platform (`suanli-platform-http`)
//! defines four ports and does not depend on the chain; this crate implements them over
//! a [`LedgerClient`](suanli_ledger_client::LedgerClient) (an embedded node or a remote
//! one):
//!
//! - [`anchor::LedgerAnchor`] — `AuditAnchor`: anchors the audit-log head on the trade
//!   chain from a worker thread.
//! - [`dids::LedgerDids`] — `DidRegistry`: users' DIDs, created by transactions their own
//!   keys sign.
//! - [`dids::LedgerParties`] — `PartyEnrolment`: KYC credential and trade-chain enrolment
//!   of an approved party, with the genesis operator's key.
//! - [`onboarding::LedgerOnboarding`] — `OnboardingLedger`: suppliers' qualification
//!   credentials verified through the identity chain, trade-chain roles of a DID.
//! - [`supply::LedgerSupply`] — `SupplyLedger`: suppliers' trade modes and offers,
//!   published and withdrawn by transactions their own keys sign.
//! - [`agent_keys::LedgerAgentKeys`] — `AgentKeys`: the trade facts behind the supplier
//!   agent's work orders; also `HostedAgentPort` ([`hosted_agents`]: platform-hosted
//!   agents, and the worker that runs them).
//! - [`mirror::LedgerMirror`] — `SettlementMirror`: each customer's cash mirrored onto its
//!   organisation wallet (mint/burn), compared by `reconcile`.
//! - [`payout::LedgerPayouts`] — `PayoutLedger`: a supplier payout's settlement credits
//!   moved to custody (signed by the supplier's key), then burned or returned.
//! - [`trade_book::LedgerTradeBook`] — `TradeBook`: a supplier DID's trades, check-ins,
//!   ratings and reputation, read from the trade chain (issue 16).
//!
//! - [`trade_ledger::LedgerTrades`] — `TradeLedger`: orders as trades paid from the
//!   organisation's wallet, pre-signed orders checked, a trade's records, ratings,
//!   wallets' members (issue 18, `docs/exchange.md`); [`mirror::LedgerMirror`] mints and
//!   burns into the organisation wallets.
//! - [`channel_key::PlatformChannel`] — the platform's consumer-side channel key and
//!   endpoint, which orders placed on the platform delegate their channel side to
//!   (issue 18).
//! - [`consumer_channels::ConsumerChannels`] — the consumer side of those channels: a
//!   channel controller with that key, listening for the suppliers' agents, opening the
//!   channels of watched trades, countersigning statements, stopping and topping up
//!   (issue 18).
//!
//! [`wiring::PlatformLedger`] opens the ledger a platform writes to (a separate node or
//! an embedded one) and gives the platform these ports.
//!
//! Invariants: every write goes through the client's one idempotent
//! [`commit`](suanli_ledger_client::LedgerClient::commit) — a transaction is signed once,
//! stored by the platform when it must survive a crash, and sent again as the same
//! transaction, never re-signed; a write counts only once committed and applied. Errors
//! are [`BridgeError`]; the ports see them as `PortError` with this error as the source.

// Issue 16, the agent's part.
pub mod agent_keys;
pub mod anchor;
// Issue 18: the platform's consumer-side channel key and endpoint.
pub mod channel_key;
// Issue 18: the platform's consumer side of service channels.
pub mod consumer_channels;
pub mod dids;
pub mod error;
// Issue 16, platform-hosted agents.
pub mod hosted_agents;
pub mod mirror;
pub mod onboarding;
pub mod operator;
// --- payout burns (issue 16, payout helper)
pub mod payout;
// What `suanli serve` runs beside the API (the server and the demo share it).
pub mod services;
// --- supply (issue 16, supply helper)
pub mod supply;
pub mod trade_book; // issue 16, supplier money
// Issue 18, H-trades: the exchange's chain side.
pub mod trade_ledger;
// Issue 18, billing: top-ups, channel notices, channels and bundles for the platform.
pub mod trade_desk;
pub mod wiring;

pub use error::BridgeError;
