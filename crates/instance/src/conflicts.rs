//! Conflict diagnostics: a bounded ring of this instance's recent lost commits, shown by
//! `SHOW ENGINE BOREALIS STATUS` and `information_schema.BOREALIS_CONFLICTS`.
//!
//! Recording is on the conflict path (which may run thousands of times per second), so it only
//! copies what the page store reported. Which table or index a page belongs to is resolved
//! later, when the diagnostics are read (see `pagemap`), once per recorded conflict.

use std::collections::{HashMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use borealis_engine::LostCommit;
use borealis_pagestore::{ConflictReason, Lsn, Origin, PageNo};
use parking_lot::Mutex;

/// How many recent conflicts an instance keeps (older ones are dropped; totals keep counting).
pub const CAPACITY: usize = 100;
/// Characters of the losing statement's text kept per conflict.
pub const STATEMENT_CHARS: usize = 256;

/// Why a commit lost, as diagnostics name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A page the transaction wrote was committed by someone else after its snapshot.
    PageChanged,
    /// A page the transaction only locked (`SELECT … FOR UPDATE`, or read by a schema change)
    /// was committed by someone else after its snapshot.
    LockedPage,
    /// The schema changed after the snapshot (a concurrent DDL).
    SchemaChanged,
}

impl Reason {
    /// The value of the REASON column.
    pub fn code(self) -> &'static str {
        match self {
            Reason::PageChanged => "PAGE_CHANGED",
            Reason::LockedPage => "LOCKED_PAGE",
            Reason::SchemaChanged => "SCHEMA_CHANGED",
        }
    }

    /// Words for the status text.
    pub fn words(self) -> &'static str {
        match self {
            Reason::PageChanged => "page changed",
            Reason::LockedPage => "locked page changed",
            Reason::SchemaChanged => "schema changed",
        }
    }

    fn of(lost: &LostCommit) -> Reason {
        match lost.conflict.reason {
            ConflictReason::SchemaChanged => Reason::SchemaChanged,
            ConflictReason::PageChanged if lost.locked_only => Reason::LockedPage,
            ConflictReason::PageChanged => Reason::PageChanged,
        }
    }
}

/// What a page holds, in MySQL terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageObject {
    /// Page 1: the database header (size, freelist, schema cookie) and the schema table's root.
    Header,
    /// A page of a table's rows (its b-tree, including overflow pages).
    Table { schema: String, table: String },
    /// A page of an index of a table (`PRIMARY` for a composite primary key).
    Index {
        schema: String,
        table: String,
        index: String,
    },
    /// A page of one of SQLite's own tables (the schema table, sqlite_sequence, statistics).
    Internal(String),
    /// In no table or index of the current database: freed since, or beyond its end.
    Unknown,
    /// Resolution failed for this read; tried again on the next one.
    NotResolved(String),
}

impl PageObject {
    pub fn schema(&self) -> Option<&str> {
        match self {
            PageObject::Table { schema, .. } | PageObject::Index { schema, .. } => Some(schema),
            _ => None,
        }
    }

    pub fn table(&self) -> Option<&str> {
        match self {
            PageObject::Table { table, .. } | PageObject::Index { table, .. } => Some(table),
            _ => None,
        }
    }

    pub fn index(&self) -> Option<&str> {
        match self {
            PageObject::Index { index, .. } => Some(index),
            _ => None,
        }
    }

    /// A one-line description, e.g. "table `shop`.`orders`, index `by_customer`".
    pub fn describe(&self) -> String {
        match self {
            PageObject::Header => "(database header: size/freelist/schema)".into(),
            PageObject::Table { schema, table } => format!("table `{schema}`.`{table}` (rows)"),
            PageObject::Index {
                schema,
                table,
                index,
            } => format!("table `{schema}`.`{table}`, index `{index}`"),
            PageObject::Internal(name) => format!("(SQLite internal table {name})"),
            PageObject::Unknown => {
                "(unknown: the page is in no table or index now; freed since, or beyond the end)"
                    .into()
            }
            PageObject::NotResolved(why) => format!("(not resolved: {why})"),
        }
    }
}

