//! Encoding of responses: OK, EOF, ERR packets, column definitions and rows, and the
//! [`ResultSink`] through which sessions write their results.

use std::io::{self, Write};

use mysql_common::constants::{ColumnType, StatusFlags};
use mysql_common::value::Value;

use crate::backend::OkInfo;
use crate::binary_value::{write_binary, write_lenenc_text};
use crate::column::ColumnDef;
use crate::error::MysqlError;
use crate::packet::PacketWriter;
use crate::wire::put_lenenc_int;

/// The response writer of a connection.
pub type Out = PacketWriter<Box<dyn Write + Send>>;

/// A response writer that sends nowhere (for a [`ResultSink::discarding`]).
pub fn discarding_writer() -> Out {
    crate::packet::PacketWriter::new(Box::new(io::sink()))
}

/// Buffered response bytes above which the sink flushes before writing the next packet
/// (bounds memory for large result sets while keeping one write per small response).
const FLUSH_THRESHOLD: usize = 256 * 1024;

/// Appends an OK packet (`header` 0x00, or 0xFE for the end of a result set with
/// CLIENT_DEPRECATE_EOF). Returns the buffer offset of the status flags.
pub fn write_ok(w: &mut Out, header: u8, ok: &OkInfo, status: StatusFlags) -> usize {
    let buf = w.begin();
    buf.push(header);
    put_lenenc_int(buf, ok.affected_rows);
    put_lenenc_int(buf, ok.last_insert_id);
    let at = buf.len();
    buf.extend_from_slice(&status.bits().to_le_bytes());
    buf.extend_from_slice(&ok.warnings.to_le_bytes());
    buf.extend_from_slice(ok.info.as_bytes());
    w.finish();
    at
}

/// Appends an ERR packet.
pub fn write_err(w: &mut Out, err: &MysqlError) {
    let buf = w.begin();
    buf.push(0xff);
    buf.extend_from_slice(&err.code.to_le_bytes());
    buf.push(b'#');
    buf.extend_from_slice(&err.sqlstate);
    // Keep the packet well below the chunk limit even for absurd messages.
    let msg = err.message.as_bytes();
    buf.extend_from_slice(&msg[..msg.len().min(64 * 1024)]);
    w.finish();
}

/// Appends the end-of-section marker: an EOF packet, or with CLIENT_DEPRECATE_EOF an OK
/// packet with header 0xFE. Returns the buffer offset of the status flags.
pub fn write_eof(w: &mut Out, deprecate_eof: bool, warnings: u16, status: StatusFlags) -> usize {
    if deprecate_eof {
        let ok = OkInfo {
            warnings,
            ..OkInfo::default()
        };
        return write_ok(w, 0xfe, &ok, status);
    }
    let buf = w.begin();
    buf.push(0xfe);
    buf.extend_from_slice(&warnings.to_le_bytes());
    let at = buf.len();
    buf.extend_from_slice(&status.bits().to_le_bytes());
    w.finish();
    at
}

/// Appends one column definition packet per column.
pub fn write_column_defs(w: &mut Out, columns: &[ColumnDef]) {
    for col in columns {
        col.encode(w.begin());
        w.finish();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing written yet, or the previous result announced another one.
    Expecting,
    /// Column definitions written, rows may follow.
    Rows,
    /// The response is complete.
    Done,
}

/// Writes the results of one COM_QUERY or COM_STMT_EXECUTE to the connection.
///
/// Text or binary row encoding is chosen by the command; CLIENT_DEPRECATE_EOF decides how
/// result sets end; `more` arguments set SERVER_MORE_RESULTS_EXISTS.
pub struct ResultSink<'a> {
    w: &'a mut Out,
    columns: &'a mut Vec<(ColumnType, u8)>,
    binary: bool,
    deprecate_eof: bool,
    status: StatusFlags,
    state: State,
    /// Buffer offset of the status flags of the final packet, patched by `finish`.
    final_status_at: Option<usize>,
    /// Digest of what the client is shown (payloads, not framing), while one is recorded.
    digest: Option<twox_hash::XxHash3_128>,
}

impl<'a> ResultSink<'a> {
    pub(crate) fn new(
        w: &'a mut Out,
        columns: &'a mut Vec<(ColumnType, u8)>,
        binary: bool,
        deprecate_eof: bool,
        status: StatusFlags,
    ) -> Self {
        columns.clear();
        Self {
            w,
            columns,
            binary,
            deprecate_eof,
            status,
            state: State::Expecting,
            final_status_at: None,
            digest: None,
        }
    }

