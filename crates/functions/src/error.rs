//! Typed errors raised by the MySQL functions.
//!
//! Most bad *values* yield SQL `NULL` (MySQL returns NULL with a warning);
//! these errors are for calls MySQL itself rejects (wrong argument count,
//! unknown interval unit, invalid regular expression, …).

/// An error raised by one of the registered functions.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    /// The function was called with a number of arguments it does not accept.
    #[error(
        "incorrect parameter count in the call to native function '{function}' ({count} arguments)"
    )]
    ArgumentCount {
        /// The SQL function name.
        function: &'static str,
        /// The number of arguments received.
        count: usize,
    },
    /// An interval / EXTRACT / TIMESTAMPDIFF unit that is unknown or unsupported.
    #[error("{function}: unsupported unit '{unit}'")]
    UnsupportedUnit {
        /// The SQL function name.
        function: &'static str,
        /// The unit as given.
        unit: String,
    },
    /// A regular expression that does not compile.
    #[error("invalid regular expression '{pattern}': {reason}")]
    InvalidRegex {
        /// The pattern as given.
        pattern: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An auto-increment value that would not fit in 64 bits.
    #[error("auto-increment overflow for table '{table}'")]
    AutoIncrementOverflow {
        /// The table whose generator overflowed.
        table: String,
    },
    /// A result that would be larger than the session allows (MySQL's max_allowed_packet).
    #[error("{function}: result of {size} bytes is larger than the {limit}-byte limit")]
    ResultTooLarge {
        /// The SQL function name.
        function: &'static str,
        /// Requested size in bytes.
        size: u64,
        /// The enforced limit.
        limit: u64,
    },
}

impl From<FunctionError> for rusqlite::Error {
    fn from(e: FunctionError) -> Self {
        rusqlite::Error::UserFunctionError(Box::new(e))
    }
}
