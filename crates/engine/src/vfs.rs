//! The SQLite VFS of one engine, written on `rusqlite::ffi`.
//!
//! Main database files are [`SessionFile`]s found by name in a registry filled by
//! `open_session`, their rollback journals are buffers in memory (`journal`); every other file (temporary files, should SQLite need one) is opened by the
//! default VFS directly in our file object, which is sized for both.

use crate::engine::EngineCore;
use crate::error::EngineError;
use crate::journal;
use crate::session_file::{CommitOutcome, ReadOutcome, SessionFile};
use parking_lot::Mutex;
use rusqlite::ffi;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Unique VFS names within the process.
static NEXT_VFS_ID: AtomicU64 = AtomicU64::new(1);

/// Longest path name SQLite may hand us.
const MAX_PATHNAME: c_int = 512;

/// Kinds of files SQLite may open besides the main database that are private and deleted on
/// close; the default VFS opens them.
const TEMPORARY_FILES: c_int = ffi::SQLITE_OPEN_TEMP_DB
    | ffi::SQLITE_OPEN_TEMP_JOURNAL
    | ffi::SQLITE_OPEN_TRANSIENT_DB
    | ffi::SQLITE_OPEN_SUBJOURNAL;

/// Our file object. SQLite allocates `szOsFile` bytes; `base` must come first.
#[repr(C)]
struct FileHandle {
    base: ffi::sqlite3_file,
    /// From `Arc::into_raw`; released in `x_close`.
    file: *const SessionFile,
}

/// What the VFS callbacks reach through `pAppData`.
struct VfsCtx {
    _core: Arc<EngineCore>,
    default: *mut ffi::sqlite3_vfs,
    /// Every session file name starts with this.
    prefix: String,
    /// Session files waiting for SQLite to open them, by name.
    pending: Mutex<HashMap<String, Arc<SessionFile>>>,
}

/// A registered VFS; unregistered and freed on drop (after every connection on it closed).
pub(crate) struct VfsRegistration {
    vfs: *mut ffi::sqlite3_vfs,
    ctx: *mut VfsCtx,
    name: CString,
}

// SAFETY: the pointers are owned by this registration and only freed in Drop; VfsCtx is
// itself Send + Sync apart from the default VFS pointer, which SQLite keeps alive and
// synchronises internally.
unsafe impl Send for VfsRegistration {}
unsafe impl Sync for VfsRegistration {}

/// Process-wide SQLite settings, applied once before SQLite initialises (`sqlite3_config` is
/// refused afterwards). Memory statistics off: with them on (the default) every allocation and
/// free of every connection takes one global mutex, which the session threads queue on.
fn configure_sqlite_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int; sqlite3_config is safe to call before
        // sqlite3_initialize and returns SQLITE_MISUSE (no effect) after it.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
        if rc != ffi::SQLITE_OK {
            tracing::debug!(
                rc,
                "SQLite was initialised already: memory statistics stay on"
            );
        }
    });
}

impl VfsRegistration {
    /// Register a new VFS for `core` (not as the default VFS).
    pub fn register(core: Arc<EngineCore>) -> Result<Self, EngineError> {
        configure_sqlite_once();
        let id = NEXT_VFS_ID.fetch_add(1, Ordering::Relaxed);
        let name = CString::new(format!("borealis-{id}"))
            .map_err(|_| EngineError::Unsupported("VFS name"))?;
        // SAFETY: sqlite3_vfs_find initialises SQLite and returns the default VFS or null.
        let default = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
        if default.is_null() {
            return Err(EngineError::Unsupported("SQLite has no default VFS"));
        }
        // SAFETY: default is a valid, registered VFS.
        let default_file_size = unsafe { (*default).szOsFile };
        let size = (std::mem::size_of::<FileHandle>() as c_int)
            .max(std::mem::size_of::<journal::JournalHandle>() as c_int)
            .max(default_file_size);
        let ctx = Box::into_raw(Box::new(VfsCtx {
            _core: core,
            default,
            prefix: format!("borealis-{id}-session-"),
            pending: Mutex::new(HashMap::new()),
        }));
        let vfs = Box::into_raw(Box::new(ffi::sqlite3_vfs {
            iVersion: 2,
            szOsFile: size,
            mxPathname: MAX_PATHNAME,
            pNext: ptr::null_mut(),
            zName: name.as_ptr(),
            pAppData: ctx.cast(),
            xOpen: Some(x_open),
            xDelete: Some(x_delete),
            xAccess: Some(x_access),
            xFullPathname: Some(x_full_pathname),
            xDlOpen: Some(x_dl_open),
            xDlError: Some(x_dl_error),
            xDlSym: Some(x_dl_sym),
            xDlClose: Some(x_dl_close),
            xRandomness: Some(x_randomness),
            xSleep: Some(x_sleep),
            xCurrentTime: Some(x_current_time),
            xGetLastError: Some(x_get_last_error),
            xCurrentTimeInt64: Some(x_current_time_int64),
            xSetSystemCall: None,
            xGetSystemCall: None,
            xNextSystemCall: None,
        }));
        // SAFETY: vfs and its name live until Drop unregisters them.
        let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
        let registration = VfsRegistration { vfs, ctx, name };
        if rc != ffi::SQLITE_OK {
            return Err(EngineError::Sqlite(rusqlite::Error::SqliteFailure(
                ffi::Error::new(rc),
                Some("sqlite3_vfs_register".into()),
            )));
        }
        Ok(registration)
    }

