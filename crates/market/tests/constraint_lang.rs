//! The constraint language: valid expressions, errors with token positions, precedence
//! and type rules, evaluation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use suanli_market::attrs::{Offer, OfferId, OfferSpec, SupplierId};
use suanli_market::constraint::{Constraint, ConstraintError, Span};

fn offer() -> Offer {
    Offer::new(
        OfferId(1),
        OfferSpec {
            supplier: SupplierId(1),
            gpu_model: "A100".into(),
            gpu_count: 8,
            mem_gb: 80,
            cpu_cores: 64,
            ram_gb: 512,
            tflops: 312.0,
            storage_gb: 2000,
            region: "cn-west".into(),
            available_from_min: 0,
            available_until_min: 10_000,
            units: 4,
            price_fen_per_min: 300,
            min_charge_fen: 1000,
            green_share: 0.6,
            carbon_g_per_kwh: 300.0,
            pue: 1.2,
            utilisation: 0.7,
            public_good_discount_pct: 10,
            reputation: 4.5,
        },
    )
    .unwrap()
}

fn eval(src: &str) -> bool {
    Constraint::parse(src).unwrap().matches(&offer())
}

fn err(src: &str) -> ConstraintError {
    Constraint::parse(src).unwrap_err()
}

fn at(src: &str, needle: &str) -> Span {
    let start = src.find(needle).unwrap();
    Span {
        start,
        end: start + needle.len(),
    }
}

#[test]
fn the_issue_example_parses_and_evaluates() {
    assert!(eval(
        r#"gpu_model in ["A100","H100"] and mem_gb >= 80 and region == "cn-west""#
    ));
    assert!(!eval(r#"gpu_model in ["H100"] and mem_gb >= 80"#));
    assert!(eval(r#"gpu_model not in ["H100", "4090"]"#));
}

#[test]
fn numeric_comparisons_mix_ints_and_floats() {
    assert!(eval("tflops > 300"));
    assert!(eval("mem_gb >= 79.5"));
    assert!(eval(
        "green_share >= 0.5 and carbon_g_per_kwh < 400 and pue <= 1.2"
    ));
    assert!(!eval("reputation > 4.5"));
    assert!(eval("price_fen_per_min != 301 and units == 4"));
    assert!(eval("-1 < available_from_min"));
    assert!(eval("mem_gb in [40, 80.0]"));
}

#[test]
fn precedence_and_or_not_parentheses() {
    // and binds tighter than or: true or (false and false) = true
    assert!(eval("mem_gb == 80 or mem_gb == 1 and mem_gb == 2"));
    // parentheses override: (true or false) and false = false
    assert!(!eval("(mem_gb == 80 or mem_gb == 1) and mem_gb == 2"));
    // not binds tighter than and: (not false) and true
    assert!(eval("not mem_gb == 1 and mem_gb == 80"));
    // not not
    assert!(eval("not not true"));
    assert!(!eval("not (true or false)"));
    assert!(eval("false or true"));
}

#[test]
fn syntax_errors_point_at_the_offending_token() {
    let src = "mem_gb >= 80 and and region == \"x\"";
    let e = err(src);
    assert!(matches!(e, ConstraintError::Unexpected { .. }), "{e}");
    assert_eq!(e.span(), Span { start: 17, end: 20 });

    let src = "mem_gb >= 80 region == \"x\"";
    assert_eq!(err(src).span(), at(src, "region"));

    let src = "(mem_gb >= 80";
    let e = err(src);
    assert_eq!(e.span(), Span { start: 13, end: 13 });
    assert!(e.to_string().contains("`)`"), "{e}");

    let src = "mem_gb >= 80 & x";
    assert!(matches!(
        err(src),
        ConstraintError::UnexpectedChar { ch: '&', .. }
    ));
    assert_eq!(err(src).span(), at(src, "&"));

    let src = "mem_gb >= 8.0.0";
    assert!(matches!(err(src), ConstraintError::BadNumber { .. }));
    assert_eq!(err(src).span(), at(src, "8.0.0"));

    let src = "gpu_model in [\"A100\" \"H100\"]";
    assert_eq!(err(src).span(), at(src, "\"H100\""));

    assert!(matches!(err(""), ConstraintError::Unexpected { .. }));
    assert!(matches!(err("mem_gb"), ConstraintError::Unexpected { .. }));
}

#[test]
fn unknown_attributes_are_named() {
    let src = "mem_gb >= 80 and vram >= 3";
    let e = err(src);
    assert_eq!(
        e,
        ConstraintError::UnknownAttribute {
            name: "vram".into(),
            span: at(src, "vram")
        }
    );
}

#[test]
fn type_errors() {
    let src = "mem_gb == \"80\"";
    let e = err(src);
    assert!(matches!(e, ConstraintError::Type { .. }), "{e}");
    assert_eq!(e.span(), at(src, "\"80\""));

    let src = "region < \"cn\"";
    let e = err(src);
    assert!(matches!(e, ConstraintError::Type { .. }));
    assert_eq!(e.span(), at(src, "<"));

    let src = "gpu_model in [\"A100\", 3]";
    assert_eq!(err(src).span(), at(src, "3"));

    let src = "region == mem_gb";
    assert!(matches!(err(src), ConstraintError::Type { .. }));
}

#[test]
fn limits_are_enforced() {
    let long = "true or ".repeat(600) + "true";
    assert!(matches!(err(&long), ConstraintError::TooLong { .. }));
    let deep = "(".repeat(40) + "true" + &")".repeat(40);
    assert!(matches!(err(&deep), ConstraintError::Limit { .. }));
    let list: Vec<String> = (0..70).map(|i| i.to_string()).collect();
    let src = format!("mem_gb in [{}]", list.join(","));
    assert!(matches!(err(&src), ConstraintError::Limit { .. }));
}

#[test]
fn first_failure_names_the_first_failing_clause() {
    let src = "region == \"cn-west\" and mem_gb >= 96 and gpu_model == \"H100\"";
    let c = Constraint::parse(src).unwrap();
    let f = c.first_failure(&offer()).unwrap();
    assert_eq!(f.index, 1);
    assert_eq!(f.clause, "mem_gb >= 96");
    assert_eq!(f.span, at(src, "mem_gb >= 96"));
    assert_eq!(f.observed, vec!["mem_gb = 80".to_string()]);
    let ok = Constraint::parse("mem_gb >= 80").unwrap();
    assert!(ok.first_failure(&offer()).is_none());
}

#[test]
fn strings_with_escapes_and_unicode() {
    assert!(Constraint::parse(r#"region != "华东\"\\""#).is_ok());
    let src = "region == \"cn-west\" and 区域 == 1";
    assert!(matches!(
        err(src),
        ConstraintError::UnexpectedChar { ch: '区', .. }
    ));
    assert_eq!(err(src).span(), Span { start: 24, end: 27 });
}
