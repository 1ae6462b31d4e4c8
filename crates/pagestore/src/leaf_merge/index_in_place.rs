//! The merge of an index leaf on which the loser replaced a few entries in one stretch of the
//! page — the usual index merge under `UPDATE … SET k = k + 1`, where an entry moves from among
//! the entries of `k` to among those of `k + 1` — as an edit of the winner's page: the loser's
//! removed entries are freed and its new ones written into free space, SQLite's way
//! ([`super::free_space`]), and the pointer array spliced. The general merge parses all three
//! pages, matches cells by identity and builds a new page; this parses only the loser's
//! window and the winner's cells there.
//!
//! The loser's *window* is where its pointer array differs from the base's, widened to every
//! base cell whose bytes changed (SQLite often writes an entry where the one it replaces was,
//! under the same pointer). The merge applies when the winner kept the window and the cell on
//! either side of it — the same pointers in a row, the same bytes — so the loser's entries go
//! between the same two neighbours; the window never reaches an end of the page (a rebalance
//! moves the key range at an end, see [`super::KeyRange`]). `None` otherwise, and when the new
//! entries do not fit without defragmenting: the general merge then decides. The result holds
//! the entries the general merge would give, in the same order; only the layout differs.
//!
//! The base is the store's version of the page, which SQLite (or a merge) wrote: its pointers
//! are checked (inside the content area, no two alike), the cells this merge frees are checked
//! clear of their neighbours, and the cells it reads are parsed with bounds checks — but not
//! every cell, which is what this path saves. The winner's free list is checked as it is
//! walked (rising, inside the content area).

use std::sync::Arc;

use crate::spare_images;

use super::free_space::{allocate, content_start, free};
use super::LEAF_HEADER;
use super::{cell_at, changed_ranges, leaf_header, parse_cell};
use super::{Cell, LeafHeader, PageBits, INDEX_LEAF};

/// Most cells the loser's window may hold. An entry of `k` moving past the other entries of
/// `k` makes windows of tens of cells under sysbench's skewed `k`; past this the change is not
/// the move this path is for.
const MAX_WINDOW: usize = 256;

/// The in-place merge of index leaf pages (see the module docs).
/// The three pages have one valid page size (the callers check).
pub(super) fn merge_index_in_place(base: &[u8], mine: &[u8], theirs: &[u8]) -> Option<Arc<[u8]>> {
    let hb = leaf_header(base)?;
    if hb.kind != INDEX_LEAF {
        return None;
    }
    let starts = cell_starts(base, &hb)?;
    let my = window(base, &hb, &starts, mine)?;
    let (at, count) = kept_by_theirs(base, &hb, &my, theirs)?;
    let mut shared: Arc<[u8]> = spare_images::copy_of(theirs);
    let page = Arc::get_mut(&mut shared).expect("a new Arc is unshared");
    splice(page, &my, at, count)?;
    Some(shared)
}

/// Where `my` window's first base cell is in `theirs`' pointer array, and theirs' cell count,
/// if theirs holds the window and the cell on either side of it as the base does: the same
/// pointers in a row, and the same bytes under them.
fn kept_by_theirs(
    base: &[u8],
    hb: &LeafHeader,
    my: &Window<'_, '_>,
    theirs: &[u8],
) -> Option<(usize, usize)> {
    let ht = leaf_header(theirs)?;
    if ht.kind != INDEX_LEAF {
        return None;
    }
    let run_from = my.base.start.checked_sub(1)?;
    let run = pointer_array(base, hb.count)?.get(2 * run_from..2 * (my.base.end + 1))?;
    let their_pointers = pointer_array(theirs, ht.count)?;
    let first = their_pointers
        .chunks_exact(2)
        .position(|p| p == &run[..2])?;
    if their_pointers.get(2 * first..2 * first + run.len())? != run {
        return None;
    }
    let neighbours = [run_from, my.base.end].map(|i| window_cell(base, hb, i));
    for cell in my.removed.iter().chain(neighbours.iter().flatten()) {
        let (start, end) = cell.span();
        if theirs.get(start..end)? != base.get(start..end)? {
            return None;
        }
    }
    neighbours
        .iter()
        .all(Option::is_some)
        .then_some((first + 1, ht.count))
}

/// One side's change: base cells `base` (pointer indexes) replaced by the side's `cells`.
struct Window<'a, 'b> {
    base: std::ops::Range<usize>,
    /// The base's cells in the window.
    removed: Vec<Cell<'b>>,
    /// The side's cells in the window, in pointer order.
    cells: Vec<Cell<'a>>,
}

