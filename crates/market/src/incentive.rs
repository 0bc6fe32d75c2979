//! Multi-dimensional incentives: the published platform policy that adjusts price-time
//! priority in favour of greener, more efficient, public-good-friendly and better-rated
//! supply.
//!
//! Each offer gets a score in basis points (0..=10,000): the weighted mean of five
//! normalised dimensions ([`Dimension`]), each in `[0, 1]`. The score lowers the offer's
//! *ranking* price by up to `strength_bp` basis points:
//!
//! ```text
//! adjusted_millifen = price_fen_per_min * 1000 * (10_000 - strength_bp * score_bp / 10_000) / 10_000
//! ```
//!
//! The adjusted price orders the book only; a trade is always paid at the offer's own
//! price. With `strength_bp = 0` ranking is plain price-time priority. Scores are integer
//! and computed once per offer when it enters the book, so ranking is exact and
//! reproducible.

use serde::Serialize;

use crate::MarketError;
use crate::attrs::Offer;

/// Largest allowed incentive strength: the score can move the ranking price by at most
/// half.
pub const STRENGTH_MAX_BP: u32 = 5000;

/// The incentive dimensions, in publication order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// `1 - carbon_g_per_kwh / 1000`, clamped to `[0, 1]`.
    LowCarbon,
    /// `green_share`.
    GreenEnergy,
    /// Mean of `clamp(2 - pue, 0, 1)` and `utilisation`.
    PowerUtilisation,
    /// `min(public_good_discount_pct / 50, 1)`.
    PublicGood,
    /// `reputation / 5`.
    Reputation,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::LowCarbon,
        Dimension::GreenEnergy,
        Dimension::PowerUtilisation,
        Dimension::PublicGood,
        Dimension::Reputation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::LowCarbon => "low_carbon",
            Dimension::GreenEnergy => "green_energy",
            Dimension::PowerUtilisation => "power_utilisation",
            Dimension::PublicGood => "public_good",
            Dimension::Reputation => "reputation",
        }
    }

    /// The dimension's normalised value for an offer, in `[0, 1]`.
    #[inline]
    pub fn normalised(self, offer: &Offer) -> f64 {
        let s = offer.spec();
        let v = match self {
            Dimension::LowCarbon => 1.0 - s.carbon_g_per_kwh / 1000.0,
            Dimension::GreenEnergy => s.green_share,
            Dimension::PowerUtilisation => {
                0.5 * (2.0 - s.pue).clamp(0.0, 1.0) + 0.5 * s.utilisation
            }
            Dimension::PublicGood => f64::from(s.public_good_discount_pct) / 50.0,
            Dimension::Reputation => s.reputation / crate::attrs::REPUTATION_MAX,
        };
        v.clamp(0.0, 1.0)
    }
}

/// Published incentive policy: one weight per dimension and a strength.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncentivePolicy {
    weights: [f64; 5],
    strength_bp: u32,
}

/// One dimension's part in an offer's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimScore {
    pub dimension: Dimension,
    /// Normalised value in `[0, 1]`.
    pub value: f64,
    /// Published weight (normalised so weights sum to 1).
    pub weight: f64,
    /// `value * weight`, in basis points of the total score.
    pub contribution_bp: f64,
}

/// An offer's full score, as `explain` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreBreakdown {
    pub dimensions: Vec<DimScore>,
    pub score_bp: u32,
    pub price_fen_per_min: i64,
    pub adjusted_millifen_per_min: i64,
}

impl Default for IncentivePolicy {
    /// The default published policy: low carbon 0.25, green energy 0.25, power
    /// utilisation 0.15, public good 0.10, reputation 0.25; strength 1500 bp (the best
    /// possible offer ranks as if 15 % cheaper).
    fn default() -> Self {
        IncentivePolicy {
            weights: [0.25, 0.25, 0.15, 0.10, 0.25],
            strength_bp: 1500,
        }
    }
}

