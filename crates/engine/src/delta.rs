//! Page deltas: the changed byte ranges between a page's image at the snapshot and its new image.

use crate::header;
use borealis_pagestore::{changed_ranges, PageDelta, PageNo};

/// The delta that turns `base` into `image`, or `None` if nothing changed. On page 1 the
/// virtualised change-counter bytes are ignored and never included in a range.
///
/// Page 1 changes with every write transaction (SQLite bumps its change counter), so this
/// runs on it once per commit: it gets the block scan like any other page.
pub fn page_delta(page_no: PageNo, base: &[u8], image: &[u8]) -> Option<PageDelta> {
    assert_eq!(base.len(), image.len(), "page images differ in size");
    let skip: &[std::ops::Range<usize>] = if page_no == 1 {
        &header::VIRTUAL_RANGES
    } else {
        &[]
    };
    let ranges = changed_ranges(base, image, skip);
    (!ranges.is_empty()).then_some(PageDelta { page_no, ranges })
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
