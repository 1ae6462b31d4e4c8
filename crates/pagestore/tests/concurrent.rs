//! Writers, pinned readers and background checkpoints running at the same time: every read at
//! a pinned snapshot returns exactly the newest version at or below it, and writers of the
//! same pages keep first-committer-wins although their commits are built outside the store's
//! lock.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use borealis_pagestore::*;
use common::*;

const WRITERS: u32 = 3;
const COMMITS_PER_WRITER: u64 = 1500;

/// A store that checkpoints every 2 ms or 8 KiB of log.
fn open_with_busy_checkpoints(dir: &std::path::Path) -> Arc<LocalPageStore> {
    let opts = StoreOptions {
        checkpoint_interval: Duration::from_millis(2),
        checkpoint_log_bytes: 8 << 10,
        ..test_opts()
    };
    LocalPageStore::open(dir, opts).unwrap()
}

#[test]
fn pinned_reads_stay_correct_under_background_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with_busy_checkpoints(dir.path());
    s.commit(ws(
        0,
        WRITERS,
        vec![delta(WRITERS, 0, &0u64.to_le_bytes())],
        0,
    ))
    .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let s = Arc::clone(&s);
            thread::spawn(move || {
                let mut acked = Vec::new();
                while acked.len() < COMMITS_PER_WRITER as usize {
                    let snapshot = s.latest_lsn();
                    // The page holds the LSN it expects to get; it may lose a race and retry.
                    let guess = s.stats().latest_lsn + 1;
                    let w = ws(
                        snapshot,
                        WRITERS,
                        vec![delta(t + 1, 0, &guess.to_le_bytes())],
                        t as u16 + 1,
                    );
                    match s.commit(w) {
                        Ok(lsn) => acked.push((lsn, guess)),
                        Err(CommitError::SnapshotTooOld { .. }) => {}
                        Err(e) => panic!("writer {t}: {e}"),
                    }
                }
                (t + 1, acked)
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let s = Arc::clone(&s);
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let mut seen = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    let pin = s.pin_latest();
                    thread::sleep(Duration::from_micros(300));
                    for page in 1..=WRITERS {
                        let v = s.read_page(page, pin.lsn()).unwrap();
                        assert!(v.lsn <= pin.lsn());
                        assert!(v.next_lsn.is_none_or(|n| n > pin.lsn()));
                        seen.push((page, pin.lsn(), v.lsn, v.data[..8].to_vec()));
                    }
                }
                seen
            })
        })
        .collect();
    let mut written: HashMap<u32, Vec<(Lsn, Lsn)>> = HashMap::new();
    for h in writers {
        let (page, acked) = h.join().unwrap();
        written.insert(page, acked);
    }
    done.store(true, Ordering::SeqCst);
    let stats = s.stats();
    assert!(stats.checkpoints > 0, "{stats:?}");
    let mut reads = 0;
    for h in readers {
        for (page, at, lsn, data) in h.join().unwrap() {
            let newest = written[&page]
                .iter()
                .filter(|w| w.0 <= at)
                .max_by_key(|w| w.0);
            match newest {
                Some(&(l, guess)) => {
                    assert_eq!(lsn, l, "page {page} at {at}");
                    assert_eq!(data, guess.to_le_bytes());
                }
                None => assert_eq!(data, [0; 8]),
            }
            reads += 1;
        }
    }
    assert!(reads > 0);
}

const SHARED_PAGES: u32 = 3;
const RACING_WRITERS: u16 = 4;
const RACING_COMMITS: usize = 2000;

/// Writers of the same few pages (which cannot merge: they are not b-tree leaves), each
/// committing at the newest snapshot, while checkpoints run: every commit that succeeded had
/// no other commit of its page between its snapshot and its LSN, and wrote exactly its bytes.
#[test]
fn racing_writers_of_one_page_keep_first_committer_wins() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with_busy_checkpoints(dir.path());
    s.commit(ws(0, SHARED_PAGES, vec![], 0)).unwrap();
    let writers: Vec<_> = (1..=RACING_WRITERS)
        .map(|origin| {
            let s = Arc::clone(&s);
            thread::spawn(move || {
                let (mut acked, mut lost) = (Vec::new(), 0);
                for i in 0..RACING_COMMITS {
                    let page = 1 + (i as u32 % SHARED_PAGES);
                    let pin = s.pin_latest();
                    let tag = [origin as u8, (i % 251) as u8, 0xAB, 0xCD];
                    // Two pages per commit, so that one commit's pages overlap another's.
                    let next = 1 + (page % SHARED_PAGES);
                    let mut deltas = vec![delta(page, 64, &tag), delta(next, 128, &tag)];
                    deltas.sort_by_key(|d| d.page_no);
                    match s.commit(ws(pin.lsn(), SHARED_PAGES, deltas, origin)) {
                        Ok(lsn) => acked.push((pin.lsn(), lsn, page, next, tag)),
                        Err(CommitError::Conflict(_)) => lost += 1,
                        Err(e) => panic!("writer {origin}: {e}"),
                    }
                }
                (acked, lost)
            })
        })
        .collect();
    let (mut acked, mut lost) = (Vec::new(), 0);
    for h in writers {
        let (a, l) = h.join().unwrap();
        acked.extend(a);
        lost += l;
    }
    assert!(
        lost > 0 && acked.len() > RACING_COMMITS / 50,
        "{lost} lost, {} acked",
        acked.len()
    );
    let mut writes: HashMap<PageNo, Vec<Lsn>> = HashMap::new();
    for &(_, lsn, page, next, _) in &acked {
        writes.entry(page).or_default().push(lsn);
        writes.entry(next).or_default().push(lsn);
    }
    for &(snapshot, lsn, page, next, tag) in &acked {
        for p in [page, next] {
            let between = writes[&p].iter().find(|&&l| l > snapshot && l < lsn);
            assert!(
                between.is_none(),
                "page {p}: LSN {lsn} (snapshot {snapshot}) and {between:?} both committed"
            );
        }
        let pin = s.pin(lsn);
        if let Ok(pin) = pin {
            assert_eq!(s.read_page(page, pin.lsn()).unwrap().data[64..68], tag);
            assert_eq!(s.read_page(next, pin.lsn()).unwrap().data[128..132], tag);
        }
    }
}
