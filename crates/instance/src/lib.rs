//! A Borealis instance (compute): the MySQL endpoint, sessions, SQL execution on SQLite over the
//! page store, system variables, status counters and query logs.
//!
//! Layout: `server` starts an instance and owns what its sessions share; `session` is one client
//! session (statement execution, transactions, SET/SHOW); `catalog` reads table metadata from
//! the information_schema tables; `values` converts between SQLite and MySQL values; `errors` is
//! the one mapping to MySQL error codes.

pub mod config;

mod auth;
mod catalog;
mod errors;
mod processlist;
mod querylog;
mod server;
mod session;
mod status;
mod values;
mod variables;

pub use config::InstanceConfig;
pub use server::{start, InstanceError, InstanceHandle};
