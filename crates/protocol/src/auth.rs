//! Password verification for `mysql_native_password` and `caching_sha2_password`.
//!
//! The server knows plaintext passwords, so both plugins are verified by computing the
//! client's expected scramble and comparing it in constant time.

use mysql_common::auth::plugins::caching_sha2_password::scramble_sha256;
use mysql_common::auth::plugins::mysql_native_password::scramble_native;
use rand::Rng;

use crate::config::AuthPlugin;

/// Length of the random challenge ("nonce", "salt", "scramble").
pub const SCRAMBLE_LEN: usize = 20;

/// A fresh random challenge of printable ASCII without `$` (clients treat it as a
/// C string, so it must not contain NUL).
pub fn new_scramble() -> [u8; SCRAMBLE_LEN] {
    let mut rng = rand::rng();
    let mut out = [0u8; SCRAMBLE_LEN];
    for b in &mut out {
        let mut c = rng.random_range(0x21u8..0x7f);
        if c == b'$' {
            c = b'%';
        }
        *b = c;
    }
    out
}

/// True when `response` proves knowledge of `password` for `scramble` under `plugin`.
pub fn verify(
    plugin: AuthPlugin,
    scramble: &[u8; SCRAMBLE_LEN],
    password: &str,
    response: &[u8],
) -> bool {
    if password.is_empty() {
        // Clients send an empty response (some a single NUL) for an empty password.
        return response.is_empty() || response == [0];
    }
    match plugin {
        AuthPlugin::MysqlNativePassword => scramble_native(scramble, password.as_bytes())
            .is_some_and(|expected| constant_time_eq(&expected, response)),
        AuthPlugin::CachingSha2Password => scramble_sha256(scramble, password.as_bytes())
            .is_some_and(|expected| constant_time_eq(&expected, response)),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_plugins_verify() {
        let s = new_scramble();
        assert!(s.iter().all(|&b| b != 0 && b != b'$'));
        for plugin in [
            AuthPlugin::MysqlNativePassword,
            AuthPlugin::CachingSha2Password,
        ] {
            let good = match plugin {
                AuthPlugin::MysqlNativePassword => scramble_native(&s, b"pw").unwrap().to_vec(),
                AuthPlugin::CachingSha2Password => scramble_sha256(&s, b"pw").unwrap().to_vec(),
            };
            assert!(verify(plugin, &s, "pw", &good));
            assert!(!verify(plugin, &s, "px", &good));
            assert!(!verify(plugin, &s, "pw", &good[1..]));
            assert!(!verify(plugin, &s, "pw", &[]));
            assert!(verify(plugin, &s, "", &[]));
            assert!(!verify(plugin, &s, "", &good));
        }
    }
}
