//! Entropic optimal transport by Sinkhorn's algorithm, log-domain stabilised, with
//! ε-scaling, and rounding of a plan to an integral assignment that respects capacities.
//!
//! Problem: cost `C` (n × m, row-major, `+inf` = forbidden), source marginal `a` (n),
//! target marginal `b` (m), equal total mass. Solve
//! `min_P <C, P> - ε H(P)` subject to `P 1 = a`, `Pᵀ 1 = b`, `P ≥ 0`.
//!
//! Method (Schmitzer, "Stabilized sparse scaling algorithms for entropy regularized
//! transport problems", SIAM J. Sci. Comput. 2019, §3): dual potentials `f`, `g` live in
//! the log domain and are *absorbed* into a stabilised kernel
//! `K̃_ij = exp((f_i + g_j - C_ij)/ε)`; between absorptions the cheap scaling iterations
//! `u = a / K̃v`, `v = b / K̃ᵀu` run on plain multiplications. When `u` or `v` leave
//! `[1/τ, τ]` (τ = [`ABSORB_THRESHOLD`]) they are absorbed into `f`, `g` and the kernel
//! is rebuilt, so nothing overflows. If a kernel row or column underflows to zero anyway,
//! the stage falls back to exact log-domain updates (`f_i = ε log a_i - ε LSE_j((g_j -
//! C_ij)/ε)` with max-subtraction). ε-scaling starts one factor below the cost range
//! and divides by `eps_scaling_factor` per stage down to the target ε, warm-starting each stage from the
//! previous potentials.
//!
//! Stopping: after each `v` update the column marginals are exact, so the error is the L1
//! distance of the row marginals, `Σ_i |u_i (K̃v)_i - a_i|`, which the next `u` update
//! computes anyway. The reported `marginal_error` is recomputed from the final plan: L1
//! over rows plus L1 over columns, relative to the total mass.

// Dense matrix code reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;
use serde::Serialize;

/// Most rows (sources) or columns (targets).
pub const SIDE_MAX: usize = 20_000;
/// Most cost-matrix entries (n × m).
pub const ENTRIES_MAX: usize = 50_000_000;
/// Most Sinkhorn iterations one call may be asked for.
pub const ITERATIONS_MAX: u32 = 1_000_000;
/// Scalings outside `[1/τ, τ]` are absorbed into the potentials.
pub const ABSORB_THRESHOLD: f64 = 1e50;
/// Relative tolerance on `|Σa - Σb| / Σa`.
pub const MASS_TOLERANCE: f64 = 1e-9;

/// Why a transport problem or its parameters were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OtError {
    #[error("empty problem: n = {n}, m = {m}")]
    Empty { n: usize, m: usize },
    #[error(
        "problem too large: n = {n}, m = {m} (at most {SIDE_MAX} per side, {ENTRIES_MAX} entries)"
    )]
    TooLarge { n: usize, m: usize },
    #[error("cost matrix row {row} has {len} entries, expected {expected}")]
    Ragged {
        row: usize,
        len: usize,
        expected: usize,
    },
    #[error("cost matrix has {len} entries, expected n × m = {expected}")]
    CostLen { len: usize, expected: usize },
    #[error("cost[{row}][{col}] is {value}: costs must be finite numbers or +infinity")]
    BadCost { row: usize, col: usize, value: f64 },
    #[error("{side}[{index}] is {value}: marginals must be finite and non-negative")]
    BadMarginal {
        side: &'static str,
        index: usize,
        value: f64,
    },
    #[error("marginal {side} has total mass 0")]
    ZeroMass { side: &'static str },
    #[error("marginals do not balance: sum(a) = {sum_a}, sum(b) = {sum_b}")]
    Unbalanced { sum_a: f64, sum_b: f64 },
    #[error("row {row} has positive mass but every cost is infinite")]
    InfeasibleRow { row: usize },
    #[error("column {col} has positive mass but every cost is infinite")]
    InfeasibleCol { col: usize },
    #[error("parameter {name} = {value}: {why}")]
    BadParam {
        name: &'static str,
        value: f64,
        why: &'static str,
    },
}

