//! Starting an instance: open the page store and the engine, bootstrap a new volume's catalog,
//! and serve the MySQL protocol. `Shared` is everything the sessions of one instance share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use borealis_engine::{Engine, EngineConfig, EngineSession};
use borealis_pagestore::{LocalPageStore, PageNo, PageStore, StoreOptions};
use borealis_protocol::{Backend, ConnInfo, MysqlError, Server, ServerConfig, ServerHandle};
use borealis_sql::Translator;
use parking_lot::Mutex;

use crate::auth::Users;
use crate::catalog::CatalogCache;
use crate::config::InstanceConfig;
use crate::conflicts::{ConflictLog, ConflictRecord, PageObject, Totals};
use crate::processlist::ProcessList;
use crate::querylog::QueryLog;
use crate::session::Session;
use crate::status::Status;
use crate::variables::{GlobalVariables, VarValue};

/// Why an instance could not start.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("page store: {0}")]
    Store(String),
    #[error("engine: {0}")]
    Engine(String),
    #[error("bootstrap of a new volume failed: {0}")]
    Bootstrap(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// What all sessions of one instance share.
pub struct Shared {
    pub cfg: InstanceConfig,
    pub engine: Arc<Engine>,
    pub translator: Translator,
    pub globals: GlobalVariables,
    pub status: Status,
    pub processes: ProcessList,
    pub catalog: CatalogCache,
    /// Bumped after every DDL this instance commits; keys the translation and column caches.
    pub schema_epoch: AtomicU64,
    pub read_only: AtomicBool,
    pub general_log: QueryLog,
    pub slow_log: QueryLog,
    pub server_version: String,
    /// Recent lost commits, for SHOW ENGINE BOREALIS STATUS and BOREALIS_CONFLICTS.
    pub conflicts: ConflictLog,
    /// A session of its own for diagnostics reads (page → table lookups), opened on first use,
    /// so a lookup never runs inside, or adds to the read set of, a client's transaction.
    diagnostics: Mutex<Option<EngineSession>>,
}

impl Shared {
    pub fn epoch(&self) -> u64 {
        self.schema_epoch.load(Ordering::Acquire)
    }

    pub fn bump_epoch(&self) {
        self.schema_epoch.fetch_add(1, Ordering::AcqRel);
        self.catalog.clear();
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only.load(Ordering::Relaxed)
    }

    /// The recent conflicts (oldest first) with their pages resolved, and the totals.
    pub fn read_conflicts(&self) -> (Vec<ConflictRecord>, Totals) {
        self.conflicts.read(|pages| self.resolve_pages(pages))
    }

    /// Page → table/index lookup on the diagnostics session, at the latest applied snapshot.
    fn resolve_pages(&self, pages: &[PageNo]) -> HashMap<PageNo, PageObject> {
        let mut guard = self.diagnostics.lock();
        if guard.is_none() {
            match self.engine.open_session() {
                Ok(session) => *guard = Some(session),
                Err(e) => {
                    let why = PageObject::NotResolved(format!("cannot open a session: {e}"));
                    return pages.iter().map(|&p| (p, why.clone())).collect();
                }
            }
        }
        match guard.as_ref() {
            Some(session) => crate::pagemap::resolve(session.conn(), pages),
            None => HashMap::new(),
        }
    }
}

/// A running instance; dropping it does not stop it, `shutdown` does.
pub struct InstanceHandle {
    server: ServerHandle,
    shared: Arc<Shared>,
}

impl InstanceHandle {
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    /// Stops accepting connections; acknowledged commits are already durable.
    pub fn shutdown(self) {
        self.server.shutdown();
        tracing::info!(lsn = self.shared.engine.applied_lsn(), "instance stopped");
    }
}

struct InstanceBackend {
    shared: Arc<Shared>,
}

impl Backend for InstanceBackend {
    type Session = Session;

    fn open_session(&self, info: &ConnInfo) -> Result<Session, MysqlError> {
        Session::open(self.shared.clone(), info)
    }
}

pub const VERSION: &str = concat!("8.0.36-Borealis-", env!("CARGO_PKG_VERSION"));

/// Opens (or creates) the volume in `cfg.data_dir` and starts serving on `cfg.listen`.
pub fn start(cfg: InstanceConfig) -> Result<InstanceHandle, InstanceError> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| InstanceError::Store(e.to_string()))?;
    let store_opts = StoreOptions {
        page_size: cfg.page_size,
        fsync: cfg.fsync,
        ..StoreOptions::default()
    };
    let store = LocalPageStore::open(&cfg.data_dir.join("pagestore"), store_opts)
        .map_err(|e| InstanceError::Store(e.to_string()))?;
    let store: Arc<dyn PageStore> = store;
    let engine_cfg = EngineConfig {
        page_size: cfg.page_size,
        buffer_pool_bytes: cfg.buffer_pool_bytes,
        origin: cfg.slot,
        ..EngineConfig::default()
    };
    let engine =
        Engine::new(store, engine_cfg).map_err(|e| InstanceError::Engine(e.to_string()))?;
    crate::catalog::bootstrap(&engine).map_err(|e| InstanceError::Bootstrap(e.to_string()))?;

    let shared = Arc::new(Shared {
        globals: GlobalVariables::new(&dynamic_globals(&cfg)),
        translator: Translator::new(cfg.translation_cache_entries),
        status: Status::default(),
        processes: ProcessList::default(),
        catalog: CatalogCache::default(),
        schema_epoch: AtomicU64::new(1),
        read_only: AtomicBool::new(cfg.read_only),
        general_log: QueryLog::new(
            cfg.general_log
                .clone()
                .unwrap_or_else(|| cfg.data_dir.join("general.log")),
            cfg.general_log.is_some(),
        ),
        slow_log: QueryLog::new(
            cfg.slow_query_log
                .clone()
                .unwrap_or_else(|| cfg.data_dir.join("slow.log")),
            cfg.slow_query_log.is_some(),
        ),
        server_version: VERSION.to_string(),
        conflicts: ConflictLog::default(),
        diagnostics: Mutex::new(None),
        engine,
        cfg,
    });
    let server_cfg = ServerConfig {
        server_version: VERSION.to_string(),
        max_allowed_packet: shared.cfg.max_allowed_packet,
        max_connections: shared.cfg.max_connections,
        ..ServerConfig::default()
    };
    let users = Arc::new(Users::new(shared.cfg.root_password.clone()));
    let backend = Arc::new(InstanceBackend {
        shared: shared.clone(),
    });
    let listen = shared.cfg.listen;
    let server = Server::bind(listen, server_cfg, users, backend).map_err(|source| {
        InstanceError::Listen {
            addr: listen,
            source,
        }
    })?;
    // With port 0 the OS chose the port: show the real one in @@port.
    if let Some(def) = crate::variables::find("port") {
        shared
            .globals
            .set(def, VarValue::Int(i64::from(server.local_addr().port())));
    }
    tracing::info!(addr = %server.local_addr(), lsn = shared.engine.applied_lsn(), "instance ready");
    Ok(InstanceHandle { server, shared })
}

