//! MySQL column types: normalising declared types to MySQL's `COLUMN_TYPE`
//! text, and classifying them for result metadata (`type_info`).

/// MySQL protocol-level column type classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MysqlType {
    /// TINYINT / BOOL.
    Tiny,
    /// SMALLINT.
    Short,
    /// MEDIUMINT.
    Int24,
    /// INT.
    Long,
    /// BIGINT.
    LongLong,
    /// FLOAT.
    Float,
    /// DOUBLE / REAL.
    Double,
    /// DECIMAL / NUMERIC.
    NewDecimal,
    /// DATE.
    Date,
    /// DATETIME.
    DateTime,
    /// TIMESTAMP.
    Timestamp,
    /// TIME.
    Time,
    /// YEAR.
    Year,
    /// VARCHAR / VARBINARY.
    VarString,
    /// CHAR / BINARY.
    String,
    /// TEXT and BLOB families.
    Blob,
    /// JSON.
    Json,
    /// ENUM.
    Enum,
    /// SET.
    Set,
    /// BIT.
    Bit,
    /// NULL (no type, e.g. `SELECT NULL`).
    Null,
}

/// Metadata derived from a MySQL column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// Protocol type class.
    pub column_type: MysqlType,
    /// UNSIGNED attribute.
    pub unsigned: bool,
    /// Decimals (scale / fractional seconds).
    pub decimals: u8,
    /// Display length in characters (MySQL's column length, for utf8mb4 the
    /// instance multiplies by 4 for text).
    pub length: u32,
    /// Binary charset (63): BINARY/VARBINARY/BLOB and non-text types.
    pub binary: bool,
    /// Character data (text charset).
    pub is_text: bool,
}

/// Parsed pieces of a type text: base name, parenthesised arguments, flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedType {
    pub base: String,
    pub args: Vec<String>,
    pub unsigned: bool,
    pub zerofill: bool,
}

pub(crate) fn parse_type(text: &str) -> ParsedType {
    let lower = text.trim().to_ascii_lowercase();
    let (head, args, tail) = match (lower.find('('), lower.rfind(')')) {
        (Some(open), Some(close)) if close > open => (
            lower[..open].trim().to_string(),
            split_args(&lower[open + 1..close]),
            lower[close + 1..].to_string(),
        ),
        _ => {
            let mut words = lower.split_whitespace();
            let first = words.next().unwrap_or("").to_string();
            let rest: Vec<&str> = words.collect();
            (first, Vec::new(), rest.join(" "))
        }
    };
    let mut base = head;
    // multi-word heads like "double precision" or "int unsigned" (no args)
    let mut flags = tail;
    if let Some((first, rest)) = base.clone().split_once(' ') {
        base = first.to_string();
        flags = format!("{rest} {flags}");
    }
    let unsigned = flags.contains("unsigned");
    let zerofill = flags.contains("zerofill");
    if flags.contains("varying") && (base == "character" || base == "char") {
        base = "varchar".into();
    }
    ParsedType {
        base,
        args,
        unsigned: unsigned || zerofill,
        zerofill,
    }
}

fn split_args(inner: &str) -> Vec<String> {
    // Arguments are numbers or quoted enum members; split on commas outside quotes.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if in_quote && chars.peek() == Some(&'\'') => {
                cur.push_str("''");
                chars.next();
            }
            '\'' => {
                in_quote = !in_quote;
                cur.push(c);
            }
            ',' if !in_quote => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Canonical MySQL `DATA_TYPE` for a base name (aliases resolved).
pub(crate) fn canonical_base(base: &str) -> &str {
    match base {
        "integer" => "int",
        "bool" | "boolean" => "tinyint",
        // `decimal_text` is the SQLite declared type this crate writes for DECIMAL.
        "dec" | "numeric" | "fixed" | "decimal_text" => "decimal",
        "real" | "float8" => "double",
        "character" => "char",
        "int1" => "tinyint",
        "int2" => "smallint",
        "int3" | "middleint" => "mediumint",
        "int4" => "int",
        "int8" => "bigint",
        other => other,
    }
}