/// `page`'s window against `base` (header `hb`, cell starts `starts`): the pointers where
/// the arrays differ and the base cells whose bytes changed. `None` unless a kept cell is left
/// on each side of it, it holds at most [`MAX_WINDOW`] cells, and none has an overflow page.
fn window<'a, 'b>(
    base: &'b [u8],
    hb: &LeafHeader,
    starts: &[u64],
    page: &'a [u8],
) -> Option<Window<'a, 'b>> {
    let h = leaf_header(page)?;
    if h.kind != INDEX_LEAF {
        return None;
    }
    let (nb, n) = (hb.count, h.count);
    let (bp, pp) = (pointer_array(base, nb)?, pointer_array(page, n)?);
    let pairs = || bp.chunks_exact(2).zip(pp.chunks_exact(2));
    let prefix = pairs().take_while(|(a, b)| a == b).count();
    let rpairs = bp.rchunks_exact(2).zip(pp.rchunks_exact(2));
    let suffix = rpairs
        .take(nb.min(n) - prefix)
        .take_while(|(a, b)| a == b)
        .count();
    // The pointer window, in base indexes; empty (no bound) when the arrays are equal.
    let (mut lo, mut hi) = if prefix == nb && prefix == n {
        (usize::MAX, 0)
    } else {
        (prefix, nb - suffix)
    };
    for i in changed_cells(base, hb, starts, page)? {
        (lo, hi) = (lo.min(i), hi.max(i + 1));
    }
    // At least one kept cell on each side; in the side's indexes the window ends where the
    // base's does, moved by the cells the side added or removed.
    let side_hi = (hi + n).checked_sub(nb)?;
    if lo == 0 || lo > hi || hi >= nb || lo > side_hi || side_hi >= n {
        return None;
    }
    if (hi - lo).max(side_hi - lo) > MAX_WINDOW {
        return None;
    }
    let removed: Vec<Cell<'b>> = (lo..hi)
        .map(|i| window_cell(base, hb, i))
        .collect::<Option<_>>()?;
    if !removed
        .iter()
        .all(|c| clear_of_neighbours(base, hb, starts, c))
    {
        return None;
    }
    let cells: Vec<Cell<'a>> = (lo..side_hi)
        .map(|i| window_cell(page, &h, i))
        .collect::<Option<_>>()?;
    Some(Window {
        base: lo..hi,
        removed,
        cells,
    })
}

/// The bytes of the pointer array of a page with `count` cells.
fn pointer_array(page: &[u8], count: usize) -> Option<&[u8]> {
    page.get(LEAF_HEADER..LEAF_HEADER + 2 * count)
}

/// The cell pointer `i` of `page` (header `h`) points at, if it lies in the content area,
/// inside the page, and has no overflow page (a changed cell with one is never merged).
fn window_cell<'p>(page: &'p [u8], h: &LeafHeader, i: usize) -> Option<Cell<'p>> {
    cell_at(page, h, i).filter(|cell| !cell.overflow && cell.span().1 <= page.len())
}

/// Whether `cell` of `base` overlaps neither the cell that starts before it nor the one after:
/// the merge frees its bytes, which must then hold no other cell's. (The cells are not all
/// checked, see the module docs; these are the ones the merge writes over.)
fn clear_of_neighbours(base: &[u8], hb: &LeafHeader, starts: &[u64], cell: &Cell<'_>) -> bool {
    let (start, end) = cell.span();
    let after_ok = next_start(starts, start + 1).is_none_or(|next| next >= end);
    let before_ok = match start
        .checked_sub(1)
        .and_then(|b| last_start_at_or_before(starts, b))
    {
        Some(previous) => {
            parse_cell(base, previous, hb.kind, hb.max_local).is_some_and(|p| p.span().1 <= start)
        }
        None => true,
    };
    after_ok && before_ok
}

/// Whether two cells are one: same offset, same bytes.
fn same_cell(a: &Cell<'_>, b: &Cell<'_>) -> bool {
    a.offset == b.offset && a.bytes == b.bytes
}

/// The pointer indexes of the base cells whose bytes differ on `page`: only cells where a byte
/// of the base's content area changed are looked at, found through the bitmap of cell starts
/// `starts`. `None` past [`MAX_WINDOW`] of them.
fn changed_cells(base: &[u8], hb: &LeafHeader, starts: &[u64], page: &[u8]) -> Option<Vec<usize>> {
    let pointers = pointer_array(base, hb.count)?;
    let mut changed = Vec::new();
    for (from, to) in changed_ranges(base, page) {
        if to <= hb.content_start {
            continue; // the pointer array and the gap: no base cell is there
        }
        // The cell holding `from` starts at or before it; later ones start inside the range.
        let mut at = last_start_at_or_before(starts, from).unwrap_or(from);
        // Bounded: `at` rises past a cell start on every step.
        while let Some(offset) = next_start(starts, at).filter(|&o| o < to) {
            let cell = parse_cell(base, offset, hb.kind, hb.max_local)?;
            let (start, end) = cell.span();
            if end > from && base.get(start..end)? != page.get(start..end)? {
                let pointer = u16::try_from(offset).ok()?.to_be_bytes();
                let index = pointers.chunks_exact(2).position(|p| p == pointer)?;
                changed.push(index);
                if changed.len() > MAX_WINDOW {
                    return None;
                }
            }
            at = offset + 1;
        }
    }
    Some(changed)
}