/// One lost commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictRecord {
    /// Sequence number of this conflict on this instance, from 1.
    pub id: u64,
    /// Microseconds since the Unix epoch.
    pub at_micros: u64,
    /// Connection id of the session that lost.
    pub session_id: u32,
    pub reason: Reason,
    pub page_no: PageNo,
    pub snapshot_lsn: Lsn,
    pub winner_lsn: Lsn,
    /// Slot of the instance whose commit won.
    pub winner_instance: Origin,
    /// The statement that lost (truncated to [`STATEMENT_CHARS`]); COMMIT for an explicit
    /// transaction.
    pub statement: String,
    /// What the page holds; `None` until the diagnostics are first read.
    pub object: Option<PageObject>,
}

impl ConflictRecord {
    /// The page's object, or a note that it is still unresolved.
    pub fn object_or_unresolved(&self) -> PageObject {
        self.object
            .clone()
            .unwrap_or_else(|| PageObject::NotResolved("not looked up".into()))
    }
}

/// Conflicts since the instance started, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub page_changed: u64,
    pub locked_page: u64,
    pub schema_changed: u64,
}

impl Totals {
    pub fn total(&self) -> u64 {
        self.page_changed + self.locked_page + self.schema_changed
    }

    fn count(&mut self, reason: Reason) {
        let n = match reason {
            Reason::PageChanged => &mut self.page_changed,
            Reason::LockedPage => &mut self.locked_page,
            Reason::SchemaChanged => &mut self.schema_changed,
        };
        *n += 1;
    }
}

#[derive(Default)]
struct Inner {
    recent: VecDeque<ConflictRecord>,
    next_id: u64,
    totals: Totals,
}

/// The ring of recent conflicts of one instance.
#[derive(Default)]
pub struct ConflictLog {
    inner: Mutex<Inner>,
}

impl ConflictLog {
    /// Records a lost commit of session `session_id` while running `statement`; returns its id.
    pub fn record(&self, session_id: u32, lost: &LostCommit, statement: Option<&str>) -> u64 {
        let at_micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        let statement: String = statement
            .unwrap_or("")
            .chars()
            .take(STATEMENT_CHARS)
            .collect();
        let reason = Reason::of(lost);
        let c = &lost.conflict;
        let mut inner = self.inner.lock();
        inner.next_id += 1;
        inner.totals.count(reason);
        let record = ConflictRecord {
            id: inner.next_id,
            at_micros,
            session_id,
            reason,
            page_no: c.page_no,
            snapshot_lsn: c.snapshot,
            winner_lsn: c.winner_lsn,
            winner_instance: c.winner_origin,
            statement,
            object: None,
        };
        if inner.recent.len() >= CAPACITY {
            inner.recent.pop_front();
        }
        inner.recent.push_back(record);
        inner.next_id
    }

