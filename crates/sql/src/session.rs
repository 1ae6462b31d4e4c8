//! Statements this crate parses itself from tokens: SET, transactions, USE,
//! KILL, LOCK/UNLOCK TABLES, FLUSH and friends, and the explicitly
//! unsupported families (XA, GRANT, LOAD DATA, …).

use sqlparser::ast::Expr;
use sqlparser::tokenizer::Token;

use crate::error::SqlError;
use crate::plan::{Scope, SetItem, SetValue, StatementKind};
use crate::rewrite::Rewriter;
use crate::tokens::Cursor;

/// Result of a session statement: kind and placeholder count.
pub(crate) type Session = Result<(StatementKind, usize), SqlError>;

/// Handles `cur` if its first keyword is one of ours; `None` means "parse it
/// with sqlparser".
pub(crate) fn try_session(cur: &mut Cursor, current_db: Option<&str>) -> Option<Session> {
    let first = cur.word_at(0)?;
    let kind = match first.as_str() {
        "SET" => return Some(set(cur, current_db)),
        "USE" => {
            cur.pos += 1;
            match cur.name() {
                Some(db) if cur.at_end() => StatementKind::Use(db),
                _ => return Some(Err(cur.syntax())),
            }
        }
        "BEGIN" => {
            cur.pos += 1;
            cur.eat("WORK");
            if !cur.at_end() {
                return Some(Err(cur.syntax()));
            }
            StatementKind::Begin {
                read_only: false,
                consistent_snapshot: false,
            }
        }
        "START" if cur.word_at(1).as_deref() == Some("TRANSACTION") => return Some(start(cur)),
        "COMMIT" => StatementKind::Commit,
        "ROLLBACK" => {
            cur.pos += 1;
            cur.eat("WORK");
            if cur.eat("TO") {
                cur.eat("SAVEPOINT");
                match cur.name() {
                    Some(n) => StatementKind::RollbackToSavepoint(n),
                    None => return Some(Err(cur.syntax())),
                }
            } else {
                StatementKind::Rollback
            }
        }
        "SAVEPOINT" => {
            cur.pos += 1;
            match cur.name() {
                Some(n) => StatementKind::Savepoint(n),
                None => return Some(Err(cur.syntax())),
            }
        }
        "RELEASE" => {
            cur.pos += 1;
            cur.eat("SAVEPOINT");
            match cur.name() {
                Some(n) => StatementKind::ReleaseSavepoint(n),
                None => return Some(Err(cur.syntax())),
            }
        }
        "KILL" => {
            cur.pos += 1;
            let query_only = cur.eat("QUERY");
            cur.eat("CONNECTION");
            match cur.next() {
                Some(Token::Number(n, _)) if cur.at_end() => match n.parse() {
                    Ok(id) => StatementKind::Kill { query_only, id },
                    Err(_) => return Some(Err(cur.syntax())),
                },
                _ => return Some(Err(cur.syntax())),
            }
        }
        "LOCK" if matches!(cur.word_at(1).as_deref(), Some("TABLES" | "TABLE")) => {
            StatementKind::LockTables
        }
        "LOCK" if cur.word_at(1).as_deref() == Some("INSTANCE") => StatementKind::Noop,
        "UNLOCK" => StatementKind::UnlockTables,
        "ALTER" if is_keys_toggle(cur) => StatementKind::Noop,
        "ALTER" if is_table_options_only(cur) => StatementKind::Noop,
        "FLUSH" | "ANALYZE" | "OPTIMIZE" | "REPAIR" | "CHECKSUM" | "DO" => StatementKind::Noop,
        "CHECK" if cur.word_at(1).as_deref() == Some("TABLE") => StatementKind::Noop,
        "XA" | "GRANT" | "REVOKE" | "LOAD" | "HANDLER" | "CALL" | "PREPARE" | "EXECUTE"
        | "DEALLOCATE" | "RESET" | "PURGE" | "CHANGE" | "INSTALL" | "UNINSTALL" | "SHUTDOWN"
        | "RESTART" | "CLONE" | "IMPORT" | "CACHE" | "BINLOG" | "HELP" => {
            return Some(Err(SqlError::unsupported(first)));
        }
        "CREATE" if stored_object(cur).is_some() => {
            let what = stored_object(cur).unwrap_or_default();
            return Some(Err(SqlError::unsupported(format!("CREATE {what}"))));
        }
        "CREATE" | "DROP" | "ALTER" | "RENAME"
            if matches!(cur.word_at(1).as_deref(), Some("USER" | "ROLE")) =>
        {
            return Some(Err(SqlError::unsupported(format!("{first} USER"))));
        }
        _ => return None,
    };
    Some(Ok((kind, 0)))
}

