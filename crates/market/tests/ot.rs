//! Sinkhorn: marginals met, known optima recovered as ε → 0, stability at small ε,
//! integral rounding within capacities.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::needless_range_loop)]

use suanli_market::ot::{
    OtProblem, SinkhornParams, plan_stats, round_assignment, sinkhorn, sinkhorn_naive,
};
use suanli_market::rng::SplitMix64;

fn random_problem(n: usize, m: usize, seed: u64) -> OtProblem {
    let mut r = SplitMix64::new(seed);
    let cost: Vec<f64> = (0..n * m).map(|_| r.next_f64()).collect();
    let mut a: Vec<f64> = (0..n).map(|_| r.uniform(0.5, 1.5)).collect();
    let mut b: Vec<f64> = (0..m).map(|_| r.uniform(0.5, 1.5)).collect();
    let (sa, sb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    a.iter_mut().for_each(|x| *x /= sa);
    b.iter_mut().for_each(|x| *x /= sb);
    OtProblem::new(n, m, cost, a, b).unwrap()
}

#[test]
fn marginals_are_met_within_tolerance() {
    for (seed, (n, m)) in [(1, (30, 30)), (2, (20, 45)), (3, (60, 7))] {
        let p = random_problem(n, m, seed);
        let params = SinkhornParams {
            epsilon: 0.01,
            tolerance: 1e-7,
            ..SinkhornParams::default()
        };
        let s = sinkhorn(&p, &params).unwrap();
        assert!(
            s.converged,
            "seed {seed}: {} after {}",
            s.marginal_error, s.iterations
        );
        let (err, obj) = plan_stats(&p, &s.plan);
        assert!(err <= 2e-7, "{err}");
        assert!((obj - s.objective).abs() < 1e-12);
        assert!(s.plan.iter().all(|x| *x >= 0.0 && x.is_finite()));
    }
}

/// A cost matrix whose unique optimum is a known permutation: cost 0 on the permutation,
/// 1 + noise elsewhere.
fn permutation_problem(n: usize, seed: u64) -> (OtProblem, Vec<usize>) {
    let mut r = SplitMix64::new(seed);
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = r.below(i as u64 + 1) as usize;
        perm.swap(i, j);
    }
    let mut cost = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            cost[i * n + j] = if perm[i] == j {
                0.0
            } else {
                r.uniform(0.2, 1.0)
            };
        }
    }
    let w = vec![1.0 / n as f64; n];
    (OtProblem::new(n, n, cost, w.clone(), w).unwrap(), perm)
}

#[test]
fn permutation_optimum_recovered_as_epsilon_shrinks() {
    let (p, perm) = permutation_problem(25, 9);
    let n = 25;
    let mut last_obj = f64::INFINITY;
    for eps in [0.1, 0.05, 0.01, 0.003, 0.001] {
        let s = sinkhorn(
            &p,
            &SinkhornParams {
                epsilon: eps,
                tolerance: 1e-6,
                iterations_max: 100_000,
                ..SinkhornParams::default()
            },
        )
        .unwrap();
        assert!(s.converged, "eps {eps}");
        assert!(
            s.objective <= last_obj + 1e-9,
            "objective must not grow as ε shrinks"
        );
        last_obj = s.objective;
        if eps <= 0.01 {
            for i in 0..n {
                let row = &s.plan[i * n..(i + 1) * n];
                let best = (0..n).max_by(|&x, &y| row[x].total_cmp(&row[y])).unwrap();
                assert_eq!(best, perm[i]);
            }
        }
    }
    // Optimum is 0; at ε = 0.001 the entropic plan is essentially the permutation.
    assert!(last_obj < 1e-6, "{last_obj}");
}

#[test]
fn non_trivial_known_optimum() {
    // Cost |i - j|² on a line with uniform marginals: identity is optimal (monotone map),
    // but off-diagonal costs are small near the diagonal.
    let n = 12;
    let cost: Vec<f64> = (0..n * n)
        .map(|k| {
            let (i, j) = ((k / n) as f64, (k % n) as f64);
            ((i - j) / n as f64).powi(2)
        })
        .collect();
    let w = vec![1.0; n];
    let p = OtProblem::new(n, n, cost, w.clone(), w).unwrap();
    let s = sinkhorn(
        &p,
        &SinkhornParams {
            epsilon: 1e-3,
            tolerance: 1e-6,
            iterations_max: 200_000,
            ..SinkhornParams::default()
        },
    )
    .unwrap();
    assert!(s.converged, "{} after {}", s.marginal_error, s.iterations);
    assert!(s.objective < 1e-3, "{}", s.objective);
    for i in 0..n {
        assert!(s.at(i, i) > 0.99, "row {i}: {}", s.at(i, i));
    }
}