    /// The name to pass to `open_with_flags_and_vfs`.
    pub fn name(&self) -> &str {
        self.name.to_str().unwrap_or_default()
    }

    /// Make `file` openable under a fresh name; returns the name.
    pub fn stage(&self, session_id: u64, file: Arc<SessionFile>) -> String {
        // SAFETY: ctx lives as long as self.
        let ctx = unsafe { &*self.ctx };
        let name = format!("{}{session_id}", ctx.prefix);
        ctx.pending.lock().insert(name.clone(), file);
        name
    }

    /// Forget a staged file (after its connection opened it, or failed to).
    pub fn unstage(&self, name: &str) {
        // SAFETY: ctx lives as long as self.
        let ctx = unsafe { &*self.ctx };
        ctx.pending.lock().remove(name);
    }
}

impl Drop for VfsRegistration {
    fn drop(&mut self) {
        // SAFETY: every connection on this VFS is closed (sessions hold the engine alive), so
        // nothing uses vfs or ctx any more.
        unsafe {
            ffi::sqlite3_vfs_unregister(self.vfs);
            drop(Box::from_raw(self.vfs));
            drop(Box::from_raw(self.ctx));
        }
    }
}

/// Run a callback body, turning a panic into an I/O error instead of unwinding into C.
pub(crate) fn guard(fallback: c_int, f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

unsafe fn ctx<'a>(vfs: *mut ffi::sqlite3_vfs) -> &'a VfsCtx {
    // SAFETY: pAppData was set to a live VfsCtx at registration.
    unsafe { &*((*vfs).pAppData as *const VfsCtx) }
}

unsafe fn name_of<'a>(z: *const c_char) -> Option<&'a str> {
    if z.is_null() {
        return None;
    }
    // SAFETY: SQLite passes NUL-terminated names.
    unsafe { CStr::from_ptr(z) }.to_str().ok()
}

fn is_ours(ctx: &VfsCtx, name: Option<&str>) -> bool {
    name.is_some_and(|n| n.starts_with(&ctx.prefix))
}

/// Version 3 for xFetch/xUnfetch (pages read in place, see `SessionFile::fetch`). There is no
/// xShmMap, so SQLite knows WAL is not supported.
static IO_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};

