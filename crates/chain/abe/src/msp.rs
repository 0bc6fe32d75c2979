//! Policy tree → monotone span program (Lewko–Waters), and the reconstruction
//! coefficients for a satisfying attribute set.
//!
//! Rows are the policy's leaves in text order; the target vector is `e_0 = (1, 0, …, 0)`.
//! Labels are built top-down from the root label `e_0`:
//! - OR (1-of-n): every child gets the parent's label.
//! - AND (n-of-n): `n − 1` fresh columns `c_1 … c_{n−1}`; child 1 gets `v + e_{c_1}`,
//!   child m (1 < m < n) gets `−e_{c_{m−1}} + e_{c_m}`, child n gets `−e_{c_{n−1}}`; the
//!   labels add up to `v` (a telescoping sum), entries stay in {0, 1, −1}.
//! - k-of-n (1 < k < n): `k − 1` fresh columns; child x (x = 1 … n) gets
//!   `v + Σ_{m=1}^{k−1} x^m e_{c_m}` (Shamir rows): any k children combine to `v` with the
//!   Lagrange coefficients at 0 of their points, fewer cannot.
//!
//! So the column count is at most the leaf count. [`coefficients`] walks the same tree
//! and returns, for a satisfying set, rows and weights γ with `Σ γ_i M_i = e_0`; it
//! never needs linear algebra.

use ark_bls12_381::Fr;
use ark_ff::{Field, One, Zero};

use crate::policy::{Node, Policy};

/// One row of the span program: its attribute and its non-zero entries `(column, value)`.
#[derive(Clone, Debug)]
pub(crate) struct Row<'a> {
    pub attribute: &'a str,
    pub entries: Vec<(usize, Fr)>,
}

/// The span program of a policy.
#[derive(Clone, Debug)]
pub(crate) struct Msp<'a> {
    pub rows: Vec<Row<'a>>,
    pub columns: usize,
}

/// Builds the span program of `policy` (rows in leaf order).
pub(crate) fn build(policy: &Policy) -> Msp<'_> {
    let mut msp = Msp {
        rows: Vec::with_capacity(policy.root().leaf_count()),
        columns: 1,
    };
    label(policy.root(), vec![(0, Fr::one())], &mut msp);
    msp
}

fn label<'a>(node: &'a Node, v: Vec<(usize, Fr)>, msp: &mut Msp<'a>) {
    match node {
        Node::Leaf(attribute) => msp.rows.push(Row {
            attribute,
            entries: v,
        }),
        Node::Gate {
            threshold,
            children,
        } => {
            let n = children.len();
            let k = *threshold;
            if k == 1 {
                for child in children {
                    label(child, v.clone(), msp);
                }
            } else if k == n {
                let first = msp.columns;
                msp.columns += n - 1;
                for (m, child) in children.iter().enumerate() {
                    let mut w = if m == 0 { v.clone() } else { Vec::new() };
                    if m > 0 {
                        w.push((first + m - 1, -Fr::one()));
                    }
                    if m + 1 < n {
                        w.push((first + m, Fr::one()));
                    }
                    label(child, w, msp);
                }
            } else {
                let first = msp.columns;
                msp.columns += k - 1;
                for (i, child) in children.iter().enumerate() {
                    let x = Fr::from(i as u64 + 1);
                    let mut w = v.clone();
                    let mut power = x;
                    for m in 0..k - 1 {
                        w.push((first + m, power));
                        power *= x;
                    }
                    label(child, w, msp);
                }
            }
        }
    }
}

/// For a holder of the attributes `has` accepts: rows (indices into the leaf order) and
/// their weights γ with `Σ γ_i M_i = e_0`, or `None` when the policy is not satisfied.
pub(crate) fn coefficients(
    policy: &Policy,
    has: &dyn Fn(&str) -> bool,
) -> Option<Vec<(usize, Fr)>> {
    if !policy.root().satisfied(has) {
        return None;
    }
    let mut out = Vec::new();
    let mut row = 0;
    weigh(policy.root(), Some(Fr::one()), has, &mut row, &mut out);
    Some(out)
}