/// A checked transport problem.
#[derive(Debug, Clone, PartialEq)]
pub struct OtProblem {
    n: usize,
    m: usize,
    cost: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl OtProblem {
    /// Check and build a problem from a row-major cost matrix.
    pub fn new(
        n: usize,
        m: usize,
        cost: Vec<f64>,
        a: Vec<f64>,
        b: Vec<f64>,
    ) -> Result<Self, OtError> {
        if n == 0 || m == 0 {
            return Err(OtError::Empty { n, m });
        }
        if n > SIDE_MAX || m > SIDE_MAX || n.saturating_mul(m) > ENTRIES_MAX {
            return Err(OtError::TooLarge { n, m });
        }
        if cost.len() != n * m {
            return Err(OtError::CostLen {
                len: cost.len(),
                expected: n * m,
            });
        }
        if a.len() != n {
            return Err(OtError::BadParam {
                name: "a.len",
                value: a.len() as f64,
                why: "must equal the number of cost rows",
            });
        }
        if b.len() != m {
            return Err(OtError::BadParam {
                name: "b.len",
                value: b.len() as f64,
                why: "must equal the number of cost columns",
            });
        }
        for (k, &c) in cost.iter().enumerate() {
            if c.is_nan() || c == f64::NEG_INFINITY {
                return Err(OtError::BadCost {
                    row: k / m,
                    col: k % m,
                    value: c,
                });
            }
        }
        for (side, v) in [("a", &a), ("b", &b)] {
            for (i, &x) in v.iter().enumerate() {
                if !x.is_finite() || x < 0.0 {
                    return Err(OtError::BadMarginal {
                        side,
                        index: i,
                        value: x,
                    });
                }
            }
        }
        let (sa, sb): (f64, f64) = (a.iter().sum(), b.iter().sum());
        if sa <= 0.0 {
            return Err(OtError::ZeroMass { side: "a" });
        }
        if sb <= 0.0 {
            return Err(OtError::ZeroMass { side: "b" });
        }
        if (sa - sb).abs() > MASS_TOLERANCE * sa.max(sb) {
            return Err(OtError::Unbalanced {
                sum_a: sa,
                sum_b: sb,
            });
        }
        for i in 0..n {
            if a[i] > 0.0 && cost[i * m..(i + 1) * m].iter().all(|c| c.is_infinite()) {
                return Err(OtError::InfeasibleRow { row: i });
            }
        }
        for j in 0..m {
            if b[j] > 0.0 && (0..n).all(|i| cost[i * m + j].is_infinite()) {
                return Err(OtError::InfeasibleCol { col: j });
            }
        }
        Ok(OtProblem { n, m, cost, a, b })
    }

    /// Build from a list of rows (checks that every row has the same length).
    pub fn from_rows(rows: &[Vec<f64>], a: Vec<f64>, b: Vec<f64>) -> Result<Self, OtError> {
        let n = rows.len();
        let m = rows.first().map_or(0, Vec::len);
        let mut cost = Vec::with_capacity(n.saturating_mul(m).min(ENTRIES_MAX));
        for (row, r) in rows.iter().enumerate() {
            if r.len() != m {
                return Err(OtError::Ragged {
                    row,
                    len: r.len(),
                    expected: m,
                });
            }
            cost.extend_from_slice(r);
        }
        OtProblem::new(n, m, cost, a, b)
    }

    pub fn n(&self) -> usize {
        self.n
    }
    pub fn m(&self) -> usize {
        self.m
    }
    pub fn cost(&self) -> &[f64] {
        &self.cost
    }
    pub fn a(&self) -> &[f64] {
        &self.a
    }
    pub fn b(&self) -> &[f64] {
        &self.b
    }
}

/// Solver parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SinkhornParams {
    /// Target regularisation ε, in cost units (> 0).
    pub epsilon: f64,
    /// Stop when the relative L1 marginal error is at most this (> 0).
    pub tolerance: f64,
    /// Total iteration budget over all stages.
    pub iterations_max: u32,
    /// ε is divided by this per stage (> 1); 0 or 1 turns ε-scaling off.
    pub eps_scaling_factor: f64,
    /// Split the kernel build and matrix-vector products over rayon's current pool.
    /// Results are bit-identical either way.
    pub parallel: bool,
}

