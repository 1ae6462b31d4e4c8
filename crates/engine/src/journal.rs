//! A session's rollback journal: a buffer in memory that keeps its allocation from one
//! transaction to the next.
//!
//! Before SQLite changes a page it copies the page's original image into the rollback
//! journal, so that a statement, a savepoint or the transaction can be rolled back. SQLite's
//! MEMORY journal mode built that journal afresh in every transaction, in 1 KiB chunks: 16
//! allocations and frees per changed 16 KiB page, about a tenth of the server's allocator
//! time under update-heavy load. Sessions run in journal mode PERSIST instead: SQLite opens
//! this file through our VFS and keeps it open (the session file reports
//! `SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN`), zeroes its header at the end of each transaction,
//! and `journal_size_limit` ([`RETAINED_BYTES`]) bounds what a large transaction leaves
//! allocated. Nothing of it reaches a disk: a crash loses only uncommitted transactions, which
//! never left the session.

use crate::vfs::{self, guard};
use rusqlite::ffi;
use std::ffi::{c_int, c_void};

/// Journal bytes kept allocated after a transaction (SQLite truncates a longer journal to
/// this at its end): a 1 MiB journal holds 64 page images of 16 KiB.
pub(crate) const RETAINED_BYTES: usize = 1 << 20;

/// The file object SQLite allocates for a journal (`szOsFile` bytes; `base` must come first).
#[repr(C)]
pub(crate) struct JournalHandle {
    base: ffi::sqlite3_file,
    /// From `Box::into_raw`; released in `j_close`. SQLite calls a file's methods from one
    /// thread at a time (the connection's).
    bytes: *mut Vec<u8>,
}

/// Open an empty journal in `file` (which has room for a [`JournalHandle`]).
///
/// # Safety
/// `file` points to at least `size_of::<JournalHandle>()` writable bytes.
pub(crate) unsafe fn open(file: *mut ffi::sqlite3_file) {
    let handle = file.cast::<JournalHandle>();
    // SAFETY: the caller guarantees the room; the pointer is released in j_close.
    unsafe {
        (*handle).bytes = Box::into_raw(Box::default());
        (*handle).base.pMethods = &JOURNAL_METHODS;
    }
}

static JOURNAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(j_close),
    xRead: Some(j_read),
    xWrite: Some(j_write),
    xTruncate: Some(j_truncate),
    xSync: Some(vfs::x_sync),
    xFileSize: Some(j_file_size),
    xLock: Some(j_lock),
    xUnlock: Some(j_lock),
    xCheckReservedLock: Some(j_check_reserved_lock),
    xFileControl: Some(j_file_control),
    xSectorSize: Some(vfs::x_sector_size),
    xDeviceCharacteristics: Some(j_device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

/// The journal's bytes.
///
/// # Safety
/// `file` was opened by [`open`] and not closed; no other reference to its bytes is live.
unsafe fn bytes<'a>(file: *mut ffi::sqlite3_file) -> &'a mut Vec<u8> {
    // SAFETY: per the contract, the pointer came from Box::into_raw and is unaliased.
    unsafe { &mut *(*file.cast::<JournalHandle>()).bytes }
}

/// The byte range `[offset, offset + amt)`, if both are non-negative and it fits a `usize`.
fn span(amt: c_int, offset: ffi::sqlite3_int64) -> Option<(usize, usize)> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(amt).ok()?)?;
    Some((start, end))
}

