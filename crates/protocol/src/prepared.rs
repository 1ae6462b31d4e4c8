//! Prepared statements of one connection: ids, parameter counts, remembered parameter
//! types and long-data buffers; decoding of COM_STMT_EXECUTE parameters.

use std::collections::HashMap;

use mysql_common::value::Value;

use crate::binary_value::{read_param, ParamError};
use crate::wire::{Cursor, Truncated};

/// One prepared statement's protocol-side state.
#[derive(Debug, Default)]
pub struct Statement {
    /// Number of `?` placeholders.
    pub param_count: u16,
    /// (type byte, flags byte) per parameter, from the last execute with new_params_bound.
    pub param_types: Vec<(u8, u8)>,
    /// Data from COM_STMT_SEND_LONG_DATA per parameter, used once by the next execute.
    pub long_data: Vec<Option<Vec<u8>>>,
    /// Total bytes of long data buffered (bounded by max_allowed_packet).
    pub long_data_bytes: usize,
    /// Set when long data exceeded the limit; the next execute fails.
    pub long_data_overflow: bool,
}

/// The statements of one connection.
#[derive(Debug)]
pub struct Registry {
    statements: HashMap<u32, Statement>,
    next_id: u32,
    max_statements: usize,
}

/// Why a COM_STMT_EXECUTE could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecuteError {
    /// The payload is malformed (connection is closed).
    #[error("malformed parameters: {0}")]
    Malformed(#[from] ParamError),
    /// No types were ever bound for this statement.
    #[error("parameters were never bound")]
    NoTypes,
}

impl From<Truncated> for ExecuteError {
    fn from(t: Truncated) -> Self {
        Self::Malformed(ParamError::Truncated(t))
    }
}

impl Registry {
    /// An empty registry holding at most `max_statements`.
    pub fn new(max_statements: usize) -> Self {
        Self {
            statements: HashMap::new(),
            next_id: 1,
            max_statements,
        }
    }

    /// Reserves the next statement id, or `None` when the connection holds too many.
    pub fn next_id(&mut self) -> Option<u32> {
        if self.statements.len() >= self.max_statements {
            return None;
        }
        // Bounded: at most max_statements ids are taken, so a free one is found quickly.
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1).max(1);
            if !self.statements.contains_key(&id) {
                return Some(id);
            }
        }
    }

    /// Registers a prepared statement under `id`.
    pub fn insert(&mut self, id: u32, param_count: u16) {
        let stmt = Statement {
            param_count,
            long_data: vec![None; usize::from(param_count)],
            ..Statement::default()
        };
        self.statements.insert(id, stmt);
    }

    /// Looks a statement up.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut Statement> {
        self.statements.get_mut(&id)
    }

    /// Removes a statement; true when it existed.
    pub fn remove(&mut self, id: u32) -> bool {
        self.statements.remove(&id).is_some()
    }

    /// Drops every statement (COM_RESET_CONNECTION, COM_CHANGE_USER); returns their ids.
    pub fn clear(&mut self) -> Vec<u32> {
        self.statements.drain().map(|(id, _)| id).collect()
    }

    /// True when no statement is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

impl Statement {
    /// Appends a long-data chunk for parameter `index`; out-of-range indexes are ignored
    /// (MySQL reports them at execute time; we simply drop them).
    pub fn append_long_data(&mut self, index: u16, chunk: &[u8], limit: usize) {
        let Some(slot) = self.long_data.get_mut(usize::from(index)) else {
            return;
        };
        if self.long_data_bytes + chunk.len() > limit {
            self.long_data_overflow = true;
            return;
        }
        self.long_data_bytes += chunk.len();
        slot.get_or_insert_with(Vec::new).extend_from_slice(chunk);
    }

    /// Clears long data (after an execute and on COM_STMT_RESET).
    pub fn reset_long_data(&mut self) {
        self.long_data.iter_mut().for_each(|slot| *slot = None);
        self.long_data_bytes = 0;
        self.long_data_overflow = false;
    }

