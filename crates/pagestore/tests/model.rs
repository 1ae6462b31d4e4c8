//! Model-based test: random operations against the store and a simple in-memory model that
//! keeps the full history of every page.

mod common;

use std::sync::Arc;

use borealis_pagestore::*;
use common::*;
use proptest::prelude::*;

const MAX_PAGES: u32 = 6;

#[derive(Clone, Debug)]
enum Op {
    /// Commit: snapshot choice, (page choice, offset, len, byte) deltas, size delta, locked page.
    Commit {
        snap: usize,
        writes: Vec<(u32, u16, u8, u8)>,
        resize: i8,
        locked: Option<u32>,
        cookie: Option<u8>,
    },
    Read {
        at: usize,
        page_no: u32,
    },
    Pin {
        at: usize,
    },
    Unpin {
        which: usize,
    },
    Checkpoint,
    Restart,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (
            any::<usize>(),
            proptest::collection::vec((1..=MAX_PAGES, 0u16..500, 0u8..12, any::<u8>()), 0..3),
            -1i8..=1,
            proptest::option::weighted(0.2, 1..=MAX_PAGES),
            proptest::option::weighted(0.1, 0u8..3),
        )
            .prop_map(|(snap, writes, resize, locked, cookie)| Op::Commit { snap, writes, resize, locked, cookie }),
        4 => (any::<usize>(), 0..=MAX_PAGES + 1).prop_map(|(at, page_no)| Op::Read { at, page_no }),
        1 => any::<usize>().prop_map(|at| Op::Pin { at }),
        1 => any::<usize>().prop_map(|which| Op::Unpin { which }),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Restart),
    ]
}

/// The database at one LSN: size and, per page, its image and the LSN of the delta that wrote it
/// (`None` when zeros came from growth or truncation).
#[derive(Clone)]
struct Snapshot {
    pages: Vec<(Vec<u8>, Option<Lsn>)>,
}

struct Model {
    history: Vec<Snapshot>,         // index = LSN
    last_write: Vec<(Lsn, Origin)>, // index = page_no - 1, for pages 1..=MAX_PAGES
    size_changes: Vec<(Lsn, Origin)>,
    schema: Option<(Lsn, Origin)>,
    oldest: Lsn,
    pins: Vec<Lsn>,
}

impl Model {
    fn latest(&self) -> Lsn {
        self.history.len() as Lsn - 1
    }
    fn retained(&self, choice: usize) -> Lsn {
        self.oldest + (choice as u64 % (self.latest() - self.oldest + 1))
    }

    fn expect_commit(&self, w: &WriteSet) -> Result<Option<Snapshot>, CommitError> {
        let snap = &self.history[w.snapshot as usize];
        let cur = &self.history[self.history.len() - 1];
        let conflict = |reason, page_no, (winner_lsn, winner_origin)| {
            Err(CommitError::Conflict(Conflict {
                reason,
                page_no,
                snapshot: w.snapshot,
                winner_lsn,
                winner_origin,
            }))
        };
        // Locked pages first, as the store checks them: a locked page that changed is a
        // conflict no merge can undo, so the store does not try to merge written pages first.
        for p in w
            .locked_pages
            .iter()
            .copied()
            .chain(w.deltas.iter().map(|d| d.page_no))
        {
            let lw = self.last_write[p as usize - 1];
            if lw.0 > w.snapshot {
                return conflict(ConflictReason::PageChanged, p, lw);
            }
        }
        let size_changed = w.db_pages as usize != snap.pages.len();
        if size_changed {
            if let Some(&sc) = self.size_changes.last().filter(|s| s.0 > w.snapshot) {
                return conflict(ConflictReason::PageChanged, 1, sc);
            }
        }
        if w.deltas.is_empty() && !size_changed {
            return Ok(None);
        }
        if let Some(s) = self.schema.filter(|s| s.0 > w.snapshot) {
            return conflict(ConflictReason::SchemaChanged, 1, s);
        }
        let size = if size_changed {
            w.db_pages as usize
        } else {
            cur.pages.len()
        };
        if w.deltas.iter().any(|d| d.page_no as usize > size) {
            return Err(CommitError::Invalid(String::new()));
        }
        let lsn = self.latest() + 1;
        let mut next = cur.clone();
        next.pages.resize(size, (vec![0; PAGE], None));
        for d in &w.deltas {
            let entry = &mut next.pages[d.page_no as usize - 1];
            for r in &d.ranges {
                entry.0[r.offset as usize..r.offset as usize + r.bytes.len()]
                    .copy_from_slice(&r.bytes);
            }
            entry.1 = Some(lsn);
        }
        Ok(Some(next))
    }

    fn apply(&mut self, w: &WriteSet, next: Snapshot) {
        let lsn = self.latest() + 1;
        let old = &self.history[self.history.len() - 1];
        let writer = (lsn, w.origin);
        if next.pages.len() != old.pages.len() {
            self.size_changes.push(writer);
        }
        for p in next.pages.len()..old.pages.len() {
            self.last_write[p] = writer;
        }
        if w.deltas.iter().any(|d| d.page_no == 1) {
            let zero = vec![0u8; PAGE];
            let old_page1 = old.pages.first().map_or(&zero, |p| &p.0);
            if old_page1[40..44] != next.pages[0].0[40..44] {
                self.schema = Some(writer);
            }
        }
        for d in &w.deltas {
            self.last_write[d.page_no as usize - 1] = writer;
        }
        self.history.push(next);
    }
}

