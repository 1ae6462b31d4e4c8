//! A toy backend for integration tests: results are computed from the query text.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use borealis_protocol::{
    Authenticator, Backend, ColumnDef, ColumnFlags, ColumnType, ConnInfo, MysqlError, OkInfo,
    ResultSink, Server, ServerConfig, ServerHandle, Session, StatusFlags, Value,
};

pub struct Users(pub HashMap<String, String>);

impl Authenticator for Users {
    fn password(&self, user: &str) -> Option<String> {
        self.0.get(user).cloned()
    }
}

#[derive(Default)]
pub struct Toy {
    pub closed_sessions: AtomicUsize,
    pub resets: AtomicUsize,
}

pub struct ToySession {
    backend: Arc<Toy>,
    db: Option<String>,
    user: String,
    in_trans: bool,
    statements: HashMap<u32, String>,
    multi: bool,
}

/// The backend is shared with the test through this wrapper.
pub struct ToyBackend(pub Arc<Toy>);

impl Backend for ToyBackend {
    type Session = ToySession;

    fn open_session(&self, info: &ConnInfo) -> Result<ToySession, MysqlError> {
        if info.database.as_deref() == Some("missing") {
            return Err(MysqlError::new(1049, "42000", "Unknown database 'missing'"));
        }
        Ok(ToySession {
            backend: self.0.clone(),
            db: info.database.clone(),
            user: info.user.clone(),
            in_trans: false,
            statements: HashMap::new(),
            multi: info.multi_statements,
        })
    }
}

pub fn rows_columns() -> Vec<ColumnDef> {
    let mut id = ColumnDef::new("id", ColumnType::MYSQL_TYPE_LONGLONG);
    id.flags |= ColumnFlags::NOT_NULL_FLAG;
    let mut d = ColumnDef::new("d", ColumnType::MYSQL_TYPE_DATETIME);
    d.decimals = 0;
    vec![
        id,
        ColumnDef::new("name", ColumnType::MYSQL_TYPE_VAR_STRING),
        ColumnDef::new("x", ColumnType::MYSQL_TYPE_DOUBLE),
        d,
    ]
}

fn column_for(v: &Value, i: usize) -> ColumnDef {
    let name = format!("p{i}");
    let mut c = match v {
        Value::NULL => ColumnDef::new(&name, ColumnType::MYSQL_TYPE_NULL),
        Value::Bytes(_) => ColumnDef::new(&name, ColumnType::MYSQL_TYPE_BLOB),
        Value::Int(_) => ColumnDef::new(&name, ColumnType::MYSQL_TYPE_LONGLONG),
        Value::UInt(_) => {
            let mut c = ColumnDef::new(&name, ColumnType::MYSQL_TYPE_LONGLONG);
            c.flags |= ColumnFlags::UNSIGNED_FLAG;
            c
        }
        Value::Float(_) => ColumnDef::new(&name, ColumnType::MYSQL_TYPE_FLOAT),
        Value::Double(_) => ColumnDef::new(&name, ColumnType::MYSQL_TYPE_DOUBLE),
        Value::Date(..) => ColumnDef::new(&name, ColumnType::MYSQL_TYPE_DATETIME),
        Value::Time(..) => ColumnDef::new(&name, ColumnType::MYSQL_TYPE_TIME),
    };
    c.decimals = 6;
    c
}

