//! The per-connection loop: handshake, authentication, then one command at a time.

use std::io::{self, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use mysql_common::constants::{CapabilityFlags, ColumnType, StatusFlags};
use mysql_common::value::Value;

use crate::auth::{new_scramble, verify, SCRAMBLE_LEN};
use crate::backend::{Authenticator, Backend, ConnInfo, OkInfo, Session};
use crate::column::ColumnDef;
use crate::command::{decode, Command};
use crate::config::{AuthPlugin, ServerConfig};
use crate::error::{codes, MysqlError};
use crate::handshake::{
    parse_change_user, parse_handshake_response, write_auth_switch, write_handshake, HandshakeError,
};
use crate::packet::{PacketReader, PacketWriter, ReadError};
use crate::prepared::{ExecuteError, Registry};
use crate::result::{write_column_defs, write_eof, write_err, write_ok, Out, ResultSink};
use crate::wire::Cursor;

/// Size of the socket read buffer.
const READ_BUFFER: usize = 16 * 1024;

/// What to do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// Shared, read-only context of every connection.
pub(crate) struct Context<B> {
    pub config: Arc<ServerConfig>,
    pub auth: Arc<dyn Authenticator>,
    pub backend: Arc<B>,
}

/// One client connection.
pub(crate) struct Connection<B: Backend> {
    ctx: Arc<Context<B>>,
    reader: PacketReader<Box<dyn Read + Send>>,
    w: Out,
    id: u32,
    peer: SocketAddr,
    scramble: [u8; SCRAMBLE_LEN],
    caps: CapabilityFlags,
    user: String,
    statements: Registry,
    /// Reused buffers: received payload, decoded parameters, column types of a result.
    payload: Vec<u8>,
    params: Vec<Value>,
    columns: Vec<(ColumnType, u8)>,
}

impl<B: Backend> Connection<B> {
    /// Wraps an accepted socket.
    pub fn new(ctx: Arc<Context<B>>, stream: TcpStream, id: u32) -> io::Result<Self> {
        let peer = stream.peer_addr()?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(ctx.config.read_timeout)?;
        stream.set_write_timeout(ctx.config.write_timeout)?;
        let read_half: Box<dyn Read + Send> =
            Box::new(BufReader::with_capacity(READ_BUFFER, stream.try_clone()?));
        let max = ctx.config.max_allowed_packet;
        let max_statements = ctx.config.max_prepared_statements;
        Ok(Self {
            ctx,
            reader: PacketReader::new(read_half, max),
            w: PacketWriter::new(Box::new(stream)),
            id,
            peer,
            scramble: new_scramble(),
            caps: CapabilityFlags::empty(),
            user: String::new(),
            statements: Registry::new(max_statements),
            payload: Vec::new(),
            params: Vec::new(),
            columns: Vec::new(),
        })
    }

    /// Serves the connection until the client quits, an error occurs or the socket closes.
    pub fn run(mut self) {
        let Some(mut session) = self.login() else {
            return;
        };
        // Bounded by the life of the connection: each iteration consumes one packet.
        loop {
            match self.read_packet() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    tracing::debug!(connection_id = self.id, "connection ends: {e}");
                    break;
                }
            }
            self.w.seq = self.reader.last_seq.wrapping_add(1);
            let flow = self.dispatch(&mut session);
            let flushed = self.w.flush();
            self.release_large_buffers();
            match (flow, flushed) {
                (Ok(Flow::Continue), Ok(())) => {}
                (Ok(Flow::Close), _) => break,
                (Err(e), _) | (_, Err(e)) => {
                    tracing::debug!(connection_id = self.id, "connection ends: {e}");
                    break;
                }
            }
        }
        session.close();
    }

    /// Drops parameter values and a payload buffer grown by an unusually large packet, so an
    /// idle connection does not pin megabytes.
    fn release_large_buffers(&mut self) {
        self.params.clear();
        if self.payload.capacity() > 1 << 20 {
            self.payload = Vec::new();
        }
    }

    /// Reads the next payload. Ok(false): the connection should end (clean EOF, or an
    /// oversized packet that was already answered with an error).
    fn read_packet(&mut self) -> io::Result<bool> {
        match self.reader.read_payload(&mut self.payload) {
            Ok(()) => Ok(true),
            Err(ReadError::Closed) => Ok(false),
            Err(ReadError::TooLarge { size, limit }) => {
                tracing::info!(connection_id = self.id, size, limit, "packet too large");
                self.send_error(&codes::packet_too_large())?;
                Ok(false)
            }
            Err(ReadError::Io(e)) => Err(e),
        }
    }

    fn send_error(&mut self, err: &MysqlError) -> io::Result<()> {
        self.w.seq = self.reader.last_seq.wrapping_add(1);
        write_err(&mut self.w, err);
        self.w.flush()
    }

    fn send_ok(&mut self, status: StatusFlags) {
        write_ok(&mut self.w, 0x00, &OkInfo::default(), status);
    }

    /// Handshake and authentication; returns the session, or None when the connection
    /// must end (the client was already told why).
    fn login(&mut self) -> Option<B::Session> {
        let status = StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        let plugin = self.ctx.config.auth_plugin;
        self.w.seq = 0;
        write_handshake(
            self.w.begin(),
            &self.ctx.config.server_version,
            self.id,
            &self.scramble,
            plugin,
            status,
        );
        self.w.finish();
        if let Err(e) = self.w.flush() {
            tracing::debug!(connection_id = self.id, "handshake not sent: {e}");
            return None;
        }
        match self.read_packet() {
            Ok(true) => {}
            _ => return None,
        }
        let response = match parse_handshake_response(&self.payload) {
            Ok(r) => r,
            Err(e) => {
                let err = match e {
                    HandshakeError::Truncated(_) => codes::malformed(),
                    HandshakeError::NoProtocol41 => codes::protocol_41_required(),
                    HandshakeError::SslRequested => codes::ssl_unsupported(),
                };
                let _ = self.send_error(&err);
                return None;
            }
        };
        self.caps = response.capabilities;
        match self.authenticate(
            &response.user,
            response.plugin.as_deref(),
            response.auth_response,
        ) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                tracing::debug!(connection_id = self.id, "authentication aborted: {e}");
                return None;
            }
        }
        self.user = response.user.clone();
        let info = ConnInfo {
            connection_id: self.id,
            user: response.user,
            database: response.database,
            peer: self.peer,
            client_capabilities: self.caps,
            multi_statements: self.caps.contains(CapabilityFlags::CLIENT_MULTI_STATEMENTS),
        };
        match self.ctx.backend.open_session(&info) {
            Ok(session) => {
                self.send_ok(session.status_flags());
                self.w.flush().ok().map(|()| session)
            }
            Err(err) => {
                // Continues the sequence after a possible fast-auth packet.
                write_err(&mut self.w, &err);
                let _ = self.w.flush();
                None
            }
        }
    }

    /// Verifies a user's credentials, switching the client to the server's plugin when it
    /// answered with one this server does not implement. Ok(false): denied (client told).
    fn authenticate(
        &mut self,
        user: &str,
        client_plugin: Option<&[u8]>,
        mut response: Vec<u8>,
    ) -> io::Result<bool> {
        let plugin = match client_plugin {
            // Pre-plugin clients always use the native scheme.
            None => AuthPlugin::MysqlNativePassword,
            Some(name) => match AuthPlugin::from_name(name) {
                Some(p) => p,
                None => {
                    let plugin = self.ctx.config.auth_plugin;
                    self.scramble = new_scramble();
                    self.w.seq = self.reader.last_seq.wrapping_add(1);
                    write_auth_switch(self.w.begin(), plugin, &self.scramble);
                    self.w.finish();
                    self.w.flush()?;
                    if !self.read_packet()? {
                        return Ok(false);
                    }
                    response = std::mem::take(&mut self.payload);
                    plugin
                }
            },
        };
        let password = self.ctx.auth.password(user);
        let ok = password
            .as_deref()
            .is_some_and(|pw| verify(plugin, &self.scramble, pw, &response));
        self.w.seq = self.reader.last_seq.wrapping_add(1);
        if !ok {
            let host = self.peer.ip().to_string();
            let using_password = !(response.is_empty() || response == [0]);
            self.send_error(&codes::access_denied(user, &host, using_password))?;
            return Ok(false);
        }
        let nonempty = password.as_deref().is_some_and(|p| !p.is_empty());
        if plugin == AuthPlugin::CachingSha2Password && nonempty {
            // AuthMoreData: fast_auth_success.
            self.w.packet(&[0x01, 0x03]);
        }
        Ok(true)
    }

    fn deprecate_eof(&self) -> bool {
        self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF)
    }

    /// Runs one command and writes its response into the buffer.
    fn dispatch(&mut self, session: &mut B::Session) -> io::Result<Flow> {
        let payload = std::mem::take(&mut self.payload);
        let result = self.dispatch_payload(session, &payload);
        self.payload = payload;
        result
    }

    fn dispatch_payload(&mut self, session: &mut B::Session, payload: &[u8]) -> io::Result<Flow> {
        let Ok(command) = decode(payload) else {
            write_err(&mut self.w, &codes::malformed());
            return Ok(Flow::Close);
        };
        match command {
            Command::Quit => return Ok(Flow::Close),
            Command::Query(sql) => {
                let sql = crate::sql_text::decode_sql_text(sql);
                let status = session.status_flags();
                let deprecate_eof = self.deprecate_eof();
                let mut sink =
                    ResultSink::new(&mut self.w, &mut self.columns, false, deprecate_eof, status);
                session.query(&sql, &mut sink)?;
                sink.finish(session.status_flags())?;
            }
            Command::StmtExecute {
                id,
                flags: _,
                params,
            } => return self.execute(session, id, params),
            Command::Ping => self.send_ok(session.status_flags()),
            Command::InitDb(db) => {
                let db = String::from_utf8_lossy(db);
                let res = session.init_db(&db);
                self.ok_or_err(session, res);
            }
            Command::FieldList(table, wildcard) => {
                let table = String::from_utf8_lossy(table);
                let wildcard = String::from_utf8_lossy(wildcard);
                match session.field_list(&table, &wildcard) {
                    Ok(cols) => {
                        write_column_defs(&mut self.w, &cols);
                        let deprecate_eof = self.deprecate_eof();
                        write_eof(&mut self.w, deprecate_eof, 0, session.status_flags());
                    }
                    Err(e) => write_err(&mut self.w, &e),
                }
            }
            Command::Statistics => {
                let text = session.statistics();
                self.w.packet(text.as_bytes());
            }
            Command::ProcessKill(id) => {
                let res = session.kill(id);
                self.ok_or_err(session, res);
            }
            Command::ChangeUser(rest) => return self.change_user(session, rest),
            Command::ResetConnection => {
                self.drop_statements(session);
                let res = session.reset();
                self.ok_or_err(session, res);
            }
            Command::SetOption(option) => match option {
                0 | 1 => {
                    session.set_multi_statements(option == 0);
                    let deprecate_eof = self.deprecate_eof();
                    write_eof(&mut self.w, deprecate_eof, 0, session.status_flags());
                }
                _ => write_err(&mut self.w, &codes::unknown_command()),
            },
            Command::StmtPrepare(sql) => self.prepare(session, sql),
            Command::StmtSendLongData { id, param, data } => {
                let limit = self.ctx.config.max_allowed_packet;
                if let Some(stmt) = self.statements.get_mut(id) {
                    stmt.append_long_data(param, data, limit);
                }
            }
            Command::StmtClose(id) => {
                if self.statements.remove(id) {
                    session.close_statement(id);
                }
            }
            Command::StmtReset(id) => match self.statements.get_mut(id) {
                Some(stmt) => {
                    stmt.reset_long_data();
                    self.send_ok(session.status_flags());
                }
                None => write_err(
                    &mut self.w,
                    &codes::unknown_statement(id, "mysqld_stmt_reset"),
                ),
            },
            Command::StmtFetch(id) => {
                let err = match self.statements.get_mut(id) {
                    Some(_) => codes::no_cursor(id),
                    None => codes::unknown_statement(id, "mysqld_stmt_fetch"),
                };
                write_err(&mut self.w, &err);
            }
            Command::Unknown(code) => {
                tracing::debug!(connection_id = self.id, code, "unknown command");
                write_err(&mut self.w, &codes::unknown_command());
            }
        }
        Ok(Flow::Continue)
    }

    fn ok_or_err(&mut self, session: &B::Session, res: Result<(), MysqlError>) {
        match res {
            Ok(()) => self.send_ok(session.status_flags()),
            Err(e) => write_err(&mut self.w, &e),
        }
    }

    fn drop_statements(&mut self, session: &mut B::Session) {
        for id in self.statements.clear() {
            session.close_statement(id);
        }
    }

    fn prepare(&mut self, session: &mut B::Session, sql: &[u8]) {
        let Some(id) = self.statements.next_id() else {
            let limit = self.ctx.config.max_prepared_statements;
            write_err(&mut self.w, &codes::too_many_statements(limit));
            return;
        };
        let sql = crate::sql_text::decode_sql_text(sql);
        let (param_count, columns) = match session.prepare(id, &sql) {
            Ok(r) => r,
            Err(e) => {
                write_err(&mut self.w, &e);
                return;
            }
        };
        self.statements.insert(id, param_count);
        let Ok(column_count) = u16::try_from(columns.len()) else {
            write_err(
                &mut self.w,
                &MysqlError::new(1117, "HY000", "Too many columns"),
            );
            return;
        };
        let buf = self.w.begin();
        buf.push(0x00);
        buf.extend_from_slice(&id.to_le_bytes());
        buf.extend_from_slice(&column_count.to_le_bytes());
        buf.extend_from_slice(&param_count.to_le_bytes());
        buf.push(0x00);
        buf.extend_from_slice(&0u16.to_le_bytes());
        self.w.finish();
        let status = session.status_flags();
        let deprecate_eof = self.deprecate_eof();
        if param_count > 0 {
            let placeholder = ColumnDef::new("?", ColumnType::MYSQL_TYPE_VAR_STRING);
            for _ in 0..param_count {
                placeholder.encode(self.w.begin());
                self.w.finish();
            }
            if !deprecate_eof {
                write_eof(&mut self.w, false, 0, status);
            }
        }
        if !columns.is_empty() {
            write_column_defs(&mut self.w, &columns);
            if !deprecate_eof {
                write_eof(&mut self.w, false, 0, status);
            }
        }
    }

    fn execute(&mut self, session: &mut B::Session, id: u32, params: &[u8]) -> io::Result<Flow> {
        let limit_hit;
        {
            let Some(stmt) = self.statements.get_mut(id) else {
                write_err(
                    &mut self.w,
                    &codes::unknown_statement(id, "mysqld_stmt_execute"),
                );
                return Ok(Flow::Continue);
            };
            limit_hit = stmt.long_data_overflow;
            let decoded = stmt.decode_params(&mut Cursor::new(params), &mut self.params);
            stmt.reset_long_data();
            match decoded {
                Ok(()) => {}
                Err(ExecuteError::NoTypes) => {
                    write_err(&mut self.w, &codes::wrong_arguments("mysqld_stmt_execute"));
                    return Ok(Flow::Continue);
                }
                Err(ExecuteError::Malformed(e)) => {
                    tracing::info!(connection_id = self.id, "malformed COM_STMT_EXECUTE: {e}");
                    write_err(&mut self.w, &codes::malformed());
                    return Ok(Flow::Close);
                }
            }
        }
        if limit_hit {
            write_err(&mut self.w, &codes::long_data_too_large());
            return Ok(Flow::Continue);
        }
        let status = session.status_flags();
        let deprecate_eof = self.deprecate_eof();
        let mut sink = ResultSink::new(&mut self.w, &mut self.columns, true, deprecate_eof, status);
        session.execute(id, &self.params, &mut sink)?;
        sink.finish(session.status_flags())?;
        Ok(Flow::Continue)
    }

    fn change_user(&mut self, session: &mut B::Session, rest: &[u8]) -> io::Result<Flow> {
        let Ok(req) = parse_change_user(rest, self.caps) else {
            write_err(&mut self.w, &codes::malformed());
            return Ok(Flow::Close);
        };
        // A client without PLUGIN_AUTH cannot be switched; it uses the native scheme.
        let plugin = match req.plugin.as_deref() {
            Some(p) => Some(p),
            None if self.caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH) => Some(&b""[..]),
            None => None,
        };
        if !self.authenticate(&req.user, plugin, req.auth_response)? {
            return Ok(Flow::Close);
        }
        self.user = req.user.clone();
        self.drop_statements(session);
        match session.change_user(&req.user, req.database.as_deref()) {
            Ok(()) => {
                self.send_ok(session.status_flags());
                Ok(Flow::Continue)
            }
            Err(e) => {
                write_err(&mut self.w, &e);
                Ok(Flow::Close)
            }
        }
    }
}
