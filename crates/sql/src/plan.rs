//! The classified result of translating one statement.

/// One translated statement of a (possibly multi-statement) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    /// This statement's original text (executable comments expanded).
    pub mysql: String,
    /// What to do.
    pub kind: StatementKind,
    /// Number of `?` placeholders.
    pub param_count: usize,
}

/// `INSERT`, `REPLACE`, `UPDATE` or `DELETE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DmlVerb {
    /// INSERT.
    Insert,
    /// REPLACE.
    Replace,
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
}

/// Condition under which the instance skips a DDL and returns OK with a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipIf {
    /// `CREATE TABLE IF NOT EXISTS` on an existing table (warning 1050).
    TableExists {
        /// Database.
        db: String,
        /// Table.
        table: String,
    },
}

/// Variable scope in `SET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// SESSION / LOCAL / `@@x` / `@@session.x`.
    Session,
    /// GLOBAL / `@@global.x`.
    Global,
    /// User variable `@x`.
    User,
    /// PERSIST / PERSIST_ONLY.
    Persist,
}

/// Value assigned in `SET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetValue {
    /// SQLite expression to evaluate with `SELECT <expr>`.
    Expr(String),
    /// `DEFAULT`.
    Default,
    /// Bare word(s) such as `ON`, `OFF`, `READ-COMMITTED` (upper-cased).
    Keyword(String),
}

/// One assignment of a `SET` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetItem {
    /// Scope.
    pub scope: Scope,
    /// Lower-cased variable name (without `@`/`@@`/scope prefix).
    pub name: String,
    /// Value.
    pub value: SetValue,
}

/// `SHOW` statements the instance answers itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    /// SHOW [GLOBAL|SESSION] VARIABLES [LIKE|WHERE].
    Variables {
        /// GLOBAL.
        global: bool,
        /// LIKE pattern.
        like: Option<String>,
        /// WHERE expression (SQLite text over columns Variable_name, Value).
        where_sql: Option<String>,
    },
    /// SHOW [GLOBAL|SESSION] STATUS [LIKE|WHERE].
    Status {
        /// GLOBAL.
        global: bool,
        /// LIKE pattern.
        like: Option<String>,
        /// WHERE expression.
        where_sql: Option<String>,
    },
    /// SHOW WARNINGS.
    Warnings,
    /// SHOW ERRORS.
    Errors,
    /// SHOW COUNT(*) WARNINGS.
    WarningCount,
    /// SHOW COUNT(*) ERRORS.
    ErrorCount,
    /// SHOW [FULL] PROCESSLIST.
    Processlist {
        /// FULL.
        full: bool,
    },
    /// SHOW CREATE TABLE.
    CreateTable {
        /// Database.
        db: String,
        /// Table.
        table: String,
    },
    /// SHOW CREATE DATABASE.
    CreateDatabase {
        /// Database.
        db: String,
    },
    /// SHOW ENGINE x STATUS.
    EngineStatus(String),
    /// SHOW GRANTS.
    Grants,
    /// SHOW MASTER/BINARY LOG STATUS, SHOW BINARY LOGS, SHOW REPLICAS…: empty.
    Replication(String),
    /// SHOW PLUGINS.
    Plugins,
    /// SHOW TRIGGERS / EVENTS / PROCEDURE STATUS / FUNCTION STATUS (empty).
    Empty(String),
}

/// What the instance must do for one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    /// A query returning rows.
    Query {
        /// SQLite text.
        sql: String,
        /// FOR UPDATE / LOCK IN SHARE MODE / FOR SHARE was present (stripped).
        locking: bool,
        /// SQL_CALC_FOUND_ROWS was present (stripped): the SQLite query that counts the rows
        /// the statement would return without its LIMIT, for `FOUND_ROWS()`.
        found_rows_sql: Option<String>,
    },
    /// INSERT/REPLACE/UPDATE/DELETE.
    Dml {
        /// SQLite text.
        sql: String,
        /// Verb.
        verb: DmlVerb,
        /// Target (db, table).
        table: (String, String),
        /// AUTO_INCREMENT column when the INSERT generates ids via `borealis_autoinc`.
        auto_increment: Option<String>,
    },
    /// DDL: SQLite statements incl. catalog maintenance, run in one savepoint.
    Ddl {
        /// Statements in order.
        statements: Vec<String>,
        /// Skip condition.
        skip_if: Option<SkipIf>,
    },
    /// CREATE DATABASE (statements from `create_database_statements`).
    CreateDatabase {
        /// Name.
        name: String,
        /// IF NOT EXISTS.
        if_not_exists: bool,
        /// Charset.
        charset: String,
        /// Collation.
        collation: String,
    },
    /// DROP DATABASE (statements from `drop_database_statements`).
    DropDatabase {
        /// Name.
        name: String,
        /// IF EXISTS.
        if_exists: bool,
    },
    /// USE db.
    Use(String),
    /// BEGIN / START TRANSACTION.
    Begin {
        /// READ ONLY.
        read_only: bool,
        /// WITH CONSISTENT SNAPSHOT.
        consistent_snapshot: bool,
    },
    /// COMMIT.
    Commit,
    /// ROLLBACK.
    Rollback,
    /// SAVEPOINT x.
    Savepoint(String),
    /// ROLLBACK TO [SAVEPOINT] x.
    RollbackToSavepoint(String),
    /// RELEASE SAVEPOINT x.
    ReleaseSavepoint(String),
    /// SET assignments.
    Set(Vec<SetItem>),
    /// SET NAMES / SET CHARACTER SET.
    SetNames {
        /// Charset (lower-cased).
        charset: String,
        /// Collation (lower-cased).
        collation: Option<String>,
    },
    /// SET [GLOBAL|SESSION] TRANSACTION ….
    SetTransaction {
        /// Scope (None: next transaction only).
        scope: Option<Scope>,
        /// Isolation level, upper-cased, e.g. `REPEATABLE READ`.
        isolation: Option<String>,
        /// READ ONLY (true) / READ WRITE (false).
        read_only: Option<bool>,
    },
    /// SHOW handled by the instance.
    Show(Show),
    /// KILL [QUERY|CONNECTION] id.
    Kill {
        /// KILL QUERY.
        query_only: bool,
        /// Connection id.
        id: u64,
    },
    /// LOCK TABLES (accepted; no table locks).
    LockTables,
    /// UNLOCK TABLES.
    UnlockTables,
    /// Nothing to do (FLUSH, ANALYZE, comments only, …).
    Noop,
    /// A later statement of a multi-statement text that failed to translate:
    /// the instance runs the statements before it, then reports this error
    /// (and stops, as MySQL does). Never the first element.
    Failed(crate::error::SqlError),
}
