//! Property tests: the constraint parser never panics, and every error points inside the
//! source at character boundaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use suanli_market::constraint::{Constraint, SOURCE_LEN_MAX_BYTES};

/// Fragments that make near-valid constraints likely.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("mem_gb".to_string()),
        Just("gpu_model".to_string()),
        Just("region".to_string()),
        Just("green_share".to_string()),
        Just("and".to_string()),
        Just("or".to_string()),
        Just("not".to_string()),
        Just("in".to_string()),
        Just("==".to_string()),
        Just(">=".to_string()),
        Just("<".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just("\"A100\"".to_string()),
        Just("\"华东".to_string()),
        Just("80".to_string()),
        Just("0.5".to_string()),
        Just("-".to_string()),
        Just("true".to_string()),
        "[a-z_]{1,6}".prop_map(|s| s),
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

proptest! {
    #[test]
    fn parser_never_panics_and_spans_are_in_range(parts in prop::collection::vec(fragment(), 0..24)) {
        let src = parts.join(" ");
        match Constraint::parse(&src) {
            Ok(c) => {
                prop_assert_eq!(c.source(), src.as_str());
            }
            Err(e) => {
                let sp = e.span();
                prop_assert!(sp.start <= sp.end, "{e}");
                if src.len() <= SOURCE_LEN_MAX_BYTES {
                    prop_assert!(sp.end <= src.len(), "{e}");
                    prop_assert!(src.is_char_boundary(sp.start) && src.is_char_boundary(sp.end), "{e}");
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,80}") {
        let _ = Constraint::parse(&src);
    }
}
