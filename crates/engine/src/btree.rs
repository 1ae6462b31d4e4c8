//! What the engine reads of SQLite's b-tree pages: which interior pages are a leaf's ancestors.
//!
//! A transaction that extends a leaf's key range must lock the interior pages that hold the
//! leaf's divider keys — its ancestors — so that a concurrent split which moves the range (and
//! may leave the leaf itself unchanged) conflicts. Locking every interior page it read instead
//! also conflicts with splits in unrelated tables and indexes.

use std::collections::HashSet;

use borealis_pagestore::PageNo;

/// Bytes of an interior page's header: type, freeblock, cell count, content start,
/// fragmented bytes, right-most child.
const INTERIOR_HEADER: usize = 12;

/// True for a b-tree interior page (table 0x05, index 0x02). Page 1 (the schema table's root)
/// is left out: schema changes conflict through the schema cookie, and page 1 changes with
/// every growth of the file.
pub fn is_interior(page_no: PageNo, image: &[u8]) -> bool {
    page_no != 1 && matches!(image.first(), Some(0x05) | Some(0x02))
}

/// True for a table b-tree interior page (0x05): the only pages that can be ancestors of a
/// table leaf (a b-tree's pages are all of the table or all of the index kind).
pub fn is_table_interior(image: &[u8]) -> bool {
    image.first() == Some(&0x05)
}

/// The child page numbers of an interior page, collected (for the tests).
#[cfg(test)]
fn children(image: &[u8]) -> Option<Vec<PageNo>> {
    let mut out = Vec::new();
    for_each_child(image, |child| out.push(child))?;
    Some(out)
}

