//! Which instances can take new connections: the page service's membership (who is alive and
//! where) confirmed by a TCP connect to each instance's MySQL port, every [`CHECK_EVERY`], so a
//! killed instance stops receiving new connections well within a second.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use borealis_pageservice::RemotePageStore;
use parking_lot::RwLock;

/// Health-check period.
pub const CHECK_EVERY: Duration = Duration::from_millis(200);

/// A probe that takes longer counts as a failure (loopback connects take microseconds).
const PROBE_TIMEOUT: Duration = Duration::from_millis(150);

/// An instance that passed its last check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Healthy {
    pub slot: u16,
    pub addr: SocketAddr,
    pub read_only: bool,
}

/// The latest health picture, shared with the endpoints.
#[derive(Clone, Default)]
pub struct HealthView {
    healthy: Arc<RwLock<Vec<Healthy>>>,
}

impl HealthView {
    /// Healthy instances, by slot.
    pub fn healthy(&self) -> Vec<Healthy> {
        self.healthy.read().clone()
    }

    /// Take `slot` out of rotation at once (a connect to it just failed).
    pub fn mark_down(&self, slot: u16) {
        self.healthy.write().retain(|h| h.slot != slot);
    }

    /// Start checking in a background thread, which runs for the life of the process.
    pub fn start(store: RemotePageStore) -> std::io::Result<HealthView> {
        let view = HealthView::default();
        let shared = view.clone();
        std::thread::Builder::new()
            .name("endpoint-health".into())
            .spawn(move || loop {
                shared.check(&store);
                std::thread::sleep(CHECK_EVERY);
            })?;
        Ok(view)
    }

    fn check(&self, store: &RemotePageStore) {
        let members = match store.members() {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "membership unavailable; keeping the last health view");
                return;
            }
        };
        let mut healthy: Vec<Healthy> = members
            .into_iter()
            .filter(|m| m.is_alive())
            .filter_map(|m| {
                let addr: SocketAddr = m.sql_addr.parse().ok()?;
                probe(addr).then_some(Healthy {
                    slot: m.slot,
                    addr,
                    read_only: m.read_only,
                })
            })
            .collect();
        healthy.sort_by_key(|h| h.slot);
        *self.healthy.write() = healthy;
    }
}

fn probe(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).is_ok()
}
