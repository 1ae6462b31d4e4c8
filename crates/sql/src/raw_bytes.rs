//! String literals that cannot travel as SQLite text: ones holding NUL (SQLite's parser stops
//! at it) or raw non-UTF-8 bytes, which the protocol layer decodes as the private-use
//! characters `RAW_BYTE_BASE + byte` (see `borealis_protocol::decode_sql_text`). Such literals
//! are rendered as blob literals `X'…'` carrying the original bytes.

/// Must equal `borealis_protocol::RAW_BYTE_BASE` (the instance has a test that checks it).
pub const RAW_BYTE_BASE: u32 = 0x10FF00;

/// The hex digits of the literal's bytes, if it must be a blob literal.
pub fn hex_if_binary(s: &str) -> Option<String> {
    let is_raw = |c: char| (RAW_BYTE_BASE..RAW_BYTE_BASE + 256).contains(&(c as u32));
    if !s.chars().any(|c| c == '\0' || is_raw(c)) {
        return None;
    }
    let mut hex = String::with_capacity(s.len() * 2);
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let bytes: &[u8] = if is_raw(c) {
            buf[0] = (c as u32 - RAW_BYTE_BASE) as u8;
            &buf[..1]
        } else {
            c.encode_utf8(&mut buf).as_bytes()
        };
        for b in bytes {
            hex.push_str(&format!("{b:02X}"));
        }
    }
    Some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_stays_text() {
        assert_eq!(hex_if_binary("héllo"), None);
    }

    #[test]
    fn nul_and_raw_bytes_become_hex() {
        let raw = char::from_u32(RAW_BYTE_BASE + 0xFF).expect("valid char");
        assert_eq!(
            hex_if_binary(&format!("a\0{raw}é")).as_deref(),
            Some("6100FFC3A9")
        );
    }
}
