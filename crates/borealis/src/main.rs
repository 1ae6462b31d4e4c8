//! `borealis`: the one binary. `borealis up` starts Borealis on its embedded default.

mod cli;
mod signals;

use std::path::Path;
use std::sync::Arc;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match cli.command.unwrap_or_default() {
        cli::Command::Up(args) => up(args),
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

fn up(args: cli::UpArgs) -> i32 {
    let cfg = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("borealis: {e}");
            return 2;
        }
    };
    if let Err(e) = init_error_log(cfg.log_error.as_deref()) {
        eprintln!("borealis: {e}");
        return 1;
    }
    // Block SIGINT/SIGTERM before any thread starts so only `wait_for_shutdown` receives them.
    let signals = signals::block_shutdown_signals();
    let data_dir = cfg.data_dir.display().to_string();
    let handle = match borealis_instance::start(cfg) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("borealis: cannot start: {e}");
            return 1;
        }
    };
    let addr = handle.local_addr();
    // Printed before the ready line, so whoever waits for "ready" already has this one.
    if let Some(m) = handle.metrics_addr() {
        println!("Borealis metrics: http://{m}/metrics");
    }
    println!("Borealis ready: instance endpoint {addr} (slot 1), data in {data_dir}");
    println!(
        "  connect with: mysql -h{} -P{} -uroot",
        addr.ip(),
        addr.port()
    );
    signals::wait_for_shutdown(&signals);
    handle.shutdown();
    0
}
