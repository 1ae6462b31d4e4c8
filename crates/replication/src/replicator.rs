//! The replicator of one instance: its listener for peers' links, its links to the peers and
//! its applier.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Weak};
use std::time::Duration;

use borealis_engine::Engine;
use borealis_pageservice::priority::ThreadPriority;
use borealis_pageservice::RemotePageStore;
use borealis_pagestore::{CommittedChange, PageNo};
use parking_lot::RwLock;

use crate::applier::{Applier, LagSink};
use crate::inbox::{Inbox, OwnImages, Received};
use crate::outbox::Peer;
use crate::stats::{Counters, ReplicationStats};

/// Received changes waiting for the applier: a few seconds of a busy cluster's commits. When
/// full, pushes are dropped and the applier fetches the gap from the page store.
const INBOX_QUEUE: usize = 16384;

/// Bytes of our own commits' page images waiting for the applier at once (see `OwnImages`):
/// about 340 commits of six 16 KiB pages, a third of a second of a busy instance's commits.
const OWN_IMAGE_BUDGET: usize = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    #[error("cannot listen for replication on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start replication: {0}")]
    Start(String),
}

/// Where the replicator listens and who it is.
#[derive(Clone, Debug)]
pub struct ReplicatorConfig {
    /// This instance's slot (changes are never pushed to itself).
    pub slot: u16,
    /// Address peers' replication links connect to (port 0: the OS chooses).
    pub listen: SocketAddr,
    /// The priority of system threads, given to the replication threads too.
    pub thread_priority: Arc<ThreadPriority>,
}

pub struct Replicator {
    /// Our own commits next in LSN order are applied by the commit hook itself.
    engine: Arc<Engine>,
    slot: u16,
    addr: SocketAddr,
    peers: RwLock<HashMap<u16, Peer>>,
    counters: Arc<Counters>,
    /// The applier's queue, for this instance's own commits.
    own: std::sync::mpsc::SyncSender<Received>,
    /// Bytes of page images in `own`'s changes not yet dropped (see `OwnImages`).
    own_image_bytes: Arc<AtomicUsize>,
    priority: Arc<ThreadPriority>,
    /// Set when the replicator is dropped: the accept thread ends.
    stop: Arc<AtomicBool>,
}

impl Drop for Replicator {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        // Wake the accept thread, blocked in accept, so that it sees `stop`.
        let _ = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
    }
}

