//! `borealis`: the one binary.
//!
//! - `borealis up`: the embedded default — a local cluster (page service, instances,
//!   endpoints) as child processes of this one; `--embedded` runs one instance with its page
//!   store in this process instead.
//! - `borealis storage`: a page service process.
//! - `borealis instance`: one instance of a cluster, on a page service.

mod cli;
mod signals;
mod up;

use std::path::Path;
use std::sync::Arc;

use borealis_pageservice::priority::ThreadPriority;
use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let command = cli.command.unwrap_or_default();
    let log_error = match &command {
        cli::Command::Up(a) => a
            .server
            .clone()
            .into_config()
            .ok()
            .and_then(|c| c.log_error),
        cli::Command::Instance(a) => a
            .server
            .clone()
            .into_config()
            .ok()
            .and_then(|c| c.log_error),
        cli::Command::Storage(_) => None,
    };
    if let Err(e) = init_error_log(log_error.as_deref()) {
        eprintln!("borealis: {e}");
        std::process::exit(1);
    }
    let code = match command {
        cli::Command::Up(args) => up::up(args),
        cli::Command::Storage(args) => storage(args),
        cli::Command::Instance(args) => instance(args),
    };
    std::process::exit(code);
}

/// Sends `tracing` output (the error log) to `log_error`, appended, or to standard error.
/// `BOREALIS_LOG` selects the detail. Panics are written to the error log too.
fn init_error_log(log_error: Option<&Path>) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOREALIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match log_error {
        None => builder.with_writer(std::io::stderr).init(),
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open error log {}: {e}", path.display()))?;
            // Each event is formatted whole and written with one write(2) on an O_APPEND
            // file, so lines from different threads never interleave.
            builder.with_ansi(false).with_writer(Arc::new(file)).init();
            let default_hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                tracing::error!(panic = %info, "panic");
                default_hook(info);
            }));
        }
    }
    Ok(())
}

fn storage(args: cli::StorageArgs) -> i32 {
    let signals = signals::block_shutdown_signals();
    // Before any thread starts: every thread of the page service inherits it.
    ThreadPriority::new(args.system_thread_priority).apply();
    let mut opts = borealis_pagestore::StoreOptions {
        fsync: !args.no_fsync,
        ..Default::default()
    };
    if let Some(ps) = args.page_size {
        opts.page_size = ps;
    }
    let store = match borealis_pagestore::LocalPageStore::open(&args.data, opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("borealis storage: cannot open {}: {e}", args.data.display());
            return 1;
        }
    };
    let handle = match borealis_pageservice::serve(Arc::clone(&store), args.listen) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("borealis storage: {e}");
            return 1;
        }
    };
    println!(
        "Borealis storage ready: at {} data {}",
        handle.local_addr(),
        args.data.display()
    );
    signals::wait_for_shutdown(&signals);
    handle.shutdown();
    store.close();
    0
}

fn instance(args: cli::InstanceArgs) -> i32 {
    if !(1..=16).contains(&args.slot) {
        eprintln!(
            "borealis instance: --slot {} must be between 1 and 16",
            args.slot
        );
        return 2;
    }
    let bind = args
        .server
        .bind
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let mut cfg = match args.server.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("borealis instance: {e}");
            return 2;
        }
    };
    cfg.slot = args.slot;
    let signals = signals::block_shutdown_signals();
    let opts = borealis_cluster::NodeOptions {
        storage: args.storage,
        replication_listen: std::net::SocketAddr::new(bind, args.replication_port),
    };
    let node = match borealis_cluster::InstanceNode::start(cfg, opts) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("borealis instance: cannot start slot {}: {e}", args.slot);
            return 1;
        }
    };
    let metrics = node
        .metrics_addr()
        .map(|m| format!(" metrics {m}"))
        .unwrap_or_default();
    println!(
        "Borealis instance ready: slot {} sql {} replication {}{metrics}",
        node.slot(),
        node.sql_addr(),
        node.replication_addr()
    );
    signals::wait_for_shutdown(&signals);
    node.shutdown();
    0
}
