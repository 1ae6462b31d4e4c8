//! System variables: the registry of known variables, their scopes and defaults, and the
//! global values of one instance. Session values live in the session (see `session`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::errors::{err, ExecResult};

/// Where a variable can be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only `SET GLOBAL` (e.g. `read_only`).
    Global,
    /// Only the session (e.g. `last_insert_id`).
    Session,
    /// Both: the session value starts as the global value.
    Both,
}

/// How a value is checked and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ON/OFF, 1/0; `@@x` returns 1/0, SHOW VARIABLES shows ON/OFF.
    Bool,
    Int,
    Float,
    Str,
}

/// A variable's value.
#[derive(Clone, Debug, PartialEq)]
pub enum VarValue {
    Int(i64),
    Float(f64),
    Str(String),
    Null,
}

impl VarValue {
    /// The form SHOW VARIABLES prints.
    pub fn show(&self, kind: Kind) -> String {
        match (self, kind) {
            (VarValue::Int(0), Kind::Bool) => "OFF".into(),
            (VarValue::Int(_), Kind::Bool) => "ON".into(),
            (VarValue::Int(i), _) => i.to_string(),
            (VarValue::Float(f), _) => format!("{f:.6}"),
            (VarValue::Str(s), _) => s.clone(),
            (VarValue::Null, _) => String::new(),
        }
    }
}

/// A known variable.
pub struct VarDef {
    pub name: &'static str,
    pub scope: Scope,
    pub kind: Kind,
    /// Read-only variables reject SET with 1238.
    pub read_only: bool,
    pub default: &'static str,
}

const fn v(
    name: &'static str,
    scope: Scope,
    kind: Kind,
    read_only: bool,
    default: &'static str,
) -> VarDef {
    VarDef {
        name,
        scope,
        kind,
        read_only,
        default,
    }
}

use Kind::{Bool, Float as F, Int, Str};
use Scope::{Both, Global as G, Session as S};

