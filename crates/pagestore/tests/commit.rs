//! Commit validation, versioned reads, database size and the change feed.

mod common;

use std::time::Duration;

use borealis_pagestore::*;
use common::*;

fn conflict(r: Result<Lsn, CommitError>) -> Conflict {
    match r {
        Err(CommitError::Conflict(c)) => c,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn later_committer_of_same_page_loses_with_winner_info() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    assert_eq!(
        s.commit(ws(0, 3, vec![delta(2, 0, b"base")], 1)).unwrap(),
        1
    );
    assert_eq!(
        s.commit(ws(1, 3, vec![delta(2, 0, b"aaaa")], 1)).unwrap(),
        2
    );
    let c = conflict(s.commit(ws(1, 3, vec![delta(2, 8, b"bbbb")], 2)));
    assert_eq!(
        c,
        Conflict {
            reason: ConflictReason::PageChanged,
            page_no: 2,
            snapshot: 1,
            winner_lsn: 2,
            winner_origin: 1
        }
    );
    assert_eq!(s.stats().conflicts, 1);
    // Different pages from the same snapshot both commit.
    assert_eq!(s.commit(ws(2, 3, vec![delta(3, 0, b"x")], 2)).unwrap(), 3);
    assert_eq!(s.commit(ws(2, 3, vec![delta(1, 100, b"y")], 3)).unwrap(), 4);
    assert_eq!(&s.read_page(3, 4).unwrap().data[..1], b"x");
    assert_eq!(&s.read_page(2, 4).unwrap().data[..4], b"aaaa");
}

#[test]
fn locked_pages_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.commit(ws(0, 4, vec![delta(4, 0, b"v1")], 1)).unwrap();
    s.commit(ws(1, 4, vec![delta(4, 0, b"v2")], 1)).unwrap();
    let mut w = ws(1, 4, vec![delta(3, 0, b"z")], 2);
    w.locked_pages = vec![4];
    let c = conflict(s.commit(w.clone()));
    assert_eq!((c.page_no, c.winner_lsn, c.winner_origin), (4, 2, 1));
    w.snapshot = 2;
    assert_eq!(s.commit(w).unwrap(), 3);
}

#[test]
fn a_changed_locked_page_is_reported_before_a_changed_written_page() {
    // Both page 3 (written) and page 4 (locked) changed after the snapshot: the locked page is
    // checked first, since no merge can undo that conflict (found by the model test).
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.commit(ws(0, 4, vec![delta(4, 0, b"v1")], 1)).unwrap();
    s.commit(ws(1, 4, vec![delta(3, 0, b"t")], 5)).unwrap();
    s.commit(ws(2, 4, vec![delta(4, 0, b"v2")], 7)).unwrap();
    let mut w = ws(1, 4, vec![delta(3, 0, b"m")], 2);
    w.locked_pages = vec![4];
    let c = conflict(s.commit(w));
    assert_eq!((c.page_no, c.winner_lsn, c.winner_origin), (4, 3, 7));
}

fn cookie_delta(value: u32) -> PageDelta {
    delta(1, 40, &value.to_be_bytes())
}

#[test]
fn schema_cookie_change_conflicts_with_older_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.commit(ws(0, 5, vec![cookie_delta(1)], 1)).unwrap(); // LSN 1
                                                           // Rewriting the same cookie value is not a schema change.
    s.commit(ws(1, 5, vec![cookie_delta(1), delta(2, 0, b"a")], 1))
        .unwrap(); // LSN 2
    assert_eq!(s.commit(ws(1, 5, vec![delta(3, 0, b"b")], 2)).unwrap(), 3);
    // A DDL changes the cookie at LSN 4.
    s.commit(ws(3, 5, vec![cookie_delta(2), delta(5, 0, b"idx")], 1))
        .unwrap();
    let c = conflict(s.commit(ws(3, 5, vec![delta(4, 0, b"row")], 2)));
    assert_eq!(
        c,
        Conflict {
            reason: ConflictReason::SchemaChanged,
            page_no: 1,
            snapshot: 3,
            winner_lsn: 4,
            winner_origin: 1
        }
    );
    assert_eq!(s.commit(ws(4, 5, vec![delta(4, 0, b"row")], 2)).unwrap(), 5);
}

