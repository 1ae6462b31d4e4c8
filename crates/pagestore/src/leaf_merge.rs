//! Three-way merge of one SQLite b-tree leaf page, for commits that lost first-committer-wins
//! on a page whose rows the winner did not touch.
//!
//! `base` is the page at the loser's snapshot, `mine` the loser's new image, `theirs` the
//! winner's (current) image. Each side is diffed against `base` as a list of cells: a cell is
//! "kept" when its identity (rowid for table leaves, the whole cell for index leaves) and bytes
//! are unchanged; between kept anchors, removed base cells and new cells form a hunk. When no
//! hunk of one side overlaps a hunk of the other, and touching hunks stay away from the page's
//! ends and do not both add rows, the hunks are applied to `base` and the page is rebuilt (cells packed at the end, every unused byte zero, as with SQLite's
//! `secure_delete=ON`). Anything unusual — page 1, interior pages, malformed bytes, changed cells
//! with overflow pages, a page that would not fit — refuses the merge: a refused merge costs a
//! retry, a wrong one corrupts data. Input comes from the network, so parsing never panics.

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;

mod free_space;
mod in_place;
mod index_in_place;

use in_place::{merge_appends_in_place, merge_rewrites_in_place};

/// Identity maps hash every cell of three pages per merge, under the store's commit lock:
/// SipHash there was a fifth of a single instance's CPU under `oltp_update_index` (perf).
/// foldhash is several times faster on short keys, and each map lives for one merge.
type IdentityMap<'a> = HashMap<Identity<'a>, usize, foldhash::fast::RandomState>;

/// Page type byte of a table b-tree leaf (rowid tables).
const TABLE_LEAF: u8 = 0x0D;
/// Page type byte of an index b-tree leaf.
const INDEX_LEAF: u8 = 0x0A;
/// Bytes of a leaf page's header (interior pages have 12; they are never merged).
const LEAF_HEADER: usize = 8;
/// SQLite never allocates less than this for a cell (`cellSizePtr`).
const MIN_CELL: usize = 4;
/// Smallest and largest SQLite page sizes.
const MIN_PAGE: usize = 512;
const MAX_PAGE: usize = 65536;

/// Three-way merge of one SQLite b-tree leaf page. `None` = not mergeable (a real conflict).
///
/// All three slices must have the same length, a valid SQLite page size with no reserved bytes.
/// Refuses (returns `None`) page 1, interior or mixed page types, malformed pages, changed cells
/// that spill to overflow pages, overlapping changes, touching changes at a page end or both
/// adding rows, and a result that does not fit.
pub fn merge_leaf(base: &[u8], mine: &[u8], theirs: &[u8], page_no: u32) -> Option<Vec<u8>> {
    merge_leaf_explained(base, mine, theirs, page_no, KeyRange::MayHaveMoved)
        .ok()
        .map(|page| page.to_vec())
}

/// What the caller knows about the leaf's key range (its parent's divider keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRange {
    /// It may have changed since `base`: rows the loser adds at an end of the page are refused.
    MayHaveMoved,
    /// No interior page the loser read changed since `base` (the store checked the loser's
    /// guard pages): the range is the one the loser placed its rows in, and no other commit
    /// rebalanced the page (a rebalance rewrites the parent).
    Unchanged,
}

/// Why [`merge_leaf_explained`] refused a merge: each is a real conflict for the loser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Page 1, an interior page, pages of different types, or an unusual page size.
    NotALeaf,
    /// A page that does not parse as a leaf, or kept cells out of order.
    Malformed,
    /// A changed cell spills to overflow pages.
    Overflow,
    /// The two sides' changes overlap: both changed or removed the same row (index entry), or
    /// one added a row between rows the other changed.
    SameCell,
    /// The two sides' changes are next to each other, at an end of the page or both adding rows.
    Adjacent,
    /// The loser adds a row at an end of the page (the parent's divider keys may have moved).
    AtPageEnd,
    /// The merged cells are empty or out of order.
    Unordered,
    /// The merged cells do not fit on the page.
    DoesNotFit,
}

impl Refusal {
    /// How many reasons there are.
    pub const COUNT: usize = 8;

