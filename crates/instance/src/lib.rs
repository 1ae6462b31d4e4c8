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
mod conflicts;
mod conflicts_table;
mod errors;
mod histogram;
mod metrics;
mod pagemap;
mod processlist;
mod querylog;
mod server;
mod session;
pub mod status;
mod values;
mod variables;

pub use config::InstanceConfig;
pub use server::{start, start_with_store, ClusterStatus, InstanceError, InstanceHandle};

#[cfg(test)]
mod tests {
    /// Raw bytes in statement text travel as private-use characters between the protocol and
    /// the SQL layer; both must agree on where that range starts.
    #[test]
    fn raw_byte_marker_agrees_between_protocol_and_sql() {
        assert_eq!(
            borealis_protocol::RAW_BYTE_BASE,
            borealis_sql::RAW_BYTE_BASE
        );
    }
}