#[test]
fn invalid_write_sets_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.commit(ws(0, 2, vec![delta(1, 0, b"a")], 1)).unwrap();
    let bad = [
        ws(5, 2, vec![delta(1, 0, b"a")], 1), // snapshot in the future
        ws(1, 2, vec![delta(0, 0, b"a")], 1), // page 0
        ws(1, 2, vec![delta(2, 0, b"a"), delta(1, 0, b"a")], 1), // unsorted
        ws(1, 2, vec![delta(1, PAGE as u32 - 1, b"ab")], 1), // past page end
        ws(1, 2, vec![delta(3, 0, b"a")], 1), // beyond db size
        ws(
            1,
            2,
            vec![PageDelta {
                page_no: 1,
                ranges: vec![
                    ByteRange {
                        offset: 0,
                        bytes: vec![1; 4],
                    },
                    ByteRange {
                        offset: 2,
                        bytes: vec![1; 4],
                    },
                ],
            }],
            1,
        ), // overlapping ranges
    ];
    let mut locked_zero = ws(1, 2, vec![delta(1, 0, b"a")], 1);
    locked_zero.locked_pages = vec![0];
    let mut guard_zero = ws(1, 2, vec![delta(1, 0, b"a")], 1);
    guard_zero.guard_pages = vec![0];
    for w in bad.into_iter().chain([locked_zero, guard_zero]) {
        assert!(
            matches!(s.commit(w.clone()), Err(CommitError::Invalid(_))),
            "{w:?} accepted"
        );
    }
    assert_eq!(s.latest_lsn(), 1);
}

#[test]
fn empty_write_set_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.commit(ws(0, 2, vec![delta(1, 0, b"a")], 1)).unwrap();
    assert_eq!(s.commit(ws(1, 2, vec![], 1)).unwrap(), 1);
    // From snapshot 0 (empty database) the same write set is a resize racing LSN 1.
    assert!(matches!(
        s.commit(ws(0, 2, vec![], 1)),
        Err(CommitError::Conflict(_))
    ));
    assert_eq!(s.latest_lsn(), 1);
    assert_eq!(s.stats().commits, 1);
}

#[test]
fn snapshot_too_old_after_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for i in 0..3u8 {
        s.commit(ws(u64::from(i), 2, vec![delta(2, 0, &[i])], 1))
            .unwrap();
    }
    s.checkpoint_now().unwrap();
    assert_eq!(s.stats().oldest_lsn, 3);
    assert!(matches!(
        s.commit(ws(2, 2, vec![delta(1, 0, b"x")], 1)),
        Err(CommitError::SnapshotTooOld {
            snapshot: 2,
            oldest: 3
        })
    ));
    assert!(matches!(
        s.read_page(2, 2),
        Err(ReadError::NotRetained {
            requested: 2,
            oldest: 3,
            latest: 3
        })
    ));
    assert!(matches!(s.pin(2), Err(ReadError::NotRetained { .. })));
    assert_eq!(s.read_page(2, 3).unwrap().data[0], 2);
}

