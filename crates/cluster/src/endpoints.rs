//! Endpoints: TCP proxies that pick an instance per new connection.
//!
//! - The cluster endpoint sends every new connection to one healthy read/write instance (the
//!   lowest live slot, kept while it stays healthy): the instance for DDL and administration.
//! - A custom endpoint is a named set of slots; each new connection goes to the next healthy
//!   member (round robin).
//!
//! A connection that cannot reach its chosen instance tries the next candidate at once, so a
//! client sees no failure while the health check catches up.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use borealis_pageservice::RemotePageStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::health::{HealthView, Healthy};

/// Connecting to a chosen instance takes at most this long before the next one is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The instance must send its MySQL greeting within this time; one that accepted the TCP
/// connection but dies (killed a moment ago) sends nothing and the next one is tried.
const GREETING_TIMEOUT: Duration = Duration::from_secs(2);

/// Buffer for the greeting: a MySQL handshake packet is about 100 bytes.
const GREETING_BUF: usize = 1024;

/// What an endpoint routes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointKind {
    /// A healthy read/write instance.
    Cluster,
    /// The next healthy member of these slots.
    Custom(Vec<u16>),
}

/// One endpoint: a name, an address to listen on, and its routing.
#[derive(Clone, Debug)]
pub struct EndpointSpec {
    pub name: String,
    pub listen: SocketAddr,
    pub kind: EndpointKind,
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointsError {
    #[error("endpoint {name}: cannot listen on {addr}: {source}")]
    Listen {
        name: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("endpoints: {0}")]
    Start(String),
}

/// Running endpoints; dropping this stops them.
pub struct Endpoints {
    _runtime: tokio::runtime::Runtime,
    bound: Vec<(String, SocketAddr)>,
}

struct Router {
    kind: EndpointKind,
    health: HealthView,
    /// Cluster endpoint: the slot connections currently go to (0 = none yet).
    writer: AtomicU16,
    /// Custom endpoint: the round-robin position.
    next: AtomicUsize,
}

impl Endpoints {
    /// Start every endpoint in `specs`, routing by the health of the cluster at `storage`.
    pub fn start(storage: &str, specs: Vec<EndpointSpec>) -> Result<Endpoints, EndpointsError> {
        let store = RemotePageStore::connect(storage, Duration::from_secs(30))
            .map_err(|e| EndpointsError::Start(e.to_string()))?;
        let health = HealthView::start(store).map_err(|e| EndpointsError::Start(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("endpoints")
            .enable_all()
            .build()
            .map_err(|e| EndpointsError::Start(e.to_string()))?;
        let mut bound = Vec::new();
        for spec in specs {
            let listener = runtime
                .block_on(TcpListener::bind(spec.listen))
                .and_then(|l| l.local_addr().map(|a| (l, a)));
            let (listener, addr) = listener.map_err(|source| EndpointsError::Listen {
                name: spec.name.clone(),
                addr: spec.listen,
                source,
            })?;
            let router = Arc::new(Router {
                kind: spec.kind,
                health: health.clone(),
                writer: AtomicU16::new(0),
                next: AtomicUsize::new(0),
            });
            runtime.spawn(accept_loop(listener, router, spec.name.clone()));
            bound.push((spec.name, addr));
        }
        Ok(Endpoints {
            _runtime: runtime,
            bound,
        })
    }

    /// `(name, bound address)` of every endpoint.
    pub fn bound(&self) -> &[(String, SocketAddr)] {
        &self.bound
    }
}

async fn accept_loop(listener: TcpListener, router: Arc<Router>, name: String) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                let router = router.clone();
                tokio::spawn(async move { router.serve(client).await });
            }
            Err(e) => {
                // Out of descriptors or similar: pause instead of spinning.
                tracing::warn!(endpoint = %name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Router {
    /// Instances to try for a new connection, best first.
    fn candidates(&self) -> Vec<Healthy> {
        let healthy = self.health.healthy();
        match &self.kind {
            EndpointKind::Cluster => {
                let mut writers: Vec<Healthy> =
                    healthy.into_iter().filter(|h| !h.read_only).collect();
                let current = self.writer.load(Ordering::Relaxed);
                // Keep the current writer first while it is healthy.
                if let Some(i) = writers.iter().position(|h| h.slot == current) {
                    writers.rotate_left(i);
                }
                writers
            }
            EndpointKind::Custom(slots) => {
                let mut members: Vec<Healthy> = healthy
                    .into_iter()
                    .filter(|h| slots.contains(&h.slot))
                    .collect();
                if !members.is_empty() {
                    let start = self.next.fetch_add(1, Ordering::Relaxed) % members.len();
                    members.rotate_left(start);
                }
                members
            }
        }
    }

    async fn serve(&self, mut client: TcpStream) {
        let _ = client.set_nodelay(true);
        for candidate in self.candidates() {
            let connected =
                tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(candidate.addr)).await;
            let mut backend = match connected {
                Ok(Ok(stream)) => stream,
                _ => {
                    self.health.mark_down(candidate.slot);
                    continue;
                }
            };
            let _ = backend.set_nodelay(true);
            let mut greeting = vec![0u8; GREETING_BUF];
            let n = match tokio::time::timeout(GREETING_TIMEOUT, backend.read(&mut greeting)).await
            {
                Ok(Ok(n)) if n > 0 => n,
                _ => {
                    self.health.mark_down(candidate.slot);
                    continue;
                }
            };
            if client.write_all(&greeting[..n]).await.is_err() {
                return;
            }
            if self.kind == EndpointKind::Cluster {
                self.writer.store(candidate.slot, Ordering::Relaxed);
            }
            // Either side closing ends the connection; errors are the client's or instance's
            // disconnect and need no report.
            let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
            return;
        }
        // No instance available: close; the MySQL client reports a lost connection.
        tracing::warn!("no healthy instance for a new connection");
    }
}
