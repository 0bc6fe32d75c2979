//! Consumer preferences learned from the history of their choices.
//!
//! Model: a conditional logit (McFadden 1974). When a consumer chose one offer out of a
//! set of alternatives it was shown, each alternative `k` had a feature vector `x_k`
//! ([`features`]) and the consumer's utility is linear, `U_k = w · x_k + noise` with
//! i.i.d. Gumbel noise, so
//!
//! ```text
//! P(choose k | S) = exp(w · x_k) / Σ_{l ∈ S} exp(w · x_l)
//! ```
//!
//! The weights `w` are fitted by maximising the penalised log-likelihood
//! `Σ_choices log P(chosen) - (λ/2) ‖w‖²` (a Gaussian prior; λ = [`FitParams::l2`]
//! keeps the estimate finite when choices are perfectly separable and pulls consumers
//! with little history towards indifference). The objective is strictly concave; it is
//! maximised by Newton's method with a backtracking line search, falling back to a
//! gradient-ascent step if the Newton system is not solvable. With no history the
//! weights are zero (every feasible node equally good), which is what a new consumer
//! gets.

// Dense matrix code reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use serde::Serialize;

use crate::MarketError;
use crate::attrs::Offer;

/// Number of features.
pub const FEATURES: usize = 6;
/// Feature names, in vector order.
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "price",
    "green_share",
    "low_carbon",
    "performance",
    "reputation",
    "home_region",
];
/// Price that maps to feature value 1.0, in fen per GPU-minute.
pub const PRICE_SCALE_FEN_PER_GPU_MIN: f64 = 100.0;
/// TFLOPS per GPU that map to feature value 1.0.
pub const TFLOPS_SCALE_PER_GPU: f64 = 1000.0;
/// Most choices used in one fit.
pub const CHOICES_MAX: usize = 100_000;
/// Most alternatives in one choice set.
pub const ALTERNATIVES_MAX: usize = 256;
/// Most Newton iterations in one fit.
pub const FIT_ITERATIONS_MAX: u32 = 100;

/// A feature vector.
pub type Features = [f64; FEATURES];

/// The features of an offer for a consumer whose home region is `home_region`:
/// price per GPU-minute (scaled), green share, low-carbon score, TFLOPS per GPU (scaled),
/// reputation / 5, and 1 if the offer is in the consumer's home region.
pub fn features(offer: &Offer, home_region: &str) -> Features {
    let s = offer.spec();
    let gpus = f64::from(s.gpu_count.max(1));
    [
        s.price_fen_per_min as f64 / gpus / PRICE_SCALE_FEN_PER_GPU_MIN,
        s.green_share,
        (1.0 - s.carbon_g_per_kwh / 1000.0).clamp(0.0, 1.0),
        s.tflops / gpus / TFLOPS_SCALE_PER_GPU,
        s.reputation / crate::attrs::REPUTATION_MAX,
        if s.region == home_region { 1.0 } else { 0.0 },
    ]
}

/// Preference weights: utility is `w · features`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrefWeights(pub Features);

impl PrefWeights {
    pub fn zero() -> Self {
        PrefWeights([0.0; FEATURES])
    }

    #[inline]
    pub fn utility(&self, x: &Features) -> f64 {
        self.0.iter().zip(x).map(|(w, x)| w * x).sum()
    }

    /// Cosine similarity with another weight vector (0 if either is zero).
    pub fn cosine(&self, other: &PrefWeights) -> f64 {
        let d: f64 = self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum();
        let na: f64 = self.0.iter().map(|a| a * a).sum::<f64>().sqrt();
        let nb: f64 = other.0.iter().map(|a| a * a).sum::<f64>().sqrt();
        if na == 0.0 || nb == 0.0 {
            0.0
        } else {
            d / (na * nb)
        }
    }
}

/// One observed choice: the alternatives shown and the index chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    alternatives: Vec<Features>,
    chosen: usize,
}

impl Choice {
    pub fn new(alternatives: Vec<Features>, chosen: usize) -> Result<Choice, MarketError> {
        if alternatives.len() < 2 || alternatives.len() > ALTERNATIVES_MAX {
            return Err(MarketError::Prefs(format!(
                "a choice needs 2..={ALTERNATIVES_MAX} alternatives, got {}",
                alternatives.len()
            )));
        }
        if chosen >= alternatives.len() {
            return Err(MarketError::Prefs(format!(
                "chosen index {chosen} out of {} alternatives",
                alternatives.len()
            )));
        }
        if alternatives.iter().flatten().any(|x| !x.is_finite()) {
            return Err(MarketError::Prefs("non-finite feature".into()));
        }
        Ok(Choice {
            alternatives,
            chosen,
        })
    }
}

/// Fitting parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitParams {
    /// L2 penalty λ (Gaussian prior precision), ≥ 0.
    pub l2: f64,
    /// Stop when the gradient's max-norm is below this.
    pub tolerance: f64,
    pub iterations_max: u32,
}

impl Default for FitParams {
    fn default() -> Self {
        FitParams {
            l2: 0.5,
            tolerance: 1e-8,
            iterations_max: 50,
        }
    }
}

/// The fitted model and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    pub weights: PrefWeights,
    pub log_likelihood: f64,
    pub iterations: u32,
    pub choices: usize,
}

fn objective(w: &Features, choices: &[Choice], l2: f64) -> f64 {
    let mut ll = 0.0;
    for c in choices {
        let us: Vec<f64> = c
            .alternatives
            .iter()
            .map(|x| x.iter().zip(w).map(|(a, b)| a * b).sum())
            .collect();
        let mx = us.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = mx + us.iter().map(|u| (u - mx).exp()).sum::<f64>().ln();
        ll += us[c.chosen] - lse;
    }
    ll - 0.5 * l2 * w.iter().map(|x| x * x).sum::<f64>()
}

