//! Definitions of the catalog tables (`"information_schema.*"`), created once
//! when a cluster is initialised. Column names and types follow MySQL 8 so
//! that result metadata looks right to ORMs and mysqldump.

const V64: &str = "VARCHAR(64)";

/// (table, [(column, declared type)]).
type TableDef = (&'static str, &'static [(&'static str, &'static str)]);

const TABLES: &[TableDef] = &[
    (
        "SCHEMATA",
        &[
            ("CATALOG_NAME", V64),
            ("SCHEMA_NAME", V64),
            ("DEFAULT_CHARACTER_SET_NAME", V64),
            ("DEFAULT_COLLATION_NAME", V64),
            ("SQL_PATH", "BINARY(0)"),
            ("DEFAULT_ENCRYPTION", "ENUM"),
        ],
    ),
    (
        "TABLES",
        &[
            ("TABLE_CATALOG", V64),
            ("TABLE_SCHEMA", V64),
            ("TABLE_NAME", V64),
            ("TABLE_TYPE", "ENUM"),
            ("ENGINE", V64),
            ("VERSION", "INT"),
            ("ROW_FORMAT", "ENUM"),
            ("TABLE_ROWS", "BIGINT UNSIGNED"),
            ("AVG_ROW_LENGTH", "BIGINT UNSIGNED"),
            ("DATA_LENGTH", "BIGINT UNSIGNED"),
            ("MAX_DATA_LENGTH", "BIGINT UNSIGNED"),
            ("INDEX_LENGTH", "BIGINT UNSIGNED"),
            ("DATA_FREE", "BIGINT UNSIGNED"),
            ("AUTO_INCREMENT", "BIGINT UNSIGNED"),
            ("CREATE_TIME", "TIMESTAMP"),
            ("UPDATE_TIME", "DATETIME"),
            ("CHECK_TIME", "DATETIME"),
            ("TABLE_COLLATION", V64),
            ("CHECKSUM", "BIGINT"),
            ("CREATE_OPTIONS", "VARCHAR(256)"),
            ("TABLE_COMMENT", "TEXT"),
        ],
    ),
    (
        "COLUMNS",
        &[
            ("TABLE_CATALOG", V64),
            ("TABLE_SCHEMA", V64),
            ("TABLE_NAME", V64),
            ("COLUMN_NAME", V64),
            ("ORDINAL_POSITION", "INT UNSIGNED"),
            ("COLUMN_DEFAULT", "TEXT"),
            ("IS_NULLABLE", "VARCHAR(3)"),
            ("DATA_TYPE", "LONGTEXT"),
            ("CHARACTER_MAXIMUM_LENGTH", "BIGINT"),
            ("CHARACTER_OCTET_LENGTH", "BIGINT"),
            ("NUMERIC_PRECISION", "BIGINT UNSIGNED"),
            ("NUMERIC_SCALE", "BIGINT UNSIGNED"),
            ("DATETIME_PRECISION", "INT UNSIGNED"),
            ("CHARACTER_SET_NAME", V64),
            ("COLLATION_NAME", V64),
            ("COLUMN_TYPE", "MEDIUMTEXT"),
            ("COLUMN_KEY", "ENUM"),
            ("EXTRA", "VARCHAR(256)"),
            ("PRIVILEGES", "VARCHAR(154)"),
            ("COLUMN_COMMENT", "TEXT"),
            ("GENERATION_EXPRESSION", "LONGTEXT"),
            ("SRS_ID", "INT UNSIGNED"),
        ],
    ),
    (
        "STATISTICS",
        &[
            ("TABLE_CATALOG", V64),
            ("TABLE_SCHEMA", V64),
            ("TABLE_NAME", V64),
            ("NON_UNIQUE", "INT"),
            ("INDEX_SCHEMA", V64),
            ("INDEX_NAME", V64),
            ("SEQ_IN_INDEX", "INT UNSIGNED"),
            ("COLUMN_NAME", V64),
            ("COLLATION", "VARCHAR(1)"),
            ("CARDINALITY", "BIGINT"),
            ("SUB_PART", "BIGINT"),
            ("PACKED", "BINARY(0)"),
            ("NULLABLE", "VARCHAR(3)"),
            ("INDEX_TYPE", "VARCHAR(11)"),
            ("COMMENT", "VARCHAR(8)"),
            ("INDEX_COMMENT", "VARCHAR(2048)"),
            ("IS_VISIBLE", "VARCHAR(3)"),
            ("EXPRESSION", "LONGTEXT"),
        ],
    ),
    (
        "KEY_COLUMN_USAGE",
        &[
            ("CONSTRAINT_CATALOG", V64),
            ("CONSTRAINT_SCHEMA", V64),
            ("CONSTRAINT_NAME", V64),
            ("TABLE_CATALOG", V64),
            ("TABLE_SCHEMA", V64),
            ("TABLE_NAME", V64),
            ("COLUMN_NAME", V64),
            ("ORDINAL_POSITION", "INT UNSIGNED"),
            ("POSITION_IN_UNIQUE_CONSTRAINT", "INT UNSIGNED"),
            ("REFERENCED_TABLE_SCHEMA", V64),
            ("REFERENCED_TABLE_NAME", V64),
            ("REFERENCED_COLUMN_NAME", V64),
        ],
    ),
    (
        "REFERENTIAL_CONSTRAINTS",
        &[
            ("CONSTRAINT_CATALOG", V64),
            ("CONSTRAINT_SCHEMA", V64),
            ("CONSTRAINT_NAME", V64),
            ("UNIQUE_CONSTRAINT_CATALOG", V64),
            ("UNIQUE_CONSTRAINT_SCHEMA", V64),
            ("UNIQUE_CONSTRAINT_NAME", V64),
            ("MATCH_OPTION", "ENUM"),
            ("UPDATE_RULE", "ENUM"),
            ("DELETE_RULE", "ENUM"),
            ("TABLE_NAME", V64),
            ("REFERENCED_TABLE_NAME", V64),
        ],
    ),
    (
        "ROUTINES",
        &[
            ("SPECIFIC_NAME", V64),
            ("ROUTINE_CATALOG", V64),
            ("ROUTINE_SCHEMA", V64),
            ("ROUTINE_NAME", V64),
            ("ROUTINE_TYPE", "ENUM"),
            ("DATA_TYPE", "LONGTEXT"),
            ("ROUTINE_BODY", "VARCHAR(8)"),
            ("ROUTINE_DEFINITION", "LONGTEXT"),
            ("IS_DETERMINISTIC", "VARCHAR(3)"),
            ("SQL_DATA_ACCESS", "ENUM"),
            ("SECURITY_TYPE", "ENUM"),
            ("CREATED", "TIMESTAMP"),
            ("LAST_ALTERED", "TIMESTAMP"),
            ("SQL_MODE", "SET_TEXT"),
            ("ROUTINE_COMMENT", "TEXT"),
            ("DEFINER", "VARCHAR(288)"),
        ],
    ),
    (
        "TRIGGERS",
        &[
            ("TRIGGER_CATALOG", V64),
            ("TRIGGER_SCHEMA", V64),
            ("TRIGGER_NAME", V64),
            ("EVENT_MANIPULATION", "ENUM"),
            ("EVENT_OBJECT_SCHEMA", V64),
            ("EVENT_OBJECT_TABLE", V64),
            ("ACTION_ORDER", "INT UNSIGNED"),
            ("ACTION_STATEMENT", "LONGTEXT"),
            ("ACTION_TIMING", "ENUM"),
            ("CREATED", "TIMESTAMP(2)"),
            ("SQL_MODE", "SET_TEXT"),
            ("DEFINER", "VARCHAR(288)"),
        ],
    ),
    (
        "VIEWS",
        &[
            ("TABLE_CATALOG", V64),
            ("TABLE_SCHEMA", V64),
            ("TABLE_NAME", V64),
            ("VIEW_DEFINITION", "LONGTEXT"),
            ("CHECK_OPTION", "ENUM"),
            ("IS_UPDATABLE", "ENUM"),
            ("DEFINER", "VARCHAR(288)"),
            ("SECURITY_TYPE", "VARCHAR(7)"),
            ("CHARACTER_SET_CLIENT", V64),
            ("COLLATION_CONNECTION", V64),
        ],
    ),
    (
        "FILES",
        &[
            ("FILE_ID", "BIGINT"),
            ("FILE_NAME", "TEXT"),
            ("FILE_TYPE", "VARCHAR(256)"),
            ("TABLESPACE_NAME", "VARCHAR(268)"),
            ("TABLE_SCHEMA", V64),
            ("TABLE_NAME", V64),
            ("ENGINE", V64),
            ("EXTRA", "VARCHAR(256)"),
        ],
    ),
    (
        "PARTITIONS",
        &[
            ("TABLE_CATALOG", V64),
            ("TABLE_SCHEMA", V64),
            ("TABLE_NAME", V64),
            ("PARTITION_NAME", V64),
            ("PARTITION_ORDINAL_POSITION", "INT UNSIGNED"),
            ("PARTITION_METHOD", "VARCHAR(13)"),
            ("PARTITION_EXPRESSION", "VARCHAR(2048)"),
            ("TABLE_ROWS", "BIGINT UNSIGNED"),
        ],
    ),
    (
        "ENGINES",
        &[
            ("ENGINE", V64),
            ("SUPPORT", "VARCHAR(8)"),
            ("COMMENT", "VARCHAR(80)"),
            ("TRANSACTIONS", "VARCHAR(3)"),
            ("XA", "VARCHAR(3)"),
            ("SAVEPOINTS", "VARCHAR(3)"),
        ],
    ),
    (
        "CHARACTER_SETS",
        &[
            ("CHARACTER_SET_NAME", V64),
            ("DEFAULT_COLLATE_NAME", V64),
            ("DESCRIPTION", "VARCHAR(2048)"),
            ("MAXLEN", "INT UNSIGNED"),
        ],
    ),
    (
        "COLLATIONS",
        &[
            ("COLLATION_NAME", V64),
            ("CHARACTER_SET_NAME", V64),
            ("ID", "BIGINT UNSIGNED"),
            ("IS_DEFAULT", "VARCHAR(3)"),
            ("IS_COMPILED", "VARCHAR(3)"),
            ("SORTLEN", "INT UNSIGNED"),
            ("PAD_ATTRIBUTE", "ENUM"),
        ],
    ),
];