#[test]
fn tiny_epsilon_is_stable_where_the_naive_kernel_underflows() {
    let p = random_problem(20, 20, 4);
    let params = SinkhornParams {
        epsilon: 1e-4,
        tolerance: 1e-8,
        iterations_max: 100_000,
        ..SinkhornParams::default()
    };
    let s = sinkhorn(&p, &params).unwrap();
    assert!(s.converged, "{} after {}", s.marginal_error, s.iterations);
    assert!(s.plan.iter().all(|x| x.is_finite()));
    // exp(-C/1e-4) underflows to 0 for C > ~0.0745: the textbook version cannot converge.
    let naive = sinkhorn_naive(&p, &params).unwrap();
    assert!(!naive.converged);
}

#[test]
fn naive_and_stabilised_agree_at_moderate_epsilon() {
    let p = random_problem(15, 10, 11);
    let params = SinkhornParams {
        epsilon: 0.05,
        tolerance: 1e-10,
        ..SinkhornParams::default()
    };
    let a = sinkhorn(&p, &params).unwrap();
    let b = sinkhorn_naive(&p, &params).unwrap();
    assert!(a.converged && b.converged);
    for (x, y) in a.plan.iter().zip(&b.plan) {
        assert!((x - y).abs() < 1e-8, "{x} vs {y}");
    }
}

#[test]
fn forbidden_entries_carry_no_mass() {
    let inf = f64::INFINITY;
    let p = OtProblem::new(
        2,
        3,
        vec![0.0, inf, 1.0, inf, 0.5, 0.2],
        vec![1.0, 2.0],
        vec![1.0, 1.0, 1.0],
    )
    .unwrap();
    let s = sinkhorn(&p, &SinkhornParams::default()).unwrap();
    assert!(s.converged);
    assert_eq!(s.at(0, 1), 0.0);
    assert_eq!(s.at(1, 0), 0.0);
    assert!((s.at(0, 0) - 1.0).abs() < 1e-5);
}

#[test]
fn rounding_never_exceeds_capacity() {
    let mut r = SplitMix64::new(21);
    for trial in 0..20 {
        let (n, m) = (30, 8);
        let sizes: Vec<u32> = (0..n).map(|_| 1 + r.below(4) as u32).collect();
        let caps: Vec<u32> = (0..m).map(|_| r.below(12) as u32).collect();
        let cost: Vec<f64> = (0..n * m)
            .map(|_| {
                if r.next_f64() < 0.2 {
                    f64::INFINITY
                } else {
                    r.next_f64()
                }
            })
            .collect();
        let plan: Vec<f64> = cost
            .iter()
            .map(|c| if c.is_finite() { r.next_f64() } else { 0.0 })
            .collect();
        let got = round_assignment(&plan, &cost, n, m, &sizes, &caps);
        let mut used = vec![0u32; m];
        for (i, j) in got.iter().enumerate() {
            if let Some(j) = *j {
                assert!(
                    cost[i * m + j].is_finite(),
                    "trial {trial}: forbidden pair used"
                );
                used[j] += sizes[i];
            }
        }
        for j in 0..m {
            assert!(used[j] <= caps[j], "trial {trial}: node {j} over capacity");
        }
        // Unplaced jobs really had nowhere to go.
        for (i, j) in got.iter().enumerate() {
            if j.is_none() {
                for k in 0..m {
                    assert!(
                        !cost[i * m + k].is_finite() || caps[k] - used[k] < sizes[i],
                        "trial {trial}: job {i} left out although node {k} had room"
                    );
                }
            }
        }
    }
}

#[test]
fn rounding_follows_a_clear_plan() {
    // Plan says 0→1, 1→0; capacities 1 each.
    let plan = vec![0.1, 0.9, 0.8, 0.2];
    let cost = vec![0.0; 4];
    let got = round_assignment(&plan, &cost, 2, 2, &[1, 1], &[1, 1]);
    assert_eq!(got, vec![Some(1), Some(0)]);
}
