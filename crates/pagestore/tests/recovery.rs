//! Crash recovery: torn tails are discarded, corruption in the middle is detected.

mod common;

use std::path::{Path, PathBuf};

use borealis_pagestore::record::{self, Decoded};
use borealis_pagestore::*;
use common::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.metadata().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Offsets where each record of `bytes` ends.
fn record_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut off = 0;
    while let Decoded::Record { len, .. } = record::decode(&bytes[off..]) {
        off += len;
        ends.push(off);
    }
    assert_eq!(off, bytes.len());
    ends
}

/// A store with `n` commits, each writing `[lsn as u8; 3]` to page 1 + lsn % 3.
fn build(dir: &Path, n: u64) {
    let s = open(dir);
    for lsn in 1..=n {
        let page = 1 + (lsn % 3) as u32;
        s.commit(ws(lsn - 1, 3, vec![delta(page, 7, &[lsn as u8; 3])], 1))
            .unwrap();
    }
}

fn check_prefix(s: &LocalPageStore, n: u64) {
    assert_eq!(s.latest_lsn(), n);
    for page in 1..=3u32 {
        let expected = (1..=n)
            .rev()
            .find(|l| 1 + (l % 3) as u32 == page)
            .unwrap_or(0);
        let v = s.read_page(page, n).unwrap();
        assert_eq!((v.lsn, v.data[8]), (expected, expected as u8));
    }
}

#[test]
fn truncated_tail_at_every_offset_recovers_complete_records() {
    let src = tempfile::tempdir().unwrap();
    build(src.path(), 12);
    let seg = segments(src.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let ends = record_ends(&bytes);
    assert_eq!(ends.len(), 12);
    for cut in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        let work = tempfile::tempdir().unwrap();
        copy_dir(src.path(), work.path());
        let seg = segments(work.path()).pop().unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(cut as u64)
            .unwrap();
        let complete = ends.iter().filter(|&&e| e <= cut).count() as u64;
        let s = open(work.path());
        assert!(complete >= 1 || s.latest_lsn() == 0);
        if complete > 0 {
            check_prefix(&s, complete);
        }
        // The store keeps working after the truncation, and the new commit survives a reopen.
        s.commit(ws(complete, 3, vec![delta(1, 0, b"new")], 2))
            .unwrap();
        drop(s);
        let s = open(work.path());
        assert_eq!(s.latest_lsn(), complete + 1);
        assert_eq!(&s.read_page(1, complete + 1).unwrap().data[..3], b"new");
    }
}

#[test]
fn zero_filled_tail_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 5);
    let seg = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len + 4096)
        .unwrap();
    let s = open(dir.path());
    check_prefix(&s, 5);
}

