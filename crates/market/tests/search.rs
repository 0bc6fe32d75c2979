//! Read-only queries: a search returns exactly the candidates `explain` lists, in the
//! chosen order; a bounded explanation is a prefix of the full one; one offer's verdict
//! agrees with both.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use suanli_market::attrs::{ConsumerId, DemandId, Offer, OfferId, OfferSpec, SupplierId};
use suanli_market::incentive::IncentivePolicy;
use suanli_market::matching::{
    Demand, DemandSpec, Engine, SearchOrder, Verdict, estimate_cost_fen,
};
use suanli_market::rng::SplitMix64;

const MODELS: [(&str, u32); 3] = [("A100", 80), ("H100", 80), ("4090", 24)];
const REGIONS: [&str; 3] = ["cn-west", "cn-east", "cn-north"];

fn book(seed: u64, n: u64) -> Engine {
    let mut rng = SplitMix64::new(seed);
    let mut e = Engine::new(IncentivePolicy::default());
    let mut fills = Vec::new();
    for id in 0..n {
        let (model, mem) = MODELS[(rng.next_u64() % 3) as usize];
        let green = (rng.next_u64() % 101) as f64 / 100.0;
        let spec = OfferSpec {
            supplier: SupplierId(rng.next_u64() % 5),
            gpu_model: model.into(),
            gpu_count: [1, 4, 8][(rng.next_u64() % 3) as usize],
            mem_gb: mem,
            cpu_cores: 16,
            ram_gb: 128,
            tflops: 312.0,
            storage_gb: 500,
            region: REGIONS[(rng.next_u64() % 3) as usize].into(),
            available_from_min: 0,
            available_until_min: 100_000,
            units: 1 + (rng.next_u64() % 4) as u32,
            // Few distinct prices, so ties in price and score happen.
            price_fen_per_min: 100 + 10 * (rng.next_u64() % 5) as i64,
            min_charge_fen: 500,
            green_share: green,
            carbon_g_per_kwh: 900.0 * (1.0 - green),
            pue: 1.2,
            utilisation: 0.5,
            public_good_discount_pct: 0,
            reputation: (rng.next_u64() % 6) as f64,
        };
        e.submit_offer(Offer::new(OfferId(id), spec).unwrap(), &mut fills)
            .unwrap();
    }
    e
}

fn demand(constraint: &str, max: i64, units: u32) -> Demand {
    Demand::new(
        DemandId(1),
        DemandSpec {
            consumer: ConsumerId(1),
            constraint: constraint.into(),
            max_price_fen_per_min: max,
            duration_min: 60,
            units,
            public_good: false,
            preference_weights: None,
        },
    )
    .unwrap()
}

const CONSTRAINTS: [&str; 5] = [
    r#"gpu_model == "A100" and gpu_count >= 8 and mem_gb >= 80 and green_share >= 0.5"#,
    r#"region in ["cn-west", "cn-north"] or reputation >= 4"#,
    "true",
    r#"not gpu_model == "4090" and carbon_g_per_kwh < 300"#,
    r#"gpu_model == "V100""#,
];

#[test]
fn search_returns_exactly_explains_candidates_in_each_order() {
    let e = book(11, 600);
    for c in CONSTRAINTS {
        for (max, units) in [(1_000, 1), (120, 2), (100, 4)] {
            let d = demand(c, max, units);
            let full = e.explain(&d);
            for order in SearchOrder::ALL {
                let page = e.search(&d, order, usize::MAX);
                assert_eq!(page.total, full.candidates.len(), "{c} {order:?}");
                let mut want: Vec<(OfferId, i64, usize)> = full
                    .candidates
                    .iter()
                    .map(|cand| {
                        let o = e.resting_offer(cand.offer).unwrap();
                        let v = match order {
                            SearchOrder::Rank => 0,
                            SearchOrder::Price => o.price_fen_per_min(),
                            SearchOrder::Score => -i64::from(cand.score.score_bp),
                            SearchOrder::Reputation => -(o.spec().reputation as i64),
                        };
                        (cand.offer, v, cand.rank)
                    })
                    .collect();
                want.sort_by_key(|w| (w.1, w.2));
                let got: Vec<OfferId> = page.hits.iter().map(|h| h.offer).collect();
                let want: Vec<OfferId> = want.iter().map(|w| w.0).collect();
                assert_eq!(got, want, "{c} {order:?}");
                let short = e.search(&d, order, 7);
                assert_eq!(short.total, page.total);
                assert_eq!(short.hits[..], page.hits[..page.hits.len().min(7)]);
            }
        }
    }
}

#[test]
fn explanation_pages_are_prefixes_and_verdicts_agree() {
    let e = book(5, 300);
    for c in CONSTRAINTS {
        let d = demand(c, 120, 2);
        let full = e.explain(&d);
        let page = e.explain_page(&d, 3, 10);
        assert_eq!(page.candidates_total, full.candidates.len());
        assert_eq!(page.rejected_total, full.rejected.len());
        assert_eq!(page.explanation.would_match, full.would_match);
        let n = full.candidates.len().min(3);
        assert_eq!(page.explanation.candidates[..], full.candidates[..n]);
        let n = full.rejected.len().min(10);
        assert_eq!(page.explanation.rejected[..], full.rejected[..n]);
        let none = e.explain_page(&d, 0, 0);
        assert_eq!(none.explanation.would_match, full.would_match);
        assert!(none.explanation.candidates.is_empty() && none.explanation.rejected.is_empty());
        for r in &full.rejected {
            assert_eq!(
                e.verdict(&d, r.offer),
                Some(Verdict::Rejected {
                    rejection: r.rejection.clone()
                })
            );
        }
        for cand in &full.candidates {
            assert!(matches!(
                e.verdict(&d, cand.offer),
                Some(Verdict::Candidate { .. })
            ));
        }
    }
    assert_eq!(e.verdict(&demand("true", 1, 1), OfferId(10_000)), None);
}

#[test]
fn estimates_charge_price_units_minutes_and_the_minimum() {
    let e = book(3, 5);
    let o = e.resting_offer(OfferId(0)).unwrap();
    let p = o.price_fen_per_min();
    assert_eq!(estimate_cost_fen(o, 2, 60, false), (p * 2 * 60).max(500));
    assert_eq!(estimate_cost_fen(o, 1, 1, false), 500);
}
