//! What the page service's integration tests share.

use borealis_pagestore::{ByteRange, PageDelta, WriteSet};

/// A write set of one delta: 8 bytes of `byte` at offset 100 of `page_no`.
pub fn write(snapshot: u64, db_pages: u32, page_no: u32, byte: u8, origin: u16) -> WriteSet {
    WriteSet {
        snapshot,
        db_pages,
        deltas: vec![PageDelta {
            page_no,
            ranges: vec![ByteRange {
                offset: 100,
                bytes: vec![byte; 8],
            }],
        }],
        locked_pages: vec![],
        guard_pages: vec![],
        origin,
    }
}
