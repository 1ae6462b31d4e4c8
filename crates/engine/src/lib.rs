//! The engine: SQLite on our own VFS, reading pages from a shared buffer pool and the page store.
//!
//! Each session has its own SQLite connection. Its database file is a private view: reads come
//! from the session's dirty pages, then the shared [`pool`] (page images valid over LSN ranges),
//! then the page store at the session's snapshot; writes stay private until SQLite commits,
//! when the changed byte ranges go to the store as one write set. A commit that loses
//! first-committer-wins fails with `SQLITE_BUSY_SNAPSHOT` and SQLite rolls the transaction back.

mod btree;
mod config;
pub mod delta;
mod engine;
mod error;
pub mod header;
mod journal;
pub mod pool;
mod session;
mod session_file;
mod vfs;

pub use config::EngineConfig;
pub use engine::{Engine, EngineStats};
pub use error::EngineError;
pub use session::EngineSession;
pub use session_file::LostCommit;

/// True for a lost commit: `SQLITE_BUSY_SNAPSHOT` (extended code 517) from `COMMIT` or an
/// autocommit statement.
pub fn is_conflict(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_BUSY_SNAPSHOT)
}
