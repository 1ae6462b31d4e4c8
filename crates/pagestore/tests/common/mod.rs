//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use borealis_pagestore::*;

pub const PAGE: usize = 512;

/// Options for fast tests: small pages, no fsync, no background checkpoints.
pub fn test_opts() -> StoreOptions {
    StoreOptions {
        page_size: PAGE,
        fsync: false,
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_log_bytes: u64::MAX,
        ..StoreOptions::default()
    }
}

pub fn open(dir: &Path) -> Arc<LocalPageStore> {
    LocalPageStore::open(dir, test_opts()).unwrap()
}

/// A delta writing `bytes` at `offset` of `page_no`.
pub fn delta(page_no: PageNo, offset: u32, bytes: &[u8]) -> PageDelta {
    PageDelta {
        page_no,
        ranges: vec![ByteRange {
            offset,
            bytes: bytes.to_vec(),
        }],
    }
}

pub fn ws(snapshot: Lsn, db_pages: u32, deltas: Vec<PageDelta>, origin: Origin) -> WriteSet {
    WriteSet {
        snapshot,
        db_pages,
        deltas,
        locked_pages: vec![],
        guard_pages: vec![],
        origin,
    }
}

/// Total bytes of all files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            dir_bytes(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}
