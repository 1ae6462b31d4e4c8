//! MySQL errors as sent to clients, and the error codes this crate emits.

/// An error reported to the client in an ERR packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlError {
    /// MySQL error number, e.g. 1146.
    pub code: u16,
    /// Five-character SQLSTATE, e.g. `*b"42S02"`.
    pub sqlstate: [u8; 5],
    /// Human-readable message.
    pub message: String,
}

impl MysqlError {
    /// Builds an error; a `sqlstate` that is not exactly five ASCII bytes becomes `HY000`.
    pub fn new(code: u16, sqlstate: &str, message: impl Into<String>) -> Self {
        let mut state = *b"HY000";
        if sqlstate.len() == 5 && sqlstate.is_ascii() {
            state.copy_from_slice(sqlstate.as_bytes());
        }
        Self {
            code,
            sqlstate: state,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for MysqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = String::from_utf8_lossy(&self.sqlstate);
        write!(f, "ERROR {} ({}): {}", self.code, state, self.message)
    }
}

impl std::error::Error for MysqlError {}

/// Constructors for the errors the protocol layer itself produces.
pub(crate) mod codes {
    use super::MysqlError;

    pub fn access_denied(user: &str, host: &str, using_password: bool) -> MysqlError {
        let yes = if using_password { "YES" } else { "NO" };
        MysqlError::new(
            1045,
            "28000",
            format!("Access denied for user '{user}'@'{host}' (using password: {yes})"),
        )
    }

    pub fn unknown_command() -> MysqlError {
        MysqlError::new(1047, "08S01", "Unknown command")
    }

    pub fn malformed() -> MysqlError {
        MysqlError::new(1835, "HY000", "Malformed communication packet.")
    }

    pub fn packet_too_large() -> MysqlError {
        MysqlError::new(
            1153,
            "08S01",
            "Got a packet bigger than 'max_allowed_packet' bytes",
        )
    }

    pub fn too_many_connections() -> MysqlError {
        MysqlError::new(1040, "08004", "Too many connections")
    }

    pub fn unknown_statement(id: u32, command: &str) -> MysqlError {
        MysqlError::new(
            1243,
            "HY000",
            format!("Unknown prepared statement handler ({id}) given to {command}"),
        )
    }

    pub fn wrong_arguments(command: &str) -> MysqlError {
        MysqlError::new(1210, "HY000", format!("Incorrect arguments to {command}"))
    }

    pub fn no_cursor(id: u32) -> MysqlError {
        MysqlError::new(
            1421,
            "HY000",
            format!("The statement ({id}) has no open cursor."),
        )
    }

    pub fn too_many_statements(limit: usize) -> MysqlError {
        MysqlError::new(
            1461,
            "42000",
            format!(
                "Can't create more than max_prepared_stmt_count statements (current value: {limit})"
            ),
        )
    }

    pub fn long_data_too_large() -> MysqlError {
        MysqlError::new(
            1153,
            "08S01",
            "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes",
        )
    }

    pub fn protocol_41_required() -> MysqlError {
        MysqlError::new(
            1251,
            "08004",
            "Client does not support authentication protocol requested by server; consider upgrading MySQL client",
        )
    }

    pub fn ssl_unsupported() -> MysqlError {
        MysqlError::new(
            1047,
            "08S01",
            "SSL connections are not supported by this server",
        )
    }
}
