//! Unit tests of `merge_leaf` on hand-built pages.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// SQLite varint encoding of `v`.
fn varint(v: u64) -> Vec<u8> {
    if v > 0x00FF_FFFF_FFFF_FFFF {
        let mut out = Vec::with_capacity(9);
        let high = v >> 8;
        for i in (0..8).rev() {
            out.push((((high >> (7 * i)) & 0x7F) as u8) | 0x80);
        }
        out.push(v as u8);
        return out;
    }
    let mut groups = vec![(v & 0x7F) as u8];
    let mut rest = v >> 7;
    while rest > 0 {
        groups.push(((rest & 0x7F) as u8) | 0x80);
        rest >>= 7;
    }
    groups.reverse();
    groups
}

/// A table leaf cell: payload size, rowid, payload (no overflow).
fn table_cell(rowid: i64, payload: &[u8]) -> Vec<u8> {
    let mut cell = varint(payload.len() as u64);
    cell.extend(varint(rowid as u64));
    cell.extend_from_slice(payload);
    cell
}

/// An index leaf cell: payload size, payload.
fn index_cell(payload: &[u8]) -> Vec<u8> {
    let mut cell = varint(payload.len() as u64);
    cell.extend_from_slice(payload);
    cell
}

/// A page of type `kind` holding `cells` packed like `build_page` does (first cell highest).
fn page(kind: u8, size: usize, cells: &[Vec<u8>]) -> Vec<u8> {
    let mut page = vec![0u8; size];
    page[0] = kind;
    page[3..5].copy_from_slice(&(cells.len() as u16).to_be_bytes());
    let mut top = size;
    for (i, cell) in cells.iter().enumerate() {
        top -= cell.len().max(MIN_CELL);
        page[top..top + cell.len()].copy_from_slice(cell);
        page[8 + 2 * i..10 + 2 * i].copy_from_slice(&(top as u16).to_be_bytes());
    }
    page[5..7].copy_from_slice(&((top % 65536) as u16).to_be_bytes());
    page
}

/// A table leaf of `size` bytes from (rowid, payload) rows in rowid order.
fn table_page(size: usize, rows: &BTreeMap<i64, Vec<u8>>) -> Vec<u8> {
    let cells: Vec<Vec<u8>> = rows.iter().map(|(r, p)| table_cell(*r, p)).collect();
    page(TABLE_LEAF, size, &cells)
}

/// Rows 10, 20, …, 10·n with payload "row{rowid}".
fn rows(n: i64) -> BTreeMap<i64, Vec<u8>> {
    (1..=n)
        .map(|i| (i * 10, format!("row{}", i * 10).into_bytes()))
        .collect()
}

/// Rows after `edit`.
fn edited(
    base: &BTreeMap<i64, Vec<u8>>,
    edit: impl FnOnce(&mut BTreeMap<i64, Vec<u8>>),
) -> BTreeMap<i64, Vec<u8>> {
    let mut rows = base.clone();
    edit(&mut rows);
    rows
}

/// Merge three row maps as 4 KiB table leaves of page 7.
fn merge_rows(
    base: &BTreeMap<i64, Vec<u8>>,
    mine: &BTreeMap<i64, Vec<u8>>,
    theirs: &BTreeMap<i64, Vec<u8>>,
) -> Option<Vec<u8>> {
    merge_leaf(
        &table_page(4096, base),
        &table_page(4096, mine),
        &table_page(4096, theirs),
        7,
    )
}

/// [`merge_rows`] with a key range, saying why it refuses.
fn explain_rows(
    base: &BTreeMap<i64, Vec<u8>>,
    mine: &BTreeMap<i64, Vec<u8>>,
    theirs: &BTreeMap<i64, Vec<u8>>,
    range: KeyRange,
) -> Result<Vec<u8>, Refusal> {
    merge_leaf_explained(
        &table_page(4096, base),
        &table_page(4096, mine),
        &table_page(4096, theirs),
        7,
        range,
    )
    .map(|page| page.to_vec())
}

#[test]
fn disjoint_updates_merge() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.insert(30, b"mine!".to_vec());
    });
    let theirs = edited(&base, |r| {
        r.insert(150, b"theirs, longer".to_vec());
    });
    let merged = merge_rows(&base, &mine, &theirs).expect("disjoint updates merge");
    let expected = edited(&mine, |r| {
        r.insert(150, b"theirs, longer".to_vec());
    });
    assert_eq!(merged, table_page(4096, &expected));
}

#[test]
fn disjoint_insert_delete_and_update_merge() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.remove(&50);
        r.insert(101, b"new".to_vec());
    });
    let theirs = edited(&base, |r| {
        r.insert(75, b"ins".to_vec());
        r.insert(200, b"upd".to_vec());
    });
    let merged = merge_rows(&base, &mine, &theirs).expect("merges");
    let expected = edited(&mine, |r| {
        r.insert(75, b"ins".to_vec());
        r.insert(200, b"upd".to_vec());
    });
    assert_eq!(merged, table_page(4096, &expected));
}

#[test]
fn one_side_unchanged_gives_the_other() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.remove(&50);
        r.insert(55, b"moved".to_vec());
    });
    let merged = merge_rows(&base, &mine, &base).expect("merges");
    assert_eq!(merged, table_page(4096, &mine));
}

#[test]
fn same_row_update_conflicts() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.insert(60, b"mine".to_vec());
    });
    let theirs = edited(&base, |r| {
        r.insert(60, b"theirs".to_vec());
    });
    assert_eq!(merge_rows(&base, &mine, &theirs), None);
    // Even the same new bytes on both sides: both hunks cover the row.
    assert_eq!(merge_rows(&base, &mine, &mine), None);
}

#[test]
fn insert_next_to_a_delete_merges_inside_the_page() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.remove(&50);
    });
    for inserted in [45, 55, 65] {
        let theirs = edited(&base, |r| {
            r.insert(inserted, b"x".to_vec());
        });
        let expected = table_page(
            4096,
            &edited(&mine, |r| {
                r.insert(inserted, b"x".to_vec());
            }),
        );
        assert_eq!(
            merge_rows(&base, &mine, &theirs),
            Some(expected.clone()),
            "insert {inserted}"
        );
        assert_eq!(
            merge_rows(&base, &theirs, &mine),
            Some(expected),
            "insert {inserted}"
        );
    }
}

#[test]
fn touching_changes_at_a_page_end_conflict() {
    let base = rows(20);
    // The first and the last row removed (a rebalance may have moved that key range), a row
    // added right next to it.
    for (removed, inserted) in [(10, 15), (200, 195)] {
        let mine = edited(&base, |r| {
            r.remove(&removed);
        });
        let theirs = edited(&base, |r| {
            r.insert(inserted, b"x".to_vec());
        });
        let explain = |a: &BTreeMap<i64, Vec<u8>>, b: &BTreeMap<i64, Vec<u8>>| {
            explain_rows(&base, a, b, KeyRange::MayHaveMoved).err()
        };
        assert_eq!(
            explain(&mine, &theirs),
            Some(Refusal::Adjacent),
            "{removed}/{inserted}"
        );
        assert_eq!(
            explain(&theirs, &mine),
            Some(Refusal::Adjacent),
            "{removed}/{inserted}"
        );
    }
}

