//! Command line: every setting is a flag and a key of the optional TOML configuration file
//! (flags win). docs/SETTINGS.md documents each one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use borealis_instance::InstanceConfig;
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

#[derive(Parser)]
#[command(
    name = "borealis",
    version,
    about = "Borealis: a MySQL-compatible multi-master database"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start Borealis on its embedded default (data in a local directory, MySQL on 127.0.0.1:3306).
    Up(UpArgs),
}

impl Default for Command {
    fn default() -> Self {
        Command::Up(UpArgs::default())
    }
}

#[derive(Args, Default)]
pub struct UpArgs {
    /// Configuration file (TOML); keys are the long flag names with '_' for '-'.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory [default: ./borealis-data]
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// MySQL port [default: 3306]
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on [default: 127.0.0.1]
    #[arg(long)]
    pub bind: Option<IpAddr>,
    /// Password for root [default: empty]
    #[arg(long)]
    pub root_password: Option<String>,
    /// Buffer pool size in MiB [default: 256]
    #[arg(long)]
    pub buffer_pool_mb: Option<usize>,
    /// Page size of a new volume in bytes [default: 16384]
    #[arg(long)]
    pub page_size: Option<usize>,
    /// max_allowed_packet in bytes [default: 67108864]
    #[arg(long)]
    pub max_allowed_packet: Option<usize>,
    /// max_connections [default: 512]
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Start with read_only = ON
    #[arg(long)]
    pub read_only: bool,
    /// Do not fsync the commit log (unsafe; for experiments only)
    #[arg(long)]
    pub no_fsync: bool,
    /// long_query_time in seconds [default: 10]
    #[arg(long)]
    pub long_query_time: Option<f64>,
    /// General query log file (enables the general log)
    #[arg(long)]
    pub general_log: Option<PathBuf>,
    /// Slow query log file (enables the slow query log)
    #[arg(long)]
    pub slow_query_log: Option<PathBuf>,
    /// Error log file (log_error): warnings, errors and startup lines are appended there
    /// instead of standard error
    #[arg(long)]
    pub log_error: Option<PathBuf>,
    /// Serve Prometheus metrics on http://BIND:PORT/metrics (0 = a free port) [default: off]
    #[arg(long)]
    pub metrics_port: Option<u16>,
}

/// The configuration file: the same settings as the flags.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    port: Option<u16>,
    bind: Option<IpAddr>,
    root_password: Option<String>,
    buffer_pool_mb: Option<usize>,
    page_size: Option<usize>,
    max_allowed_packet: Option<usize>,
    max_connections: Option<usize>,
    read_only: Option<bool>,
    fsync: Option<bool>,
    long_query_time: Option<f64>,
    general_log: Option<PathBuf>,
    slow_query_log: Option<PathBuf>,
    log_error: Option<PathBuf>,
    metrics_port: Option<u16>,
}

impl UpArgs {
    pub fn into_config(self) -> Result<InstanceConfig, String> {
        let file: FileConfig = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
                toml::from_str(&text)
                    .map_err(|e| format!("invalid config {}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let mut cfg = InstanceConfig::embedded_default();
        if let Some(d) = self.data.or(file.data) {
            cfg.data_dir = d;
        }
        let ip = self
            .bind
            .or(file.bind)
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let port = self.port.or(file.port).unwrap_or(3306);
        cfg.listen = SocketAddr::new(ip, port);
        if let Some(p) = self.root_password.or(file.root_password) {
            cfg.root_password = p;
        }
        if let Some(mb) = self.buffer_pool_mb.or(file.buffer_pool_mb) {
            cfg.buffer_pool_bytes = mb.max(1) << 20;
        }
        if let Some(ps) = self.page_size.or(file.page_size) {
            if !(512..=65536).contains(&ps) || !ps.is_power_of_two() {
                return Err(format!(
                    "page size {ps} must be a power of two between 512 and 65536"
                ));
            }
            cfg.page_size = ps;
        }
        if let Some(m) = self.max_allowed_packet.or(file.max_allowed_packet) {
            cfg.max_allowed_packet = m.clamp(1024, 1 << 30);
        }
        if let Some(m) = self.max_connections.or(file.max_connections) {
            cfg.max_connections = m.max(1);
        }
        cfg.read_only = self.read_only || file.read_only.unwrap_or(false);
        cfg.fsync = !self.no_fsync && file.fsync.unwrap_or(true);
        if let Some(t) = self.long_query_time.or(file.long_query_time) {
            cfg.long_query_time = t.max(0.0);
        }
        cfg.general_log = self.general_log.or(file.general_log);
        cfg.slow_query_log = self.slow_query_log.or(file.slow_query_log);
        cfg.log_error = self.log_error.or(file.log_error);
        cfg.metrics_listen = self
            .metrics_port
            .or(file.metrics_port)
            .map(|p| SocketAddr::new(ip, p));
        Ok(cfg)
    }
}