#[test]
fn reads_at_many_lsns_return_the_right_version() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let pin = s.pin_latest();
    assert_eq!(pin.lsn(), 0);
    // LSN n writes value n to page (n % 3) + 1.
    for n in 1..=30u64 {
        let page = (n % 3) as u32 + 1;
        s.commit(ws(n - 1, 3, vec![delta(page, 10, &[n as u8])], 1))
            .unwrap();
        if n == 15 {
            s.checkpoint_now().unwrap(); // pinned at 0: reclaims nothing
        }
    }
    let check = |s: &LocalPageStore, from: Lsn| {
        for at in from..=30 {
            for page in 1..=3u32 {
                let v = s.read_page(page, at).unwrap();
                let expected = (1..=at)
                    .rev()
                    .find(|n| (n % 3) as u32 + 1 == page)
                    .unwrap_or(0);
                assert_eq!(v.lsn, expected, "page {page} at {at}");
                assert_eq!(v.data[10], expected as u8);
                assert_eq!(v.data.len(), PAGE);
                let next = (at + 1..=30).find(|n| (n % 3) as u32 + 1 == page);
                assert_eq!(v.next_lsn, next);
                assert_eq!(v.as_of, 30);
            }
        }
    };
    check(&s, 1);
    assert!(matches!(
        s.read_page(1, 0),
        Err(ReadError::BeyondEnd { .. })
    ));
    drop(pin);
    let pin = s.pin(20).unwrap();
    s.checkpoint_now().unwrap();
    assert_eq!(s.stats().oldest_lsn, 20);
    check(&s, 20);
    drop(pin);
    drop(s);
    let s = open(dir.path());
    check(&s, 20);
}

#[test]
fn database_grows_and_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    assert_eq!(s.db_pages(0).unwrap(), 0);
    assert!(matches!(
        s.read_page(1, 0),
        Err(ReadError::BeyondEnd {
            page_no: 1,
            db_pages: 0,
            at: 0
        })
    ));
    s.commit(ws(0, 4, vec![delta(1, 0, b"h1"), delta(4, 0, b"p4")], 1))
        .unwrap(); // 1
                   // Pages never written read as zeros.
    let v = s.read_page(3, 1).unwrap();
    assert_eq!((v.lsn, v.data.iter().all(|&b| b == 0)), (0, true));
    s.commit(ws(1, 2, vec![delta(1, 0, b"h2")], 1)).unwrap(); // 2: truncate
    assert_eq!(s.db_pages(1).unwrap(), 4);
    assert_eq!(s.db_pages(2).unwrap(), 2);
    assert!(matches!(
        s.read_page(4, 2),
        Err(ReadError::BeyondEnd { .. })
    ));
    assert_eq!(&s.read_page(4, 1).unwrap().data[..2], b"p4");
    // A writer of a truncated page from an older snapshot conflicts.
    let c = conflict(s.commit(ws(1, 4, vec![delta(4, 2, b"zz")], 2)));
    assert_eq!((c.page_no, c.winner_lsn), (4, 2));
    // Regrowing: the old content is gone.
    s.commit(ws(2, 5, vec![delta(1, 0, b"h3"), delta(5, 0, b"p5")], 1))
        .unwrap(); // 3
    assert!(s.read_page(4, 3).unwrap().data.iter().all(|&b| b == 0));
    // A concurrent size change conflicts on page 1; keeping the size keeps the current size.
    let c = conflict(s.commit(ws(2, 3, vec![], 2)));
    assert_eq!((c.page_no, c.winner_lsn), (1, 3));
    assert_eq!(s.commit(ws(2, 2, vec![delta(2, 0, b"k")], 2)).unwrap(), 4);
    assert_eq!(s.db_pages(4).unwrap(), 5);
    s.checkpoint_now().unwrap();
    drop(s);
    let s = open(dir.path());
    assert_eq!(s.db_pages(4).unwrap(), 5);
    assert!(s.read_page(4, 4).unwrap().data.iter().all(|&b| b == 0));
    assert_eq!(&s.read_page(5, 4).unwrap().data[..2], b"p5");
}

#[test]
fn subscribers_see_durable_changes_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let mut sub = s.subscribe(0).unwrap();
    for n in 1..=5u64 {
        s.commit(ws(n - 1, 1, vec![delta(1, 0, &[n as u8])], 7))
            .unwrap();
    }
    for n in 1..=5u64 {
        let c = sub.next_change(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(
            (c.lsn, c.origin, c.deltas[0].ranges[0].bytes[0]),
            (n, 7, n as u8)
        );
    }
    assert!(sub
        .next_change(Duration::from_millis(10))
        .unwrap()
        .is_none());
    s.close();
    assert!(matches!(
        sub.next_change(Duration::from_millis(10)),
        Err(SubscribeError::Closed)
    ));
    assert!(matches!(
        s.commit(ws(5, 1, vec![delta(1, 0, b"x")], 7)),
        Err(CommitError::LogFailed(_))
    ));
    assert_eq!(
        s.read_page(1, 5).unwrap().data[0],
        5,
        "reads work after close"
    );
}