    /// Every reason, in the order of [`Refusal::index`].
    pub const ALL: [Refusal; Refusal::COUNT] = [
        Refusal::NotALeaf,
        Refusal::Malformed,
        Refusal::Overflow,
        Refusal::SameCell,
        Refusal::Adjacent,
        Refusal::AtPageEnd,
        Refusal::Unordered,
        Refusal::DoesNotFit,
    ];

    /// Position in [`Refusal::ALL`] (and in [`crate::StoreStats::merge_refusals`]).
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short name for logs and counters.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NotALeaf => "not_a_leaf",
            Refusal::Malformed => "malformed",
            Refusal::Overflow => "overflow",
            Refusal::SameCell => "same_rows",
            Refusal::Adjacent => "adjacent",
            Refusal::AtPageEnd => "at_page_end",
            Refusal::Unordered => "unordered",
            Refusal::DoesNotFit => "does_not_fit",
        }
    }
}

/// [`merge_leaf`], saying why a merge is refused, with what is known of the key range.
pub fn merge_leaf_explained(
    base: &[u8],
    mine: &[u8],
    theirs: &[u8],
    page_no: u32,
    range: KeyRange,
) -> Result<Arc<[u8]>, Refusal> {
    let size = base.len();
    if page_no == 1 || mine.len() != size || theirs.len() != size || !valid_page_size(size) {
        return Err(Refusal::NotALeaf);
    }
    if let Some(page) = merge_rewrites_in_place(base, mine, theirs) {
        return Ok(page);
    }
    if let Some(page) = merge_appends_in_place(base, mine, theirs, range) {
        return Ok(page);
    }
    if let Some(page) = index_in_place::merge_index_in_place(base, mine, theirs) {
        return Ok(page);
    }
    merge_parsed(base, mine, theirs, range, Window::Changed)
}

/// The merge of an index leaf on which `mine` changed one stretch of entries away from the
/// page's ends, and `theirs` kept that stretch and the entry on either side of it, as an edit
/// of `theirs` in place; `None` when the change is not of that shape or the pages differ in
/// size (then [`merge_leaf_explained`] goes on to the general merge, which gives the same
/// entries in the same order, packed).
pub fn merge_index_leaf_in_place(base: &[u8], mine: &[u8], theirs: &[u8]) -> Option<Arc<[u8]>> {
    let size = base.len();
    if mine.len() != size || theirs.len() != size || !valid_page_size(size) {
        return None;
    }
    index_in_place::merge_index_in_place(base, mine, theirs)
}

/// How much of a side's page [`merge_parsed`] parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    /// Only the cells between the unchanged ends (see [`changed_window`]).
    Changed,
    /// Every cell (tests check that this gives the same result).
    #[cfg(test)]
    Whole,
}

/// The merge after the page checks: `base` parsed whole, each side only where it changed.
fn merge_parsed(
    base_page: &[u8],
    mine: &[u8],
    theirs: &[u8],
    range: KeyRange,
    window: Window,
) -> Result<Arc<[u8]>, Refusal> {
    let size = base_page.len();
    let base = parse_leaf(base_page).ok_or(Refusal::NotALeaf)?;
    let side = |page| changed_window(base_page, &base, page, window);
    let (mine, theirs) = (side(mine)?, side(theirs)?);
    let mine_hunks = diff(&base, &mine)?;
    // A row this write set adds at either end of the page is only right while the parent's
    // divider keys are as it read them; the merge cannot see the parent, so it refuses unless
    // the caller vouches for the range.
    if range == KeyRange::MayHaveMoved
        && mine_hunks.iter().any(|h| {
            (h.start == 0 || h.end == base.cells.len()) && adds_a_row(base.kind, &base.cells, h)
        })
    {
        return Err(Refusal::AtPageEnd);
    }
    let theirs_hunks = diff(&base, &theirs)?;
    let added: Vec<Cell<'_>> = mine_hunks
        .iter()
        .chain(&theirs_hunks)
        .flat_map(|h| h.cells.iter().copied())
        .collect();
    let merged = apply(base.kind, &base.cells, mine_hunks, theirs_hunks)?;
    check_merged(base.kind, &merged, &added).ok_or(Refusal::Unordered)?;
    build_page(base.kind, &merged, size).ok_or(Refusal::DoesNotFit)
}

