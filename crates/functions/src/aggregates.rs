//! Aggregate functions SQLite lacks: BIT_AND/BIT_OR/BIT_XOR and the
//! standard deviation / variance family.

use rusqlite::functions::{Aggregate, Context};
use rusqlite::Connection;

use crate::registry::deterministic;
use crate::value::SqlValue;

/// Registers the aggregates.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_aggregate_function("bit_and", 1, deterministic(), BitAgg(BitOp::And))?;
    conn.create_aggregate_function("bit_or", 1, deterministic(), BitAgg(BitOp::Or))?;
    conn.create_aggregate_function("bit_xor", 1, deterministic(), BitAgg(BitOp::Xor))?;
    for (name, kind) in [
        ("std", Spread::StdPop),
        ("stddev", Spread::StdPop),
        ("stddev_pop", Spread::StdPop),
        ("stddev_samp", Spread::StdSamp),
        ("variance", Spread::VarPop),
        ("var_pop", Spread::VarPop),
        ("var_samp", Spread::VarSamp),
    ] {
        conn.create_aggregate_function(name, 1, deterministic(), SpreadAgg(kind))?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum BitOp {
    And,
    Or,
    Xor,
}

struct BitAgg(BitOp);

impl BitAgg {
    fn identity(&self) -> u64 {
        match self.0 {
            BitOp::And => u64::MAX,
            BitOp::Or | BitOp::Xor => 0,
        }
    }
}

/// An unsigned 64-bit result: an integer when it fits, else its decimal text.
fn unsigned_value(v: u64) -> SqlValue {
    i64::try_from(v).map_or_else(|_| SqlValue::Text(v.to_string()), SqlValue::Integer)
}

impl Aggregate<u64, SqlValue> for BitAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<u64> {
        Ok(self.identity())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut u64) -> rusqlite::Result<()> {
        let v = SqlValue::from(ctx.get_raw(0));
        // NULLs are ignored, like MySQL.
        if let Some(n) = v.as_i64() {
            let n = n as u64;
            *acc = match self.0 {
                BitOp::And => *acc & n,
                BitOp::Or => *acc | n,
                BitOp::Xor => *acc ^ n,
            };
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<u64>) -> rusqlite::Result<SqlValue> {
        Ok(unsigned_value(acc.unwrap_or_else(|| self.identity())))
    }
}

#[derive(Clone, Copy)]
enum Spread {
    StdPop,
    StdSamp,
    VarPop,
    VarSamp,
}

/// Welford's running mean and sum of squared deviations.
#[derive(Default)]
struct Welford {
    count: u64,
    mean: f64,
    m2: f64,
}

struct SpreadAgg(Spread);

impl Aggregate<Welford, SqlValue> for SpreadAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Welford> {
        Ok(Welford::default())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Welford) -> rusqlite::Result<()> {
        let Some(x) = SqlValue::from(ctx.get_raw(0)).as_f64() else {
            return Ok(());
        };
        if !x.is_finite() {
            return Ok(());
        }
        acc.count += 1;
        let delta = x - acc.mean;
        acc.mean += delta / acc.count as f64;
        acc.m2 += delta * (x - acc.mean);
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Welford>) -> rusqlite::Result<SqlValue> {
        let Some(w) = acc.filter(|w| w.count > 0) else {
            return Ok(SqlValue::Null);
        };
        let n = w.count as f64;
        let value = match self.0 {
            Spread::StdPop => (w.m2 / n).sqrt(),
            Spread::VarPop => w.m2 / n,
            Spread::StdSamp if w.count > 1 => (w.m2 / (n - 1.0)).sqrt(),
            Spread::VarSamp if w.count > 1 => w.m2 / (n - 1.0),
            Spread::StdSamp | Spread::VarSamp => return Ok(SqlValue::Null),
        };
        Ok(SqlValue::from(Some(value)))
    }
}