/// Normalises a declared type to MySQL 8's `COLUMN_TYPE` text, e.g.
/// `INT(11) UNSIGNED` → `int unsigned`, `DECIMAL` → `decimal(10,0)`,
/// `ENUM('a', 'b')` → `enum('a','b')`, `BOOL` → `tinyint(1)`.
pub fn column_type_text(declared: &str) -> String {
    let p = parse_type(declared);
    let is_bool = matches!(p.base.as_str(), "bool" | "boolean");
    let base = canonical_base(&p.base).to_string();
    let args: Vec<String> = if is_bool {
        vec!["1".into()]
    } else {
        match base.as_str() {
            "tinyint" if p.args.first().map(String::as_str) == Some("1") => vec!["1".into()],
            "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => Vec::new(),
            "decimal" => match p.args.len() {
                0 => vec!["10".into(), "0".into()],
                1 => vec![p.args[0].clone(), "0".into()],
                _ => p.args.clone(),
            },
            "char" | "binary" if p.args.is_empty() => vec!["1".into()],
            "bit" if p.args.is_empty() => vec!["1".into()],
            "year" => Vec::new(),
            _ => p.args.clone(),
        }
    };
    let mut out = base;
    if !args.is_empty() {
        out.push('(');
        out.push_str(&args.join(","));
        out.push(')');
    }
    if p.unsigned {
        out.push_str(" unsigned");
    }
    if p.zerofill {
        out.push_str(" zerofill");
    }
    out
}

/// Classifies a MySQL column type text (a `COLUMN_TYPE` or a SQLite declared
/// type written by this crate) for result metadata.
pub fn type_info(column_type: &str) -> TypeInfo {
    let p = parse_type(column_type);
    let base = canonical_base(&p.base);
    let arg = |i: usize| -> Option<u32> { p.args.get(i).and_then(|a| a.parse().ok()) };
    let (t, length, decimals, text, binary) = match base {
        "tinyint" => (MysqlType::Tiny, arg(0).unwrap_or(4), 0, false, true),
        "smallint" => (MysqlType::Short, 6, 0, false, true),
        "mediumint" => (MysqlType::Int24, 9, 0, false, true),
        "int" => (
            MysqlType::Long,
            if p.unsigned { 10 } else { 11 },
            0,
            false,
            true,
        ),
        "bigint" | "serial" => (MysqlType::LongLong, 20, 0, false, true),
        "float" => (MysqlType::Float, 12, 31, false, true),
        "double" => (MysqlType::Double, 22, 31, false, true),
        "decimal" => {
            let prec = arg(0).unwrap_or(10);
            let scale = arg(1).unwrap_or(0);
            let len = prec + u32::from(scale > 0) + u32::from(!p.unsigned);
            (MysqlType::NewDecimal, len, scale.min(30) as u8, false, true)
        }
        "date" => (MysqlType::Date, 10, 0, false, true),
        "datetime" => fsp_type(MysqlType::DateTime, 19, arg(0)),
        "timestamp" => fsp_type(MysqlType::Timestamp, 19, arg(0)),
        "time" => fsp_type(MysqlType::Time, 10, arg(0)),
        "year" => (MysqlType::Year, 4, 0, false, true),
        "varchar" | "nvarchar" => (MysqlType::VarString, arg(0).unwrap_or(255), 0, true, false),
        "char" | "nchar" => (MysqlType::String, arg(0).unwrap_or(1), 0, true, false),
        "varbinary" => (MysqlType::VarString, arg(0).unwrap_or(255), 0, false, true),
        "binary" => (MysqlType::String, arg(0).unwrap_or(1), 0, false, true),
        "tinytext" => (MysqlType::Blob, 255, 0, true, false),
        "text" => (MysqlType::Blob, 65535, 0, true, false),
        "mediumtext" => (MysqlType::Blob, 16_777_215, 0, true, false),
        "longtext" => (MysqlType::Blob, u32::MAX, 0, true, false),
        "tinyblob" => (MysqlType::Blob, 255, 0, false, true),
        "blob" => (MysqlType::Blob, 65535, 0, false, true),
        "mediumblob" => (MysqlType::Blob, 16_777_215, 0, false, true),
        "longblob" => (MysqlType::Blob, u32::MAX, 0, false, true),
        "json" => (MysqlType::Json, u32::MAX, 0, false, true),
        "set_text" => (MysqlType::Set, 255, 0, true, false),
        "enum" | "set" => {
            let longest = p
                .args
                .iter()
                .map(|a| a.trim_matches('\'').chars().count() as u32)
                .max()
                .unwrap_or(0);
            let t = if base == "enum" {
                MysqlType::Enum
            } else {
                MysqlType::Set
            };
            (t, longest, 0, true, false)
        }
        "bit" => (MysqlType::Bit, arg(0).unwrap_or(1), 0, false, true),
        "null" | "" => (MysqlType::Null, 0, 0, false, true),
        // SQLite declared types that are not MySQL names.
        other if other.contains("int") => (MysqlType::LongLong, 20, 0, false, true),
        other if other.contains("char") || other.contains("clob") || other.contains("text") => {
            (MysqlType::Blob, 65535, 0, true, false)
        }
        other if other.contains("blob") => (MysqlType::Blob, 65535, 0, false, true),
        other if other.contains("real") || other.contains("floa") || other.contains("doub") => {
            (MysqlType::Double, 22, 31, false, true)
        }
        _ => (MysqlType::VarString, 255, 0, true, false),
    };
    TypeInfo {
        column_type: t,
        unsigned: p.unsigned,
        decimals,
        length,
        binary,
        is_text: text,
    }
}