impl ToySession {
    fn one(&mut self, stmt: &str, more: bool, out: &mut ResultSink<'_>) -> io::Result<bool> {
        let stmt = stmt.trim();
        let (word, arg) = stmt.split_once(' ').unwrap_or((stmt, ""));
        match word.to_ascii_lowercase().as_str() {
            "rows" => {
                let n: i64 = arg.trim().parse().unwrap_or(0);
                out.begin_rows(&rows_columns())?;
                for i in 0..n {
                    let name = if i % 3 == 2 {
                        Value::NULL
                    } else {
                        Value::Bytes(format!("n{i}").into_bytes())
                    };
                    out.row(&[
                        Value::Int(i),
                        name,
                        Value::Int(i * 2), // converted to DOUBLE in binary, text "0".."2n"
                        Value::Date(2024, 1, 2, 3, 4, (i % 60) as u8, 0),
                    ])?;
                }
                out.end_rows(0, more)?;
            }
            "big" => {
                let n: usize = arg.trim().parse().unwrap_or(0);
                let blob: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
                out.begin_rows(&[ColumnDef::new("b", ColumnType::MYSQL_TYPE_LONG_BLOB)])?;
                out.row(&[Value::Bytes(blob)])?;
                out.end_rows(0, more)?;
            }
            "ok" => {
                let n: u64 = arg.trim().parse().unwrap_or(0);
                out.ok(
                    OkInfo {
                        affected_rows: n,
                        last_insert_id: n * 10,
                        warnings: 1,
                        info: String::new(),
                    },
                    more,
                )?;
            }
            "begin" => {
                self.in_trans = true;
                out.ok(OkInfo::default(), more)?;
            }
            "commit" => {
                self.in_trans = false;
                out.ok(OkInfo::default(), more)?;
            }
            "db" | "user" => {
                let v = if word == "db" {
                    self.db.clone()
                } else {
                    Some(self.user.clone())
                };
                out.begin_rows(&[ColumnDef::new(word, ColumnType::MYSQL_TYPE_VAR_STRING)])?;
                out.row(&[v.map_or(Value::NULL, |s| Value::Bytes(s.into_bytes()))])?;
                out.end_rows(0, more)?;
            }
            "panic" => panic!("toy backend asked to panic"),
            "nothing" => {}
            _ => {
                out.error(&MysqlError::new(
                    1064,
                    "42000",
                    format!("toy: unknown statement '{stmt}'"),
                ))?;
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Session for ToySession {
    fn query(&mut self, sql: &str, out: &mut ResultSink<'_>) -> io::Result<()> {
        let parts: Vec<&str> = if self.multi {
            sql.split(';').filter(|s| !s.trim().is_empty()).collect()
        } else {
            vec![sql]
        };
        for (i, part) in parts.iter().enumerate() {
            if !self.one(part, i + 1 < parts.len(), out)? {
                break;
            }
        }
        Ok(())
    }

    fn prepare(&mut self, id: u32, sql: &str) -> Result<(u16, Vec<ColumnDef>), MysqlError> {
        if sql.starts_with("bad") {
            return Err(MysqlError::new(1064, "42000", "toy: cannot prepare"));
        }
        let n = sql.matches('?').count() as u16;
        self.statements.insert(id, sql.to_string());
        let cols = if sql.starts_with("rows") {
            rows_columns()
        } else {
            Vec::new()
        };
        Ok((n, cols))
    }

    fn execute(&mut self, id: u32, params: &[Value], out: &mut ResultSink<'_>) -> io::Result<()> {
        let Some(sql) = self.statements.get(&id).cloned() else {
            return out.error(&MysqlError::new(1243, "HY000", "toy: unknown statement"));
        };
        if sql.starts_with("echo") {
            let cols: Vec<ColumnDef> = params
                .iter()
                .enumerate()
                .map(|(i, v)| column_for(v, i))
                .collect();
            out.begin_rows(&cols)?;
            out.row(params)?;
            return out.end_rows(0, false);
        }
        if sql.starts_with("len") {
            let lens: Vec<Value> = params
                .iter()
                .map(|v| match v {
                    Value::Bytes(b) => Value::Int(b.len() as i64),
                    _ => Value::NULL,
                })
                .collect();
            let cols: Vec<ColumnDef> = (0..params.len())
                .map(|i| ColumnDef::new(&format!("l{i}"), ColumnType::MYSQL_TYPE_LONGLONG))
                .collect();
            out.begin_rows(&cols)?;
            out.row(&lens)?;
            return out.end_rows(0, false);
        }
        let sql = sql.replace(
            '?',
            &params.first().map_or(String::new(), |v| match v {
                Value::Int(i) => i.to_string(),
                Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                _ => "0".to_string(),
            }),
        );
        self.one(&sql, false, out).map(|_| ())
    }

    fn close_statement(&mut self, id: u32) {
        self.statements.remove(&id);
    }

    fn init_db(&mut self, database: &str) -> Result<(), MysqlError> {
        if database == "missing" {
            return Err(MysqlError::new(
                1049,
                "42000",
                format!("Unknown database '{database}'"),
            ));
        }
        self.db = Some(database.to_string());
        Ok(())
    }

    fn field_list(&mut self, _table: &str, _wildcard: &str) -> Result<Vec<ColumnDef>, MysqlError> {
        Ok(rows_columns())
    }

    fn statistics(&mut self) -> String {
        "Uptime: 1  Threads: 1".to_string()
    }

    fn reset(&mut self) -> Result<(), MysqlError> {
        self.backend.resets.fetch_add(1, Ordering::SeqCst);
        self.in_trans = false;
        Ok(())
    }

    fn change_user(&mut self, user: &str, database: Option<&str>) -> Result<(), MysqlError> {
        self.user = user.to_string();
        self.db = database.map(str::to_string);
        Ok(())
    }

    fn kill(&mut self, connection_id: u32) -> Result<(), MysqlError> {
        if connection_id == 999 {
            return Err(MysqlError::new(1094, "HY000", "Unknown thread id: 999"));
        }
        Ok(())
    }

    fn status_flags(&self) -> StatusFlags {
        if self.in_trans {
            StatusFlags::SERVER_STATUS_IN_TRANS
        } else {
            StatusFlags::SERVER_STATUS_AUTOCOMMIT
        }
    }

    fn set_multi_statements(&mut self, on: bool) {
        self.multi = on;
    }

    fn close(&mut self) {
        self.backend.closed_sessions.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn start(config: ServerConfig) -> (ServerHandle, Arc<Toy>) {
    start_at("127.0.0.1:0", config)
}

pub fn start_at(addr: &str, config: ServerConfig) -> (ServerHandle, Arc<Toy>) {
    let users = Users(HashMap::from([
        ("root".to_string(), String::new()),
        ("alice".to_string(), "secret".to_string()),
    ]));
    let toy = Arc::new(Toy::default());
    let addr: SocketAddr = addr.parse().unwrap();
    let handle = Server::bind(
        addr,
        config,
        Arc::new(users),
        Arc::new(ToyBackend(toy.clone())),
    )
    .unwrap();
    (handle, toy)
}