#[test]
fn rows_both_insert_at_one_gap_merge_in_rowid_order() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.insert(53, b"m".to_vec());
        r.insert(51, b"m".to_vec());
    });
    let theirs = edited(&base, |r| {
        r.insert(52, b"t".to_vec());
    });
    let expected = table_page(
        4096,
        &edited(&mine, |r| {
            r.insert(52, b"t".to_vec());
        }),
    );
    assert_eq!(merge_rows(&base, &mine, &theirs), Some(expected.clone()));
    assert_eq!(merge_rows(&base, &theirs, &mine), Some(expected));
    // The same new rowid on both sides is refused.
    let same = edited(&base, |r| {
        r.insert(52, b"m".to_vec());
    });
    assert_eq!(merge_rows(&base, &same, &theirs), None);
}

#[test]
fn appends_to_the_last_leaf_merge_when_the_key_range_is_unchanged() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.insert(202, b"m".to_vec());
    });
    let theirs = edited(&base, |r| {
        r.insert(201, b"t".to_vec());
        r.insert(203, b"t".to_vec());
    });
    let merge = |range| explain_rows(&base, &mine, &theirs, range);
    assert_eq!(merge(KeyRange::MayHaveMoved), Err(Refusal::AtPageEnd));
    let expected = edited(&theirs, |r| {
        r.insert(202, b"m".to_vec());
    });
    // Merged in place (theirs' layout), so compared row by row.
    let merged = merge(KeyRange::Unchanged).expect("merges");
    assert_eq!(rows_of(&merged), rows_of(&table_page(4096, &expected)));
}

#[test]
fn index_entries_both_added_at_one_spot_conflict() {
    // Entries both sides add between the same two entries: no order the merge can know.
    let entries: Vec<Vec<u8>> = (0..20u8).map(|i| index_cell(&[b'k', i * 4])).collect();
    let with = |extra: u8| {
        let mut cells = entries.clone();
        cells.insert(6, index_cell(&[b'k', extra]));
        page(INDEX_LEAF, 4096, &cells)
    };
    let base_page = page(INDEX_LEAF, 4096, &entries);
    assert_eq!(
        merge_leaf_explained(&base_page, &with(21), &with(22), 9, KeyRange::MayHaveMoved).err(),
        Some(Refusal::Adjacent)
    );
}

#[test]
fn index_entry_moved_next_to_another_removed_entry_merges() {
    // Entries k0, k4, …, k76. Mine moves k20 to k21 (an UPDATE of the indexed column); theirs
    // removes k24, the entry right after it.
    let key = |k: u8| index_cell(&[b'k', k]);
    let base_cells: Vec<Vec<u8>> = (0..20u8).map(|i| key(i * 4)).collect();
    let mut mine_cells = base_cells.clone();
    mine_cells[5] = key(21);
    let mut theirs_cells = base_cells.clone();
    theirs_cells.remove(6);
    let base = page(INDEX_LEAF, 4096, &base_cells);
    let merged = merge_leaf(
        &base,
        &page(INDEX_LEAF, 4096, &mine_cells),
        &page(INDEX_LEAF, 4096, &theirs_cells),
        9,
    )
    .expect("merges");
    let mut expected = mine_cells.clone();
    expected.remove(6);
    assert_eq!(merged, page(INDEX_LEAF, 4096, &expected));
}

#[test]
fn adjacent_updates_in_place_merge_and_next_to_a_delete_too() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.insert(50, b"m".to_vec());
    });
    let theirs = edited(&base, |r| {
        r.insert(60, b"t".to_vec());
    });
    let merged = merge_rows(&base, &mine, &theirs).expect("neighbouring updates in place merge");
    let expected = edited(&mine, |r| {
        r.insert(60, b"t".to_vec());
    });
    assert_eq!(merged, table_page(4096, &expected));
    // An update next to the other side's delete inside the page: no key range moved.
    let deleted = edited(&base, |r| {
        r.remove(&60);
    });
    let expected = table_page(
        4096,
        &edited(&mine, |r| {
            r.remove(&60);
        }),
    );
    assert_eq!(merge_rows(&base, &mine, &deleted), Some(expected.clone()));
    assert_eq!(merge_rows(&base, &deleted, &mine), Some(expected));
}

#[test]
fn interior_and_mixed_types_refused() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.insert(30, b"m".to_vec());
    });
    let mut interior = table_page(4096, &base);
    interior[0] = 0x05;
    let leaf = table_page(4096, &base);
    let mine_page = table_page(4096, &mine);
    assert_eq!(merge_leaf(&interior, &mine_page, &leaf, 7), None);
    let mut index_interior = leaf.clone();
    index_interior[0] = 0x02;
    assert_eq!(merge_leaf(&leaf, &mine_page, &index_interior, 7), None);
    let mut as_index = leaf.clone();
    as_index[0] = INDEX_LEAF;
    assert_eq!(merge_leaf(&leaf, &mine_page, &as_index, 7), None);
}

#[test]
fn page_one_and_length_mismatch_refused() {
    let base = rows(20);
    let mine = table_page(
        4096,
        &edited(&base, |r| {
            r.insert(30, b"m".to_vec());
        }),
    );
    let base = table_page(4096, &base);
    assert!(merge_leaf(&base, &mine, &base, 2).is_some());
    assert_eq!(merge_leaf(&base, &mine, &base, 1), None);
    assert_eq!(merge_leaf(&base, &mine[..4095], &base, 2), None);
    let small = vec![0u8; 100];
    assert_eq!(merge_leaf(&small, &small, &small, 2), None);
}

#[test]
fn merged_page_too_full_refused() {
    let size = 1024;
    let base = rows(4);
    let big = vec![b'x'; 500];
    let mine = edited(&base, |r| {
        r.insert(15, big.clone());
    });
    let theirs = edited(&base, |r| {
        r.insert(35, big.clone());
    });
    // Each side fits alone, together they do not.
    let both = edited(&mine, |r| {
        r.insert(35, big.clone());
    });
    let content: usize = both.iter().map(|(r, p)| table_cell(*r, p).len()).sum();
    assert!(8 + 2 * both.len() + content > size);
    let (b, m, t) = (
        table_page(size, &base),
        table_page(size, &mine),
        table_page(size, &theirs),
    );
    assert_eq!(merge_leaf(&b, &m, &t, 3), None);
    // With smaller inserts the same layout merges.
    let small = edited(&base, |r| {
        r.insert(35, vec![b'y'; 100]);
    });
    assert!(merge_leaf(&b, &m, &table_page(size, &small), 3).is_some());
}

#[test]
fn index_leaf_disjoint_inserts_merge() {
    let entries: Vec<Vec<u8>> = (0..30u8)
        .map(|i| index_cell(&[3, 0x17, b'a' + i % 26, i]))
        .collect();
    let base = page(INDEX_LEAF, 4096, &entries);
    let mut mine_cells = entries.clone();
    mine_cells.insert(5, index_cell(&[3, 0x17, b'f', 200]));
    let mut theirs_cells = entries.clone();
    theirs_cells.remove(20);
    let mine = page(INDEX_LEAF, 4096, &mine_cells);
    let theirs = page(INDEX_LEAF, 4096, &theirs_cells);
    let merged = merge_leaf(&base, &mine, &theirs, 9).expect("merges");
    let mut expected = mine_cells.clone();
    expected.remove(21);
    assert_eq!(merged, page(INDEX_LEAF, 4096, &expected));
    // The same entry inserted on both sides conflicts.
    assert_eq!(merge_leaf(&base, &mine, &mine, 9), None);
}

/// A table cell whose payload spills: 5000 bytes on a 4 KiB page.
fn overflow_cell(rowid: i64, first_overflow_page: u32) -> Vec<u8> {
    let payload = 5000u64;
    let usable = 4096usize;
    let local = spilled_local(payload, usable - 35, usable).unwrap();
    let mut cell = varint(payload);
    cell.extend(varint(rowid as u64));
    cell.extend(std::iter::repeat_n(b'o', local));
    cell.extend_from_slice(&first_overflow_page.to_be_bytes());
    cell
}