fn build_ws(
    model: &Model,
    snap: usize,
    writes: &[(u32, u16, u8, u8)],
    resize: i8,
    locked: Option<u32>,
    cookie: Option<u8>,
) -> WriteSet {
    let snapshot = model.retained(snap);
    let size = model.history[snapshot as usize].pages.len() as i64;
    let db_pages = (size + i64::from(resize)).clamp(1, i64::from(MAX_PAGES)) as u32;
    let mut deltas: Vec<PageDelta> = Vec::new();
    let mut pages: Vec<u32> = writes.iter().map(|w| w.0).collect();
    if cookie.is_some() {
        pages.push(1);
    }
    pages.sort();
    pages.dedup();
    for p in pages {
        let mut ranges = Vec::new();
        if p == 1 {
            if let Some(c) = cookie {
                ranges.push(ByteRange {
                    offset: 40,
                    bytes: vec![c; 4],
                });
            }
        }
        if let Some(&(_, off, len, byte)) = writes.iter().find(|w| w.0 == p) {
            let off = 100 + u32::from(off % 400);
            ranges.push(ByteRange {
                offset: off,
                bytes: vec![byte; len as usize],
            });
        }
        deltas.push(PageDelta { page_no: p, ranges });
    }
    WriteSet {
        snapshot,
        db_pages,
        deltas,
        locked_pages: locked.into_iter().collect(),
        guard_pages: vec![],
        origin: (snap % 16) as u16 + 1,
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut store: Arc<LocalPageStore> = open(dir.path());
    let mut model = Model {
        history: vec![Snapshot { pages: vec![] }],
        last_write: vec![(0, 0); MAX_PAGES as usize],
        size_changes: vec![],
        schema: None,
        oldest: 0,
        pins: vec![],
    };
    let mut guards: Vec<SnapshotPin> = Vec::new();
    for op in ops {
        match op {
            Op::Commit {
                snap,
                writes,
                resize,
                locked,
                cookie,
            } => {
                let w = build_ws(&model, snap, &writes, resize, locked, cookie);
                let expected = model.expect_commit(&w);
                let got = store.commit(w.clone());
                match (expected, got) {
                    (Ok(Some(next)), Ok(lsn)) => {
                        prop_assert_eq!(lsn, model.latest() + 1);
                        model.apply(&w, next);
                    }
                    (Ok(None), Ok(lsn)) => prop_assert_eq!(lsn, model.latest()),
                    (Err(CommitError::Conflict(a)), Err(CommitError::Conflict(b))) => {
                        prop_assert_eq!(a, b)
                    }
                    (Err(CommitError::Invalid(_)), Err(CommitError::Invalid(_))) => {}
                    (e, g) => {
                        let e = e.map(|n| n.map(|s| s.pages.len()));
                        prop_assert!(
                            false,
                            "write set {:?}: expected {:?} (new size), got {:?}",
                            w,
                            e,
                            g
                        )
                    }
                }
            }
            Op::Read { at, page_no } => {
                let at = model.retained(at);
                let snap = &model.history[at as usize];
                match store.read_page(page_no, at) {
                    Ok(v) => {
                        prop_assert!(page_no >= 1 && page_no as usize <= snap.pages.len());
                        let (image, written) = &snap.pages[page_no as usize - 1];
                        prop_assert_eq!(&v.data[..], &image[..], "page {} at {}", page_no, at);
                        if let Some(l) = written {
                            prop_assert_eq!(v.lsn, *l);
                        }
                        prop_assert!(v.lsn <= at);
                        prop_assert_eq!(v.as_of, model.latest());
                    }
                    Err(ReadError::BeyondEnd { .. }) => {
                        prop_assert!(page_no == 0 || page_no as usize > snap.pages.len())
                    }
                    Err(e) => prop_assert!(false, "read {} at {}: {}", page_no, at, e),
                }
                prop_assert_eq!(store.db_pages(at).unwrap() as usize, snap.pages.len());
                if model.oldest > 0 {
                    let too_old = store.read_page(1, model.oldest - 1);
                    prop_assert!(
                        matches!(too_old, Err(ReadError::NotRetained { .. })),
                        "{:?}",
                        too_old
                    );
                }
            }
            Op::Pin { at } => {
                let at = model.retained(at);
                guards.push(store.pin(at).unwrap());
                model.pins.push(at);
            }
            Op::Unpin { which } => {
                if !guards.is_empty() {
                    let g = guards.remove(which % guards.len());
                    let i = model.pins.iter().position(|&p| p == g.lsn()).unwrap();
                    model.pins.remove(i);
                }
            }
            Op::Checkpoint => {
                store.checkpoint_now().unwrap();
                let min_pin = model.pins.iter().copied().min().unwrap_or(Lsn::MAX);
                model.oldest = model.oldest.max(min_pin.min(model.latest()));
                prop_assert_eq!(store.stats().oldest_lsn, model.oldest);
            }
            Op::Restart => {
                guards.clear();
                model.pins.clear();
                drop(store);
                store = open(dir.path());
                prop_assert_eq!(store.latest_lsn(), model.latest());
                prop_assert_eq!(store.stats().oldest_lsn, model.oldest);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model(ops in proptest::collection::vec(arb_op(), 1..40)) {
        run(ops)?;
    }
}
