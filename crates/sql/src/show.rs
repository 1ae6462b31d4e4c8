//! SHOW statements: those answerable from the catalog become queries over
//! the `"information_schema.*"` tables with MySQL's column names; the rest
//! become [`Show`] plans the instance answers.

use sqlparser::tokenizer::Token;

use crate::error::SqlError;
use crate::names::{quote_ident, quote_literal};
use crate::plan::{Show, StatementKind};
use crate::rewrite::Rewriter;
use crate::tokens::Cursor;
use crate::Ctx;

/// LIKE or WHERE filter of a SHOW statement.
enum Filter {
    None,
    Like(String),
    Where(String),
}

fn filter(cur: &mut Cursor, ctx: &Ctx<'_>) -> Result<Filter, SqlError> {
    if cur.eat("LIKE") {
        let p = cur.string().ok_or_else(|| cur.syntax())?;
        return Ok(Filter::Like(p));
    }
    if cur.eat("WHERE") {
        let mut e = cur.expr(cur.tokens.len())?;
        let mut rw = Rewriter::new(ctx.current_db, &e);
        rw.run(&mut e)?;
        return Ok(Filter::Where(e.to_string()));
    }
    if !cur.at_end() {
        return Err(cur.syntax());
    }
    Ok(Filter::None)
}

fn like_clause(column: &str, f: &Filter) -> String {
    match f {
        Filter::Like(p) => format!(" AND {column} LIKE {} ESCAPE '\\'", quote_literal(p)),
        _ => String::new(),
    }
}

fn wrap_where(sql: String, f: &Filter) -> String {
    match f {
        Filter::Where(w) => format!("SELECT * FROM ({sql}) WHERE {w}"),
        _ => sql,
    }
}

fn query(sql: String) -> StatementKind {
    StatementKind::Query {
        sql,
        locking: false,
        found_rows_sql: None,
    }
}

fn from_db(cur: &mut Cursor, ctx: &Ctx<'_>) -> Result<String, SqlError> {
    let db = if cur.eat("FROM") || cur.eat("IN") {
        cur.name().ok_or_else(|| cur.syntax())?
    } else {
        ctx.current_db
            .ok_or(SqlError::NoDatabaseSelected)?
            .to_string()
    };
    if !ctx.catalog.database_exists(&db) {
        return Err(SqlError::UnknownDatabase(db));
    }
    Ok(db)
}

/// `FROM t [FROM db]` or `FROM db.t`, checked against the catalog.
fn table_ref(cur: &mut Cursor, ctx: &Ctx<'_>) -> Result<(String, String), SqlError> {
    if !(cur.eat("FROM") || cur.eat("IN")) {
        return Err(cur.syntax());
    }
    let (qual, table) = cur.qualified_name().ok_or_else(|| cur.syntax())?;
    let db = match qual {
        Some(db) => db,
        None if cur.eat("FROM") || cur.eat("IN") => cur.name().ok_or_else(|| cur.syntax())?,
        None => ctx
            .current_db
            .ok_or(SqlError::NoDatabaseSelected)?
            .to_string(),
    };
    if ctx.catalog.table(&db, &table).is_none() {
        return Err(SqlError::NoSuchTable { db, table });
    }
    Ok((db, table))
}

/// Handles SHOW / DESCRIBE; `None` when the statement is not one of those.
pub(crate) fn try_show(cur: &mut Cursor, ctx: &Ctx<'_>) -> Option<Result<StatementKind, SqlError>> {
    let first = cur.word_at(0)?;
    match first.as_str() {
        "SHOW" => {
            cur.pos += 1;
            Some(show(cur, ctx))
        }
        "DESC" | "DESCRIBE" | "EXPLAIN" => {
            let next = cur.word_at(1);
            let is_table = matches!(cur.tokens.get(1), Some(Token::Word(_)))
                && !matches!(
                    next.as_deref(),
                    Some(
                        "SELECT"
                            | "INSERT"
                            | "UPDATE"
                            | "DELETE"
                            | "REPLACE"
                            | "WITH"
                            | "FORMAT"
                            | "ANALYZE"
                            | "EXTENDED"
                            | "PARTITIONS"
                    )
                );
            if !is_table {
                return Some(Err(SqlError::unsupported("EXPLAIN")));
            }
            cur.pos += 1;
            // Reuse SHOW COLUMNS: synthesise the FROM keyword position.
            Some(describe(cur, ctx))
        }
        _ => None,
    }
}

fn describe(cur: &mut Cursor, ctx: &Ctx<'_>) -> Result<StatementKind, SqlError> {
    let (qual, table) = cur.qualified_name().ok_or_else(|| cur.syntax())?;
    let db = match qual {
        Some(db) => db,
        None => ctx
            .current_db
            .ok_or(SqlError::NoDatabaseSelected)?
            .to_string(),
    };
    if ctx.catalog.table(&db, &table).is_none() {
        return Err(SqlError::NoSuchTable { db, table });
    }
    let like = match cur.name() {
        Some(col) => Filter::Like(col),
        None => Filter::None,
    };
    Ok(query(columns_sql(&db, &table, false, &like)))
}

