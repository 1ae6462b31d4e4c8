//! The replicator of one instance: its push service, its peers' queues and its applier.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Weak};

use borealis_engine::Engine;
use borealis_pageservice::priority::ThreadPriority;
use borealis_pageservice::RemotePageStore;
use borealis_pagestore::{CommittedChange, PageNo, PageStore};
use borealis_rpc::replication::replication_server::ReplicationServer;
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
    /// Address of the push service (port 0: the OS chooses).
    pub listen: SocketAddr,
    /// The priority of system threads, given to the replication threads too.
    pub thread_priority: Arc<ThreadPriority>,
}

pub struct Replicator {
    runtime: tokio::runtime::Runtime,
    slot: u16,
    addr: SocketAddr,
    peers: RwLock<HashMap<u16, Peer>>,
    counters: Arc<Counters>,
    /// The applier's queue, for this instance's own commits.
    own: std::sync::mpsc::SyncSender<Received>,
    /// Bytes of page images in `own`'s changes not yet dropped (see `OwnImages`).
    own_image_bytes: Arc<AtomicUsize>,
    priority: Arc<ThreadPriority>,
}

impl Replicator {
    /// Start the push service and the applier, and hook the engine's commits.
    pub fn start(
        engine: Arc<Engine>,
        store: RemotePageStore,
        cfg: ReplicatorConfig,
        on_lag: LagSink,
    ) -> Result<Arc<Replicator>, ReplicationError> {
        let priority = cfg.thread_priority.clone();
        let in_worker = priority.clone();
        // One worker, as in the page service (`borealis_pageservice::serve`): a second one mostly
        // woke up to steal short tasks, a context switch each time.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("replication")
            .on_thread_start(move || in_worker.apply())
            .enable_all()
            .build()
            .map_err(|e| ReplicationError::Start(e.to_string()))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(cfg.listen))
            .map_err(|source| ReplicationError::Listen {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ReplicationError::Listen {
                addr: cfg.listen,
                source,
            })?;
        let counters = Arc::new(Counters::default());
        let (tx, rx) = std::sync::mpsc::sync_channel::<Received>(INBOX_QUEUE);
        let inbox = Inbox {
            engine: engine.clone(),
            page_size: store.page_size(),
            queue: tx.clone(),
            counters: counters.clone(),
        };
        let service = ReplicationServer::new(inbox)
            .max_decoding_message_size(borealis_rpc::MAX_MESSAGE_BYTES);
        let incoming = borealis_rpc::incoming(listener);
        runtime.spawn(async move {
            let served = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "replication service stopped");
            }
        });
        let replicator = Arc::new(Replicator {
            runtime,
            slot: cfg.slot,
            addr,
            peers: RwLock::new(HashMap::new()),
            counters: counters.clone(),
            own: tx,
            own_image_bytes: Arc::default(),
            priority: priority.clone(),
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

    /// Queue `change` for every peer, never waiting: a full queue drops it for that peer,
    /// which then fetches it from the page store. `images`: our session's new page images
    /// (see [`Received::images`]).
    pub fn broadcast(&self, change: &CommittedChange, images: &HashMap<PageNo, Arc<[u8]>>) {
        // The applier applies our own commit too if its session has not yet when the next
        // change arrives (a session thread may wait for a CPU; the applier should not wait
        // for it). Full queue: the session applies it.
        let _ = self.own.try_send(Received {
            change: change.clone(),
            acked: 0,
            images: OwnImages::within(images, &self.own_image_bytes, OWN_IMAGE_BUDGET),
        });
        let peers = self.peers.read();
        if peers.is_empty() {
            return;
        }
        let wire = Arc::new(borealis_rpc::change_to_wire(change, crate::unix_micros()));
        for peer in peers.values() {
            if peer.offer(wire.clone()) {
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
            let started = Peer::start(
                self.runtime.handle(),
                self.slot,
                addr.clone(),
                self.counters.clone(),
            );
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