    /// The recent conflicts, oldest first, with their pages resolved, and the totals.
    /// `resolve` maps page numbers to objects; it runs without the ring's lock held, only for
    /// pages not resolved before. Failed resolutions are not kept (tried again next time).
    pub fn read(
        &self,
        resolve: impl FnOnce(&[PageNo]) -> HashMap<PageNo, PageObject>,
    ) -> (Vec<ConflictRecord>, Totals) {
        let mut pending: Vec<PageNo> = {
            let inner = self.inner.lock();
            inner
                .recent
                .iter()
                .filter(|r| r.object.is_none())
                .map(|r| r.page_no)
                .collect()
        };
        pending.sort_unstable();
        pending.dedup();
        let found = if pending.is_empty() {
            HashMap::new()
        } else {
            resolve(&pending)
        };
        let mut inner = self.inner.lock();
        for r in inner.recent.iter_mut().filter(|r| r.object.is_none()) {
            match found.get(&r.page_no) {
                Some(PageObject::NotResolved(_)) | None => {}
                Some(o) => r.object = Some(o.clone()),
            }
        }
        let mut rows: Vec<ConflictRecord> = inner.recent.iter().cloned().collect();
        for r in rows.iter_mut().filter(|r| r.object.is_none()) {
            r.object = found.get(&r.page_no).cloned();
        }
        (rows, inner.totals)
    }
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) for microseconds since the Unix epoch.
pub fn format_time(at_micros: u64) -> String {
    let secs = at_micros / 1_000_000;
    let micros = at_micros % 1_000_000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = borealis_functions::temporal::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{micros:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The conflicts part of `SHOW ENGINE BOREALIS STATUS`: totals, then the recent conflicts
/// newest first, each with every recorded field.
pub fn format_status(rows: &[ConflictRecord], totals: &Totals) -> String {
    let mut s = String::new();
    s.push_str("------------------\nRECENT CONFLICTS\n------------------\n");
    s.push_str(&format!(
        "Conflicts since start: {} (page changed {}, locked page changed {}, schema changed {}); the last {} kept, {} shown, newest first. Times are UTC.\n",
        totals.total(),
        totals.page_changed,
        totals.locked_page,
        totals.schema_changed,
        CAPACITY,
        rows.len()
    ));
    if rows.is_empty() {
        s.push_str("No conflicts since start.\n");
    }
    for r in rows.iter().rev() {
        s.push_str(&format_record(r));
    }
    s
}

/// One conflict as a paragraph of the status text.
pub fn format_record(r: &ConflictRecord) -> String {
    format!(
        "*** CONFLICT {id} at {at}\nsession {session} lost: {reason} on page {page} of {object}\nsnapshot LSN {snap}; winner: instance {winner} (slot), commit LSN {wlsn}\nstatement: {stmt}\n",
        id = r.id,
        at = format_time(r.at_micros),
        session = r.session_id,
        reason = r.reason.words(),
        page = r.page_no,
        object = r.object_or_unresolved().describe(),
        snap = r.snapshot_lsn,
        winner = r.winner_instance,
        wlsn = r.winner_lsn,
        stmt = r.statement,
    )
}

/// The Note `SHOW WARNINGS` gives after a 1213: which page of which object, and who won.
pub fn format_note(r: &ConflictRecord) -> String {
    format!(
        "Conflict {}: {} on page {} of {}; the commit of instance {} at LSN {} won over this transaction's snapshot (LSN {})",
        r.id,
        r.reason.words(),
        r.page_no,
        r.object_or_unresolved().describe(),
        r.winner_instance,
        r.winner_lsn,
        r.snapshot_lsn
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use borealis_pagestore::Conflict;

    fn lost(page_no: PageNo, reason: ConflictReason, locked_only: bool) -> LostCommit {
        LostCommit {
            conflict: Conflict {
                reason,
                page_no,
                snapshot: 40,
                winner_lsn: 41,
                winner_origin: 2,
            },
            locked_only,
        }
    }

    #[test]
    fn ring_keeps_the_last_capacity_and_counts_all() {
        let log = ConflictLog::default();
        for i in 0..(CAPACITY as u32 + 5) {
            log.record(7, &lost(i + 2, ConflictReason::PageChanged, false), None);
        }
        log.record(
            8,
            &lost(1, ConflictReason::SchemaChanged, false),
            Some("COMMIT"),
        );
        log.record(
            9,
            &lost(3, ConflictReason::PageChanged, true),
            Some("COMMIT"),
        );
        let (rows, totals) = log.read(|_| HashMap::new());
        assert_eq!(rows.len(), CAPACITY);
        assert_eq!(rows.last().map(|r| r.id), Some(CAPACITY as u64 + 7));
        assert_eq!(totals.total(), CAPACITY as u64 + 7);
        assert_eq!(totals.schema_changed, 1);
        assert_eq!(totals.locked_page, 1);
        assert_eq!(rows.last().map(|r| r.reason), Some(Reason::LockedPage));
    }

    #[test]
    fn statement_is_truncated() {
        let log = ConflictLog::default();
        let long = "x".repeat(STATEMENT_CHARS * 2);
        log.record(1, &lost(2, ConflictReason::PageChanged, false), Some(&long));
        let (rows, _) = log.read(|_| HashMap::new());
        assert_eq!(rows[0].statement.chars().count(), STATEMENT_CHARS);
    }

    #[test]
    fn pages_are_resolved_once_and_failures_retried() {
        let log = ConflictLog::default();
        log.record(1, &lost(2, ConflictReason::PageChanged, false), None);
        log.record(1, &lost(5, ConflictReason::PageChanged, false), None);
        let table = PageObject::Table {
            schema: "d".into(),
            table: "t".into(),
        };
        let (rows, _) = log.read(|pages| {
            assert_eq!(pages, &[2, 5]);
            HashMap::from([
                (2, table.clone()),
                (5, PageObject::NotResolved("busy".into())),
            ])
        });
        assert_eq!(rows[0].object, Some(table.clone()));
        assert_eq!(rows[1].object, Some(PageObject::NotResolved("busy".into())));
        let (rows, _) = log.read(|pages| {
            assert_eq!(pages, &[5], "page 2 was resolved already");
            HashMap::from([(5, PageObject::Unknown)])
        });
        assert_eq!(rows[0].object, Some(table));
        assert_eq!(rows[1].object, Some(PageObject::Unknown));
    }

    #[test]
    fn time_format() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00.000000");
        // 2024-02-29 12:34:56.789012 UTC
        assert_eq!(
            format_time(1_709_210_096_789_012),
            "2024-02-29 12:34:56.789012"
        );
    }

    #[test]
    fn status_text_names_everything() {
        let r = ConflictRecord {
            id: 3,
            at_micros: 0,
            session_id: 12,
            reason: Reason::PageChanged,
            page_no: 4,
            snapshot_lsn: 40,
            winner_lsn: 41,
            winner_instance: 2,
            statement: "COMMIT".into(),
            object: Some(PageObject::Index {
                schema: "shop".into(),
                table: "orders".into(),
                index: "by_customer".into(),
            }),
        };
        let totals = Totals {
            page_changed: 1,
            ..Totals::default()
        };
        let text = format_status(std::slice::from_ref(&r), &totals);
        assert!(
            text.contains("Conflicts since start: 1 (page changed 1"),
            "{text}"
        );
        assert!(
            text.contains("*** CONFLICT 3 at 1970-01-01 00:00:00.000000"),
            "{text}"
        );
        assert!(
            text.contains("session 12 lost: page changed on page 4 of table `shop`.`orders`, index `by_customer`"),
            "{text}"
        );
        assert!(
            text.contains("snapshot LSN 40; winner: instance 2 (slot), commit LSN 41"),
            "{text}"
        );
        assert!(text.contains("statement: COMMIT"), "{text}");
        assert!(format_status(&[], &Totals::default()).contains("No conflicts since start."));
        assert_eq!(
            format_note(&r),
            "Conflict 3: page changed on page 4 of table `shop`.`orders`, index `by_customer`; the commit of instance 2 at LSN 41 won over this transaction's snapshot (LSN 40)"
        );
    }

    #[test]
    fn object_descriptions() {
        assert_eq!(
            PageObject::Header.describe(),
            "(database header: size/freelist/schema)"
        );
        assert_eq!(
            PageObject::Table {
                schema: "d".into(),
                table: "t".into()
            }
            .describe(),
            "table `d`.`t` (rows)"
        );
        assert!(PageObject::Unknown.describe().starts_with("(unknown"));
    }
}