const SEED_ROWS: &[&str] = &[
    "INSERT INTO \"information_schema.SCHEMATA\" VALUES ('def', 'information_schema', 'utf8mb3', 'utf8mb3_general_ci', NULL, 'NO')",
    "INSERT INTO \"information_schema.SCHEMATA\" VALUES ('def', 'mysql', 'utf8mb4', 'utf8mb4_0900_ai_ci', NULL, 'NO')",
    "INSERT INTO \"information_schema.ENGINES\" VALUES ('InnoDB', 'DEFAULT', 'Supports transactions, row-level locking, and foreign keys', 'YES', 'NO', 'YES')",
    "INSERT INTO \"information_schema.CHARACTER_SETS\" VALUES ('utf8mb4', 'utf8mb4_0900_ai_ci', 'UTF-8 Unicode', 4), ('binary', 'binary', 'Binary pseudo charset', 1), ('latin1', 'latin1_swedish_ci', 'cp1252 West European', 1), ('utf8mb3', 'utf8mb3_general_ci', 'UTF-8 Unicode', 3)",
    "INSERT INTO \"information_schema.COLLATIONS\" VALUES ('utf8mb4_0900_ai_ci', 'utf8mb4', 255, 'Yes', 'Yes', 0, 'NO PAD'), ('utf8mb4_general_ci', 'utf8mb4', 45, '', 'Yes', 1, 'PAD SPACE'), ('utf8mb4_bin', 'utf8mb4', 46, '', 'Yes', 1, 'PAD SPACE'), ('utf8mb4_unicode_ci', 'utf8mb4', 224, '', 'Yes', 8, 'PAD SPACE'), ('binary', 'binary', 63, 'Yes', 'Yes', 1, 'NO PAD'), ('latin1_swedish_ci', 'latin1', 8, 'Yes', 'Yes', 1, 'PAD SPACE'), ('latin1_bin', 'latin1', 47, '', 'Yes', 1, 'PAD SPACE'), ('utf8mb3_general_ci', 'utf8mb3', 33, 'Yes', 'Yes', 1, 'PAD SPACE')",
];