/// Walks the tree in leaf order; `weight` is `Some` on the chosen (satisfied) subtrees.
fn weigh(
    node: &Node,
    weight: Option<Fr>,
    has: &dyn Fn(&str) -> bool,
    row: &mut usize,
    out: &mut Vec<(usize, Fr)>,
) {
    match node {
        Node::Leaf(_) => {
            if let Some(w) = weight {
                out.push((*row, w));
            }
            *row += 1;
        }
        Node::Gate {
            threshold,
            children,
        } => {
            let chosen = weight.map(|w| choose(*threshold, children, has, w));
            for (i, child) in children.iter().enumerate() {
                let child_weight = chosen.as_ref().and_then(|c| c.get(&i).copied());
                weigh(child, child_weight, has, row, out);
            }
        }
    }
}

/// Picks the first `k` satisfied children and their weights: `w` each for AND and OR,
/// `w·λ_x` (Lagrange at 0 over the chosen points x = index + 1) for other thresholds.
fn choose(
    k: usize,
    children: &[Node],
    has: &dyn Fn(&str) -> bool,
    w: Fr,
) -> std::collections::BTreeMap<usize, Fr> {
    let n = children.len();
    let picked: Vec<usize> = (0..n)
        .filter(|&i| children[i].satisfied(has))
        .take(k)
        .collect();
    if k == 1 || k == n {
        return picked.into_iter().map(|i| (i, w)).collect();
    }
    picked
        .iter()
        .map(|&i| {
            let xi = Fr::from(i as u64 + 1);
            let mut lambda = Fr::one();
            for &j in &picked {
                if j != i {
                    let xj = Fr::from(j as u64 + 1);
                    // xj ≠ xi, so the difference is invertible.
                    lambda *= xj * (xj - xi).inverse().unwrap_or(Fr::zero());
                }
            }
            (i, w * lambda)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Σ γ_i M_i over the returned coefficients, as a dense vector.
    fn combine(msp: &Msp<'_>, gammas: &[(usize, Fr)]) -> Vec<Fr> {
        let mut sum = vec![Fr::zero(); msp.columns];
        for &(i, g) in gammas {
            for &(c, e) in &msp.rows[i].entries {
                sum[c] += g * e;
            }
        }
        sum
    }

    #[test]
    fn coefficients_reconstruct_the_target_vector() {
        let cases: [(&str, &[&str]); 5] = [
            ("a", &["a"]),
            ("a and b and c", &["a", "b", "c"]),
            ("a or b and c", &["b", "c"]),
            ("3 of (a, b, c, d, e)", &["b", "d", "e"]),
            (
                "2 of (a and b, c or d, 2 of (e, f, g)) and h",
                &["a", "b", "f", "g", "h"],
            ),
        ];
        for (text, attrs) in cases {
            let policy = Policy::parse(text).unwrap();
            let msp = build(&policy);
            assert_eq!(msp.rows.len(), policy.leaves().len());
            assert!(msp.columns <= msp.rows.len().max(1));
            let has = |a: &str| attrs.contains(&a);
            let gammas = coefficients(&policy, &has).unwrap();
            assert!(
                gammas.iter().all(|&(i, _)| has(msp.rows[i].attribute)),
                "{text}"
            );
            let mut target = vec![Fr::zero(); msp.columns];
            target[0] = Fr::one();
            assert_eq!(combine(&msp, &gammas), target, "{text}");
        }
    }

    #[test]
    fn unsatisfied_sets_get_no_coefficients() {
        let policy = Policy::parse("2 of (a, b, c) and d").unwrap();
        assert!(coefficients(&policy, &|a| a == "a" || a == "d").is_none());
        assert!(coefficients(&policy, &|a| a != "d").is_none());
    }
}
