//! Plain `INSERT … VALUES` texts as a shape with placeholders plus their values.
//!
//! Clients that do not prepare statements (sysbench's oltp_insert, many ORMs' bulk inserts)
//! send every INSERT with its values inline, so each text is new: the translation cache
//! never hits, and SQLite prepares a new statement every time. Together that was a fifth of
//! the server's CPU in oltp_insert. Such a text is split here into its *shape* — the same
//! text with a `?` for each value — and the values; the shape translates and prepares once,
//! and each execution binds its values, exactly like a server-side prepared statement.
//!
//! Only texts whose meaning cannot change are split: the head is
//! `INSERT|REPLACE [LOW_PRIORITY|DELAYED|HIGH_PRIORITY] [IGNORE] [INTO] name [(columns)]
//! VALUES|VALUE`, the rows hold only integers, NULL and plain single-quoted strings, and
//! nothing follows the rows. Anything else — expressions, DEFAULT, decimals, escapes,
//! comments, ON DUPLICATE KEY UPDATE, a second statement — returns `None`, and the text
//! takes the ordinary path. A bound integer or text is stored exactly as the same literal
//! would be (SQLite applies the column's affinity either way), and the translator's
//! literal-specific rewrites of VALUES have placeholder forms (the auto-increment column's
//! `0`/NULL, DECIMAL digits kept as text).

/// One inline value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    Null,
    Int(i64),
    Text(String),
}

/// A text split into its shape and values (in placeholder order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterizedInsert {
    pub shape: String,
    pub values: Vec<Literal>,
}

/// SQLite's default limit on bound parameters (SQLITE_MAX_VARIABLE_NUMBER).
const MAX_VALUES: usize = 32_766;

/// Words allowed between the verb and the table name.
const MODIFIERS: [&str; 5] = ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"];

/// Splits a plain `INSERT … VALUES` text (see the module comment), or `None`.
pub fn parameterize_insert(sql: &str) -> Option<ParameterizedInsert> {
    let mut scan = Scan { sql, at: 0 };
    let verb = scan.word()?;
    if !verb.eq_ignore_ascii_case("INSERT") && !verb.eq_ignore_ascii_case("REPLACE") {
        return None;
    }
    let head_end = scan.head()?;
    let mut values = Vec::new();
    let mut shape = String::with_capacity(head_end + 64);
    shape.push_str(&sql[..head_end]);
    shape.push(' ');
    // One iteration per row; bounded by the text's length (each row consumes bytes).
    loop {
        scan.expect(b'(')?;
        shape.push('(');
        // One iteration per value of the row.
        loop {
            values.push(scan.literal()?);
            if values.len() > MAX_VALUES {
                return None;
            }
            shape.push('?');
            if scan.eat(b',') {
                shape.push_str(", ");
                continue;
            }
            scan.expect(b')')?;
            shape.push(')');
            break;
        }
        if !scan.eat(b',') {
            break;
        }
        shape.push_str(", ");
    }
    scan.eat(b';');
    scan.skip_ws();
    (scan.at == sql.len()).then_some(ParameterizedInsert { shape, values })
}

