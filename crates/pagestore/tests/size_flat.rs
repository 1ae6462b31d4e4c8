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