    /// A sink that encodes results as `binary` (COM_STMT_EXECUTE) or text rows but sends them
    /// nowhere: for re-running statements whose results are only compared by digest.
    pub fn discarding(
        w: &'a mut Out,
        columns: &'a mut Vec<(ColumnType, u8)>,
        binary: bool,
    ) -> Self {
        Self::new(w, columns, binary, true, StatusFlags::empty())
    }

    /// Starts a digest of the results written from now on: column definitions, rows, OK
    /// fields and error codes — what a client can observe, independent of packet framing and
    /// status flags. Replaces one being recorded.
    pub fn record_digest(&mut self) {
        self.digest = Some(twox_hash::XxHash3_128::new());
    }

    /// Ends the digest started by [`record_digest`](Self::record_digest), if any.
    pub fn take_digest(&mut self) -> Option<u128> {
        self.digest.take().map(|d| d.finish_128())
    }

    fn digest_write(&mut self, bytes: &[u8]) {
        if let Some(d) = &mut self.digest {
            d.write(bytes);
        }
    }

    /// Appends one packet whose payload `encode` writes, adding the payload to the digest.
    fn packet(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let buf = self.w.begin();
        let start = buf.len();
        encode(buf);
        if let Some(d) = &mut self.digest {
            d.write(&buf[start..]);
        }
        self.w.finish();
    }

    /// True for COM_STMT_EXECUTE (binary rows), false for COM_QUERY (text rows).
    pub fn is_binary(&self) -> bool {
        self.binary
    }

    /// Updates the status flags used for the following packets (e.g. after BEGIN in a
    /// multi-statement query). The final packet is corrected automatically anyway.
    pub fn set_status_flags(&mut self, status: StatusFlags) {
        self.status = status;
    }

    fn status_for(&self, more: bool) -> StatusFlags {
        let mut s = self.status - StatusFlags::SERVER_MORE_RESULTS_EXISTS;
        if more {
            s |= StatusFlags::SERVER_MORE_RESULTS_EXISTS;
        }
        s
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.w.buffered() > FLUSH_THRESHOLD {
            self.w.flush()?;
            self.final_status_at = None;
        }
        Ok(())
    }

    /// Returns false (and logs) when the response is already complete.
    fn accepting(&mut self, what: &str) -> io::Result<bool> {
        match self.state {
            State::Done => {
                tracing::warn!("ResultSink::{what} after the response was complete; ignored");
                Ok(false)
            }
            State::Rows => {
                tracing::warn!("ResultSink::{what} inside a result set; ending it first");
                self.end_rows(0, true)?;
                Ok(true)
            }
            State::Expecting => Ok(true),
        }
    }

    /// An OK result; `more`: another result follows.
    pub fn ok(&mut self, ok: OkInfo, more: bool) -> io::Result<()> {
        if !self.accepting("ok")? {
            return Ok(());
        }
        self.maybe_flush()?;
        self.digest_ok(&ok);
        let at = write_ok(self.w, 0x00, &ok, self.status_for(more));
        self.after_end(at, more);
        Ok(())
    }

    fn digest_ok(&mut self, ok: &OkInfo) {
        if self.digest.is_some() {
            self.digest_write(&[0x00]);
            self.digest_write(&ok.affected_rows.to_le_bytes());
            self.digest_write(&ok.last_insert_id.to_le_bytes());
            self.digest_write(&ok.warnings.to_le_bytes());
            self.digest_write(ok.info.as_bytes());
        }
    }

    /// An error; it ends the response.
    pub fn error(&mut self, err: &MysqlError) -> io::Result<()> {
        if self.state == State::Done {
            tracing::warn!("ResultSink::error after the response was complete; ignored");
            return Ok(());
        }
        // An error inside a result set is legal: the client drops the partial rows.
        self.maybe_flush()?;
        self.digest_write(&[0xff]);
        self.digest_write(&err.code.to_le_bytes());
        write_err(self.w, err);
        self.state = State::Done;
        self.final_status_at = None;
        Ok(())
    }