#[test]
fn changed_overflow_cells_refused_unchanged_kept() {
    let small: Vec<Vec<u8>> = (1..=10).map(|r| table_cell(r * 10, b"small")).collect();
    let with_overflow = |cell: Vec<u8>| {
        let mut cells = small.clone();
        cells.insert(5, cell);
        cells
    };
    let base = page(TABLE_LEAF, 4096, &with_overflow(overflow_cell(55, 40)));
    let mut theirs_cells = with_overflow(overflow_cell(55, 40));
    theirs_cells[10] = table_cell(100, b"SMALL");
    let theirs = page(TABLE_LEAF, 4096, &theirs_cells);
    // Unchanged overflow cell, disjoint change elsewhere: merges and keeps the cell.
    let mut mine_cells = with_overflow(overflow_cell(55, 40));
    mine_cells[0] = table_cell(10, b"SMALL");
    let merged =
        merge_leaf(&base, &page(TABLE_LEAF, 4096, &mine_cells), &theirs, 5).expect("merges");
    let mut expected = mine_cells.clone();
    expected[10] = table_cell(100, b"SMALL");
    assert_eq!(merged, page(TABLE_LEAF, 4096, &expected));
    // The overflow cell itself changed (a new chain): refused.
    let mine = page(TABLE_LEAF, 4096, &with_overflow(overflow_cell(55, 41)));
    assert_eq!(merge_leaf(&base, &mine, &theirs, 5), None);
    // The overflow cell deleted: refused.
    let mine = page(TABLE_LEAF, 4096, &small);
    assert_eq!(merge_leaf(&base, &mine, &theirs, 5), None);
}

#[test]
fn malformed_pages_refused() {
    let base = rows(20);
    let good = table_page(4096, &base);
    let mine = table_page(
        4096,
        &edited(&base, |r| {
            r.insert(30, b"m".to_vec());
        }),
    );
    // A pointer past the end of the page.
    let mut bad = good.clone();
    bad[8..10].copy_from_slice(&4095u16.to_be_bytes());
    assert_eq!(merge_leaf(&bad, &mine, &good, 2), None);
    // A pointer into the header/pointer array.
    let mut bad = good.clone();
    bad[8..10].copy_from_slice(&9u16.to_be_bytes());
    assert_eq!(merge_leaf(&good, &bad, &good, 2), None);
    // A cell count whose pointer array runs past the content start.
    let mut bad = good.clone();
    bad[3..5].copy_from_slice(&3000u16.to_be_bytes());
    assert_eq!(merge_leaf(&good, &mine, &bad, 2), None);
    // Two pointers to the same cell (duplicate rowid, overlapping cells).
    let mut bad = good.clone();
    let first = [bad[8], bad[9]];
    bad[10..12].copy_from_slice(&first);
    assert_eq!(merge_leaf(&good, &mine, &bad, 2), None);
    // A cell whose varint runs off the end.
    let mut bad = vec![0u8; 512];
    bad[0] = TABLE_LEAF;
    bad[3..5].copy_from_slice(&1u16.to_be_bytes());
    bad[5..7].copy_from_slice(&508u16.to_be_bytes());
    bad[8..10].copy_from_slice(&508u16.to_be_bytes());
    bad[508..512].fill(0xFF);
    assert_eq!(merge_leaf(&bad, &bad, &bad, 2), None);
}