/// A SQLite page size: a power of two from 512 to 65536.
fn valid_page_size(size: usize) -> bool {
    (MIN_PAGE..=MAX_PAGE).contains(&size) && size.is_power_of_two()
}

/// One cell of a parsed leaf page.
#[derive(Debug, Clone, Copy)]
struct Cell<'a> {
    /// The cell's bytes as stored on the page (header, local payload, overflow page number).
    bytes: &'a [u8],
    /// Where they start on the page.
    offset: usize,
    /// Rowid for table leaves; unused (0) for index leaves.
    rowid: i64,
    /// The payload spills to overflow pages.
    overflow: bool,
}

impl Cell<'_> {
    /// Bytes this cell takes in the content area.
    fn alloc_size(&self) -> usize {
        self.bytes.len().max(MIN_CELL)
    }

    /// The bytes `[start, end)` this cell takes on its page.
    fn span(&self) -> (usize, usize) {
        (self.offset, self.offset + self.alloc_size())
    }
}

/// Cells of one page. Most table leaves hold fewer than 100 rows: their cells stay on the
/// stack. A heap vector per merged page was a visible share of a merge's time in malloc, more
/// so on a server whose heap had been fragmented by earlier work.
type Cells<'a> = SmallVec<[Cell<'a>; 96]>;

/// One bit per byte of a page, on the stack for pages up to 16 KiB (see [`Cells`]).
type PageBits = SmallVec<[u64; 256]>;

/// A leaf page as its type and its cells in pointer-array (key) order.
struct Leaf<'a> {
    kind: u8,
    /// Start of the cell content area: every cell lies at or above it.
    content_start: usize,
    cells: Cells<'a>,
    /// One bit per page byte, set where a cell is (see [`disjoint_within`]).
    used: PageBits,
}

/// Header fields of a leaf page, checked: type, cell count, start of the cell content area.
struct LeafHeader {
    kind: u8,
    count: usize,
    content_start: usize,
    /// [`max_local`] of this page: the same for every cell, computed once.
    max_local: usize,
}

/// Read and check a leaf page's header (not page 1: the header is at offset 0): a leaf type,
/// and the pointer array ending at or before the content area, inside the page.
fn leaf_header(page: &[u8]) -> Option<LeafHeader> {
    let kind = *page.first()?;
    if kind != TABLE_LEAF && kind != INDEX_LEAF {
        return None;
    }
    let count = usize::from(read_u16(page, 3)?);
    let content_start = match read_u16(page, 5)? {
        0 => MAX_PAGE,
        n => usize::from(n),
    };
    let pointers_end = LEAF_HEADER.checked_add(count.checked_mul(2)?)?;
    if pointers_end > content_start || content_start > page.len() {
        return None;
    }
    Some(LeafHeader {
        kind,
        count,
        content_start,
        max_local: max_local(kind, page.len())?,
    })
}

/// The cell that pointer `i` of a page with header `h` points at; `None` if the pointer is
/// outside the content area or the cell does not parse.
fn cell_at<'a>(page: &'a [u8], h: &LeafHeader, i: usize) -> Option<Cell<'a>> {
    let offset = usize::from(read_u16(page, LEAF_HEADER + 2 * i)?);
    if offset < h.content_start {
        return None;
    }
    parse_cell(page, offset, h.kind, h.max_local)
}

/// The cells that pointers `range` of a page with header `h` point at, in a vector of the
/// exact size: `collect` into `Option<Vec<_>>` cannot know the size and grew the vector about
/// ten times for a full index leaf (1,000+ cells), a visible share of a merge's time.
fn cells_at<'a>(
    page: &'a [u8],
    h: &LeafHeader,
    range: std::ops::Range<usize>,
) -> Option<Cells<'a>> {
    let mut cells = Cells::with_capacity(range.len());
    for i in range {
        cells.push(cell_at(page, h, i)?);
    }
    Some(cells)
}