    /// Starts a result set with these columns.
    pub fn begin_rows(&mut self, columns: &[ColumnDef]) -> io::Result<()> {
        if !self.accepting("begin_rows")? {
            return Ok(());
        }
        self.maybe_flush()?;
        self.columns.clear();
        self.columns
            .extend(columns.iter().map(|c| (c.column_type, c.decimals)));
        self.packet(|buf| put_lenenc_int(buf, columns.len() as u64));
        for col in columns {
            self.packet(|buf| col.encode(buf));
        }
        if !self.deprecate_eof {
            write_eof(self.w, false, 0, self.status_for(false));
        }
        self.state = State::Rows;
        Ok(())
    }

    /// One row; `values` should have one value per column (missing ones are sent as NULL,
    /// extra ones are dropped).
    pub fn row(&mut self, values: &[Value]) -> io::Result<()> {
        if self.state != State::Rows {
            tracing::warn!("ResultSink::row outside a result set; ignored");
            return Ok(());
        }
        self.maybe_flush()?;
        if values.len() != self.columns.len() {
            tracing::warn!(
                "row has {} values for {} columns",
                values.len(),
                self.columns.len()
            );
        }
        let (binary, columns) = (self.binary, &*self.columns);
        let buf = self.w.begin();
        let start = buf.len();
        if binary {
            encode_binary_row(buf, columns, values);
        } else {
            encode_text_row(buf, columns, values);
        }
        if let Some(d) = &mut self.digest {
            d.write(&buf[start..]);
        }
        self.w.finish();
        Ok(())
    }

    /// Ends the result set; `more`: another result follows.
    pub fn end_rows(&mut self, warnings: u16, more: bool) -> io::Result<()> {
        if self.state != State::Rows {
            tracing::warn!("ResultSink::end_rows outside a result set; ignored");
            return Ok(());
        }
        self.maybe_flush()?;
        self.digest_write(&[0xfe]);
        self.digest_write(&warnings.to_le_bytes());
        let at = write_eof(self.w, self.deprecate_eof, warnings, self.status_for(more));
        self.after_end(at, more);
        Ok(())
    }

    fn after_end(&mut self, status_at: usize, more: bool) {
        if more {
            self.state = State::Expecting;
            self.final_status_at = None;
        } else {
            self.state = State::Done;
            self.final_status_at = Some(status_at);
        }
    }

    /// Completes the response after the session returned: closes an unfinished result
    /// set, answers OK when nothing (more) was written, and puts the session's current
    /// status flags into the final packet.
    pub(crate) fn finish(mut self, status: StatusFlags) -> io::Result<()> {
        self.status = status;
        match self.state {
            State::Rows => self.end_rows(0, false)?,
            State::Expecting => self.ok(OkInfo::default(), false)?,
            State::Done => {}
        }
        if let Some(at) = self.final_status_at {
            let bits = (status - StatusFlags::SERVER_MORE_RESULTS_EXISTS).bits();
            let patched = self.w.patch_u16(at, bits);
            debug_assert!(patched);
        }
        Ok(())
    }
}

/// Text row: every value as a length-encoded string, NULL as 0xFB.
fn encode_text_row(buf: &mut Vec<u8>, columns: &[(ColumnType, u8)], values: &[Value]) {
    for (i, &(column_type, decimals)) in columns.iter().enumerate() {
        match values.get(i) {
            None | Some(Value::NULL) => buf.push(0xfb),
            Some(v) => write_lenenc_text(buf, v, column_type, decimals),
        }
    }
}

