//! The continuous engine: price-time priority, incentive adjustment, determinism, explain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use suanli_market::attrs::{ConsumerId, DemandId, Offer, OfferId, OfferSpec, SupplierId};
use suanli_market::incentive::IncentivePolicy;
use suanli_market::matching::{Demand, DemandSpec, Engine, Fill, Rejection};

fn spec(price: i64, green: f64) -> OfferSpec {
    OfferSpec {
        supplier: SupplierId(7),
        gpu_model: "A100".into(),
        gpu_count: 1,
        mem_gb: 80,
        cpu_cores: 16,
        ram_gb: 128,
        tflops: 312.0,
        storage_gb: 500,
        region: "cn-west".into(),
        available_from_min: 0,
        available_until_min: 100_000,
        units: 2,
        price_fen_per_min: price,
        min_charge_fen: 0,
        green_share: green,
        carbon_g_per_kwh: 800.0 * (1.0 - green),
        pue: 1.3,
        utilisation: 0.5,
        public_good_discount_pct: 0,
        reputation: 4.0,
    }
}

fn offer(id: u64, price: i64, green: f64) -> Offer {
    Offer::new(OfferId(id), spec(price, green)).unwrap()
}

fn demand(id: u64, constraint: &str, max: i64, units: u32) -> Demand {
    Demand::new(
        DemandId(id),
        DemandSpec {
            consumer: ConsumerId(id),
            constraint: constraint.into(),
            max_price_fen_per_min: max,
            duration_min: 10,
            units,
            public_good: false,
            preference_weights: None,
        },
    )
    .unwrap()
}

#[test]
fn cheapest_offer_wins_then_earliest() {
    let mut e = Engine::new(IncentivePolicy::none());
    let mut fills = Vec::new();
    e.submit_offer(offer(1, 300, 0.0), &mut fills).unwrap();
    e.submit_offer(offer(2, 200, 0.0), &mut fills).unwrap();
    e.submit_offer(offer(3, 200, 0.0), &mut fills).unwrap();
    assert!(fills.is_empty());
    let ids: Vec<u64> = (0..5)
        .map(|k| {
            e.submit_demand(demand(k, "mem_gb >= 80", 1000, 1))
                .unwrap()
                .unwrap()
                .offer
                .0
        })
        .collect();
    // Offer 2 (cheapest, earlier) until exhausted, then 3, then 1.
    assert_eq!(ids, vec![2, 2, 3, 3, 1]);
}

#[test]
fn price_limit_units_and_constraint_are_respected() {
    let mut e = Engine::new(IncentivePolicy::none());
    let mut fills = Vec::new();
    e.submit_offer(offer(1, 300, 0.0), &mut fills).unwrap();
    assert!(
        e.submit_demand(demand(1, "true", 299, 1))
            .unwrap()
            .is_none()
    );
    assert!(
        e.submit_demand(demand(2, "true", 300, 3))
            .unwrap()
            .is_none()
    );
    assert!(
        e.submit_demand(demand(3, "mem_gb > 80", 900, 1))
            .unwrap()
            .is_none()
    );
    let f = e.submit_demand(demand(4, "true", 300, 2)).unwrap().unwrap();
    assert_eq!(f.cost_fen, 300 * 2 * 10);
    assert_eq!(e.resting_offers(), 0);
    assert_eq!(e.resting_demands(), 3);
}

#[test]
fn resting_demands_fill_highest_limit_first_then_time() {
    let mut e = Engine::new(IncentivePolicy::none());
    assert!(
        e.submit_demand(demand(1, "true", 500, 1))
            .unwrap()
            .is_none()
    );
    assert!(
        e.submit_demand(demand(2, "true", 900, 1))
            .unwrap()
            .is_none()
    );
    assert!(
        e.submit_demand(demand(3, "true", 900, 1))
            .unwrap()
            .is_none()
    );
    assert!(
        e.submit_demand(demand(4, "mem_gb > 100", 2000, 1))
            .unwrap()
            .is_none()
    );
    let mut fills = Vec::new();
    e.submit_offer(offer(10, 400, 0.0), &mut fills).unwrap();
    let got: Vec<u64> = fills.iter().map(|f| f.demand.0).collect();
    assert_eq!(got, vec![2, 3]);
    assert!(fills.iter().all(|f| f.price_fen_per_min == 400));
    assert_eq!(e.resting_demands(), 2);
    assert_eq!(e.resting_offers(), 0);
}

