//! Property tests of the `mysql_decimal` collation and decimal rounding.
use std::cmp::Ordering;

use borealis_functions::exact_decimal::{compare_decimal_text, round_text};
use proptest::prelude::*;

/// `mantissa / 10^scale` as plain decimal text (`-12.345`).
fn decimal_text(mantissa: i64, scale: u32) -> String {
    decimal_text_i128(i128::from(mantissa), scale)
}

fn decimal_text_i128(mantissa: i128, scale: u32) -> String {
    let digits = mantissa.unsigned_abs().to_string();
    let sign = if mantissa < 0 { "-" } else { "" };
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int_part, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int_part}.{frac}")
}

/// Decimals with at most 15 significant digits: exactly what f64 keeps.
fn arb_short_decimal() -> impl Strategy<Value = String> {
    (-999_999_999_999_999i64..=999_999_999_999_999, 0u32..=12).prop_map(|(m, s)| decimal_text(m, s))
}

/// Any decimal text, including ones past f64's precision.
fn arb_long_decimal() -> impl Strategy<Value = String> {
    "[+-]?[0-9]{1,25}(\\.[0-9]{0,12})?"
}

/// Mostly numbers, sometimes junk, so the fallback order is exercised too.
fn arb_any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => arb_long_decimal(),
        1 => "[ 0-9a-z.+-]{0,6}",
        1 => "[0-9]{1,3}e[+-]?[0-9]{1,2}",
    ]
}

proptest! {
    #[test]
    fn agrees_with_f64_within_its_precision(a in arb_short_decimal(), b in arb_short_decimal()) {
        let (fa, fb): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
        prop_assert_eq!(compare_decimal_text(&a, &b), fa.partial_cmp(&fb).unwrap(), "{} vs {}", a, b);
    }

    #[test]
    fn is_antisymmetric(a in arb_any_text(), b in arb_any_text()) {
        prop_assert_eq!(compare_decimal_text(&a, &b), compare_decimal_text(&b, &a).reverse());
        prop_assert_eq!(compare_decimal_text(&a, &a), Ordering::Equal);
    }

    #[test]
    fn is_transitive(a in arb_any_text(), b in arb_any_text(), c in arb_any_text()) {
        let mut v = [a, b, c];
        v.sort_by(|x, y| compare_decimal_text(x, y));
        prop_assert_ne!(compare_decimal_text(&v[0], &v[1]), Ordering::Greater);
        prop_assert_ne!(compare_decimal_text(&v[1], &v[2]), Ordering::Greater);
        prop_assert_ne!(compare_decimal_text(&v[0], &v[2]), Ordering::Greater);
    }

    #[test]
    fn padding_does_not_matter(m in -999_999_999i64..=999_999_999, s in 0u32..=6, zeros in 0usize..4) {
        let plain = decimal_text(m, s);
        let dotted = if plain.contains('.') { plain.clone() } else { format!("{plain}.") };
        let padded = format!("  {dotted}{}  ", "0".repeat(zeros));
        let signed = if m >= 0 { format!("+0{plain}") } else { format!("-0{}", &plain[1..]) };
        let exponent = format!("{}e-3", decimal_text(m, s.saturating_sub(3)));
        for other in [&padded, &signed] {
            prop_assert_eq!(compare_decimal_text(&plain, other), Ordering::Equal, "{} vs {}", plain, other);
        }
        if s >= 3 {
            prop_assert_eq!(compare_decimal_text(&plain, &exponent), Ordering::Equal, "{} vs {}", plain, exponent);
        }
    }

    #[test]
    fn rounding_to_own_scale_is_identity(m in any::<i64>(), s in 0u32..=18) {
        let text = decimal_text(m, s);
        prop_assert_eq!(round_text(&text, s), Some(text.clone()));
        // One place less: integer reference rounding half away from zero.
        if s > 0 {
            let (q, r) = (i128::from(m) / 10, i128::from(m) % 10);
            let q = if r.abs() >= 5 { q + r.signum() } else { q };
            prop_assert_eq!(round_text(&text, s - 1), Some(decimal_text_i128(q, s - 1)));
        }
    }
}
