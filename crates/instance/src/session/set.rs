//! SET: system variables (session and global), user variables, SET NAMES, SET TRANSACTION.

use borealis_functions::SqlValue;
use borealis_protocol::Value;
use borealis_sql::{Scope, SetItem, SetValue, SkipIf};
use rusqlite::types::ValueRef;

use super::{exec, rows, Session};
use crate::errors::{err, ExecResult};
use crate::variables::{self, VarDef, VarValue};

/// The consistency levels of `aurora_mm_session_consistency_level`.
const CONSISTENCY_LEVELS: [&str; 2] = ["INSTANCE_RAW", "REGIONAL_RAW"];

pub fn set_items(s: &mut Session, items: &[SetItem], params: &[Value]) -> ExecResult<()> {
    let mut param_at = 0;
    for item in items {
        set_item(s, item, params, &mut param_at)?;
    }
    Ok(())
}

fn set_item(
    s: &mut Session,
    item: &SetItem,
    params: &[Value],
    param_at: &mut usize,
) -> ExecResult<()> {
    if matches!(item.scope, Scope::User) {
        let v = match &item.value {
            SetValue::Expr(e) => eval(s, e, params, param_at)?,
            SetValue::Keyword(k) => SqlValue::Text(k.clone()),
            SetValue::Default => SqlValue::Null,
        };
        s.fctx.set_user_var(&item.name, v);
        return Ok(());
    }
    let def = variables::find(&item.name).ok_or_else(|| {
        err(
            1193,
            "HY000",
            format!("Unknown system variable '{}'", item.name),
        )
    })?;
    let global = matches!(item.scope, Scope::Global | Scope::Persist);
    check_scope(def, global)?;
    if s.shared.cfg.cluster && def.name.starts_with("auto_increment_") {
        // In a cluster every slot generates ids of its own residue class (offset = slot,
        // increment = 16); changing either could make two instances generate the same id.
        return Err(err(
            1238,
            "HY000",
            format!(
                "Variable '{}' is a read only variable in a multi-instance cluster",
                def.name
            ),
        ));
    }
    let raw = match &item.value {
        SetValue::Default if global => VarValue::Str(def.default.to_string()),
        SetValue::Default => s.shared.globals.get(def.name).unwrap_or(VarValue::Null),
        SetValue::Keyword(k) => VarValue::Str(k.clone()),
        SetValue::Expr(e) => sql_to_var(eval(s, e, params, param_at)?),
    };
    let value = variables::parse_value(def, &raw)?;
    apply(s, def, &value, global)?;
    if global {
        s.shared.globals.set(def, value);
    } else {
        s.vars.set(def.name, value);
    }
    if def.name.starts_with("auto_increment_") {
        s.apply_auto_increment();
    }
    Ok(())
}

fn check_scope(def: &VarDef, global: bool) -> ExecResult<()> {
    use variables::Scope as V;
    if def.read_only {
        return Err(err(
            1238,
            "HY000",
            format!("Variable '{}' is a read only variable", def.name),
        ));
    }
    match (def.scope, global) {
        (V::Session, true) => Err(err(
            1228,
            "HY000",
            format!(
                "Variable '{}' is a SESSION variable and can't be used with SET GLOBAL",
                def.name
            ),
        )),
        (V::Global, false) => Err(err(
            1229,
            "HY000",
            format!(
                "Variable '{}' is a GLOBAL variable and should be set with SET GLOBAL",
                def.name
            ),
        )),
        _ => Ok(()),
    }
}

