//! Server configuration.

use std::time::Duration;

/// The authentication plugin announced in the initial handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPlugin {
    /// `caching_sha2_password` (MySQL 8 default).
    CachingSha2Password,
    /// `mysql_native_password`.
    MysqlNativePassword,
}

impl AuthPlugin {
    /// The plugin's wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::CachingSha2Password => "caching_sha2_password",
            Self::MysqlNativePassword => "mysql_native_password",
        }
    }

    /// Parses a wire name; `None` for plugins this server does not implement.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"caching_sha2_password" => Some(Self::CachingSha2Password),
            b"mysql_native_password" => Some(Self::MysqlNativePassword),
            _ => None,
        }
    }
}

/// Settings of the protocol server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Version string sent in the handshake, e.g. `8.0.36-Borealis-0.1.0`.
    pub server_version: String,
    /// Largest payload accepted from a client (error 1153 and close above it).
    pub max_allowed_packet: usize,
    /// First connection id handed out.
    pub connection_id_start: u32,
    /// Connections served at once; more get error 1040.
    pub max_connections: usize,
    /// Socket read timeout (idle clients are disconnected); `None` waits forever.
    pub read_timeout: Option<Duration>,
    /// Socket write timeout; `None` waits forever.
    pub write_timeout: Option<Duration>,
    /// Plugin announced in the handshake.
    pub auth_plugin: AuthPlugin,
    /// Prepared statements one connection may hold.
    pub max_prepared_statements: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            server_version: "8.0.36-Borealis-0.1.0".to_string(),
            max_allowed_packet: 64 * 1024 * 1024,
            connection_id_start: 1,
            max_connections: 512,
            read_timeout: Some(Duration::from_secs(28_800)),
            write_timeout: Some(Duration::from_secs(60)),
            auth_plugin: AuthPlugin::CachingSha2Password,
            max_prepared_statements: 16_382,
        }
    }
}
