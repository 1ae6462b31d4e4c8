//! borealis-sql: translation of MySQL SQL text into SQLite SQL text plus a
//! classified plan (`StatementKind`) that the instance executes.
//!
//! Namespace: every MySQL database lives in one SQLite database; table
//! `db.t` is the SQLite table `"db.t"`, index `i` is `"db.t.i"`. The catalog
//! lives in `"information_schema.*"` tables (see [`bootstrap_statements`]).

mod bootstrap;
mod catalog;
mod ddl;
mod dml;
mod error;
mod literal_insert;
mod names;
mod parse;
mod plan;
mod projection;
mod raw_bytes;
mod rewrite;
mod session;
mod show;
mod show_create;
mod split;
mod tokens;
mod translator;
mod types;

pub use bootstrap::bootstrap_statements;
pub use catalog::*;
pub use error::SqlError;
pub use literal_insert::{parameterize_insert, Literal, ParameterizedInsert};
pub use names::{quote_ident, quote_literal, sqlite_index, sqlite_table};
pub use plan::*;
pub use raw_bytes::RAW_BYTE_BASE;
pub use show_create::show_create_table;
pub use split::{expand_executable_comments, split_statements};
pub use translator::{translate_each, translate_statement, Ctx, Translator};
pub use types::{column_type_text, type_info, MysqlType, TypeInfo, DECIMAL_COLLATION};
