//! Decoding of command packets (the first byte of every client payload after login).

use crate::wire::{Cursor, Truncated};

/// A decoded client command borrowing from the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// COM_QUIT.
    Quit,
    /// COM_INIT_DB.
    InitDb(&'a [u8]),
    /// COM_QUERY.
    Query(&'a [u8]),
    /// COM_FIELD_LIST: table, wildcard.
    FieldList(&'a [u8], &'a [u8]),
    /// COM_STATISTICS.
    Statistics,
    /// COM_PROCESS_KILL.
    ProcessKill(u32),
    /// COM_PING.
    Ping,
    /// COM_CHANGE_USER (payload after the command byte).
    ChangeUser(&'a [u8]),
    /// COM_RESET_CONNECTION.
    ResetConnection,
    /// COM_SET_OPTION: true enables multi-statements.
    SetOption(u16),
    /// COM_STMT_PREPARE.
    StmtPrepare(&'a [u8]),
    /// COM_STMT_EXECUTE: statement id, then the rest after flags and iteration count.
    StmtExecute {
        id: u32,
        flags: u8,
        params: &'a [u8],
    },
    /// COM_STMT_SEND_LONG_DATA.
    StmtSendLongData { id: u32, param: u16, data: &'a [u8] },
    /// COM_STMT_CLOSE.
    StmtClose(u32),
    /// COM_STMT_RESET.
    StmtReset(u32),
    /// COM_STMT_FETCH.
    StmtFetch(u32),
    /// Any other command byte.
    Unknown(u8),
}

/// Decodes a command payload. An empty payload or a truncated fixed field is an error.
pub fn decode(payload: &[u8]) -> Result<Command<'_>, Truncated> {
    let mut c = Cursor::new(payload);
    let code = c.u8()?;
    Ok(match code {
        0x01 => Command::Quit,
        0x02 => Command::InitDb(c.rest()),
        0x03 => Command::Query(c.rest()),
        0x04 => {
            let table = c.null_str();
            Command::FieldList(table, c.rest())
        }
        0x09 => Command::Statistics,
        0x0c => Command::ProcessKill(c.u32()?),
        0x0e => Command::Ping,
        0x11 => Command::ChangeUser(c.rest()),
        0x16 => Command::StmtPrepare(c.rest()),
        0x17 => {
            let id = c.u32()?;
            let flags = c.u8()?;
            let _iterations = c.u32()?;
            Command::StmtExecute {
                id,
                flags,
                params: c.rest(),
            }
        }
        0x18 => {
            let id = c.u32()?;
            let param = c.u16()?;
            Command::StmtSendLongData {
                id,
                param,
                data: c.rest(),
            }
        }
        0x19 => Command::StmtClose(c.u32()?),
        0x1a => Command::StmtReset(c.u32()?),
        0x1b => Command::SetOption(c.u16()?),
        0x1c => Command::StmtFetch(c.u32()?),
        0x1f => Command::ResetConnection,
        other => Command::Unknown(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_rejects_truncation() {
        assert_eq!(decode(&[3, b'S']).unwrap(), Command::Query(b"S"));
        assert_eq!(
            decode(&[4, b't', 0, b'%']).unwrap(),
            Command::FieldList(b"t", b"%")
        );
        assert_eq!(
            decode(&[0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 9]).unwrap(),
            Command::StmtExecute {
                id: 1,
                flags: 0,
                params: &[9]
            }
        );
        assert_eq!(decode(&[0x17, 1, 0, 0, 0, 0, 1, 0]), Err(Truncated));
        assert_eq!(decode(&[]), Err(Truncated));
        assert_eq!(decode(&[0x19, 1]), Err(Truncated));
        assert_eq!(decode(&[0x99]).unwrap(), Command::Unknown(0x99));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = decode(&data);
        }
    }
}
