//! Commit links against a real page service on loopback: many sessions share one link, a
//! malformed link is dropped without touching others, and a link broken by a storage restart
//! reports the commits in flight as unavailable and reconnects for the next commit.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use borealis_pageservice::{serve, RemotePageStore};
use borealis_pagestore::{CommitError, LocalPageStore, PageStore, StoreOptions};
use borealis_rpc::frame::{HEADER_BYTES, LINK_MAGIC};

mod support;
use support::write;

const PAGE: usize = 4096;

fn options() -> StoreOptions {
    StoreOptions {
        page_size: PAGE,
        fsync: false,
        ..StoreOptions::default()
    }
}

/// Read until the server closes the connection; true if it did within `wait`.
fn closed_by_server(mut stream: TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 64];
    // Bounded: each read waits at most `wait`, and a closed stream returns 0 at once.
    for _ in 0..100 {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
    false
}

#[test]
fn concurrent_sessions_share_one_link_and_each_gets_its_own_reply() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalPageStore::open(dir.path(), options()).unwrap();
    let handle = serve(store, "127.0.0.1:0".parse().unwrap()).unwrap();
    let client =
        RemotePageStore::connect(&handle.local_addr().to_string(), Duration::from_secs(5)).unwrap();
    // The database's size is set first; then page k is written only by thread k: no
    // conflicts, so every commit must succeed.
    client.commit(write(0, 10, 10, 0, 1)).unwrap();
    let threads: Vec<_> = (0..8u32)
        .map(|k| {
            let client = client.clone();
            std::thread::spawn(move || {
                let mut lsns = Vec::new();
                for i in 0..50u8 {
                    let snapshot = client.latest_lsn();
                    let receipt = client
                        .commit_merging(write(snapshot, 10, k + 2, i, 1))
                        .unwrap();
                    // The LSN is this commit's: the page as of it holds this commit's byte.
                    let page = client.read_page(k + 2, receipt.lsn).unwrap();
                    assert_eq!(page.lsn, receipt.lsn, "someone else's reply");
                    assert_eq!(page.data[100], i, "someone else's reply");
                    lsns.push(receipt.lsn);
                }
                lsns
            })
        })
        .collect();
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 400, "every commit got its own LSN");
    assert_eq!(*all.first().unwrap(), 2);
    assert_eq!(*all.last().unwrap(), 401);
    for k in 0..8u32 {
        let page = client.read_page(k + 2, client.latest_lsn()).unwrap();
        assert_eq!(&page.data[100..108], &[49; 8], "page {}", k + 2);
    }
}

#[test]
fn a_malformed_link_is_dropped_and_other_clients_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalPageStore::open(dir.path(), options()).unwrap();
    let handle = serve(store, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = handle.local_addr();
    let client = RemotePageStore::connect(&addr.to_string(), Duration::from_secs(5)).unwrap();
    let l1 = client.commit(write(0, 3, 2, 1, 1)).unwrap();

    // A frame claiming 4 GiB.
    let mut huge = TcpStream::connect(addr).unwrap();
    huge.write_all(&LINK_MAGIC).unwrap();
    let mut header = [0u8; HEADER_BYTES];
    header[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    huge.write_all(&header).unwrap();
    assert!(closed_by_server(huge, Duration::from_secs(5)));

    // A payload that is not a commit request.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage.write_all(&LINK_MAGIC).unwrap();
    garbage.write_all(&3u32.to_le_bytes()).unwrap();
    garbage.write_all(&1u64.to_le_bytes()).unwrap();
    garbage.write_all(&[0xff, 0xff, 0xff]).unwrap();
    assert!(closed_by_server(garbage, Duration::from_secs(5)));

    // The right first byte, the wrong magic.
    let mut wrong = TcpStream::connect(addr).unwrap();
    wrong.write_all(b"BOGUS!!!").unwrap();
    assert!(closed_by_server(wrong, Duration::from_secs(5)));

    // A write set the store refuses (a delta beyond the page) is an answer, not a break.
    let mut bad = write(l1, 3, 2, 2, 1);
    bad.deltas[0].ranges[0].offset = PAGE as u32;
    assert!(matches!(client.commit(bad), Err(CommitError::Invalid(_))));

    let l2 = client.commit(write(l1, 3, 2, 3, 1)).unwrap();
    assert!(l2 > l1);
    assert_eq!(client.read_page(2, l2).unwrap().data[100], 3);
}

#[test]
fn a_restarted_page_service_breaks_the_link_and_the_next_commit_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalPageStore::open(dir.path(), options()).unwrap();
    let handle = serve(store.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = handle.local_addr();
    let client = RemotePageStore::connect(&addr.to_string(), Duration::from_secs(5)).unwrap();
    let l1 = client.commit(write(0, 3, 2, 1, 1)).unwrap();

    handle.shutdown();
    // Nobody listens: the commit is not sent, and says so.
    match client.commit(write(l1, 3, 2, 2, 1)) {
        Err(CommitError::Unavailable(reason)) => {
            assert!(reason.contains("page service"), "{reason}")
        }
        other => panic!("expected unavailable, got {other:?}"),
    }

    let handle = serve(store, addr).unwrap();
    let l2 = client.commit(write(l1, 3, 2, 3, 1)).unwrap();
    assert_eq!(l2, l1 + 1, "the refused commit never reached the store");
    drop(handle);
}