fn columns_sql(db: &str, table: &str, full: bool, f: &Filter) -> String {
    let extra = if full {
        "COLUMN_NAME AS \"Field\", COLUMN_TYPE AS \"Type\", COLLATION_NAME AS \"Collation\", IS_NULLABLE AS \"Null\", COLUMN_KEY AS \"Key\", COLUMN_DEFAULT AS \"Default\", EXTRA AS \"Extra\", PRIVILEGES AS \"Privileges\", COLUMN_COMMENT AS \"Comment\""
    } else {
        "COLUMN_NAME AS \"Field\", COLUMN_TYPE AS \"Type\", IS_NULLABLE AS \"Null\", COLUMN_KEY AS \"Key\", COLUMN_DEFAULT AS \"Default\", EXTRA AS \"Extra\""
    };
    wrap_where(
        format!(
            "SELECT {extra} FROM \"information_schema.COLUMNS\" WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}{} ORDER BY ORDINAL_POSITION",
            quote_literal(db),
            quote_literal(table),
            like_clause("COLUMN_NAME", f)
        ),
        f,
    )
}

fn show(cur: &mut Cursor, ctx: &Ctx<'_>) -> Result<StatementKind, SqlError> {
    let full = cur.eat("FULL");
    let extended = cur.eat("EXTENDED");
    let _ = extended;
    let global = cur.eat("GLOBAL");
    if !global {
        let _ = cur.eat("SESSION") || cur.eat("LOCAL");
    }
    let word = cur.word_at(0).ok_or_else(|| cur.syntax())?;
    cur.pos += 1;
    let kind = match word.as_str() {
        "DATABASES" | "SCHEMAS" => {
            let f = filter(cur, ctx)?;
            let sql = format!(
                "SELECT SCHEMA_NAME AS \"Database\" FROM \"information_schema.SCHEMATA\" WHERE 1{} ORDER BY SCHEMA_NAME",
                like_clause("SCHEMA_NAME", &f)
            );
            query(wrap_where(sql, &f))
        }
        "TABLES" => {
            let db = from_db(cur, ctx)?;
            let f = filter(cur, ctx)?;
            let col = quote_ident(&format!("Tables_in_{db}"));
            let typ = if full {
                ", TABLE_TYPE AS \"Table_type\""
            } else {
                ""
            };
            let sql = format!(
                "SELECT TABLE_NAME AS {col}{typ} FROM \"information_schema.TABLES\" WHERE TABLE_SCHEMA = {}{} ORDER BY TABLE_NAME",
                quote_literal(&db),
                like_clause("TABLE_NAME", &f)
            );
            query(wrap_where(sql, &f))
        }
        "COLUMNS" | "FIELDS" => {
            let (db, table) = table_ref(cur, ctx)?;
            let f = filter(cur, ctx)?;
            query(columns_sql(&db, &table, full, &f))
        }
        "INDEX" | "INDEXES" | "KEYS" => {
            let (db, table) = table_ref(cur, ctx)?;
            let f = filter(cur, ctx)?;
            let sql = format!(
                "SELECT TABLE_NAME AS \"Table\", NON_UNIQUE AS \"Non_unique\", INDEX_NAME AS \"Key_name\", SEQ_IN_INDEX AS \"Seq_in_index\", COLUMN_NAME AS \"Column_name\", COLLATION AS \"Collation\", CARDINALITY AS \"Cardinality\", SUB_PART AS \"Sub_part\", PACKED AS \"Packed\", NULLABLE AS \"Null\", INDEX_TYPE AS \"Index_type\", COMMENT AS \"Comment\", INDEX_COMMENT AS \"Index_comment\", IS_VISIBLE AS \"Visible\", EXPRESSION AS \"Expression\" FROM \"information_schema.STATISTICS\" WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} ORDER BY rowid",
                quote_literal(&db),
                quote_literal(&table)
            );
            query(wrap_where(sql, &f))
        }
        "TABLE" if cur.eat("STATUS") => {
            let db = from_db(cur, ctx)?;
            let f = filter(cur, ctx)?;
            let sql = format!(
                "SELECT TABLE_NAME AS \"Name\", ENGINE AS \"Engine\", VERSION AS \"Version\", ROW_FORMAT AS \"Row_format\", TABLE_ROWS AS \"Rows\", AVG_ROW_LENGTH AS \"Avg_row_length\", DATA_LENGTH AS \"Data_length\", MAX_DATA_LENGTH AS \"Max_data_length\", INDEX_LENGTH AS \"Index_length\", DATA_FREE AS \"Data_free\", AUTO_INCREMENT AS \"Auto_increment\", CREATE_TIME AS \"Create_time\", UPDATE_TIME AS \"Update_time\", CHECK_TIME AS \"Check_time\", TABLE_COLLATION AS \"Collation\", CHECKSUM AS \"Checksum\", CREATE_OPTIONS AS \"Create_options\", TABLE_COMMENT AS \"Comment\" FROM \"information_schema.TABLES\" WHERE TABLE_SCHEMA = {}{} ORDER BY TABLE_NAME",
                quote_literal(&db),
                like_clause("TABLE_NAME", &f)
            );
            query(wrap_where(sql, &f))
        }
        "COLLATION" => {
            let f = filter(cur, ctx)?;
            let sql = format!(
                "SELECT COLLATION_NAME AS \"Collation\", CHARACTER_SET_NAME AS \"Charset\", ID AS \"Id\", IS_DEFAULT AS \"Default\", IS_COMPILED AS \"Compiled\", SORTLEN AS \"Sortlen\", PAD_ATTRIBUTE AS \"Pad_attribute\" FROM \"information_schema.COLLATIONS\" WHERE 1{} ORDER BY COLLATION_NAME",
                like_clause("COLLATION_NAME", &f)
            );
            query(wrap_where(sql, &f))
        }
        "CHARACTER" | "CHARSET" => {
            if word == "CHARACTER" && !cur.eat("SET") {
                return Err(cur.syntax());
            }
            let f = filter(cur, ctx)?;
            let sql = format!(
                "SELECT CHARACTER_SET_NAME AS \"Charset\", DESCRIPTION AS \"Description\", DEFAULT_COLLATE_NAME AS \"Default collation\", MAXLEN AS \"Maxlen\" FROM \"information_schema.CHARACTER_SETS\" WHERE 1{} ORDER BY CHARACTER_SET_NAME",
                like_clause("CHARACTER_SET_NAME", &f)
            );
            query(wrap_where(sql, &f))
        }
        "ENGINES" | "STORAGE" => {
            cur.eat("ENGINES");
            query("SELECT ENGINE AS \"Engine\", SUPPORT AS \"Support\", COMMENT AS \"Comment\", TRANSACTIONS AS \"Transactions\", XA AS \"XA\", SAVEPOINTS AS \"Savepoints\" FROM \"information_schema.ENGINES\"".into())
        }
        "VARIABLES" | "STATUS" => {
            let (like, where_sql) = match filter(cur, ctx)? {
                Filter::None => (None, None),
                Filter::Like(p) => (Some(p), None),
                Filter::Where(w) => (None, Some(w)),
            };
            if word == "VARIABLES" {
                StatementKind::Show(Show::Variables {
                    global,
                    like,
                    where_sql,
                })
            } else {
                StatementKind::Show(Show::Status {
                    global,
                    like,
                    where_sql,
                })
            }
        }
        "WARNINGS" => StatementKind::Show(Show::Warnings),
        "ERRORS" => StatementKind::Show(Show::Errors),
        "COUNT" => {
            let rest: Vec<String> = cur.tokens[cur.pos..]
                .iter()
                .map(|t| t.to_string().to_ascii_uppercase())
                .collect();
            match rest.join("").as_str() {
                "(*)WARNINGS" => StatementKind::Show(Show::WarningCount),
                "(*)ERRORS" => StatementKind::Show(Show::ErrorCount),
                _ => return Err(cur.syntax()),
            }
        }
        "PROCESSLIST" => StatementKind::Show(Show::Processlist { full }),
        "CREATE" => {
            if cur.eat("TABLE") {
                let (qual, table) = cur.qualified_name().ok_or_else(|| cur.syntax())?;
                let db = match qual {
                    Some(d) => d,
                    None => ctx
                        .current_db
                        .ok_or(SqlError::NoDatabaseSelected)?
                        .to_string(),
                };
                if ctx.catalog.table(&db, &table).is_none() {
                    return Err(SqlError::NoSuchTable { db, table });
                }
                StatementKind::Show(Show::CreateTable { db, table })
            } else if cur.eat("DATABASE") || cur.eat("SCHEMA") {
                let _ = cur.eat_seq(&["IF", "NOT", "EXISTS"]);
                let db = cur.name().ok_or_else(|| cur.syntax())?;
                if !ctx.catalog.database_exists(&db) {
                    return Err(SqlError::UnknownDatabase(db));
                }
                StatementKind::Show(Show::CreateDatabase { db })
            } else {
                return Err(SqlError::unsupported(format!(
                    "SHOW CREATE {}",
                    cur.word_at(0).unwrap_or_default()
                )));
            }
        }
        "ENGINE" => {
            let engine = cur.name().ok_or_else(|| cur.syntax())?;
            StatementKind::Show(Show::EngineStatus(engine))
        }
        "GRANTS" | "PRIVILEGES" => StatementKind::Show(Show::Grants),
        "PLUGINS" => StatementKind::Show(Show::Plugins),
        "MASTER" | "BINARY" | "SLAVE" | "REPLICA" | "REPLICAS" | "BINLOG" | "RELAYLOG" => {
            StatementKind::Show(Show::Replication(word))
        }
        "TRIGGERS" | "EVENTS" | "PROCEDURE" | "FUNCTION" | "OPEN" | "PROFILES" => {
            StatementKind::Show(Show::Empty(word))
        }
        other => return Err(SqlError::unsupported(format!("SHOW {other}"))),
    };
    Ok(kind)
}