/// Every system variable Borealis knows, sorted by name. Defaults are MySQL 8's unless noted;
/// `@DYN` defaults are filled in by the instance at start (version, port, datadir, …).
pub static VARIABLES: &[VarDef] = &[
    v("aurora_mm_session_consistency_level", Both, Str, false, "INSTANCE_RAW"),
    v("auto_increment_increment", Both, Int, false, "@DYN"),
    v("auto_increment_offset", Both, Int, false, "@DYN"),
    v("autocommit", Both, Bool, false, "1"),
    v("automatic_sp_privileges", G, Bool, false, "1"),
    v("big_tables", Both, Bool, false, "0"),
    v("borealis_buffer_pool_size", G, Int, true, "@DYN"),
    v("borealis_conflict_retries", Both, Int, false, "10"),
    v("borealis_page_size", G, Int, true, "@DYN"),
    v("borealis_slot", G, Int, true, "@DYN"),
    v("character_set_client", Both, Str, false, "utf8mb4"),
    v("character_set_connection", Both, Str, false, "utf8mb4"),
    v("character_set_database", Both, Str, false, "utf8mb4"),
    v("character_set_filesystem", Both, Str, false, "binary"),
    v("character_set_results", Both, Str, false, "utf8mb4"),
    v("character_set_server", Both, Str, false, "utf8mb4"),
    v("character_set_system", G, Str, true, "utf8mb3"),
    v("collation_connection", Both, Str, false, "utf8mb4_0900_ai_ci"),
    v("collation_database", Both, Str, false, "utf8mb4_0900_ai_ci"),
    v("collation_server", Both, Str, false, "utf8mb4_0900_ai_ci"),
    v("connect_timeout", G, Int, false, "10"),
    v("datadir", G, Str, true, "@DYN"),
    v("default_authentication_plugin", G, Str, true, "caching_sha2_password"),
    v("default_storage_engine", Both, Str, false, "InnoDB"),
    v("default_tmp_storage_engine", Both, Str, false, "InnoDB"),
    v("div_precision_increment", Both, Int, false, "4"),
    v("error_count", S, Int, true, "0"),
    v("explicit_defaults_for_timestamp", Both, Bool, false, "1"),
    v("foreign_key_checks", Both, Bool, false, "1"),
    v("general_log", G, Bool, false, "@DYN"),
    v("general_log_file", G, Str, false, "@DYN"),
    v("group_concat_max_len", Both, Int, false, "1024"),
    v("gtid_mode", G, Str, true, "OFF"),
    v("have_ssl", G, Str, true, "DISABLED"),
    v("hostname", G, Str, true, "@DYN"),
    v("identity", S, Int, false, "0"),
    v("init_connect", G, Str, false, ""),
    v("innodb_buffer_pool_size", G, Int, true, "@DYN"),
    v("innodb_flush_log_at_trx_commit", G, Int, true, "1"),
    v("innodb_lock_wait_timeout", Both, Int, false, "50"),
    v("insert_id", S, Int, false, "0"),
    v("interactive_timeout", Both, Int, false, "28800"),
    v("last_insert_id", S, Int, false, "0"),
    v("license", G, Str, true, "Apache-2.0"),
    v("local_infile", G, Bool, false, "0"),
    v("lock_wait_timeout", Both, Int, false, "31536000"),
    v("log_bin", G, Bool, true, "0"),
    v("log_error", G, Str, true, "@DYN"),
    v("log_output", G, Str, true, "FILE"),
    v("long_query_time", Both, F, false, "@DYN"),
    v("lower_case_table_names", G, Int, true, "0"),
    v("max_allowed_packet", Both, Int, false, "@DYN"),
    v("max_connections", G, Int, false, "@DYN"),
    v("max_execution_time", Both, Int, false, "0"),
    v("net_buffer_length", Both, Int, false, "16384"),
    v("net_read_timeout", Both, Int, false, "30"),
    v("net_write_timeout", Both, Int, false, "60"),
    v("performance_schema", G, Bool, true, "0"),
    v("port", G, Int, true, "@DYN"),
    v("protocol_version", G, Int, true, "10"),
    v("query_cache_size", G, Int, true, "0"),
    v("query_cache_type", Both, Str, true, "OFF"),
    v("read_only", G, Bool, false, "@DYN"),
    v("server_id", G, Int, false, "@DYN"),
    v("session_track_gtids", Both, Str, false, "OFF"),
    v("session_track_schema", Both, Bool, false, "1"),
    v("session_track_state_change", Both, Bool, false, "0"),
    v("session_track_system_variables", Both, Str, false, ""),
    v("session_track_transaction_info", Both, Str, false, "OFF"),
    v("slow_query_log", G, Bool, false, "@DYN"),
    v("slow_query_log_file", G, Str, false, "@DYN"),
    v("socket", G, Str, true, ""),
    v("sql_auto_is_null", Both, Bool, false, "0"),
    v("sql_big_selects", Both, Bool, false, "1"),
    v("sql_log_bin", Both, Bool, false, "1"),
    v("sql_mode", Both, Str, false, "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"),
    v("sql_notes", Both, Bool, false, "1"),
    v("sql_quote_show_create", Both, Bool, false, "1"),
    v("sql_safe_updates", Both, Bool, false, "0"),
    v("sql_select_limit", Both, Int, false, "18446744073709551615"),
    v("sql_warnings", Both, Bool, false, "0"),
    v("super_read_only", G, Bool, false, "0"),
    v("system_time_zone", G, Str, true, "UTC"),
    v("time_zone", Both, Str, false, "SYSTEM"),
    v("timestamp", S, F, false, "0"),
    v("transaction_isolation", Both, Str, false, "REPEATABLE-READ"),
    v("transaction_read_only", Both, Bool, false, "0"),
    v("tx_isolation", Both, Str, false, "REPEATABLE-READ"),
    v("tx_read_only", Both, Bool, false, "0"),
    v("unique_checks", Both, Bool, false, "1"),
    v("version", G, Str, true, "@DYN"),
    v("version_comment", G, Str, true, "Borealis multi-master (Apache-2.0)"),
    v("version_compile_machine", G, Str, true, "x86_64"),
    v("version_compile_os", G, Str, true, "Linux"),
    v("wait_timeout", Both, Int, false, "28800"),
    v("warning_count", S, Int, true, "0"),
];

/// Looks up a variable definition by (case-insensitive) name.
pub fn find(name: &str) -> Option<&'static VarDef> {
    // Compares lower-cased bytes without allocating: looked up on every `@@var` and per
    // statement for session settings. Registry names are lower case.
    let lower = name.bytes().map(|b| b.to_ascii_lowercase());
    VARIABLES
        .binary_search_by(|d| d.name.bytes().cmp(lower.clone()))
        .ok()
        .map(|i| &VARIABLES[i])
}