unsafe extern "C" fn x_open(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    guard(ffi::SQLITE_CANTOPEN, || {
        // SAFETY: vfs is ours; file points to szOsFile writable bytes.
        unsafe {
            let ctx = ctx(vfs);
            (*file).pMethods = ptr::null();
            if flags & ffi::SQLITE_OPEN_MAIN_JOURNAL != 0 && is_ours(ctx, name_of(z_name)) {
                // A session's rollback journal: in memory, reused (see `journal`).
                journal::open(file);
                if !out_flags.is_null() {
                    *out_flags = flags;
                }
                return ffi::SQLITE_OK;
            }
            if flags & ffi::SQLITE_OPEN_MAIN_DB == 0 {
                if flags & TEMPORARY_FILES == 0 {
                    // A rollback journal of another database, a WAL or a super-journal
                    // would live outside the page store: refuse.
                    tracing::warn!(
                        flags,
                        "refusing a non-temporary auxiliary file on the Borealis VFS"
                    );
                    return ffi::SQLITE_CANTOPEN;
                }
                // Temporary files: the default VFS opens them in our file object.
                return match (*ctx.default).xOpen {
                    Some(open) => open(ctx.default, z_name, file, flags, out_flags),
                    None => ffi::SQLITE_CANTOPEN,
                };
            }
            let Some(name) = name_of(z_name) else {
                return ffi::SQLITE_CANTOPEN;
            };
            let Some(session) = ctx.pending.lock().get(name).cloned() else {
                tracing::warn!(
                    name,
                    "only session databases can be opened on the Borealis VFS"
                );
                return ffi::SQLITE_CANTOPEN;
            };
            let handle = file.cast::<FileHandle>();
            (*handle).file = Arc::into_raw(session);
            (*handle).base.pMethods = &IO_METHODS;
            if !out_flags.is_null() {
                *out_flags = flags;
            }
            ffi::SQLITE_OK
        }
    })
}

unsafe fn session<'a>(file: *mut ffi::sqlite3_file) -> &'a SessionFile {
    // SAFETY: only files opened by x_open with IO_METHODS reach our io methods.
    unsafe { &*(*file.cast::<FileHandle>()).file }
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    guard(ffi::SQLITE_IOERR_CLOSE, || {
        // SAFETY: x_open stored an Arc::into_raw pointer; SQLite closes each file once.
        unsafe {
            let handle = file.cast::<FileHandle>();
            let raw = (*handle).file;
            if !raw.is_null() {
                let session = Arc::from_raw(raw);
                session.unlock(crate::session_file::LOCK_NONE);
                (*handle).file = ptr::null();
            }
            (*file).pMethods = ptr::null();
        }
        ffi::SQLITE_OK
    })
}

fn log_io(what: &str, e: &EngineError) {
    tracing::error!(error = %e, "VFS {what} failed");
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amt: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    guard(ffi::SQLITE_IOERR_READ, || {
        let (Ok(len), Ok(offset)) = (usize::try_from(amt), u64::try_from(offset)) else {
            return ffi::SQLITE_IOERR_READ;
        };
        // SAFETY: SQLite passes a buffer of amt bytes.
        let buf = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
        // SAFETY: file is one of ours.
        match unsafe { session(file) }.read(buf, offset) {
            Ok(ReadOutcome::Full) => ffi::SQLITE_OK,
            Ok(ReadOutcome::Short) => ffi::SQLITE_IOERR_SHORT_READ,
            Err(e) => {
                log_io("read", &e);
                ffi::SQLITE_IOERR_READ
            }
        }
    })
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amt: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    guard(ffi::SQLITE_IOERR_WRITE, || {
        let (Ok(len), Ok(offset)) = (usize::try_from(amt), u64::try_from(offset)) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        // SAFETY: SQLite passes a buffer of amt bytes.
        let buf = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
        // SAFETY: file is one of ours.
        match unsafe { session(file) }.write(buf, offset) {
            Ok(()) => ffi::SQLITE_OK,
            Err(e) => {
                log_io("write", &e);
                ffi::SQLITE_IOERR_WRITE
            }
        }
    })
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    guard(ffi::SQLITE_IOERR_TRUNCATE, || {
        let Ok(size) = u64::try_from(size) else {
            return ffi::SQLITE_IOERR_TRUNCATE;
        };
        // SAFETY: file is one of ours.
        match unsafe { session(file) }.truncate(size) {
            Ok(()) => ffi::SQLITE_OK,
            Err(e) => {
                log_io("truncate", &e);
                ffi::SQLITE_IOERR_TRUNCATE
            }
        }
    })
}

pub(crate) unsafe extern "C" fn x_sync(_file: *mut ffi::sqlite3_file, _flags: c_int) -> c_int {
    // Durability comes from the page store's commit, not from syncing a file.
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    guard(ffi::SQLITE_IOERR_FSTAT, || {
        // SAFETY: file is one of ours; size is writable.
        match unsafe { session(file) }.file_size() {
            Ok(bytes) => {
                unsafe { *size = i64::try_from(bytes).unwrap_or(i64::MAX) };
                ffi::SQLITE_OK
            }
            Err(e) => {
                log_io("file size", &e);
                ffi::SQLITE_IOERR_FSTAT
            }
        }
    })
}