impl Replicator {
    /// Start listening for peers' links and the applier, and hook the engine's commits.
    pub fn start(
        engine: Arc<Engine>,
        store: RemotePageStore,
        cfg: ReplicatorConfig,
        on_lag: Box<dyn Fn(u64) + Send + Sync>,
    ) -> Result<Arc<Replicator>, ReplicationError> {
        let on_lag: LagSink = Arc::from(on_lag);
        let priority = cfg.thread_priority.clone();
        let listen_error = |source| ReplicationError::Listen {
            addr: cfg.listen,
            source,
        };
        let listener = std::net::TcpListener::bind(cfg.listen).map_err(listen_error)?;
        let addr = listener.local_addr().map_err(listen_error)?;
        let counters = Arc::new(Counters::default());
        let (tx, rx) = std::sync::mpsc::sync_channel::<Received>(INBOX_QUEUE);
        let inbox = Arc::new(Inbox::new(
            engine.clone(),
            on_lag.clone(),
            tx.clone(),
            counters.clone(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        inbox
            .listen(listener, priority.clone(), stop.clone())
            .map_err(|e| ReplicationError::Start(e.to_string()))?;
        let replicator = Arc::new(Replicator {
            engine: engine.clone(),
            slot: cfg.slot,
            addr,
            peers: RwLock::new(HashMap::new()),
            counters: counters.clone(),
            own: tx,
            own_image_bytes: Arc::default(),
            priority: priority.clone(),
            stop,
        });
        let weak: Weak<Replicator> = Arc::downgrade(&replicator);
        let hooked = store.set_commit_hook(Box::new(move |change, images| {
            if let Some(r) = weak.upgrade() {
                r.broadcast(change, images);
            }
        }));
        if !hooked {
            return Err(ReplicationError::Start(
                "the page store client already has a commit hook".into(),
            ));
        }
        let applier = Applier {
            engine,
            store,
            queue: rx,
            counters,
            on_lag,
        };
        std::thread::Builder::new()
            .name("replication-apply".into())
            .spawn(move || {
                priority.apply();
                applier.run()
            })
            .map_err(|e| ReplicationError::Start(e.to_string()))?;
        tracing::info!(addr = %addr, "replication ready");
        Ok(replicator)
    }

    /// The address peers push to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Send `change` to every peer, never waiting: a peer whose link is down or full misses
    /// it and fetches it from the page store. `images`: our session's new page images
    /// (see [`Received::images`]).
    pub fn broadcast(&self, change: &CommittedChange, images: &HashMap<PageNo, Arc<[u8]>>) {
        // Our own commit is applied here, before its session wakes, when it is next in LSN
        // order (in a one-writer cluster, always): no thread is woken for it. Otherwise the
        // applier applies it in order, unless its session gets there first (a session thread
        // may wait for a CPU; the applier should not wait for it). Full queue: the session
        // applies it.
        let applied_here = change.lsn == self.engine.applied_lsn() + 1
            && self.engine.apply_if_next(change, images).unwrap_or(false);
        if !applied_here {
            let _ = self.own.try_send(Received {
                change: change.clone(),
                acked: 0,
                images: OwnImages::within(images, &self.own_image_bytes, OWN_IMAGE_BUDGET),
            });
        }
        let peers = self.peers.read();
        if peers.is_empty() {
            return;
        }
        let wire = borealis_rpc::change_to_wire(change, crate::unix_micros());
        let frame = match borealis_rpc::frame::encode(change.lsn, &wire) {
            Ok(frame) => frame,
            Err(e) => {
                // Too large to push: the peers fetch it from the page store.
                tracing::warn!(lsn = change.lsn, error = %e, "a change is not pushed");
                return;
            }
        };
        for peer in peers.values() {
            if peer.offer(&frame) {
                self.counters.pushed.fetch_add(1, Relaxed);
            } else {
                self.counters.push_dropped.fetch_add(1, Relaxed);
            }
        }
    }

    /// Replace the peer set (from the membership heartbeat): `(slot, replication address)` of
    /// every live member. Our own slot is skipped; a peer whose address changed (restarted)
    /// gets a new queue.
    pub fn set_peers(&self, live: &[(u16, String)]) {
        let wanted: HashMap<u16, &String> = live
            .iter()
            .filter(|(slot, addr)| *slot != self.slot && !addr.is_empty())
            .map(|(slot, addr)| (*slot, addr))
            .collect();
        let unchanged = {
            let peers = self.peers.read();
            peers.len() == wanted.len()
                && peers
                    .iter()
                    .all(|(slot, p)| wanted.get(slot).is_some_and(|a| **a == p.addr))
        };
        if unchanged {
            return;
        }
        let mut peers = self.peers.write();
        peers.retain(|slot, p| wanted.get(slot).is_some_and(|a| **a == p.addr));
        for (slot, addr) in wanted {
            if peers.contains_key(&slot) {
                continue;
            }
            let started = Peer::start(addr.clone(), self.counters.clone(), self.priority.clone());
            match started {
                Some(peer) => {
                    tracing::info!(slot, addr = %addr, "replicating to peer");
                    peers.insert(slot, peer);
                }
                None => tracing::warn!(slot, addr = %addr, "invalid peer address"),
            }
        }
    }

    pub fn stats(&self) -> ReplicationStats {
        self.counters
            .snapshot(self.peers.read().len(), self.priority.boost())
    }
}
