//! `SHOW CREATE TABLE` text in MySQL 8's format, re-runnable through
//! the translator.

use crate::catalog::{ColumnMeta, TableMeta};

fn bq(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn sq(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

fn column_line(meta: &TableMeta, col: &ColumnMeta) -> String {
    let mut s = format!("  {} {}", bq(&col.name), col.column_type);
    if let (Some(cs), Some(coll)) = (&col.charset, &col.collation) {
        if coll != &meta.collation {
            s.push_str(&format!(" CHARACTER SET {cs} COLLATE {coll}"));
        }
    }
    if !col.nullable {
        s.push_str(" NOT NULL");
    }
    match &col.default {
        Some(d) if col.default_is_expression => s.push_str(&format!(" DEFAULT {d}")),
        Some(d) => s.push_str(&format!(" DEFAULT {}", sq(d))),
        None if col.nullable
            && !col.data_type.contains("text")
            && !col.data_type.contains("blob")
            && col.data_type != "json" =>
        {
            s.push_str(" DEFAULT NULL")
        }
        None => {}
    }
    if col.on_update_current_timestamp {
        s.push_str(" ON UPDATE CURRENT_TIMESTAMP");
    }
    if col.auto_increment {
        s.push_str(" AUTO_INCREMENT");
    }
    if !col.comment.is_empty() {
        s.push_str(&format!(" COMMENT {}", sq(&col.comment)));
    }
    s
}

fn col_list(cols: &[String], subs: &[Option<u64>]) -> String {
    cols.iter()
        .enumerate()
        .map(|(i, c)| match subs.get(i).copied().flatten() {
            Some(n) => format!("{}({n})", bq(c)),
            None => bq(c),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// MySQL-style `CREATE TABLE` text for `meta`.
pub fn show_create_table(meta: &TableMeta) -> String {
    let mut lines: Vec<String> = meta.columns.iter().map(|c| column_line(meta, c)).collect();
    if !meta.primary_key.is_empty() {
        lines.push(format!(
            "  PRIMARY KEY ({})",
            col_list(&meta.primary_key, &[])
        ));
    }
    for i in &meta.indexes {
        let kind = if i.unique {
            "UNIQUE KEY"
        } else if i.index_type == "FULLTEXT" {
            "FULLTEXT KEY"
        } else {
            "KEY"
        };
        lines.push(format!(
            "  {kind} {} ({})",
            bq(&i.name),
            col_list(&i.columns, &i.sub_parts)
        ));
    }
    for fk in &meta.foreign_keys {
        let mut s = format!(
            "  CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {}{} ({})",
            bq(&fk.name),
            col_list(&fk.columns, &[]),
            if fk.ref_db == meta.db {
                String::new()
            } else {
                format!("{}.", bq(&fk.ref_db))
            },
            bq(&fk.ref_table),
            col_list(&fk.ref_columns, &[])
        );
        if !fk.on_delete.is_empty() && fk.on_delete != "NO ACTION" && fk.on_delete != "RESTRICT" {
            s.push_str(&format!(" ON DELETE {}", fk.on_delete));
        }
        if !fk.on_update.is_empty() && fk.on_update != "NO ACTION" && fk.on_update != "RESTRICT" {
            s.push_str(&format!(" ON UPDATE {}", fk.on_update));
        }
        lines.push(s);
    }
    let mut out = format!(
        "CREATE TABLE {} (\n{}\n) ENGINE={}",
        bq(&meta.name),
        lines.join(",\n"),
        if meta.engine.is_empty() {
            "InnoDB"
        } else {
            &meta.engine
        }
    );
    if let Some(n) = meta.auto_increment_start.filter(|n| *n > 1) {
        out.push_str(&format!(" AUTO_INCREMENT={n}"));
    }
    out.push_str(&format!(
        " DEFAULT CHARSET={} COLLATE={}",
        meta.charset, meta.collation
    ));
    if !meta.comment.is_empty() {
        out.push_str(&format!(" COMMENT={}", sq(&meta.comment)));
    }
    out
}
