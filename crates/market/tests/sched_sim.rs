//! Schedulers and the simulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use suanli_market::attrs::{ConsumerId, DemandId, Offer, OfferId, OfferSpec, SupplierId};
use suanli_market::matching::{Demand, DemandSpec};
use suanli_market::ot::SinkhornParams;
use suanli_market::prefs::PrefWeights;
use suanli_market::sched::{self, Job};
use suanli_market::sim::{self, SimParams};

fn node(id: u64, mem: u32, units: u32, green: f64, price: i64) -> Offer {
    Offer::new(
        OfferId(id),
        OfferSpec {
            supplier: SupplierId(id),
            gpu_model: "A100".into(),
            gpu_count: 1,
            mem_gb: mem,
            cpu_cores: 8,
            ram_gb: 64,
            tflops: 312.0,
            storage_gb: 100,
            region: "cn-east".into(),
            available_from_min: 0,
            available_until_min: 1000,
            units,
            price_fen_per_min: price,
            min_charge_fen: 0,
            green_share: green,
            carbon_g_per_kwh: 500.0,
            pue: 1.2,
            utilisation: 0.5,
            public_good_discount_pct: 0,
            reputation: 4.0,
        },
    )
    .unwrap()
}

fn job(id: u64, consumer: u64, mem: u32, units: u32) -> Job {
    Job {
        demand: Demand::new(
            DemandId(id),
            DemandSpec {
                consumer: ConsumerId(consumer),
                constraint: format!("mem_gb >= {mem}"),
                max_price_fen_per_min: 100,
                duration_min: 10,
                units,
                public_good: false,
                preference_weights: None,
            },
        )
        .unwrap(),
        home_region: "cn-east".into(),
    }
}

#[test]
fn ot_scheduler_follows_preferences_and_capacities() {
    // Node 0 green and pricier, node 1 brown and cheap; one unit each.
    let nodes = vec![node(0, 80, 1, 1.0, 50), node(1, 80, 1, 0.0, 10)];
    let jobs = vec![job(0, 0, 40, 1), job(1, 1, 40, 1)];
    let mut prefs = HashMap::new();
    prefs.insert(ConsumerId(0), PrefWeights([-0.1, 5.0, 0.0, 0.0, 0.0, 0.0])); // green lover
    prefs.insert(ConsumerId(1), PrefWeights([-8.0, 0.0, 0.0, 0.0, 0.0, 0.0])); // price hawk
    let s = sched::schedule_ot(&jobs, &nodes, &prefs, &SinkhornParams::default()).unwrap();
    assert_eq!(s.assignment.node_of_job, vec![Some(0), Some(1)]);
    // Swap preferences: the assignment swaps.
    let mut swapped = HashMap::new();
    swapped.insert(ConsumerId(0), prefs[&ConsumerId(1)]);
    swapped.insert(ConsumerId(1), prefs[&ConsumerId(0)]);
    let s = sched::schedule_ot(&jobs, &nodes, &swapped, &SinkhornParams::default()).unwrap();
    assert_eq!(s.assignment.node_of_job, vec![Some(1), Some(0)]);
}

#[test]
fn explicit_demand_weights_override_learned_ones() {
    let nodes = vec![node(0, 80, 1, 1.0, 50), node(1, 80, 1, 0.0, 10)];
    let mut spec = DemandSpec {
        consumer: ConsumerId(0),
        constraint: "true".into(),
        max_price_fen_per_min: 100,
        duration_min: 10,
        units: 1,
        public_good: false,
        preference_weights: Some([0.0, 5.0, 0.0, 0.0, 0.0, 0.0]),
    };
    let green = Job {
        demand: Demand::new(DemandId(0), spec.clone()).unwrap(),
        home_region: "cn-east".into(),
    };
    let mut prefs = HashMap::new();
    prefs.insert(ConsumerId(0), PrefWeights([-8.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
    let s = sched::schedule_ot(&[green], &nodes, &prefs, &SinkhornParams::default()).unwrap();
    assert_eq!(s.assignment.node_of_job, vec![Some(0)]);
    spec.preference_weights = Some([f64::NAN; 6]);
    assert!(Demand::new(DemandId(1), spec).is_err());
}

#[test]
fn every_scheduler_respects_feasibility_and_capacity() {
    let nodes = vec![
        node(0, 24, 3, 0.2, 10),
        node(1, 80, 2, 0.9, 40),
        node(2, 48, 4, 0.5, 20),
    ];
    let jobs: Vec<Job> = (0..10)
        .map(|k| job(k, k % 3, [16, 40, 80][(k % 3) as usize], 1 + (k % 2) as u32))
        .collect();
    let prefs = HashMap::new();
    let ot = sched::schedule_ot(&jobs, &nodes, &prefs, &SinkhornParams::default())
        .unwrap()
        .assignment;
    let a = sched::schedule_score_rank(&jobs, &nodes).unwrap();
    let b = sched::schedule_most_free_memory(&jobs, &nodes).unwrap();
    for asg in [&ot, &a, &b] {
        let load = sched::load(asg, &jobs, nodes.len());
        for (j, n) in nodes.iter().enumerate() {
            assert!(load[j] <= u64::from(n.units()));
        }
        for (i, j) in asg.node_of_job.iter().enumerate() {
            if let Some(j) = j {
                assert!(jobs[i].feasible(&nodes[*j]));
            }
        }
    }
}

#[test]
fn most_free_memory_baseline_picks_the_roomiest_node() {
    let nodes = vec![node(0, 80, 1, 0.0, 10), node(1, 40, 4, 0.0, 10)];
    let jobs = vec![job(0, 0, 16, 1), job(1, 0, 16, 1)];
    let b = sched::schedule_most_free_memory(&jobs, &nodes).unwrap();
    // 1×80 = 80 < 4×40 = 160, then 80 vs 3×40 = 120.
    assert_eq!(b.node_of_job, vec![Some(1), Some(1)]);
}

#[test]
fn ot_scheduler_beats_both_baselines_on_satisfaction() {
    let report = sim::run(&SimParams::default()).unwrap();
    let sat = |n: &str| report.result(n).unwrap().satisfaction;
    let (ot, rank, mem) = (
        sat("ot_learned"),
        sat("score_rank"),
        sat("most_free_memory"),
    );
    assert!(ot > rank && ot > mem, "ot {ot} rank {rank} mem {mem}");
    assert!(report.ot_converged);
    assert!(
        report.prefs_cosine_mean > 0.5,
        "{}",
        report.prefs_cosine_mean
    );
    // Learned preferences cannot beat knowing the truth by much.
    assert!(sat("ot_true_prefs") + 0.05 >= ot);
    // Same seed, same report.
    assert_eq!(report, sim::run(&SimParams::default()).unwrap());
}

#[test]
fn simulator_refuses_bad_parameters() {
    let bad = SimParams {
        consumers: 0,
        ..SimParams::default()
    };
    assert!(sim::run(&bad).is_err());
    let bad = SimParams {
        capacity_ratio: f64::NAN,
        ..SimParams::default()
    };
    assert!(sim::run(&bad).is_err());
}
