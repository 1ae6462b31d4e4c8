//! Property tests of the core helpers.
use std::cmp::Ordering;

use borealis_functions::autoinc::next_auto_increment;
use borealis_functions::collation::{compare_ci, fold_char};
use borealis_functions::decimal::{fixed_text, Mode};
use borealis_functions::interval::{add_interval, timestamp_diff, Field, Interval};
use borealis_functions::temporal::{
    format_datetime, parse_datetime_text, DateTime, MICROS_PER_DAY,
};
use proptest::prelude::*;

fn arb_datetime() -> impl Strategy<Value = DateTime> {
    (
        1i64..=9998,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| DateTime::new(y, mo, d, h, mi, s, 0).unwrap())
}

proptest! {
    #[test]
    fn ci_collation_is_a_consistent_order(a in "[a-zA-Zé ]{0,8}", b in "[a-zA-ZÉ ]{0,8}", c in "[a-zA-Z ]{0,8}") {
        prop_assert_eq!(compare_ci(&a, &b), compare_ci(&b, &a).reverse());
        if compare_ci(&a, &b) != Ordering::Greater && compare_ci(&b, &c) != Ordering::Greater {
            prop_assert_ne!(compare_ci(&a, &c), Ordering::Greater);
        }
        let slow = |x: &str| x.trim_end_matches(' ').chars().map(fold_char).collect::<String>();
        prop_assert_eq!(compare_ci(&a, &c), slow(&a).cmp(&slow(&c)));
        prop_assert_eq!(compare_ci(&a.to_uppercase(), &a), Ordering::Equal);
    }

    #[test]
    fn datetime_text_roundtrips(dt in arb_datetime()) {
        let text = format_datetime(&dt, 0);
        prop_assert_eq!(parse_datetime_text(&text).map(|p| p.dt), Some(dt));
    }

    #[test]
    fn adding_days_matches_timestampdiff(dt in arb_datetime(), days in -3000i64..3000) {
        let iv = Interval { months: 0, micros: days * MICROS_PER_DAY };
        if let Some(later) = add_interval(&dt, iv) {
            prop_assert_eq!(timestamp_diff(Field::Day, &dt, &later), days);
            prop_assert_eq!(later.daynr() - dt.daynr(), days);
        }
    }

    #[test]
    fn adding_months_never_overflows_the_month(dt in arb_datetime(), months in -200i64..200) {
        if let Some(r) = add_interval(&dt, Interval { months, micros: 0 }) {
            prop_assert!(r.day <= dt.day);
            prop_assert_eq!(timestamp_diff(Field::Month, &dt, &r).abs() <= months.abs(), true);
        }
    }

    #[test]
    fn rounding_is_within_half_a_unit(x in -1e9f64..1e9, places in 0i64..6) {
        let r: f64 = fixed_text(x, places, Mode::HalfAwayFromZero).parse().unwrap();
        let unit = 10f64.powi(-(places as i32));
        prop_assert!((r - x).abs() <= unit / 2.0 + 1e-6);
        let t: f64 = fixed_text(x, places, Mode::Truncate).parse().unwrap();
        prop_assert!(t.abs() <= x.abs() + 1e-9);
    }

    #[test]
    fn auto_increment_respects_offset(base in 0u64..1_000_000, inc in 1u64..64, off in 1u64..64) {
        let next = next_auto_increment(base, inc, off).unwrap();
        let off = if off > inc { 1 } else { off };
        prop_assert!(next > base);
        prop_assert_eq!(next % inc, off % inc);
        prop_assert!(next <= base + inc || next == off);
    }
}