/// The big-endian u16 at `at`.
fn be_u16(image: &[u8], at: usize) -> Option<usize> {
    let b = image.get(at..at + 2)?;
    Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

/// The big-endian u32 at `at` (a page number).
fn be_u32(image: &[u8], at: usize) -> Option<PageNo> {
    let b = image.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Where cell `i` of an interior page with `count` cells starts; `None` if its pointer is
/// outside the page or points into the header or pointer array.
fn interior_cell(image: &[u8], count: usize, i: usize) -> Option<usize> {
    let at = be_u16(image, INTERIOR_HEADER + 2 * i)?;
    (at >= INTERIOR_HEADER + 2 * count).then_some(at)
}

/// Calls `f` with each child page number of an interior page (not page 1); `None` (possibly
/// after some calls) if the page is not one or is malformed. Every cell starts with its left
/// child's page number; the header holds the right-most child. The reference the tests check
/// [`ancestors`] against.
#[cfg(test)]
fn for_each_child(image: &[u8], mut f: impl FnMut(PageNo)) -> Option<()> {
    if !matches!(image.first(), Some(0x05) | Some(0x02)) {
        return None;
    }
    let count = be_u16(image, 3)?;
    for i in 0..count {
        f(be_u32(image, interior_cell(image, count, i)?)?);
    }
    f(be_u32(image, 8)?);
    Some(())
}

/// The child of a table interior page whose subtree holds `rowid`, as SQLite descends: the
/// left child of the first cell whose key (the largest rowid of that child's subtree) is at
/// least `rowid`, found by binary search, else the right-most child. `None` if the page is not
/// a table interior page or is malformed.
fn child_for_rowid(image: &[u8], rowid: i64) -> Option<PageNo> {
    if !is_table_interior(image) {
        return None;
    }
    let count = be_u16(image, 3)?;
    let cell = |i: usize| -> Option<(PageNo, i64)> {
        let at = interior_cell(image, count, i)?;
        let (key, _) = borealis_pagestore::leaf_merge::read_varint(image, at + 4)?;
        Some((be_u32(image, at)?, key as i64))
    };
    // Bounded by log2(count) + 1 steps: the range halves each time.
    let (mut lo, mut hi) = (0, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if cell(mid)?.1 < rowid {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if lo < count {
        Some(cell(lo)?.0)
    } else {
        be_u32(image, 8)
    }
}

/// The ancestors of `leaves` (each with a rowid it held at the snapshot) among the table
/// interior pages `interior` (page number → image), or `None` if one is malformed.
///
/// Runs on every commit that appends rows, over every table interior page the transaction
/// read. In each, the child whose subtree holds a leaf's rowid is found as SQLite's own descent
/// finds it (a binary search of the divider keys): on the leaf's path that is the next page
/// of the path; in any other page it is a page of another subtree or table, never one of the
/// path (a page has one parent). The walk up from the leaves follows those links. Looking at
/// every child of every page instead grew to 5 % of oltp_insert's samples as its tables grew
/// (their interior pages list a thousand children and more). Bounded: each step of the walk
/// adds a page to the result or ends it.
pub fn ancestors(
    leaves: &[(PageNo, i64)],
    interior: &[(PageNo, std::sync::Arc<[u8]>)],
) -> Option<HashSet<PageNo>> {
    // (child, parent): per interior page, the child each leaf's rowid leads to.
    let mut links: Vec<(PageNo, PageNo)> = Vec::with_capacity(leaves.len() * interior.len());
    for (page_no, image) in interior {
        for &(_, rowid) in leaves {
            links.push((child_for_rowid(image, rowid)?, *page_no));
        }
    }
    let mut found = HashSet::new();
    let mut level: Vec<PageNo> = leaves.iter().map(|&(leaf, _)| leaf).collect();
    while !level.is_empty() {
        let mut parents = Vec::new();
        for (child, parent) in &links {
            // A page found before is not added again: a cycle in malformed pages ends.
            if level.contains(child) && found.insert(*parent) {
                parents.push(*parent);
            }
        }
        level = parents;
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A table interior page of 512 bytes with `(child, key)` cells and a right-most child.
    fn interior(cells: &[(u32, u16)], right: u32) -> Arc<[u8]> {
        let mut page = vec![0u8; 512];
        page[0] = 0x05;
        page[3..5].copy_from_slice(&(cells.len() as u16).to_be_bytes());
        page[8..12].copy_from_slice(&right.to_be_bytes());
        let mut top = 512;
        for (i, (child, key)) in cells.iter().enumerate() {
            // The key as a SQLite varint of one or two bytes.
            let varint: Vec<u8> = if *key < 0x80 {
                vec![*key as u8]
            } else {
                vec![0x80 | (key >> 7) as u8, (key & 0x7F) as u8]
            };
            top -= 4 + varint.len();
            page[top..top + 4].copy_from_slice(&child.to_be_bytes());
            page[top + 4..top + 4 + varint.len()].copy_from_slice(&varint);
            page[12 + 2 * i..14 + 2 * i].copy_from_slice(&(top as u16).to_be_bytes());
        }
        page[5..7].copy_from_slice(&(top as u16).to_be_bytes());
        Arc::from(page)
    }

    #[test]
    fn children_are_the_cells_then_the_right_most() {
        assert_eq!(
            children(&interior(&[(7, 1), (9, 2)], 11)),
            Some(vec![7, 9, 11])
        );
        assert_eq!(children(&interior(&[], 4)), Some(vec![4]));
        assert_eq!(children(&[0x0D; 512]), None);
        let mut bad = interior(&[(7, 1)], 11).to_vec();
        bad[12..14].copy_from_slice(&13u16.to_be_bytes()); // points into the pointer array
        assert_eq!(children(&bad), None);
        assert_eq!(children(&[0x05, 0, 0, 0, 9]), None);
    }

    #[test]
    fn only_table_interior_pages_can_hold_table_leaves() {
        let table = interior(&[(7, 1)], 11);
        assert!(is_interior(3, &table) && is_table_interior(&table));
        let mut index = table.to_vec();
        index[0] = 0x02;
        assert!(is_interior(3, &index) && !is_table_interior(&index));
        assert!(!is_table_interior(&[0x0D; 16]) && !is_table_interior(&[]));
    }

    #[test]
    fn a_rowid_leads_to_the_child_whose_keys_hold_it() {
        let page = interior(&[(7, 10), (9, 200)], 11);
        assert_eq!(child_for_rowid(&page, 1), Some(7));
        assert_eq!(
            child_for_rowid(&page, 10),
            Some(7),
            "a divider is its left child's largest"
        );
        assert_eq!(child_for_rowid(&page, 11), Some(9));
        assert_eq!(child_for_rowid(&page, 200), Some(9));
        assert_eq!(child_for_rowid(&page, 201), Some(11));
        assert_eq!(child_for_rowid(&interior(&[], 4), 5), Some(4));
        let mut index = page.to_vec();
        index[0] = 0x02;
        assert_eq!(
            child_for_rowid(&index, 5),
            None,
            "not a table interior page"
        );
        let mut bad = page.to_vec();
        bad[12..14].copy_from_slice(&13u16.to_be_bytes()); // points into the pointer array
        assert_eq!(child_for_rowid(&bad, 5), None);
    }

    #[test]
    fn ancestors_walk_up_to_the_root_and_skip_other_trees() {
        // Tree A: root 2 → interiors 3 (rowids ..=20), 4 → leaves 10 (..=10), 11, 12 (..=30),
        // 13. Tree B: root 5 → leaves 20 (..=10), 21.
        let pages: Vec<(PageNo, Arc<[u8]>)> = vec![
            (2, interior(&[(3, 20)], 4)),
            (3, interior(&[(10, 10)], 11)),
            (4, interior(&[(12, 30)], 13)),
            (5, interior(&[(20, 10)], 21)),
        ];
        let up = |leaves: &[(PageNo, i64)]| {
            let mut v: Vec<PageNo> = ancestors(leaves, &pages)
                .expect("parses")
                .into_iter()
                .collect();
            v.sort();
            v
        };
        assert_eq!(up(&[(11, 15)]), vec![2, 3]);
        assert_eq!(up(&[(11, 15), (13, 40)]), vec![2, 3, 4]);
        assert_eq!(up(&[(21, 15)]), vec![5]);
        assert_eq!(
            up(&[(99, 15)]),
            Vec::<PageNo>::new(),
            "a root leaf has no ancestors"
        );
    }

    /// The reference: one pass over every interior page per level, a page being a parent when
    /// one of its children is in the level below.
    fn ancestors_by_levels(leaves: &[PageNo], interior: &[(PageNo, Arc<[u8]>)]) -> HashSet<PageNo> {
        let mut found = HashSet::new();
        let mut level = leaves.to_vec();
        while !level.is_empty() {
            let mut parents = Vec::new();
            for (page_no, image) in interior {
                if children(image).unwrap().iter().any(|c| level.contains(c))
                    && found.insert(*page_no)
                {
                    parents.push(*page_no);
                }
            }
            level = parents;
        }
        found
    }

    type Page = (PageNo, Arc<[u8]>);

    /// A valid table b-tree over `leaf_count` leaves, leaf `i` holding rowids `10 i + 1 ..=
    /// 10 i + 5`, with interior pages of `fanout` children; page numbers from `first_page` on
    /// (leaves first). Returns the leaves' page numbers and the interior pages.
    fn tree(leaf_count: u32, fanout: usize, first_page: PageNo) -> (Vec<PageNo>, Vec<Page>) {
        let leaves: Vec<PageNo> = (0..leaf_count).map(|i| first_page + i).collect();
        // (page, largest rowid below it) per node of the current level.
        let mut level: Vec<(PageNo, u16)> = (0..leaf_count)
            .map(|i| (first_page + i, (10 * i + 5) as u16))
            .collect();
        let mut next_page = first_page + leaf_count;
        let mut pages = Vec::new();
        while level.len() > 1 {
            let mut up = Vec::new();
            for group in level.chunks(fanout) {
                let (last, rest) = group.split_last().expect("chunks are not empty");
                pages.push((next_page, interior(rest, last.0)));
                up.push((next_page, last.1));
                next_page += 1;
            }
            level = up;
        }
        (leaves, pages)
    }

    proptest::proptest! {
        /// Valid trees of every shape, beside another table's tree over the same rowids: the
        /// descent by rowid finds what the per-level passes over every child find.
        #[test]
        fn ancestors_match_the_per_level_passes(
            leaf_count in 1u32..60,
            fanout in 2usize..6,
            other in 1u32..30,
            picks in proptest::collection::vec((0u32..60, 1i64..=5), 1..4),
        ) {
            let (leaves, mut interior) = tree(leaf_count, fanout, 100);
            let (_, other_table) = tree(other, 3, 1000);
            interior.extend(other_table);
            let chosen: Vec<(PageNo, i64)> = picks
                .iter()
                .map(|&(i, k)| {
                    let i = i % leaf_count;
                    (leaves[i as usize], 10 * i64::from(i) + k)
                })
                .collect();
            let pages: Vec<PageNo> = chosen.iter().map(|&(p, _)| p).collect();
            proptest::prop_assert_eq!(
                ancestors(&chosen, &interior).expect("parses"),
                ancestors_by_levels(&pages, &interior)
            );
        }
    }

    #[test]
    fn a_malformed_interior_page_gives_no_answer() {
        // The caller then locks every interior page the transaction read.
        let mut bad = interior(&[(10, 10)], 11).to_vec();
        bad[12..14].copy_from_slice(&13u16.to_be_bytes()); // points into the pointer array
        let pages: Vec<Page> = vec![(2, interior(&[(3, 20)], 4)), (3, Arc::from(bad))];
        assert_eq!(ancestors(&[(11, 15)], &pages), None);
    }

    #[test]
    fn a_cycle_in_malformed_pages_ends() {
        let pages: Vec<(PageNo, Arc<[u8]>)> = vec![(2, interior(&[], 3)), (3, interior(&[], 2))];
        let found = ancestors(&[(2, 1)], &pages).expect("parses");
        assert!(found.len() <= 2);
    }
}
