//! Errors of opening, recovering and maintaining a local page store.

/// Why the store could not be opened, recovered or maintained.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An operating-system I/O error, with what was being done.
    #[error("I/O error while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// On-disk data failed a check; the message names the file and the offset.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The options do not match the store on disk.
    #[error("configuration mismatch: {0}")]
    Config(String),
    /// The base-image database (redb) failed.
    #[error("base page database error: {0}")]
    Base(String),
    /// The store has been closed.
    #[error("page store closed")]
    Closed,
    /// The commit log failed earlier; the store refuses further log writes until reopened.
    #[error("commit log failed earlier: {0}")]
    LogFailed(String),
}

impl StoreError {
    /// Wrap an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }

    /// Wrap any redb error.
    pub fn base<E: Into<redb::Error>>(e: E) -> StoreError {
        StoreError::Base(e.into().to_string())
    }
}
