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
use crate::metrics::MetricsServer;
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
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
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
    /// Per-table AUTO_INCREMENT counters, shared by the sessions (keyed by the schema epoch).
    pub auto_increment: Arc<borealis_functions::AutoIncrementCounters>,
    /// Bumped after every DDL this instance commits; keys the translation and column caches.
    pub schema_epoch: AtomicU64,
    pub read_only: Arc<AtomicBool>,
    /// Serialises the retries of single-statement transactions that lost on page 1 (file
    /// growth), so they queue instead of colliding again (see `session::exec`).
    pub growth_retry: parking_lot::Mutex<()>,
    pub general_log: QueryLog,
    pub slow_log: QueryLog,
    pub server_version: String,
    /// Cluster-wide status (replication) when the instance is part of a cluster.
    pub cluster: std::sync::OnceLock<Box<dyn ClusterStatus>>,
    /// The engine's schema generation last seen, to notice DDL applied from other instances.
    seen_schema_generation: AtomicU64,
    /// Recent lost commits, for SHOW ENGINE BOREALIS STATUS and BOREALIS_CONFLICTS.
    pub conflicts: ConflictLog,
    /// A session of its own for diagnostics reads (page → table lookups), opened on first use,
    /// so a lookup never runs inside, or adds to the read set of, a client's transaction.
    diagnostics: Mutex<Option<EngineSession>>,
}

/// Status variables a cluster adds to `SHOW GLOBAL STATUS` and `/metrics` (replication).
pub trait ClusterStatus: Send + Sync {
    fn status_vars(&self) -> Vec<crate::status::StatusVar>;
}

impl Shared {
    /// The schema epoch keying translation and metadata caches. DDL applied from another
    /// instance (seen as a new engine schema generation) bumps it too.
    pub fn epoch(&self) -> u64 {
        let generation = self.engine.schema_generation();
        // A plain load on the common path: every statement asks, and a write to this shared
        // atomic would bounce its cache line between the sessions' cores.
        if self.seen_schema_generation.load(Ordering::Acquire) != generation
            && self
                .seen_schema_generation
                .swap(generation, Ordering::AcqRel)
                != generation
        {
            self.bump_epoch();
        }
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
    metrics: Option<MetricsServer>,
    shared: Arc<Shared>,
}

impl InstanceHandle {
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    /// The engine (replication applies changes to it and hooks its commits).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.shared.engine
    }

    /// Install the cluster's status rows (once).
    pub fn set_cluster_status(&self, status: Box<dyn ClusterStatus>) {
        let _ = self.shared.cluster.set(status);
    }

    pub fn is_read_only(&self) -> bool {
        self.shared.is_read_only()
    }

    /// The live `read_only` flag (the membership heartbeat reports it to the endpoints).
    pub fn read_only_flag(&self) -> Arc<AtomicBool> {
        self.shared.read_only.clone()
    }

    /// The bound address of the Prometheus endpoint, when `metrics_listen` was set.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::local_addr)
    }

    /// Records replication lag observations (see `Status::record_replication_lag`).
    pub fn lag_recorder(&self) -> Box<dyn Fn(u64) + Send + Sync> {
        let shared = self.shared.clone();
        Box::new(move |micros| shared.status.record_replication_lag(micros))
    }

    /// Stops accepting connections; acknowledged commits are already durable.
    pub fn shutdown(self) {
        if let Some(m) = self.metrics {
            m.shutdown();
        }
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

/// How long a commit in a cluster waits for a peer's earlier commit to be pushed before
/// fetching it from the page store (pushes normally land well within a millisecond).
const CLUSTER_APPLY_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Opens (or creates) the volume in `cfg.data_dir` with an embedded page store and starts
/// serving on `cfg.listen`.
pub fn start(cfg: InstanceConfig) -> Result<InstanceHandle, InstanceError> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| InstanceError::Store(e.to_string()))?;
    let store_opts = StoreOptions {
        page_size: cfg.page_size,
        fsync: cfg.fsync,
        // The sessions validate their own commits here: the flusher does not wait for them.
        gather_wait: std::time::Duration::ZERO,
        ..StoreOptions::default()
    };
    let store = LocalPageStore::open(&cfg.data_dir.join("pagestore"), store_opts)
        .map_err(|e| InstanceError::Store(e.to_string()))?;
    start_with_store(cfg, store)
}