/// The smallest and largest rowid on a non-empty table leaf page (not page 1); `None` for any
/// other page. The engine uses it to tell a write that extends a leaf's key range, on every
/// dirty page of every commit: only the first and last cells are parsed (the pointer array is
/// in key order), not the whole page.
pub fn table_leaf_rowid_range(page: &[u8]) -> Option<(i64, i64)> {
    if *page.first()? != TABLE_LEAF || !valid_page_size(page.len()) {
        return None;
    }
    let count = usize::from(read_u16(page, 3)?);
    let last = count.checked_sub(1)?;
    let max_local = max_local(TABLE_LEAF, page.len())?;
    let rowid_at = |i: usize| {
        let offset = usize::from(read_u16(page, LEAF_HEADER + 2 * i)?);
        (offset >= LEAF_HEADER + 2 * count).then_some(())?;
        parse_cell(page, offset, TABLE_LEAF, max_local).map(|cell| cell.rowid)
    };
    Some((rowid_at(0)?, rowid_at(last)?))
}

/// Parse a leaf page (not page 1: the header is at offset 0). `None` on anything malformed:
/// wrong type, pointers outside the content area, cells past the end or overlapping.
fn parse_leaf(page: &[u8]) -> Option<Leaf<'_>> {
    let h = leaf_header(page)?;
    let cells = cells_at(page, &h, 0..h.count)?;
    let used = disjoint_within(cells.iter().map(Cell::span), page.len())?;
    Some(Leaf {
        kind: h.kind,
        content_start: h.content_start,
        cells,
        used,
    })
}

/// A side's page (`mine` or `theirs`) as the cells it shares with the base page at either end
/// and the cells between, parsed: most of a page is unchanged, so only the changed window is
/// parsed and matched by identity.
struct Side<'a> {
    kind: u8,
    /// Cells in the page.
    count: usize,
    /// Leading and trailing cells equal to the base page's: same pointer, and no byte of the
    /// cell changed (so the same bytes at the same offset).
    prefix: usize,
    suffix: usize,
    /// The cells between, in pointer order.
    window: Cells<'a>,
}

/// `page` as a [`Side`] of `base` (parsed from `base_page`). Checks what [`parse_leaf`] checks,
/// for the window's cells (parsed here) and the shared cells (the base page's, where the
/// base page has them): in the content area, inside the page, not overlapping.
fn changed_window<'a>(
    base_page: &[u8],
    base: &Leaf<'_>,
    page: &'a [u8],
    window: Window,
) -> Result<Side<'a>, Refusal> {
    let h = leaf_header(page).ok_or(Refusal::NotALeaf)?;
    if h.kind != base.kind {
        return Err(Refusal::NotALeaf);
    }
    // Only changes to the base's content area can touch a base cell: the pointer array (which
    // moves whenever a cell is added or removed) and new cells below the base's content are
    // left out, so that `first` is not near the page's start for every change.
    let mut changed = changed_ranges(base_page, page);
    changed.retain(|&(_, end)| end > base.content_start);
    // Most cells lie outside the few changed bytes: one comparison rules them out.
    let (first, last) = match (changed.first(), changed.last()) {
        (Some(first), Some(last)) => (first.0, last.1),
        _ => (0, 0),
    };
    let kept = |i: usize, at: usize| {
        let cell = &base.cells[i];
        let (start, end) = cell.span();
        read_u16(page, LEAF_HEADER + 2 * at).map(usize::from) == Some(cell.offset)
            && (end <= first || start >= last || !overlaps(&changed, (start, end)))
    };
    let shared = base.cells.len().min(h.count);
    let (mut prefix, mut suffix) = (0, 0);
    if window == Window::Changed {
        prefix = (0..shared).take_while(|&i| kept(i, i)).count();
        let (nb, nn) = (base.cells.len(), h.count);
        suffix = (0..shared - prefix)
            .take_while(|&j| kept(nb - 1 - j, nn - 1 - j))
            .count();
    }
    let cells = cells_at(page, &h, prefix..h.count - suffix).ok_or(Refusal::NotALeaf)?;
    let base_window = &base.cells[prefix..base.cells.len() - suffix];
    let kept_cells = base.cells[..prefix]
        .iter()
        .chain(&base.cells[base.cells.len() - suffix..]);
    // The shared cells lie in this page's content area, and the window's cells overlap
    // neither them nor each other: start from the base page's bitmap without its window.
    let mut used = base.used.clone();
    for cell in base_window {
        let (start, end) = cell.span();
        clear_bits(&mut used, start, end);
    }
    // Every base cell lies at or above the base's content start: one comparison usually does.
    let in_content = base.content_start >= h.content_start
        || kept_cells.into_iter().all(|c| c.offset >= h.content_start);
    let disjoint = cells.iter().all(|c| {
        let (start, end) = c.span();
        end <= page.len() && mark_unused(&mut used, start, end)
    });
    if !in_content || !disjoint {
        return Err(Refusal::NotALeaf);
    }
    Ok(Side {
        kind: h.kind,
        count: h.count,
        prefix,
        suffix,
        window: cells,
    })
}

