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
    /// Start Borealis on its embedded default: a local cluster (page service, 2 instances and
    /// the endpoints) with data in a local directory, cluster endpoint on 127.0.0.1:3306.
    Up(UpArgs),
    /// Run a page service: the durable, versioned page store that instances share.
    Storage(StorageArgs),
    /// Run one instance of a cluster on a page service.
    Instance(InstanceArgs),
}

/// `borealis up`.
#[derive(Args, Default)]
pub struct UpArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Instances in the local cluster, 1..=16 [default: 2]
    #[arg(long)]
    pub instances: Option<u16>,
    /// One process: a single instance with its page store embedded (no cluster, no endpoints)
    #[arg(long)]
    pub embedded: bool,
    /// Port of the page service [default: port + 100, or 0 when port is 0]
    #[arg(long)]
    pub storage_port: Option<u16>,
    /// A custom endpoint, NAME=PORT:SLOT,SLOT,… (repeatable); each new connection goes to
    /// the next healthy member
    #[arg(long = "endpoint")]
    pub endpoints: Vec<String>,
}

/// `borealis storage`.
#[derive(Args)]
pub struct StorageArgs {
    /// Directory of the page store
    #[arg(long)]
    pub data: PathBuf,
    /// Address to serve instances on (port 0: the OS chooses) [default: 127.0.0.1:3406]
    #[arg(long, default_value = "127.0.0.1:3406")]
    pub listen: SocketAddr,
    /// Page size of a new volume in bytes [default: 16384]
    #[arg(long)]
    pub page_size: Option<usize>,
    /// Do not fsync the commit log (unsafe; for experiments only)
    #[arg(long)]
    pub no_fsync: bool,
    /// Nice value of the page service's threads, -20..19; below 0 needs CAP_SYS_NICE
    #[arg(long, default_value_t = -19, allow_negative_numbers = true, value_parser = parse_nice)]
    pub system_thread_priority: i32,
}

/// `borealis instance`.
#[derive(Args)]
pub struct InstanceArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The instance's slot in the cluster, 1..=16 (also its auto_increment_offset)
    #[arg(long)]
    pub slot: u16,
    /// Address of the page service (host:port)
    #[arg(long)]
    pub storage: String,
    /// Port peers push replicated changes to [default: 0, the OS chooses]
    #[arg(long, default_value_t = 0)]
    pub replication_port: u16,
}

impl Default for Command {
    fn default() -> Self {
        Command::Up(UpArgs::default())
    }
}

/// The settings of one instance, shared by `up` and `instance`.
#[derive(Args, Default, Clone)]
pub struct ServerArgs {
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
    /// Nice value of system threads (replication, page service I/O, the page service
    /// process), -20..19; below 0 needs CAP_SYS_NICE [default: -19]
    #[arg(long, allow_negative_numbers = true)]
    pub system_thread_priority: Option<i32>,
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
    // `borealis up` only:
    instances: Option<u16>,
    embedded: Option<bool>,
    storage_port: Option<u16>,
    endpoints: Option<Vec<String>>,
    log_error: Option<PathBuf>,
    metrics_port: Option<u16>,
    system_thread_priority: Option<i32>,
}

fn load_file(path: &Option<PathBuf>) -> Result<FileConfig, String> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
            toml::from_str(&text).map_err(|e| format!("invalid config {}: {e}", path.display()))
        }
        None => Ok(FileConfig::default()),
    }
}

/// What `borealis up` starts, with the configuration file applied (flags win).
pub struct UpPlan {
    pub instances: u16,
    pub embedded: bool,
    pub storage_port: Option<u16>,
    pub endpoints: Vec<String>,
}

impl UpArgs {
    pub fn plan(&self) -> Result<UpPlan, String> {
        let file = load_file(&self.server.config)?;
        let instances = self.instances.or(file.instances).unwrap_or(2);
        if !(1..=16).contains(&instances) {
            return Err(format!("--instances {instances} must be between 1 and 16"));
        }
        let mut endpoints = file.endpoints.unwrap_or_default();
        endpoints.extend(self.endpoints.iter().cloned());
        Ok(UpPlan {
            instances,
            embedded: self.embedded || file.embedded.unwrap_or(false),
            storage_port: self.storage_port.or(file.storage_port),
            endpoints,
        })
    }
}

impl ServerArgs {
    pub fn into_config(self) -> Result<InstanceConfig, String> {
        let file = load_file(&self.config)?;
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
        if let Some(n) = self.system_thread_priority.or(file.system_thread_priority) {
            cfg.system_thread_priority = check_nice(n)?;
        }
        Ok(cfg)
    }
}

impl ServerArgs {
    /// Flags an instance started by `borealis up` inherits (its data directory, port and
    /// address are set per instance; page size and fsync belong to the page service).
    pub fn instance_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                flags.push(format!("--{name}"));
                flags.push(v);
            }
        };
        push(
            "config",
            self.config.as_ref().map(|p| p.display().to_string()),
        );
        push("root-password", self.root_password.clone());
        push("buffer-pool-mb", self.buffer_pool_mb.map(|v| v.to_string()));
        push(
            "max-allowed-packet",
            self.max_allowed_packet.map(|v| v.to_string()),
        );
        push(
            "max-connections",
            self.max_connections.map(|v| v.to_string()),
        );
        push(
            "long-query-time",
            self.long_query_time.map(|v| v.to_string()),
        );
        if let Some(n) = self.system_thread_priority {
            // One token: a separate "-10" would read as a flag.
            flags.push(format!("--system-thread-priority={n}"));
        }
        flags
    }
}

/// A nice value, -20..=19.
pub fn check_nice(n: i32) -> Result<i32, String> {
    if (-20..=19).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "system thread priority {n} must be a nice value between -20 and 19"
        ))
    }
}

fn parse_nice(text: &str) -> Result<i32, String> {
    let n: i32 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a nice value"))?;
    check_nice(n)
}

/// A custom endpoint from `NAME=PORT:SLOT,SLOT,…`.
pub fn parse_endpoint(text: &str) -> Result<(String, u16, Vec<u16>), String> {
    let bad = || format!("endpoint '{text}' is not NAME=PORT:SLOT,SLOT,…");
    let (name, rest) = text.split_once('=').ok_or_else(bad)?;
    let (port, slots) = rest.split_once(':').ok_or_else(bad)?;
    let port: u16 = port.trim().parse().map_err(|_| bad())?;
    let slots = slots
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|n| (1..=16).contains(n))
        })
        .collect::<Option<Vec<u16>>>()
        .ok_or_else(bad)?;
    if name.trim().is_empty() || slots.is_empty() {
        return Err(bad());
    }
    Ok((name.trim().to_string(), port, slots))
}

#[cfg(test)]
mod tests {
    use super::{parse_endpoint, parse_nice};

    #[test]
    fn nice_values_parse_within_range() {
        assert_eq!(parse_nice("-10"), Ok(-10));
        assert_eq!(parse_nice("19"), Ok(19));
        assert!(parse_nice("-21")
            .unwrap_err()
            .contains("between -20 and 19"));
        assert!(parse_nice("high").unwrap_err().contains("not a nice value"));
    }

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            parse_endpoint("reports=3400:2,3").unwrap(),
            ("reports".to_string(), 3400, vec![2, 3])
        );
        assert!(parse_endpoint("reports=3400:").is_err());
        assert!(parse_endpoint("reports=x:1").is_err());
        assert!(parse_endpoint("reports=3400:17").is_err());
        assert!(parse_endpoint("3400:1").is_err());
    }
}