fn fsp_type(t: MysqlType, base_len: u32, fsp: Option<u32>) -> (MysqlType, u32, u8, bool, bool) {
    let fsp = fsp.unwrap_or(0).min(6);
    let len = if fsp > 0 {
        base_len + 1 + fsp
    } else {
        base_len
    };
    (t, len, fsp as u8, false, true)
}

/// True for MySQL integer types (candidates for a rowid alias primary key).
pub(crate) fn is_integer_type(column_type: &str) -> bool {
    matches!(
        canonical_base(&parse_type(column_type).base),
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint"
    )
}

/// True for character types (get `COLLATE NOCASE` unless binary collation).
pub(crate) fn is_char_type(column_type: &str) -> bool {
    matches!(
        canonical_base(&parse_type(column_type).base),
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
    )
}

/// SQLite collation of DECIMAL columns; registered by `borealis-functions`
/// under the same name (`borealis_functions::MYSQL_DECIMAL`).
pub const DECIMAL_COLLATION: &str = "mysql_decimal";

/// True for DECIMAL (and its aliases): stored as exact text with
/// `COLLATE mysql_decimal`.
pub(crate) fn is_decimal_type(column_type: &str) -> bool {
    canonical_base(&parse_type(column_type).base) == "decimal"
}

/// SQLite's affinity class for a declared type (SQLite's own rules, §3.1).
pub(crate) fn sqlite_affinity(decl: &str) -> &'static str {
    let d = decl.to_ascii_uppercase();
    if d.contains("INT") {
        "INTEGER"
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        "TEXT"
    } else if d.contains("BLOB") || d.is_empty() {
        "BLOB"
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// SQLite declared type for a MySQL `COLUMN_TYPE`: the MySQL name upper-cased
/// where SQLite's type-name grammar accepts it (ENUM/SET lose their member
/// list, which goes to a CHECK constraint instead).
pub(crate) fn sqlite_decl(column_type: &str) -> String {
    let p = parse_type(column_type);
    let base = canonical_base(&p.base).to_ascii_uppercase();
    let mut out = base.clone();
    let numeric_args = !matches!(base.as_str(), "ENUM" | "SET")
        && !p.args.is_empty()
        && p.args.len() <= 2
        && p.args.iter().all(|a| a.parse::<i64>().is_ok());
    if base == "SET" {
        // SET is an SQLite keyword and cannot be a type name.
        out = "SET_TEXT".to_string();
    } else if base == "DECIMAL" {
        // A name containing "TEXT" gets TEXT affinity, so values keep every
        // digit instead of becoming REALs; the MySQL name stays readable.
        out = "DECIMAL_TEXT".to_string();
    }
    if numeric_args {
        out.push('(');
        out.push_str(&p.args.join(","));
        out.push(')');
    }
    if p.unsigned {
        out.push_str(" UNSIGNED");
    }
    out
}

/// Enum members (unquoted) of an `enum('a','b')` type text.
pub(crate) fn enum_members(column_type: &str) -> Vec<String> {
    parse_type(column_type)
        .args
        .iter()
        .map(|a| {
            let t = a.trim();
            let t = t.strip_prefix('\'').unwrap_or(t);
            let t = t.strip_suffix('\'').unwrap_or(t);
            t.replace("''", "'")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_column_types() {
        assert_eq!(column_type_text("INT(11) UNSIGNED"), "int unsigned");
        assert_eq!(column_type_text("INTEGER"), "int");
        assert_eq!(column_type_text("DECIMAL"), "decimal(10,0)");
        assert_eq!(column_type_text("DECIMAL(10, 2)"), "decimal(10,2)");
        assert_eq!(column_type_text("ENUM('a', 'b')"), "enum('a','b')");
        assert_eq!(column_type_text("BOOLEAN"), "tinyint(1)");
        assert_eq!(column_type_text("TINYINT(1)"), "tinyint(1)");
        assert_eq!(column_type_text("CHAR"), "char(1)");
        assert_eq!(column_type_text("VARCHAR(255)"), "varchar(255)");
        assert_eq!(column_type_text("DATETIME(6)"), "datetime(6)");
        assert_eq!(column_type_text("BIGINT UNSIGNED"), "bigint unsigned");
    }

    #[test]
    fn type_info_classes() {
        let t = type_info("int unsigned");
        assert_eq!(t.column_type, MysqlType::Long);
        assert!(t.unsigned);
        let t = type_info("decimal(10,2)");
        assert_eq!(
            (t.column_type, t.decimals, t.length),
            (MysqlType::NewDecimal, 2, 12)
        );
        let t = type_info("varchar(64)");
        assert_eq!(
            (t.column_type, t.length, t.is_text),
            (MysqlType::VarString, 64, true)
        );
        assert_eq!(type_info("datetime(6)").decimals, 6);
        // Declared types SQLite reports for DECIMAL columns (result metadata fallback).
        let t = type_info("DECIMAL_TEXT(20,6)");
        assert_eq!(
            (t.column_type, t.decimals, t.length),
            (MysqlType::NewDecimal, 6, 22)
        );
        assert_eq!(column_type_text("DECIMAL_TEXT(20,6)"), "decimal(20,6)");
        assert!(type_info("varbinary(16)").binary);
        assert_eq!(type_info("enum('a','bcd')").length, 3);
        assert_eq!(type_info("INTEGER").column_type, MysqlType::Long);
        assert_eq!(type_info("").column_type, MysqlType::Null);
    }

    #[test]
    fn sqlite_declarations() {
        assert_eq!(sqlite_decl("int unsigned"), "INT UNSIGNED");
        assert_eq!(sqlite_decl("decimal(10,2)"), "DECIMAL_TEXT(10,2)");
        assert_eq!(
            sqlite_decl("numeric(5) unsigned"),
            "DECIMAL_TEXT(5) UNSIGNED"
        );
        assert_eq!(sqlite_affinity("DECIMAL_TEXT(10,2) UNSIGNED"), "TEXT");
        assert!(is_decimal_type("fixed(4,1)"));
        assert!(!is_decimal_type("double"));
        assert_eq!(sqlite_decl("enum('a','b')"), "ENUM");
        assert_eq!(sqlite_affinity("VARBINARY(16)"), "NUMERIC");
        assert_eq!(enum_members("enum('a','it''s')"), vec!["a", "it's"]);
    }
}