/// The byte ranges `[start, end)` where two pages of the same size differ, in order, as a
/// superset: changes fewer than a word apart are joined (see `delta::changed_spans`). A
/// superset only makes a window larger; its cells are then matched by identity.
fn changed_ranges(a: &[u8], b: &[u8]) -> Vec<(usize, usize)> {
    const JOIN_GAP: usize = 8;
    crate::delta::changed_spans(a, b, &[], JOIN_GAP)
}

/// Whether `span` overlaps any of the sorted, disjoint `ranges`.
fn overlaps(ranges: &[(usize, usize)], (start, end): (usize, usize)) -> bool {
    // The first range ending after `start` is the only candidate.
    let i = ranges.partition_point(|r| r.1 <= start);
    ranges.get(i).is_some_and(|r| r.0 < end)
}

/// Whether the byte ranges lie inside the page and do not overlap; if so, the bitmap of the
/// bytes they cover. Linear: each range marks its bytes in a bitmap of the page, word by word
/// (sorting the ranges cost 2.5 % of the server's CPU in oltp_insert).
fn disjoint_within(
    spans: impl IntoIterator<Item = (usize, usize)>,
    len: usize,
) -> Option<PageBits> {
    let mut used = PageBits::from_elem(0, len.div_ceil(64));
    spans
        .into_iter()
        .all(|(start, end)| start <= end && end <= len && mark_unused(&mut used, start, end))
        .then_some(used)
}

/// Clears bits `start..end` of `bitmap` (bits a [`mark_unused`] set).
fn clear_bits(bitmap: &mut [u64], start: usize, end: usize) {
    let mut at = start;
    // Bounded: each iteration advances `at` to the next word boundary or to `end`.
    while at < end {
        let (word, upto) = (at / 64, end.min((at / 64 + 1) * 64));
        bitmap[word] &= !bit_mask(at, upto);
        at = upto;
    }
}

/// The bits `at..upto` of the word holding bit `at` (`upto` at most its next word boundary).
fn bit_mask(at: usize, upto: usize) -> u64 {
    let width = upto - at;
    if width == 64 {
        u64::MAX
    } else {
        ((1u64 << width) - 1) << (at % 64)
    }
}

/// Marks bits `start..end` of `bitmap`; false (and stops) if any of them was already set.
fn mark_unused(bitmap: &mut [u64], start: usize, end: usize) -> bool {
    let mut at = start;
    // Bounded: each iteration advances `at` to the next word boundary or to `end`.
    while at < end {
        let word = at / 64;
        let upto = end.min((word + 1) * 64);
        let mask = bit_mask(at, upto);
        if bitmap[word] & mask != 0 {
            return false;
        }
        bitmap[word] |= mask;
        at = upto;
    }
    true
}

/// Parse the cell at `offset` of a leaf page of type `kind` whose [`max_local`] is
/// `max_local`, per the SQLite file format. Runs for every cell of a merged page (1,400 on a
/// 16 KiB index leaf): inlined, with the page's constants computed by the caller.
#[inline(always)]
fn parse_cell(page: &[u8], offset: usize, kind: u8, max_local: usize) -> Option<Cell<'_>> {
    let usable = page.len();
    let (payload, n1) = read_varint(page, offset)?;
    let mut header = n1;
    let mut rowid = 0;
    if kind == TABLE_LEAF {
        let (raw, n2) = read_varint(page, offset.checked_add(header)?)?;
        rowid = raw as i64; // two's complement, as SQLite stores rowids
        header += n2;
    }
    let (local, overflow) = if payload <= max_local as u64 {
        (payload as usize, false)
    } else {
        (spilled_local(payload, max_local, usable)?, true)
    };
    let mut len = header.checked_add(local)?;
    if overflow {
        len = len.checked_add(4)?; // first overflow page number
    }
    let bytes = page.get(offset..offset.checked_add(len)?)?;
    Some(Cell {
        bytes,
        offset,
        rowid,
        overflow,
    })
}