    /// Decodes the parameter section of a COM_STMT_EXECUTE (everything after the
    /// iteration count) into `out`, merging long data (consumed).
    pub fn decode_params(
        &mut self,
        c: &mut Cursor<'_>,
        out: &mut Vec<Value>,
    ) -> Result<(), ExecuteError> {
        out.clear();
        let n = usize::from(self.param_count);
        if n == 0 {
            return Ok(());
        }
        let bitmap = c.take(n.div_ceil(8))?;
        let new_bound = c.u8()?;
        if new_bound == 1 {
            let types = c.take(n * 2)?;
            self.param_types.clear();
            self.param_types
                .extend(types.chunks_exact(2).map(|t| (t[0], t[1])));
        } else if self.param_types.len() != n {
            return Err(ExecuteError::NoTypes);
        }
        out.reserve(n);
        for (i, &(type_byte, flags)) in self.param_types.iter().enumerate() {
            let value = if let Some(data) = self.long_data[i].take() {
                Value::Bytes(data)
            } else if bitmap[i / 8] & (1 << (i % 8)) != 0 {
                Value::NULL
            } else {
                read_param(c, type_byte, flags & 0x80 != 0)?
            };
            out.push(value);
        }
        Ok(())
    }
}

/// Decodes a full COM_STMT_EXECUTE payload for a statement with `param_count` params.
#[cfg(test)]
pub fn decode_execute_for_tests(
    payload: &[u8],
    param_count: usize,
) -> Result<Vec<Value>, ExecuteError> {
    let mut c = Cursor::new(payload);
    c.take(1 + 4 + 1 + 4)?;
    let mut stmt = Statement {
        param_count: u16::try_from(param_count).map_err(|_| ExecuteError::NoTypes)?,
        long_data: vec![None; param_count],
        ..Statement::default()
    };
    let mut out = Vec::new();
    stmt.decode_params(&mut c, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_types_and_long_data() {
        let mut reg = Registry::new(2);
        let id = reg.next_id().unwrap();
        reg.insert(id, 2);
        let stmt = reg.get_mut(id).unwrap();
        // bitmap, new_params_bound, types (LONGLONG, VAR_STRING), values
        let mut p = vec![0u8, 1, 8, 0, 253, 0];
        p.extend_from_slice(&5i64.to_le_bytes());
        p.extend_from_slice(&[2, b'h', b'i']);
        let mut out = Vec::new();
        stmt.decode_params(&mut Cursor::new(&p), &mut out).unwrap();
        assert_eq!(out, vec![Value::Int(5), Value::Bytes(b"hi".to_vec())]);

        // Re-execute without types, long data replaces parameter 1 and is consumed.
        stmt.append_long_data(1, b"long ", 100);
        stmt.append_long_data(1, b"data", 100);
        let mut p = vec![0u8, 0];
        p.extend_from_slice(&9i64.to_le_bytes());
        stmt.decode_params(&mut Cursor::new(&p), &mut out).unwrap();
        assert_eq!(
            out,
            vec![Value::Int(9), Value::Bytes(b"long data".to_vec())]
        );
        let mut p = vec![2u8, 0];
        p.extend_from_slice(&9i64.to_le_bytes());
        stmt.decode_params(&mut Cursor::new(&p), &mut out).unwrap();
        assert_eq!(out, vec![Value::Int(9), Value::NULL]);

        // Truncated.
        let p = vec![0u8, 0, 1, 2];
        assert!(matches!(
            stmt.decode_params(&mut Cursor::new(&p), &mut out),
            Err(ExecuteError::Malformed(_))
        ));
    }

    #[test]
    fn unbound_types_rejected_and_limit_enforced() {
        let mut reg = Registry::new(1);
        let id = reg.next_id().unwrap();
        reg.insert(id, 1);
        assert_eq!(reg.next_id(), None);
        let stmt = reg.get_mut(id).unwrap();
        let p = [0u8, 0];
        assert_eq!(
            stmt.decode_params(&mut Cursor::new(&p), &mut Vec::new()),
            Err(ExecuteError::NoTypes)
        );
        stmt.append_long_data(0, &[0; 10], 5);
        assert!(stmt.long_data_overflow);
        assert!(reg.remove(id));
        assert!(reg.is_empty());
    }
}
