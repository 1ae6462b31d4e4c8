//! Naming rules of the single-SQLite-database namespace, and quoting helpers.
//!
//! MySQL table `db.t` is the SQLite table `"db.t"`; index `i` on it is
//! `"db.t.i"`. Column names, aliases and CTE names are never mangled.

use crate::error::SqlError;

/// Name of the catalog database.
pub const INFORMATION_SCHEMA: &str = "information_schema";

/// Quotes an identifier for SQLite with double quotes.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal for SQLite.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Quotes an optional string literal (`NULL` for `None`).
pub fn quote_opt(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_string(), quote_literal)
}

/// SQLite table name (unquoted) for MySQL `db.table`.
pub fn table_key(db: &str, table: &str) -> String {
    let db = if db.eq_ignore_ascii_case(INFORMATION_SCHEMA) {
        INFORMATION_SCHEMA
    } else {
        db
    };
    format!("{db}.{table}")
}

/// Quoted SQLite table name for MySQL `db.table`.
pub fn sqlite_table(db: &str, table: &str) -> String {
    quote_ident(&table_key(db, table))
}

/// Quoted SQLite index name for index `index` of `db.table`.
pub fn sqlite_index(db: &str, table: &str, index: &str) -> String {
    quote_ident(&format!("{db}.{table}.{index}"))
}

/// Validates a MySQL database or table name: non-empty, at most 64 chars, no
/// trailing space (MySQL's rules), and no `.` because it would make the
/// single-namespace mapping ambiguous.
pub fn check_name(name: &str, is_db: bool) -> Result<(), SqlError> {
    let bad = name.is_empty()
        || name.chars().count() > 64
        || name.ends_with(' ')
        || (is_db && name.contains('.'));
    if bad {
        return Err(if is_db {
            SqlError::WrongDbName(name.to_string())
        } else {
            SqlError::WrongTableName(name.to_string())
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mangles() {
        assert_eq!(sqlite_table("shop", "order"), "\"shop.order\"");
        assert_eq!(
            sqlite_table("INFORMATION_SCHEMA", "TABLES"),
            "\"information_schema.TABLES\""
        );
        assert_eq!(sqlite_index("d", "t", "k_1"), "\"d.t.k_1\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert!(check_name("a.b", true).is_err());
        assert!(check_name("ok", true).is_ok());
    }
}
