//! `information_schema.BOREALIS_CONFLICTS`: the instance's recent conflicts as a table.
//!
//! An eponymous, read-only SQLite virtual table registered on every session's connection under
//! the SQLite name the translator gives `information_schema.BOREALIS_CONFLICTS`, so any SELECT
//! (WHERE, ORDER BY, joins) works on it. Its rows are read from the instance's conflict ring
//! when a scan starts; pages are resolved to tables and indexes then (see `pagemap`).

use std::borrow::Cow;
use std::ffi::{c_int, CStr};
use std::sync::{Arc, Weak};

use rusqlite::vtab::{Context, Filters, IndexInfo, Module, VTab, VTabConnection, VTabCursor};
use rusqlite::Connection;

use crate::conflicts::{format_time, ConflictRecord};
use crate::server::Shared;

/// The SQLite name of the table (what `information_schema.BOREALIS_CONFLICTS` translates to).
const NAME: &CStr = c"information_schema.BOREALIS_CONFLICTS";

/// Column names and MySQL types; the types become the result set's column types.
const SCHEMA: &CStr = c"CREATE TABLE x(
    CONFLICT_ID bigint unsigned,
    CONFLICT_TIME datetime(6),
    INSTANCE int unsigned,
    SESSION_ID bigint unsigned,
    REASON varchar(16),
    PAGE_NUMBER bigint unsigned,
    TABLE_SCHEMA varchar(64),
    TABLE_NAME varchar(64),
    INDEX_NAME varchar(64),
    PAGE_OBJECT varchar(512),
    SNAPSHOT_LSN bigint unsigned,
    WINNER_LSN bigint unsigned,
    WINNER_INSTANCE int unsigned,
    STATEMENT varchar(1024)
)";

/// Registers the table on a session's connection.
pub fn register(conn: &Connection, shared: &Arc<Shared>) -> rusqlite::Result<()> {
    const MODULE: Module<'static, ConflictsTable> = Module::eponymous_only_module();
    conn.create_module(NAME, &MODULE, Some(Arc::downgrade(shared)))
}

/// The virtual table: a handle on the instance's shared state.
#[repr(C)]
struct ConflictsTable {
    /// SQLite's base struct; must be first.
    base: rusqlite::ffi::sqlite3_vtab,
    shared: Weak<Shared>,
}

// SAFETY: `ConflictsTable` is `#[repr(C)]` with `sqlite3_vtab` as its first field, as the trait
// requires; it never touches SQLite memory itself.
unsafe impl<'vtab> VTab<'vtab> for ConflictsTable {
    type Aux = Weak<Shared>;
    type Cursor = ConflictsCursor;

    fn connect(
        _db: &mut VTabConnection,
        aux: Option<&Weak<Shared>>,
        _module_name: &[u8],
        _database_name: &[u8],
        _table_name: &[u8],
        _args: &[&[u8]],
    ) -> rusqlite::Result<(Cow<'static, CStr>, Self)> {
        let table = ConflictsTable {
            base: rusqlite::ffi::sqlite3_vtab::default(),
            shared: aux.cloned().unwrap_or_default(),
        };
        Ok((Cow::Borrowed(SCHEMA), table))
    }

    fn best_index(&self, info: &mut IndexInfo) -> rusqlite::Result<bool> {
        // At most CAPACITY rows: a full scan is always the plan; SQLite applies WHERE.
        info.set_estimated_cost(crate::conflicts::CAPACITY as f64);
        info.set_estimated_rows(crate::conflicts::CAPACITY as i64);
        Ok(true)
    }

    fn open(&'vtab mut self) -> rusqlite::Result<ConflictsCursor> {
        Ok(ConflictsCursor {
            base: rusqlite::ffi::sqlite3_vtab_cursor::default(),
            shared: self.shared.clone(),
            rows: Vec::new(),
            slot: 0,
            pos: 0,
        })
    }
}

/// A scan over a copy of the ring taken when the scan starts.
#[repr(C)]
struct ConflictsCursor {
    /// SQLite's base struct; must be first.
    base: rusqlite::ffi::sqlite3_vtab_cursor,
    shared: Weak<Shared>,
    rows: Vec<ConflictRecord>,
    /// This instance's slot (the INSTANCE column).
    slot: u16,
    pos: usize,
}

// SAFETY: `#[repr(C)]` with `sqlite3_vtab_cursor` first, as the trait requires.
unsafe impl VTabCursor for ConflictsCursor {
    fn filter(
        &mut self,
        _idx_num: c_int,
        _idx_str: Option<&str>,
        _args: &Filters<'_>,
    ) -> rusqlite::Result<()> {
        self.pos = 0;
        self.rows = match self.shared.upgrade() {
            Some(shared) => {
                self.slot = shared.cfg.slot;
                shared.read_conflicts().0
            }
            None => Vec::new(),
        };
        Ok(())
    }

    fn next(&mut self) -> rusqlite::Result<()> {
        self.pos += 1;
        Ok(())
    }

    fn eof(&self) -> bool {
        self.pos >= self.rows.len()
    }

    fn column(&self, ctx: &mut Context, i: c_int) -> rusqlite::Result<()> {
        let Some(r) = self.rows.get(self.pos) else {
            return ctx.set_result(rusqlite::types::Null);
        };
        let object = r.object_or_unresolved();
        match i {
            0 => ctx.set_result(clamp(r.id)),
            1 => ctx.set_result(format_time(r.at_micros)),
            2 => ctx.set_result(self.slot),
            3 => ctx.set_result(r.session_id),
            4 => ctx.set_result(r.reason.code()),
            5 => ctx.set_result(r.page_no),
            6 => ctx.set_result(object.schema()),
            7 => ctx.set_result(object.table()),
            8 => ctx.set_result(object.index()),
            9 => ctx.set_result(object.describe()),
            10 => ctx.set_result(clamp(r.snapshot_lsn)),
            11 => ctx.set_result(clamp(r.winner_lsn)),
            12 => ctx.set_result(r.winner_instance),
            13 => ctx.set_result(r.statement.as_str()),
            _ => ctx.set_result(rusqlite::types::Null),
        }
    }

    fn rowid(&self) -> rusqlite::Result<i64> {
        Ok(self.rows.get(self.pos).map_or(0, |r| clamp(r.id)))
    }
}

/// SQLite integers are signed 64-bit; ids and LSNs stay far below `i64::MAX`.
fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
