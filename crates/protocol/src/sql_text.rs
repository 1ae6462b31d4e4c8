//! Statement text arrives as bytes. Clients such as `mysqldump` put raw binary data inside
//! string literals, so the bytes need not be UTF-8. They are decoded losslessly: valid UTF-8
//! stays as it is, and each byte of an invalid sequence becomes the private-use character
//! `RAW_BYTE_BASE + byte` (U+10FF00..U+10FFFF), which the SQL layer turns back into the byte.
//! A valid character of that range is itself sent as its four bytes, each a raw-byte
//! character: otherwise it would come back as one byte, not the four the client sent.

use std::borrow::Cow;

/// First of the 256 private-use characters that stand for raw bytes in statement text.
pub const RAW_BYTE_BASE: u32 = 0x10FF00;

/// Decodes statement text without losing bytes.
pub fn decode_sql_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        // Every character of the raw-byte range starts with byte 0xF4 (U+100000 and up).
        if !bytes.contains(&0xF4) || !s.chars().any(is_raw_byte_char) {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    let mut rest = bytes;
    // Each iteration consumes at least one byte: bounded by the input length.
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_valid(&mut out, s);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                push_valid(&mut out, std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(after.len()).max(1);
                after[..bad]
                    .iter()
                    .for_each(|&b| push_raw_byte(&mut out, b));
                rest = &after[bad..];
            }
        }
    }
    Cow::Owned(out)
}

fn is_raw_byte_char(c: char) -> bool {
    (RAW_BYTE_BASE..RAW_BYTE_BASE + 256).contains(&(c as u32))
}

fn push_raw_byte(out: &mut String, b: u8) {
    out.push(char::from_u32(RAW_BYTE_BASE + u32::from(b)).unwrap_or('\u{FFFD}'));
}

/// Push valid text, each character of the raw-byte range as its bytes.
fn push_valid(out: &mut String, s: &str) {
    for c in s.chars() {
        if is_raw_byte_char(c) {
            let mut buf = [0u8; 4];
            c.encode_utf8(&mut buf)
                .bytes()
                .for_each(|b| push_raw_byte(out, b));
        } else {
            out.push(c);
        }
    }
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

    #[test]
    fn a_valid_raw_byte_character_keeps_its_four_bytes() {
        let bytes = "a\u{10FF00}b".as_bytes();
        let text = decode_sql_text(bytes);
        assert_eq!(text.chars().count(), 6);
        assert_eq!(encode_back(&text), bytes);
    }

    proptest! {
        #[test]
        fn decoding_is_lossless(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = decode_sql_text(&bytes);
            prop_assert_eq!(encode_back(&text), bytes);
        }
    }
}