/// Parses `raw` for `def` the way `SET` accepts it (ON/OFF/TRUE/FALSE/numbers/strings).
pub fn parse_value(def: &VarDef, raw: &VarValue) -> ExecResult<VarValue> {
    let wrong = || {
        err(
            1231,
            "42000",
            format!(
                "Variable '{}' can't be set to the value of '{}'",
                def.name,
                raw.show(Kind::Str)
            ),
        )
    };
    Ok(match def.kind {
        Kind::Bool => match raw {
            VarValue::Int(0) => VarValue::Int(0),
            VarValue::Int(1) => VarValue::Int(1),
            VarValue::Str(s) => match s.to_ascii_uppercase().as_str() {
                "ON" | "TRUE" | "1" => VarValue::Int(1),
                "OFF" | "FALSE" | "0" => VarValue::Int(0),
                _ => return Err(wrong()),
            },
            _ => return Err(wrong()),
        },
        Kind::Int => match raw {
            VarValue::Int(i) => VarValue::Int(*i),
            VarValue::Float(f) => VarValue::Int(*f as i64),
            VarValue::Str(s) => VarValue::Int(s.trim().parse().map_err(|_| {
                err(
                    1232,
                    "42000",
                    format!("Incorrect argument type to variable '{}'", def.name),
                )
            })?),
            VarValue::Null => return Err(wrong()),
        },
        Kind::Float => match raw {
            VarValue::Int(i) => VarValue::Float(*i as f64),
            VarValue::Float(f) => VarValue::Float(*f),
            VarValue::Str(s) => VarValue::Float(s.trim().parse().map_err(|_| wrong())?),
            VarValue::Null => return Err(wrong()),
        },
        Kind::Str => match raw {
            VarValue::Str(s) => VarValue::Str(s.clone()),
            VarValue::Int(i) => VarValue::Str(i.to_string()),
            VarValue::Float(f) => VarValue::Str(f.to_string()),
            VarValue::Null => VarValue::Str(String::new()),
        },
    })
}

/// The global values of one instance.
pub struct GlobalVariables {
    values: RwLock<BTreeMap<&'static str, VarValue>>,
    /// Bumped by every SET GLOBAL: sessions cache what they read per statement until it moves.
    generation: AtomicU64,
}

impl GlobalVariables {
    /// Builds the globals from the defaults; `dynamic` supplies the `@DYN` ones.
    pub fn new(dynamic: &[(&'static str, VarValue)]) -> Self {
        let mut values = BTreeMap::new();
        for def in VARIABLES {
            let value = if def.default == "@DYN" {
                dynamic
                    .iter()
                    .find(|(n, _)| *n == def.name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(VarValue::Str(String::new()))
            } else {
                default_value(def)
            };
            values.insert(def.name, value);
        }
        GlobalVariables {
            values: RwLock::new(values),
            generation: AtomicU64::new(0),
        }
    }

    pub fn get(&self, name: &str) -> Option<VarValue> {
        let def = find(name)?;
        self.values.read().get(def.name).cloned()
    }

    pub fn set(&self, def: &'static VarDef, value: VarValue) {
        self.values.write().insert(def.name, value);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever a global value does.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, VarValue> {
        self.values.read().clone()
    }
}

fn default_value(def: &VarDef) -> VarValue {
    match def.kind {
        Kind::Bool | Kind::Int => def
            .default
            .parse::<i64>()
            .map(VarValue::Int)
            .unwrap_or_else(|_| VarValue::Str(def.default.to_string())),
        Kind::Float => def
            .default
            .parse::<f64>()
            .map(VarValue::Float)
            .unwrap_or(VarValue::Float(0.0)),
        Kind::Str => VarValue::Str(def.default.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_for_binary_search() {
        for pair in VARIABLES.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} >= {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn bool_parsing() {
        let def = find("AUTOCOMMIT").expect("known");
        assert_eq!(
            parse_value(def, &VarValue::Str("off".into())).ok(),
            Some(VarValue::Int(0))
        );
        assert!(parse_value(def, &VarValue::Str("maybe".into())).is_err());
    }
}
