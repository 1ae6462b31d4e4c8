//! Typed errors of the engine.

use borealis_pagestore::{CommitError, Lsn, ReadError};

/// Everything that can go wrong while opening an engine or a session, or while applying changes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// SQLite itself reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The page store could not serve a read, pin or subscription.
    #[error("page store read: {0}")]
    Store(#[from] ReadError),
    /// The page store rejected or failed a commit (other than a lost conflict).
    #[error("page store commit: {0}")]
    Commit(#[from] CommitError),
    /// The page store's change feed failed while catching up.
    #[error("page store change feed: {0}")]
    Feed(#[from] borealis_pagestore::SubscribeError),
    /// The configuration does not fit the store or is unusable.
    #[error("invalid engine configuration: {0}")]
    Config(String),
    /// SQLite did not accept a setting the engine depends on.
    #[error("SQLite refused setting {setting}: got {got:?}")]
    Setting {
        /// The pragma that was set.
        setting: &'static str,
        /// What SQLite reported back.
        got: String,
    },
    /// Commits must be applied to the buffer pool in LSN order; an earlier one never arrived.
    #[error(
        "commit LSN {lsn} cannot be applied: LSN {missing} is missing and could not be fetched"
    )]
    ApplyGap {
        /// The LSN being applied.
        lsn: Lsn,
        /// The first LSN that was not applied.
        missing: Lsn,
    },
    /// A committed change from elsewhere is malformed.
    #[error("committed change {lsn} is invalid: {reason}")]
    InvalidChange {
        /// Its LSN.
        lsn: Lsn,
        /// What is wrong with it.
        reason: String,
    },
    /// A page image from the store had the wrong size.
    #[error("page {page_no} from the store has {got} bytes, expected {expected}")]
    PageSize {
        /// The page that was read.
        page_no: u32,
        /// Its size.
        got: usize,
        /// The configured page size.
        expected: usize,
    },
    /// A session file was used in a way the engine does not support.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}
