//! Prints the translation of each line of stdin (current database `test`).
use std::io::BufRead;

fn main() {
    let tr = borealis_sql::Translator::new(16);
    let cat = borealis_sql::EmptyCatalog;
    let ctx = borealis_sql::Ctx {
        current_db: Some("test"),
        catalog: &cat,
        schema_version: 0,
    };
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        match tr.translate(&line, &ctx) {
            Ok(v) => {
                for t in v.iter() {
                    println!("{line}\n  => {:?} (params {})", t.kind, t.param_count);
                }
            }
            Err(e) => println!("{line}\n  => ERR {e}"),
        }
    }
}
