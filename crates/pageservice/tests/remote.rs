//! The remote client against a real page service on loopback: the same contract as the local
//! store (commit, conflict, versioned reads, pins, catch-up), plus membership.

use std::time::Duration;

use borealis_pageservice::{serve, MemberInfo, RemotePageStore};
use borealis_pagestore::{CommitError, LocalPageStore, PageStore, StoreOptions};

mod support;
use support::write;

const PAGE: usize = 4096;

fn start() -> (
    tempfile::TempDir,
    borealis_pageservice::StorageHandle,
    RemotePageStore,
) {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        page_size: PAGE,
        fsync: false,
        ..StoreOptions::default()
    };
    let store = LocalPageStore::open(dir.path(), opts).unwrap();
    let handle = serve(store, "127.0.0.1:0".parse().unwrap()).unwrap();
    let client =
        RemotePageStore::connect(&handle.local_addr().to_string(), Duration::from_secs(5)).unwrap();
    (dir, handle, client)
}

#[test]
fn commits_reads_and_conflicts_cross_the_wire() {
    let (_dir, _handle, store) = start();
    assert_eq!(store.page_size(), PAGE);
    let l1 = store.commit(write(0, 3, 2, 7, 1)).unwrap();
    let l2 = store.commit(write(l1, 3, 3, 8, 2)).unwrap();
    assert_eq!(store.latest_lsn(), l2);
    assert_eq!(store.db_pages(l2).unwrap(), 3);
    let v = store.read_page(2, l2).unwrap();
    assert_eq!(v.lsn, l1);
    assert_eq!(&v.data[100..108], &[7; 8]);
    assert_eq!(v.data.len(), PAGE);
    // Same page, stale snapshot: the later committer loses, and learns who won.
    match store.commit(write(0, 3, 2, 9, 3)) {
        Err(CommitError::Conflict(c)) => {
            assert_eq!((c.page_no, c.winner_lsn, c.winner_origin), (2, l1, 1));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Reading beyond the end is the store's typed error, not a transport one.
    assert!(matches!(
        store.read_page(99, l2),
        Err(borealis_pagestore::ReadError::BeyondEnd { .. })
    ));
}

#[test]
fn pins_and_catch_up() {
    let (_dir, _handle, store) = start();
    let first = store.commit(write(0, 2, 2, 1, 1)).unwrap();
    let pin = store.pin_latest();
    assert_eq!(pin.lsn(), first);
    let mut last = first;
    for i in 0..20u8 {
        last = store.commit(write(last, 2, 2, i, 1)).unwrap();
    }
    let old = store.read_page(2, pin.lsn()).unwrap();
    assert_eq!(
        old.lsn, first,
        "the pinned snapshot still sees its own version"
    );
    assert_eq!(&old.data[100..108], &[1; 8]);
    let mut feed = store.subscribe(0).unwrap();
    for lsn in 1..=last {
        let change = feed.next_change(Duration::from_secs(1)).unwrap().unwrap();
        assert_eq!(change.lsn, lsn);
    }
    assert!(feed
        .next_change(Duration::from_millis(20))
        .unwrap()
        .is_none());
}

#[test]
fn membership_refuses_a_second_process_on_a_live_slot() {
    let (_dir, _handle, store) = start();
    let me = MemberInfo {
        slot: 2,
        incarnation: 1,
        sql_addr: "127.0.0.1:3308".into(),
        replication_addr: "127.0.0.1:4308".into(),
        metrics_addr: String::new(),
        read_only: false,
        applied_lsn: 0,
        last_seen: Duration::ZERO,
    };
    let members = store.register(&me).unwrap();
    assert_eq!(members.len(), 1);
    assert!(members[0].is_alive());
    let twin = MemberInfo {
        incarnation: 2,
        ..me.clone()
    };
    let refused = store.register(&twin).unwrap_err();
    assert!(refused.contains("slot 2"), "{refused}");
    store.deregister(2, 1);
    assert!(store.members().unwrap().is_empty());
}

/// The commit hook sees each commit made through the client, as the store committed it, before
/// the committer returns; a conflict or an empty write set is no commit and is not seen.
#[test]
fn the_commit_hook_sees_each_commit_before_the_committer_returns() {
    use std::sync::{Arc, Mutex};
    let (_dir, _handle, store) = start();
    let seen: Arc<Mutex<Vec<borealis_pagestore::CommittedChange>>> = Arc::default();
    // Per commit seen by the hook: (page, byte 100 of its image) of each image handed over.
    type ImagesSeen = Vec<Vec<(u32, u8)>>;
    let images_seen: Arc<Mutex<ImagesSeen>> = Arc::default();
    let (in_hook, images_in_hook) = (seen.clone(), images_seen.clone());
    assert!(store.set_commit_hook(Box::new(move |change, images| {
        in_hook.lock().unwrap().push(change.clone());
        let mut pages: Vec<(u32, u8)> = images.iter().map(|(p, i)| (*p, i[100])).collect();
        pages.sort_unstable();
        images_in_hook.lock().unwrap().push(pages);
    })));
    assert!(!store.set_commit_hook(Box::new(|_, _| {})), "set once");
    let l1 = store.commit(write(0, 3, 2, 7, 1)).unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1, "seen before commit returned");
    let stale = store.commit(write(0, 3, 2, 9, 1));
    assert!(matches!(stale, Err(CommitError::Conflict(_))));
    let mut empty = write(l1, 3, 2, 0, 1);
    empty.deltas.clear();
    store.commit(empty).unwrap();
    // The committer's image of the page goes to the hook with the change.
    let image: Arc<[u8]> = Arc::from(vec![8u8; PAGE]);
    let l2 = store
        .commit_merging_with_images(write(l1, 4, 3, 8, 2), vec![Some(image)])
        .unwrap()
        .lsn;
    assert_eq!(*images_seen.lock().unwrap(), vec![vec![], vec![(3, 8)]]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.iter().map(|c| c.lsn).collect::<Vec<_>>(), vec![l1, l2]);
    assert_eq!(seen[1].origin, 2);
    assert_eq!(seen[1].db_pages, 4);
    assert_eq!(seen[1].deltas.as_ref(), &write(l1, 4, 3, 8, 2).deltas);
}
