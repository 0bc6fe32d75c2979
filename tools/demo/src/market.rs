//! The market part of `suanli demo`: three suppliers' offers, one consumer's demand in the
//! constraint language, the explanation of why each offer ranks or fails, and the fill.

use suanli_market::attrs::{ConsumerId, DemandId, Offer, OfferId, OfferSpec, SupplierId};
use suanli_market::incentive::IncentivePolicy;
use suanli_market::matching::{Demand, DemandSpec, Engine};

struct Listing {
    id: u64,
    who: &'static str,
    model: &'static str,
    region: &'static str,
    price_fen_per_min: i64,
    green_share: f64,
}

const LISTINGS: [Listing; 4] = [
    Listing {
        id: 1,
        who: "coal-powered centre",
        model: "A100",
        region: "cn-west",
        price_fen_per_min: 180,
        green_share: 0.05,
    },
    Listing {
        id: 2,
        who: "hydro-powered centre",
        model: "H100",
        region: "cn-west",
        price_fen_per_min: 190,
        green_share: 0.95,
    },
    Listing {
        id: 3,
        who: "coastal centre",
        model: "A100",
        region: "cn-east",
        price_fen_per_min: 150,
        green_share: 0.30,
    },
    Listing {
        id: 4,
        who: "premium centre",
        model: "H100",
        region: "cn-west",
        price_fen_per_min: 400,
        green_share: 0.90,
    },
];

fn offer(l: &Listing) -> anyhow::Result<Offer> {
    let spec = OfferSpec {
        supplier: SupplierId(l.id),
        gpu_model: l.model.into(),
        gpu_count: 8,
        mem_gb: 80,
        cpu_cores: 64,
        ram_gb: 1024,
        tflops: 2496.0,
        storage_gb: 4000,
        region: l.region.into(),
        available_from_min: 0,
        available_until_min: 100_000,
        units: 4,
        price_fen_per_min: l.price_fen_per_min,
        min_charge_fen: 600,
        green_share: l.green_share,
        carbon_g_per_kwh: 800.0 * (1.0 - l.green_share),
        pue: 1.25,
        utilisation: 0.6,
        public_good_discount_pct: 0,
        reputation: 4.5,
    };
    Ok(Offer::new(OfferId(l.id), spec)?)
}

pub fn run() -> anyhow::Result<()> {
    let mut engine = Engine::new(IncentivePolicy::default());
    let mut fills = Vec::new();
    println!("1. Four suppliers list 8-GPU nodes (price per node-minute, green-energy share):");
    for l in &LISTINGS {
        engine.submit_offer(offer(l)?, &mut fills)?;
        println!(
            "   offer {} {:<21} {} {}  {} fen/min  green {:.0}%",
            l.id,
            l.who,
            l.model,
            l.region,
            l.price_fen_per_min,
            l.green_share * 100.0
        );
    }
    let constraint = r#"gpu_model in ["A100","H100"] and mem_gb >= 80 and region == "cn-west""#;
    let demand = Demand::new(
        DemandId(1),
        DemandSpec {
            consumer: ConsumerId(1),
            constraint: constraint.into(),
            max_price_fen_per_min: 250,
            duration_min: 120,
            units: 1,
            public_good: false,
            preference_weights: None,
        },
    )?;
    println!(
        "2. A consumer asks for `{constraint}`, at most 250 fen/min, one node for 120 minutes."
    );
    println!(
        "   Before ordering it can ask why each offer ranks or fails (published incentive policy):"
    );
    for line in engine.explain(&demand).to_string().lines() {
        println!("   {line}");
    }
    let fill = engine
        .submit_demand(demand)?
        .ok_or_else(|| anyhow::anyhow!("the demand should have matched"))?;
    println!(
        "3. It matches offer {} at {} fen/min: {} fen for {} minutes (the greener offer outranks the cheaper coal-powered one).",
        fill.offer.0, fill.price_fen_per_min, fill.cost_fen, fill.duration_min
    );
    println!(
        "   Batch scheduling by optimal transport on learned preferences: `suanli sched simulate`."
    );
    Ok(())
}
