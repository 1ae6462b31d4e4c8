//! Exact decimal numbers parsed from text, for DECIMAL columns.
//!
//! DECIMAL values are stored as text (f64 loses digits past ~15 significant
//! ones), so comparing and formatting them has to work on the digits
//! themselves: [`ExactDecimal::parse`] reads `[+-]digits[.digits][e[+-]digits]`,
//! [`compare_decimal_text`] is the `mysql_decimal` collation and
//! [`ExactDecimal::to_fixed`] rounds half away from zero to a scale.

use std::cmp::Ordering;

/// Integer digits beyond which [`ExactDecimal::to_fixed`] refuses to render
/// (MySQL's DECIMAL has at most 65 digits; this only guards against text such
/// as `1e999999999` expanding into a gigabyte string).
const MAX_FIXED_INT_DIGITS: i64 = 1000;

/// A decimal number: `0.d₁d₂d₃… × 10^exp`, negated when `negative`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactDecimal {
    negative: bool,
    /// Significant digits (0–9), without leading or trailing zeros; empty is zero.
    digits: Vec<u8>,
    /// Number of digits before the decimal point (may be ≤ 0 or > `digits.len()`).
    exp: i64,
}

/// Result of scanning the longest numeric prefix of a text.
struct Scan {
    value: ExactDecimal,
    /// True when the whole (space-trimmed) text was the number.
    complete: bool,
}

impl ExactDecimal {
    /// The number zero.
    pub fn zero() -> Self {
        ExactDecimal {
            negative: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    /// Parses a whole text (surrounding ASCII whitespace ignored); `None` when
    /// anything but a decimal number is there.
    pub fn parse(text: &str) -> Option<Self> {
        let scan = scan(text)?;
        scan.complete.then_some(scan.value)
    }

    /// True for zero (of either sign in the text).
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Numeric comparison.
    pub fn cmp_value(&self, other: &Self) -> Ordering {
        match (self.sign(), other.sign()) {
            (a, b) if a != b => a.cmp(&b),
            (0, _) => Ordering::Equal,
            (1, _) => self.cmp_magnitude(other),
            _ => other.cmp_magnitude(self),
        }
    }

    fn sign(&self) -> i8 {
        match (self.is_zero(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }

    /// Compares absolute values of two non-zero numbers.
    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        // Normalised digits start with a non-zero digit, so the exponent
        // decides first; equal exponents compare digit by digit, where a
        // shorter digit string is a prefix padded with zeros (hence smaller).
        self.exp
            .cmp(&other.exp)
            .then_with(|| self.digits.cmp(&other.digits))
    }

    /// Renders with exactly `scale` fraction digits, rounding half away from
    /// zero; `None` when the integer part would be absurdly long.
    pub fn to_fixed(&self, scale: u32) -> Option<String> {
        if self.exp > MAX_FIXED_INT_DIGITS {
            return None;
        }
        let scale = i64::from(scale);
        let (digits, exp) = self.rounded_digits(scale);
        let digit_at = |i: i64| -> char {
            usize::try_from(i)
                .ok()
                .and_then(|i| digits.get(i))
                .map_or('0', |d| char::from(b'0' + d))
        };
        let mut out = String::new();
        if self.negative && !digits.is_empty() {
            out.push('-');
        }
        if exp <= 0 {
            out.push('0');
        } else {
            out.extend((0..exp).map(digit_at));
        }
        if scale > 0 {
            out.push('.');
            out.extend((exp..exp + scale).map(digit_at));
        }
        Some(out)
    }

    /// Digits and exponent after rounding half away from zero at `scale`
    /// fraction digits; empty digits when the result is zero.
    fn rounded_digits(&self, scale: i64) -> (Vec<u8>, i64) {
        let mut digits = self.digits.clone();
        let mut exp = self.exp;
        let keep = exp.saturating_add(scale);
        let Ok(keep_len) = usize::try_from(keep) else {
            // Every digit lies below the rounding position's neighbour: zero.
            return (Vec::new(), exp);
        };
        if keep_len >= digits.len() {
            return (digits, exp);
        }
        let round_up = digits[keep_len] >= 5;
        digits.truncate(keep_len);
        if round_up && increment(&mut digits) {
            digits.insert(0, 1);
            exp += 1;
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        (digits, exp)
    }
}

/// Adds one unit in the last place; true when it carries out of the first digit.
fn increment(digits: &mut [u8]) -> bool {
    for d in digits.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return false;
        }
    }
    true
}

/// Scans the longest decimal prefix of `text` (after leading whitespace);
/// `None` when there is no digit at all.
fn scan(text: &str) -> Option<Scan> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let bytes = trimmed.as_bytes();
    let mut pos = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            pos += 1;
            true
        }
        Some(b'+') => {
            pos += 1;
            false
        }
        _ => false,
    };
    let mut mantissa = Vec::new();
    let mut int_len: i64 = 0;
    while let Some(d) = bytes.get(pos).filter(|b| b.is_ascii_digit()) {
        mantissa.push(d - b'0');
        int_len += 1;
        pos += 1;
    }
    if bytes.get(pos) == Some(&b'.') {
        pos += 1;
        while let Some(d) = bytes.get(pos).filter(|b| b.is_ascii_digit()) {
            mantissa.push(d - b'0');
            pos += 1;
        }
    }
    if mantissa.is_empty() {
        return None;
    }
    let (shift, after_exp) = scan_exponent(bytes, pos);
    pos = after_exp;
    Some(Scan {
        value: normalise(negative, mantissa, int_len.saturating_add(shift)),
        complete: pos == bytes.len(),
    })
}

