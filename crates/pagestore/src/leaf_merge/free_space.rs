//! A b-tree leaf's free space, kept the way SQLite keeps it (`freeSpace`, `pageFindSlot` and
//! `allocateSpace` in btree.c), so that a page edited here is one SQLite reads and edits on:
//!
//! - the *gap* between the end of the cell pointer array and the start of the cell content
//!   area (header bytes 5–6; 0 stands for 65536);
//! - *freeblocks* in the content area: a list in rising offset order from header bytes 1–2,
//!   each starting with the next one's offset and its own size (both u16, size ≥ 4), and no
//!   two closer than 4 bytes (SQLite joins them);
//! - *fragments*: holes of 1–3 bytes, counted in header byte 7 (at most 60).
//!
//! Freed bytes are zeroed, as SQLite does with `secure_delete=ON`. Every offset read from the
//! page is checked: a list that does not rise, or runs off the page, gives `None`.

use super::read_u16;

/// Header offsets of a leaf page (not page 1).
const FIRST_FREEBLOCK: usize = 1;
const CONTENT_START: usize = 5;
const FRAGMENTS: usize = 7;
/// SQLite's limit on fragmented bytes (`pageFindSlot` stops adding fragments above 57).
const MAX_FRAGMENTS_BEFORE_SLOT: u8 = 57;

/// The start of the cell content area (0 stored for 65536).
pub(super) fn content_start(page: &[u8]) -> Option<usize> {
    Some(match read_u16(page, CONTENT_START)? {
        0 => 65536,
        n => usize::from(n),
    })
}

fn put_u16(page: &mut [u8], at: usize, value: usize) -> Option<()> {
    let value = u16::try_from(value).ok()?;
    page.get_mut(at..at + 2)?
        .copy_from_slice(&value.to_be_bytes());
    Some(())
}

/// Release `size` bytes at `start` (a cell that is being removed): joined with the freeblocks
/// next to it, or given back to the gap when it is at the content start. `freeSpace`.
pub(super) fn free(page: &mut [u8], start: usize, size: usize) -> Option<()> {
    let usable = page.len();
    let (mut start, mut end) = (start, start.checked_add(size)?);
    if size < 4 || end > usable {
        return None;
    }
    // `link`: where the pointer to `next` is (the header, or the previous freeblock).
    let top = content_start(page)?;
    let mut link = FIRST_FREEBLOCK;
    let mut next = usize::from(read_u16(page, link)?);
    // Bounded: offsets rise strictly on every step, or the loop returns.
    while next != 0 && next < start {
        if next <= link || next < top {
            return None; // not rising, or a freeblock outside the content area
        }
        link = next;
        next = usize::from(read_u16(page, link)?);
    }
    if next > usable.checked_sub(4)? || (next != 0 && next < top) {
        return None;
    }
    let mut joined_fragments = 0usize;
    if next != 0 && end + 3 >= next {
        // The next freeblock starts within 3 bytes of the end: absorb it.
        if end > next {
            return None;
        }
        joined_fragments = next - end;
        end = next + usize::from(read_u16(page, next + 2)?);
        if end > usable {
            return None;
        }
        next = usize::from(read_u16(page, next)?);
    }
    if link > FIRST_FREEBLOCK {
        // The previous freeblock ends within 3 bytes of the start: extend it.
        let previous_end = link + usize::from(read_u16(page, link + 2)?);
        if previous_end + 3 >= start {
            if previous_end > start {
                return None;
            }
            joined_fragments += start - previous_end;
            start = link;
        }
    }
    let fragments = page.get(FRAGMENTS).copied()?;
    page[FRAGMENTS] = fragments.checked_sub(u8::try_from(joined_fragments).ok()?)?;
    page.get_mut(start..end)?.fill(0);
    if start <= top {
        // At the content start: the gap grows instead of the list.
        if start < top || link != FIRST_FREEBLOCK {
            return None;
        }
        put_u16(page, FIRST_FREEBLOCK, next)?;
        return put_u16(page, CONTENT_START, end % 65536);
    }
    if link != start {
        put_u16(page, link, start)?;
    }
    put_u16(page, start, next)?;
    put_u16(page, start + 2, end - start)
}

/// Take `size` bytes for a new cell: the first freeblock that holds it (`pageFindSlot`), else
/// the bottom of the gap, which must stay at or above `reserved_end` (the end of the space the
/// pointer array needs, before and after the caller's edit). `None`: no room without
/// defragmenting, or a malformed free list. `allocateSpace` without its defragmentation.
pub(super) fn allocate(page: &mut [u8], size: usize, reserved_end: usize) -> Option<usize> {
    if let Some(at) = take_freeblock(page, size)? {
        return Some(at);
    }
    let top = content_start(page)?;
    let at = top.checked_sub(size)?;
    if at < reserved_end {
        return None;
    }
    put_u16(page, CONTENT_START, at)?;
    Some(at)
}