/// A cursor over the text's bytes. Every byte it steps over is ASCII or inside a string or
/// backquoted name, so slicing at its positions stays on character boundaries.
struct Scan<'a> {
    sql: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.sql.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// An unquoted word (letters, digits, `_`, `$`), after whitespace.
    fn word(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        {
            self.at += 1;
        }
        (self.at > start).then(|| &self.sql[start..self.at])
    }

    /// A table or column name: a backquoted name or a word that is not a keyword of the head.
    fn name(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek() == Some(b'`') {
            return self.backquoted();
        }
        let w = self.word()?;
        let reserved = [
            "VALUES",
            "VALUE",
            "SELECT",
            "SET",
            "PARTITION",
            "TABLE",
            "WITH",
        ];
        (!reserved.iter().any(|r| w.eq_ignore_ascii_case(r))).then_some(())
    }

    fn backquoted(&mut self) -> Option<()> {
        self.at += 1;
        // Bounded by the text: each iteration consumes a byte (or two for "``").
        loop {
            match self.peek()? {
                b'`' if self.bytes().get(self.at + 1) == Some(&b'`') => self.at += 2,
                b'`' => {
                    self.at += 1;
                    return Some(());
                }
                _ => self.at += 1,
            }
        }
    }

    /// The head after the verb, up to and including VALUES; returns where it ends.
    fn head(&mut self) -> Option<usize> {
        let mut mark = self.at;
        while let Some(w) = self.word() {
            if !MODIFIERS.iter().any(|m| w.eq_ignore_ascii_case(m)) {
                break;
            }
            mark = self.at;
        }
        self.at = mark;
        self.name()?;
        if self.eat(b'.') {
            self.name()?;
        }
        if self.eat(b'(') {
            // One iteration per column name.
            loop {
                self.name()?;
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b')')?;
        }
        let kw = self.word()?;
        (kw.eq_ignore_ascii_case("VALUES") || kw.eq_ignore_ascii_case("VALUE")).then_some(self.at)
    }

    fn literal(&mut self) -> Option<Literal> {
        self.skip_ws();
        match self.peek()? {
            b'\'' => self.string(),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => {
                let w = self.word()?;
                w.eq_ignore_ascii_case("NULL").then_some(Literal::Null)
            }
        }
    }

    /// An optionally negative integer that fits an i64 and is not the start of a decimal,
    /// exponent, hex or bit literal.
    fn integer(&mut self) -> Option<Literal> {
        let start = self.at;
        self.at += usize::from(self.peek() == Some(b'-'));
        let digits = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        let ends_cleanly = self
            .peek()
            .is_none_or(|b| b.is_ascii_whitespace() || b == b',' || b == b')');
        if self.at == digits || !ends_cleanly {
            return None;
        }
        self.sql[start..self.at].parse().ok().map(Literal::Int)
    }

    /// A single-quoted string with `''` for a quote and no backslash (whose meaning depends on
    /// sql_mode), NUL or raw-byte character (which become blob literals), and not followed by
    /// another string (MySQL concatenates adjacent strings).
    fn string(&mut self) -> Option<Literal> {
        self.at += 1;
        let mut text = String::new();
        let mut run = self.at;
        // Bounded by the text: each iteration consumes at least one byte.
        loop {
            match self.peek()? {
                b'\'' if self.bytes().get(self.at + 1) == Some(&b'\'') => {
                    text.push_str(&self.sql[run..=self.at]);
                    self.at += 2;
                    run = self.at;
                }
                b'\'' => {
                    text.push_str(&self.sql[run..self.at]);
                    self.at += 1;
                    break;
                }
                // 0xF4 starts the characters from U+100000 on, among them the raw bytes.
                b'\\' | 0 | 0xF4..=0xFF => return None,
                _ => self.at += 1,
            }
        }
        self.skip_ws();
        (self.peek() != Some(b'\'')).then_some(Literal::Text(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(sql: &str) -> (String, Vec<Literal>) {
        let p = parameterize_insert(sql).unwrap_or_else(|| panic!("not split: {sql}"));
        (p.shape, p.values)
    }

    #[test]
    fn sysbench_insert_is_split() {
        let (shape, values) =
            split("INSERT INTO sbtest1 (id, k, c, pad) VALUES (0, 5012, '683-21', 'it''s')");
        assert_eq!(
            shape,
            "INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)"
        );
        assert_eq!(
            values,
            vec![
                Literal::Int(0),
                Literal::Int(5012),
                Literal::Text("683-21".into()),
                Literal::Text("it's".into()),
            ]
        );
    }

    #[test]
    fn heads_rows_and_values_that_are_split() {
        let (shape, values) = split(
            "replace low_priority into `my db`.`t``x` VALUE (NULL, -9223372036854775808),(1,'é?;'); ",
        );
        assert_eq!(
            shape,
            "replace low_priority into `my db`.`t``x` VALUE (?, ?), (?, ?)"
        );
        assert_eq!(
            values,
            vec![
                Literal::Null,
                Literal::Int(i64::MIN),
                Literal::Int(1),
                Literal::Text("é?;".into()),
            ]
        );
        let (shape, _) = split("INSERT IGNORE t VALUES ('')");
        assert_eq!(shape, "INSERT IGNORE t VALUES (?)");
    }

    #[test]
    fn anything_else_takes_the_ordinary_path() {
        for sql in [
            "INSERT INTO t VALUES (1.5)",
            "INSERT INTO t VALUES (1e3)",
            "INSERT INTO t VALUES (0x1F)",
            "INSERT INTO t VALUES (9223372036854775808)",
            "INSERT INTO t VALUES (- 1)",
            "INSERT INTO t VALUES (+1)",
            "INSERT INTO t VALUES (DEFAULT)",
            "INSERT INTO t VALUES (TRUE)",
            "INSERT INTO t VALUES (NOW())",
            "INSERT INTO t VALUES (1 + 1)",
            "INSERT INTO t VALUES ('a\\'b')",
            "INSERT INTO t VALUES ('a' 'b')",
            "INSERT INTO t VALUES (\"a\")",
            "INSERT INTO t VALUES (_utf8mb4'a')",
            "INSERT INTO t VALUES (X'00')",
            "INSERT INTO t VALUES ('a\0')",
            "INSERT INTO t VALUES (?)",
            "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE v = 2",
            "INSERT INTO t VALUES (1) AS new",
            "INSERT INTO t VALUES (1); SELECT 1",
            "INSERT INTO t VALUES (1) -- c",
            "INSERT /* c */ INTO t VALUES (1)",
            "INSERT INTO t SELECT 1",
            "INSERT INTO t SET a = 1",
            "INSERT INTO t VALUES",
            "INSERT INTO t VALUES ()",
            "INSERT INTO t VALUES (1",
            "INSERT INTO t VALUES ('open",
            "INSERT INTO t PARTITION (p0) VALUES (1)",
            "UPDATE t SET a = 1",
            "SELECT 'INSERT INTO t VALUES (1)'",
        ] {
            assert_eq!(parameterize_insert(sql), None, "{sql}");
        }
    }

    #[test]
    fn more_values_than_sqlite_binds_take_the_ordinary_path() {
        let row = |n: usize| format!("INSERT INTO t VALUES ({})", vec!["1"; n].join(", "));
        assert_eq!(
            parameterize_insert(&row(MAX_VALUES)).map(|p| p.values.len()),
            Some(MAX_VALUES)
        );
        assert_eq!(parameterize_insert(&row(MAX_VALUES + 1)), None);
    }

    /// Renders values back as literals.
    fn render(values: &[Literal]) -> Vec<String> {
        values
            .iter()
            .map(|v| match v {
                Literal::Null => "NULL".to_string(),
                Literal::Int(i) => i.to_string(),
                Literal::Text(t) => format!("'{}'", t.replace('\'', "''")),
            })
            .collect()
    }

    fn literal() -> impl Strategy<Value = Literal> {
        prop_oneof![
            Just(Literal::Null),
            any::<i64>().prop_map(Literal::Int),
            "[a-zA-Z0-9 ',;()?é-]{0,12}".prop_map(Literal::Text),
        ]
    }

    proptest! {
        /// Any rows of plain literals split into their values, and the shape with the values
        /// put back is the text.
        #[test]
        fn rows_of_literals_round_trip(
            rows in proptest::collection::vec(proptest::collection::vec(literal(), 1..5), 1..4),
        ) {
            let rendered: Vec<String> = rows
                .iter()
                .map(|r| format!("({})", render(r).join(", ")))
                .collect();
            let sql = format!("INSERT INTO t VALUES {}", rendered.join(", "));
            let p = parameterize_insert(&sql).expect("split");
            let all: Vec<Literal> = rows.into_iter().flatten().collect();
            prop_assert_eq!(&p.values, &all);
            let mut rebuilt = String::new();
            let mut values = render(&all).into_iter();
            for c in p.shape.chars() {
                match c {
                    '?' => rebuilt.push_str(&values.next().expect("a value per ?")),
                    c => rebuilt.push(c),
                }
            }
            prop_assert_eq!(rebuilt, sql);
        }

        /// Never panics, whatever the text.
        #[test]
        fn never_panics(s in "(INSERT|INTO|t|VALUES|\\(|\\)|,|'|''|\\\\|-|1|NULL|`| |;|é|\\.)*") {
            let _ = parameterize_insert(&s);
        }
    }
}
