//! The store's leaf merge as a committer sees it: a row added at the end of a leaf page that a
//! newer commit also changed merges only while the interior pages the transaction read (its
//! guard pages) are unchanged.

mod common;

use borealis_pagestore::*;
use common::*;

const TABLE_LEAF: u8 = 0x0D;

fn varint(mut v: u64) -> Vec<u8> {
    assert!(v < 1 << 56, "small values only");
    let mut groups = vec![(v & 0x7F) as u8];
    v >>= 7;
    while v > 0 {
        groups.push(((v & 0x7F) as u8) | 0x80);
        v >>= 7;
    }
    groups.reverse();
    groups
}

/// A table leaf of `PAGE` bytes holding `(rowid, payload)` rows in order, packed from the end.
fn leaf(rows: &[(u64, &[u8])]) -> Vec<u8> {
    let mut page = vec![0u8; PAGE];
    page[0] = TABLE_LEAF;
    page[3..5].copy_from_slice(&(rows.len() as u16).to_be_bytes());
    let mut top = PAGE;
    for (i, (rowid, payload)) in rows.iter().enumerate() {
        let mut cell = varint(payload.len() as u64);
        cell.extend(varint(*rowid));
        cell.extend_from_slice(payload);
        top -= cell.len().max(4);
        page[top..top + cell.len()].copy_from_slice(&cell);
        page[8 + 2 * i..10 + 2 * i].copy_from_slice(&(top as u16).to_be_bytes());
    }
    page[5..7].copy_from_slice(&(top as u16).to_be_bytes());
    page
}

/// A delta turning `from` into `to` (both whole pages).
fn change(page_no: PageNo, to: &[u8]) -> PageDelta {
    delta(page_no, 0, to)
}

const ROWS: [(u64, &[u8]); 4] = [(10, b"a"), (20, b"b"), (30, b"c"), (40, b"d")];

/// A store with page 2 a leaf of `ROWS` and page 3 standing for its parent; returns the LSN.
fn setup(dir: &std::path::Path) -> (std::sync::Arc<LocalPageStore>, Lsn) {
    let store = open(dir);
    let lsn = store
        .commit(ws(
            0,
            3,
            vec![change(2, &leaf(&ROWS)), delta(3, 0, &[0x05])],
            1,
        ))
        .expect("setup commit");
    (store, lsn)
}

/// Theirs: row 20 updated in place. Mine (same snapshot): row 50 appended at the page's end.
fn race(
    store: &LocalPageStore,
    snapshot: Lsn,
    guards: Vec<PageNo>,
) -> Result<CommitReceipt, CommitError> {
    race_with_image(store, snapshot, guards, GivenImage::None)
}

/// What [`race_with_image`] commits along with mine's delta.
#[derive(Clone, Copy, Debug)]
enum GivenImage {
    None,
    /// Mine's page, as an in-process engine gives it.
    Right,
    /// A page that does not hold mine's delta: the store must not use it.
    Wrong,
}

/// [`race`], mine committed with the page image `given`.
fn race_with_image(
    store: &LocalPageStore,
    snapshot: Lsn,
    guards: Vec<PageNo>,
    given: GivenImage,
) -> Result<CommitReceipt, CommitError> {
    let mut theirs_rows = ROWS;
    theirs_rows[1] = (20, b"B");
    store
        .commit(ws(snapshot, 3, vec![change(2, &leaf(&theirs_rows))], 2))
        .expect("theirs commits");
    let mut mine_rows = ROWS.to_vec();
    mine_rows.push((50, b"e"));
    let my_page = leaf(&mine_rows);
    let mut mine = ws(snapshot, 3, vec![change(2, &my_page)], 1);
    mine.guard_pages = guards;
    match given {
        GivenImage::None => store.commit_merging(mine),
        GivenImage::Right => store.commit_merging_with_images(mine, vec![Some(my_page.into())]),
        GivenImage::Wrong => {
            let wrong = leaf(&[(10, b"x")]);
            store.commit_merging_with_images(mine, vec![Some(wrong.into())])
        }
    }
}

#[test]
fn a_merge_is_the_same_whatever_image_the_committer_gives() {
    let expected = leaf(&[(10, b"a"), (20, b"B"), (30, b"c"), (40, b"d"), (50, b"e")]);
    for given in [GivenImage::None, GivenImage::Right, GivenImage::Wrong] {
        let dir = tempfile::tempdir().unwrap();
        let (store, snapshot) = setup(dir.path());
        let receipt = race_with_image(&store, snapshot, vec![3], given).expect("merged");
        assert_eq!(receipt.merged.len(), 1, "page 2 was merged");
        let page = store.read_page(2, receipt.lsn).unwrap().data;
        assert_eq!(&page[..], &expected[..], "given: {given:?}");
        // The logged delta rebuilds the same page from theirs (what replicas and recovery do).
        drop(store);
        let reopened = open(dir.path());
        let replayed = reopened.read_page(2, receipt.lsn).unwrap().data;
        assert_eq!(
            &replayed[..],
            &expected[..],
            "after replay, given: {given:?}"
        );
    }
}

#[test]
fn a_row_added_at_a_page_end_merges_while_the_guards_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (store, snapshot) = setup(dir.path());
    let receipt = race(&store, snapshot, vec![3]).expect("merged");
    assert_eq!(receipt.merged.len(), 1, "page 2 was merged");
    let page = store.read_page(2, receipt.lsn).unwrap().data;
    let expected = leaf(&[(10, b"a"), (20, b"B"), (30, b"c"), (40, b"d"), (50, b"e")]);
    assert_eq!(&page[..], &expected[..]);
}

#[test]
fn a_changed_guard_page_refuses_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    let (store, snapshot) = setup(dir.path());
    // The parent changes after the snapshot (a split elsewhere moved a divider).
    store
        .commit(ws(snapshot, 3, vec![delta(3, 1, &[7])], 3))
        .expect("parent changes");
    match race(&store, snapshot, vec![3]) {
        Err(CommitError::Conflict(c)) => assert_eq!(c.page_no, 2),
        other => panic!("expected a conflict on page 2, got {other:?}"),
    }
}

#[test]
fn a_volume_with_reserved_bytes_per_page_never_merges() {
    // Page 1's header byte 20 reserves bytes at each page's end, which the leaf parser does
    // not account for. The store knows it after the commit that set it, after a replay of that
    // commit, and after a checkpoint moved page 1 to the base; with no bytes reserved, the
    // same race merges.
    for reserved in [0u8, 8] {
        for restart in ["none", "replay", "checkpoint"] {
            let dir = tempfile::tempdir().unwrap();
            let (store, _) = setup(dir.path());
            store
                .commit(ws(1, 3, vec![delta(1, 20, &[reserved, 1])], 1))
                .expect("set the reserved bytes");
            let store = match restart {
                "none" => store,
                "replay" => {
                    drop(store);
                    open(dir.path())
                }
                _ => {
                    store.checkpoint_now().unwrap();
                    drop(store);
                    open(dir.path())
                }
            };
            let snapshot = store.latest_lsn();
            let result = race(&store, snapshot, vec![3]);
            match (reserved, result) {
                (0, Ok(receipt)) => assert_eq!(receipt.merged.len(), 1, "restart: {restart}"),
                (8, Err(CommitError::Conflict(c))) => {
                    assert_eq!(c.page_no, 2, "restart: {restart}")
                }
                (_, other) => panic!("reserved {reserved}, restart {restart}: got {other:?}"),
            }
        }
    }
}