#[test]
fn incentives_reorder_but_do_not_change_the_price_paid() {
    let mut plain = Engine::new(IncentivePolicy::none());
    let mut green = Engine::new(IncentivePolicy::default());
    let mut fills = Vec::new();
    for e in [&mut plain, &mut green] {
        e.submit_offer(offer(1, 100, 0.0), &mut fills).unwrap();
        e.submit_offer(offer(2, 105, 1.0), &mut fills).unwrap();
    }
    let p = plain
        .submit_demand(demand(1, "true", 200, 1))
        .unwrap()
        .unwrap();
    let g = green
        .submit_demand(demand(1, "true", 200, 1))
        .unwrap()
        .unwrap();
    assert_eq!(p.offer, OfferId(1));
    assert_eq!(g.offer, OfferId(2));
    assert_eq!(g.price_fen_per_min, 105);
    // A much cheaper brown offer still wins: the adjustment is bounded.
    let mut e = Engine::new(IncentivePolicy::default());
    e.submit_offer(offer(1, 50, 0.0), &mut fills).unwrap();
    e.submit_offer(offer(2, 105, 1.0), &mut fills).unwrap();
    let f = e.submit_demand(demand(1, "true", 200, 1)).unwrap().unwrap();
    assert_eq!(f.offer, OfferId(1));
}

fn run(seed: u64) -> Vec<Fill> {
    let mut x = seed;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut e = Engine::new(IncentivePolicy::default());
    let mut all = Vec::new();
    for k in 0..400u64 {
        if next() % 2 == 0 {
            let o = offer(k, 100 + (next() % 50) as i64, (next() % 100) as f64 / 100.0);
            e.submit_offer(o, &mut all).unwrap();
        } else {
            let mem = [40, 80, 96][(next() % 3) as usize];
            let d = demand(
                k,
                &format!("mem_gb >= {mem}"),
                120 + (next() % 40) as i64,
                1,
            );
            if let Some(f) = e.submit_demand(d).unwrap() {
                all.push(f);
            }
        }
    }
    all
}

#[test]
fn matching_is_deterministic() {
    let a = run(5);
    assert!(!a.is_empty());
    assert_eq!(a, run(5));
    assert_ne!(a, run(6));
}

#[test]
fn duplicates_and_cancels() {
    let mut e = Engine::new(IncentivePolicy::none());
    let mut fills = Vec::new();
    e.submit_offer(offer(1, 100, 0.0), &mut fills).unwrap();
    assert!(e.submit_offer(offer(1, 100, 0.0), &mut fills).is_err());
    assert!(e.cancel_offer(OfferId(1)));
    assert!(!e.cancel_offer(OfferId(1)));
    assert!(
        e.submit_demand(demand(1, "true", 500, 1))
            .unwrap()
            .is_none()
    );
    assert!(e.submit_demand(demand(1, "true", 500, 1)).is_err());
    assert!(e.cancel_demand(DemandId(1)));
    e.submit_offer(offer(2, 100, 0.0), &mut fills).unwrap();
    assert!(fills.is_empty());
}

