//! suanli-abe-bench: the figures behind `suanli bench abe [--json]`.
//!
//! Owns: one measurement of `suanli-abe` — hybrid encryption and decryption under a
//! 10-attribute policy (an AND of ten attributes, so decryption uses every row), key
//! generation for those ten attributes, and a same-run baseline of one BLS12-381
//! pairing — reported as medians, with the ratios to the pairing and the goals of issue
//! 21 (encrypt ≤ 30 ms, decrypt ≤ 15 ms in a release build). `encrypt_ms` and
//! `keygen_ms` are cold (the attribute-point memo emptied first, so all 60 attribute
//! hashes are computed); `encrypt_warm_ms` is the same policy again, attribute points
//! memoized (the common case of policy templates).
//!
//! Invariants: a library (no `[[bin]]`); the CLI calls [`run`]. Randomness is a fixed
//! seed (the figures do not depend on it); every decryption is checked to return the
//! plaintext, so a broken scheme fails the bench instead of timing garbage. Tests call
//! [`measure`] with a tiny iteration count and check results, never times.
//!
//! Start at [`measure`].

use std::io::Write;
use std::time::Instant;

use ark_bls12_381::{Bls12_381, G1Projective, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, PrimeGroup};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::Serialize;
use suanli_abe::hash::forget_attribute_points;
use suanli_abe::{AbeError, Policy, decrypt, encrypt, keygen, setup};

/// Attributes in the benchmarked policy.
pub const POLICY_ATTRIBUTES: usize = 10;
/// Iterations [`run`] measures (the median is reported).
pub const DEFAULT_ITERATIONS: usize = 25;
/// Issue 21's goal for encryption, release build.
pub const ENCRYPT_GOAL_MS: f64 = 30.0;
/// Issue 21's goal for decryption, release build.
pub const DECRYPT_GOAL_MS: f64 = 15.0;

/// What can stop the bench.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The scheme refused an operation it should accept.
    #[error("abe: {0}")]
    Abe(#[from] AbeError),
    /// A decryption returned something other than the plaintext.
    #[error("decryption returned a different plaintext")]
    WrongPlaintext,
    /// Writing the report failed.
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    /// The report did not serialise.
    #[error("serialising the report: {0}")]
    Json(#[from] serde_json::Error),
}

impl BenchError {
    /// Stable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            BenchError::Abe(e) => e.code(),
            BenchError::WrongPlaintext => "abe_bench.wrong_plaintext",
            BenchError::Io(_) => "abe_bench.io",
            BenchError::Json(_) => "abe_bench.json",
        }
    }
}

/// One run's figures (times are medians over `iterations`, in milliseconds).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub scheme: &'static str,
    pub build: &'static str,
    pub policy: String,
    pub attributes: usize,
    pub iterations: usize,
    pub pairing_ms: f64,
    pub keygen_ms: f64,
    pub encrypt_ms: f64,
    pub encrypt_warm_ms: f64,
    pub decrypt_ms: f64,
    pub encrypt_per_pairing: f64,
    pub encrypt_warm_per_pairing: f64,
    pub decrypt_per_pairing: f64,
    pub encrypt_goal_ms: f64,
    pub decrypt_goal_ms: f64,
    pub ciphertext_bytes: usize,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => 0.0,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

fn time_ms<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64() * 1e3)
}