impl IncentivePolicy {
    /// A policy with the given weights (in [`Dimension::ALL`] order) and strength.
    pub fn new(weights: [f64; 5], strength_bp: u32) -> Result<Self, MarketError> {
        if strength_bp > STRENGTH_MAX_BP {
            return Err(MarketError::Policy(format!(
                "strength {strength_bp} bp above the maximum {STRENGTH_MAX_BP} bp"
            )));
        }
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(MarketError::Policy(
                "weights must be finite and non-negative".into(),
            ));
        }
        let sum: f64 = weights.iter().sum();
        if sum <= 0.0 && strength_bp > 0 {
            return Err(MarketError::Policy(
                "weights must not all be zero when strength is positive".into(),
            ));
        }
        let weights = if sum > 0.0 {
            weights.map(|w| w / sum)
        } else {
            weights
        };
        Ok(IncentivePolicy {
            weights,
            strength_bp,
        })
    }

    /// Plain price-time priority: no incentive adjustment.
    pub fn none() -> Self {
        IncentivePolicy {
            weights: [0.0; 5],
            strength_bp: 0,
        }
    }

    pub fn weights(&self) -> [(Dimension, f64); 5] {
        let mut out = [(Dimension::LowCarbon, 0.0); 5];
        for (i, d) in Dimension::ALL.into_iter().enumerate() {
            out[i] = (d, self.weights[i]);
        }
        out
    }

    pub fn strength_bp(&self) -> u32 {
        self.strength_bp
    }

    /// The offer's incentive score in basis points (0..=10,000).
    #[inline]
    pub fn score_bp(&self, offer: &Offer) -> u32 {
        if self.strength_bp == 0 {
            return 0;
        }
        let mut s = 0.0;
        for (i, d) in Dimension::ALL.into_iter().enumerate() {
            s += self.weights[i] * d.normalised(offer);
        }
        (s.clamp(0.0, 1.0) * 10_000.0).round() as u32
    }

    /// The ranking price in milli-fen per minute for a score.
    #[inline]
    pub fn adjusted_millifen(&self, price_fen_per_min: i64, score_bp: u32) -> i64 {
        let factor = 10_000 - i128::from(self.strength_bp) * i128::from(score_bp) / 10_000;
        (i128::from(price_fen_per_min) * 1000 * factor / 10_000) as i64
    }

    /// Full breakdown of an offer's score.
    pub fn breakdown(&self, offer: &Offer) -> ScoreBreakdown {
        let dimensions = Dimension::ALL
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                let value = d.normalised(offer);
                DimScore {
                    dimension: d,
                    value,
                    weight: self.weights[i],
                    contribution_bp: value * self.weights[i] * 10_000.0,
                }
            })
            .collect();
        let score_bp = self.score_bp(offer);
        ScoreBreakdown {
            dimensions,
            score_bp,
            price_fen_per_min: offer.price_fen_per_min(),
            adjusted_millifen_per_min: self.adjusted_millifen(offer.price_fen_per_min(), score_bp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::{OfferId, OfferSpec, SupplierId};

    fn offer(green: f64, carbon: f64) -> Offer {
        Offer::new(
            OfferId(1),
            OfferSpec {
                supplier: SupplierId(1),
                gpu_model: "A100".into(),
                gpu_count: 1,
                mem_gb: 80,
                cpu_cores: 8,
                ram_gb: 64,
                tflops: 100.0,
                storage_gb: 100,
                region: "r".into(),
                available_from_min: 0,
                available_until_min: 1,
                units: 1,
                price_fen_per_min: 1000,
                min_charge_fen: 0,
                green_share: green,
                carbon_g_per_kwh: carbon,
                pue: 1.1,
                utilisation: 0.5,
                public_good_discount_pct: 0,
                reputation: 4.0,
            },
        )
        .unwrap()
    }

    #[test]
    fn greener_offer_scores_higher_and_ranks_cheaper() {
        let p = IncentivePolicy::default();
        let brown = offer(0.0, 900.0);
        let green = offer(1.0, 50.0);
        let (sb, sg) = (p.score_bp(&brown), p.score_bp(&green));
        assert!(sg > sb);
        assert!(p.adjusted_millifen(1000, sg) < p.adjusted_millifen(1000, sb));
        assert!(p.adjusted_millifen(1000, sg) >= 1000 * 1000 * 85 / 100);
    }

    #[test]
    fn breakdown_adds_up_to_score() {
        let p = IncentivePolicy::default();
        let o = offer(0.3, 400.0);
        let b = p.breakdown(&o);
        let sum: f64 = b.dimensions.iter().map(|d| d.contribution_bp).sum();
        assert!((sum - f64::from(b.score_bp)).abs() <= 1.0);
    }

    #[test]
    fn none_policy_is_plain_price() {
        let p = IncentivePolicy::none();
        let o = offer(1.0, 0.0);
        assert_eq!(p.score_bp(&o), 0);
        assert_eq!(p.adjusted_millifen(1000, 0), 1_000_000);
    }

    #[test]
    fn bad_policies_are_refused() {
        assert!(IncentivePolicy::new([1.0; 5], STRENGTH_MAX_BP + 1).is_err());
        assert!(IncentivePolicy::new([f64::NAN, 1.0, 1.0, 1.0, 1.0], 100).is_err());
        assert!(IncentivePolicy::new([0.0; 5], 100).is_err());
        let p = IncentivePolicy::new([2.0, 2.0, 0.0, 0.0, 0.0], 100).unwrap();
        assert_eq!(p.weights()[0].1, 0.5);
    }
}