/// Largest payload kept entirely on a leaf page (X in the file format).
fn max_local(kind: u8, usable: usize) -> Option<usize> {
    if kind == TABLE_LEAF {
        usable.checked_sub(35)
    } else {
        ((usable.checked_sub(12)? * 64) / 255).checked_sub(23)
    }
}

/// Bytes of a spilled payload kept on the page (K or M in the file format).
fn spilled_local(payload: u64, max_local: usize, usable: usize) -> Option<usize> {
    let min_local = ((usable.checked_sub(12)? * 32) / 255).checked_sub(23)? as u64;
    let chunk = usable.checked_sub(4)? as u64;
    let k = min_local + (payload.checked_sub(min_local)? % chunk);
    let local = if k <= max_local as u64 { k } else { min_local };
    usize::try_from(local).ok()
}

/// Big-endian u16 at `at`.
fn read_u16(page: &[u8], at: usize) -> Option<u16> {
    let b = page.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// SQLite varint at `at`: up to 8 bytes of 7 bits (high bit = more), a 9th of 8 bits.
/// Returns the value and its length; `None` if it runs past the page. A cell's sizes are
/// mostly one byte: that case is inlined into the cell parser.
#[inline(always)]
pub fn read_varint(page: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *page.get(at)?;
    if first < 0x80 {
        return Some((u64::from(first), 1));
    }
    read_long_varint(page, at)
}

/// [`read_varint`] of two or more bytes.
fn read_long_varint(page: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for i in 0..9 {
        let byte = *page.get(at.checked_add(i)?)?;
        if i == 8 {
            return Some(((value << 8) | u64::from(byte), 9));
        }
        value = (value << 7) | u64::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None // unreachable: the loop returns at i == 8
}

/// Identity of a cell: its rowid on a table leaf, its whole bytes on an index leaf.
#[derive(PartialEq, Eq, Hash)]
enum Identity<'a> {
    Rowid(i64),
    Bytes(&'a [u8]),
}

fn identity<'a>(kind: u8, cell: &Cell<'a>) -> Identity<'a> {
    if kind == TABLE_LEAF {
        Identity::Rowid(cell.rowid)
    } else {
        Identity::Bytes(cell.bytes)
    }
}

/// Map from identity to position in `cells` (of a page of type `kind`); `None` if two cells
/// share an identity.
fn identity_index<'a>(kind: u8, cells: &[Cell<'a>]) -> Option<IdentityMap<'a>> {
    let mut index = IdentityMap::with_capacity_and_hasher(cells.len(), Default::default());
    for (i, cell) in cells.iter().enumerate() {
        if index.insert(identity(kind, cell), i).is_some() {
            return None;
        }
    }
    Some(index)
}

/// Base cells `[start, end)` replaced by `cells`.
struct Hunk<'a> {
    start: usize,
    end: usize,
    cells: Vec<Cell<'a>>,
}

/// The hunks turning `base` into `new`. Refused if kept cells are out of base order or an
/// identity repeats in `new` (malformed), or a removed or inserted cell has an overflow page.
///
/// Most of a page is unchanged: cells equal at the same position from either end are kept
/// without hashing them, and only the window between is matched by identity.
fn diff<'a>(base: &Leaf<'a>, new: &Side<'a>) -> Result<Vec<Hunk<'a>>, Refusal> {
    let b = &base.cells;
    let (prefix, b_end) = (new.prefix, b.len() - new.suffix);
    assert_eq!(new.window.len(), new.count - new.suffix - prefix);
    let index = identity_index(base.kind, &b[prefix..b_end]).ok_or(Refusal::Malformed)?;
    // Identities unique in `new`'s window too (a repeat of a kept cell: `check_merged`).
    identity_index(new.kind, &new.window).ok_or(Refusal::Malformed)?;
    let mut hunks = Vec::new();
    // Positions in `b` and in the window.
    let (mut base_at, mut new_at) = (prefix, 0);
    for (ni, cell) in new.window.iter().enumerate() {
        let Some(&at) = index.get(&identity(new.kind, cell)) else {
            continue;
        };
        let bi = prefix + at;
        if b[bi].bytes != cell.bytes {
            continue; // same rowid, new bytes: a delete plus an insert
        }
        if bi < base_at {
            return Err(Refusal::Malformed); // kept cells reordered
        }
        push_hunk(&mut hunks, b, base_at..bi, &new.window[new_at..ni])?;
        base_at = bi + 1;
        new_at = ni + 1;
    }
    push_hunk(&mut hunks, b, base_at..b_end, &new.window[new_at..])?;
    Ok(hunks)
}

