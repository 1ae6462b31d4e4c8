//! Checking the shape of a write set and applying page deltas to page images.

use std::sync::Arc;

use crate::api::{PageDelta, WriteSet};

/// Byte range of SQLite's schema cookie in page 1.
pub const SCHEMA_COOKIE: std::ops::Range<usize> = 40..44;

/// Check what can be checked without the store's state: deltas sorted by page number, unique,
/// page numbers ≥ 1; ranges sorted, non-overlapping and inside the page.
pub fn check_shape(ws: &WriteSet, page_size: usize) -> Result<(), String> {
    let mut prev_page = 0;
    for delta in &ws.deltas {
        if delta.page_no == 0 {
            return Err("page number 0 in a delta (pages are 1-based)".to_string());
        }
        if delta.page_no <= prev_page {
            return Err(format!(
                "deltas not sorted/unique at page {}",
                delta.page_no
            ));
        }
        prev_page = delta.page_no;
        let mut prev_end = 0usize;
        for range in &delta.ranges {
            let start = range.offset as usize;
            let end = start + range.bytes.len();
            if start < prev_end {
                return Err(format!(
                    "page {}: range at offset {start} overlaps or is out of order",
                    delta.page_no
                ));
            }
            if end > page_size {
                return Err(format!(
                    "page {}: range {start}..{end} exceeds the page size {page_size}",
                    delta.page_no
                ));
            }
            prev_end = end;
        }
    }
    if ws.locked_pages.contains(&0) {
        return Err("locked page number 0 (pages are 1-based)".to_string());
    }
    if ws.guard_pages.contains(&0) {
        return Err("guard page number 0 (pages are 1-based)".to_string());
    }
    Ok(())
}

/// Apply `delta` to a copy of `base` (which must be a full page image). The copy is made in
/// its shared allocation directly (a `Vec` turned into an `Arc` is copied once more: for
/// 16 KiB pages on every commit, a visible share of the store's time in malloc and memcpy),
/// a spare one if there is (see `spare_images`).
pub fn apply(base: &[u8], delta: &PageDelta) -> Result<Arc<[u8]>, String> {
    let mut shared: Arc<[u8]> = crate::spare_images::copy_of(base);
    let image = Arc::get_mut(&mut shared).expect("a new Arc has no other owner");
    for range in &delta.ranges {
        let start = range.offset as usize;
        let target = image
            .get_mut(start..start + range.bytes.len())
            .ok_or_else(|| format!("page {}: range at {start} outside the page", delta.page_no))?;
        target.copy_from_slice(&range.bytes);
    }
    Ok(shared)
}

/// Whether page 1 went from `old` to `new` with a different schema cookie.
pub fn schema_cookie_changed(old: &[u8], new: &[u8]) -> bool {
    old.get(SCHEMA_COOKIE) != new.get(SCHEMA_COOKIE)
}

/// Equal bytes between two changed runs below which the runs are sent as one range: a range
/// costs an offset and a length on the wire and in the log.
pub const DIFF_JOIN_GAP: usize = 16;

/// The delta that turns `old` into `new` (images of the same size): the changed byte runs,
/// runs closer than [`DIFF_JOIN_GAP`] joined. Empty ranges when nothing changed.
pub fn diff(page_no: crate::api::PageNo, old: &[u8], new: &[u8]) -> PageDelta {
    PageDelta {
        page_no,
        ranges: changed_ranges(old, new, &[]),
    }
}

/// The changed byte runs between `old` and `new` (of the same size), runs closer than
/// [`DIFF_JOIN_GAP`] joined, in order. The bytes of `skip` (sorted, disjoint) are never in a
/// range and no range spans them (the engine's virtualised bytes of page 1).
pub fn changed_ranges(
    old: &[u8],
    new: &[u8],
    skip: &[std::ops::Range<usize>],
) -> Vec<crate::api::ByteRange> {
    changed_spans(old, new, skip, DIFF_JOIN_GAP)
        .into_iter()
        .map(|(start, end)| crate::api::ByteRange {
            offset: u32::try_from(start).expect("page offsets fit in u32"),
            bytes: new[start..end].to_vec(),
        })
        .collect()
}

