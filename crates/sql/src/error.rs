//! Typed translation errors, each mapped to MySQL's error code and SQLSTATE.

/// Errors returned by the translator. `Display` matches MySQL's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// MySQL 1064.
    #[error("You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '{near}' at line {line}")]
    Syntax {
        /// Rest of the statement from the error position (at most 80 chars).
        near: String,
        /// 1-based line of the error inside the statement.
        line: u32,
    },
    /// MySQL 1235.
    #[error("This version of Borealis doesn't yet support '{0}'")]
    Unsupported(String),
    /// MySQL 1046.
    #[error("No database selected")]
    NoDatabaseSelected,
    /// MySQL 1049.
    #[error("Unknown database '{0}'")]
    UnknownDatabase(String),
    /// MySQL 1051 (DROP) — also used for 1146-like lookups in DDL.
    #[error("Unknown table '{db}.{table}'")]
    UnknownTable {
        /// Database name.
        db: String,
        /// Table name.
        table: String,
    },
    /// MySQL 1146.
    #[error("Table '{db}.{table}' doesn't exist")]
    NoSuchTable {
        /// Database name.
        db: String,
        /// Table name.
        table: String,
    },
    /// MySQL 1050.
    #[error("Table '{0}' already exists")]
    DuplicateTable(String),
    /// MySQL 1054.
    #[error("Unknown column '{column}' in '{context}'")]
    UnknownColumn {
        /// Column name.
        column: String,
        /// Where it was referenced (e.g. "field list").
        context: String,
    },
    /// MySQL 1060.
    #[error("Duplicate column name '{0}'")]
    DuplicateColumn(String),
    /// MySQL 1061.
    #[error("Duplicate key name '{0}'")]
    DuplicateKey(String),
    /// MySQL 1091.
    #[error("Can't DROP '{0}'; check that column/key exists")]
    CantDropKey(String),
    /// MySQL 1231.
    #[error("Variable '{name}' can't be set to the value of '{value}'")]
    WrongValue {
        /// Variable name.
        name: String,
        /// Offending value.
        value: String,
    },
    /// MySQL 1136.
    #[error("Column count doesn't match value count at row {0}")]
    ColumnCountMismatch(usize),
    /// MySQL 1102.
    #[error("Incorrect database name '{0}'")]
    WrongDbName(String),
    /// MySQL 1103.
    #[error("Incorrect table name '{0}'")]
    WrongTableName(String),
}

impl SqlError {
    /// MySQL error code and SQLSTATE for this error.
    pub fn mysql_code(&self) -> (u16, &'static str) {
        match self {
            SqlError::Syntax { .. } => (1064, "42000"),
            SqlError::Unsupported(_) => (1235, "42000"),
            SqlError::NoDatabaseSelected => (1046, "3D000"),
            SqlError::UnknownDatabase(_) => (1049, "42000"),
            SqlError::UnknownTable { .. } => (1051, "42S02"),
            SqlError::NoSuchTable { .. } => (1146, "42S02"),
            SqlError::DuplicateTable(_) => (1050, "42S01"),
            SqlError::UnknownColumn { .. } => (1054, "42S22"),
            SqlError::DuplicateColumn(_) => (1060, "42S21"),
            SqlError::DuplicateKey(_) => (1061, "42000"),
            SqlError::CantDropKey(_) => (1091, "42000"),
            SqlError::WrongValue { .. } => (1231, "42000"),
            SqlError::ColumnCountMismatch(_) => (1136, "21S01"),
            SqlError::WrongDbName(_) => (1102, "42000"),
            SqlError::WrongTableName(_) => (1103, "42000"),
        }
    }

    /// Shorthand for an `Unsupported` error.
    pub fn unsupported(what: impl Into<String>) -> Self {
        SqlError::Unsupported(what.into())
    }

    /// Builds a syntax error from a statement and a byte offset into it.
    pub fn syntax_at(statement: &str, offset: usize) -> Self {
        let offset = floor_char_boundary(statement, offset.min(statement.len()));
        let line = statement[..offset].matches('\n').count() as u32 + 1;
        let near: String = statement[offset..].chars().take(80).collect();
        SqlError::Syntax { near, line }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    // Bounded: a UTF-8 character is at most 4 bytes long.
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_message() {
        let e = SqlError::syntax_at("select\nfoo bar", 7);
        assert_eq!(e.to_string(), "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'foo bar' at line 2");
        assert_eq!(e.mysql_code(), (1064, "42000"));
    }

    #[test]
    fn unsupported_message() {
        let e = SqlError::unsupported("XA");
        assert_eq!(
            e.to_string(),
            "This version of Borealis doesn't yet support 'XA'"
        );
        assert_eq!(e.mysql_code().0, 1235);
    }
}
