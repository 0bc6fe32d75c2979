//! The supply side's rules (issue 16, `docs/supply.md`): supplier onboarding, resources
//! with the market's typed attributes, trade modes and offers with their listing review,
//! provisioning work orders, agreements, settlement statements and payouts. Pure and
//! deterministic, like the rest of the domain: no I/O, no clock reads.
pub mod onboarding;

pub mod catalog;
pub mod settlement;

pub mod work_orders;