/// The byte spans `[start, end)` where `old` and `new` differ, spans fewer than `join_gap`
/// equal bytes apart joined, outside `skip` (see [`changed_ranges`]).
///
/// Runs for every page a commit writes (in the session, and again for a merged page in the
/// store), so unchanged stretches are compared a block at a time (memcmp) and changed blocks
/// a word at a time: per word only its first and last changed byte matter, as the at most 6
/// bytes between them are fewer than `join_gap` (at least [`WORD`]) apart.
pub(crate) fn changed_spans(
    old: &[u8],
    new: &[u8],
    skip: &[std::ops::Range<usize>],
    join_gap: usize,
) -> Vec<(usize, usize)> {
    assert_eq!(old.len(), new.len(), "diff of images of different sizes");
    assert!(join_gap >= WORD, "a word's inner bytes are joined");
    let mut runs = Runs {
        join_gap,
        spans: Vec::new(),
        run: None,
    };
    let mut lo = 0;
    for gap in skip {
        assert!(lo <= gap.start, "skip ranges sorted and disjoint");
        runs.scan(old, new, lo, gap.start.min(new.len()));
        lo = gap.end.min(new.len());
    }
    runs.scan(old, new, lo, new.len());
    runs.spans
}

/// Bytes compared at once inside a block that differs.
const WORD: usize = 8;

/// Changed bytes gathered into spans (see [`changed_spans`]).
struct Runs {
    join_gap: usize,
    spans: Vec<(usize, usize)>,
    /// The open run: its first changed byte and one past its last.
    run: Option<(usize, usize)>,
}

impl Runs {
    /// Add the changes within `lo..hi`, then close the open run (no run spans a skipped range).
    fn scan(&mut self, old: &[u8], new: &[u8], lo: usize, hi: usize) {
        const BLOCK: usize = 256;
        let mut at = lo;
        // Bounded by `hi`: each pass moves `at` to the end of a block.
        while at < hi {
            let block_end = (at + BLOCK).min(hi);
            if old[at..block_end] != new[at..block_end] {
                // Bounded by the block: a word (or the block's short tail) per pass.
                for word in (at..block_end).step_by(WORD) {
                    let end = (word + WORD).min(block_end);
                    if let Some((first, last)) = changed_span(&old[word..end], &new[word..end]) {
                        self.changed(word + first, word + last);
                    }
                }
            }
            at = block_end;
        }
        self.close();
    }

    /// Bytes `first..=last` hold changes (both ends changed).
    fn changed(&mut self, first: usize, last: usize) {
        self.run = match self.run {
            Some((start, end)) if first - end < self.join_gap => Some((start, last + 1)),
            _ => {
                self.close();
                Some((first, last + 1))
            }
        };
    }

    fn close(&mut self) {
        if let Some(span) = self.run.take() {
            self.spans.push(span);
        }
    }
}

