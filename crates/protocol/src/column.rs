//! Column definitions and their wire encoding (Protocol::ColumnDefinition41).

use mysql_common::constants::{ColumnFlags, ColumnType};

use crate::wire::put_lenenc_str;

/// Charset number for `utf8mb4_0900_ai_ci` (text columns).
pub const CHARSET_UTF8MB4: u16 = 255;
/// Charset number for `binary` (numbers and blobs).
pub const CHARSET_BINARY: u16 = 63;

/// One column of a result set or of a prepared statement's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Database name.
    pub schema: String,
    /// Table alias.
    pub table: String,
    /// Physical table name.
    pub org_table: String,
    /// Column alias.
    pub name: String,
    /// Physical column name.
    pub org_name: String,
    /// Collation id: 255 for text, 63 for numbers and blobs.
    pub charset: u16,
    /// Maximum display length.
    pub length: u32,
    /// Wire type.
    pub column_type: ColumnType,
    /// Flags (NOT_NULL, UNSIGNED, BINARY, …).
    pub flags: ColumnFlags,
    /// Decimals: fractional digits for DECIMAL; fractional-second digits for temporal
    /// types (text rows print that many); for FLOAT/DOUBLE 1..=30 prints fixed digits in
    /// text rows, 0 or 31 the shortest form.
    pub decimals: u8,
}

impl ColumnDef {
    /// A column with only a name and a type; text charset for string types, binary otherwise.
    pub fn new(name: &str, column_type: ColumnType) -> Self {
        let charset = if is_text_type(column_type) {
            CHARSET_UTF8MB4
        } else {
            CHARSET_BINARY
        };
        let mut flags = ColumnFlags::empty();
        if charset == CHARSET_BINARY && !is_text_type(column_type) && is_numeric(column_type) {
            flags |= ColumnFlags::NUM_FLAG;
        }
        Self {
            schema: String::new(),
            table: String::new(),
            org_table: String::new(),
            name: name.to_string(),
            org_name: name.to_string(),
            charset,
            length: default_length(column_type),
            column_type,
            flags,
            decimals: 0,
        }
    }

    /// Appends the ColumnDefinition41 payload to `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        put_lenenc_str(buf, b"def");
        put_lenenc_str(buf, self.schema.as_bytes());
        put_lenenc_str(buf, self.table.as_bytes());
        put_lenenc_str(buf, self.org_table.as_bytes());
        put_lenenc_str(buf, self.name.as_bytes());
        put_lenenc_str(buf, self.org_name.as_bytes());
        buf.push(0x0c);
        buf.extend_from_slice(&self.charset.to_le_bytes());
        buf.extend_from_slice(&self.length.to_le_bytes());
        buf.push(self.column_type as u8);
        buf.extend_from_slice(&self.flags.bits().to_le_bytes());
        buf.push(self.decimals);
        buf.extend_from_slice(&[0, 0]);
    }
}

fn is_text_type(t: ColumnType) -> bool {
    matches!(
        t,
        ColumnType::MYSQL_TYPE_VAR_STRING
            | ColumnType::MYSQL_TYPE_STRING
            | ColumnType::MYSQL_TYPE_VARCHAR
            | ColumnType::MYSQL_TYPE_ENUM
            | ColumnType::MYSQL_TYPE_SET
            | ColumnType::MYSQL_TYPE_JSON
    )
}

fn is_numeric(t: ColumnType) -> bool {
    matches!(
        t,
        ColumnType::MYSQL_TYPE_TINY
            | ColumnType::MYSQL_TYPE_SHORT
            | ColumnType::MYSQL_TYPE_LONG
            | ColumnType::MYSQL_TYPE_INT24
            | ColumnType::MYSQL_TYPE_LONGLONG
            | ColumnType::MYSQL_TYPE_FLOAT
            | ColumnType::MYSQL_TYPE_DOUBLE
            | ColumnType::MYSQL_TYPE_DECIMAL
            | ColumnType::MYSQL_TYPE_NEWDECIMAL
            | ColumnType::MYSQL_TYPE_YEAR
    )
}

fn default_length(t: ColumnType) -> u32 {
    match t {
        ColumnType::MYSQL_TYPE_TINY => 4,
        ColumnType::MYSQL_TYPE_SHORT => 6,
        ColumnType::MYSQL_TYPE_INT24 => 9,
        ColumnType::MYSQL_TYPE_LONG => 11,
        ColumnType::MYSQL_TYPE_LONGLONG => 20,
        ColumnType::MYSQL_TYPE_FLOAT => 12,
        ColumnType::MYSQL_TYPE_DOUBLE => 22,
        ColumnType::MYSQL_TYPE_YEAR => 4,
        ColumnType::MYSQL_TYPE_DATE => 10,
        ColumnType::MYSQL_TYPE_TIME => 10,
        ColumnType::MYSQL_TYPE_DATETIME | ColumnType::MYSQL_TYPE_TIMESTAMP => 19,
        ColumnType::MYSQL_TYPE_BLOB => 65_535,
        _ => 1024,
    }
}
