//! An update-only workload with checkpoints keeps the store's directory size bounded.

mod common;

use borealis_pagestore::*;
use common::*;

#[test]
fn update_only_workload_keeps_directory_size_flat() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        checkpoint_log_bytes: 256 << 10,
        ..test_opts()
    };
    let s = LocalPageStore::open(dir.path(), opts).unwrap();
    let payload = [0xABu8; 200];
    let mut sizes = Vec::new();
    for lsn in 1..=20_000u64 {
        let page = 1 + (lsn % 4) as u32;
        s.commit(ws(
            lsn - 1,
            4,
            vec![delta(page, (lsn % 200) as u32, &payload[..100])],
            1,
        ))
        .unwrap();
        if lsn % 1000 == 0 {
            s.checkpoint_now().unwrap();
            sizes.push(dir_bytes(dir.path()));
        }
    }
    let stats = s.stats();
    assert!(stats.retained_versions < 10, "{stats:?}");
    // ~2.2 MB of log was written in total; after warm-up the directory must not grow with it.
    eprintln!("directory sizes: {sizes:?}; {stats:?}");
    let warm = sizes[4];
    let last = *sizes.last().unwrap();
    assert!(last <= warm + (warm / 2), "directory grew: {sizes:?}");
    assert!(stats.log_bytes < 200 << 10, "log not reclaimed: {stats:?}");
    assert!(stats.checkpoints >= 20);
}

/// Versions no snapshot can read are dropped in memory, without a checkpoint: an update-only
/// workload on two pages keeps a handful of versions, while a pinned snapshot still reads
/// what it pinned.
#[test]
fn unseen_versions_are_dropped_without_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        // Past half of this the flusher drops unseen versions; a checkpoint only past all of it.
        checkpoint_image_bytes: 64 * PAGE as u64,
        ..test_opts()
    };
    let s = LocalPageStore::open(dir.path(), opts).unwrap();
    let commit = |page: PageNo, value: u64| {
        let latest = s.latest_lsn();
        s.commit(ws(latest, 2, vec![delta(page, 8, &value.to_le_bytes())], 1))
            .unwrap()
    };
    let mut pinned = None;
    for i in 1..=2_000u64 {
        let lsn = commit(1 + (i % 2) as u32, i);
        if i == 1_000 {
            pinned = Some((s.pin_latest(), lsn));
        }
        if i == 1_020 {
            // A snapshot pinned 20 commits ago still reads its page as it was.
            let (pin, at) = pinned.take().unwrap();
            assert_eq!(pin.lsn(), at);
            let page = s.read_page(1, at).unwrap();
            assert_eq!(page.data[8..16], 1_000u64.to_le_bytes());
        }
    }
    let stats = s.stats();
    assert_eq!(stats.checkpoints, 0, "{stats:?}");
    assert!(stats.retained_versions < 40, "{stats:?}");
    assert!(stats.oldest_lsn > 1_020, "{stats:?}");
    let newest = s.read_page(1, s.latest_lsn()).unwrap();
    assert_eq!(newest.data[8..16], 2_000u64.to_le_bytes());
}