/// Binary row: 0x00, NULL bitmap with offset 2, then each non-NULL value per column type.
fn encode_binary_row(buf: &mut Vec<u8>, columns: &[(ColumnType, u8)], values: &[Value]) {
    buf.push(0x00);
    let bitmap_at = buf.len();
    let bitmap_len = (columns.len() + 7 + 2) / 8;
    buf.resize(bitmap_at + bitmap_len, 0);
    for (i, &(column_type, decimals)) in columns.iter().enumerate() {
        let value = values.get(i).unwrap_or(&Value::NULL);
        if *value == Value::NULL || column_type == ColumnType::MYSQL_TYPE_NULL {
            let bit = i + 2;
            buf[bitmap_at + bit / 8] |= 1 << (bit % 8);
            continue;
        }
        write_binary(buf, value, column_type, decimals);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Cursor;

    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<parking_lot::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn packets(shared: &Shared) -> Vec<Vec<u8>> {
        let bytes = shared.0.lock().clone();
        let mut r = crate::packet::PacketReader::new(&bytes[..], usize::MAX);
        let mut out = Vec::new();
        let mut p = Vec::new();
        while r.read_payload(&mut p).is_ok() {
            out.push(p.clone());
        }
        out
    }

    fn status_of_ok(p: &[u8]) -> u16 {
        let mut c = Cursor::new(p);
        c.u8().unwrap();
        c.lenenc_int().unwrap();
        c.lenenc_int().unwrap();
        c.u16().unwrap()
    }

    #[test]
    fn sink_closes_unfinished_result_and_patches_status() {
        let shared = Shared::default();
        let mut w: Out = PacketWriter::new(Box::new(shared.clone()));
        let mut cols = Vec::new();
        let mut sink = ResultSink::new(&mut w, &mut cols, false, true, StatusFlags::empty());
        sink.ok(
            OkInfo {
                affected_rows: 3,
                ..OkInfo::default()
            },
            true,
        )
        .unwrap();
        sink.begin_rows(&[ColumnDef::new("a", ColumnType::MYSQL_TYPE_LONGLONG)])
            .unwrap();
        sink.row(&[Value::Int(1)]).unwrap();
        sink.finish(StatusFlags::SERVER_STATUS_IN_TRANS).unwrap();
        w.flush().unwrap();
        let p = packets(&shared);
        // OK(more), count, coldef, row, OK 0xFE
        assert_eq!(p.len(), 5);
        assert_eq!(p[0][0], 0);
        assert_eq!(
            status_of_ok(&p[0]),
            StatusFlags::SERVER_MORE_RESULTS_EXISTS.bits()
        );
        assert_eq!(p[1], vec![1]);
        assert_eq!(p[3], vec![1, b'1']);
        assert_eq!(p[4][0], 0xfe);
        assert_eq!(
            status_of_ok(&p[4]),
            StatusFlags::SERVER_STATUS_IN_TRANS.bits()
        );
    }

    #[test]
    fn empty_response_becomes_ok_and_classic_eof() {
        let shared = Shared::default();
        let mut w: Out = PacketWriter::new(Box::new(shared.clone()));
        let mut cols = Vec::new();
        let sink = ResultSink::new(&mut w, &mut cols, false, false, StatusFlags::empty());
        sink.finish(StatusFlags::SERVER_STATUS_AUTOCOMMIT).unwrap();
        let mut sink = ResultSink::new(&mut w, &mut cols, true, false, StatusFlags::empty());
        sink.begin_rows(&[ColumnDef::new("a", ColumnType::MYSQL_TYPE_LONGLONG)])
            .unwrap();
        sink.end_rows(2, false).unwrap();
        sink.error(&MysqlError::new(1, "HY000", "ignored after done"))
            .unwrap();
        sink.finish(StatusFlags::SERVER_STATUS_AUTOCOMMIT).unwrap();
        w.flush().unwrap();
        let p = packets(&shared);
        assert_eq!(p.len(), 5);
        assert_eq!(
            status_of_ok(&p[0]),
            StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits()
        );
        assert_eq!(p[3][0], 0xfe);
        assert_eq!(p[4], vec![0xfe, 2, 0, 2, 0]);
    }

    /// Runs `f` on a sink recording a digest; returns the digest.
    fn digest_of(binary: bool, deprecate_eof: bool, f: impl FnOnce(&mut ResultSink<'_>)) -> u128 {
        let mut w: Out = PacketWriter::new(Box::new(Shared::default()));
        let mut cols = Vec::new();
        let mut sink = ResultSink::new(
            &mut w,
            &mut cols,
            binary,
            deprecate_eof,
            StatusFlags::empty(),
        );
        sink.record_digest();
        f(&mut sink);
        sink.take_digest().unwrap()
    }

    #[test]
    fn digest_covers_what_the_client_sees_and_not_the_framing() {
        let columns = [ColumnDef::new("a", ColumnType::MYSQL_TYPE_LONGLONG)];
        let col = &columns;
        let rows = |v: i64| {
            move |s: &mut ResultSink<'_>| {
                s.begin_rows(col).unwrap();
                s.row(&[Value::Int(v)]).unwrap();
                s.end_rows(0, false).unwrap();
            }
        };
        assert_eq!(
            digest_of(false, true, rows(1)),
            digest_of(false, false, rows(1))
        );
        assert_ne!(
            digest_of(false, true, rows(1)),
            digest_of(false, true, rows(2))
        );
        let ok = |affected: u64, id: u64| {
            move |s: &mut ResultSink<'_>| {
                let info = OkInfo {
                    affected_rows: affected,
                    last_insert_id: id,
                    ..OkInfo::default()
                };
                s.ok(info, false).unwrap();
            }
        };
        assert_eq!(
            digest_of(true, true, ok(1, 0)),
            digest_of(false, false, ok(1, 0))
        );
        assert_ne!(
            digest_of(true, true, ok(1, 0)),
            digest_of(true, true, ok(0, 0))
        );
        assert_ne!(
            digest_of(true, true, ok(1, 0)),
            digest_of(true, true, ok(1, 5))
        );
        // Not recording: no digest.
        let mut w: Out = PacketWriter::new(Box::new(Shared::default()));
        let mut cols = Vec::new();
        let mut sink = ResultSink::discarding(&mut w, &mut cols, false);
        sink.ok(OkInfo::default(), false).unwrap();
        assert_eq!(sink.take_digest(), None);
    }

    proptest::proptest! {
        /// Any sequence of sink calls (even a wrong one) yields a well-framed response that
        /// ends in exactly one final OK/EOF/ERR, without panicking.
        #[test]
        fn any_call_sequence_is_well_framed(
            ops in proptest::collection::vec(0u8..6, 0..12),
            binary in proptest::prelude::any::<bool>(),
            deprecate_eof in proptest::prelude::any::<bool>(),
        ) {
            let shared = Shared::default();
            let mut w: Out = PacketWriter::new(Box::new(shared.clone()));
            let mut cols = Vec::new();
            let mut sink = ResultSink::new(&mut w, &mut cols, binary, deprecate_eof, StatusFlags::empty());
            let columns = [
                ColumnDef::new("a", ColumnType::MYSQL_TYPE_LONGLONG),
                ColumnDef::new("b", ColumnType::MYSQL_TYPE_DATETIME),
            ];
            for op in ops {
                match op {
                    0 => sink.ok(OkInfo::default(), true).unwrap(),
                    1 => sink.ok(OkInfo::default(), false).unwrap(),
                    2 => sink.begin_rows(&columns).unwrap(),
                    3 => sink.row(&[Value::Bytes(b"7".to_vec()), Value::Int(3), Value::NULL]).unwrap(),
                    4 => sink.end_rows(0, true).unwrap(),
                    _ => sink.error(&MysqlError::new(1, "HY000", "e")).unwrap(),
                }
            }
            sink.finish(StatusFlags::SERVER_STATUS_AUTOCOMMIT).unwrap();
            w.flush().unwrap();
            let p = packets(&shared);
            let last = p.last().unwrap();
            proptest::prop_assert!(last[0] == 0 || last[0] == 0xfe || last[0] == 0xff);
            if last[0] != 0xff && (last[0] == 0 || deprecate_eof) {
                proptest::prop_assert_eq!(status_of_ok(last), StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits());
            }
        }
    }

    #[test]
    fn binary_row_null_bitmap() {
        let cols = [
            (ColumnType::MYSQL_TYPE_LONGLONG, 0),
            (ColumnType::MYSQL_TYPE_VAR_STRING, 0),
            (ColumnType::MYSQL_TYPE_TINY, 0),
        ];
        let mut buf = Vec::new();
        encode_binary_row(&mut buf, &cols, &[Value::Int(5), Value::NULL]);
        // header, 1 bitmap byte with bits 3 (col 1) and 4 (col 2, missing), then 8 bytes
        assert_eq!(buf[0], 0);
        assert_eq!(buf[1], 0b0001_1000);
        assert_eq!(&buf[2..], &5i64.to_le_bytes());
    }

    #[test]
    fn text_row_encoding() {
        let cols = [
            (ColumnType::MYSQL_TYPE_LONGLONG, 0),
            (ColumnType::MYSQL_TYPE_VAR_STRING, 0),
        ];
        let mut buf = Vec::new();
        encode_text_row(&mut buf, &cols, &[Value::Int(-7), Value::NULL]);
        let mut c = Cursor::new(&buf);
        assert_eq!(c.lenenc_str().unwrap(), b"-7");
        assert_eq!(c.u8().unwrap(), 0xfb);
    }
}
