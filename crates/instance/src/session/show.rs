//! SHOW statements answered from instance state (variables, status, processes, warnings,
//! engine status, CREATE TABLE text). SHOW TABLES / COLUMNS / INDEX / DATABASES are translated
//! to queries over information_schema by the SQL layer and never reach this module.

use borealis_protocol::{ColumnDef, ColumnFlags, ColumnType, ResultSink, Value};
use borealis_sql::{quote_literal, Catalog as _, Show};

use super::{rows, Session};
use crate::errors::{err, ExecResult};
use crate::variables::{self, VarValue};

type Table = Vec<Vec<Option<String>>>;

pub fn show(s: &mut Session, show: &Show, out: &mut ResultSink<'_>, more: bool) -> ExecResult<()> {
    match show {
        Show::Variables {
            like, where_sql, ..
        }
        | Show::Status {
            like, where_sql, ..
        } => {
            let rows = match show {
                Show::Variables { global, .. } => variable_rows(s, *global),
                _ => status_rows(s),
            };
            let cols = ["Variable_name", "Value"];
            send(
                s,
                out,
                more,
                &cols,
                rows,
                like.as_deref(),
                where_sql.as_deref(),
            )
        }
        Show::Warnings | Show::Errors => {
            let rows = warning_rows(s, matches!(show, Show::Errors));
            send(
                s,
                out,
                more,
                &["Level", "Code", "Message"],
                rows,
                None,
                None,
            )
        }
        Show::Processlist { full } => {
            let rows = process_rows(s, *full);
            let cols = [
                "Id", "User", "Host", "db", "Command", "Time", "State", "Info",
            ];
            send(s, out, more, &cols, rows, None, None)
        }
        Show::CreateTable { db, table } => {
            let meta = s
                .catalog()
                .table(db, table)
                .ok_or_else(|| err(1146, "42S02", format!("Table '{db}.{table}' doesn't exist")))?;
            let text = borealis_sql::show_create_table(&meta);
            send(
                s,
                out,
                more,
                &["Table", "Create Table"],
                vec![vec![Some(table.clone()), Some(text)]],
                None,
                None,
            )
        }
        Show::CreateDatabase { db } => {
            if !s.catalog().database_exists(db) {
                return Err(err(1049, "42000", format!("Unknown database '{db}'")));
            }
            let text = format!(
                "CREATE DATABASE `{db}` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */"
            );
            send(
                s,
                out,
                more,
                &["Database", "Create Database"],
                vec![vec![Some(db.clone()), Some(text)]],
                None,
                None,
            )
        }
        Show::EngineStatus(name) => {
            let (kind, text) = match name.to_ascii_uppercase().as_str() {
                "BOREALIS" => ("Borealis", engine_status(s)),
                "INNODB" => ("InnoDB", INNODB_STATUS.to_string()),
                _ => {
                    return Err(err(
                        1286,
                        "42000",
                        format!("Unknown storage engine '{name}'"),
                    ))
                }
            };
            let rows = vec![vec![Some(kind.into()), Some(String::new()), Some(text)]];
            send(s, out, more, &["Type", "Name", "Status"], rows, None, None)
        }
        Show::Grants => {
            let rows = vec![vec![Some(format!(
                "GRANT ALL PRIVILEGES ON *.* TO `{}`@`%` WITH GRANT OPTION",
                s.user
            ))]];
            let col = format!("Grants for {}@%", s.user);
            send(s, out, more, &[col.as_str()], rows, None, None)
        }
        Show::WarningCount => {
            let n = s.warnings.len().to_string();
            send(
                s,
                out,
                more,
                &["@@session.warning_count"],
                vec![vec![Some(n)]],
                None,
                None,
            )
        }
        Show::ErrorCount => {
            let n = s
                .warnings
                .iter()
                .filter(|w| w.level == "Error")
                .count()
                .to_string();
            send(
                s,
                out,
                more,
                &["@@session.error_count"],
                vec![vec![Some(n)]],
                None,
                None,
            )
        }
        Show::Plugins => {
            let rows = ["mysql_native_password", "caching_sha2_password"]
                .iter()
                .map(|p| {
                    vec![
                        Some(p.to_string()),
                        Some("ACTIVE".into()),
                        Some("AUTHENTICATION".into()),
                        None,
                        Some("GPL".into()),
                    ]
                })
                .collect();
            send(
                s,
                out,
                more,
                &["Name", "Status", "Type", "Library", "License"],
                rows,
                None,
                None,
            )
        }
        Show::Replication(what) | Show::Empty(what) => {
            let cols = empty_columns(what);
            send(s, out, more, &cols, Vec::new(), None, None)
        }
    }
}

