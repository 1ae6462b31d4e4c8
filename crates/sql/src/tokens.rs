//! A cursor over sqlparser tokens (whitespace and comments removed), used for
//! the statements this crate parses itself (SET, SHOW, KILL, transactions…).

use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::SqlError;

/// Token cursor.
pub(crate) struct Cursor {
    pub tokens: Vec<Token>,
    pub pos: usize,
}

impl Cursor {
    /// Tokenizes `sql`; a tokenizer error becomes a syntax error.
    pub fn new(sql: &str) -> Result<Self, SqlError> {
        let dialect = MySqlDialect {};
        let tokens = Tokenizer::new(&dialect, sql).tokenize().map_err(|e| {
            SqlError::syntax_at(sql, crate::parse::error_offset(sql, &e.to_string()))
        })?;
        let tokens = tokens
            .into_iter()
            .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
            .collect();
        Ok(Cursor { tokens, pos: 0 })
    }

    /// Upper-cased word at `pos + ahead`, if it is an unquoted word.
    pub fn word_at(&self, ahead: usize) -> Option<String> {
        match self.tokens.get(self.pos + ahead) {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// True if the next token is the keyword `kw` (consumes it).
    pub fn eat(&mut self, kw: &str) -> bool {
        if self.word_at(0).as_deref() == Some(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the given keyword sequence if all present.
    pub fn eat_seq(&mut self, kws: &[&str]) -> bool {
        let all = kws
            .iter()
            .enumerate()
            .all(|(i, k)| self.word_at(i).as_deref() == Some(*k));
        if all {
            self.pos += kws.len();
        }
        all
    }

    /// True if the next token is `t` (consumes it).
    pub fn eat_token(&mut self, t: &Token) -> bool {
        if self.tokens.get(self.pos) == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// True when all tokens are consumed.
    pub fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// Next token, consumed.
    pub fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// An identifier (quoted or not) or string, consumed.
    pub fn name(&mut self) -> Option<String> {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => {
                let v = w.value.clone();
                self.pos += 1;
                Some(v)
            }
            Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) => {
                let v = s.clone();
                self.pos += 1;
                Some(v)
            }
            _ => None,
        }
    }

    /// `[db.]name`, consumed.
    pub fn qualified_name(&mut self) -> Option<(Option<String>, String)> {
        let first = self.name()?;
        if self.eat_token(&Token::Period) {
            let second = self.name()?;
            return Some((Some(first), second));
        }
        Some((None, first))
    }

    /// A string literal, consumed.
    pub fn string(&mut self) -> Option<String> {
        match self.tokens.get(self.pos) {
            Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) => {
                let v = s.clone();
                self.pos += 1;
                Some(v)
            }
            _ => None,
        }
    }

    /// Parses the remaining tokens (or `end` exclusive) as one expression.
    pub fn expr(&mut self, end: usize) -> Result<sqlparser::ast::Expr, SqlError> {
        let end = end.min(self.tokens.len());
        let slice = self.tokens[self.pos..end].to_vec();
        self.pos = end;
        let dialect = MySqlDialect {};
        let mut parser = Parser::new(&dialect).with_tokens(slice);
        let e = parser
            .parse_expr()
            .map_err(|e| syntax_tokens(&self.tokens, end, &e.to_string()))?;
        if parser.peek_token().token != Token::EOF {
            return Err(syntax_tokens(&self.tokens, end, "trailing tokens"));
        }
        Ok(e)
    }

    /// Syntax error near the current token.
    pub fn syntax(&self) -> SqlError {
        let rest: Vec<String> = self.tokens[self.pos.min(self.tokens.len())..]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let near: String = rest.join(" ").chars().take(80).collect();
        SqlError::Syntax { near, line: 1 }
    }
}

fn syntax_tokens(tokens: &[Token], end: usize, _msg: &str) -> SqlError {
    let near: String = tokens[..end.min(tokens.len())]
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(80)
        .collect();
    SqlError::Syntax { near, line: 1 }
}
