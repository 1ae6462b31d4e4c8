//! Text encodings: hex, base64, number bases (`CONV`, `BIN`, `OCT`).

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Upper-case hexadecimal of `bytes` (MySQL `HEX(str)`).
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Decodes hexadecimal (`UNHEX`); an odd length is left-padded with 0; `None` on bad digits.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s
        .bytes()
        .map(|b| (b as char).to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    let pad = digits.len() % 2;
    let mut out = Vec::with_capacity(digits.len() / 2 + 1);
    if pad == 1 {
        out.push(digits[0]);
    }
    for pair in digits[pad..].chunks_exact(2) {
        out.push(pair[0] << 4 | pair[1]);
    }
    Some(out)
}

/// Base64 with MySQL's line breaks (a newline after every 76 output characters).
pub fn to_base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4 + data.len() / 57);
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push('\n');
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * j) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base64, ignoring whitespace; `None` on invalid input.
pub fn from_base64(s: &str) -> Option<Vec<u8>> {
    let mut vals = Vec::with_capacity(s.len());
    let mut padding = 0;
    for b in s.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if b == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return None;
        }
        vals.push(BASE64.iter().position(|&c| c == b)? as u32);
    }
    if padding > 2 || vals.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(vals.len() * 3 / 4);
    for chunk in vals.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, v)| acc | v << (18 - 6 * i));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Formats an unsigned value in `base` (2..=36), upper-case digits.
pub fn format_in_base(mut v: u64, base: u32) -> String {
    assert!((2..=36).contains(&base), "base out of range: {base}");
    if v == 0 {
        return "0".to_string();
    }
    let mut digits = Vec::new();
    while v > 0 {
        let d = (v % u64::from(base)) as u32;
        digits.push(std::char::from_digit(d, base).map_or('0', |c| c.to_ascii_uppercase()));
        v /= u64::from(base);
    }
    digits.iter().rev().collect()
}

/// MySQL `CONV(n, from_base, to_base)`: negative bases mean signed numbers.
pub fn conv(n: &str, from_base: i64, to_base: i64) -> Option<String> {
    let from = u32::try_from(from_base.unsigned_abs())
        .ok()
        .filter(|b| (2..=36).contains(b))?;
    let to = u32::try_from(to_base.unsigned_abs())
        .ok()
        .filter(|b| (2..=36).contains(b))?;
    let s = n.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut value: u64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(from) else { break };
        value = value
            .saturating_mul(u64::from(from))
            .saturating_add(u64::from(d));
    }
    if from_base < 0 {
        // Signed input: saturate at the i64 range.
        value = value.min(i64::MAX as u64 + u64::from(negative));
    }
    let bits = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    if to_base < 0 && (bits as i64) < 0 {
        return Some(format!(
            "-{}",
            format_in_base((bits as i64).unsigned_abs(), to)
        ));
    }
    Some(format_in_base(bits, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip() {
        assert_eq!(to_base64(b"abc"), "YWJj");
        assert_eq!(to_base64(b"ab"), "YWI=");
        assert_eq!(to_base64(b"a"), "YQ==");
        assert_eq!(from_base64("YWJj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(from_base64("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(from_base64("Y").as_deref(), None);
        assert_eq!(from_base64("!!!!"), None);
        let long = vec![7u8; 100];
        let enc = to_base64(&long);
        assert!(enc.contains('\n'));
        assert_eq!(from_base64(&enc), Some(long));
    }

    #[test]
    fn conv_matches_mysql_docs() {
        assert_eq!(conv("a", 16, 2).as_deref(), Some("1010"));
        assert_eq!(conv("6E", 18, 8).as_deref(), Some("172"));
        assert_eq!(conv("-17", 10, -18).as_deref(), Some("-H"));
        assert_eq!(conv("-17", 10, 16).as_deref(), Some("FFFFFFFFFFFFFFEF"));
        assert_eq!(conv("40", 10, 10).as_deref(), Some("40"));
        assert_eq!(conv("1", 1, 10), None);
        assert_eq!(unhex("4D7953514C").as_deref(), Some(&b"MySQL"[..]));
        assert_eq!(unhex("GG"), None);
    }
}
