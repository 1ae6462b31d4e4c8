//! Concurrent commits share fsyncs; every acknowledged commit is durable and readable.

mod common;

use std::sync::Arc;
use std::thread;

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