#[test]
fn reopen_keeps_the_stored_page_size() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let opts = StoreOptions {
        page_size: 4096,
        ..test_opts()
    };
    let s = LocalPageStore::open(dir.path(), opts).unwrap();
    assert_eq!(s.page_size(), PAGE);
}

#[test]
fn feed_after_reopen_starts_at_the_latest_lsn() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for n in 1..=3u64 {
        s.commit(ws(n - 1, 1, vec![delta(1, 0, &[n as u8])], 1))
            .unwrap();
    }
    drop(s);
    let s = open(dir.path());
    assert!(matches!(
        s.subscribe(1),
        Err(SubscribeError::Lagged {
            requested: 2,
            oldest: 4
        })
    ));
    let mut sub = s.subscribe(3).unwrap();
    s.commit(ws(3, 1, vec![delta(1, 0, b"x")], 1)).unwrap();
    assert_eq!(
        sub.next_change(Duration::from_secs(5))
            .unwrap()
            .unwrap()
            .lsn,
        4
    );
    s.close();
    assert!(matches!(s.checkpoint_now(), Err(StoreError::Closed)));
}

#[test]
fn a_committers_image_becomes_the_new_version_only_when_it_holds_the_delta() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let size = s.page_size();
    let image_with = |bytes: &[(usize, &[u8])]| -> std::sync::Arc<[u8]> {
        let mut page = vec![0u8; size];
        for (at, b) in bytes {
            page[*at..*at + b.len()].copy_from_slice(b);
        }
        page.into()
    };
    // Page 2 from zeros: the image holds the delta and is kept as it is (no copy).
    let kept = image_with(&[(0, b"base")]);
    let receipt = s
        .commit_merging_with_images(
            ws(0, 3, vec![delta(2, 0, b"base")], 1),
            vec![Some(kept.clone())],
        )
        .unwrap();
    let read = s.read_page(2, receipt.lsn).unwrap().data;
    assert!(
        std::sync::Arc::ptr_eq(&read, &kept),
        "the committer's image is the version"
    );
    // An image that does not hold the delta is ignored: the store builds the page itself.
    let wrong = image_with(&[(0, b"base"), (8, b"oops")]);
    let receipt = s
        .commit_merging_with_images(
            ws(1, 3, vec![delta(2, 8, b"good")], 1),
            vec![Some(wrong.clone())],
        )
        .unwrap();
    let read = s.read_page(2, receipt.lsn).unwrap().data;
    assert!(!std::sync::Arc::ptr_eq(&read, &wrong));
    assert_eq!(&read[..12], b"base\0\0\0\0good");
    // Page 1's image is never kept (an engine's copy holds its virtualised counter bytes).
    let page_one = image_with(&[(100, b"p1")]);
    let receipt = s
        .commit_merging_with_images(
            ws(2, 3, vec![delta(1, 100, b"p1")], 1),
            vec![Some(page_one.clone())],
        )
        .unwrap();
    assert!(!std::sync::Arc::ptr_eq(
        &s.read_page(1, receipt.lsn).unwrap().data,
        &page_one
    ));
    // Fewer images than deltas: the rest are built.
    let receipt = s
        .commit_merging_with_images(
            ws(3, 3, vec![delta(2, 0, b"BASE"), delta(3, 0, b"three")], 1),
            vec![None],
        )
        .unwrap();
    assert_eq!(&s.read_page(2, receipt.lsn).unwrap().data[..4], b"BASE");
    assert_eq!(&s.read_page(3, receipt.lsn).unwrap().data[..5], b"three");
}