/// Reads `e[+-]digits` at `pos`; returns the exponent (saturating, so huge
/// exponents stay ordered correctly) and the position after it. Without a
/// valid exponent the position is unchanged (MySQL stops the number there).
fn scan_exponent(bytes: &[u8], pos: usize) -> (i64, usize) {
    if !matches!(bytes.get(pos), Some(b'e' | b'E')) {
        return (0, pos);
    }
    let mut p = pos + 1;
    let negative = match bytes.get(p) {
        Some(b'-') => {
            p += 1;
            true
        }
        Some(b'+') => {
            p += 1;
            false
        }
        _ => false,
    };
    let start = p;
    let mut value: i64 = 0;
    while let Some(d) = bytes.get(p).filter(|b| b.is_ascii_digit()) {
        // Clamped well below i64::MAX so adding the mantissa's length cannot overflow.
        value = value
            .saturating_mul(10)
            .saturating_add(i64::from(d - b'0'))
            .min(i64::MAX / 4);
        p += 1;
    }
    if p == start {
        return (0, pos);
    }
    (if negative { -value } else { value }, p)
}

/// Strips leading and trailing zeros so equal values have equal representations.
fn normalise(negative: bool, mut digits: Vec<u8>, mut exp: i64) -> ExactDecimal {
    let leading = digits.iter().take_while(|d| **d == 0).count();
    digits.drain(..leading);
    exp = exp.saturating_sub(leading as i64);
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        return ExactDecimal::zero();
    }
    ExactDecimal {
        negative,
        digits,
        exp,
    }
}

/// Rounds a decimal text to exactly `scale` fraction digits (half away from
/// zero); `None` when the text is not a decimal number.
pub fn round_text(text: &str, scale: u32) -> Option<String> {
    ExactDecimal::parse(text)?.to_fixed(scale)
}

/// The `mysql_decimal` collation: texts compare as exact decimal numbers.
///
/// Text that is not entirely a number compares by its numeric prefix, as
/// MySQL converts it (`'12abc'` is 12, `'abc'` is 0). Ties between a number
/// and such text put the number first and break ties between two such texts
/// by bytes, so the order stays total (SQLite indexes need that) and `'abc'`
/// never equals `'0'`.
pub fn compare_decimal_text(a: &str, b: &str) -> Ordering {
    let (sa, sb) = (scan(a), scan(b));
    let value = |s: &Option<Scan>| {
        s.as_ref()
            .map_or_else(ExactDecimal::zero, |s| s.value.clone())
    };
    let complete = |s: &Option<Scan>| s.as_ref().is_some_and(|s| s.complete);
    value(&sa)
        .cmp_value(&value(&sb))
        .then_with(|| match (complete(&sa), complete(&sb)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => a.as_bytes().cmp(b.as_bytes()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str, scale: u32) -> String {
        round_text(text, scale).unwrap_or_else(|| format!("<not a number: {text}>"))
    }

    #[test]
    fn parses_forms() {
        assert_eq!(ExactDecimal::parse(" 12.50 "), ExactDecimal::parse("+12.5"));
        assert_eq!(ExactDecimal::parse("-0.000"), Some(ExactDecimal::zero()));
        assert_eq!(ExactDecimal::parse("1e3"), ExactDecimal::parse("1000"));
        assert_eq!(ExactDecimal::parse(".5"), ExactDecimal::parse("0.5"));
        assert_eq!(ExactDecimal::parse("5."), ExactDecimal::parse("5"));
        assert_eq!(ExactDecimal::parse("1.5e-2"), ExactDecimal::parse("0.015"));
        for bad in ["", " ", "-", ".", "abc", "1.2.3", "12abc", "--1", "e5"] {
            assert_eq!(ExactDecimal::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn compares_exactly() {
        use Ordering::*;
        let c = compare_decimal_text;
        assert_eq!(c("12.5", "12.50"), Equal);
        assert_eq!(c("+12.500", "12.5"), Equal);
        assert_eq!(c("-0", "0"), Equal);
        assert_eq!(c("9", "10"), Less);
        assert_eq!(c("-9", "-10"), Greater);
        assert_eq!(c("-0.001", "0"), Less);
        assert_eq!(c("1e3", "999.999"), Greater);
        // Differ only past f64's precision.
        assert_eq!(c("12345678901234.567890", "12345678901234.567891"), Less);
        assert_eq!(
            c("99999999999999999999.000001", "99999999999999999999"),
            Greater
        );
        // Non-numeric text: numeric prefix, numbers first on ties, then bytes.
        assert_eq!(c("12abc", "11"), Greater);
        assert_eq!(c("abc", "0"), Greater);
        assert_eq!(c("abc", "-1"), Greater);
        assert_eq!(c("abc", "abd"), Less);
        assert_eq!(c("1e999999999999999999999", "1e5"), Greater);
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(fixed("12.5", 2), "12.50");
        assert_eq!(fixed("12.345", 2), "12.35");
        assert_eq!(fixed("-12.345", 2), "-12.35");
        assert_eq!(fixed("12.344999", 2), "12.34");
        assert_eq!(fixed("9.995", 2), "10.00");
        assert_eq!(fixed("-0.004", 2), "0.00");
        assert_eq!(fixed("-0.005", 2), "-0.01");
        assert_eq!(fixed("0.5", 0), "1");
        assert_eq!(fixed("0.05", 0), "0");
        assert_eq!(fixed("-0", 3), "0.000");
        assert_eq!(fixed("1e3", 1), "1000.0");
        assert_eq!(fixed("0.30000000000000004", 6), "0.300000");
        assert_eq!(fixed("12345678901234.567890", 6), "12345678901234.567890");
        assert_eq!(fixed("1e-400", 2), "0.00");
        assert_eq!(round_text("1e999999", 2), None);
        assert_eq!(round_text("x", 2), None);
    }
}
