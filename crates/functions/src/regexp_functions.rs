//! REGEXP, REGEXP_LIKE, REGEXP_REPLACE, REGEXP_SUBSTR, REGEXP_INSTR on the
//! `regex` crate (linear-time matching, so hostile patterns are safe).
//! Matching is case-insensitive unless a binary string is involved or the
//! match type says `c`.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::{Regex, RegexBuilder};
use rusqlite::Connection;

use crate::error::FunctionError;
use crate::registry::{pure, Arity};
use crate::value::SqlValue;

type R = Result<SqlValue, FunctionError>;

/// Compiled patterns kept per thread; cleared when full (bounded memory,
/// and patterns are almost always constants of a few statements).
const MAX_CACHED_PATTERNS: usize = 64;

/// Compiled-regex size limit (bytes) so a pathological pattern fails fast.
const REGEX_SIZE_LIMIT: usize = 4 * 1024 * 1024;

thread_local! {
    static CACHE: RefCell<HashMap<(String, String), Regex>> = RefCell::new(HashMap::new());
}

/// Registers the regular-expression functions.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    pure(conn, &["regexp"], Arity::Exactly(&[2]), |a| {
        like(&a[1], &a[0], None)
    })?;
    pure(conn, &["regexp_like"], Arity::Exactly(&[2, 3]), |a| {
        like(&a[0], &a[1], a.get(2))
    })?;
    pure(
        conn,
        &["regexp_replace"],
        Arity::Exactly(&[3, 4, 5, 6]),
        replace,
    )?;
    pure(
        conn,
        &["regexp_substr"],
        Arity::Exactly(&[2, 3, 4, 5]),
        substr,
    )?;
    pure(
        conn,
        &["regexp_instr"],
        Arity::Exactly(&[2, 3, 4, 5, 6]),
        instr,
    )
}

/// Flags from MySQL's match_type plus the default case rule.
fn flags(subject: &SqlValue, pattern: &SqlValue, match_type: Option<&SqlValue>) -> String {
    let binary = matches!(subject, SqlValue::Blob(_)) || matches!(pattern, SqlValue::Blob(_));
    let mut case_insensitive = !binary;
    let mut out = String::new();
    for c in match_type
        .and_then(SqlValue::as_text)
        .unwrap_or_default()
        .chars()
    {
        match c {
            'c' => case_insensitive = false,
            'i' => case_insensitive = true,
            'm' => out.push('m'),
            'n' => out.push('s'),
            _ => {}
        }
    }
    if case_insensitive {
        out.push('i');
    }
    out
}

fn compile(pattern: &str, flags: &str) -> Result<Regex, FunctionError> {
    let key = (pattern.to_string(), flags.to_string());
    if let Some(re) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(re);
    }
    // Henry Spencer word boundaries from MySQL < 8.
    let translated = pattern.replace("[[:<:]]", r"\b").replace("[[:>:]]", r"\b");
    let re = RegexBuilder::new(&translated)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| FunctionError::InvalidRegex {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_CACHED_PATTERNS {
            c.clear();
        }
        c.insert(key, re.clone());
    });
    Ok(re)
}

struct Call {
    subject: String,
    re: Regex,
}

fn prepare(
    subject: &SqlValue,
    pattern: &SqlValue,
    match_type: Option<&SqlValue>,
) -> Result<Option<Call>, FunctionError> {
    let (Some(s), Some(p)) = (subject.as_text(), pattern.as_text()) else {
        return Ok(None);
    };
    let re = compile(&p, &flags(subject, pattern, match_type))?;
    Ok(Some(Call { subject: s, re }))
}

fn like(subject: &SqlValue, pattern: &SqlValue, match_type: Option<&SqlValue>) -> R {
    if match_type.is_some_and(SqlValue::is_null) {
        return Ok(SqlValue::Null);
    }
    Ok(
        prepare(subject, pattern, match_type)?.map_or(SqlValue::Null, |c| {
            SqlValue::Integer(i64::from(c.re.is_match(&c.subject)))
        }),
    )
}

/// Byte offset of 1-based character position `pos`; `None` if out of range.
fn byte_offset(s: &str, pos: i64) -> Option<usize> {
    if pos < 1 {
        return None;
    }
    let idx = (pos - 1) as usize;
    if idx == s.chars().count() {
        return Some(s.len());
    }
    s.char_indices().nth(idx).map(|(i, _)| i)
}

fn int_arg(args: &[SqlValue], i: usize, default: i64) -> Option<i64> {
    args.get(i).map_or(Some(default), SqlValue::as_i64)
}

fn replace(args: &[SqlValue]) -> R {
    if args.iter().take(5).any(SqlValue::is_null) {
        return Ok(SqlValue::Null);
    }
    let Some(call) = prepare(&args[0], &args[1], args.get(5))? else {
        return Ok(SqlValue::Null);
    };
    let Some(repl) = args[2].as_text() else {
        return Ok(SqlValue::Null);
    };
    let (Some(pos), Some(occurrence)) = (int_arg(args, 3, 1), int_arg(args, 4, 0)) else {
        return Ok(SqlValue::Null);
    };
    let Some(start) = byte_offset(&call.subject, pos) else {
        return Ok(SqlValue::Null);
    };
    let (head, tail) = call.subject.split_at(start);
    let replaced = if occurrence <= 0 {
        call.re.replace_all(tail, repl.as_str()).into_owned()
    } else {
        let mut out = String::with_capacity(tail.len());
        let mut last = 0;
        if let Some(caps) = call.re.captures_iter(tail).nth((occurrence - 1) as usize) {
            if let Some(m) = caps.get(0) {
                out.push_str(&tail[..m.start()]);
                caps.expand(&repl, &mut out);
                last = m.end();
            }
        }
        out.push_str(&tail[last..]);
        out
    };
    Ok(SqlValue::Text(format!("{head}{replaced}")))
}

/// The subject and the byte range of the requested match, if any.
type NthMatch = (String, Option<(usize, usize)>);

fn nth_match(args: &[SqlValue], match_type_idx: usize) -> Result<Option<NthMatch>, FunctionError> {
    if args.iter().any(SqlValue::is_null) {
        return Ok(None);
    }
    let Some(call) = prepare(&args[0], &args[1], args.get(match_type_idx))? else {
        return Ok(None);
    };
    let (Some(pos), Some(occurrence)) = (int_arg(args, 2, 1), int_arg(args, 3, 1)) else {
        return Ok(None);
    };
    let Some(start) = byte_offset(&call.subject, pos) else {
        return Ok(None);
    };
    let occurrence = occurrence.max(1) as usize;
    let found = call
        .re
        .find_iter(&call.subject[start..])
        .nth(occurrence - 1)
        .map(|m| (start + m.start(), start + m.end()));
    Ok(Some((call.subject, found)))
}

fn substr(args: &[SqlValue]) -> R {
    Ok(match nth_match(args, 4)? {
        Some((s, Some((a, b)))) => SqlValue::Text(s[a..b].to_string()),
        _ => SqlValue::Null,
    })
}

fn instr(args: &[SqlValue]) -> R {
    let return_end = args.get(4).and_then(SqlValue::as_i64).unwrap_or(0) == 1;
    Ok(match nth_match(args, 5)? {
        Some((s, Some((a, b)))) => {
            let at = if return_end { b } else { a };
            SqlValue::Integer(s[..at].chars().count() as i64 + 1)
        }
        Some((_, None)) => SqlValue::Integer(0),
        None => SqlValue::Null,
    })
}