/// Side effects of variables that change behaviour, validated before the value is stored.
fn apply(s: &mut Session, def: &VarDef, value: &VarValue, global: bool) -> ExecResult<()> {
    let on = matches!(value, VarValue::Int(i) if *i != 0);
    match def.name {
        "autocommit" if !global => {
            if on && s.in_transaction() {
                exec::commit(s)?;
            }
            s.autocommit = on;
        }
        "aurora_mm_session_consistency_level" => {
            if s.in_transaction() {
                return Err(in_transaction_error());
            }
            let v = value.show(variables::Kind::Str).to_ascii_uppercase();
            if !CONSISTENCY_LEVELS.contains(&v.as_str()) {
                return Err(wrong_value(def, value));
            }
        }
        "transaction_isolation" | "tx_isolation" => {
            isolation(s, &value.show(variables::Kind::Str))?;
        }
        "read_only" => s
            .shared
            .read_only
            .store(on, std::sync::atomic::Ordering::Relaxed),
        "general_log" | "slow_query_log" => {
            let log = query_log(s, def.name);
            log.set_enabled(on)
                .map_err(|e| log_file_error(def, value, &log.path(), &e))?;
        }
        "general_log_file" | "slow_query_log_file" => {
            let path = std::path::PathBuf::from(value.show(variables::Kind::Str));
            if path.as_os_str().is_empty() {
                return Err(wrong_value(def, value));
            }
            query_log(s, def.name)
                .set_path(path.clone())
                .map_err(|e| log_file_error(def, value, &path, &e))?;
        }
        "foreign_key_checks" if !global => {
            let pragma = if on {
                "PRAGMA foreign_keys = ON"
            } else {
                "PRAGMA foreign_keys = OFF"
            };
            s.engine.conn().execute_batch(pragma)?;
        }
        "last_insert_id" | "insert_id" | "identity" => {
            if let VarValue::Int(i) = value {
                s.fctx.set_last_insert_id(*i as u64);
            }
        }
        "auto_increment_increment" | "auto_increment_offset"
            if !matches!(value, VarValue::Int(1..=65535)) =>
        {
            return Err(wrong_value(def, value));
        }
        _ => {}
    }
    Ok(())
}

/// The query log a `general_log*` / `slow_query_log*` variable controls.
fn query_log<'a>(s: &'a Session, var: &str) -> &'a crate::querylog::QueryLog {
    if var.starts_with("general_log") {
        &s.shared.general_log
    } else {
        &s.shared.slow_log
    }
}

/// 1231 naming the file that cannot be opened, as MySQL refuses an unwritable log file.
fn log_file_error(
    def: &VarDef,
    value: &VarValue,
    path: &std::path::Path,
    e: &std::io::Error,
) -> crate::errors::ExecError {
    err(
        1231,
        "42000",
        format!(
            "Variable '{}' can't be set to the value of '{}' (cannot open '{}': {e})",
            def.name,
            value.show(def.kind),
            path.display()
        ),
    )
}

fn in_transaction_error() -> crate::errors::ExecError {
    err(
        1568,
        "25001",
        "Transaction characteristics can't be changed while a transaction is in progress",
    )
}

fn wrong_value(def: &VarDef, value: &VarValue) -> crate::errors::ExecError {
    err(
        1231,
        "42000",
        format!(
            "Variable '{}' can't be set to the value of '{}'",
            def.name,
            value.show(variables::Kind::Str)
        ),
    )
}

/// Checks an isolation level name: SERIALIZABLE does not exist yet (page read-set validation).
fn isolation(s: &Session, level: &str) -> ExecResult<String> {
    if s.in_transaction() {
        return Err(in_transaction_error());
    }
    let norm = level.trim().to_ascii_uppercase().replace([' ', '_'], "-");
    match norm.as_str() {
        "REPEATABLE-READ" | "READ-COMMITTED" | "READ-UNCOMMITTED" => Ok(norm),
        "SERIALIZABLE" => Err(err(
            1235,
            "42000",
            "This version of Borealis doesn't yet support 'SERIALIZABLE isolation'",
        )),
        _ => Err(err(
            1231,
            "42000",
            format!("Variable 'transaction_isolation' can't be set to the value of '{level}'"),
        )),
    }
}