impl Default for SinkhornParams {
    fn default() -> Self {
        SinkhornParams {
            epsilon: 0.01,
            tolerance: 1e-6,
            iterations_max: 10_000,
            eps_scaling_factor: 10.0,
            parallel: false,
        }
    }
}

impl SinkhornParams {
    pub fn check(&self) -> Result<(), OtError> {
        if !self.epsilon.is_finite() || self.epsilon <= 0.0 {
            return Err(OtError::BadParam {
                name: "epsilon",
                value: self.epsilon,
                why: "must be a positive finite number",
            });
        }
        if !self.tolerance.is_finite() || self.tolerance <= 0.0 {
            return Err(OtError::BadParam {
                name: "tolerance",
                value: self.tolerance,
                why: "must be a positive finite number",
            });
        }
        if self.iterations_max == 0 || self.iterations_max > ITERATIONS_MAX {
            return Err(OtError::BadParam {
                name: "iterations_max",
                value: f64::from(self.iterations_max),
                why: "must be in 1..=1000000",
            });
        }
        if !self.eps_scaling_factor.is_finite() || self.eps_scaling_factor < 0.0 {
            return Err(OtError::BadParam {
                name: "eps_scaling_factor",
                value: self.eps_scaling_factor,
                why: "must be 0 (off), 1 (off) or greater than 1",
            });
        }
        Ok(())
    }
}

/// A solved (or budget-exhausted) transport problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OtSolution {
    pub n: usize,
    pub m: usize,
    /// Row-major plan, n × m.
    pub plan: Vec<f64>,
    /// Scaling iterations over all stages.
    pub iterations: u32,
    /// `(‖P1 - a‖₁ + ‖Pᵀ1 - b‖₁) / Σa`, from the final plan.
    pub marginal_error: f64,
    /// Transport cost `<C, P>` (forbidden entries carry no mass).
    pub objective: f64,
    /// Whether the marginal error reached the tolerance.
    pub converged: bool,
    /// ε-scaling stages run.
    pub stages: u32,
    /// Potential absorptions (kernel rebuilds) beyond one per stage.
    pub absorptions: u32,
    /// Iterations done by the exact log-domain fallback.
    pub log_domain_iterations: u32,
    /// Dual potentials (cost units).
    pub f: Vec<f64>,
    pub g: Vec<f64>,
}

impl OtSolution {
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.plan[i * self.m + j]
    }
}

/// `exp(x)` for `x <= 709`, branch-free so that loops over slices vectorise: Cody–Waite
/// range reduction `x = k ln2 + r`, `|r| <= ln2/2`, a degree-13 Taylor polynomial for
/// `e^r` (truncation error below 2e-17 relative), and `2^k` assembled from its bits
/// through the 1.5·2⁵² rounding trick. Results below `exp(-708)` flush to 0 (the kernel
/// treats them as underflow, which absorption and the log-domain fallback handle).
/// Relative error against `f64::exp` is a few ulp (tested).
#[inline(always)]
pub fn exp_fast(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2: LN2_HI has 11 trailing zero bits so `k * LN2_HI` is exact.
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    let xc = x.clamp(-708.0, 709.0);
    let t = xc * LOG2E + MAGIC;
    let k = t - MAGIC;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0;
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // t's low mantissa bits hold k; add the exponent bias and shift into place.
    let bits = t.to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add(1023) << 52;
    let y = p * f64::from_bits(bits);
    if x < -708.0 { 0.0 } else { y }
}

