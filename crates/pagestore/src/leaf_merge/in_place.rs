//! Merges that copy the winner's page and write the loser's rows into it, for the two
//! common shapes of concurrent change to a table leaf: rows rewritten in place (`UPDATE … SET
//! k = k + 1`) and rows appended (concurrent `INSERT`s at a table's end). Each costs a page
//! copy instead of parsing all three pages and rebuilding one, and each returns `None` when
//! its shape does not hold: the general merge then decides. Either gives the rows the general
//! merge would give; only the layout differs (theirs', not packed).

use std::sync::Arc;

use crate::spare_images;

use super::{
    cells_at, changed_ranges, disjoint_within, leaf_header, parse_cell, Cell, Cells, KeyRange,
    LeafHeader, LEAF_HEADER, TABLE_LEAF,
};

/// The merge of a table leaf on which both sides only rewrote rows in place (SQLite overwrites
/// a row whose new cell has the old one's size where it is): theirs with mine's rewritten
/// rows copied in. Header and pointer array are the same on all three pages, each changed byte lies
/// in a cell of the base page that keeps its size and rowid and has no overflow page, and no
/// cell is changed by both. This is the usual merge under `UPDATE … SET k = k + 1` and costs
/// a page copy, not a parse and rebuild of the whole page.
///
/// `None` when any of that does not hold: the general merge then decides (and refuses a row
/// both sides changed). The result holds the same rows the general merge would give; only the
/// layout differs (theirs', not packed).
pub(super) fn merge_rewrites_in_place(
    base: &[u8],
    mine: &[u8],
    theirs: &[u8],
) -> Option<Arc<[u8]>> {
    let h = leaf_header(base)?;
    let pointers_end = LEAF_HEADER + 2 * h.count;
    let same_layout = |page: &[u8]| page.get(..pointers_end) == base.get(..pointers_end);
    if h.kind != TABLE_LEAF || !same_layout(mine) || !same_layout(theirs) {
        return None;
    }
    let mut cells = cells_at(base, &h, 0..h.count)?;
    disjoint_within(cells.iter().map(Cell::span), base.len())?;
    cells.sort_unstable_by_key(|c| c.offset);
    let mine_rows = rewritten_cells(base, mine, &cells, &h)?;
    let theirs_rows = rewritten_cells(base, theirs, &cells, &h)?;
    if mine_rows.iter().any(|row| theirs_rows.contains(row)) {
        return None;
    }
    let mut shared: Arc<[u8]> = spare_images::copy_of(theirs);
    let page = Arc::get_mut(&mut shared).expect("a new Arc is unshared");
    // Mine's rows, cell by cell: a changed range may join changes a few bytes apart across a
    // small cell theirs rewrote (and mine did not), which copying the range would undo.
    for &(start, end) in &mine_rows {
        page[start..end].copy_from_slice(&mine[start..end]);
    }
    Some(shared)
}

