//! `borealis`: the one binary. `borealis up` starts Borealis on its embedded default.

mod cli;
mod signals;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BOREALIS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let code = match cli.command.unwrap_or_default() {
        cli::Command::Up(args) => up(args),
    };
    std::process::exit(code);
}

fn up(args: cli::UpArgs) -> i32 {
    let cfg = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("borealis: {e}");
            return 2;
        }
    };
    // Block SIGINT/SIGTERM before any thread starts so only `wait_for_shutdown` receives them.
    let signals = signals::block_shutdown_signals();
    let data_dir = cfg.data_dir.display().to_string();
    let handle = match borealis_instance::start(cfg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("borealis: cannot start: {e}");
            return 1;
        }
    };
    let addr = handle.local_addr();
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