/// Rows per parallel block. Blocks are fixed by the problem size, not by the thread
/// count, and partial sums are combined in block order, so results are bit-identical
/// however many threads run.
fn block_rows(n: usize, m: usize) -> usize {
    // About 64k entries per block.
    (65_536 / m.max(1)).clamp(1, n.max(1))
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[inline]
fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yy, xx) in y.iter_mut().zip(x) {
        *yy += alpha * xx;
    }
}

struct State<'p> {
    p: &'p OtProblem,
    f: Vec<f64>,
    g: Vec<f64>,
    u: Vec<f64>,
    v: Vec<f64>,
    kernel: Vec<f64>,
    kv: Vec<f64>,
    ktu: Vec<f64>,
    ktu_lo: Vec<f64>,
    ktu_hi: Vec<f64>,
    parallel: bool,
}

impl State<'_> {
    /// Absorb `u`, `v` into the potentials and rebuild the kernel at `eps`.
    fn absorb_and_rebuild(&mut self, eps: f64) {
        let (n, m) = (self.p.n, self.p.m);
        for i in 0..n {
            if self.u[i] > 0.0 && self.u[i].is_finite() {
                self.f[i] += eps * self.u[i].ln();
            }
            self.u[i] = 1.0;
        }
        for j in 0..m {
            if self.v[j] > 0.0 && self.v[j].is_finite() {
                self.g[j] += eps * self.v[j].ln();
            }
            self.v[j] = 1.0;
        }
        let inv = 1.0 / eps;
        let cost = &self.p.cost;
        let g = &self.g;
        let f = &self.f;
        let build = |i: usize, row: &mut [f64]| {
            let fi = f[i];
            let crow = &cost[i * m..(i + 1) * m];
            for ((k, &gj), &c) in row.iter_mut().zip(g).zip(crow) {
                // Forbidden entries (+inf cost) give an argument of -inf, hence 0.
                *k = exp_fast((fi + gj - c) * inv);
            }
        };
        if self.parallel {
            let br = block_rows(n, m);
            self.kernel
                .par_chunks_mut(br * m)
                .enumerate()
                .for_each(|(b, chunk)| {
                    for (r, row) in chunk.chunks_mut(m).enumerate() {
                        build(b * br + r, row);
                    }
                });
        } else {
            for (i, row) in self.kernel.chunks_mut(m).enumerate() {
                build(i, row);
            }
        }
    }

    fn kv_pass(&mut self) {
        let m = self.p.m;
        let (kernel, v) = (&self.kernel, &self.v);
        if self.parallel {
            let br = block_rows(self.p.n, m);
            self.kv.par_chunks_mut(br).enumerate().for_each(|(b, out)| {
                for (r, o) in out.iter_mut().enumerate() {
                    let i = b * br + r;
                    *o = dot(&kernel[i * m..(i + 1) * m], v);
                }
            });
        } else {
            for (i, o) in self.kv.iter_mut().enumerate() {
                *o = dot(&kernel[i * m..(i + 1) * m], v);
            }
        }
    }

    fn ktu_pass(&mut self) {
        let (n, m) = (self.p.n, self.p.m);
        let (kernel, u) = (&self.kernel, &self.u);
        let br = block_rows(n, m);
        let block = |b: usize, acc: &mut [f64]| {
            for i in b * br..((b + 1) * br).min(n) {
                if u[i] != 0.0 {
                    axpy(u[i], &kernel[i * m..(i + 1) * m], acc);
                }
            }
        };
        let blocks = n.div_ceil(br);
        let half = blocks / 2;
        // Two halves of the blocks, each accumulated in block order, then added: the same
        // arithmetic whether the halves run on two threads or one.
        let mut lo = std::mem::take(&mut self.ktu_lo);
        let mut hi = std::mem::take(&mut self.ktu_hi);
        lo.iter_mut().for_each(|x| *x = 0.0);
        hi.iter_mut().for_each(|x| *x = 0.0);
        if self.parallel {
            rayon::join(
                || (0..half).for_each(|b| block(b, &mut lo)),
                || (half..blocks).for_each(|b| block(b, &mut hi)),
            );
        } else {
            (0..half).for_each(|b| block(b, &mut lo));
            (half..blocks).for_each(|b| block(b, &mut hi));
        }
        for ((o, x), y) in self.ktu.iter_mut().zip(&lo).zip(&hi) {
            *o = x + y;
        }
        self.ktu_lo = lo;
        self.ktu_hi = hi;
    }

    /// One exact log-domain Sinkhorn iteration on the potentials (u = v = 1 assumed).
    fn log_domain_iteration(&mut self, eps: f64) {
        let (n, m) = (self.p.n, self.p.m);
        let cost = &self.p.cost;
        for i in 0..n {
            if self.p.a[i] == 0.0 {
                continue;
            }
            let crow = &cost[i * m..(i + 1) * m];
            let mx = (0..m)
                .map(|j| (self.g[j] - crow[j]) / eps)
                .fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = (0..m)
                .map(|j| ((self.g[j] - crow[j]) / eps - mx).exp())
                .sum();
            self.f[i] = eps * self.p.a[i].ln() - eps * (mx + s.ln());
        }
        for j in 0..m {
            if self.p.b[j] == 0.0 {
                continue;
            }
            let mx = (0..n)
                .map(|i| (self.f[i] - cost[i * m + j]) / eps)
                .fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = (0..n)
                .map(|i| ((self.f[i] - cost[i * m + j]) / eps - mx).exp())
                .sum();
            self.g[j] = eps * self.p.b[j].ln() - eps * (mx + s.ln());
        }
    }
}

