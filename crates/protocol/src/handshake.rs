//! The initial handshake (v10), the client's HandshakeResponse41, AuthSwitchRequest and
//! the COM_CHANGE_USER payload.

use mysql_common::constants::{CapabilityFlags, StatusFlags};

use crate::auth::SCRAMBLE_LEN;
use crate::config::AuthPlugin;
use crate::wire::{Cursor, Truncated};

/// Collation announced in the handshake: utf8mb4_0900_ai_ci.
const SERVER_COLLATION: u8 = 255;

/// Capabilities this server offers.
pub fn server_capabilities() -> CapabilityFlags {
    use CapabilityFlags as C;
    C::CLIENT_LONG_PASSWORD
        | C::CLIENT_FOUND_ROWS
        | C::CLIENT_LONG_FLAG
        | C::CLIENT_CONNECT_WITH_DB
        | C::CLIENT_NO_SCHEMA
        | C::CLIENT_ODBC
        | C::CLIENT_IGNORE_SPACE
        | C::CLIENT_PROTOCOL_41
        | C::CLIENT_INTERACTIVE
        | C::CLIENT_IGNORE_SIGPIPE
        | C::CLIENT_TRANSACTIONS
        | C::CLIENT_RESERVED
        | C::CLIENT_SECURE_CONNECTION
        | C::CLIENT_MULTI_STATEMENTS
        | C::CLIENT_MULTI_RESULTS
        | C::CLIENT_PS_MULTI_RESULTS
        | C::CLIENT_PLUGIN_AUTH
        | C::CLIENT_CONNECT_ATTRS
        | C::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | C::CLIENT_DEPRECATE_EOF
}

/// Appends the HandshakeV10 payload.
pub fn write_handshake(
    buf: &mut Vec<u8>,
    server_version: &str,
    connection_id: u32,
    scramble: &[u8; SCRAMBLE_LEN],
    plugin: AuthPlugin,
    status: StatusFlags,
) {
    let caps = server_capabilities().bits();
    buf.push(10);
    // A NUL inside the version would end it early on the client side.
    buf.extend(server_version.bytes().filter(|&b| b != 0));
    buf.push(0);
    buf.extend_from_slice(&connection_id.to_le_bytes());
    buf.extend_from_slice(&scramble[..8]);
    buf.push(0);
    buf.extend_from_slice(&(caps as u16).to_le_bytes());
    buf.push(SERVER_COLLATION);
    buf.extend_from_slice(&status.bits().to_le_bytes());
    buf.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
    buf.push(SCRAMBLE_LEN as u8 + 1);
    buf.extend_from_slice(&[0; 10]);
    buf.extend_from_slice(&scramble[8..]);
    buf.push(0);
    buf.extend_from_slice(plugin.name().as_bytes());
    buf.push(0);
}

/// Appends an AuthSwitchRequest payload.
pub fn write_auth_switch(buf: &mut Vec<u8>, plugin: AuthPlugin, scramble: &[u8; SCRAMBLE_LEN]) {
    buf.push(0xfe);
    buf.extend_from_slice(plugin.name().as_bytes());
    buf.push(0);
    buf.extend_from_slice(scramble);
    buf.push(0);
}

/// Why a handshake response was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The packet is malformed.
    #[error(transparent)]
    Truncated(#[from] Truncated),
    /// The client does not speak protocol 4.1.
    #[error("client does not support protocol 4.1")]
    NoProtocol41,
    /// The client asked for TLS, which is not offered.
    #[error("client requested SSL")]
    SslRequested,
}

/// The parsed HandshakeResponse41.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeResponse {
    /// Capabilities of the client, intersected with the server's.
    pub capabilities: CapabilityFlags,
    /// User name.
    pub user: String,
    /// Authentication response.
    pub auth_response: Vec<u8>,
    /// Database for CONNECT_WITH_DB.
    pub database: Option<String>,
    /// Plugin the client used for `auth_response` (None: client has no PLUGIN_AUTH).
    pub plugin: Option<Vec<u8>>,
}

