#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Properties over arbitrary input: round trips hold and nothing panics.

use proptest::prelude::*;
use suanli_primitives::SecretKey;
use suanli_vc::time::{TIME_MS_MAX, format_datetime_ms, parse_datetime_ms};
use suanli_vc::{DidKey, decode_ed25519_multikey, status_list};

proptest! {
    #[test]
    fn datetime_round_trips(ms in 0..=TIME_MS_MAX) {
        let s = format_datetime_ms(ms).unwrap();
        prop_assert_eq!(parse_datetime_ms(&s).unwrap(), ms);
    }

    #[test]
    fn offsets_shift_the_instant(ms in 86_400_000..TIME_MS_MAX - 86_400_000, minutes in -(14 * 60i64)..=14 * 60) {
        // The same wall-clock time at offset +m is m minutes earlier in UTC.
        let utc = format_datetime_ms(ms).unwrap();
        let sign = if minutes < 0 { '-' } else { '+' };
        let m = minutes.unsigned_abs();
        let local = format!("{}{sign}{:02}:{:02}", utc.trim_end_matches('Z'), m / 60, m % 60);
        let expected = i128::from(ms) - i128::from(minutes) * 60_000;
        prop_assert_eq!(i128::from(parse_datetime_ms(&local).unwrap()), expected);
    }

    #[test]
    fn parsers_never_panic(s in ".{0,80}") {
        let _ = parse_datetime_ms(&s);
        let _ = DidKey::parse(&s);
        let _ = decode_ed25519_multikey(&s);
        let _ = status_list::decode_list(&s);
        let _ = suanli_vc::did::parse_did_url(&s);
    }

    #[test]
    fn did_key_round_trips(seed in any::<[u8; 32]>()) {
        let pk = SecretKey::from_seed(&seed).public();
        let dk = DidKey::from_public_key(&pk);
        prop_assert_eq!(DidKey::parse(dk.did()).unwrap().public_key(), pk);
    }

    #[test]
    fn status_bits_round_trip(indices in proptest::collection::vec(0u64..131_072, 0..20)) {
        let mut bits = vec![0u8; status_list::STATUS_LIST_BITS_MIN / 8];
        for i in &indices {
            status_list::set_bit(&mut bits, *i);
        }
        let back = status_list::decode_list(&status_list::encode_list(&bits).unwrap()).unwrap();
        let distinct: std::collections::BTreeSet<u64> = indices.iter().copied().collect();
        for i in &distinct {
            prop_assert!(status_list::bit(&back, *i));
        }
        let set: u32 = back.iter().map(|b| b.count_ones()).sum();
        prop_assert_eq!(set as usize, distinct.len());
    }
}
