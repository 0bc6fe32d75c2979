//! The catalogue rules' unit tests.

#![allow(clippy::unwrap_used)]

use super::*;

pub(crate) fn good() -> ResourceDraft {
    ResourceDraft {
        name: "gpu-node-01".into(),
        location: "Ningxia DC hall 2".into(),
        status: "Online".into(),
        gpu_model: "gpu-a100".into(),
        gpu_count: 8,
        gpu_mem_gb: 80,
        cpu_cores: 128,
        ram_gb: 1024,
        storage_gb: 8000,
        tflops: 2496.0,
        region: "cn-west".into(),
        available_from_min: 0,
        available_until_min: 600_000,
        green_share: 0.6,
        carbon_g_per_kwh: 300.0,
        pue: 1.2,
        utilisation: 0.3,
    }
}

#[test]
fn gpu_models_normalise_to_one() {
    for raw in ["a100", "A100", "gpu-a100", " Nvidia A100 ", "GPU_A100"] {
        assert_eq!(GpuModel::parse(raw).unwrap().as_str(), "A100", "{raw}");
    }
    assert_eq!(GpuModel::parse("a100-40g").unwrap().as_str(), "A100-40G");
    assert_eq!(GpuModel::parse("a1000"), Err(Problem::UnknownGpuModel));
    assert_eq!(GpuModel::parse(" "), Err(Problem::Missing));
}

#[test]
fn a_good_resource_is_canonical() {
    let s = good().check().unwrap();
    assert_eq!(s.get().gpu_model, "A100");
    assert_eq!(s.status(), ResourceStatus::Online);
}

#[test]
fn every_out_of_range_attribute_is_named_with_the_markets_range() {
    let mut d = good();
    d.pue = 0.5;
    d.green_share = 1.5;
    d.utilisation = f64::NAN;
    d.available_until_min = -1;
    d.gpu_model = "x".into();
    let e = d.check().unwrap_err();
    let fields: Vec<_> = e.iter().map(|p| p.field).collect();
    assert_eq!(
        fields,
        [
            "gpu_model",
            "green_share",
            "pue",
            "utilisation",
            "available_until_min"
        ]
    );
    assert_eq!(
        e[2].problem,
        Problem::OutOfRange {
            range: "1..=3".into()
        }
    );
}

const HEAD: &str = "name,location,status,gpu_model,gpu_count,gpu_mem_gb,cpu_cores,ram_gb,storage_gb,tflops,region,available_from_min,available_until_min,green_share,carbon_g_per_kwh,pue,utilisation";

#[test]
fn csv_imports_all_or_names_every_bad_cell() {
    let ok = format!(
        "{HEAD}\nn1,\"DC 1, hall 2\",online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1\n\nn2,DC2,maintenance,H100,4,80,64,512,4000,3958,cn-east,0,100,0,500,1.5,0\n"
    );
    let got = parse_csv(&ok).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].get().location, "DC 1, hall 2");
    let bad = format!(
        "{HEAD}\nn1,DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,9,0.1\nn2,DC,up,a100,-1,80,128,1024,8000,x,cn-west,0,100,0.5,300,1.2,0.1\nn3,DC\n"
    );
    let e = parse_csv(&bad).unwrap_err();
    let cells: Vec<_> = e
        .iter()
        .map(|p| (p.line, p.column, p.problem.code()))
        .collect();
    assert_eq!(
        cells,
        [
            (2, "pue", "out_of_range"),
            (3, "gpu_count", "not_a_whole_number"),
            (3, "tflops", "not_a_number"),
            (3, "status", "unknown_status"),
            (4, "file", "cell_count"),
        ]
    );
}

#[test]
fn csv_names_given_twice_are_problems_of_their_later_lines() {
    let row = |name: &str| {
        format!("{name},DC,online,a100,8,80,128,1024,8000,2496,cn-west,0,100,0.5,300,1.2,0.1")
    };
    let text = format!("{HEAD}\n{}\n{}\n\n{}\n", row("n1"), row("n2"), row("n1"));
    let e = parse_csv(&text).unwrap_err();
    let cells: Vec<_> = e
        .iter()
        .map(|p| (p.line, p.column, p.problem.clone()))
        .collect();
    assert_eq!(
        cells,
        [(5, "name", Problem::DuplicateName { line: 2 })],
        "line 5 (after a blank line) repeats line 2"
    );
    assert_eq!(e[0].problem.code(), "duplicate_name");
    let lines: Vec<usize> = parse_csv_lines(&format!("{HEAD}\n{}\n\n{}\n", row("a"), row("b")))
        .unwrap()
        .iter()
        .map(|(l, _)| *l)
        .collect();
    assert_eq!(lines, [2, 4]);
}