/// Parses a HandshakeResponse41.
pub fn parse_handshake_response(payload: &[u8]) -> Result<HandshakeResponse, HandshakeError> {
    let mut c = Cursor::new(payload);
    let raw_caps = c.u32()?;
    let client_caps = CapabilityFlags::from_bits_truncate(raw_caps);
    if !client_caps.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
        return Err(HandshakeError::NoProtocol41);
    }
    if client_caps.contains(CapabilityFlags::CLIENT_SSL) {
        return Err(HandshakeError::SslRequested);
    }
    let caps = client_caps & server_capabilities();
    let _max_packet = c.u32()?;
    let _collation = c.u8()?;
    c.take(23)?;
    let user = String::from_utf8_lossy(c.null_str()).into_owned();
    let auth_response = if caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
        c.lenenc_str()?.to_vec()
    } else if caps.contains(CapabilityFlags::CLIENT_SECURE_CONNECTION) {
        let len = c.u8()?;
        c.take(usize::from(len))?.to_vec()
    } else {
        c.null_str().to_vec()
    };
    let database = if caps.contains(CapabilityFlags::CLIENT_CONNECT_WITH_DB) && c.remaining() > 0 {
        Some(String::from_utf8_lossy(c.null_str()).into_owned()).filter(|d| !d.is_empty())
    } else {
        None
    };
    let plugin = if caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH) {
        Some(c.null_str().to_vec())
    } else {
        None
    };
    // Connection attributes (CLIENT_CONNECT_ATTRS) are accepted and ignored.
    Ok(HandshakeResponse {
        capabilities: caps,
        user,
        auth_response,
        database,
        plugin,
    })
}

/// The parsed COM_CHANGE_USER payload (after the command byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeUser {
    /// New user.
    pub user: String,
    /// Authentication response computed over the connection's current scramble.
    pub auth_response: Vec<u8>,
    /// New default database.
    pub database: Option<String>,
    /// Plugin used for `auth_response`.
    pub plugin: Option<Vec<u8>>,
}

/// Parses COM_CHANGE_USER.
pub fn parse_change_user(payload: &[u8], caps: CapabilityFlags) -> Result<ChangeUser, Truncated> {
    let mut c = Cursor::new(payload);
    let user = String::from_utf8_lossy(c.null_str()).into_owned();
    let auth_response = if caps.contains(CapabilityFlags::CLIENT_SECURE_CONNECTION) {
        let len = c.u8()?;
        c.take(usize::from(len))?.to_vec()
    } else {
        c.null_str().to_vec()
    };
    let database =
        Some(String::from_utf8_lossy(c.null_str()).into_owned()).filter(|d| !d.is_empty());
    let mut plugin = None;
    if c.remaining() >= 2 {
        let _collation = c.u16()?;
        if caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH) {
            plugin = Some(c.null_str().to_vec());
        }
    }
    Ok(ChangeUser {
        user,
        auth_response,
        database,
        plugin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::packets::HandshakePacket;
    use mysql_common::proto::MyDeserialize;

    #[test]
    fn handshake_parses_with_mysql_common() {
        let scramble = *b"abcdefghijklmnopqrst";
        let mut buf = Vec::new();
        let status = StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        write_handshake(
            &mut buf,
            "8.0.36-Borealis",
            42,
            &scramble,
            AuthPlugin::CachingSha2Password,
            status,
        );
        let mut pb = mysql_common::io::ParseBuf(&buf);
        let hs = HandshakePacket::deserialize((), &mut pb).unwrap();
        assert_eq!(hs.connection_id(), 42);
        assert_eq!(hs.nonce(), scramble.to_vec());
        assert_eq!(
            hs.auth_plugin_name_ref(),
            Some(&b"caching_sha2_password"[..])
        );
        assert!(hs
            .capabilities()
            .contains(CapabilityFlags::CLIENT_DEPRECATE_EOF));
        assert!(!hs.capabilities().contains(CapabilityFlags::CLIENT_SSL));
        assert_eq!(hs.server_version_ref(), b"8.0.36-Borealis");
    }

    #[test]
    fn garbage_response_is_an_error_not_a_panic() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 200) as u8).collect();
            let _ = parse_handshake_response(&data);
            let _ = parse_change_user(&data, server_capabilities());
        }
        let mut ssl = (CapabilityFlags::CLIENT_PROTOCOL_41 | CapabilityFlags::CLIENT_SSL)
            .bits()
            .to_le_bytes()
            .to_vec();
        ssl.extend_from_slice(&[0; 28]);
        assert_eq!(
            parse_handshake_response(&ssl),
            Err(HandshakeError::SslRequested)
        );
    }
}
