//! Decimal rounding of doubles as MySQL does it for exact values: on the
//! shortest decimal representation, half away from zero (`ROUND(1.005, 2)` = 1.01).

/// A non-negative decimal number as digits and the position of its point.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Digits {
    negative: bool,
    /// Significant digits, most significant first (no leading zeros unless zero).
    digits: Vec<u8>,
    /// How many of `digits` are before the decimal point (may be ≤ 0 or > len).
    int_len: i64,
}

fn decompose(x: f64) -> Digits {
    assert!(x.is_finite(), "decompose needs a finite value");
    let text = format!("{:e}", x.abs());
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    Digits {
        negative: x.is_sign_negative() && x != 0.0,
        digits,
        int_len: exp + 1,
    }
}

/// Rounding mode for [`fixed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Half away from zero (`ROUND`, `FORMAT`).
    HalfAwayFromZero,
    /// Toward zero (`TRUNCATE`).
    Truncate,
}

/// Rounds `x` to `places` decimal places (negative: to tens, hundreds…) and
/// returns `(negative, integer digits, fraction digits)` with exactly
/// `max(places, 0)` fraction digits.
pub fn fixed(x: f64, places: i64, mode: Mode) -> (bool, String, String) {
    let places = places.clamp(-400, 400);
    let mut d = decompose(x);
    let keep = d.int_len + places;
    if keep < 0 {
        d.digits.clear();
    } else if (keep as usize) < d.digits.len() {
        let round_up = mode == Mode::HalfAwayFromZero && d.digits[keep as usize] >= 5;
        d.digits.truncate(keep as usize);
        if round_up {
            let mut i = d.digits.len();
            loop {
                if i == 0 {
                    d.digits.insert(0, 1);
                    d.int_len += 1;
                    break;
                }
                i -= 1;
                if d.digits[i] == 9 {
                    d.digits[i] = 0;
                } else {
                    d.digits[i] += 1;
                    break;
                }
            }
        }
    }
    let digit_at = |i: i64| -> char {
        if i >= 0 && (i as usize) < d.digits.len() {
            (b'0' + d.digits[i as usize]) as char
        } else {
            '0'
        }
    };
    let int_part: String = if d.int_len <= 0 {
        "0".to_string()
    } else {
        (0..d.int_len).map(digit_at).collect()
    };
    let frac_len = places.max(0);
    let frac: String = (d.int_len..d.int_len + frac_len).map(digit_at).collect();
    let is_zero = int_part.bytes().all(|b| b == b'0') && frac.bytes().all(|b| b == b'0');
    (d.negative && !is_zero, int_part, frac)
}

/// `fixed()` as plain text: `-12.340`.
pub fn fixed_text(x: f64, places: i64, mode: Mode) -> String {
    let (neg, int_part, frac) = fixed(x, places, mode);
    let sign = if neg { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac}")
    }
}

/// Rounds/truncates a double to `places`, returning a double.
pub fn round_f64(x: f64, places: i64, mode: Mode) -> f64 {
    if !x.is_finite() {
        return x;
    }
    fixed_text(x, places, mode).parse().unwrap_or(x)
}

/// MySQL `FORMAT(x, d)`: thousands separators and exactly `d` decimals.
pub fn format_number(x: f64, places: i64) -> String {
    let (neg, int_part, frac) = fixed(x, places.clamp(0, 30), Mode::HalfAwayFromZero);
    let mut grouped = String::with_capacity(int_part.len() * 4 / 3 + 2);
    if neg {
        grouped.push('-');
    }
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if !frac.is_empty() {
        grouped.push('.');
        grouped.push_str(&frac);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_rules() {
        assert_eq!(fixed_text(1.005, 2, Mode::HalfAwayFromZero), "1.01");
        assert_eq!(fixed_text(2.5, 0, Mode::HalfAwayFromZero), "3");
        assert_eq!(fixed_text(-2.5, 0, Mode::HalfAwayFromZero), "-3");
        assert_eq!(fixed_text(-1.23, 1, Mode::HalfAwayFromZero), "-1.2");
        assert_eq!(fixed_text(-0.4, 0, Mode::HalfAwayFromZero), "0");
        assert_eq!(fixed_text(1.298, 1, Mode::HalfAwayFromZero), "1.3");
        assert_eq!(fixed_text(23.298, -1, Mode::HalfAwayFromZero), "20");
        assert_eq!(fixed_text(9.99, 1, Mode::HalfAwayFromZero), "10.0");
        assert_eq!(fixed_text(0.000123, 5, Mode::HalfAwayFromZero), "0.00012");
        assert_eq!(fixed_text(1.999, 1, Mode::Truncate), "1.9");
        assert_eq!(fixed_text(-1.999, 1, Mode::Truncate), "-1.9");
        assert_eq!(fixed_text(1e20, 0, Mode::Truncate), "100000000000000000000");
    }

    #[test]
    fn format_matches_mysql_docs() {
        assert_eq!(format_number(12332.123456, 4), "12,332.1235");
        assert_eq!(format_number(12332.1, 4), "12,332.1000");
        assert_eq!(format_number(12332.2, 0), "12,332");
        assert_eq!(format_number(-1234567.891, 2), "-1,234,567.89");
        assert_eq!(format_number(100.0, 0), "100");
    }
}
