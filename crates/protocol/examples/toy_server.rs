//! Runs the integration tests' toy backend on a port, for trying real clients by hand:
//! `cargo run -p borealis-protocol --example toy_server -- 127.0.0.1:3399 [native]`
//! Users: root (no password), alice / secret. Statements: `rows N`, `ok N`, `big N`, `db`,
//! `user`, `begin`, `commit`; prepared `echo ?,?..` echoes its parameters.

#[path = "../tests/common/mod.rs"]
mod common;

use borealis_protocol::{AuthPlugin, ServerConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3399".to_string());
    let auth_plugin = match args.next().as_deref() {
        Some("native") => AuthPlugin::MysqlNativePassword,
        _ => AuthPlugin::CachingSha2Password,
    };
    let config = ServerConfig {
        auth_plugin,
        ..ServerConfig::default()
    };
    let (handle, _toy) = common::start_at(&addr, config);
    println!("toy server on {}", handle.local_addr());
    loop {
        std::thread::park();
    }
}