/// Column names of SHOW statements that have no rows in Borealis (no triggers, events, routines,
/// binary logs): clients read the header, so it matches MySQL's.
fn empty_columns(what: &str) -> Vec<&'static str> {
    let w = what.to_ascii_uppercase();
    if w.contains("TRIGGER") {
        vec![
            "Trigger",
            "Event",
            "Table",
            "Statement",
            "Timing",
            "Created",
            "sql_mode",
            "Definer",
            "character_set_client",
            "collation_connection",
            "Database Collation",
        ]
    } else if w.contains("EVENT") {
        vec![
            "Db",
            "Name",
            "Definer",
            "Time zone",
            "Type",
            "Execute at",
            "Interval value",
            "Interval field",
            "Starts",
            "Ends",
            "Status",
            "Originator",
            "character_set_client",
            "collation_connection",
            "Database Collation",
        ]
    } else if w.contains("PROCEDURE") || w.contains("FUNCTION") {
        vec![
            "Db",
            "Name",
            "Type",
            "Definer",
            "Modified",
            "Created",
            "Security_type",
            "Comment",
            "character_set_client",
            "collation_connection",
            "Database Collation",
        ]
    } else if w.contains("BINARY LOGS") || w.contains("MASTER LOGS") {
        vec!["Log_name", "File_size", "Encrypted"]
    } else if w.contains("STATUS") {
        vec![
            "File",
            "Position",
            "Binlog_Do_DB",
            "Binlog_Ignore_DB",
            "Executed_Gtid_Set",
        ]
    } else {
        vec!["Name"]
    }
}

fn variable_rows(s: &Session, global: bool) -> Table {
    let globals = s.shared.globals.snapshot();
    variables::VARIABLES
        .iter()
        .map(|def| {
            let value = if global {
                globals.get(def.name).cloned()
            } else {
                s.vars
                    .get(def.name)
                    .or_else(|| globals.get(def.name).cloned())
            };
            let shown = match def.name {
                "last_insert_id" | "identity" => s.fctx.last_insert_id().to_string(),
                "warning_count" => s.warnings.len().to_string(),
                _ => value.unwrap_or(VarValue::Null).show(def.kind),
            };
            vec![Some(def.name.to_string()), Some(shown)]
        })
        .collect()
}

fn status_rows(s: &Session) -> Table {
    crate::status::global_status(&s.shared)
        .into_iter()
        .map(|v| vec![Some(v.name.to_string()), Some(v.value.to_string())])
        .collect()
}

fn warning_rows(s: &Session, errors_only: bool) -> Table {
    let conflicts = if s.warnings.iter().any(|w| w.conflict.is_some()) && !errors_only {
        s.shared.read_conflicts().0
    } else {
        Vec::new()
    };
    s.warnings
        .iter()
        .filter(|w| !errors_only || w.level == "Error")
        .map(|w| {
            let message = w
                .conflict
                .and_then(|id| conflicts.iter().find(|r| r.id == id))
                .map_or_else(|| w.message.clone(), crate::conflicts::format_note);
            vec![
                Some(w.level.to_string()),
                Some(w.code.to_string()),
                Some(message),
            ]
        })
        .collect()
}

fn process_rows(s: &Session, full: bool) -> Table {
    s.shared
        .processes
        .rows()
        .into_iter()
        .map(|p| {
            let info = p.info.map(|i| {
                if full {
                    i
                } else {
                    i.chars().take(100).collect()
                }
            });
            vec![
                Some(p.id.to_string()),
                Some(p.user),
                Some(p.host),
                p.db,
                Some(p.command.to_string()),
                Some(p.time_secs.to_string()),
                Some(if p.command == "Sleep" {
                    String::new()
                } else {
                    "executing".into()
                }),
                info,
            ]
        })
        .collect()
}

/// `SHOW ENGINE INNODB STATUS` answers truthfully: there is no InnoDB here.
const INNODB_STATUS: &str = "\n=====================================\nBOREALIS (NOT INNODB) STATUS\n=====================================\n\
The storage engine of this server is Borealis (SQLite b-trees on a shared, versioned page store); InnoDB is not used.\n\
Transactions conflict per page (first committer wins, the loser gets error 1213).\n\
For recent conflicts (table or index, page, winning instance) and engine counters see SHOW ENGINE BOREALIS STATUS and information_schema.BOREALIS_CONFLICTS.\n";

fn engine_status(s: &Session) -> String {
    let mut text = engine_counters(s);
    let (rows, totals) = s.shared.read_conflicts();
    text.push_str(&crate::conflicts::format_status(&rows, &totals));
    text
}

