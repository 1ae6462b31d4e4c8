//! MySQL collations registered as SQLite collations.
//!
//! Case-insensitive collations compare with case and (Latin-1) accent folding
//! and PAD SPACE semantics (trailing spaces ignored). Binary collations
//! compare bytes.

use std::cmp::Ordering;

use rusqlite::Connection;

/// The collation the SQL translator should use for MySQL's default
/// case-insensitive text comparisons (`COLLATE mysql_ci`).
pub const MYSQL_CI: &str = "mysql_ci";

/// The collation of DECIMAL columns, which the SQL translator stores as text
/// (`COLLATE mysql_decimal`): values compare as exact decimal numbers, see
/// [`crate::exact_decimal::compare_decimal_text`].
pub const MYSQL_DECIMAL: &str = "mysql_decimal";

/// Case-insensitive collation names accepted in `COLLATE` clauses.
pub const CI_COLLATIONS: &[&str] = &[
    MYSQL_CI,
    "utf8mb4_0900_ai_ci",
    "utf8mb4_0900_as_ci",
    "utf8mb4_general_ci",
    "utf8mb4_unicode_ci",
    "utf8mb4_unicode_520_ci",
    "utf8mb3_general_ci",
    "utf8mb3_unicode_ci",
    "utf8_general_ci",
    "utf8_unicode_ci",
    "latin1_swedish_ci",
    "latin1_general_ci",
    "ascii_general_ci",
];

/// Binary collations with PAD SPACE semantics.
pub const BIN_PAD_COLLATIONS: &[&str] = &[
    "utf8mb4_bin",
    "utf8mb3_bin",
    "utf8_bin",
    "latin1_bin",
    "ascii_bin",
];

/// Binary collations without padding (byte-for-byte).
pub const BIN_NOPAD_COLLATIONS: &[&str] = &["binary", "utf8mb4_0900_bin"];

/// Folds Latin-1 accented letters to their base letter (`é` → `e`).
fn strip_accent(c: char) -> char {
    const TABLE: &[u8; 64] =
        b"AAAAAAACEEEEIIIIDNOOOOO\xd7OUUUUYTsaaaaaaaceeeeiiiidnooooo\xf7ouuuuyty";
    let code = c as u32;
    if (0xC0..=0xFF).contains(&code) {
        let b = TABLE[(code - 0xC0) as usize];
        if b.is_ascii() {
            return b as char;
        }
    }
    c
}

/// The comparison key of one character in case-insensitive collations.
pub fn fold_char(c: char) -> char {
    let base = strip_accent(c);
    base.to_lowercase().next().unwrap_or(base)
}

/// Case- and accent-insensitive comparison with PAD SPACE semantics.
pub fn compare_ci(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_end_matches(' '), b.trim_end_matches(' '));
    if a.is_ascii() && b.is_ascii() {
        // Fast path for the common case (index comparisons on ASCII keys).
        let a = a.bytes().map(|c| c.to_ascii_lowercase());
        let b = b.bytes().map(|c| c.to_ascii_lowercase());
        return a.cmp(b);
    }
    a.chars().map(fold_char).cmp(b.chars().map(fold_char))
}

/// Byte comparison with PAD SPACE semantics.
pub fn compare_bin_pad(a: &str, b: &str) -> Ordering {
    a.trim_end_matches(' ')
        .as_bytes()
        .cmp(b.trim_end_matches(' ').as_bytes())
}

/// True when `a` and `b` are equal under the default case-insensitive collation.
pub fn eq_ci(a: &str, b: &str) -> bool {
    compare_ci(a, b) == Ordering::Equal
}

/// Registers every collation above on `conn`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    for name in CI_COLLATIONS {
        conn.create_collation(*name, compare_ci)?;
    }
    for name in BIN_PAD_COLLATIONS {
        conn.create_collation(*name, compare_bin_pad)?;
    }
    for name in BIN_NOPAD_COLLATIONS {
        conn.create_collation(*name, |a: &str, b: &str| a.as_bytes().cmp(b.as_bytes()))?;
    }
    conn.create_collation(MYSQL_DECIMAL, crate::exact_decimal::compare_decimal_text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_rules() {
        assert_eq!(compare_ci("abc", "ABC"), Ordering::Equal);
        assert_eq!(compare_ci("abc  ", "ABC"), Ordering::Equal);
        assert_eq!(compare_ci("café", "CAFE"), Ordering::Equal);
        assert_eq!(compare_ci("a", "B"), Ordering::Less);
        assert_eq!(compare_ci(" a", "a"), Ordering::Less);
        assert_eq!(compare_bin_pad("a ", "a"), Ordering::Equal);
        assert_eq!(compare_bin_pad("a", "A"), Ordering::Greater);
    }
}