/// Starts an instance on `store` (embedded or a page service reached over the network).
pub fn start_with_store(
    mut cfg: InstanceConfig,
    store: Arc<dyn PageStore>,
) -> Result<InstanceHandle, InstanceError> {
    if cfg.page_size != store.page_size() {
        // The volume's page size was fixed when it was created; follow it.
        cfg.page_size = store.page_size();
    }
    if cfg.cluster {
        cfg.auto_increment_increment = 16;
    }
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| InstanceError::Store(e.to_string()))?;
    let engine_cfg = EngineConfig {
        page_size: cfg.page_size,
        buffer_pool_bytes: cfg.buffer_pool_bytes,
        origin: cfg.slot,
        apply_wait: if cfg.cluster {
            CLUSTER_APPLY_WAIT
        } else {
            EngineConfig::default().apply_wait
        },
        ..EngineConfig::default()
    };
    let engine =
        Engine::new(store, engine_cfg).map_err(|e| InstanceError::Engine(e.to_string()))?;
    crate::catalog::bootstrap(&engine).map_err(|e| InstanceError::Bootstrap(e.to_string()))?;

    let general_log = QueryLog::new(general_log_path(&cfg), cfg.general_log.is_some());
    let slow_log = QueryLog::new(slow_log_path(&cfg), cfg.slow_query_log.is_some());
    let mut dynamic = dynamic_globals(&cfg);
    // A log file that cannot be opened leaves its log off; the variables say so.
    dynamic.push((
        "general_log",
        VarValue::Int(i64::from(general_log.is_enabled())),
    ));
    dynamic.push((
        "slow_query_log",
        VarValue::Int(i64::from(slow_log.is_enabled())),
    ));
    let shared = Arc::new(Shared {
        globals: GlobalVariables::new(&dynamic),
        translator: Translator::new(cfg.translation_cache_entries),
        status: Status::default(),
        processes: ProcessList::default(),
        catalog: CatalogCache::default(),
        auto_increment: borealis_functions::AutoIncrementCounters::new(),
        schema_epoch: AtomicU64::new(1),
        read_only: Arc::new(AtomicBool::new(cfg.read_only)),
        growth_retry: parking_lot::Mutex::new(()),
        general_log,
        slow_log,
        server_version: VERSION.to_string(),
        cluster: std::sync::OnceLock::new(),
        seen_schema_generation: AtomicU64::new(engine.schema_generation()),
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
    let metrics = match shared.cfg.metrics_listen {
        Some(addr) => match MetricsServer::start(addr, shared.clone()) {
            Ok(m) => Some(m),
            Err(source) => {
                server.shutdown();
                return Err(InstanceError::Metrics { addr, source });
            }
        },
        None => None,
    };
    tracing::info!(
        addr = %server.local_addr(),
        metrics = ?metrics.as_ref().map(MetricsServer::local_addr),
        lsn = shared.engine.applied_lsn(),
        "instance ready"
    );
    Ok(InstanceHandle {
        server,
        metrics,
        shared,
    })
}

fn general_log_path(cfg: &InstanceConfig) -> std::path::PathBuf {
    cfg.general_log
        .clone()
        .unwrap_or_else(|| cfg.data_dir.join("general.log"))
}

fn slow_log_path(cfg: &InstanceConfig) -> std::path::PathBuf {
    cfg.slow_query_log
        .clone()
        .unwrap_or_else(|| cfg.data_dir.join("slow.log"))
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
            "log_error",
            VarValue::Str(
                cfg.log_error
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "stderr".into()),
            ),
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