/// Solve an entropic transport problem. See the module docs for the method.
pub fn sinkhorn(p: &OtProblem, params: &SinkhornParams) -> Result<OtSolution, OtError> {
    params.check()?;
    let (n, m) = (p.n, p.m);
    let mass: f64 = p.a.iter().sum();
    let (mut cmin, mut cmax) = (f64::INFINITY, f64::NEG_INFINITY);
    for &c in &p.cost {
        if c.is_finite() {
            cmin = cmin.min(c);
            cmax = cmax.max(c);
        }
    }
    let range = (cmax - cmin).max(params.epsilon);
    let mut schedule = Vec::new();
    if params.eps_scaling_factor > 1.0 {
        // At ε = range the plan is close to a·bᵀ and its potentials carry no information,
        // so the first stage is one factor below the range. A stage within 0.1 % of the
        // target is merged into the final one.
        let mut e = range / params.eps_scaling_factor;
        while e > params.epsilon * 1.001 {
            schedule.push(e);
            e /= params.eps_scaling_factor;
        }
    }
    schedule.push(params.epsilon);

    let mut st = State {
        p,
        f: vec![0.0; n],
        g: vec![0.0; m],
        u: vec![1.0; n],
        v: vec![1.0; m],
        kernel: vec![0.0; n * m],
        kv: vec![0.0; n],
        ktu: vec![0.0; m],
        ktu_lo: vec![0.0; m],
        ktu_hi: vec![0.0; m],
        parallel: params.parallel,
    };
    let mut iterations = 0u32;
    let mut absorptions = 0u32;
    let mut log_iters = 0u32;
    let mut converged = false;
    let stages = schedule.len() as u32;
    let last = schedule.len() - 1;
    for (s, &eps) in schedule.iter().enumerate() {
        // Intermediate stages only need to be roughly solved before warm-starting the next.
        let stage_tol = if s == last {
            params.tolerance
        } else {
            params.tolerance.max(1e-2)
        };
        st.absorb_and_rebuild(eps);
        let mut log_mode = false;
        loop {
            if iterations >= params.iterations_max {
                break;
            }
            if log_mode {
                st.log_domain_iteration(eps);
                iterations += 1;
                log_iters += 1;
                // Measure the row error with u = v = 1 on a fresh kernel.
                st.absorb_and_rebuild(eps);
                st.kv_pass();
                let err: f64 = (0..n).map(|i| (st.kv[i] - p.a[i]).abs()).sum::<f64>() / mass;
                if err <= stage_tol {
                    if s == last {
                        converged = true;
                    }
                    break;
                }
                // Back to cheap scaling iterations once the kernel is healthy again.
                log_mode =
                    !(0..n).all(|i| p.a[i] == 0.0 || (st.kv[i] > 0.0 && st.kv[i].is_finite()));
                continue;
            }
            st.kv_pass();
            let mut err = 0.0;
            let mut bad = false;
            for i in 0..n {
                err += (st.u[i] * st.kv[i] - p.a[i]).abs();
                if p.a[i] > 0.0 && !(st.kv[i] > 0.0 && st.kv[i].is_finite()) {
                    bad = true;
                }
            }
            err /= mass;
            if bad {
                st.absorb_and_rebuild(eps);
                log_mode = true;
                absorptions += 1;
                continue;
            }
            if iterations > 0 && err <= stage_tol {
                if s == last {
                    converged = true;
                }
                break;
            }
            let mut out_of_range = false;
            for i in 0..n {
                st.u[i] = if p.a[i] > 0.0 { p.a[i] / st.kv[i] } else { 0.0 };
                out_of_range |= st.u[i] > ABSORB_THRESHOLD || st.u[i] < 1.0 / ABSORB_THRESHOLD;
            }
            st.ktu_pass();
            for j in 0..m {
                if p.b[j] > 0.0 && !(st.ktu[j] > 0.0 && st.ktu[j].is_finite()) {
                    bad = true;
                }
                st.v[j] = if p.b[j] > 0.0 {
                    p.b[j] / st.ktu[j]
                } else {
                    0.0
                };
                out_of_range |= st.v[j] > ABSORB_THRESHOLD || st.v[j] < 1.0 / ABSORB_THRESHOLD;
            }
            iterations += 1;
            if bad {
                st.absorb_and_rebuild(eps);
                log_mode = true;
                absorptions += 1;
                continue;
            }
            if out_of_range {
                // Zero scalings (zero marginals) are not absorbed: they stay zero.
                st.absorb_and_rebuild(eps);
                absorptions += 1;
            }
        }
        if iterations >= params.iterations_max {
            break;
        }
    }
    // Final plan: P_ij = u_i K̃_ij v_j, built in the kernel buffer.
    let mut plan = std::mem::take(&mut st.kernel);
    for i in 0..n {
        let ui = st.u[i];
        for (x, vj) in plan[i * m..(i + 1) * m].iter_mut().zip(&st.v) {
            *x *= ui * vj;
        }
    }
    let (err, objective) = plan_stats(p, &plan);
    for i in 0..n {
        if st.u[i] > 0.0 && st.u[i].is_finite() {
            st.f[i] += params.epsilon * st.u[i].ln();
        }
    }
    for j in 0..m {
        if st.v[j] > 0.0 && st.v[j].is_finite() {
            st.g[j] += params.epsilon * st.v[j].ln();
        }
    }
    Ok(OtSolution {
        n,
        m,
        plan,
        iterations,
        marginal_error: err,
        objective,
        converged: converged && err <= params.tolerance * 2.0,
        stages,
        absorptions,
        log_domain_iterations: log_iters,
        f: st.f,
        g: st.g,
    })
}