fn dynamic_globals(cfg: &InstanceConfig) -> Vec<(&'static str, VarValue)> {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "localhost".into());
    let datadir = cfg
        .data_dir
        .canonicalize()
        .unwrap_or_else(|_| cfg.data_dir.clone());
    vec![
        (
            "borealis_buffer_pool_size",
            VarValue::Int(cfg.buffer_pool_bytes as i64),
        ),
        (
            "innodb_buffer_pool_size",
            VarValue::Int(cfg.buffer_pool_bytes as i64),
        ),
        ("borealis_page_size", VarValue::Int(cfg.page_size as i64)),
        ("borealis_slot", VarValue::Int(i64::from(cfg.slot))),
        ("datadir", VarValue::Str(format!("{}/", datadir.display()))),
        (
            "general_log_file",
            VarValue::Str(
                cfg.general_log
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| format!("{}/general.log", datadir.display())),
            ),
        ),
        (
            "slow_query_log_file",
            VarValue::Str(
                cfg.slow_query_log
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| format!("{}/slow.log", datadir.display())),
            ),
        ),
        (
            "slow_query_log",
            VarValue::Int(i64::from(cfg.slow_query_log.is_some())),
        ),
        ("hostname", VarValue::Str(host.trim().to_string())),
        ("long_query_time", VarValue::Float(cfg.long_query_time)),
        (
            "max_allowed_packet",
            VarValue::Int(cfg.max_allowed_packet as i64),
        ),
        ("max_connections", VarValue::Int(cfg.max_connections as i64)),
        ("port", VarValue::Int(i64::from(cfg.listen.port()))),
        ("read_only", VarValue::Int(i64::from(cfg.read_only))),
        ("server_id", VarValue::Int(i64::from(cfg.slot))),
        ("version", VarValue::Str(VERSION.to_string())),
        (
            "auto_increment_increment",
            VarValue::Int(cfg.auto_increment_increment as i64),
        ),
        ("auto_increment_offset", VarValue::Int(i64::from(cfg.slot))),
    ]
}