/// Measures `iterations` (at least 1) rounds of pairing, key generation, encryption and
/// decryption, after one warm-up round.
pub fn measure(iterations: usize) -> Result<Report, BenchError> {
    let iterations = iterations.max(1);
    let mut rng = ChaCha20Rng::from_seed([0x21; 32]);
    let (pk, msk) = setup(&mut rng);
    let names: Vec<String> = (0..POLICY_ATTRIBUTES)
        .map(|i| format!("attr{i}=value{i}"))
        .collect();
    let attributes: Vec<&str> = names.iter().map(String::as_str).collect();
    let policy = Policy::parse(&attributes.join(" and "))?;
    let plaintext = b"order 42: spec details, usage detail, access details";
    let p = (G1Projective::generator() * ark_bls12_381::Fr::from(7u64)).into_affine();
    let q = (G2Projective::generator() * ark_bls12_381::Fr::from(11u64)).into_affine();

    let (mut pairing, mut keygen_t, mut decrypt_t) = (vec![], vec![], vec![]);
    let (mut encrypt_t, mut warm_t) = (vec![], vec![]);
    let mut ciphertext_bytes = 0;
    for round in 0..=iterations {
        let (_, t_pair) = time_ms(|| std::hint::black_box(Bls12_381::pairing(p, q)));
        forget_attribute_points();
        let (key, t_key) = time_ms(|| keygen(&msk, &attributes, &mut rng));
        let key = key?;
        forget_attribute_points();
        let (cold, t_enc) = time_ms(|| encrypt(&pk, &policy, plaintext, b"bench", &mut rng));
        let (ct, t_warm) = time_ms(|| encrypt(&pk, &policy, plaintext, b"bench", &mut rng));
        let ct = ct?;
        if decrypt(&key, &cold?, b"bench")?.as_slice() != plaintext {
            return Err(BenchError::WrongPlaintext);
        }
        let (opened, t_dec) = time_ms(|| decrypt(&key, &ct, b"bench"));
        if opened?.as_slice() != plaintext {
            return Err(BenchError::WrongPlaintext);
        }
        ciphertext_bytes = ct.to_bytes().len();
        if round > 0 {
            pairing.push(t_pair);
            keygen_t.push(t_key);
            encrypt_t.push(t_enc);
            warm_t.push(t_warm);
            decrypt_t.push(t_dec);
        }
    }
    let (pairing_ms, decrypt_ms) = (median(pairing), median(decrypt_t));
    let (encrypt_ms, encrypt_warm_ms) = (median(encrypt_t), median(warm_t));
    let ratio = |x: f64| {
        if pairing_ms > 0.0 {
            x / pairing_ms
        } else {
            0.0
        }
    };
    Ok(Report {
        scheme: "FAME (Agrawal–Chase 2017, k = 2) on BLS12-381 (arkworks 0.6), ChaCha20-Poly1305",
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        policy: policy.to_string(),
        attributes: POLICY_ATTRIBUTES,
        iterations,
        pairing_ms,
        keygen_ms: median(keygen_t),
        encrypt_ms,
        encrypt_warm_ms,
        decrypt_ms,
        encrypt_per_pairing: ratio(encrypt_ms),
        encrypt_warm_per_pairing: ratio(encrypt_warm_ms),
        decrypt_per_pairing: ratio(decrypt_ms),
        encrypt_goal_ms: ENCRYPT_GOAL_MS,
        decrypt_goal_ms: DECRYPT_GOAL_MS,
        ciphertext_bytes,
    })
}

impl Report {
    /// The `--json` form: one JSON object.
    pub fn to_json(&self) -> Result<String, BenchError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// The human form.
    pub fn to_text(&self) -> String {
        let verdict = |ms: f64, goal: f64| if ms <= goal { "within" } else { "over" };
        format!(
            "{scheme} ({build} build)\n\
             policy: {attributes} attributes, {policy}\n\
             medians over {iterations} runs:\n\
             \x20 one pairing  {pairing:8.3} ms\n\
             \x20 keygen       {keygen:8.3} ms\n\
             \x20 encrypt      {enc:8.3} ms  = {encr:5.1} pairings  ({ev} goal {eg} ms)\n\
             \x20 encrypt again{warm:8.3} ms  = {warmr:5.1} pairings  (attribute points memoized)\n\
             \x20 decrypt      {dec:8.3} ms  = {decr:5.1} pairings  ({dv} goal {dg} ms)\n\
             ciphertext: {bytes} bytes\n",
            scheme = self.scheme,
            build = self.build,
            attributes = self.attributes,
            policy = self.policy,
            iterations = self.iterations,
            pairing = self.pairing_ms,
            keygen = self.keygen_ms,
            enc = self.encrypt_ms,
            encr = self.encrypt_per_pairing,
            ev = verdict(self.encrypt_ms, self.encrypt_goal_ms),
            warm = self.encrypt_warm_ms,
            warmr = self.encrypt_warm_per_pairing,
            eg = self.encrypt_goal_ms,
            dec = self.decrypt_ms,
            decr = self.decrypt_per_pairing,
            dv = verdict(self.decrypt_ms, self.decrypt_goal_ms),
            dg = self.decrypt_goal_ms,
            bytes = self.ciphertext_bytes,
        )
    }
}

/// `suanli bench abe [--json]`: measures [`DEFAULT_ITERATIONS`] rounds and prints the
/// report to standard output.
pub fn run(json: bool) -> Result<(), BenchError> {
    run_to(json, DEFAULT_ITERATIONS, &mut std::io::stdout().lock())
}

/// [`run`] with a chosen iteration count and output.
pub fn run_to(json: bool, iterations: usize, out: &mut dyn Write) -> Result<(), BenchError> {
    let report = measure(iterations)?;
    if json {
        writeln!(out, "{}", report.to_json()?)?;
    } else {
        write!(out, "{}", report.to_text())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_runs_and_reports_every_field() {
        let mut out = Vec::new();
        run_to(true, 1, &mut out).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        for field in [
            "encrypt_ms",
            "decrypt_ms",
            "pairing_ms",
            "encrypt_per_pairing",
            "decrypt_per_pairing",
        ] {
            assert!(value[field].is_number(), "{field}");
        }
        assert_eq!(value["attributes"], 10);
        assert_eq!(value["iterations"], 1);
        let policy = Policy::parse(value["policy"].as_str().unwrap()).unwrap();
        assert_eq!(policy.leaves().len(), POLICY_ATTRIBUTES);
        assert!(value["ciphertext_bytes"].as_u64().unwrap() > 10 * 3 * 48);

        let mut text = Vec::new();
        run_to(false, 1, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("encrypt") && text.contains("pairings"),
            "{text}"
        );
    }

    #[test]
    fn median_is_the_middle_value() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}
