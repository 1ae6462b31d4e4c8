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

/// Calls `f` with each child page number of an interior page (not page 1), without collecting
/// them; `None` (possibly after some calls) if the page is not one or is malformed. Every cell
/// starts with its left child's page number; the header holds the right-most child.
fn for_each_child(image: &[u8], mut f: impl FnMut(PageNo)) -> Option<()> {
    if !matches!(image.first(), Some(0x05) | Some(0x02)) {
        return None;
    }
    let be_u16 = |at: usize| -> Option<usize> {
        let b = image.get(at..at + 2)?;
        Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    let be_u32 = |at: usize| -> Option<PageNo> {
        let b = image.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = be_u16(3)?;
    for i in 0..count {
        let cell = be_u16(INTERIOR_HEADER + 2 * i)?;
        if cell < INTERIOR_HEADER + 2 * count {
            return None;
        }
        f(be_u32(cell)?);
    }
    f(be_u32(8)?);
    Some(())
}

/// The ancestors of `leaves` among the interior pages `interior` (page number → image), or
/// `None` if an interior page is malformed (the caller then locks them all).
///
/// Runs on every commit that appends rows, over every interior page the transaction read: a
/// table's root alone lists hundreds to thousands of children, and more as the table grows.
/// So every child is looked at once: one pass over the children of every interior page notes
/// which of them are the leaves or the interior pages themselves (a search in a sorted list
/// of those few pages), and the walk up from the leaves then goes through those links only.
/// A pass per level (comparing every child with the level below) grew to 6 % of the server's
/// samples as oltp_insert's tables grew; a map of every child to its parent cost a hash insert
/// per child. Bounded: each step of the walk adds a page to the result or ends it.
pub fn ancestors(
    leaves: &[PageNo],
    interior: &[(PageNo, std::sync::Arc<[u8]>)],
) -> Option<HashSet<PageNo>> {
    let mut targets: Vec<PageNo> = leaves
        .iter()
        .copied()
        .chain(interior.iter().map(|(page_no, _)| *page_no))
        .collect();
    targets.sort_unstable();
    targets.dedup();
    // (child, parent) for every child that is one of the targets.
    let mut links: Vec<(PageNo, PageNo)> = Vec::new();
    for (page_no, image) in interior {
        for_each_child(image, |child| {
            if targets.binary_search(&child).is_ok() {
                links.push((child, *page_no));
            }
        })?;
    }
    let mut found = HashSet::new();
    let mut level: Vec<PageNo> = leaves.to_vec();
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
    fn interior(cells: &[(u32, u8)], right: u32) -> Arc<[u8]> {
        let mut page = vec![0u8; 512];
        page[0] = 0x05;
        page[3..5].copy_from_slice(&(cells.len() as u16).to_be_bytes());
        page[8..12].copy_from_slice(&right.to_be_bytes());
        let mut top = 512;
        for (i, (child, key)) in cells.iter().enumerate() {
            top -= 5;
            page[top..top + 4].copy_from_slice(&child.to_be_bytes());
            page[top + 4] = *key;
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
    fn ancestors_walk_up_to_the_root_and_skip_other_trees() {
        // Tree A: root 2 → interiors 3, 4 → leaves 10..13. Tree B: root 5 → leaves 20, 21.
        let pages: Vec<(PageNo, Arc<[u8]>)> = vec![
            (2, interior(&[(3, 1)], 4)),
            (3, interior(&[(10, 1)], 11)),
            (4, interior(&[(12, 1)], 13)),
            (5, interior(&[(20, 1)], 21)),
        ];
        let up = |leaves: &[PageNo]| {
            let mut v: Vec<PageNo> = ancestors(leaves, &pages)
                .expect("parses")
                .into_iter()
                .collect();
            v.sort();
            v
        };
        assert_eq!(up(&[11]), vec![2, 3]);
        assert_eq!(up(&[11, 13]), vec![2, 3, 4]);
        assert_eq!(up(&[21]), vec![5]);
        assert_eq!(
            up(&[99]),
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

    proptest::proptest! {
        /// Random forests of interior pages (children may repeat across pages, as in malformed
        /// ones): the one-pass walk finds what the per-level passes find.
        #[test]
        fn ancestors_match_the_per_level_passes(
            pages in proptest::collection::vec(
                (proptest::collection::vec(2u32..40, 0..6), 2u32..40),
                1..8,
            ),
            leaves in proptest::collection::vec(2u32..40, 1..4),
        ) {
            let interior: Vec<(PageNo, Arc<[u8]>)> = pages
                .iter()
                .enumerate()
                .map(|(i, (cells, right))| {
                    let cells: Vec<(u32, u8)> = cells.iter().map(|&c| (c, 0)).collect();
                    (2 + i as PageNo, interior(&cells, *right))
                })
                .collect();
            proptest::prop_assert_eq!(
                ancestors(&leaves, &interior).expect("parses"),
                ancestors_by_levels(&leaves, &interior)
            );
        }
    }

    #[test]
    fn a_cycle_in_malformed_pages_ends() {
        let pages: Vec<(PageNo, Arc<[u8]>)> = vec![(2, interior(&[], 3)), (3, interior(&[], 2))];
        let found = ancestors(&[2], &pages).expect("parses");
        assert!(found.len() <= 2);
    }
}