unsafe extern "C" fn x_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    guard(ffi::SQLITE_IOERR_LOCK, || {
        // SAFETY: file is one of ours.
        match unsafe { session(file) }.lock(level) {
            Ok(()) => ffi::SQLITE_OK,
            Err(e) => {
                log_io("lock", &e);
                ffi::SQLITE_IOERR_LOCK
            }
        }
    })
}

unsafe extern "C" fn x_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    guard(ffi::SQLITE_IOERR_UNLOCK, || {
        // SAFETY: file is one of ours.
        unsafe { session(file) }.unlock(level);
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn x_check_reserved_lock(
    _file: *mut ffi::sqlite3_file,
    out: *mut c_int,
) -> c_int {
    // SQLite asks only to tell whether a journal left behind is "hot" (a crashed writer's,
    // to roll back). A session's journal is its own buffer in memory, kept open between
    // transactions (journal mode PERSIST), and a session's uncommitted pages die with it:
    // there is never a journal to recover. Saying that a writer holds the lock makes SQLite
    // leave it alone, as it did when the journal (mode MEMORY) was dropped at every unlock.
    // SAFETY: out is writable.
    unsafe { *out = 1 };
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    _arg: *mut c_void,
) -> c_int {
    if op != ffi::SQLITE_FCNTL_COMMIT_PHASETWO {
        return ffi::SQLITE_NOTFOUND;
    }
    guard(ffi::SQLITE_IOERR, || {
        // SAFETY: file is one of ours.
        match unsafe { session(file) }.commit() {
            Ok(CommitOutcome::Nothing | CommitOutcome::Committed(_)) => ffi::SQLITE_OK,
            Ok(CommitOutcome::Conflict) => ffi::SQLITE_BUSY_SNAPSHOT,
            Err(e) => {
                log_io("commit", &e);
                ffi::SQLITE_IOERR
            }
        }
    })
}

pub(crate) unsafe extern "C" fn x_sector_size(_file: *mut ffi::sqlite3_file) -> c_int {
    4096
}

unsafe extern "C" fn x_device_characteristics(_file: *mut ffi::sqlite3_file) -> c_int {
    // UNDELETABLE_WHEN_OPEN: SQLite then keeps a PERSIST journal open between transactions,
    // and with it the journal's allocation (see `journal`).
    ffi::SQLITE_IOCAP_SAFE_APPEND
        | ffi::SQLITE_IOCAP_SEQUENTIAL
        | ffi::SQLITE_IOCAP_POWERSAFE_OVERWRITE
        | ffi::SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN
}

unsafe extern "C" fn x_fetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    amt: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: SQLite passes a valid out pointer; null declines the fetch.
    unsafe { *out = ptr::null_mut() };
    guard(ffi::SQLITE_IOERR_MMAP, || {
        let (Ok(len), Ok(offset)) = (usize::try_from(amt), u64::try_from(offset)) else {
            return ffi::SQLITE_OK; // declined: SQLite reads the page instead
        };
        // SAFETY: file is one of ours.
        match unsafe { session(file) }.fetch(offset, len) {
            Ok(Some(at)) => {
                // SAFETY: as above. SQLite only reads through the pointer.
                unsafe { *out = at.cast_mut().cast::<c_void>() };
                ffi::SQLITE_OK
            }
            Ok(None) => ffi::SQLITE_OK,
            Err(e) => {
                log_io("fetch", &e);
                ffi::SQLITE_IOERR_MMAP
            }
        }
    })
}

unsafe extern "C" fn x_unfetch(
    file: *mut ffi::sqlite3_file,
    _offset: ffi::sqlite3_int64,
    at: *mut c_void,
) -> c_int {
    guard(ffi::SQLITE_IOERR_MMAP, || {
        // SAFETY: file is one of ours.
        unsafe { session(file) }.unfetch(at.cast_const().cast::<u8>());
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn x_delete(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    // SAFETY: vfs is ours; the default VFS is valid.
    unsafe {
        let ctx = ctx(vfs);
        if is_ours(ctx, name_of(z_name)) {
            return ffi::SQLITE_OK;
        }
        match (*ctx.default).xDelete {
            Some(f) => f(ctx.default, z_name, sync_dir),
            None => ffi::SQLITE_IOERR_DELETE,
        }
    }
}

unsafe extern "C" fn x_access(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    // SAFETY: vfs is ours; the default VFS is valid; out is writable.
    unsafe {
        let ctx = ctx(vfs);
        if is_ours(ctx, name_of(z_name)) {
            // Session databases and their would-be journals never exist as files.
            *out = 0;
            return ffi::SQLITE_OK;
        }
        match (*ctx.default).xAccess {
            Some(f) => f(ctx.default, z_name, flags, out),
            None => ffi::SQLITE_IOERR_ACCESS,
        }
    }
}

unsafe extern "C" fn x_full_pathname(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    n_out: c_int,
    z_out: *mut c_char,
) -> c_int {
    // SAFETY: vfs is ours; z_out holds n_out bytes.
    unsafe {
        let ctx = ctx(vfs);
        if is_ours(ctx, name_of(z_name)) {
            let bytes = CStr::from_ptr(z_name).to_bytes_with_nul();
            if bytes.len() > usize::try_from(n_out).unwrap_or(0) {
                return ffi::SQLITE_CANTOPEN;
            }
            ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), z_out, bytes.len());
            return ffi::SQLITE_OK;
        }
        match (*ctx.default).xFullPathname {
            Some(f) => f(ctx.default, z_name, n_out, z_out),
            None => ffi::SQLITE_CANTOPEN,
        }
    }
}

unsafe extern "C" fn x_dl_open(vfs: *mut ffi::sqlite3_vfs, z: *const c_char) -> *mut c_void {
    // SAFETY: delegation to the default VFS.
    unsafe {
        let d = ctx(vfs).default;
        (*d).xDlOpen.map_or(ptr::null_mut(), |f| f(d, z))
    }
}

unsafe extern "C" fn x_dl_error(vfs: *mut ffi::sqlite3_vfs, n: c_int, z: *mut c_char) {
    // SAFETY: delegation to the default VFS.
    unsafe {
        let d = ctx(vfs).default;
        if let Some(f) = (*d).xDlError {
            f(d, n, z);
        }
    }
}

type DlSym = unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char);

unsafe extern "C" fn x_dl_sym(
    vfs: *mut ffi::sqlite3_vfs,
    h: *mut c_void,
    z: *const c_char,
) -> Option<DlSym> {
    // SAFETY: delegation to the default VFS.
    unsafe {
        let d = ctx(vfs).default;
        (*d).xDlSym.and_then(|f| f(d, h, z))
    }
}

unsafe extern "C" fn x_dl_close(vfs: *mut ffi::sqlite3_vfs, h: *mut c_void) {
    // SAFETY: delegation to the default VFS.
    unsafe {
        let d = ctx(vfs).default;
        if let Some(f) = (*d).xDlClose {
            f(d, h);
        }
    }
}

unsafe extern "C" fn x_randomness(vfs: *mut ffi::sqlite3_vfs, n: c_int, z: *mut c_char) -> c_int {
    // SAFETY: delegation to the default VFS.
    unsafe {
        let d = ctx(vfs).default;
        (*d).xRandomness.map_or(0, |f| f(d, n, z))
    }
}

unsafe extern "C" fn x_sleep(vfs: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
    // SAFETY: delegation to the default VFS.
    unsafe {
        let d = ctx(vfs).default;
        (*d).xSleep.map_or(0, |f| f(d, micros))
    }
}

unsafe extern "C" fn x_current_time(vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    // SAFETY: delegation to the default VFS.
    unsafe {
        let d = ctx(vfs).default;
        (*d).xCurrentTime.map_or(ffi::SQLITE_ERROR, |f| f(d, out))
    }
}

unsafe extern "C" fn x_current_time_int64(
    vfs: *mut ffi::sqlite3_vfs,
    out: *mut ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: delegation to the default VFS.
    unsafe {
        let d = ctx(vfs).default;
        (*d).xCurrentTimeInt64
            .map_or(ffi::SQLITE_ERROR, |f| f(d, out))
    }
}

unsafe extern "C" fn x_get_last_error(
    vfs: *mut ffi::sqlite3_vfs,
    n: c_int,
    z: *mut c_char,
) -> c_int {
    // SAFETY: delegation to the default VFS.
    unsafe {
        let d = ctx(vfs).default;
        (*d).xGetLastError.map_or(0, |f| f(d, n, z))
    }
}
