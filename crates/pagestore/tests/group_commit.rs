//! Concurrent commits share fsyncs; every acknowledged commit is durable and readable.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use borealis_pagestore::*;
use common::*;

const THREADS: u32 = 8;
const PER_THREAD: u32 = 200;

#[test]
fn concurrent_commits_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        fsync: true,
        ..test_opts()
    };
    let s = LocalPageStore::open(dir.path(), opts.clone()).unwrap();
    // Create the pages: thread t writes only page t + 1, so nobody conflicts.
    s.commit(ws(0, THREADS, vec![delta(THREADS, 0, b"init")], 0))
        .unwrap();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let s = Arc::clone(&s);
            thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0..PER_THREAD {
                    let snapshot = s.latest_lsn();
                    let w = ws(
                        snapshot,
                        THREADS,
                        vec![delta(t + 1, 0, &i.to_le_bytes())],
                        t as u16 + 1,
                    );
                    acked.push(s.commit(w).unwrap());
                }
                acked
            })
        })
        .collect();
    let mut all: Vec<Lsn> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let commits = u64::from(THREADS * PER_THREAD);
    assert_eq!(all, (2..=commits + 1).collect::<Vec<_>>());
    let stats = s.stats();
    assert_eq!(stats.commits, commits + 1);
    eprintln!("group commit: {stats:?}");
    assert!(
        stats.fsyncs < stats.commits,
        "{} fsyncs for {} commits",
        stats.fsyncs,
        stats.commits
    );
    drop(s);
    let s = LocalPageStore::open(dir.path(), opts).unwrap();
    assert_eq!(s.latest_lsn(), commits + 1);
    for t in 0..THREADS {
        let v = s.read_page(t + 1, commits + 1).unwrap();
        assert_eq!(&v.data[..4], &(PER_THREAD - 1).to_le_bytes());
    }
}

/// Durable listeners get every commit once it is durable, in LSN order, with the page image
/// after it of each delta; one that reports its receiver gone is called no more.
#[test]
fn durable_listeners_see_each_commit_with_its_images() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    type Seen = Vec<(Lsn, Vec<u8>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let durable_at_call: Arc<Mutex<Vec<bool>>> = Arc::default();
    let gone = Arc::new(AtomicBool::new(false));
    let gone_calls = Arc::new(Mutex::new(0u32));
    {
        let (seen, at_call, store) = (seen.clone(), durable_at_call.clone(), s.clone());
        assert!(s.add_durable_listener(Box::new(move |change, images| {
            assert_eq!(change.deltas.len(), images.len());
            at_call
                .lock()
                .unwrap()
                .push(store.latest_lsn() >= change.lsn);
            seen.lock().unwrap().push((change.lsn, images[0].to_vec()));
            true
        })));
        let (gone, calls) = (gone.clone(), gone_calls.clone());
        assert!(s.add_durable_listener(Box::new(move |_, _| {
            *calls.lock().unwrap() += 1;
            !gone.load(Ordering::SeqCst)
        })));
    }
    let first = s.commit(ws(0, 2, vec![delta(2, 10, b"one")], 1)).unwrap();
    gone.store(true, Ordering::SeqCst);
    let second = s
        .commit(ws(first, 2, vec![delta(2, 20, b"two")], 1))
        .unwrap();
    let third = s
        .commit(ws(second, 2, vec![delta(2, 30, b"three")], 1))
        .unwrap();
    let seen = seen.lock().unwrap();
    let lsns: Vec<Lsn> = seen.iter().map(|(lsn, _)| *lsn).collect();
    assert_eq!(lsns, vec![first, second, third]);
    let last = &seen[2].1;
    assert_eq!(last.len(), PAGE);
    assert_eq!(&last[10..13], b"one");
    assert_eq!(&last[20..23], b"two");
    assert_eq!(&last[30..35], b"three");
    assert_eq!(
        s.read_page(2, third).unwrap().data.as_ref(),
        last.as_slice()
    );
    assert!(durable_at_call.lock().unwrap().iter().all(|d| *d));
    // Called for the first commit, told "gone" at the second, then never again.
    assert_eq!(*gone_calls.lock().unwrap(), 2);
}

/// Commits handed their result (the page service's commit links): many sent from one thread
/// share fsyncs, each result comes once the commit is durable, every acknowledged commit is
/// readable, and a failed log fails the next one.
#[test]
fn commits_with_a_completion_share_fsyncs_and_report_a_failed_log() {
    const COMMITS: u32 = 64;
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        fsync: true,
        ..test_opts()
    };
    let s = LocalPageStore::open(dir.path(), opts).unwrap();
    s.commit(ws(0, COMMITS, vec![delta(COMMITS, 0, b"init")], 0))
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for t in 0..COMMITS {
        let w = ws(1, COMMITS, vec![delta(t + 1, 0, &t.to_le_bytes())], 1);
        let (tx, store) = (tx.clone(), Arc::clone(&s));
        s.commit_merging_then(
            w,
            Box::new(move |result| {
                let lsn = result.unwrap().lsn;
                assert!(
                    store.stats().latest_lsn >= lsn,
                    "reported before it was durable"
                );
                tx.send(lsn).unwrap();
            }),
        );
    }
    let mut lsns: Vec<Lsn> = (0..COMMITS)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    lsns.sort();
    let last = u64::from(COMMITS) + 1;
    assert_eq!(lsns, (2..=last).collect::<Vec<_>>());
    let stats = s.stats();
    assert_eq!(stats.commits, last);
    assert!(
        stats.fsyncs < stats.commits,
        "{} fsyncs for {} commits",
        stats.fsyncs,
        stats.commits
    );
    for t in 0..COMMITS {
        assert_eq!(
            &s.read_page(t + 1, last).unwrap().data[..4],
            &t.to_le_bytes()
        );
    }
    s.inject_log_write_failure();
    let (tx, rx) = std::sync::mpsc::channel();
    s.commit_merging_then(
        ws(last, COMMITS, vec![delta(1, 0, b"no")], 1),
        Box::new(move |result| tx.send(result).unwrap()),
    );
    let failed = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        matches!(failed, Err(CommitError::LogFailed(_))),
        "{failed:?}"
    );
    assert!(rx.try_recv().is_err(), "one result per commit");
    assert_eq!(s.latest_lsn(), last);
}