/// The first and last differing byte of two equal-length slices of at most a word.
fn changed_span(old: &[u8], new: &[u8]) -> Option<(usize, usize)> {
    if let (Ok(a), Ok(b)) = (<[u8; 8]>::try_from(old), <[u8; 8]>::try_from(new)) {
        // Little-endian: byte i of the slice is bits 8i..8i+8 of the word.
        let x = u64::from_le_bytes(a) ^ u64::from_le_bytes(b);
        return (x != 0).then(|| {
            (
                x.trailing_zeros() as usize / 8,
                7 - x.leading_zeros() as usize / 8,
            )
        });
    }
    let first = (0..old.len()).find(|&k| old[k] != new[k])?;
    let last = (0..old.len()).rev().find(|&k| old[k] != new[k])?;
    Some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ByteRange;

    fn ws(deltas: Vec<PageDelta>) -> WriteSet {
        WriteSet {
            snapshot: 0,
            db_pages: 10,
            deltas,
            locked_pages: vec![],
            guard_pages: vec![],
            origin: 1,
        }
    }

    fn delta(page_no: u32, ranges: &[(u32, usize)]) -> PageDelta {
        PageDelta {
            page_no,
            ranges: ranges
                .iter()
                .map(|&(offset, len)| ByteRange {
                    offset,
                    bytes: vec![1; len],
                })
                .collect(),
        }
    }

    #[test]
    fn shape_rules() {
        assert!(check_shape(
            &ws(vec![delta(1, &[(0, 4), (4, 4)]), delta(3, &[(60, 4)])]),
            64
        )
        .is_ok());
        assert!(check_shape(&ws(vec![delta(0, &[])]), 64).is_err());
        assert!(check_shape(&ws(vec![delta(3, &[]), delta(2, &[])]), 64).is_err());
        assert!(check_shape(&ws(vec![delta(3, &[]), delta(3, &[])]), 64).is_err());
        assert!(check_shape(&ws(vec![delta(3, &[(0, 5), (4, 1)])]), 64).is_err());
        assert!(check_shape(&ws(vec![delta(3, &[(8, 1), (4, 1)])]), 64).is_err());
        assert!(check_shape(&ws(vec![delta(3, &[(61, 4)])]), 64).is_err());
    }

    #[test]
    fn apply_and_cookie() {
        let base = vec![0u8; 64];
        let new = apply(&base, &delta(1, &[(40, 2)])).unwrap();
        assert_eq!(&new[38..44], &[0, 0, 1, 1, 0, 0]);
        assert!(schema_cookie_changed(&base, &new));
        let same = apply(
            &base,
            &PageDelta {
                page_no: 1,
                ranges: vec![ByteRange {
                    offset: 40,
                    bytes: vec![0; 4],
                }],
            },
        )
        .unwrap();
        assert!(!schema_cookie_changed(&base, &same));
    }

    #[test]
    fn diff_round_trips_and_joins_close_runs() {
        let old = vec![0u8; 256];
        let mut new = old.clone();
        new[10] = 1;
        new[20] = 2; // within the join gap of the first run
        new[200] = 3;
        let d = diff(7, &old, &new);
        assert_eq!(d.ranges.len(), 2);
        assert_eq!(d.ranges[0].offset, 10);
        assert_eq!(d.ranges[0].bytes.len(), 11);
        assert_eq!(&*apply(&old, &d).unwrap(), &new[..]);
        assert!(diff(7, &old, &old).ranges.is_empty());
    }

    /// The byte-by-byte definition of [`changed_ranges`]: `skip` bytes end a run and never
    /// start one.
    fn diff_bytewise(
        old: &[u8],
        new: &[u8],
        skip: &[std::ops::Range<usize>],
    ) -> Vec<(usize, usize)> {
        let skipped = |i: usize| skip.iter().any(|r| r.contains(&i));
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < new.len() {
            if old[i] == new[i] || skipped(i) {
                i += 1;
                continue;
            }
            let (start, mut end, mut j) = (i, i + 1, i + 1);
            while j < new.len() && j - end < DIFF_JOIN_GAP && !skipped(j) {
                if old[j] != new[j] {
                    end = j + 1;
                }
                j += 1;
            }
            ranges.push((start, end));
            i = end;
        }
        ranges
    }

    proptest::proptest! {
        #[test]
        fn diff_matches_the_bytewise_definition(
            old in proptest::collection::vec(0u8..3, 300..700),
            edits in proptest::collection::vec((0usize..700, 0u8..3), 0..60),
            skip_at in proptest::option::of((0usize..300, 1usize..12)),
        ) {
            let mut new = old.clone();
            for (at, b) in edits {
                let at = at % new.len();
                new[at] = b;
            }
            let skip: Vec<std::ops::Range<usize>> =
                skip_at.map(|(at, len)| at..at + len).into_iter().collect();
            let got: Vec<(usize, usize)> = changed_ranges(&old, &new, &skip)
                .iter()
                .map(|r| (r.offset as usize, r.offset as usize + r.bytes.len()))
                .collect();
            proptest::prop_assert_eq!(&got, &diff_bytewise(&old, &new, &skip));
            if skip.is_empty() {
                proptest::prop_assert_eq!(&*apply(&old, &diff(3, &old, &new)).unwrap(), &new[..]);
            }
        }
    }
}
