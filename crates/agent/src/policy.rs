//! The acceptance policy: which orders the agent accepts on its own and which it leaves
//! to the supplier. Pure: the decision depends only on the policy and the order.

use serde::Serialize;

/// Automatic acceptance limits: an order is accepted on its own only if it is within
/// every one of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Most units one order may take.
    pub max_units: u32,
    /// Longest order, in minutes.
    pub max_minutes: u64,
    /// Largest order value (the escrow the consumer put up), in fen.
    pub max_value_fen: i64,
    /// The offers whose orders may be accepted automatically (empty: every offer).
    pub offers: Vec<u64>,
}

/// How the agent accepts orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Policy {
    /// Accept orders within the limits; leave the others to the supplier.
    Auto(Limits),
    /// Leave every order to the supplier (approved or declined in the console).
    Manual,
}

/// The facts of an order the policy looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFacts {
    /// The offer ordered from.
    pub offer_id: u64,
    /// Units ordered.
    pub units: u32,
    /// Minutes ordered.
    pub minutes: u64,
    /// Value escrowed with the order, in fen.
    pub value_fen: i64,
}

/// What to do with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Accept it now.
    Accept,
    /// Leave it to the supplier, for this reason.
    Manual(ManualReason),
}

/// Why an order is left to the supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualReason {
    /// The policy is manual.
    Policy,
    /// The offer is not one the agent accepts on its own.
    Offer,
    /// More units than `max_units`.
    Units,
    /// Longer than `max_minutes`.
    Minutes,
    /// Worth more than `max_value_fen`.
    Value,
}

impl ManualReason {
    /// Stable text (logs).
    pub fn as_str(self) -> &'static str {
        match self {
            ManualReason::Policy => "manual_policy",
            ManualReason::Offer => "offer_not_automatic",
            ManualReason::Units => "above_max_units",
            ManualReason::Minutes => "above_max_minutes",
            ManualReason::Value => "above_max_value",
        }
    }
}

/// A policy as written by a person (the configuration file's `[policy]`, the platform's
/// hosted-agent form), before its checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyDraft {
    /// `auto` or `manual`.
    pub mode: String,
    /// See [`Limits::max_units`]; required with `auto`, absent with `manual`.
    pub max_units: Option<u32>,
    /// See [`Limits::max_minutes`].
    pub max_minutes: Option<u64>,
    /// See [`Limits::max_value_fen`].
    pub max_value_fen: Option<i64>,
    /// See [`Limits::offers`] (absent: every offer).
    pub offers: Option<Vec<u64>>,
}

/// Why a [`PolicyDraft`] is refused: the field (`policy`, `policy.mode`,
/// `policy.max_units`, …) and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PolicyError {
    /// The field, as the configuration file names it.
    pub field: String,
    /// What it must be.
    pub message: String,
}

fn refused(field: &str, message: impl std::fmt::Display) -> PolicyError {
    PolicyError {
        field: field.to_owned(),
        message: message.to_string(),
    }
}

impl Policy {
    /// Checks a draft: `manual` takes no limits; `auto` needs `max_units`, `max_minutes`
    /// and `max_value_fen`, all positive; offer ids start at 1.
    pub fn from_draft(p: PolicyDraft) -> Result<Policy, PolicyError> {
        match p.mode.as_str() {
            "manual" => {
                if p.max_units.is_some() || p.max_minutes.is_some() || p.max_value_fen.is_some() {
                    return Err(refused("policy", "a manual policy takes no limits"));
                }
                Ok(Policy::Manual)
            }
            "auto" => {
                let need =
                    |f: &str| refused(&format!("policy.{f}"), "required with mode = \"auto\"");
                let max_units = p.max_units.ok_or_else(|| need("max_units"))?;
                let max_minutes = p.max_minutes.ok_or_else(|| need("max_minutes"))?;
                let max_value_fen = p.max_value_fen.ok_or_else(|| need("max_value_fen"))?;
                if max_units == 0 || max_minutes == 0 || max_value_fen <= 0 {
                    return Err(refused(
                        "policy",
                        "max_units, max_minutes and max_value_fen must be positive",
                    ));
                }
                let offers = p.offers.unwrap_or_default();
                if offers.contains(&0) {
                    return Err(refused("policy.offers", "offer ids start at 1"));
                }
                Ok(Policy::Auto(Limits {
                    max_units,
                    max_minutes,
                    max_value_fen,
                    offers,
                }))
            }
            other => Err(refused(
                "policy.mode",
                format!("\"auto\" or \"manual\", not {other:?}"),
            )),
        }
    }

    /// The decision for `order`.
    pub fn decide(&self, order: &OrderFacts) -> Decision {
        let Policy::Auto(l) = self else {
            return Decision::Manual(ManualReason::Policy);
        };
        let reason = if !l.offers.is_empty() && !l.offers.contains(&order.offer_id) {
            ManualReason::Offer
        } else if order.units > l.max_units {
            ManualReason::Units
        } else if order.minutes > l.max_minutes {
            ManualReason::Minutes
        } else if order.value_fen > l.max_value_fen {
            ManualReason::Value
        } else {
            return Decision::Accept;
        };
        Decision::Manual(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(offer_id: u64, units: u32, minutes: u64, value_fen: i64) -> OrderFacts {
        OrderFacts {
            offer_id,
            units,
            minutes,
            value_fen,
        }
    }

    #[test]
    fn auto_accepts_exactly_within_every_limit() {
        let p = Policy::Auto(Limits {
            max_units: 4,
            max_minutes: 600,
            max_value_fen: 10_000,
            offers: vec![1, 2],
        });
        assert_eq!(p.decide(&order(1, 4, 600, 10_000)), Decision::Accept);
        let cases = [
            (order(3, 1, 60, 100), ManualReason::Offer),
            (order(2, 5, 60, 100), ManualReason::Units),
            (order(2, 1, 601, 100), ManualReason::Minutes),
            (order(2, 1, 60, 10_001), ManualReason::Value),
        ];
        for (o, why) in cases {
            assert_eq!(p.decide(&o), Decision::Manual(why), "{o:?}");
        }
        let any_offer = Policy::Auto(Limits {
            max_units: 4,
            max_minutes: 600,
            max_value_fen: 10_000,
            offers: vec![],
        });
        assert_eq!(any_offer.decide(&order(99, 1, 1, 1)), Decision::Accept);
        assert_eq!(
            Policy::Manual.decide(&order(1, 1, 1, 1)),
            Decision::Manual(ManualReason::Policy)
        );
    }
}
