//! The SQLite database header on page 1 and the engine's virtualisation of its change counter.
//!
//! SQLite bumps the file change counter (bytes 24..28) and copies it to version-valid-for
//! (bytes 92..96) on every commit. Served as-is, every pair of concurrent write transactions
//! would conflict on page 1. The engine instead serves a counter derived from the snapshot LSN
//! and leaves these bytes out of every page delta.

use borealis_pagestore::Lsn;
use std::ops::Range;

/// Byte ranges of page 1 that are virtualised and never part of a page delta.
pub const VIRTUAL_RANGES: [Range<usize>; 2] = [24..28, 92..96];

/// The schema cookie: SQLite bumps it on every schema change.
pub const SCHEMA_COOKIE: Range<usize> = 40..44;

/// The change counter served for a snapshot: always even, so SQLite's own `+1` on write makes
/// the value it remembers odd, and its page cache is dropped after its own commit and whenever
/// the snapshot moved.
pub fn change_counter(snapshot: Lsn) -> [u8; 4] {
    (snapshot as u32).wrapping_mul(2).to_be_bytes()
}

/// True when byte `offset` of page 1 is virtualised.
pub fn is_virtual(offset: usize) -> bool {
    VIRTUAL_RANGES.iter().any(|r| r.contains(&offset))
}

/// Overwrite the virtualised bytes of a window onto page 1. `window` holds the page-1 bytes
/// starting at `window_offset`.
pub fn virtualise(window: &mut [u8], window_offset: usize, snapshot: Lsn) {
    let counter = change_counter(snapshot);
    for range in VIRTUAL_RANGES {
        for (i, byte) in counter.iter().enumerate() {
            let at = range.start + i;
            if at >= window_offset && at < window_offset + window.len() {
                window[at - window_offset] = *byte;
            }
        }
    }
}

/// Copy the virtualised bytes of `base` into `image`, so that `image` differs from `base` only
/// where something real changed.
pub fn restore_virtual(image: &mut [u8], base: &[u8]) {
    for range in VIRTUAL_RANGES {
        if range.end <= image.len() && range.end <= base.len() {
            image[range.clone()].copy_from_slice(&base[range]);
        }
    }
}

/// True when the header's file format versions (bytes 18 and 19) say rollback journal (1),
/// the only format the engine serves; WAL (2) needs shared memory the VFS does not provide.
pub fn is_rollback_format(page1: &[u8]) -> bool {
    page1.get(18..20) == Some(&[1, 1][..])
}

/// True when the schema cookie differs between two page-1 images.
pub fn schema_changed(base: &[u8], image: &[u8]) -> bool {
    base.get(SCHEMA_COOKIE) != image.get(SCHEMA_COOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_is_even_and_tracks_snapshot() {
        assert_ne!(change_counter(1), change_counter(2));
        for lsn in [0u64, 1, 7, 1 << 40] {
            assert_eq!(u32::from_be_bytes(change_counter(lsn)) % 2, 0);
        }
    }

    #[test]
    fn virtualise_partial_window() {
        let mut window = [0u8; 16];
        virtualise(&mut window, 20, 3);
        assert_eq!(&window[4..8], &change_counter(3));
        assert_eq!(&window[..4], &[0; 4]);
        assert_eq!(&window[8..], &[0; 8]);
    }
}