#[test]
fn corrupt_record_in_the_middle_is_detected() {
    let src = tempfile::tempdir().unwrap();
    build(src.path(), 6);
    let seg = segments(src.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let ends = record_ends(&bytes);
    // Flip one byte inside record 3 (payload or header): records 4..6 stay valid after it.
    for pos in [ends[1] + 2, ends[1] + 9, ends[1] + 20, ends[2] - 1] {
        let mut damaged = bytes.clone();
        damaged[pos] ^= 0x40;
        let work = tempfile::tempdir().unwrap();
        copy_dir(src.path(), work.path());
        std::fs::write(segments(work.path()).pop().unwrap(), &damaged).unwrap();
        match LocalPageStore::open(work.path(), test_opts()) {
            Err(StoreError::Corrupt(msg)) => {
                assert!(msg.contains(".seg"), "{msg}");
                assert!(msg.contains(&format!("offset {}", ends[1])), "{msg}");
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("flip at {pos} not detected"),
        }
    }
}

#[test]
fn lsn_gaps_between_segments_are_detected() {
    let src = tempfile::tempdir().unwrap();
    {
        let s = open(src.path());
        for lsn in 1..=10u64 {
            s.commit(ws(lsn - 1, 1, vec![delta(1, 0, &[lsn as u8])], 1))
                .unwrap();
        }
        let pin = s.pin(5).unwrap();
        s.checkpoint_now().unwrap(); // horizon 5: segment 1..=10 stays, a new one starts at 11
        for lsn in 11..=15u64 {
            s.commit(ws(lsn - 1, 1, vec![delta(1, 0, &[lsn as u8])], 1))
                .unwrap();
        }
        drop(pin);
    }
    assert_eq!(segments(src.path()).len(), 2);
    // Intact: everything is there.
    let s = open(src.path());
    assert_eq!(s.read_page(1, 15).unwrap().data[0], 15);
    assert_eq!(s.read_page(1, 7).unwrap().data[0], 7);
    drop(s);
    // Missing first segment: the log starts after the checkpoint.
    let work = tempfile::tempdir().unwrap();
    copy_dir(src.path(), work.path());
    std::fs::remove_file(&segments(work.path())[0]).unwrap();
    assert!(matches!(
        LocalPageStore::open(work.path(), test_opts()),
        Err(StoreError::Corrupt(_))
    ));
    // A renamed segment leaves a gap.
    let work = tempfile::tempdir().unwrap();
    copy_dir(src.path(), work.path());
    let second = segments(work.path())[1].clone();
    std::fs::rename(&second, second.with_file_name(format!("{:020}.seg", 12))).unwrap();
    assert!(matches!(
        LocalPageStore::open(work.path(), test_opts()),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn log_write_failure_fails_commits_but_keeps_reads() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.commit(ws(0, 1, vec![delta(1, 0, b"ok")], 1)).unwrap();
    s.inject_log_write_failure();
    assert!(matches!(
        s.commit(ws(1, 1, vec![delta(1, 0, b"no")], 1)),
        Err(CommitError::LogFailed(_))
    ));
    assert!(matches!(
        s.commit(ws(1, 1, vec![delta(1, 4, b"no")], 1)),
        Err(CommitError::LogFailed(_))
    ));
    assert_eq!(s.latest_lsn(), 1);
    assert_eq!(&s.read_page(1, 1).unwrap().data[..2], b"ok");
    assert!(s.checkpoint_now().is_err());
    drop(s);
    let s = open(dir.path());
    assert_eq!(s.latest_lsn(), 1);
    s.commit(ws(1, 1, vec![delta(1, 0, b"again")], 1)).unwrap();
}

/// Options of a store that syncs, so its log segments are preallocated.
fn syncing_opts() -> StoreOptions {
    StoreOptions {
        fsync: true,
        ..test_opts()
    }
}

/// [`build`] on a syncing store.
fn build_syncing(dir: &Path, from: u64, to: u64) {
    let s = LocalPageStore::open(dir, syncing_opts()).unwrap();
    assert_eq!(s.latest_lsn(), from);
    for lsn in from + 1..=to {
        let page = 1 + (lsn % 3) as u32;
        s.commit(ws(lsn - 1, 3, vec![delta(page, 7, &[lsn as u8; 3])], 1))
            .unwrap();
    }
}

/// Where the records of a segment end: the rest of the file is zeros.
fn records_end(bytes: &[u8]) -> usize {
    let mut off = 0;
    while let Decoded::Record { len, .. } = record::decode(&bytes[off..]) {
        off += len;
    }
    assert!(
        bytes[off..].iter().all(|&b| b == 0),
        "zeros after the records"
    );
    off
}

#[test]
fn preallocated_segments_reopen_and_continue() {
    let dir = tempfile::tempdir().unwrap();
    build_syncing(dir.path(), 0, 5);
    let seg = segments(dir.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let end = records_end(&bytes);
    assert!(
        bytes.len() > end,
        "the segment is preallocated past its records"
    );
    // Written, not a hole: later fdatasyncs must not have to allocate blocks (see log.rs).
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&seg).unwrap();
    assert!(
        meta.blocks() * 512 >= meta.len(),
        "preallocated space is on disk"
    );
    // Reopened, the store appends after the last record, not after the zeros.
    build_syncing(dir.path(), 5, 9);
    let bytes = std::fs::read(&seg).unwrap();
    assert!(records_end(&bytes) > end);
    let s = LocalPageStore::open(dir.path(), syncing_opts()).unwrap();
    check_prefix(&s, 9);
    // A checkpoint starts a new segment; the old one keeps its zeros and still reads.
    s.checkpoint_now().unwrap();
    drop(s);
    build_syncing(dir.path(), 9, 12);
    let s = LocalPageStore::open(dir.path(), syncing_opts()).unwrap();
    check_prefix(&s, 12);
}

#[test]
fn torn_record_in_preallocated_space_is_discarded() {
    let src = tempfile::tempdir().unwrap();
    build_syncing(src.path(), 0, 4);
    let seg = segments(src.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let end = records_end(&bytes);
    let last = record_ends(&bytes[..end]);
    let record = &bytes[last[2]..end]; // the fourth record
                                       // Part of a fifth record written into the zeros, then the crash.
    for cut in [1, 4, record.len() / 2, record.len() - 1] {
        let work = tempfile::tempdir().unwrap();
        copy_dir(src.path(), work.path());
        let seg = segments(work.path()).pop().unwrap();
        let mut damaged = bytes.clone();
        damaged[end..end + cut].copy_from_slice(&record[..cut]);
        std::fs::write(&seg, &damaged).unwrap();
        let s = LocalPageStore::open(work.path(), syncing_opts()).unwrap();
        check_prefix(&s, 4);
        s.commit(ws(4, 3, vec![delta(1, 0, b"new")], 2)).unwrap();
        drop(s);
        let s = LocalPageStore::open(work.path(), syncing_opts()).unwrap();
        assert_eq!(s.latest_lsn(), 5);
    }
}

#[test]
fn a_corrupt_base_page_one_is_reported_at_open() {
    // The store reads page 1 of the base when it opens (for the bytes reserved per page):
    // a stored image that fails its checksum is an error then, never a silent 0.
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.commit(ws(0, 1, vec![delta(1, 0, &[7; 32])], 1)).unwrap();
        s.checkpoint_now().unwrap();
    }
    const PAGES: redb::TableDefinition<u32, &[u8]> = redb::TableDefinition::new("pages");
    use redb::ReadableTable;
    let db = redb::Database::create(dir.path().join("pages.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(PAGES).unwrap();
        let mut stored = table
            .get(1)
            .unwrap()
            .expect("page 1 checkpointed")
            .value()
            .to_vec();
        let last = stored.len() - 1;
        stored[last] ^= 0x40; // a byte of the image: the stored CRC no longer matches
        table.insert(1, stored.as_slice()).unwrap();
    }
    txn.commit().unwrap();
    drop(db);
    match LocalPageStore::open(dir.path(), test_opts()) {
        Err(StoreError::Corrupt(msg)) => assert!(msg.contains("page 1"), "{msg}"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a corrupt page 1 in the base was not reported"),
    }
}