/// Replace `my`'s window, at pointer index `at` of `page` (a copy of theirs, `count` cells),
/// by my cells: removed cells freed, new ones written into free space, pointers spliced. A
/// cell my window kept where it was (same offset, same bytes: an entry that only moved in the
/// pointer array) stays.
fn splice(page: &mut [u8], my: &Window<'_, '_>, at: usize, count: usize) -> Option<()> {
    let mut removed: Vec<&Cell<'_>> = my.removed.iter().collect();
    removed.sort_unstable_by_key(|c| c.offset);
    let find = |c: &Cell<'_>| {
        let i = removed.binary_search_by_key(&c.offset, |r| r.offset).ok()?;
        same_cell(removed[i], c).then_some(i)
    };
    let mut stays = vec![false; removed.len()];
    for cell in &my.cells {
        if let Some(i) = find(cell) {
            if stays[i] {
                return None; // two of my pointers to one cell: a malformed page
            }
            stays[i] = true;
        }
    }
    for (gone, _) in removed.iter().zip(&stays).filter(|(_, &stays)| !stays) {
        free(page, gone.offset, gone.alloc_size())?;
    }
    let new_count = (count + my.cells.len()).checked_sub(my.removed.len())?;
    let pointers_end = LEAF_HEADER + 2 * new_count;
    let old_end = LEAF_HEADER + 2 * count;
    // The old pointer array stays in place until the splice below: no cell may go where either
    // array lies (SQLite drops a cell's pointer before it allocates the next; this allocates
    // every cell first).
    let reserved = pointers_end.max(old_end);
    let mut offsets = Vec::with_capacity(my.cells.len());
    for cell in &my.cells {
        if find(cell).is_some() {
            offsets.push(cell.offset);
            continue;
        }
        let size = cell.alloc_size();
        let offset = allocate(page, size, reserved)?;
        page.get_mut(offset..offset + size)?.fill(0);
        page[offset..offset + cell.bytes.len()].copy_from_slice(cell.bytes);
        offsets.push(offset);
    }
    if content_start(page)? < reserved {
        return None;
    }
    // The pointers after the window move to their new place, then the window's are written.
    let tail_from = LEAF_HEADER + 2 * (at + my.removed.len());
    let tail_to = LEAF_HEADER + 2 * (at + my.cells.len());
    page.copy_within(tail_from..old_end, tail_to);
    if pointers_end < old_end {
        page[pointers_end..old_end].fill(0);
    }
    for (i, offset) in offsets.into_iter().enumerate() {
        let pointer = u16::try_from(offset).ok()?.to_be_bytes();
        let slot = LEAF_HEADER + 2 * (at + i);
        page[slot..slot + 2].copy_from_slice(&pointer);
    }
    let stored = u16::try_from(new_count).ok()?.to_be_bytes();
    page[3..5].copy_from_slice(&stored);
    Some(())
}

/// A bitmap of the page's cell starts, if every pointer is inside the content area and no two
/// are alike. The cells are not parsed here (see the module docs).
fn cell_starts(page: &[u8], h: &LeafHeader) -> Option<PageBits> {
    let mut starts = PageBits::from_elem(0, page.len().div_ceil(64));
    for pointer in pointer_array(page, h.count)?.chunks_exact(2) {
        let offset = usize::from(u16::from_be_bytes([pointer[0], pointer[1]]));
        let bit = 1u64 << (offset % 64);
        let word = starts.get_mut(offset / 64)?;
        if offset < h.content_start || *word & bit != 0 {
            return None;
        }
        *word |= bit;
    }
    Some(starts)
}

/// The first set bit at or after `at`.
fn next_start(bits: &[u64], at: usize) -> Option<usize> {
    let mut word = at / 64;
    let mut current = bits.get(word)? & (u64::MAX << (at % 64));
    // Bounded by the bitmap's length.
    while current == 0 {
        word += 1;
        current = *bits.get(word)?;
    }
    Some(word * 64 + current.trailing_zeros() as usize)
}

/// The last set bit at or before `at`.
fn last_start_at_or_before(bits: &[u64], at: usize) -> Option<usize> {
    let mut word = at / 64;
    let shift = 63 - at % 64;
    let mut current = (bits.get(word)? << shift) >> shift;
    // Bounded by the bitmap's start.
    while current == 0 {
        word = word.checked_sub(1)?;
        current = bits[word];
    }
    Some(word * 64 + 63 - current.leading_zeros() as usize)
}
