//! Hashing and encoding functions: MD5, SHA1, SHA2, CRC32, HEX/UNHEX,
//! BIN/OCT/CONV, TO_BASE64/FROM_BASE64, UUID, UUID_SHORT.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use rusqlite::Connection;
use sha2::Digest;

use crate::digest::{crc32, md5, to_hex_lower};
use crate::encoding;
use crate::error::FunctionError;
use crate::null_if_any_null;
use crate::registry::{pure, volatile, with_flags, Arity};
use crate::string_functions::bytes_result;
use crate::value::SqlValue;

type R = Result<SqlValue, FunctionError>;

const ONE: Arity = Arity::Exactly(&[1]);

/// Registers the hashing and encoding functions.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    pure(conn, &["md5"], ONE, |a| hash_hex(a, |b| md5(b).to_vec()))?;
    pure(conn, &["sha1", "sha"], ONE, |a| {
        hash_hex(a, |b| sha1::Sha1::digest(b).to_vec())
    })?;
    pure(conn, &["sha2"], Arity::Exactly(&[2]), sha2_fn)?;
    pure(conn, &["crc32"], ONE, |a| {
        Ok(a[0]
            .as_bytes()
            .map_or(SqlValue::Null, |b| SqlValue::Integer(i64::from(crc32(&b)))))
    })?;
    pure(conn, &["hex"], ONE, hex)?;
    pure(conn, &["unhex"], ONE, |a| {
        Ok(a[0]
            .as_text()
            .and_then(|s| encoding::unhex(&s))
            .map_or(SqlValue::Null, SqlValue::Blob))
    })?;
    pure(conn, &["bin"], ONE, |a| radix(a, 2))?;
    pure(conn, &["oct"], ONE, |a| radix(a, 8))?;
    pure(conn, &["conv"], Arity::Exactly(&[3]), conv)?;
    pure(conn, &["to_base64"], ONE, |a| {
        Ok(a[0]
            .as_bytes()
            .map_or(SqlValue::Null, |b| SqlValue::Text(encoding::to_base64(&b))))
    })?;
    pure(conn, &["from_base64"], ONE, |a| {
        Ok(a[0]
            .as_text()
            .and_then(|s| encoding::from_base64(&s))
            .map_or(SqlValue::Null, bytes_result))
    })?;
    with_flags(conn, &["uuid"], Arity::Exactly(&[0]), volatile(), |_| {
        Ok(SqlValue::Text(uuid()))
    })?;
    with_flags(
        conn,
        &["uuid_short"],
        Arity::Exactly(&[0]),
        volatile(),
        |_| Ok(SqlValue::Integer(uuid_short())),
    )
}

fn hash_hex(args: &[SqlValue], f: impl Fn(&[u8]) -> Vec<u8>) -> R {
    Ok(args[0]
        .as_bytes()
        .map_or(SqlValue::Null, |b| SqlValue::Text(to_hex_lower(&f(&b)))))
}

fn sha2_fn(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (Some(data), Some(bits)) = (args[0].as_bytes(), args[1].as_i64()) else {
        return Ok(SqlValue::Null);
    };
    let digest = match bits {
        0 | 256 => sha2::Sha256::digest(&data).to_vec(),
        224 => sha2::Sha224::digest(&data).to_vec(),
        384 => sha2::Sha384::digest(&data).to_vec(),
        512 => sha2::Sha512::digest(&data).to_vec(),
        _ => return Ok(SqlValue::Null),
    };
    Ok(SqlValue::Text(to_hex_lower(&digest)))
}

fn hex(args: &[SqlValue]) -> R {
    Ok(match &args[0] {
        SqlValue::Null => SqlValue::Null,
        SqlValue::Integer(i) => SqlValue::Text(format!("{:X}", *i as u64)),
        SqlValue::Real(f) => SqlValue::Text(format!("{:X}", crate::value::f64_to_i64(*f) as u64)),
        other => SqlValue::Text(encoding::hex_upper(&other.as_bytes().unwrap_or_default())),
    })
}

fn radix(args: &[SqlValue], base: u32) -> R {
    Ok(args[0].as_i64().map_or(SqlValue::Null, |n| {
        SqlValue::Text(encoding::format_in_base(n as u64, base))
    }))
}

fn conv(args: &[SqlValue]) -> R {
    null_if_any_null!(args);
    let (Some(n), Some(from), Some(to)) = (args[0].as_text(), args[1].as_i64(), args[2].as_i64())
    else {
        return Ok(SqlValue::Null);
    };
    Ok(encoding::conv(&n, from, to).map_or(SqlValue::Null, SqlValue::Text))
}

/// A random UUID in MySQL's text layout (version 1 nibble, random node).
pub fn uuid() -> String {
    let hi: u64 = rand::random();
    let lo: u64 = rand::random();
    format!(
        "{:08x}-{:04x}-1{:03x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0x0fff,
        ((lo >> 48) & 0x3fff) | 0x8000,
        lo & 0xffff_ffff_ffff
    )
}

/// MySQL's UUID_SHORT(): `(server_id & 255) << 56 | startup_secs << 24`, then
/// incremented by one per call (process-wide).
pub fn uuid_short() -> i64 {
    static COUNTER: OnceLock<AtomicU64> = OnceLock::new();
    let counter = COUNTER.get_or_init(|| {
        let secs = crate::session::current_time_micros() / 1_000_000;
        AtomicU64::new(((secs as u64) & 0xff_ffff_ffff) << 24)
    });
    // Kept below 2^63 so it is a positive SQLite integer.
    (counter.fetch_add(1, Ordering::Relaxed) & (i64::MAX as u64)) as i64
}