/// Statements creating and seeding the catalog tables, in order.
pub fn bootstrap_statements() -> Vec<String> {
    let mut out: Vec<String> = TABLES
        .iter()
        .map(|(name, cols)| {
            let cols: Vec<String> = cols
                .iter()
                .map(|(c, t)| {
                    let collate =
                        if crate::types::sqlite_affinity(t) == "TEXT" || t.starts_with("ENUM") {
                            " COLLATE NOCASE"
                        } else {
                            ""
                        };
                    format!("\"{c}\" {t}{collate}")
                })
                .collect();
            format!(
                "CREATE TABLE IF NOT EXISTS \"information_schema.{name}\" ({})",
                cols.join(", ")
            )
        })
        .collect();
    out.push("CREATE INDEX IF NOT EXISTS \"information_schema.COLUMNS.by_table\" ON \"information_schema.COLUMNS\" (TABLE_SCHEMA, TABLE_NAME)".into());
    out.push("CREATE INDEX IF NOT EXISTS \"information_schema.STATISTICS.by_table\" ON \"information_schema.STATISTICS\" (TABLE_SCHEMA, TABLE_NAME)".into());
    out.push("CREATE INDEX IF NOT EXISTS \"information_schema.TABLES.by_table\" ON \"information_schema.TABLES\" (TABLE_SCHEMA, TABLE_NAME)".into());
    out.extend(SEED_ROWS.iter().map(|s| s.to_string()));
    out
}