/// Relative L1 marginal error (rows + columns) and transport cost of a plan.
pub fn plan_stats(p: &OtProblem, plan: &[f64]) -> (f64, f64) {
    let (n, m) = (p.n, p.m);
    let mass: f64 = p.a.iter().sum();
    let mut cols = vec![0.0; m];
    let mut err = 0.0;
    let mut obj = 0.0;
    for i in 0..n {
        let row = &plan[i * m..(i + 1) * m];
        let crow = &p.cost[i * m..(i + 1) * m];
        let mut s = 0.0;
        for j in 0..m {
            s += row[j];
            cols[j] += row[j];
            if row[j] > 0.0 {
                obj += row[j] * crow[j];
            }
        }
        err += (s - p.a[i]).abs();
    }
    for j in 0..m {
        err += (cols[j] - p.b[j]).abs();
    }
    (err / mass, obj)
}

/// The textbook Sinkhorn: kernel `exp(-C/ε)`, no log domain, no absorption, no
/// ε-scaling. Kept as the benchmark baseline; it fails (non-finite scalings) once
/// `exp(-C/ε)` underflows.
pub fn sinkhorn_naive(p: &OtProblem, params: &SinkhornParams) -> Result<OtSolution, OtError> {
    params.check()?;
    let (n, m) = (p.n, p.m);
    let mass: f64 = p.a.iter().sum();
    let mut kernel: Vec<f64> = p.cost.iter().map(|c| (-c / params.epsilon).exp()).collect();
    let mut u = vec![1.0; n];
    let mut v = vec![1.0; m];
    let mut kv = vec![0.0; n];
    let mut ktu = vec![0.0; m];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < params.iterations_max {
        for i in 0..n {
            kv[i] = dot(&kernel[i * m..(i + 1) * m], &v);
        }
        let err: f64 = (0..n).map(|i| (u[i] * kv[i] - p.a[i]).abs()).sum::<f64>() / mass;
        if !err.is_finite() {
            break;
        }
        if iterations > 0 && err <= params.tolerance {
            converged = true;
            break;
        }
        for i in 0..n {
            u[i] = p.a[i] / kv[i];
        }
        ktu.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..n {
            axpy(u[i], &kernel[i * m..(i + 1) * m], &mut ktu);
        }
        for j in 0..m {
            v[j] = p.b[j] / ktu[j];
        }
        iterations += 1;
    }
    for i in 0..n {
        for (x, vj) in kernel[i * m..(i + 1) * m].iter_mut().zip(&v) {
            *x *= u[i] * vj;
        }
    }
    let (err, objective) = plan_stats(p, &kernel);
    Ok(OtSolution {
        n,
        m,
        plan: kernel,
        iterations,
        marginal_error: err,
        objective,
        converged: converged && err.is_finite(),
        stages: 1,
        absorptions: 0,
        log_domain_iterations: 0,
        f: u.iter().map(|x| params.epsilon * x.ln()).collect(),
        g: v.iter().map(|x| params.epsilon * x.ln()).collect(),
    })
}