/// Record the hunk replacing `base[range]` by `cells` unless it is empty; refused if any cell
/// it removes or inserts has an overflow page.
fn push_hunk<'a>(
    hunks: &mut Vec<Hunk<'a>>,
    base: &[Cell<'a>],
    range: std::ops::Range<usize>,
    cells: &[Cell<'a>],
) -> Result<(), Refusal> {
    if range.is_empty() && cells.is_empty() {
        return Ok(());
    }
    let removed = base.get(range.clone()).ok_or(Refusal::Malformed)?;
    if removed.iter().chain(cells).any(|c| c.overflow) {
        return Err(Refusal::Overflow);
    }
    hunks.push(Hunk {
        start: range.start,
        end: range.end,
        cells: cells.to_vec(),
    });
    Ok(())
}

/// Apply both sides' hunks to `base`; refused if a hunk of one overlaps the other's, or touches
/// it unless [`touching_hunks_merge`] allows it.
fn apply<'a>(
    kind: u8,
    base: &[Cell<'a>],
    mine: Vec<Hunk<'a>>,
    theirs: Vec<Hunk<'a>>,
) -> Result<Vec<Cell<'a>>, Refusal> {
    let mut hunks: Vec<Hunk<'a>> = mine.into_iter().chain(theirs).collect();
    hunks.sort_by_key(|h| (h.start, h.end));
    // Sorted by start, two hunks [a1,b1) and [a2,b2) with a1 <= a2 overlap iff a2 < b1 and
    // touch iff a2 == b1; checking neighbours suffices (one side's own hunks are separated by
    // a kept anchor).
    if hunks.windows(2).any(|w| w[1].start < w[0].end) {
        return Err(Refusal::SameCell);
    }
    let touch =
        |w: &[Hunk<'a>]| w[1].start == w[0].end && !touching_hunks_merge(kind, base, &w[0], &w[1]);
    if hunks.windows(2).any(touch) {
        return Err(Refusal::Adjacent);
    }
    let mut merged = Vec::with_capacity(base.len());
    let mut at = 0;
    // Where the cells of the last pure insertion begin in `merged`, and at which gap.
    let mut insertion: Option<(usize, usize)> = None;
    for hunk in hunks {
        merged.extend_from_slice(base.get(at..hunk.start).ok_or(Refusal::Malformed)?);
        let pure = hunk.start == hunk.end;
        match insertion {
            // Both sides inserted rows at one gap (allowed on table leaves only): in rowid order.
            Some((from, gap)) if pure && gap == hunk.start => {
                merged.extend(hunk.cells);
                merged[from..].sort_by_key(|c| c.rowid);
            }
            _ => {
                insertion = pure.then_some((merged.len(), hunk.start));
                merged.extend(hunk.cells);
            }
        }
        at = hunk.end;
    }
    merged.extend_from_slice(base.get(at..).ok_or(Refusal::Malformed)?);
    Ok(merged)
}

/// Whether two touching hunks (of different sides) may both apply.
///
/// Updates in place on a table leaf always may: no key moves; so may rows both sides only
/// insert at one gap of a table leaf (ordered by rowid). Otherwise:
/// - neither may reach an end of the page: a rebalance moves a key range at an end of the page
///   (and the parent's divider with it), so a row placed next to it may belong on a sibling;
/// - at most one may add cells: cells both sides add at one spot have no order the merge can
///   know (index cells compare by their columns' collations).
///
/// Then the order is right: each side's hunk lies between base cells that side kept, and the
/// other side only removed cells (or updated rows in place) next to it.
fn touching_hunks_merge(kind: u8, base: &[Cell<'_>], a: &Hunk<'_>, b: &Hunk<'_>) -> bool {
    if kind == TABLE_LEAF && is_update_in_place(base, a) && is_update_in_place(base, b) {
        return true;
    }
    if kind == TABLE_LEAF && a.start == a.end && b.start == b.end {
        // Both only insert rows at one gap (concurrent appends to a table's last leaf): rowids
        // order them, and `check_merged` refuses a duplicate. At an end of the page the loser's
        // rows got here only if its key range is unchanged (`AtPageEnd`), and a pure insertion
        // by the winner moved no range of the loser's.
        return true;
    }
    let inside = |h: &Hunk<'_>| h.start > 0 && h.end < base.len();
    inside(a) && inside(b) && !(adds_a_row(kind, base, a) && adds_a_row(kind, base, b))
}

/// Whether `hunk` brings a cell whose identity it did not remove (a new row or index entry).
fn adds_a_row(kind: u8, base: &[Cell<'_>], hunk: &Hunk<'_>) -> bool {
    let removed = base.get(hunk.start..hunk.end).unwrap_or(&[]);
    hunk.cells.iter().any(|c| {
        !removed
            .iter()
            .any(|r| identity(kind, r) == identity(kind, c))
    })
}

/// A table-leaf hunk that replaces each base row by a row with the same rowid.
fn is_update_in_place(base: &[Cell<'_>], hunk: &Hunk<'_>) -> bool {
    let Some(removed) = base.get(hunk.start..hunk.end) else {
        return false;
    };
    !removed.is_empty()
        && removed.len() == hunk.cells.len()
        && removed
            .iter()
            .zip(&hunk.cells)
            .all(|(b, n)| b.rowid == n.rowid)
}

/// Sanity checks on the merged cell list: not empty; on a table leaf rowids strictly
/// ascending; on an index leaf no cell either side added (`added`) appears twice (kept cells
/// are the snapshot's, unique already).
fn check_merged(kind: u8, cells: &[Cell<'_>], added: &[Cell<'_>]) -> Option<()> {
    if cells.is_empty() {
        return None; // an empty non-root leaf needs a rebalance; leave it to SQLite
    }
    if kind == TABLE_LEAF {
        if cells.windows(2).any(|w| w[0].rowid >= w[1].rowid) {
            return None;
        }
    } else {
        // Bounded by cells × added; `added` is the few cells the two transactions wrote.
        // Index cells of one index mostly have one length and one record header: the last
        // byte (the rowid's low byte) tells most of them apart before a full compare.
        let same = |c: &Cell<'_>, new: &Cell<'_>| {
            c.bytes.last() == new.bytes.last() && c.bytes == new.bytes
        };
        for new in added {
            if cells.iter().filter(|c| same(c, new)).count() != 1 {
                return None;
            }
        }
    }
    Some(())
}

/// Build a leaf page of `size` bytes holding `cells` in order: first freeblock 0, cells packed
/// from the end downward (the first cell highest), no fragmented bytes, unused bytes zero.
/// `None` if they do not fit.
fn build_page(kind: u8, cells: &[Cell<'_>], size: usize) -> Option<Arc<[u8]>> {
    let count = u16::try_from(cells.len()).ok()?;
    let content: usize = cells.iter().map(Cell::alloc_size).sum();
    let pointers_end = LEAF_HEADER + 2 * cells.len();
    let content_start = size.checked_sub(content)?;
    if content_start < pointers_end {
        return None;
    }
    // Built in the `Arc` the store keeps as the page's new version: `Arc::from(Vec)` would
    // copy the 16 KiB again.
    let mut shared: Arc<[u8]> = crate::spare_images::zeroed(size);
    let page = Arc::get_mut(&mut shared).expect("a new Arc is unshared");
    page[0] = kind;
    page[3..5].copy_from_slice(&count.to_be_bytes());
    // 65536 is stored as 0 (only reachable with an empty 64 KiB page, which is refused above).
    let stored_start = u16::try_from(content_start).unwrap_or(0);
    page[5..7].copy_from_slice(&stored_start.to_be_bytes());
    let mut top = size;
    for (i, cell) in cells.iter().enumerate() {
        top -= cell.alloc_size();
        page[top..top + cell.bytes.len()].copy_from_slice(cell.bytes);
        let pointer = u16::try_from(top).ok()?;
        let at = LEAF_HEADER + 2 * i;
        page[at..at + 2].copy_from_slice(&pointer.to_be_bytes());
    }
    Some(shared)
}

#[cfg(test)]
mod tests;
