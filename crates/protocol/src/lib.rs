//! borealis-protocol: the server side of the MySQL client/server protocol.
//!
//! Blocking `std::net`, one OS thread per connection. The database plugs in through
//! [`Backend`] (creates a [`Session`] per authenticated connection) and [`Authenticator`]
//! (plaintext passwords). Results are written through a [`ResultSink`], which encodes text
//! or binary rows and OK/EOF/ERR packets.

mod auth;
mod backend;
mod binary_value;
mod column;
mod command;
mod config;
mod connection;
mod error;
mod handshake;
mod packet;
mod prepared;
mod result;
mod server;
mod sql_text;
mod text_value;
mod wire;

pub use backend::{Authenticator, Backend, ConnInfo, OkInfo, Session};
pub use column::{ColumnDef, CHARSET_BINARY, CHARSET_UTF8MB4};
pub use config::{AuthPlugin, ServerConfig};
pub use error::MysqlError;
pub use mysql_common::constants::{CapabilityFlags, ColumnFlags, ColumnType, StatusFlags};
pub use mysql_common::value::Value;
pub use result::{discarding_writer, Out, ResultSink};
pub use server::{Server, ServerHandle};
pub use sql_text::{decode_sql_text, RAW_BYTE_BASE};
