//! `borealis up`: the embedded default.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use borealis_cluster::endpoints::EndpointKind;
use borealis_cluster::supervisor::{ChildSpec, Supervisor};
use borealis_cluster::{EndpointSpec, Endpoints};

use crate::cli::{self, ServerArgs, UpArgs};
use crate::signals;

pub fn up(args: UpArgs) -> i32 {
    let plan = match args.plan() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("borealis: {e}");
            return 2;
        }
    };
    if plan.embedded {
        return embedded(args.server);
    }
    match cluster(args.server, plan) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("borealis: {e}");
            1
        }
    }
}

/// One process: one instance with its page store embedded.
fn embedded(server: ServerArgs) -> i32 {
    let cfg = match server.into_config() {
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

/// A port `offset` above `base`, or 0 (the OS chooses) when `base` is 0.
fn port_above(base: u16, offset: u16) -> Result<u16, String> {
    if base == 0 {
        return Ok(0);
    }
    base.checked_add(offset)
        .ok_or_else(|| format!("port {base} + {offset} is beyond 65535"))
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The page service and N instances as child processes, the endpoints in this process.
fn cluster(server: ServerArgs, plan: cli::UpPlan) -> Result<(), String> {
    let file_cfg = server.clone().into_config()?;
    let data = file_cfg.data_dir.clone();
    let ip = file_cfg.listen.ip();
    let port = file_cfg.listen.port();
    let signals = signals::block_shutdown_signals();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
    let sup = Supervisor::new(exe, &data).map_err(|e| e.to_string())?;

    let storage_port = match plan.storage_port {
        Some(p) => p,
        None => port_above(port, 100)?,
    };
    let storage_addr = start_storage(&sup, &data, ip, storage_port, &server, &file_cfg)?;
    println!("  page service      {storage_addr}");

    let mut instances = Vec::new();
    for slot in 1..=plan.instances {
        let listen = SocketAddr::new(ip, port_above(port, slot)?);
        let sql = start_instance(&sup, &data, listen, slot, &storage_addr, &server)?;
        println!(
            "  instance {slot:<2}       {sql} (slot {slot}, logs in {}/logs/instance-{slot}.log)",
            data.display()
        );
        instances.push((slot, sql));
    }

    let mut specs = vec![EndpointSpec {
        name: "cluster".into(),
        listen: SocketAddr::new(ip, port),
        kind: EndpointKind::Cluster,
    }];
    for text in &plan.endpoints {
        let (name, eport, slots) = cli::parse_endpoint(text)?;
        specs.push(EndpointSpec {
            name,
            listen: SocketAddr::new(ip, eport),
            kind: EndpointKind::Custom(slots),
        });
    }
    let endpoints = Endpoints::start(&storage_addr, specs).map_err(|e| e.to_string())?;
    let mut ready = String::new();
    for (name, addr) in endpoints.bound() {
        if name != "cluster" {
            println!("  endpoint {name:<8} {addr}");
        }
        ready.push_str(&format!(" endpoint-{name} {addr}"));
    }
    for (slot, sql) in &instances {
        ready.push_str(&format!(" instance-{slot} {sql}"));
    }
    let pids: Vec<String> = sup.pids().iter().map(|(n, p)| format!("{n}={p}")).collect();
    println!("  processes         {}", pids.join(" "));
    let cluster_addr = endpoints.bound()[0].1;
    println!(
        "Borealis ready: cluster {cluster_addr} storage {storage_addr}{ready}, data in {}",
        data.display()
    );
    println!(
        "  connect with: mysql -h{} -P{} -uroot",
        cluster_addr.ip(),
        cluster_addr.port()
    );
    sup.watch(|name, fields| {
        let pid = field(fields, "pid").unwrap_or("");
        println!("Borealis restarted: {name} {pid}");
    });
    signals::wait_for_shutdown(&signals);
    drop(endpoints);
    sup.stop();
    Ok(())
}

fn start_storage(
    sup: &Supervisor,
    data: &Path,
    ip: IpAddr,
    port: u16,
    server: &ServerArgs,
    cfg: &borealis_instance::InstanceConfig,
) -> Result<String, String> {
    let storage_dir = data.join("storage").display().to_string();
    let mut args = vec!["storage".to_string(), "--data".into(), storage_dir];
    if server.page_size.is_some() {
        args.extend(["--page-size".into(), cfg.page_size.to_string()]);
    }
    if !cfg.fsync {
        args.push("--no-fsync".into());
    }
    // One token: a separate "-10" would read as a flag.
    args.push(format!(
        "--system-thread-priority={}",
        cfg.system_thread_priority
    ));
    let with_listen = |addr: String| {
        let mut a = args.clone();
        a.extend(["--listen".into(), addr]);
        a
    };
    let fields = sup
        .start(ChildSpec {
            name: "storage".into(),
            args: with_listen(SocketAddr::new(ip, port).to_string()),
        })
        .map_err(|e| e.to_string())?;
    let addr = field(&fields, "at")
        .ok_or("the page service did not report its address")?
        .to_string();
    // A restarted page service must come back on the same address.
    sup.set_args("storage", with_listen(addr.clone()));
    Ok(addr)
}

fn start_instance(
    sup: &Supervisor,
    data: &Path,
    listen: SocketAddr,
    slot: u16,
    storage: &str,
    server: &ServerArgs,
) -> Result<String, String> {
    let name = format!("instance-{slot}");
    let mut args = vec![
        "instance".to_string(),
        "--slot".into(),
        slot.to_string(),
        "--storage".into(),
        storage.to_string(),
        "--data".into(),
        data.join(&name).display().to_string(),
        "--log-error".into(),
        data.join("logs")
            .join(format!("{name}.log"))
            .display()
            .to_string(),
    ];
    args.extend(server.instance_flags());
    // Every instance of a cluster serves its own Prometheus endpoint: at --metrics-port + slot,
    // or on a port the OS chooses.
    let metrics_port = match server.metrics_port {
        Some(base) if base != 0 => base
            .checked_add(slot)
            .ok_or_else(|| format!("metrics port {base} + {slot} is beyond 65535"))?,
        _ => 0,
    };
    args.extend(["--metrics-port".into(), metrics_port.to_string()]);
    let with_port = |p: u16| {
        let mut a = args.clone();
        a.extend([
            "--bind".into(),
            listen.ip().to_string(),
            "--port".into(),
            p.to_string(),
        ]);
        a
    };
    let fields = sup
        .start(ChildSpec {
            name: name.clone(),
            args: with_port(listen.port()),
        })
        .map_err(|e| e.to_string())?;
    let sql = field(&fields, "sql")
        .ok_or_else(|| format!("{name} did not report its address"))?
        .to_string();
    if let Some(m) = field(&fields, "metrics") {
        println!("  metrics {slot:<2}        http://{m}/metrics");
    }
    // Restarted on the same port, so its instance endpoint stays put.
    let bound: SocketAddr = sql.parse().map_err(|_| format!("{name} reported {sql}"))?;
    sup.set_args(&name, with_port(bound.port()));
    Ok(sql)
}
