//! The listener: accepts connections and runs each on its own OS thread.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::backend::{Authenticator, Backend};
use crate::config::ServerConfig;
use crate::connection::{Connection, Context};
use crate::error::codes;
use crate::packet::PacketWriter;
use crate::result::write_err;

/// Entry point of the protocol server.
pub struct Server;

/// A running server; dropping it shuts the listener down like [`ServerHandle::shutdown`].
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    active: Arc<AtomicUsize>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and spawns the accept thread; each connection gets its own thread.
    pub fn bind<B: Backend>(
        addr: SocketAddr,
        config: ServerConfig,
        auth: Arc<dyn Authenticator>,
        backend: Arc<B>,
    ) -> io::Result<ServerHandle> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let active = Arc::new(AtomicUsize::new(0));
        let next_id = AtomicU32::new(config.connection_id_start);
        let ctx = Arc::new(Context {
            config: Arc::new(config),
            auth,
            backend,
        });
        let accept = AcceptLoop {
            listener,
            ctx,
            stop: stop.clone(),
            active: active.clone(),
            next_id,
        };
        let accept_thread = std::thread::Builder::new()
            .name(format!("mysql-accept-{}", local_addr.port()))
            .spawn(move || accept.run())?;
        Ok(ServerHandle {
            local_addr,
            stop,
            active,
            accept_thread: Some(accept_thread),
        })
    }
}

impl ServerHandle {
    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections currently being served.
    pub fn connections(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Stops accepting and closes the listener; open connections finish on their own.
    pub fn shutdown(mut self) {
        self.stop_accepting();
    }

    fn stop_accepting(&mut self) {
        let Some(thread) = self.accept_thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() with a connection of our own.
        let ip = match self.local_addr.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let wake = SocketAddr::new(ip, self.local_addr.port());
        match TcpStream::connect_timeout(&wake, Duration::from_secs(2)) {
            Ok(_) => {
                if thread.join().is_err() {
                    tracing::error!("accept thread panicked");
                }
            }
            Err(e) => tracing::warn!("could not wake the accept thread: {e}; detaching it"),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_accepting();
    }
}

struct AcceptLoop<B> {
    listener: TcpListener,
    ctx: Arc<Context<B>>,
    stop: Arc<AtomicBool>,
    active: Arc<AtomicUsize>,
    next_id: AtomicU32,
}

/// Decrements the active-connection count when a connection thread ends, even by panic.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<B: Backend> AcceptLoop<B> {
    fn run(self) {
        // Bounded by the server's lifetime: ends when `stop` is set.
        for stream in self.listener.incoming() {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            match stream {
                Ok(stream) => self.admit(stream),
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    // Avoid a hot loop when out of file descriptors.
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    fn admit(&self, stream: TcpStream) {
        let max = self.ctx.config.max_connections;
        if self.active.fetch_add(1, Ordering::SeqCst) >= max {
            self.active.fetch_sub(1, Ordering::SeqCst);
            refuse(stream);
            return;
        }
        let guard = ActiveGuard(self.active.clone());
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let ctx = self.ctx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("mysql-conn-{id}"))
            .spawn(move || serve(ctx, stream, id, guard));
        if let Err(e) = spawned {
            // The closure (and its guard) was dropped, so the count is already restored.
            tracing::error!("cannot spawn a connection thread: {e}");
        }
    }
}

/// Runs one connection; a panic is contained to this thread and logged.
fn serve<B: Backend>(ctx: Arc<Context<B>>, stream: TcpStream, id: u32, guard: ActiveGuard) {
    let _guard = guard;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        match Connection::new(ctx, stream, id) {
            Ok(conn) => conn.run(),
            Err(e) => tracing::debug!(connection_id = id, "connection setup failed: {e}"),
        }
    }));
    if let Err(panic) = outcome {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        tracing::error!(connection_id = id, "connection thread panicked: {msg}");
    }
}

/// Sends ERROR 1040 to a connection over the limit and closes it.
fn refuse(stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let mut w = PacketWriter::new(Box::new(stream) as Box<dyn Write + Send>);
    write_err(&mut w, &codes::too_many_connections());
    let _ = w.flush();
}