/// The byte spans of the base cells (`cells`, sorted by offset) whose bytes `page` changed, if
/// every changed byte lies in such a cell and each changed cell keeps its size and rowid and
/// has no overflow page, before and after; `None` otherwise.
fn rewritten_cells(
    base: &[u8],
    page: &[u8],
    cells: &[Cell<'_>],
    h: &LeafHeader,
) -> Option<Vec<(usize, usize)>> {
    let mut rewritten: Vec<(usize, usize)> = Vec::new();
    for (start, end) in changed_ranges(base, page) {
        let mut at = start;
        // Bounded: each iteration moves `at` past a cell, or returns.
        while at < end {
            // The cell holding the changed byte at `at`: the last one starting at or before it.
            let i = cells.partition_point(|c| c.offset <= at).checked_sub(1)?;
            let cell = &cells[i];
            let (cell_start, cell_end) = cell.span();
            if at >= cell_end {
                return None; // a change outside every cell
            }
            let new = parse_cell(page, cell_start, h.kind, h.max_local)?;
            let same_shape = new.bytes.len() == cell.bytes.len() && new.rowid == cell.rowid;
            if !same_shape || cell.overflow || new.overflow {
                return None;
            }
            let bytes = (cell_start, cell_start + cell.bytes.len());
            if rewritten.last() != Some(&bytes) {
                rewritten.push(bytes);
            }
            // The next changed byte of this range past the cell (ranges join nearby changes).
            at = (cell_end..end).find(|&x| base[x] != page[x]).unwrap_or(end);
        }
    }
    Some(rewritten)
}

/// The merge of a table leaf to which both sides only appended rows since `base` — concurrent
/// inserts at a table's end, the usual merge under `oltp_insert`: theirs with mine's new cells
/// written into its unallocated gap and their pointers placed among theirs' new ones in rowid
/// order.
///
/// Each side must keep base's header fields other than the cell count and content start,
/// base's pointer array as the start of its own, and every byte of base's content area; its
/// further pointers must lead to cells without overflow pages, inside the space it allocated
/// below base's content area, with rowids rising past base's last. The rows land at the
/// page's end, so the key range must be vouched for (`KeyRange::Unchanged`), as the general
/// merge requires. `None` also when a rowid is on both sides or mine's cells do not fit in
/// theirs' gap (the general merge then refuses, or repacks the page), and when base itself is
/// not a well-formed leaf (its cells out of order, overlapping or below its content start, or
/// a freeblock there): the general merge refuses that, and this copy would write over it.
pub(super) fn merge_appends_in_place(
    base: &[u8],
    mine: &[u8],
    theirs: &[u8],
    range: KeyRange,
) -> Option<Arc<[u8]>> {
    if range != KeyRange::Unchanged {
        return None;
    }
    let hb = leaf_header(base)?;
    if hb.kind != TABLE_LEAF {
        return None;
    }
    let last = well_formed_last_rowid(base, &hb)?;
    let (_, mine_new) = appended_cells(base, &hb, last, mine)?;
    let (ht, theirs_new) = appended_cells(base, &hb, last, theirs)?;
    if mine_new.is_empty() {
        return None;
    }
    let content: usize = mine_new.iter().map(Cell::alloc_size).sum();
    let count = ht.count + mine_new.len();
    let pointers_end = LEAF_HEADER + 2 * count;
    let content_start = ht.content_start.checked_sub(content)?;
    if content_start < pointers_end || share_a_rowid(&mine_new, &theirs_new) {
        return None;
    }
    // Every new row, theirs at its offset and mine at the one it gets, in rowid order.
    let mut placed: Vec<(i64, usize)> = theirs_new.iter().map(|c| (c.rowid, c.offset)).collect();
    let mut shared: Arc<[u8]> = spare_images::copy_of(theirs);
    let page = Arc::get_mut(&mut shared).expect("a new Arc is unshared");
    let mut top = ht.content_start;
    for cell in &mine_new {
        top -= cell.alloc_size();
        page[top..top + cell.alloc_size()].fill(0);
        page[top..top + cell.bytes.len()].copy_from_slice(cell.bytes);
        placed.push((cell.rowid, top));
    }
    placed.sort_unstable_by_key(|&(rowid, _)| rowid);
    for (i, &(_, offset)) in placed.iter().enumerate() {
        let at = LEAF_HEADER + 2 * (hb.count + i);
        page[at..at + 2].copy_from_slice(&u16::try_from(offset).ok()?.to_be_bytes());
    }
    page[3..5].copy_from_slice(&u16::try_from(count).ok()?.to_be_bytes());
    // Below the page size, so never the 0 that stands for 65536.
    page[5..7].copy_from_slice(&u16::try_from(content_start).ok()?.to_be_bytes());
    Some(shared)
}

/// Whether two lists of cells, each in rising rowid order, have a rowid in common (one walk).
fn share_a_rowid(a: &[Cell<'_>], b: &[Cell<'_>]) -> bool {
    let (mut i, mut j) = (0, 0);
    // Bounded: each iteration advances i or j, or returns.
    while i < a.len() && j < b.len() {
        match a[i].rowid.cmp(&b[j].rowid) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// The last rowid of table leaf `base` (header `hb`; `Some(None)` when it has no cells), if
/// base is well formed where the append merge relies on it: every cell parses inside its
/// content area, the cells do not overlap, their rowids rise, and its first freeblock, if any,
/// is inside the content area (nothing of base lies in the gap the merge writes to).
fn well_formed_last_rowid(base: &[u8], hb: &LeafHeader) -> Option<Option<i64>> {
    let first_freeblock = usize::from(u16::from_be_bytes([*base.get(1)?, *base.get(2)?]));
    if first_freeblock != 0 && first_freeblock < hb.content_start {
        return None;
    }
    let cells = cells_at(base, hb, 0..hb.count)?;
    if cells.windows(2).any(|w| w[0].rowid >= w[1].rowid) {
        return None;
    }
    disjoint_within(cells.iter().map(Cell::span), base.len())?;
    Some(cells.last().map(|c| c.rowid))
}

/// The header of `page` and the cells it appended to `base` (header `hb`, last rowid `last`),
/// if appending is all it did (see [`merge_appends_in_place`]); their rowids rise.
fn appended_cells<'a>(
    base: &[u8],
    hb: &LeafHeader,
    mut last: Option<i64>,
    page: &'a [u8],
) -> Option<(LeafHeader, Cells<'a>)> {
    let h = leaf_header(page)?;
    let base_pointers_end = LEAF_HEADER + 2 * hb.count;
    let same_header = page.get(..3) == base.get(..3) && page.get(7) == base.get(7);
    let kept = page.get(LEAF_HEADER..base_pointers_end) == base.get(LEAF_HEADER..base_pointers_end)
        && page.get(hb.content_start..) == base.get(hb.content_start..);
    if h.kind != TABLE_LEAF || !same_header || !kept || h.count < hb.count {
        return None;
    }
    if h.content_start > hb.content_start {
        return None;
    }
    let new = cells_at(page, &h, hb.count..h.count)?;
    for cell in &new {
        let (start, end) = cell.span();
        let in_gap = start >= h.content_start && end <= hb.content_start;
        if cell.overflow || !in_gap || last.is_some_and(|l| cell.rowid <= l) {
            return None;
        }
        last = Some(cell.rowid);
    }
    // Cells that overlap cannot both be copied whole.
    disjoint_within(new.iter().map(Cell::span), page.len())?;
    Some((h, new))
}
