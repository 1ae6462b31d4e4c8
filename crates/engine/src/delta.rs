//! Page deltas: the changed byte ranges between a page's image at the snapshot and its new image.

use crate::header;
use borealis_pagestore::{ByteRange, PageDelta, PageNo};

/// Changed runs separated by fewer unchanged bytes than this are merged into one range: a
/// range header costs more than a few repeated bytes.
pub const MERGE_GAP: usize = 16;

/// The delta that turns `base` into `image`, or `None` if nothing changed. On page 1 the
/// virtualised change-counter bytes are ignored and never included in a range.
///
/// Page 1 changes with every write transaction (SQLite bumps its change counter), so this
/// runs on it once per commit: it gets the block scan like any other page.
pub fn page_delta(page_no: PageNo, base: &[u8], image: &[u8]) -> Option<PageDelta> {
    assert_eq!(base.len(), image.len(), "page images differ in size");
    let mut runs = Runs::default();
    // Most of a page is unchanged: compare whole blocks (memcmp) and look at single bytes only
    // inside blocks that differ. A block is longer than MERGE_GAP, so a run never spans a whole
    // unchanged block and skipping one gives the same ranges as a byte-by-byte scan.
    const BLOCK: usize = 64;
    const _: () = assert!(BLOCK > MERGE_GAP);
    for (k, (b, n)) in base.chunks(BLOCK).zip(image.chunks(BLOCK)).enumerate() {
        if b == n {
            continue;
        }
        let at = k * BLOCK;
        for (j, (x, y)) in b.iter().zip(n).enumerate() {
            if page_no == 1 && header::is_virtual(at + j) {
                // Page 1's virtualised counter bytes: never in a range, never merged across.
                runs.close(image);
            } else if x != y {
                runs.changed(at + j, image);
            }
        }
    }
    runs.close(image);
    if runs.ranges.is_empty() {
        None
    } else {
        Some(PageDelta {
            page_no,
            ranges: runs.ranges,
        })
    }
}

/// Changed bytes grouped into ranges, merging runs separated by at most `MERGE_GAP` bytes.
#[derive(Default)]
struct Runs {
    ranges: Vec<ByteRange>,
    /// The run being built: first and last changed byte.
    run: Option<(usize, usize)>,
}

impl Runs {
    fn changed(&mut self, i: usize, image: &[u8]) {
        self.run = match self.run {
            Some((start, end)) if i - end <= MERGE_GAP => Some((start, i)),
            Some((start, end)) => {
                self.ranges.push(range(image, start, end));
                Some((i, i))
            }
            None => Some((i, i)),
        };
    }

    fn close(&mut self, image: &[u8]) {
        if let Some((start, end)) = self.run.take() {
            self.ranges.push(range(image, start, end));
        }
    }
}

fn range(image: &[u8], start: usize, end_inclusive: usize) -> ByteRange {
    let offset = u32::try_from(start).unwrap_or(u32::MAX);
    ByteRange {
        offset,
        bytes: image[start..=end_inclusive].to_vec(),
    }
}

/// Apply a delta's ranges onto `page`. Ranges that do not fit the page are an invariant
/// violation (deltas are produced for pages of the same size).
pub fn apply_delta(page: &mut [u8], delta: &PageDelta) {
    for r in &delta.ranges {
        let start = r.offset as usize;
        let end = start + r.bytes.len();
        assert!(
            end <= page.len(),
            "delta range {start}..{end} beyond page of {}",
            page.len()
        );
        page[start..end].copy_from_slice(&r.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn identical_pages_have_no_delta() {
        let page = vec![7u8; 512];
        assert!(page_delta(3, &page, &page).is_none());
    }

    #[test]
    fn close_runs_merge_and_far_runs_split() {
        let base = vec![0u8; 512];
        let mut image = base.clone();
        image[10] = 1;
        image[20] = 1; // gap of 9 unchanged bytes: merged
        image[100] = 1; // far: separate range
        let delta = page_delta(5, &base, &image).expect("changed");
        assert_eq!(delta.ranges.len(), 2);
        assert_eq!(delta.ranges[0].offset, 10);
        assert_eq!(delta.ranges[0].bytes.len(), 11);
        assert_eq!(delta.ranges[1].offset, 100);
    }

    #[test]
    fn page_one_counter_only_is_no_change() {
        let base = vec![0u8; 512];
        let mut image = base.clone();
        image[24..28].copy_from_slice(&[0, 0, 0, 9]);
        image[92..96].copy_from_slice(&[0, 0, 0, 9]);
        assert!(page_delta(1, &base, &image).is_none());
        // The same bytes on another page are real changes.
        assert!(page_delta(2, &base, &image).is_some());
    }

    fn page_and_edits() -> impl Strategy<Value = (Vec<u8>, Vec<(usize, u8)>, bool)> {
        (
            proptest::collection::vec(any::<u8>(), 256),
            proptest::collection::vec((0usize..256, any::<u8>()), 0..40),
            any::<bool>(),
        )
    }

    proptest! {
        #[test]
        fn delta_applied_to_base_gives_image((base, edits, page_one) in page_and_edits()) {
            let mut image = base.clone();
            for (at, byte) in edits {
                image[at] = byte;
            }
            let page_no = if page_one { 1 } else { 9 };
            let mut rebuilt = base.clone();
            if let Some(delta) = page_delta(page_no, &base, &image) {
                prop_assert_eq!(delta.page_no, page_no);
                let mut last_end = 0usize;
                for r in &delta.ranges {
                    prop_assert!(!r.bytes.is_empty());
                    prop_assert!(r.offset as usize >= last_end, "ranges sorted, disjoint");
                    last_end = r.offset as usize + r.bytes.len();
                    if page_one {
                        for i in r.offset as usize..last_end {
                            prop_assert!(!header::is_virtual(i), "counter byte {} in delta", i);
                        }
                    }
                }
                apply_delta(&mut rebuilt, &delta);
            }
            for i in 0..image.len() {
                if page_one && header::is_virtual(i) {
                    prop_assert_eq!(rebuilt[i], base[i]);
                } else {
                    prop_assert_eq!(rebuilt[i], image[i]);
                }
            }
        }
    }
}
