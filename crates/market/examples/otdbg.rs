use suanli_market::ot::*;
use suanli_market::rng::SplitMix64;
fn main() {
    for n in [1000usize] {
    let mut r = SplitMix64::new(1);
    let xs: Vec<(f64,f64)> = (0..n).map(|_| (r.normal(), r.normal())).collect();
    let ys: Vec<(f64,f64)> = (0..n).map(|_| (2.0 + 0.5*r.normal(), 1.0 + r.normal())).collect();
    let mut cost: Vec<f64> = Vec::new();
    for x in &xs { for y in &ys { cost.push((x.0-y.0).powi(2) + (x.1-y.1).powi(2)); } }
    let mx = cost.iter().cloned().fold(0.0, f64::max);
    cost.iter_mut().for_each(|c| *c /= mx);
    let w = vec![1.0 / n as f64; n];
    let p = OtProblem::new(n, n, cost, w.clone(), w).unwrap();
    for eps in [1e-2, 1e-3] {
      for f in [0.0, 4.0, 10.0] {
        let t = std::time::Instant::now();
        let s = sinkhorn(&p, &SinkhornParams { epsilon: eps, tolerance: 1e-6, eps_scaling_factor: f, iterations_max: 100000, parallel: std::env::args().len() > 1 }).unwrap();
        println!("n {n} eps {eps} f {f} {:?} it {} err {:e} conv {} stages {} abs {} log {} obj {}", t.elapsed(), s.iterations, s.marginal_error, s.converged, s.stages, s.absorptions, s.log_domain_iterations, s.objective);
      }
      let t = std::time::Instant::now();
      let s = sinkhorn_naive(&p, &SinkhornParams { epsilon: eps, tolerance: 1e-6, eps_scaling_factor: 0.0, iterations_max: 100000, parallel: std::env::args().len() > 1 }).unwrap();
      println!("naive {:?} it {} err {:e} conv {}", t.elapsed(), s.iterations, s.marginal_error, s.converged);
    }
    }
}