fn start(cur: &mut Cursor) -> Session {
    cur.pos += 2;
    let (mut read_only, mut consistent_snapshot) = (false, false);
    // Bounded by the number of tokens: each iteration consumes at least one.
    while !cur.at_end() {
        if cur.eat_seq(&["READ", "ONLY"]) {
            read_only = true;
        } else if cur.eat_seq(&["READ", "WRITE"]) {
            read_only = false;
        } else if cur.eat_seq(&["WITH", "CONSISTENT", "SNAPSHOT"]) {
            consistent_snapshot = true;
        } else if !cur.eat_token(&Token::Comma) {
            return Err(cur.syntax());
        }
    }
    Ok((
        StatementKind::Begin {
            read_only,
            consistent_snapshot,
        },
        0,
    ))
}

fn scope_word(cur: &mut Cursor) -> Option<Scope> {
    if cur.eat("GLOBAL") {
        Some(Scope::Global)
    } else if cur.eat("SESSION") || cur.eat("LOCAL") {
        Some(Scope::Session)
    } else if cur.eat("PERSIST") || cur.eat("PERSIST_ONLY") {
        Some(Scope::Persist)
    } else {
        None
    }
}

fn set(cur: &mut Cursor, current_db: Option<&str>) -> Session {
    cur.pos += 1;
    if cur.eat("NAMES") {
        let charset = cur.name().ok_or_else(|| cur.syntax())?.to_ascii_lowercase();
        let collation = if cur.eat("COLLATE") {
            Some(cur.name().ok_or_else(|| cur.syntax())?.to_ascii_lowercase())
        } else {
            None
        };
        return Ok((StatementKind::SetNames { charset, collation }, 0));
    }
    if cur.eat_seq(&["CHARACTER", "SET"]) || cur.eat("CHARSET") {
        let charset = cur.name().ok_or_else(|| cur.syntax())?.to_ascii_lowercase();
        return Ok((
            StatementKind::SetNames {
                charset,
                collation: None,
            },
            0,
        ));
    }
    let save = cur.pos;
    let scope = scope_word(cur);
    if cur.eat("TRANSACTION") {
        return set_transaction(cur, scope);
    }
    cur.pos = save;
    let mut items = Vec::new();
    let mut params = 0;
    // Bounded by the token count: every item consumes tokens.
    while !cur.at_end() {
        let (item, p) = set_item(cur, current_db)?;
        items.push(item);
        params += p;
        if !cur.eat_token(&Token::Comma) && !cur.at_end() {
            return Err(cur.syntax());
        }
    }
    if items.is_empty() {
        return Err(cur.syntax());
    }
    Ok((StatementKind::Set(items), params))
}

fn set_transaction(cur: &mut Cursor, scope: Option<Scope>) -> Session {
    let (mut isolation, mut read_only) = (None, None);
    while !cur.at_end() {
        if cur.eat_seq(&["ISOLATION", "LEVEL"]) {
            let level = if cur.eat_seq(&["REPEATABLE", "READ"]) {
                "REPEATABLE READ"
            } else if cur.eat_seq(&["READ", "COMMITTED"]) {
                "READ COMMITTED"
            } else if cur.eat_seq(&["READ", "UNCOMMITTED"]) {
                "READ UNCOMMITTED"
            } else if cur.eat("SERIALIZABLE") {
                "SERIALIZABLE"
            } else {
                return Err(cur.syntax());
            };
            isolation = Some(level.to_string());
        } else if cur.eat_seq(&["READ", "ONLY"]) {
            read_only = Some(true);
        } else if cur.eat_seq(&["READ", "WRITE"]) {
            read_only = Some(false);
        } else if !cur.eat_token(&Token::Comma) {
            return Err(cur.syntax());
        }
    }
    Ok((
        StatementKind::SetTransaction {
            scope,
            isolation,
            read_only,
        },
        0,
    ))
}

/// Index of the end of the current SET item (next top-level comma or end).
fn item_end(cur: &Cursor) -> usize {
    let mut depth = 0usize;
    for (i, t) in cur.tokens.iter().enumerate().skip(cur.pos) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => return i,
            _ => {}
        }
    }
    cur.tokens.len()
}