/// Solve `H d = g` for symmetric positive-definite `H` by Cholesky; `None` if not SPD.
fn solve_spd(h: &[[f64; FEATURES]; FEATURES], g: &Features) -> Option<Features> {
    let mut l = [[0.0; FEATURES]; FEATURES];
    for i in 0..FEATURES {
        for j in 0..=i {
            let mut s = h[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut y = [0.0; FEATURES];
    for i in 0..FEATURES {
        let mut s = g[i];
        for k in 0..i {
            s -= l[i][k] * y[k];
        }
        y[i] = s / l[i][i];
    }
    let mut x = [0.0; FEATURES];
    for i in (0..FEATURES).rev() {
        let mut s = y[i];
        for k in i + 1..FEATURES {
            s -= l[k][i] * x[k];
        }
        x[i] = s / l[i][i];
    }
    Some(x)
}

/// Fit preference weights to a consumer's choices.
pub fn fit(choices: &[Choice], params: &FitParams) -> Result<Fit, MarketError> {
    if choices.len() > CHOICES_MAX {
        return Err(MarketError::Prefs(format!(
            "{} choices, at most {CHOICES_MAX}",
            choices.len()
        )));
    }
    if !params.l2.is_finite() || params.l2 < 0.0 || params.iterations_max > FIT_ITERATIONS_MAX {
        return Err(MarketError::Prefs(format!(
            "bad fit parameters: l2 {} iterations_max {} (at most {FIT_ITERATIONS_MAX})",
            params.l2, params.iterations_max
        )));
    }
    let mut w = [0.0; FEATURES];
    if choices.is_empty() {
        return Ok(Fit {
            weights: PrefWeights(w),
            log_likelihood: 0.0,
            iterations: 0,
            choices: 0,
        });
    }
    // With λ = 0 the Hessian may be singular; a tiny ridge keeps Newton defined.
    let l2 = params.l2.max(1e-9);
    let mut obj = objective(&w, choices, l2);
    let mut iterations = 0;
    let mut probs = Vec::with_capacity(ALTERNATIVES_MAX);
    while iterations < params.iterations_max {
        let mut grad = [0.0; FEATURES];
        let mut hess = [[0.0; FEATURES]; FEATURES];
        for c in choices {
            probs.clear();
            probs.extend(
                c.alternatives
                    .iter()
                    .map(|x| x.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()),
            );
            let mx = probs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut z = 0.0;
            for p in probs.iter_mut() {
                *p = (*p - mx).exp();
                z += *p;
            }
            let mut mean = [0.0; FEATURES];
            for (p, x) in probs.iter_mut().zip(&c.alternatives) {
                *p /= z;
                for k in 0..FEATURES {
                    mean[k] += *p * x[k];
                }
            }
            let xc = &c.alternatives[c.chosen];
            for k in 0..FEATURES {
                grad[k] += xc[k] - mean[k];
            }
            for (p, x) in probs.iter().zip(&c.alternatives) {
                for r in 0..FEATURES {
                    for s in 0..FEATURES {
                        hess[r][s] += p * (x[r] - mean[r]) * (x[s] - mean[s]);
                    }
                }
            }
        }
        for k in 0..FEATURES {
            grad[k] -= l2 * w[k];
            hess[k][k] += l2;
        }
        let gmax = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        if gmax < params.tolerance {
            break;
        }
        // Newton direction (ascent on a concave objective: H is the negated Hessian),
        // or plain gradient ascent if the system is not solvable.
        let dir = solve_spd(&hess, &grad).unwrap_or(grad);
        let mut step = 1.0;
        let mut improved = false;
        for _ in 0..30 {
            let cand: Features = std::array::from_fn(|k| w[k] + step * dir[k]);
            let o = objective(&cand, choices, l2);
            if o >= obj {
                w = cand;
                obj = o;
                improved = true;
                break;
            }
            step *= 0.5;
        }
        iterations += 1;
        if !improved {
            break;
        }
    }
    Ok(Fit {
        weights: PrefWeights(w),
        log_likelihood: obj + 0.5 * l2 * w.iter().map(|x| x * x).sum::<f64>(),
        iterations,
        choices: choices.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn recovers_direction_of_true_weights() {
        let truth = PrefWeights([-4.0, 3.0, 0.0, 1.0, 0.5, 2.0]);
        let mut rng = SplitMix64::new(3);
        let mut choices = Vec::new();
        for _ in 0..400 {
            let alts: Vec<Features> = (0..5)
                .map(|_| std::array::from_fn(|_| rng.next_f64()))
                .collect();
            let us: Vec<f64> = alts
                .iter()
                .map(|x| truth.utility(x) + rng.gumbel())
                .collect();
            let chosen = (0..us.len())
                .max_by(|&a, &b| us[a].total_cmp(&us[b]))
                .unwrap();
            choices.push(Choice::new(alts, chosen).unwrap());
        }
        let f = fit(&choices, &FitParams::default()).unwrap();
        assert!(f.weights.cosine(&truth) > 0.9, "{:?}", f.weights);
        assert!(f.weights.0[0] < 0.0 && f.weights.0[1] > 0.0);
    }

    #[test]
    fn no_history_means_indifference() {
        let f = fit(&[], &FitParams::default()).unwrap();
        assert_eq!(f.weights, PrefWeights::zero());
    }

    #[test]
    fn bad_choices_are_refused() {
        assert!(Choice::new(vec![[0.0; FEATURES]], 0).is_err());
        assert!(Choice::new(vec![[0.0; FEATURES]; 2], 2).is_err());
        assert!(Choice::new(vec![[f64::NAN; FEATURES]; 2], 0).is_err());
    }
}
