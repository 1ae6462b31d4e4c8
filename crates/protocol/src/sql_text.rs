//! Statement text arrives as bytes. Clients such as `mysqldump` put raw binary data inside
//! string literals, so the bytes need not be UTF-8. They are decoded losslessly: valid UTF-8
//! stays as it is, and each byte of an invalid sequence becomes the private-use character
//! `RAW_BYTE_BASE + byte` (U+10FF00..U+10FFFF), which the SQL layer turns back into the byte.

use std::borrow::Cow;

/// First of the 256 private-use characters that stand for raw bytes in statement text.
pub const RAW_BYTE_BASE: u32 = 0x10FF00;

/// Decodes statement text without losing bytes.
pub fn decode_sql_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    let mut rest = bytes;
    // Each iteration consumes at least one byte: bounded by the input length.
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(after.len()).max(1);
                for &b in &after[..bad] {
                    out.push(char::from_u32(RAW_BYTE_BASE + u32::from(b)).unwrap_or('\u{FFFD}'));
                }
                rest = &after[bad..];
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode_back(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for c in s.chars() {
            let u = c as u32;
            if (RAW_BYTE_BASE..RAW_BYTE_BASE + 256).contains(&u) {
                out.push((u - RAW_BYTE_BASE) as u8);
            } else {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        out
    }

    #[test]
    fn utf8_is_borrowed() {
        assert!(matches!(
            decode_sql_text("SELECT 'é'".as_bytes()),
            Cow::Borrowed(_)
        ));
    }

    proptest! {
        #[test]
        fn decoding_is_lossless(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = decode_sql_text(&bytes);
            prop_assert_eq!(encode_back(&text), bytes);
        }
    }
}
