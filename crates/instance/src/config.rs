//! Instance settings. Every setting has a flag in the `borealis` binary and a key in the
//! configuration file (see docs/SETTINGS.md); defaults work on a laptop.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Settings of one Borealis instance (compute) together with its embedded page store.
#[derive(Clone, Debug)]
pub struct InstanceConfig {
    /// Directory holding the page store (commit log and pages).
    pub data_dir: PathBuf,
    /// Address of the instance endpoint (MySQL protocol).
    pub listen: SocketAddr,
    /// Password of `root`; empty = no password (as a fresh MySQL install on loopback).
    pub root_password: String,
    /// Bytes of page images the shared buffer pool may hold.
    pub buffer_pool_bytes: usize,
    /// Page size of a new cluster volume; fixed at creation.
    pub page_size: usize,
    /// Largest packet (statement or row) accepted or sent.
    pub max_allowed_packet: usize,
    /// Maximum concurrent client connections.
    pub max_connections: usize,
    /// Slot of this instance in its cluster (1..=16); also `auto_increment_offset`.
    pub slot: u16,
    /// `auto_increment_increment`; a cluster uses 16 so ids never collide across slots.
    pub auto_increment_increment: u64,
    /// Start in read-only mode (`read_only = ON`).
    pub read_only: bool,
    /// fsync the commit log before acknowledging a commit.
    pub fsync: bool,
    /// Translation cache entries per instance.
    pub translation_cache_entries: usize,
    /// Seconds after which a statement is written to the slow-query log.
    pub long_query_time: f64,
    /// General query log file (every statement), off when `None`.
    pub general_log: Option<PathBuf>,
    /// Slow query log file, off when `None`.
    pub slow_query_log: Option<PathBuf>,
    /// Part of a multi-instance cluster: `auto_increment_increment` is 16 and
    /// `auto_increment_offset` the slot, both read-only, so ids never collide across writers.
    pub cluster: bool,
    /// Error log file (`log_error`); `None` = standard error. The binary points its `tracing`
    /// output there; the instance only shows it as `@@log_error`.
    pub log_error: Option<PathBuf>,
    /// Address of the Prometheus endpoint (`GET /metrics`), off when `None`; port 0 lets the
    /// OS choose (see [`crate::InstanceHandle::metrics_addr`]).
    pub metrics_listen: Option<SocketAddr>,
    /// Nice value of system threads (-20..=19; below 0 needs `CAP_SYS_NICE`): a cluster
    /// instance's replication and page service I/O threads, and the page service process.
    /// They outrank the sessions, so a busy CPU delays replication little.
    pub system_thread_priority: i32,
}

impl InstanceConfig {
    /// The embedded default: data in `./borealis-data`, listening on 127.0.0.1:3306.
    pub fn embedded_default() -> Self {
        InstanceConfig {
            data_dir: PathBuf::from("borealis-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 3306)),
            root_password: String::new(),
            buffer_pool_bytes: 256 << 20,
            page_size: 16384,
            max_allowed_packet: 64 << 20,
            max_connections: 512,
            slot: 1,
            auto_increment_increment: 1,
            read_only: false,
            fsync: true,
            translation_cache_entries: 4096,
            long_query_time: 10.0,
            general_log: None,
            slow_query_log: None,
            cluster: false,
            log_error: None,
            metrics_listen: None,
            system_thread_priority: -19,
        }
    }
}