#[test]
fn csv_header_problems_are_named() {
    let e = parse_csv("name,colour\n").unwrap_err();
    assert!(e.iter().any(|p| p.problem
        == Problem::UnknownColumn {
            name: "colour".into()
        }));
    assert!(
        e.iter()
            .any(|p| p.column == "pue" && p.problem == Problem::MissingColumn)
    );
    assert_eq!(parse_csv("").unwrap_err()[0].problem, Problem::Missing);
}

fn mode() -> ModeDraft {
    ModeDraft {
        name: "A100 by the minute".into(),
        price_fen_per_min: 300,
        min_charge_fen: 1000,
        checkin_period_min: 60,
        weights: [("gpu".to_owned(), 700), ("network".to_owned(), 300)].into(),
        terms: vec![
            TermOption {
                months: 12,
                discount_bp: 2000,
            },
            TermOption {
                months: 1,
                discount_bp: 500,
            },
        ],
        trade_start_cpt: 1,
        checkin_cpt: 2,
    }
}

#[test]
fn modes_check_every_field() {
    let s = mode().check().unwrap();
    assert_eq!(s.get().terms[0].months, 1);
    let mut m = mode();
    m.price_fen_per_min = PRICE_MAX_FEN_PER_MIN + 1;
    m.weights.insert("vram".into(), 10);
    m.terms.push(TermOption {
        months: 12,
        discount_bp: 9_500,
    });
    m.checkin_cpt = 0;
    let e = m.check().unwrap_err();
    let codes: Vec<_> = e.iter().map(|p| (p.field, p.problem.code())).collect();
    assert_eq!(
        codes,
        [
            ("price_fen_per_min", "out_of_range"),
            ("weights", "unknown_dimension"),
            ("weights", "weights_sum"),
            ("terms", "out_of_range"),
            ("terms", "duplicate_term"),
            ("checkin_cpt", "out_of_range"),
        ]
    );
}

#[test]
fn the_listing_review_moves_in_order() {
    use OfferEvent as E;
    use OfferStatus as S;
    assert_eq!(next_status(S::Draft, E::Publish), Ok(S::InReview));
    assert_eq!(next_status(S::InReview, E::Approve), Ok(S::Listed));
    assert_eq!(next_status(S::InReview, E::Reject), Ok(S::Rejected));
    assert_eq!(next_status(S::Listed, E::Withdraw), Ok(S::Withdrawn));
    assert_eq!(
        next_status(S::Rejected, E::Approve),
        Err(OfferRefusal::WrongStatus(S::Rejected))
    );
    assert_eq!(
        next_status(S::Draft, E::Withdraw).unwrap_err().code(),
        "offer_wrong_status"
    );
    assert_eq!(
        may_edit(&[S::Listed, S::InReview]),
        Err(OfferRefusal::InReview)
    );
    assert_eq!(may_edit(&[S::Listed, S::Rejected]), Ok(()));
    for s in OfferStatus::ALL {
        assert_eq!(OfferStatus::parse(s.as_str()), Some(s));
    }
}

#[test]
fn offers_check_their_fields() {
    let d = OfferDraft {
        title: " A100 x8 ".into(),
        mode_id: 1,
        resource_ids: vec![3, 1, 3],
        units: 2,
        valid_from_ms: 10,
        valid_until_ms: 20,
    };
    let c = d.check().unwrap();
    assert_eq!(
        (c.title.as_str(), c.resource_ids.clone()),
        ("A100 x8", vec![1, 3])
    );
    let e = OfferDraft {
        resource_ids: vec![],
        units: 0,
        valid_until_ms: 10,
        ..d
    }
    .check()
    .unwrap_err();
    assert_eq!(e.len(), 3);
    assert_eq!(
        rejection_reason("  ").unwrap_err().problem,
        Problem::Missing
    );
}