fn engine_counters(s: &Session) -> String {
    let e = s.shared.engine.stats();
    let st = s.shared.engine.store().stats();
    format!(
        "\n=====================================\nBOREALIS ENGINE STATUS\n=====================================\n\
         instance slot {}\napplied LSN {}\nstore: latest LSN {}, oldest retained LSN {}, commits {}, conflicts {}, fsyncs {}, log bytes {}, checkpoints {}, retained page versions {}, database pages {}\n\
         buffer pool: {} of {} bytes, hits {}, misses {}, evictions {}\n",
        s.shared.cfg.slot,
        s.shared.engine.applied_lsn(),
        st.latest_lsn,
        st.oldest_lsn,
        st.commits,
        st.conflicts,
        st.fsyncs,
        st.log_bytes,
        st.checkpoints,
        st.retained_versions,
        st.db_pages,
        e.pool_bytes,
        e.pool_capacity_bytes,
        e.pool_hits,
        e.pool_misses,
        e.pool_evictions,
    )
}

/// Sends a small table of text columns, filtered by LIKE (first column) or a WHERE clause.
/// WHERE is evaluated by SQLite over the rows, so any expression MySQL allows there works.
fn send(
    s: &mut Session,
    out: &mut ResultSink<'_>,
    more: bool,
    columns: &[&str],
    mut table: Table,
    like: Option<&str>,
    where_sql: Option<&str>,
) -> ExecResult<()> {
    if let Some(pattern) = like {
        table.retain(|r| {
            r.first()
                .cloned()
                .flatten()
                .is_some_and(|v| like_match(pattern, &v))
        });
    }
    if let Some(w) = where_sql {
        return send_filtered(s, out, more, columns, &table, w);
    }
    let defs: Vec<ColumnDef> = columns.iter().map(|c| text_column(c)).collect();
    out.begin_rows(&defs)?;
    let mut buf = Vec::with_capacity(columns.len());
    for row in &table {
        buf.clear();
        buf.extend(row.iter().map(|v| match v {
            Some(t) => Value::Bytes(t.clone().into_bytes()),
            None => Value::NULL,
        }));
        out.row(&buf)?;
    }
    out.end_rows(s.warning_count(), more)?;
    Ok(())
}

fn send_filtered(
    s: &mut Session,
    out: &mut ResultSink<'_>,
    more: bool,
    columns: &[&str],
    table: &Table,
    where_sql: &str,
) -> ExecResult<()> {
    let names: Vec<String> = columns
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    let values: Vec<String> = table
        .iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .map(|v| {
                    v.as_deref()
                        .map(quote_literal)
                        .unwrap_or_else(|| "NULL".into())
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let body = if values.is_empty() {
        format!(
            "SELECT {} WHERE 0",
            names
                .iter()
                .map(|n| format!("NULL AS {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!("VALUES {}", values.join(", "))
    };
    let sql = format!(
        "WITH v({}) AS ({body}) SELECT * FROM v WHERE {where_sql}",
        names.join(", ")
    );
    rows::query(s, &sql, &[], out, more, None)
}

fn text_column(name: &str) -> ColumnDef {
    ColumnDef {
        schema: String::new(),
        table: String::new(),
        org_table: String::new(),
        name: name.to_string(),
        org_name: name.to_string(),
        charset: 255,
        length: 1024,
        column_type: ColumnType::MYSQL_TYPE_VAR_STRING,
        flags: ColumnFlags::empty(),
        decimals: 0,
    }
}

/// SQL LIKE with % and _ (and \ escapes), case-insensitive as MySQL's default collation.
pub fn like_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let v: Vec<char> = value.to_lowercase().chars().collect();
    like_at(&p, &v)
}

fn like_at(p: &[char], v: &[char]) -> bool {
    // Iterative matcher with single-star backtracking: O(len(p) * len(v)) worst case, bounded.
    let (mut pi, mut vi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while vi < v.len() {
        if pi < p.len() && p[pi] == '\\' && pi + 1 < p.len() && p[pi + 1] == v[vi] {
            pi += 2;
            vi += 1;
        } else if pi < p.len()
            && (p[pi] == '_' || (p[pi] == v[vi] && p[pi] != '%' && p[pi] != '\\'))
        {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::like_match;

    #[test]
    fn like_patterns() {
        assert!(like_match("max_allowed%", "max_allowed_packet"));
        assert!(like_match("%size", "innodb_buffer_pool_SIZE"));
        assert!(like_match("a_c", "abc"));
        assert!(!like_match("a_c", "abbc"));
        assert!(like_match("auto\\_inc%", "auto_increment_offset"));
        assert!(!like_match("auto\\_inc%", "autoXincrement"));
        assert!(like_match("%", ""));
    }
}