/// `Some(Some(offset))`: a freeblock gave `size` bytes; `Some(None)`: none could; `None`: the
/// list is malformed.
fn take_freeblock(page: &mut [u8], size: usize) -> Option<Option<usize>> {
    let last_fit = page.len().checked_sub(size)?;
    let top = content_start(page)?;
    let mut link = FIRST_FREEBLOCK;
    let mut at = usize::from(read_u16(page, link)?);
    // Bounded: offsets rise strictly on every step, or the loop returns.
    while at != 0 && at <= last_fit {
        if at < top {
            return None; // a freeblock outside the content area (SQLite: corrupt)
        }
        let block = usize::from(read_u16(page, at + 2)?);
        if let Some(spare) = block.checked_sub(size) {
            if spare < 4 {
                // The whole block goes; its 0–3 spare bytes become a fragment.
                let fragments = page.get(FRAGMENTS).copied()?;
                if fragments > MAX_FRAGMENTS_BEFORE_SLOT {
                    return Some(None);
                }
                let after = read_u16(page, at)?;
                put_u16(page, link, usize::from(after))?;
                page[FRAGMENTS] = fragments + spare as u8;
                return Some(Some(at));
            }
            if at + spare > last_fit {
                return None;
            }
            // The block keeps its start and shrinks; the cell takes its top bytes.
            put_u16(page, at + 2, spare)?;
            return Some(Some(at + spare));
        }
        let following = usize::from(read_u16(page, at)?);
        if following != 0 && following <= at {
            return None;
        }
        link = at;
        at = following;
    }
    // A block too far up to hold the cell must still hold its own header.
    if at > page.len().checked_sub(4)? {
        return None;
    }
    Some(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 512-byte index leaf with the given content start and no freeblocks.
    fn page_with(content_start: usize) -> Vec<u8> {
        let mut page = vec![0u8; 512];
        page[0] = 0x0A;
        put_u16(&mut page, CONTENT_START, content_start).unwrap();
        page
    }

    /// The freeblock list as (offset, size).
    fn freeblocks(page: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = usize::from(read_u16(page, FIRST_FREEBLOCK).unwrap());
        while at != 0 {
            out.push((at, usize::from(read_u16(page, at + 2).unwrap())));
            at = usize::from(read_u16(page, at).unwrap());
        }
        out
    }

    #[test]
    fn freed_cells_join_their_neighbours_and_the_gap() {
        let mut page = page_with(400);
        page[400..512].fill(0xAB);
        free(&mut page, 440, 10).unwrap();
        free(&mut page, 470, 10).unwrap();
        assert_eq!(freeblocks(&page), vec![(440, 10), (470, 10)]);
        assert_eq!(page[444..450], [0; 6], "freed bytes are zeroed");
        // 450..470 freed: joins both into one block of 40.
        free(&mut page, 450, 20).unwrap();
        assert_eq!(freeblocks(&page), vec![(440, 40)]);
        // A block 2 bytes above the next one absorbs the 2 bytes as a joined fragment.
        page[FRAGMENTS] = 2;
        free(&mut page, 420, 18).unwrap();
        assert_eq!(freeblocks(&page), vec![(420, 60)]);
        assert_eq!(page[FRAGMENTS], 0);
        // At the content start: the gap takes it, and the block above with it.
        free(&mut page, 400, 20).unwrap();
        assert_eq!(freeblocks(&page), vec![]);
        assert_eq!(content_start(&page), Some(480));
        assert!(page[400..480].iter().all(|&b| b == 0));
    }

    #[test]
    fn allocation_takes_a_freeblock_first_then_the_gap() {
        let mut page = page_with(300);
        free(&mut page, 400, 40).unwrap();
        // Fits with 30 spare: the block shrinks and the cell takes its top.
        assert_eq!(allocate(&mut page, 10, 20), Some(430));
        assert_eq!(freeblocks(&page), vec![(400, 30)]);
        // 2 spare bytes: the block goes, a fragment of 2 remains.
        assert_eq!(allocate(&mut page, 28, 20), Some(400));
        assert_eq!(freeblocks(&page), vec![]);
        assert_eq!(page[FRAGMENTS], 2);
        // Then the gap, down to the pointer array's end and no further.
        assert_eq!(allocate(&mut page, 100, 20), Some(200));
        assert_eq!(allocate(&mut page, 181, 20), None);
        assert_eq!(allocate(&mut page, 180, 20), Some(20));
    }

    #[test]
    fn malformed_free_lists_are_refused() {
        let mut page = page_with(300);
        // A list that points back at itself.
        put_u16(&mut page, FIRST_FREEBLOCK, 400).unwrap();
        put_u16(&mut page, 400, 400).unwrap();
        put_u16(&mut page, 402, 8).unwrap();
        assert_eq!(free(&mut page.clone(), 450, 8), None);
        assert_eq!(allocate(&mut page.clone(), 100, 20), None);
        // A freeblock running off the page.
        let mut page = page_with(300);
        put_u16(&mut page, FIRST_FREEBLOCK, 510).unwrap();
        assert_eq!(free(&mut page.clone(), 400, 8), None);
        assert_eq!(allocate(&mut page, 4, 20), None);
        // A freeblock below the content start (in the gap or the pointer array).
        let mut page = page_with(300);
        put_u16(&mut page, FIRST_FREEBLOCK, 200).unwrap();
        put_u16(&mut page, 202, 40).unwrap();
        assert_eq!(free(&mut page.clone(), 400, 8), None);
        assert_eq!(allocate(&mut page, 8, 20), None);
        // Freeing past the page's end, or less than SQLite's smallest cell.
        let mut page = page_with(300);
        assert_eq!(free(&mut page, 508, 8), None);
        assert_eq!(free(&mut page, 400, 3), None);
    }
}
