//! `suanli-bench`: the benchmarks behind `suanli bench …`. Each measures the system and,
//! in the same run, a baseline it is compared with (the machines are shared and noisy):
//! [`ledger`] (committed transfers vs Ed25519 verifies), [`market`] (matching and optimal
//! transport), [`vc`] (credential verification), [`trade`] (whole trades through a node),
//! [`api`] (the platform's HTTP API), [`channel`] (service-channel updates), [`exchange`]
//! (pre-signed orders through the API to committed trades) and [`web`]
//! (page timings on a seeded demo instance).
//!
//! This is tooling, not product: it compiles into the `suanli` binary only. The argument
//! structs are clap `Args` so that the CLI flattens them unchanged.

pub mod api;
pub mod channel;
pub mod exchange; // issue 18
pub mod exchange_metering; // issue 18
pub mod exchange_world; // issue 18
pub mod ledger;
pub mod market;
pub mod market_api; // issue 17
pub mod trade;
pub mod vc;
pub mod web;