pub fn set_transaction(
    s: &mut Session,
    scope: Option<&Scope>,
    level: Option<&str>,
    read_only: Option<bool>,
) -> ExecResult<()> {
    let global = matches!(scope, Some(Scope::Global | Scope::Persist));
    if let Some(level) = level {
        let norm = isolation(s, level)?;
        for name in ["transaction_isolation", "tx_isolation"] {
            if let Some(def) = variables::find(name) {
                if global {
                    s.shared.globals.set(def, VarValue::Str(norm.clone()));
                } else {
                    s.vars.set(def.name, VarValue::Str(norm.clone()));
                }
            }
        }
    }
    if let Some(ro) = read_only {
        for name in ["transaction_read_only", "tx_read_only"] {
            if let Some(def) = variables::find(name) {
                if global {
                    s.shared.globals.set(def, VarValue::Int(i64::from(ro)));
                } else {
                    s.vars.set(def.name, VarValue::Int(i64::from(ro)));
                }
            }
        }
    }
    Ok(())
}

/// SET NAMES cs [COLLATE c]: Borealis speaks utf8mb4; other names are recorded as MySQL does.
pub fn set_names(s: &mut Session, charset: &str, collation: Option<&str>) -> ExecResult<()> {
    let cs = charset.trim_matches(['\'', '"']).to_ascii_lowercase();
    let known = [
        "utf8mb4", "utf8", "utf8mb3", "latin1", "binary", "ascii", "default",
    ];
    if !known.contains(&cs.as_str()) {
        return Err(err(1115, "42000", format!("Unknown character set: '{cs}'")));
    }
    let cs = if cs == "default" {
        "utf8mb4".to_string()
    } else {
        cs
    };
    for name in [
        "character_set_client",
        "character_set_connection",
        "character_set_results",
    ] {
        s.vars.set(static_name(name), VarValue::Str(cs.clone()));
    }
    let coll = collation
        .map(str::to_string)
        .unwrap_or_else(|| default_collation(&cs).to_string());
    s.vars
        .set(static_name("collation_connection"), VarValue::Str(coll));
    Ok(())
}

fn static_name(name: &str) -> &'static str {
    variables::find(name)
        .map(|d| d.name)
        .unwrap_or("character_set_client")
}

fn default_collation(cs: &str) -> &'static str {
    match cs {
        "latin1" => "latin1_swedish_ci",
        "binary" => "binary",
        "ascii" => "ascii_general_ci",
        "utf8" | "utf8mb3" => "utf8mb3_general_ci",
        _ => "utf8mb4_0900_ai_ci",
    }
}

/// Evaluates a SET expression with `SELECT expr`, binding its share of the parameters.
fn eval(s: &Session, expr: &str, params: &[Value], param_at: &mut usize) -> ExecResult<SqlValue> {
    let sql = format!("SELECT {expr}");
    let conn = s.engine.conn();
    let mut stmt = conn.prepare(&sql).map_err(|e| s.sqlite_error(e))?;
    let n = stmt.parameter_count();
    let mine = params.get(*param_at..*param_at + n).unwrap_or(&[]);
    *param_at += n;
    rows::bind(&mut stmt, mine)?;
    let mut q = stmt.raw_query();
    let row = q.next().map_err(|e| s.sqlite_error(e))?;
    let Some(row) = row else {
        return Ok(SqlValue::Null);
    };
    Ok(match row.get_ref(0)? {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    })
}

fn sql_to_var(v: SqlValue) -> VarValue {
    match v {
        SqlValue::Null => VarValue::Null,
        SqlValue::Integer(i) => VarValue::Int(i),
        SqlValue::Real(f) => VarValue::Float(f),
        SqlValue::Text(t) => VarValue::Str(t),
        SqlValue::Blob(b) => VarValue::Str(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// `CREATE TABLE IF NOT EXISTS` on an existing table is a note, not an error.
pub fn skip_applies(s: &Session, skip: &SkipIf) -> ExecResult<Option<(u16, String)>> {
    use borealis_sql::Catalog as _;
    match skip {
        SkipIf::TableExists { db, table } => Ok(s
            .catalog()
            .table(db, table)
            .map(|_| (1050, format!("Table '{table}' already exists")))),
    }
}