unsafe extern "C" fn j_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes each file once; the pointer came from Box::into_raw.
    unsafe {
        let handle = file.cast::<JournalHandle>();
        if !(*handle).bytes.is_null() {
            drop(Box::from_raw((*handle).bytes));
            (*handle).bytes = std::ptr::null_mut();
        }
        (*file).pMethods = std::ptr::null();
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn j_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amt: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    guard(ffi::SQLITE_IOERR_READ, || {
        let Some((start, end)) = span(amt, offset) else {
            return ffi::SQLITE_IOERR_READ;
        };
        // SAFETY: SQLite hands a buffer of `amt` bytes; the file is an open journal.
        let (out, bytes) = unsafe {
            (
                std::slice::from_raw_parts_mut(buf.cast::<u8>(), end - start),
                bytes(file),
            )
        };
        let have = bytes.len().saturating_sub(start).min(out.len());
        if have > 0 {
            out[..have].copy_from_slice(&bytes[start..start + have]);
        }
        if have < out.len() {
            // SQLite requires the rest zero-filled on a short read.
            out[have..].fill(0);
            return ffi::SQLITE_IOERR_SHORT_READ;
        }
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn j_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amt: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    guard(ffi::SQLITE_IOERR_WRITE, || {
        let Some((start, end)) = span(amt, offset) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        // SAFETY: SQLite hands `amt` readable bytes; the file is an open journal.
        let (data, bytes) = unsafe {
            (
                std::slice::from_raw_parts(buf.cast::<u8>(), end - start),
                bytes(file),
            )
        };
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[start..end].copy_from_slice(data);
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn j_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    guard(ffi::SQLITE_IOERR_TRUNCATE, || {
        let Ok(size) = usize::try_from(size) else {
            return ffi::SQLITE_IOERR_TRUNCATE;
        };
        // SAFETY: the file is an open journal.
        let bytes = unsafe { bytes(file) };
        bytes.truncate(size);
        // What a large transaction allocated is given back (see RETAINED_BYTES).
        bytes.shrink_to(RETAINED_BYTES);
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn j_file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: the file is an open journal; size is writable.
    unsafe {
        *size = i64::try_from(bytes(file).len()).unwrap_or(i64::MAX);
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn j_lock(_file: *mut ffi::sqlite3_file, _level: c_int) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn j_check_reserved_lock(
    _file: *mut ffi::sqlite3_file,
    out: *mut c_int,
) -> c_int {
    // SAFETY: out is writable.
    unsafe { *out = 0 };
    ffi::SQLITE_OK
}

unsafe extern "C" fn j_file_control(
    _file: *mut ffi::sqlite3_file,
    _op: c_int,
    _arg: *mut c_void,
) -> c_int {
    ffi::SQLITE_NOTFOUND
}

unsafe extern "C" fn j_device_characteristics(_file: *mut ffi::sqlite3_file) -> c_int {
    ffi::SQLITE_IOCAP_SAFE_APPEND | ffi::SQLITE_IOCAP_SEQUENTIAL
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal opened in a zeroed file object, closed on drop.
    struct Open(Box<JournalHandle>);

    impl Open {
        fn new() -> Open {
            // SAFETY: a zeroed JournalHandle is a valid "not open" file object.
            let mut h: Box<JournalHandle> = Box::new(unsafe { std::mem::zeroed() });
            unsafe { open(&mut h.base) };
            Open(h)
        }

        fn file(&mut self) -> *mut ffi::sqlite3_file {
            &mut self.0.base
        }

        fn write(&mut self, data: &[u8], offset: i64) -> c_int {
            unsafe {
                j_write(
                    self.file(),
                    data.as_ptr().cast(),
                    data.len() as c_int,
                    offset,
                )
            }
        }

        fn read(&mut self, len: usize, offset: i64) -> (c_int, Vec<u8>) {
            let mut buf = vec![0xEE; len];
            let rc = unsafe { j_read(self.file(), buf.as_mut_ptr().cast(), len as c_int, offset) };
            (rc, buf)
        }

        fn size(&mut self) -> i64 {
            let mut size = -1;
            unsafe { j_file_size(self.file(), &mut size) };
            size
        }
    }

    impl Drop for Open {
        fn drop(&mut self) {
            unsafe { j_close(self.file()) };
        }
    }

    #[test]
    fn reads_what_was_written_and_zero_fills_past_the_end() {
        let mut j = Open::new();
        assert_eq!(j.read(1, 0), (ffi::SQLITE_IOERR_SHORT_READ, vec![0]));
        assert_eq!(j.write(b"abcd", 2), ffi::SQLITE_OK);
        assert_eq!(j.size(), 6);
        assert_eq!(j.read(6, 0), (ffi::SQLITE_OK, b"\0\0abcd".to_vec()));
        assert_eq!(
            j.read(4, 4),
            (ffi::SQLITE_IOERR_SHORT_READ, b"cd\0\0".to_vec())
        );
        assert_eq!(j.read(2, 100), (ffi::SQLITE_IOERR_SHORT_READ, vec![0, 0]));
        assert_eq!(j.write(b"XY", 3), ffi::SQLITE_OK);
        assert_eq!(j.read(6, 0).1, b"\0\0aXYd".to_vec());
        assert_eq!(j.write(b"x", -1), ffi::SQLITE_IOERR_WRITE);
    }

    #[test]
    fn truncate_shrinks_and_gives_back_what_is_over_the_limit() {
        let mut j = Open::new();
        let page = vec![7u8; 4 * RETAINED_BYTES];
        assert_eq!(j.write(&page, 0), ffi::SQLITE_OK);
        assert_eq!(unsafe { j_truncate(j.file(), 10) }, ffi::SQLITE_OK);
        assert_eq!(j.size(), 10);
        assert!(unsafe { bytes(j.file()) }.capacity() <= RETAINED_BYTES);
        assert_eq!(j.read(10, 0).1, vec![7u8; 10]);
    }
}