#[test]
fn public_good_discount_and_minimum_charge() {
    let mut s = spec(100, 0.0);
    s.public_good_discount_pct = 30;
    s.min_charge_fen = 5000;
    let mut e = Engine::new(IncentivePolicy::none());
    let mut fills = Vec::new();
    e.submit_offer(Offer::new(OfferId(1), s).unwrap(), &mut fills)
        .unwrap();
    let mut ds = DemandSpec {
        consumer: ConsumerId(1),
        constraint: "true".into(),
        max_price_fen_per_min: 100,
        duration_min: 100,
        units: 1,
        public_good: true,
        preference_weights: None,
    };
    let f = e
        .submit_demand(Demand::new(DemandId(1), ds.clone()).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(f.cost_fen, 7000);
    ds.duration_min = 10;
    let f = e
        .submit_demand(Demand::new(DemandId(2), ds).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(f.cost_fen, 5000);
}

#[test]
fn explain_ranks_candidates_and_names_the_first_failed_clause() {
    let mut e = Engine::new(IncentivePolicy::default());
    let mut fills = Vec::new();
    e.submit_offer(offer(1, 100, 0.0), &mut fills).unwrap();
    e.submit_offer(offer(2, 100, 1.0), &mut fills).unwrap();
    let mut h100 = spec(150, 0.5);
    h100.gpu_model = "H100".into();
    e.submit_offer(Offer::new(OfferId(3), h100).unwrap(), &mut fills)
        .unwrap();
    let mut small = spec(90, 0.5);
    small.mem_gb = 40;
    e.submit_offer(Offer::new(OfferId(4), small).unwrap(), &mut fills)
        .unwrap();

    let d = demand(
        9,
        r#"region == "cn-west" and mem_gb >= 80 and gpu_model in ["A100"]"#,
        120,
        1,
    );
    let x = e.explain(&d);
    if std::env::var("SHOW_EXPLAIN").is_ok() {
        println!("{x}");
    }
    assert_eq!(x.would_match, Some(OfferId(2)));
    let ranked: Vec<u64> = x.candidates.iter().map(|c| c.offer.0).collect();
    assert_eq!(ranked, vec![2, 1]);
    assert!(x.candidates[0].score.score_bp > x.candidates[1].score.score_bp);
    assert_eq!(x.candidates[0].score.dimensions.len(), 5);
    let rej = |id: u64| {
        x.rejected
            .iter()
            .find(|r| r.offer == OfferId(id))
            .map(|r| r.rejection.clone())
            .unwrap()
    };
    match rej(4) {
        Rejection::Constraint(f) => {
            assert_eq!(f.clause, "mem_gb >= 80");
            assert_eq!(f.index, 1);
        }
        r => panic!("{r:?}"),
    }
    match rej(3) {
        Rejection::Constraint(f) => assert_eq!(f.clause, r#"gpu_model in ["A100"]"#),
        r => panic!("{r:?}"),
    }
    let text = x.to_string();
    assert!(text.contains("matches offer 2"), "{text}");
    assert!(text.contains("failed clause #2 `mem_gb >= 80`"), "{text}");
    // The engine really picks what explain said.
    let f = e.submit_demand(d).unwrap().unwrap();
    assert_eq!(f.offer, OfferId(2));

    // A demand that matches nothing: every offer is explained.
    let none = demand(10, "mem_gb >= 80", 50, 1);
    let x = e.explain(&none);
    assert_eq!(x.would_match, None);
    assert_eq!(x.rejected.len(), e.resting_offers());
    assert!(x.rejected.iter().any(|r| matches!(
        r.rejection,
        Rejection::PriceAboveLimit {
            max_fen_per_min: 50,
            ..
        }
    )));
    assert!(x.to_string().contains("matches nothing"));
    let big = demand(11, "true", 500, 3);
    let x = e.explain(&big);
    assert!(
        x.rejected
            .iter()
            .all(|r| matches!(r.rejection, Rejection::InsufficientUnits { wanted: 3, .. }))
    );
}

#[test]
fn partitioned_book_picks_what_a_global_walk_would() {
    // Offers spread over many partitions (model × memory × region); for every demand the
    // engine's pick must equal explain()'s first candidate, which ranks the whole book.
    let models = [("A100", 80), ("A100", 40), ("H100", 80), ("4090", 24)];
    let regions = ["cn-east", "cn-west", "cn-north"];
    let constraints = [
        r#"gpu_model in ["A100", "H100"] and mem_gb >= 80"#,
        "mem_gb >= 24",
        r#"region == "cn-east" and mem_gb >= 40"#,
        "mem_gb >= 40 and green_share >= 0.3",
        r#"not (gpu_model == "4090") or region != "cn-west""#,
        r#"region in ["cn-north"] and price_fen_per_min <= 130"#,
    ];
    let mut x = 12345u64;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut e = Engine::new(IncentivePolicy::default());
    let mut fills = Vec::new();
    let mut matched = 0;
    for k in 0..600u64 {
        if next() % 3 == 0 {
            let (model, mem) = models[(next() % 4) as usize];
            let mut s = spec(100 + (next() % 50) as i64, (next() % 100) as f64 / 100.0);
            s.gpu_model = model.into();
            s.mem_gb = mem;
            s.region = regions[(next() % 3) as usize].into();
            s.units = 1 + (next() % 3) as u32;
            e.submit_offer(Offer::new(OfferId(k), s).unwrap(), &mut fills)
                .unwrap();
        } else {
            let c = constraints[(next() % constraints.len() as u64) as usize];
            let d = demand(k, c, 110 + (next() % 50) as i64, 1 + (next() % 2) as u32);
            let expected = e.explain(&d).would_match;
            let got = e.submit_demand(d).unwrap().map(|f| f.offer);
            assert_eq!(got, expected, "demand {k} `{c}`");
            matched += usize::from(got.is_some());
        }
    }
    assert!(matched > 50, "{matched}");
}