fn set_item(cur: &mut Cursor, current_db: Option<&str>) -> Result<(SetItem, usize), SqlError> {
    let mut scope = scope_word(cur).unwrap_or(Scope::Session);
    let mut name = String::new();
    // Variable name: words and periods up to `=` / `:=`.
    loop {
        match cur.next() {
            Some(Token::Word(w)) => name.push_str(&w.value),
            Some(Token::Period) => name.push('.'),
            Some(Token::Eq) | Some(Token::Assignment) if !name.is_empty() => break,
            Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s))
                if name == "@" =>
            {
                name.push_str(&s)
            }
            Some(Token::AtSign) => name.push('@'),
            _ => return Err(cur.syntax()),
        }
    }
    let mut lower = name.to_ascii_lowercase();
    if let Some(sys) = lower.strip_prefix("@@") {
        let (s, rest) = match sys.split_once('.') {
            Some(("global", r)) => (Scope::Global, r),
            Some(("session" | "local", r)) => (Scope::Session, r),
            Some(("persist" | "persist_only", r)) => (Scope::Persist, r),
            _ => (Scope::Session, sys),
        };
        scope = s;
        lower = rest.to_string();
    } else if let Some(user) = lower.strip_prefix('@') {
        scope = Scope::User;
        lower = user.trim_matches('`').to_string();
    }
    let end = item_end(cur);
    let value_tokens = &cur.tokens[cur.pos..end];
    let value = match keyword_value(value_tokens) {
        Some(v) => {
            cur.pos = end;
            v
        }
        None => {
            let mut expr: Expr = cur.expr(end)?;
            let mut rewriter = Rewriter::new(current_db, &expr);
            rewriter.run(&mut expr)?;
            let params = rewriter.flags.params;
            return Ok((
                SetItem {
                    scope,
                    name: lower,
                    value: SetValue::Expr(expr.to_string()),
                },
                params,
            ));
        }
    };
    Ok((
        SetItem {
            scope,
            name: lower,
            value,
        },
        0,
    ))
}

/// `DEFAULT`, or bare words like `ON`, `READ-COMMITTED`.
fn keyword_value(tokens: &[Token]) -> Option<SetValue> {
    let mut text = String::new();
    for t in tokens {
        match t {
            Token::Word(w) if w.quote_style.is_none() && !w.value.starts_with('@') => {
                let up = w.value.to_ascii_uppercase();
                if matches!(up.as_str(), "TRUE" | "FALSE" | "NULL") {
                    return None;
                }
                text.push_str(&up);
            }
            Token::Minus if !text.is_empty() => text.push('-'),
            _ => return None,
        }
    }
    match text.as_str() {
        "" => None,
        "DEFAULT" => Some(SetValue::Default),
        _ => Some(SetValue::Keyword(text)),
    }
}

/// `ALTER TABLE t DISABLE KEYS` / `ENABLE KEYS` (mysqldump): a no-op here.
fn is_keys_toggle(cur: &Cursor) -> bool {
    let n = cur.tokens.len();
    let word = |i: usize| match cur.tokens.get(i) {
        Some(Token::Word(w)) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        _ => String::new(),
    };
    n >= 5
        && word(1) == "TABLE"
        && word(n - 1) == "KEYS"
        && matches!(word(n - 2).as_str(), "DISABLE" | "ENABLE")
}

/// `CREATE [OR REPLACE] [DEFINER=…] [ALGORITHM=…] TRIGGER|PROCEDURE|FUNCTION|EVENT|VIEW`:
/// the object keyword, searched before the first parenthesis.
fn stored_object(cur: &Cursor) -> Option<String> {
    if matches!(
        cur.word_at(1).as_deref(),
        Some(
            "TABLE"
                | "INDEX"
                | "UNIQUE"
                | "FULLTEXT"
                | "SPATIAL"
                | "DATABASE"
                | "SCHEMA"
                | "TEMPORARY"
        )
    ) {
        return None;
    }
    // Bounded: the DEFINER/ALGORITHM/SQL SECURITY prefix is a few tokens long.
    for i in 1..cur.tokens.len().min(16) {
        if matches!(cur.tokens.get(cur.pos + i), Some(Token::LParen)) {
            return None;
        }
        if let Some(w) = cur.word_at(i) {
            if matches!(
                w.as_str(),
                "TRIGGER" | "PROCEDURE" | "FUNCTION" | "EVENT" | "VIEW"
            ) {
                return Some(w);
            }
        }
    }
    None
}

/// `ALTER TABLE t ENGINE=… | CONVERT TO CHARACTER SET … | COMMENT=… | …`:
/// table options sqlparser cannot parse and SQLite has no use for (the
/// catalog keeps the options given at CREATE time).
fn is_table_options_only(cur: &Cursor) -> bool {
    if cur.word_at(1).as_deref() != Some("TABLE") {
        return false;
    }
    // ALTER TABLE name [. name] <option>
    let option_at = if matches!(cur.tokens.get(cur.pos + 3), Some(Token::Period)) {
        5
    } else {
        3
    };
    matches!(
        cur.word_at(option_at).as_deref(),
        Some(
            "ENGINE"
                | "CONVERT"
                | "COMMENT"
                | "DEFAULT"
                | "CHARACTER"
                | "CHARSET"
                | "COLLATE"
                | "ROW_FORMAT"
                | "FORCE"
                | "STATS_PERSISTENT"
                | "KEY_BLOCK_SIZE"
        )
    )
}
