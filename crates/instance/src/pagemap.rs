//! Which table or index a page belongs to, for conflict diagnostics.
//!
//! Uses SQLite's `dbstat` virtual table (compiled into rusqlite's bundled SQLite with
//! `SQLITE_ENABLE_DBSTAT_VTAB`), which walks every b-tree from its root in `sqlite_schema` and
//! lists each page with the b-tree's name, overflow pages included. It runs only when
//! diagnostics are read, never on the conflict path, and reads the database as it is now:
//! a page freed or reused since the conflict resolves to what it holds now.

use std::collections::{HashMap, HashSet};

use borealis_pagestore::PageNo;
use rusqlite::Connection;

use crate::conflicts::PageObject;

/// At most this many pages are visited per lookup (16 GiB at 16 KiB pages): a diagnostics
/// read must not scan an arbitrarily large database.
const MAX_SCAN_PAGES: usize = 1_000_000;

/// A row of `sqlite_schema`: its type and the table it belongs to.
struct SchemaEntry {
    kind: String,
    tbl_name: String,
}

/// Resolves `pages` to what they hold. Pages in no b-tree are [`PageObject::Unknown`]; when the
/// lookup fails, every page not found yet is [`PageObject::NotResolved`].
pub fn resolve(conn: &Connection, pages: &[PageNo]) -> HashMap<PageNo, PageObject> {
    let mut found = HashMap::new();
    let mut wanted: HashSet<PageNo> = HashSet::new();
    for &p in pages {
        if p == 1 {
            found.insert(p, PageObject::Header);
        } else {
            wanted.insert(p);
        }
    }
    if wanted.is_empty() {
        return found;
    }
    let failure = match scan(conn, &mut wanted, &mut found) {
        Ok(true) => PageObject::Unknown,
        Ok(false) => PageObject::NotResolved(format!(
            "the database is larger than the {MAX_SCAN_PAGES} pages a lookup scans"
        )),
        Err(e) => PageObject::NotResolved(format!("page lookup failed: {e}")),
    };
    for p in wanted {
        found.insert(p, failure.clone());
    }
    found
}

/// Scans `dbstat`, moving each wanted page it meets into `found`. `Ok(false)` when the scan
/// stopped at [`MAX_SCAN_PAGES`] with pages still wanted.
fn scan(
    conn: &Connection,
    wanted: &mut HashSet<PageNo>,
    found: &mut HashMap<PageNo, PageObject>,
) -> rusqlite::Result<bool> {
    let schema = schema_entries(conn)?;
    let mut stmt = conn.prepare("SELECT name, pageno FROM dbstat")?;
    let mut rows = stmt.query([])?;
    let mut visited = 0usize;
    while let Some(row) = rows.next()? {
        if wanted.is_empty() {
            return Ok(true);
        }
        visited += 1;
        if visited > MAX_SCAN_PAGES {
            return Ok(false);
        }
        let page: i64 = row.get(1)?;
        let Ok(page) = PageNo::try_from(page) else {
            continue;
        };
        if wanted.remove(&page) {
            let name: String = row.get(0)?;
            found.insert(page, classify(&name, schema.get(&name)));
        }
    }
    Ok(true)
}

fn schema_entries(conn: &Connection) -> rusqlite::Result<HashMap<String, SchemaEntry>> {
    let mut stmt = conn.prepare("SELECT name, type, tbl_name FROM sqlite_schema")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            SchemaEntry {
                kind: r.get(1)?,
                tbl_name: r.get(2)?,
            },
        ))
    })?;
    rows.collect()
}

/// Maps a b-tree's SQLite name back to MySQL names: table `db.t` is SQLite table `"db.t"`,
/// its index `i` is `"db.t.i"`, and a composite primary key is SQLite's automatic index.
fn classify(name: &str, entry: Option<&SchemaEntry>) -> PageObject {
    let lower = name.to_ascii_lowercase();
    if lower == "sqlite_schema" || lower == "sqlite_master" {
        return PageObject::Internal("sqlite_schema".into());
    }
    let Some(entry) = entry else {
        return PageObject::Internal(name.to_string());
    };
    let Some((schema, table)) = entry.tbl_name.split_once('.') else {
        return PageObject::Internal(name.to_string());
    };
    let (schema, table) = (schema.to_string(), table.to_string());
    if entry.kind != "index" {
        return PageObject::Table { schema, table };
    }
    let index = if lower.starts_with("sqlite_autoindex_") {
        "PRIMARY".to_string()
    } else {
        name.strip_prefix(&format!("{}.", entry.tbl_name))
            .unwrap_or(name)
            .to_string()
    };
    PageObject::Index {
        schema,
        table,
        index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, tbl: &str) -> SchemaEntry {
        SchemaEntry {
            kind: kind.into(),
            tbl_name: tbl.into(),
        }
    }

    #[test]
    fn maps_sqlite_names_to_mysql_names() {
        assert_eq!(
            classify("shop.orders", Some(&entry("table", "shop.orders"))),
            PageObject::Table {
                schema: "shop".into(),
                table: "orders".into()
            }
        );
        assert_eq!(
            classify("shop.orders.by_day", Some(&entry("index", "shop.orders"))),
            PageObject::Index {
                schema: "shop".into(),
                table: "orders".into(),
                index: "by_day".into()
            }
        );
        assert_eq!(
            classify(
                "sqlite_autoindex_shop.orders_1",
                Some(&entry("index", "shop.orders"))
            ),
            PageObject::Index {
                schema: "shop".into(),
                table: "orders".into(),
                index: "PRIMARY".into()
            }
        );
        assert_eq!(
            classify("sqlite_schema", None),
            PageObject::Internal("sqlite_schema".into())
        );
        assert_eq!(
            classify("sqlite_sequence", Some(&entry("table", "sqlite_sequence"))),
            PageObject::Internal("sqlite_sequence".into())
        );
    }

    #[test]
    fn resolves_pages_of_a_real_database() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE \"d.t\" (id INT, v TEXT, PRIMARY KEY (id, v));
             CREATE INDEX \"d.t.by_v\" ON \"d.t\" (v);
             INSERT INTO \"d.t\" VALUES (1, 'a');",
        )
        .unwrap();
        let roots: Vec<(String, i64)> = conn
            .prepare("SELECT name, rootpage FROM sqlite_schema ORDER BY rootpage")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let pages: Vec<PageNo> = roots.iter().map(|(_, p)| *p as PageNo).collect();
        let mut ask = pages.clone();
        ask.extend([1, 999]);
        let found = resolve(&conn, &ask);
        assert_eq!(found[&1], PageObject::Header);
        assert_eq!(found[&999], PageObject::Unknown);
        let by_name: HashMap<&str, PageNo> = roots
            .iter()
            .map(|(n, p)| (n.as_str(), *p as PageNo))
            .collect();
        assert_eq!(
            found[&by_name["d.t"]],
            PageObject::Table {
                schema: "d".into(),
                table: "t".into()
            }
        );
        assert_eq!(found[&by_name["d.t.by_v"]].index(), Some("by_v"));
        assert_eq!(
            found[&by_name["sqlite_autoindex_d.t_1"]].index(),
            Some("PRIMARY")
        );
    }
}
