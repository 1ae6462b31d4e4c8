//! A session: one SQLite connection on the engine's VFS, with its private view of the database.

use crate::engine::Engine;
use crate::error::EngineError;
use crate::session_file::{LostCommit, SessionFile};
use crate::vfs::VfsRegistration;
use borealis_pagestore::{Conflict, Lsn};
use rusqlite::{Connection, OpenFlags};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

/// One client session. `Send`: it may move between threads, used by one at a time.
pub struct EngineSession {
    // Field order matters: the connection closes before the engine (and its VFS) can drop.
    conn: Connection,
    file: Arc<SessionFile>,
    _engine: Arc<Engine>,
}

impl EngineSession {
    pub(crate) fn open(engine: Arc<Engine>, vfs: &VfsRegistration) -> Result<Self, EngineError> {
        let file = Arc::new(SessionFile::new(engine.core().clone()));
        let id = NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed);
        let name = vfs.stage(id, file.clone());
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let opened = Connection::open_with_flags_and_vfs(&name, flags, vfs.name());
        vfs.unstage(&name);
        let conn = opened?;
        configure(&conn, &engine)?;
        Ok(EngineSession {
            conn,
            file,
            _engine: engine,
        })
    }

    /// The SQLite connection.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The SQLite connection, mutably (for transactions).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Details of the last lost commit, if any (taken once).
    pub fn take_conflict(&self) -> Option<Conflict> {
        self.file.take_lost_commit().map(|l| l.conflict)
    }

    /// Like [`take_conflict`](Self::take_conflict), also saying whether the page that
    /// conflicted was only locked by this transaction, not written (taken once).
    pub fn take_lost_commit(&self) -> Option<LostCommit> {
        self.file.take_lost_commit()
    }

    /// While on, pages read by the open transaction are locked: a concurrent commit to any of
    /// them makes this transaction's commit conflict (`SELECT … FOR UPDATE`).
    pub fn set_locking_reads(&self, on: bool) {
        self.file.set_locking_reads(on);
    }

    /// The pinned snapshot of the open transaction, if any.
    pub fn snapshot_lsn(&self) -> Option<Lsn> {
        self.file.snapshot_lsn()
    }

    /// How many pages SQLite reads in place (through xFetch) right now — open cursors hold
    /// them, and none is left once every statement is reset — and how many it was handed
    /// since the session opened.
    pub fn pages_read_in_place(&self) -> (usize, u64) {
        self.file.pages_read_in_place()
    }

    /// LSN of this session's last successful commit.
    pub fn last_commit_lsn(&self) -> Option<Lsn> {
        self.file.last_commit_lsn()
    }
}

/// `PRAGMA mmap_size`: above zero, SQLite's pager reads clean pages through xFetch. Only the
/// value's sign matters to the pager (it does not limit offsets; a file-mapping VFS would);
/// SQLite's own maximum, 2 GiB minus 64 KiB.
const MMAP_SIZE: i64 = 0x7fff_0000;

/// Per-connection settings the engine depends on.
fn configure(conn: &Connection, engine: &Engine) -> Result<(), EngineError> {
    let cfg = &engine.core().cfg;
    conn.busy_timeout(std::time::Duration::ZERO)?;
    conn.pragma_update(None, "page_size", cfg.page_size as i64)?;
    conn.pragma_update(None, "auto_vacuum", "NONE")?;
    // The journal is the VFS's buffer in memory, kept across transactions (see `journal`).
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "PERSIST", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("persist") {
        return Err(EngineError::Setting {
            setting: "journal_mode",
            got: mode,
        });
    }
    conn.pragma_update(
        None,
        "journal_size_limit",
        crate::journal::RETAINED_BYTES as i64,
    )?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -cfg.sqlite_cache_kib)?;
    // Any size above zero makes SQLite read clean pages in place through the VFS's xFetch
    // (`SessionFile::fetch`) instead of copying them into its cache: no file is mapped.
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "locking_mode", "NORMAL")?;
    Ok(())
}
