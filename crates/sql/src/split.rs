//! Splitting a multi-statement text into statements, and expansion of MySQL
//! executable comments (`/*!NNNNN … */`, `/*M!NNNNNN … */`).
//!
//! Both work on a small quote- and comment-aware scanner so that a `;` inside a
//! string, a quoted identifier or a comment never splits a statement.

/// Maximum nesting depth of executable comments we track; MySQL does not nest
/// them at all, so anything deeper is treated as plain text.
const MAX_EXEC_COMMENT_DEPTH: usize = 8;

/// Expands MySQL executable comments into their content and keeps ordinary
/// comments as they are. `/*!40101 SET x=1 */` becomes ` SET x=1 `.
pub fn expand_executable_comments(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut depth = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' | b'`' => {
                let end = quoted_end(bytes, i);
                out.push_str(&sql[i..end]);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let is_exec = bytes.get(i + 2) == Some(&b'!') && runs_here(bytes, i + 3);
                if is_exec && depth < MAX_EXEC_COMMENT_DEPTH && !is_client_command(bytes, i) {
                    let mut j = i + 3;
                    while j < bytes.len() && bytes[j].is_ascii_digit() {
                        j += 1;
                    }
                    out.push(' ');
                    depth += 1;
                    i = j;
                } else {
                    let end = block_comment_end(bytes, i);
                    out.push_str(&sql[i..end]);
                    i = end;
                }
            }
            b'*' if depth > 0 && bytes.get(i + 1) == Some(&b'/') => {
                out.push(' ');
                depth -= 1;
                i += 2;
            }
            b'#' => {
                let end = line_end(bytes, i);
                out.push_str(&sql[i..end]);
                i = end;
            }
            b'-' if is_dash_comment(bytes, i) => {
                let end = line_end(bytes, i);
                out.push_str(&sql[i..end]);
                i = end;
            }
            _ => {
                let len = utf8_len(c);
                let end = (i + len).min(bytes.len());
                out.push_str(&sql[i..end]);
                i = end;
            }
        }
    }
    out
}

/// The MySQL version Borealis reports (8.0.36) in executable-comment form.
const MYSQL_VERSION_ID: u32 = 80036;

/// `/*!NNNNN … */` runs on servers of version ≥ NNNNN (no number: always). MariaDB's
/// `/*M!NNNNNN … */` is MariaDB-only syntax that MySQL servers treat as a plain comment, and so
/// do we (it carries MariaDB-only settings such as `NOTE_VERBOSITY`).
fn runs_here(bytes: &[u8], digits_at: usize) -> bool {
    let digits: Vec<u8> = bytes
        .iter()
        .skip(digits_at)
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    if digits.is_empty() {
        return true;
    }
    std::str::from_utf8(&digits)
        .ok()
        .and_then(|d| d.parse::<u32>().ok())
        .is_some_and(|v| v <= MYSQL_VERSION_ID)
}

/// MariaDB's `/*M!999999\- enable the sandbox mode */` carries a client
/// command, not SQL: keep it as a comment.
fn is_client_command(bytes: &[u8], start: usize) -> bool {
    let mut j = start + 2;
    while j < bytes.len() && (bytes[j] == b'M' || bytes[j] == b'!' || bytes[j].is_ascii_digit()) {
        j += 1;
    }
    bytes.get(j) == Some(&b'\\')
}

/// Splits `sql` on `;` outside quotes and comments. Returns trimmed statement
/// texts; empty pieces (only whitespace) are dropped, but pieces made only of
/// comments are kept (they translate to a no-op).
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' | b'`' => i = quoted_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = block_comment_end(bytes, i),
            b'#' => i = line_end(bytes, i),
            b'-' if is_dash_comment(bytes, i) => i = line_end(bytes, i),
            b';' => {
                push_piece(&mut pieces, &sql[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push_piece(&mut pieces, &sql[start..]);
    pieces
}

/// True when the text contains nothing but whitespace and comments.
pub fn is_only_comments(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = block_comment_end(bytes, i),
            b'#' => i = line_end(bytes, i),
            b'-' if is_dash_comment(bytes, i) => i = line_end(bytes, i),
            c if c.is_ascii_whitespace() => i += 1,
            _ => return false,
        }
    }
    true
}

fn push_piece<'a>(pieces: &mut Vec<&'a str>, piece: &'a str) {
    let trimmed = piece.trim();
    if !trimmed.is_empty() {
        pieces.push(trimmed);
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// End (exclusive) of a quoted string/identifier starting at `start`. MySQL
/// strings allow backslash escapes and doubled quotes; an unterminated quote
/// runs to the end of the text.
fn quoted_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if c == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 2;
    while i + 1 < bytes.len() {
        if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            return i + 2;
        }
        i += 1;
    }
    bytes.len()
}

fn line_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < bytes.len() && bytes[i] != b'\n' {
        i += 1;
    }
    i
}

/// MySQL requires whitespace (or end of text) after `--` for a comment.
fn is_dash_comment(bytes: &[u8], i: usize) -> bool {
    bytes.get(i + 1) == Some(&b'-')
        && bytes
            .get(i + 2)
            .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes() {
        let s = "select 'a;b'; select \"c;d\" ; select `e;f`;; -- x;y\nselect 1 /* ; */";
        assert_eq!(
            split_statements(s),
            vec![
                "select 'a;b'",
                "select \"c;d\"",
                "select `e;f`",
                "-- x;y\nselect 1 /* ; */"
            ]
        );
    }

    #[test]
    fn backslash_escaped_quote() {
        assert_eq!(
            split_statements(r"select 'a\';b'; x"),
            vec![r"select 'a\';b'", "x"]
        );
    }

    #[test]
    fn expands_exec_comments() {
        assert_eq!(
            expand_executable_comments("/*!40101 SET x=1 */; /* keep */ /*M!100101 y */"),
            "  SET x=1  ; /* keep */ /*M!100101 y */"
        );
        assert_eq!(
            expand_executable_comments("create table t (a int) /*! ENGINE = innodb */"),
            "create table t (a int)   ENGINE = innodb  "
        );
        assert_eq!(
            expand_executable_comments("select '/*!1 x */'"),
            "select '/*!1 x */'"
        );
    }

    #[test]
    fn only_comments() {
        assert!(is_only_comments(" /* x */ -- y\n # z"));
        assert!(!is_only_comments("/* x */ select 1"));
    }
}

#[cfg(test)]
mod version_tests {
    use super::expand_executable_comments;

    #[test]
    fn newer_versions_stay_comments() {
        assert_eq!(
            expand_executable_comments("/*!90000 FUTURE */ SELECT 1"),
            "/*!90000 FUTURE */ SELECT 1"
        );
        assert_eq!(
            expand_executable_comments("/*!80016 DEFAULT ENCRYPTION='N' */"),
            "  DEFAULT ENCRYPTION='N'  "
        );
        assert_eq!(expand_executable_comments("/*! ALWAYS */"), "  ALWAYS  ");
    }
}