/// Random row edits on one side: (rowid, Some(tagged payload) = put, None = delete).
fn edits() -> impl Strategy<Value = Vec<(i64, Option<u8>)>> {
    proptest::collection::vec((0i64..120, proptest::option::of(1u8..20)), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(
        a in proptest::collection::vec(any::<u8>(), 512),
        b in proptest::collection::vec(any::<u8>(), 512),
        c in proptest::collection::vec(any::<u8>(), 512),
        kind in prop_oneof![Just(TABLE_LEAF), Just(INDEX_LEAF), any::<u8>()],
        page_no in 0u32..4,
    ) {
        // Raw random bytes, and the same with a leaf type byte so parsing goes deeper.
        let _ = merge_leaf(&a, &b, &c, page_no);
        let (mut a, mut b, mut c) = (a, b, c);
        for p in [&mut a, &mut b, &mut c] {
            p[0] = kind;
        }
        let _ = merge_leaf(&a, &b, &c, page_no);
    }

    #[test]
    fn mutated_valid_pages_never_panic(
        flips in proptest::collection::vec((0usize..1024, any::<u8>(), 0usize..3), 1..8),
    ) {
        let base = rows(30);
        let mine = edited(&base, |r| { r.insert(35, b"m".to_vec()); });
        let theirs = edited(&base, |r| { r.remove(&200); });
        let mut pages = [table_page(1024, &base), table_page(1024, &mine), table_page(1024, &theirs)];
        for (at, byte, which) in flips {
            pages[which][at] = byte;
        }
        if let Some(merged) = merge_leaf(&pages[0], &pages[1], &pages[2], 4) {
            prop_assert_eq!(merged.len(), 1024);
            prop_assert!(parse_leaf(&merged).is_some());
        }
    }

    /// Against a model: when the sides touch different rowids the merge, if it happens, holds
    /// exactly both sides' changes; when they touch the same rowid it is refused.
    #[test]
    fn merge_matches_model(
        base_ids in proptest::collection::btree_set(0i64..120, 1..60),
        mine_edits in edits(),
        theirs_edits in edits(),
    ) {
        let base: BTreeMap<i64, Vec<u8>> = base_ids.iter().map(|&r| (r, vec![0, r as u8])).collect();
        let apply_edits = |edits: &[(i64, Option<u8>)]| {
            edited(&base, |rows| {
                for &(rowid, put) in edits {
                    match put {
                        Some(tag) => { rows.insert(rowid, vec![tag, rowid as u8]); }
                        None => { rows.remove(&rowid); }
                    }
                }
            })
        };
        let mine = apply_edits(&mine_edits);
        let theirs = apply_edits(&theirs_edits);
        let changed = |side: &BTreeMap<i64, Vec<u8>>| -> std::collections::BTreeSet<i64> {
            base.keys().chain(side.keys()).filter(|r| base.get(r) != side.get(r)).copied().collect()
        };
        let (mine_changed, theirs_changed) = (changed(&mine), changed(&theirs));
        let result = merge_rows(&base, &mine, &theirs);
        if !mine_changed.is_disjoint(&theirs_changed) {
            prop_assert_eq!(result, None);
        } else if let Some(merged) = result {
            let mut expected = mine.clone();
            for r in &theirs_changed {
                match theirs.get(r) {
                    Some(p) => { expected.insert(*r, p.clone()); }
                    None => { expected.remove(r); }
                }
            }
            prop_assert_eq!(merged, table_page(4096, &expected));
        }
        // Only one side changed anything, and it added no row (an added row may land at an end
        // of the page, which is refused): always merges to that side (if not empty).
        let mine_adds = mine.keys().any(|k| !base.contains_key(k));
        if theirs_changed.is_empty() && !mine.is_empty() && !mine_adds {
            prop_assert_eq!(merge_rows(&base, &mine, &theirs), Some(table_page(4096, &mine)));
        }
    }
}

#[test]
fn a_row_added_at_either_end_is_refused() {
    let base = rows(20);
    let theirs = edited(&base, |r| {
        r.insert(100, b"upd".to_vec());
    });
    // After the last row or before the first: the parent's dividers decide whether the row
    // belongs on this page, and the merge cannot see them.
    for key in [205, 5] {
        let mine = edited(&base, |r| {
            r.insert(key, b"new".to_vec());
        });
        assert_eq!(merge_rows(&base, &mine, &theirs), None, "row {key}");
    }
    // The other side's append is already committed: merging our middle change onto it is fine.
    let appended = edited(&base, |r| {
        r.insert(205, b"new".to_vec());
    });
    let mine = edited(&base, |r| {
        r.insert(100, b"upd".to_vec());
    });
    assert!(merge_rows(&base, &mine, &appended).is_some());
}

#[test]
fn rowid_range_reads_the_first_and_last_cells() {
    assert_eq!(
        table_leaf_rowid_range(&table_page(4096, &rows(20))),
        Some((10, 200))
    );
    let one: BTreeMap<i64, Vec<u8>> = [(-5, b"x".to_vec())].into();
    assert_eq!(
        table_leaf_rowid_range(&table_page(4096, &one)),
        Some((-5, -5))
    );
    assert_eq!(
        table_leaf_rowid_range(&table_page(4096, &BTreeMap::new())),
        None
    );
    let index = page(INDEX_LEAF, 4096, &[index_cell(b"a")]);
    assert_eq!(table_leaf_rowid_range(&index), None);
    // A pointer into the pointer array itself, and one past the page, are malformed.
    let mut bad = table_page(4096, &rows(3));
    bad[8..10].copy_from_slice(&8u16.to_be_bytes());
    assert_eq!(table_leaf_rowid_range(&bad), None);
    let mut past = table_page(4096, &rows(3));
    past[12..14].copy_from_slice(&4095u16.to_be_bytes());
    assert_eq!(table_leaf_rowid_range(&past), None);
    assert_eq!(table_leaf_rowid_range(&[TABLE_LEAF; 100]), None);
}

proptest! {
    /// The cheap range agrees with a full parse of the page.
    #[test]
    fn rowid_range_matches_a_full_parse(ids in proptest::collection::btree_set(-1000i64..1000, 1..40)) {
        let rows: BTreeMap<i64, Vec<u8>> = ids.iter().map(|&r| (r, vec![7u8; 10])).collect();
        let page = table_page(4096, &rows);
        let full = parse_leaf(&page).expect("parses");
        let expected = (full.cells[0].rowid, full.cells[full.cells.len() - 1].rowid);
        prop_assert_eq!(table_leaf_rowid_range(&page), Some(expected));
    }
}

#[test]
fn refusals_say_why() {
    let base = rows(20);
    let same = edited(&base, |r| {
        r.insert(50, b"mine".to_vec());
    });
    let other = edited(&base, |r| {
        r.insert(50, b"theirs".to_vec());
    });
    let explain = |m: &BTreeMap<i64, Vec<u8>>, t: &BTreeMap<i64, Vec<u8>>| {
        explain_rows(&base, m, t, KeyRange::MayHaveMoved).err()
    };
    assert_eq!(explain(&same, &other), Some(Refusal::SameCell));
    let appended = edited(&base, |r| {
        r.insert(999, b"new".to_vec());
    });
    assert_eq!(explain(&appended, &other), Some(Refusal::AtPageEnd));
    let inserted = edited(&base, |r| {
        r.insert(195, b"new".to_vec());
    });
    let deleted_next = edited(&base, |r| {
        r.remove(&200);
    });
    assert_eq!(explain(&inserted, &deleted_next), Some(Refusal::Adjacent));
    let page1 = |rows: &BTreeMap<i64, Vec<u8>>| table_page(4096, rows);
    assert_eq!(
        merge_leaf_explained(
            &page1(&base),
            &page1(&same),
            &page1(&base),
            1,
            KeyRange::MayHaveMoved
        )
        .err(),
        Some(Refusal::NotALeaf)
    );
}

#[test]
fn a_row_added_at_a_page_end_merges_when_the_key_range_is_unchanged() {
    let base = rows(20);
    let mine = edited(&base, |r| {
        r.insert(999, b"appended".to_vec());
        r.insert(1, b"prepended".to_vec());
    });
    let theirs = edited(&base, |r| {
        r.insert(100, b"t".to_vec());
    });
    let merge = |range| explain_rows(&base, &mine, &theirs, range);
    assert_eq!(merge(KeyRange::MayHaveMoved), Err(Refusal::AtPageEnd));
    let expected = edited(&mine, |r| {
        r.insert(100, b"t".to_vec());
    });
    assert_eq!(merge(KeyRange::Unchanged), Ok(table_page(4096, &expected)));
    // Touching the other side's change at the page's end stays refused either way.
    let theirs_end = edited(&base, |r| {
        r.remove(&200);
    });
    assert_eq!(
        explain_rows(&base, &mine, &theirs_end, KeyRange::Unchanged),
        Err(Refusal::Adjacent)
    );
}

proptest! {
    /// The bitmap overlap check agrees with comparing every pair of ranges.
    #[test]
    fn disjoint_within_agrees_with_pairwise_check(
        spans in proptest::collection::vec((0usize..300, 1usize..90), 0..12),
    ) {
        let len = 256;
        let spans: Vec<(usize, usize)> = spans.into_iter().map(|(s, w)| (s, s + w)).collect();
        let inside = spans.iter().all(|&(_, end)| end <= len);
        let apart = spans.iter().enumerate().all(|(i, a)| {
            spans[i + 1..].iter().all(|b| a.1 <= b.0 || b.1 <= a.0)
        });
        prop_assert_eq!(disjoint_within(spans.iter().copied(), len).is_some(), inside && apart);
    }
}

/// `page` (a table leaf) after row edits made the way SQLite makes them, in place: a deleted
/// cell is zeroed and its pointer removed; a new cell goes below the content area's start; a
/// row rewritten at its length is overwritten where it is. Edits that do not fit are skipped.
fn edit_in_place(page: &[u8], edits: &[(i64, Option<u8>)]) -> Vec<u8> {
    let mut page = page.to_vec();
    for &(rowid, put) in edits {
        // The parsed leaf borrows the page: only what the edit needs is kept from it.
        let (old, at, count) = {
            let leaf = parse_leaf(&page).expect("a valid leaf");
            let found = leaf.cells.iter().position(|c| c.rowid == rowid);
            let old = found.map(|i| (i, leaf.cells[i].span()));
            let at = leaf.cells.iter().filter(|c| c.rowid < rowid).count();
            (old, at, leaf.cells.len())
        };
        let new_cell = put.map(|tag| table_cell(rowid, &[tag, rowid as u8, tag]));
        if let (Some((_, (start, end))), Some(cell)) = (old, &new_cell) {
            if end - start == cell.len().max(MIN_CELL) {
                page[start..start + cell.len()].copy_from_slice(cell);
                continue;
            }
        }
        let mut pointers: Vec<u16> = (0..count)
            .map(|i| read_u16(&page, LEAF_HEADER + 2 * i).unwrap())
            .collect();
        let mut content_start = usize::from(read_u16(&page, 5).unwrap());
        if let Some((i, (start, end))) = old {
            page[start..end].fill(0);
            pointers.remove(i);
        }
        if let Some(cell) = new_cell {
            let alloc = cell.len().max(MIN_CELL);
            let pointers_end = LEAF_HEADER + 2 * (pointers.len() + 1);
            if content_start < pointers_end + alloc {
                continue; // does not fit: the edit is skipped (the delete too)
            }
            content_start -= alloc;
            page[content_start..content_start + cell.len()].copy_from_slice(&cell);
            pointers.insert(at.min(pointers.len()), content_start as u16);
        }
        page[LEAF_HEADER..LEAF_HEADER + 2 * count].fill(0);
        for (i, p) in pointers.iter().enumerate() {
            page[LEAF_HEADER + 2 * i..LEAF_HEADER + 2 * i + 2].copy_from_slice(&p.to_be_bytes());
        }
        page[3..5].copy_from_slice(&(pointers.len() as u16).to_be_bytes());
        page[5..7].copy_from_slice(&(content_start as u16).to_be_bytes());
    }
    page
}

#[test]
fn in_place_edits_parse_as_the_rows_they_hold() {
    let base = table_page(4096, &rows(20));
    let page = edit_in_place(
        &base,
        &[(50, None), (55, Some(7)), (100, Some(9)), (300, None)],
    );
    let leaf = parse_leaf(&page).expect("parses");
    let ids: Vec<i64> = leaf.cells.iter().map(|c| c.rowid).collect();
    let mut expected: Vec<i64> = (1..=20).map(|i| i * 10).filter(|&r| r != 50).collect();
    expected.push(55);
    expected.sort_unstable();
    assert_eq!(ids, expected);
}

#[test]
fn changed_ranges_and_overlaps() {
    let a = vec![0u8; 300];
    let mut b = a.clone();
    for k in [3, 4, 5, 63, 64, 200] {
        b[k] = 1;
    }
    let ranges = changed_ranges(&a, &b);
    assert_eq!(ranges, vec![(3, 6), (63, 65), (200, 201)]);
    assert!(overlaps(&ranges, (0, 4)));
    assert!(!overlaps(&ranges, (6, 63)));
    assert!(overlaps(&ranges, (64, 100)));
    assert!(!overlaps(&ranges, (201, 300)));
    assert!(overlaps(&ranges, (150, 250)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Parsing only the changed window of each side merges exactly as parsing every cell:
    /// the same page or a refusal, for pages edited in place (pointers shift, cells stay) on
    /// a packed or an already edited base, with random bytes flipped in the sides.
    #[test]
    fn windowed_merge_equals_whole_merge(
        base_ids in proptest::collection::btree_set(0i64..120, 1..60),
        base_edits in edits(),
        mine_edits in edits(),
        theirs_edits in edits(),
        flips in proptest::collection::vec((0usize..4096, any::<u8>(), 0usize..2), 0..3),
        unchanged_range in any::<bool>(),
    ) {
        let rows: BTreeMap<i64, Vec<u8>> = base_ids.iter().map(|&r| (r, vec![0, r as u8])).collect();
        let base = edit_in_place(&table_page(4096, &rows), &base_edits);
        let mut sides = [edit_in_place(&base, &mine_edits), edit_in_place(&base, &theirs_edits)];
        for (at, byte, which) in flips {
            sides[which][at] = byte;
        }
        let range = if unchanged_range { KeyRange::Unchanged } else { KeyRange::MayHaveMoved };
        let merge = |window| merge_parsed(&base, &sides[0], &sides[1], range, window);
        let (windowed, whole) = (merge(Window::Changed), merge(Window::Whole));
        prop_assert_eq!(windowed.as_ref().ok(), whole.as_ref().ok());
        if let Ok(page) = windowed {
            prop_assert!(parse_leaf(&page).is_some());
        }
    }
}

#[test]
fn refusal_indexes_follow_the_list_of_every_reason() {
    for (i, reason) in Refusal::ALL.into_iter().enumerate() {
        assert_eq!(reason.index(), i, "{reason:?}");
    }
    let names: std::collections::BTreeSet<_> = Refusal::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(names.len(), Refusal::COUNT, "names are distinct");
}

/// The rows of a table leaf as (rowid, cell bytes), in key order.
fn rows_of(page: &[u8]) -> Vec<(i64, Vec<u8>)> {
    let leaf = parse_leaf(page).expect("a valid leaf");
    leaf.cells
        .iter()
        .map(|c| (c.rowid, c.bytes.to_vec()))
        .collect()
}

/// A base whose rows have the payload size `edit_in_place` writes, so that a put on an
/// existing row rewrites it in place.
fn rewritable_base(ids: &std::collections::BTreeSet<i64>) -> Vec<u8> {
    let rows: BTreeMap<i64, Vec<u8>> = ids.iter().map(|&r| (r, vec![0, r as u8, 0])).collect();
    table_page(4096, &rows)
}

#[test]
fn rows_rewritten_in_place_merge_as_a_page_copy() {
    let ids = (1..=30).map(|i| i * 10).collect();
    let base = rewritable_base(&ids);
    let mine = edit_in_place(&base, &[(50, Some(7)), (60, Some(8))]);
    let theirs = edit_in_place(&base, &[(70, Some(9)), (200, Some(3))]);
    let fast = merge_rewrites_in_place(&base, &mine, &theirs).expect("the in-place merge applies");
    let general = merge_parsed(
        &base,
        &mine,
        &theirs,
        KeyRange::MayHaveMoved,
        Window::Changed,
    )
    .expect("merges");
    assert_eq!(rows_of(&fast), rows_of(&general));
    // Theirs' layout, mine's rows copied in.
    assert_eq!(fast[..LEAF_HEADER + 60], theirs[..LEAF_HEADER + 60]);
    // The same row rewritten by both: the general merge refuses it.
    let both = edit_in_place(&base, &[(60, Some(5))]);
    assert!(merge_rewrites_in_place(&base, &mine, &both).is_none());
    assert_eq!(
        merge_leaf_explained(&base, &mine, &both, 2, KeyRange::MayHaveMoved).err(),
        Some(Refusal::SameCell)
    );
    // A row added or removed on one side: not a rewrite in place.
    let added = edit_in_place(&base, &[(75, Some(1))]);
    assert!(merge_rewrites_in_place(&base, &mine, &added).is_none());
    let removed = edit_in_place(&base, &[(90, None)]);
    assert!(merge_rewrites_in_place(&base, &removed, &theirs).is_none());
}

#[test]
fn a_row_between_two_close_rewrites_keeps_the_other_sides_change() {
    // Rows of 4-byte cells (payload size, rowid, record header size, serial type of a 0/1
    // column) packed next to each other: mine's changes to rows 1 and 3 are 8 bytes apart
    // and the diff joins them into one range across row 2, which theirs changed.
    let cell = |rowid: i64, flag: u8| table_cell(rowid, &[2, flag]);
    let base = page(TABLE_LEAF, 4096, &[cell(1, 8), cell(2, 8), cell(3, 8)]);
    let edit = |rows: &[(i64, u8)]| {
        let mut p = base.clone();
        for &(rowid, flag) in rows {
            let offset = read_u16(&p, LEAF_HEADER + 2 * (rowid as usize - 1)).unwrap();
            p[usize::from(offset) + 3] = flag;
        }
        p
    };
    let mine = edit(&[(1, 9), (3, 9)]);
    let theirs = edit(&[(2, 9)]);
    let merged = merge_leaf(&base, &mine, &theirs, 2).expect("different rows merge");
    assert_eq!(
        rows_of(&merged),
        rows_of(&page(
            TABLE_LEAF,
            4096,
            &[cell(1, 9), cell(2, 9), cell(3, 9)]
        ))
    );
}

proptest! {
    /// Rows of 4-byte cells packed side by side, flags rewritten on random rows by each side
    /// (changes a few bytes apart, which the diff joins): the merge, copy or general, holds
    /// every flag either side set when the sides' rows differ, and is refused when they share
    /// a row.
    #[test]
    fn close_rewrites_on_small_rows_keep_both_sides(
        n in 3i64..40,
        mine in proptest::collection::btree_set(1i64..40, 0..12),
        theirs in proptest::collection::btree_set(1i64..40, 0..12),
    ) {
        let cell = |rowid: i64, flag: u8| table_cell(rowid, &[2, flag]);
        let flags = |set: &std::collections::BTreeSet<i64>, r: i64| if set.contains(&r) { 9 } else { 8 };
        let build = |f: &dyn Fn(i64) -> u8| {
            page(TABLE_LEAF, 4096, &(1..=n).map(|r| cell(r, f(r))).collect::<Vec<_>>())
        };
        let base = build(&|_| 8);
        let (mine_page, theirs_page) = (build(&|r| flags(&mine, r)), build(&|r| flags(&theirs, r)));
        let in_page = |set: &std::collections::BTreeSet<i64>| set.iter().any(|&r| r <= n);
        let shared = mine.iter().any(|r| theirs.contains(r) && *r <= n);
        match merge_leaf(&base, &mine_page, &theirs_page, 2) {
            Some(merged) => {
                prop_assert!(!shared);
                let both = build(&|r| if mine.contains(&r) || theirs.contains(&r) { 9 } else { 8 });
                prop_assert_eq!(rows_of(&merged), rows_of(&both));
            }
            None => prop_assert!(shared || !in_page(&mine) || !in_page(&theirs)),
        }
    }

    /// Whenever the in-place merge applies, the general merge accepts the same pages and holds
    /// the same rows; the page parses. Sides mostly rewrite rows in place, sometimes add or
    /// remove rows, and get random bytes flipped.
    #[test]
    fn in_place_rewrite_merge_agrees_with_the_general_merge(
        base_ids in proptest::collection::btree_set(0i64..120, 1..60),
        mine_edits in edits(),
        theirs_edits in edits(),
        rewrites_only in any::<bool>(),
        flips in proptest::collection::vec((0usize..4096, any::<u8>(), 0usize..2), 0..2),
    ) {
        let base = rewritable_base(&base_ids);
        let keep = |edits: Vec<(i64, Option<u8>)>| -> Vec<(i64, Option<u8>)> {
            edits
                .into_iter()
                .filter(|(r, put)| !rewrites_only || (put.is_some() && base_ids.contains(r)))
                .collect()
        };
        let mut sides = [
            edit_in_place(&base, &keep(mine_edits)),
            edit_in_place(&base, &keep(theirs_edits)),
        ];
        for (at, byte, which) in flips {
            sides[which][at] = byte;
        }
        let fast = merge_rewrites_in_place(&base, &sides[0], &sides[1]);
        let general =
            merge_parsed(&base, &sides[0], &sides[1], KeyRange::MayHaveMoved, Window::Changed);
        if let Some(page) = fast {
            let general = general.expect("the general merge accepts what the in-place one does");
            prop_assert_eq!(rows_of(&page), rows_of(&general));
        }
    }
}

/// `page` with rows `rowids` added (each past every rowid on it: SQLite's append).
fn appended(page: &[u8], rowids: &[i64]) -> Vec<u8> {
    let puts: Vec<(i64, Option<u8>)> = rowids.iter().map(|&r| (r, Some(r as u8))).collect();
    edit_in_place(page, &puts)
}

#[test]
fn rows_appended_on_both_sides_merge_as_a_page_copy() {
    let ids = (1..=30).map(|i| i * 10).collect();
    let base = rewritable_base(&ids);
    let mine = appended(&base, &[301, 304]);
    let theirs = appended(&base, &[302, 303, 305]);
    let fast = merge_appends_in_place(&base, &mine, &theirs, KeyRange::Unchanged)
        .expect("the in-place merge applies");
    let general =
        merge_parsed(&base, &mine, &theirs, KeyRange::Unchanged, Window::Changed).expect("merges");
    assert_eq!(rows_of(&fast), rows_of(&general));
    let rowids: Vec<i64> = rows_of(&fast).iter().map(|r| r.0).collect();
    assert_eq!(rowids[30..], [301, 302, 303, 304, 305]);
    // Theirs' cells stay where they are: the base part of the page is theirs' bytes.
    let theirs_start = usize::from(read_u16(&theirs, 5).unwrap());
    assert_eq!(fast[theirs_start..], theirs[theirs_start..]);
    // Through the public entry point too.
    let page = merge_leaf_explained(&base, &mine, &theirs, 2, KeyRange::Unchanged).unwrap();
    assert_eq!(rows_of(&page), rows_of(&general));
}

#[test]
fn appends_merge_in_place_only_when_appending_is_all_both_did() {
    let ids = (1..=30).map(|i| i * 10).collect();
    let base = rewritable_base(&ids);
    let mine = appended(&base, &[301]);
    let theirs = appended(&base, &[302]);
    let merge = |m: &[u8], t: &[u8], range| merge_appends_in_place(&base, m, t, range);
    assert!(merge(&mine, &theirs, KeyRange::Unchanged).is_some());
    // The parent's divider keys may have moved: the general merge refuses the row at the end.
    assert!(merge(&mine, &theirs, KeyRange::MayHaveMoved).is_none());
    // The same rowid on both sides: a duplicate, which the general merge refuses.
    assert!(merge(&mine, &appended(&base, &[301]), KeyRange::Unchanged).is_none());
    // A side that also rewrote, removed or inserted a row among base's rows.
    let rewrote = edit_in_place(&mine, &[(50, Some(7))]);
    let removed = edit_in_place(&theirs, &[(90, None)]);
    let inserted = edit_in_place(&theirs, &[(95, Some(1))]);
    for other in [&rewrote, &removed, &inserted] {
        assert!(merge(other, &theirs, KeyRange::Unchanged).is_none());
        assert!(merge(&mine, other, KeyRange::Unchanged).is_none());
    }
    // Nothing appended by mine: nothing to merge in place.
    assert!(merge(&base, &theirs, KeyRange::Unchanged).is_none());
    // Mine's rows do not fit in theirs' gap: left to the general merge.
    let full_ids: std::collections::BTreeSet<i64> = (1..=500).collect();
    let full = rewritable_base(&full_ids);
    let gap = |p: &[u8]| {
        usize::from(read_u16(p, 5).unwrap())
            - (LEAF_HEADER + 2 * usize::from(read_u16(p, 3).unwrap()))
    };
    let mut theirs_full = full.clone();
    let mut next = 501;
    while gap(&theirs_full) >= 8 {
        theirs_full = appended(&theirs_full, &[next]);
        next += 1;
    }
    let mine_full = appended(&full, &[next + 1]);
    assert!(gap(&mine_full) < gap(&full));
    assert!(merge_appends_in_place(&full, &mine_full, &theirs_full, KeyRange::Unchanged).is_none());
}

proptest! {
    /// Whenever the append merge applies, the general merge accepts the same pages and holds
    /// the same rows, and the page parses. Sides append rows (rowids may collide), sometimes
    /// also edit base rows, and get random bytes flipped.
    #[test]
    fn in_place_append_merge_agrees_with_the_general_merge(
        base_ids in proptest::collection::btree_set(0i64..120, 0..60),
        mine_new in proptest::collection::btree_set(120i64..140, 0..6),
        theirs_new in proptest::collection::btree_set(120i64..140, 0..6),
        mine_edits in edits(),
        theirs_edits in edits(),
        appends_only in any::<bool>(),
        flips in proptest::collection::vec((0usize..4096, any::<u8>(), 0usize..2), 0..2),
    ) {
        let base = rewritable_base(&base_ids);
        let side = |new: &std::collections::BTreeSet<i64>, edits: Vec<(i64, Option<u8>)>| {
            let edits = if appends_only { Vec::new() } else { edits };
            appended(&edit_in_place(&base, &edits), &new.iter().copied().collect::<Vec<_>>())
        };
        let mut sides = [side(&mine_new, mine_edits), side(&theirs_new, theirs_edits)];
        for (at, byte, which) in flips {
            sides[which][at] = byte;
        }
        let fast = merge_appends_in_place(&base, &sides[0], &sides[1], KeyRange::Unchanged);
        let general =
            merge_parsed(&base, &sides[0], &sides[1], KeyRange::Unchanged, Window::Changed);
        if let Some(page) = fast {
            let general = general.expect("the general merge accepts what the in-place one does");
            prop_assert_eq!(rows_of(&page), rows_of(&general));
        }
    }
}

#[test]
fn appends_do_not_merge_in_place_over_a_malformed_base() {
    let cell = |rowid: i64| table_cell(rowid, &[3, 1, rowid as u8, 0]);
    let base = page(TABLE_LEAF, 1024, &[cell(10), cell(20)]);
    let content_start = usize::from(read_u16(&base, 5).unwrap());
    // SQLite's append without parsing the page: the cell below the content area, its pointer
    // after the last.
    let raw_append = |page: &[u8], row: Vec<u8>| {
        let mut page = page.to_vec();
        let count = usize::from(read_u16(&page, 3).unwrap());
        let top = usize::from(read_u16(&page, 5).unwrap()) - row.len().max(MIN_CELL);
        page[top..top + row.len()].copy_from_slice(&row);
        let at = LEAF_HEADER + 2 * count;
        page[at..at + 2].copy_from_slice(&(top as u16).to_be_bytes());
        page[3..5].copy_from_slice(&(count as u16 + 1).to_be_bytes());
        page[5..7].copy_from_slice(&(top as u16).to_be_bytes());
        page
    };
    let check = |bad: &[u8], general_refuses: bool| {
        let (mine, theirs) = (raw_append(bad, cell(30)), raw_append(bad, cell(40)));
        assert!(merge_appends_in_place(bad, &mine, &theirs, KeyRange::Unchanged).is_none());
        let general = merge_parsed(bad, &mine, &theirs, KeyRange::Unchanged, Window::Changed);
        assert_eq!(general.is_err(), general_refuses);
    };
    // A pointer into the gap, where the merge would write mine's row (a copy of the row there).
    let mut in_gap = base.clone();
    let moved = content_start - 40;
    let row = cell(10);
    in_gap[moved..moved + row.len()].copy_from_slice(&row);
    in_gap[LEAF_HEADER..LEAF_HEADER + 2].copy_from_slice(&(moved as u16).to_be_bytes());
    check(&in_gap, true);
    // Rowids out of order.
    check(&page(TABLE_LEAF, 1024, &[cell(20), cell(10)]), true);
    // The first freeblock in the gap: the copy would write over the chain (the general merge
    // rebuilds the page without freeblocks, so it may take it).
    let mut freeblock = base.clone();
    freeblock[1..3].copy_from_slice(&((content_start - 40) as u16).to_be_bytes());
    check(&freeblock, false);
}

/// Index entry `n`: distinct bytes, 5–12 long, so that freed and taken spaces differ in size;
/// `2m` and `2m + 1` have the same size.
fn entry(n: u32) -> Vec<u8> {
    let mut payload = n.to_be_bytes().to_vec();
    payload.extend(std::iter::repeat_n(0x55, (n / 2 % 8) as usize));
    index_cell(&payload)
}

/// SQLite's edit of an index leaf, through the same free-space rules (`dropCell`,
/// `insertCell`): `remove` cells at pointer index `at` dropped, then `insert` written there.
/// `None` when they do not fit without defragmenting.
fn index_edit(page: &[u8], at: usize, remove: usize, insert: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut page = page.to_vec();
    let mut count = usize::from(read_u16(&page, 3)?);
    for _ in 0..remove {
        let slot = LEAF_HEADER + 2 * at;
        let offset = usize::from(read_u16(&page, slot)?);
        let h = leaf_header(&page)?;
        let size = parse_cell(&page, offset, h.kind, h.max_local)?.alloc_size();
        free_space::free(&mut page, offset, size)?;
        page.copy_within(slot + 2..LEAF_HEADER + 2 * count, slot);
        count -= 1;
        page[3..5].copy_from_slice(&(count as u16).to_be_bytes());
    }
    for (i, cell) in insert.iter().enumerate() {
        let size = cell.len().max(MIN_CELL);
        let offset = free_space::allocate(&mut page, size, LEAF_HEADER + 2 * (count + 1))?;
        page[offset..offset + size].fill(0);
        page[offset..offset + cell.len()].copy_from_slice(cell);
        let slot = LEAF_HEADER + 2 * (at + i);
        page.copy_within(slot..LEAF_HEADER + 2 * count, slot + 2);
        page[slot..slot + 2].copy_from_slice(&(offset as u16).to_be_bytes());
        count += 1;
        page[3..5].copy_from_slice(&(count as u16).to_be_bytes());
    }
    Some(page)
}

/// The cells of a leaf in pointer order.
fn entries_of(page: &[u8]) -> Vec<Vec<u8>> {
    let h = leaf_header(page).expect("a leaf");
    let cells = cells_at(page, &h, 0..h.count).expect("cells parse");
    cells.iter().map(|c| c.bytes.to_vec()).collect()
}

/// Whether `page` is a leaf SQLite's integrity check accepts: cells inside the content area
/// without overlapping, freeblocks rising, at least 4 bytes apart and clear of the cells, and
/// every byte of the content area a cell's, a freeblock's or a counted fragment.
fn well_formed(page: &[u8]) -> bool {
    let Some(h) = leaf_header(page) else {
        return false;
    };
    let Some(cells) = cells_at(page, &h, 0..h.count) else {
        return false;
    };
    let Some(mut used) = disjoint_within(cells.iter().map(Cell::span), page.len()) else {
        return false;
    };
    if cells.iter().any(|c| c.offset < h.content_start) {
        return false;
    }
    let mut free = 0;
    let mut at = usize::from(read_u16(page, 1).unwrap());
    let mut previous_end = 0;
    while at != 0 {
        let size = usize::from(read_u16(page, at + 2).unwrap_or(0));
        let fits = at >= h.content_start && size >= 4 && at + size <= page.len();
        if !fits || at < previous_end + 4 || !mark_unused(&mut used, at, at + size) {
            return false;
        }
        free += size;
        previous_end = at + size;
        at = usize::from(read_u16(page, at).unwrap());
    }
    let cell_bytes: usize = cells.iter().map(Cell::alloc_size).sum();
    let fragments = usize::from(page[7]);
    fragments <= 60 && page.len() - h.content_start == cell_bytes + free + fragments
}

/// One side's edit: at pointer index, cells removed, new entries inserted.
fn index_side(count: usize, first_new: u32) -> impl Strategy<Value = (usize, usize, Vec<u32>)> {
    (0..count, 0usize..3, 0usize..3).prop_map(move |(at, remove, insert)| {
        let remove = remove.min(count - at);
        (at, remove, (first_new..first_new + insert as u32).collect())
    })
}

#[test]
fn an_index_entry_rewritten_where_it_was_merges_in_place() {
    // UPDATE … SET k = k + 1 on two rows far apart: each side's entry is replaced at its
    // index by one of the same size (SQLite reuses the freed bytes, so the pointer arrays do
    // not differ at all).
    let base = page(
        INDEX_LEAF,
        4096,
        &(0..100).map(|n| entry(2 * n)).collect::<Vec<_>>(),
    );
    let mine = index_edit(&base, 10, 1, &[entry(21)]).unwrap();
    let theirs = index_edit(&base, 80, 1, &[entry(161)]).unwrap();
    assert_eq!(
        mine[..LEAF_HEADER + 200],
        base[..LEAF_HEADER + 200],
        "same pointers"
    );
    let merged = index_in_place::merge_index_in_place(&base, &mine, &theirs).expect("in place");
    assert!(well_formed(&merged));
    let general = merge_parsed(&base, &mine, &theirs, KeyRange::MayHaveMoved, Window::Whole);
    assert_eq!(entries_of(&merged), entries_of(&general.expect("general")));
    assert_eq!(entries_of(&merged)[10], entry(21));
    assert_eq!(entries_of(&merged)[80], entry(161));
    // The winner changed a neighbour of the loser's entry, or the loser's change is at a page
    // end: the general merge decides.
    let touching = index_edit(&base, 11, 1, &[entry(23)]).unwrap();
    assert!(index_in_place::merge_index_in_place(&base, &mine, &touching).is_none());
    assert!(index_in_place::merge_index_in_place(&base, &touching, &mine).is_none());
    let at_end = index_edit(&base, 99, 1, &[entry(199)]).unwrap();
    assert!(index_in_place::merge_index_in_place(&base, &at_end, &mine).is_none());
    // The winner's change at a page end is no matter.
    let merged = index_in_place::merge_index_in_place(&base, &mine, &at_end).expect("in place");
    assert!(well_formed(&merged));
    assert_eq!(entries_of(&merged)[99], entry(199));
}

proptest! {
    /// Whenever the in-place index merge applies, the general merge accepts the same pages and
    /// gives the same entries in the same order, and the page is well formed; and it applies
    /// whenever the loser's edit keeps a cell on either side and the winner's edit leaves
    /// those two cells and the ones between alone. Base pages carry freeblocks and fragments
    /// from earlier edits.
    #[test]
    fn index_in_place_merge_agrees_with_the_general_merge(
        (size, count, earlier, mine, theirs) in prop_oneof![Just((4096usize, 8usize..120)), Just((1024usize, 8usize..60))]
            .prop_flat_map(|(size, counts)| counts.prop_flat_map(move |count| (
                Just(size),
                Just(count),
                proptest::collection::vec((0..count, 0usize..3, 0usize..3), 0..10),
                index_side(count, 10_000),
                index_side(count, 20_000),
            ))),
    ) {
        // 1 KiB pages of up to 60 entries are nearly full: edits may not fit, and the gap,
        // freeblocks and fragments are near their limits.
        let mut base = page(INDEX_LEAF, size, &(0..count as u32).map(|n| entry(2 * n)).collect::<Vec<_>>());
        // Earlier edits leave freeblocks, fragments and a moved content start.
        for (k, (at, remove, insert)) in earlier.into_iter().enumerate() {
            let n = usize::from(read_u16(&base, 3).unwrap());
            let (at, remove) = (at.min(n), remove.min(n - at.min(n)));
            let new: Vec<Vec<u8>> = (0..insert as u32).map(|i| entry(30_000 + 10 * k as u32 + i)).collect();
            if let Some(edited) = index_edit(&base, at, remove, &new) {
                base = edited;
            }
        }
        let n = usize::from(read_u16(&base, 3).unwrap());
        let side = |(at, remove, new): &(usize, usize, Vec<u32>)| {
            let (at, remove) = ((*at).min(n), (*remove).min(n - (*at).min(n)));
            let cells: Vec<Vec<u8>> = new.iter().map(|&id| entry(id)).collect();
            index_edit(&base, at, remove, &cells).map(|page| (at, remove, page, cells.len()))
        };
        let (Some((am, rm, mine_page, im)), Some((at_, rt, theirs_page, _))) = (side(&mine), side(&theirs)) else {
            return Ok(()); // an edit that SQLite would have had to defragment for
        };
        let fast = index_in_place::merge_index_in_place(&base, &mine_page, &theirs_page);
        let general = merge_parsed(&base, &mine_page, &theirs_page, KeyRange::MayHaveMoved, Window::Whole);
        if let Some(page) = &fast {
            prop_assert!(well_formed(page));
            let general = general.expect("the general merge accepts what the in-place one does");
            prop_assert_eq!(entries_of(page), entries_of(&general));
        }
        let inside = am >= 1 && am + rm < n;
        let apart = am + rm < at_ || at_ + rt < am;
        if inside && apart && rm + im > 0 && size == 4096 {
            prop_assert!(fast.is_some(), "separated edits merge in place");
        }
    }
}

proptest! {
    /// Index pages the in-place merge would take, with bytes flipped anywhere (header, pointer
    /// array, freeblocks, cells): it never panics, and a page it returns is the size of the
    /// inputs.
    #[test]
    fn index_in_place_merge_never_panics_on_mutated_pages(
        flips in proptest::collection::vec((0usize..1024, any::<u8>(), 0usize..3), 1..8),
    ) {
        let base = page(INDEX_LEAF, 1024, &(0..40).map(|n| entry(2 * n)).collect::<Vec<_>>());
        let base = index_edit(&base, 5, 2, &[entry(11)]).unwrap(); // a freeblock
        let mine = index_edit(&base, 10, 1, &[entry(21), entry(23)]).unwrap();
        let theirs = index_edit(&base, 30, 1, &[entry(61)]).unwrap();
        let mut pages = [base, mine, theirs];
        for (at, byte, which) in flips {
            pages[which][at] = byte;
        }
        let merged = index_in_place::merge_index_in_place(&pages[0], &pages[1], &pages[2]);
        if let Some(merged) = merged {
            // Garbage in may give garbage out, but well-formed pages give a well-formed one.
            if pages.iter().all(|p| well_formed(p)) {
                prop_assert!(well_formed(&merged));
            }
        }
    }
}

#[test]
fn a_new_entry_never_lands_on_the_winners_pointer_array() {
    // The loser drops two small neighbouring entries (a freeblock of 11 bytes) and adds one of
    // 12: SQLite drops their pointers first, so its gap then holds the new cell. On the
    // winner's page the old pointer array is still whole until the splice, and a gap of 10 or
    // 11 bytes does not hold it: the in-place merge must refuse, not write over pointers.
    let mut tight = 0;
    for filler in 1..40usize {
        for count in 20..120u32 {
            let mut cells = vec![index_cell(&vec![0u8; filler])];
            cells.extend((1..count).map(|n| entry(2 * n)));
            let used: usize = cells.iter().map(|c| c.len().max(MIN_CELL) + 2).sum();
            let Some(gap) = 1024usize.checked_sub(LEAF_HEADER + used) else {
                continue;
            };
            if !(10..12).contains(&gap) {
                continue;
            }
            let base = page(INDEX_LEAF, 1024, &cells);
            // Entries 8 and 9 are 5 and 6 bytes (`entry`), 10_015 is 12.
            let Some(mine) = index_edit(&base, 8, 2, &[entry(10_015)]) else {
                continue;
            };
            let last = count as usize - 3;
            let theirs = index_edit(&base, last, 1, &[entry(2 * last as u32 + 1)]).unwrap();
            tight += 1;
            if let Some(merged) = index_in_place::merge_index_in_place(&base, &mine, &theirs) {
                assert!(well_formed(&merged), "filler {filler}, count {count}");
            }
        }
    }
    assert!(tight > 0, "no page with a tight gap was built");
}