/// Round a plan to an integral assignment: row `i` is a job of `sizes[i]` units that must
/// go whole to one column `j` with `cost[i][j]` finite and enough capacity left in
/// `capacities[j]`. Rows are taken in decreasing order of their plan's confidence
/// (`max_j P_ij / Σ_j P_ij`, ties by index); each goes to its allowed column with the
/// most plan mass that still fits, else to any allowed column that fits (most mass
/// first), else stays unassigned (`None`). Capacities are never exceeded.
pub fn round_assignment(
    plan: &[f64],
    cost: &[f64],
    n: usize,
    m: usize,
    sizes: &[u32],
    capacities: &[u32],
) -> Vec<Option<usize>> {
    let mut left: Vec<u64> = capacities.iter().map(|&c| u64::from(c)).collect();
    let mut out = vec![None; n];
    if plan.len() < n * m || cost.len() < n * m || sizes.len() < n || capacities.len() < m {
        return out;
    }
    let mut order: Vec<(f64, usize)> = (0..n)
        .map(|i| {
            let row = &plan[i * m..(i + 1) * m];
            let total: f64 = row.iter().sum();
            let best = row.iter().copied().fold(0.0, f64::max);
            (if total > 0.0 { best / total } else { 0.0 }, i)
        })
        .collect();
    order.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let mut cols: Vec<usize> = Vec::with_capacity(m);
    for &(_, i) in &order {
        let row = &plan[i * m..(i + 1) * m];
        let crow = &cost[i * m..(i + 1) * m];
        let need = u64::from(sizes[i]);
        cols.clear();
        cols.extend((0..m).filter(|&j| crow[j].is_finite() && left[j] >= need));
        cols.sort_by(|&x, &y| row[y].total_cmp(&row[x]).then(x.cmp(&y)));
        if let Some(&j) = cols.first() {
            left[j] -= need;
            out[i] = Some(j);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_by_two_uniform() {
        let p = OtProblem::new(
            2,
            2,
            vec![0.0, 1.0, 1.0, 0.0],
            vec![0.5, 0.5],
            vec![0.5, 0.5],
        )
        .unwrap();
        let s = sinkhorn(&p, &SinkhornParams::default()).unwrap();
        assert!(s.converged);
        assert!((s.at(0, 0) - 0.5).abs() < 1e-6);
        assert!(s.at(0, 1) < 1e-6);
    }

    #[test]
    fn exp_fast_matches_std() {
        let mut x = -708.0;
        while x < 709.0 {
            let (a, b) = (exp_fast(x), x.exp());
            assert!(((a - b) / b).abs() < 1e-14, "{x}: {a} vs {b}");
            x += 0.0137;
        }
        assert_eq!(exp_fast(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_fast(-800.0), 0.0);
        assert_eq!(exp_fast(0.0), 1.0);
    }

    #[test]
    fn parallel_is_bit_identical() {
        let n = 90;
        let m = 1000;
        let cost: Vec<f64> = (0..n * m)
            .map(|k| ((k * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let p =
            OtProblem::new(n, m, cost, vec![1.0 / n as f64; n], vec![1.0 / m as f64; m]).unwrap();
        let mut params = SinkhornParams {
            epsilon: 0.05,
            iterations_max: 200,
            ..SinkhornParams::default()
        };
        let a = sinkhorn(&p, &params).unwrap();
        assert!(a.iterations > 1);
        params.parallel = true;
        let b = sinkhorn(&p, &params).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn validation_errors() {
        assert!(matches!(
            OtProblem::new(1, 2, vec![0.0, f64::NAN], vec![1.0], vec![0.5, 0.5]),
            Err(OtError::BadCost { row: 0, col: 1, .. })
        ));
        assert!(matches!(
            OtProblem::new(1, 1, vec![0.0], vec![-1.0], vec![1.0]),
            Err(OtError::BadMarginal { side: "a", .. })
        ));
        assert!(matches!(
            OtProblem::new(1, 1, vec![0.0], vec![1.0], vec![2.0]),
            Err(OtError::Unbalanced { .. })
        ));
        assert!(matches!(
            OtProblem::new(1, 1, vec![f64::INFINITY], vec![1.0], vec![1.0]),
            Err(OtError::InfeasibleRow { row: 0 })
        ));
        assert!(matches!(
            OtProblem::from_rows(&[vec![0.0, 1.0], vec![0.0]], vec![1.0, 1.0], vec![1.0, 1.0]),
            Err(OtError::Ragged { row: 1, .. })
        ));
        let p = OtProblem::new(1, 1, vec![0.0], vec![1.0], vec![1.0]).unwrap();
        let bad = SinkhornParams {
            epsilon: 0.0,
            ..SinkhornParams::default()
        };
        assert!(sinkhorn(&p, &bad).is_err());
    }
}
