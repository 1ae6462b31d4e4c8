//! One instance process in a cluster.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use borealis_instance::status::{counter, gauge, StatusVar};
use borealis_instance::{ClusterStatus, InstanceConfig, InstanceHandle};
use borealis_pageservice::priority::ThreadPriority;
use borealis_pageservice::{MemberInfo, RemotePageStore};
use borealis_replication::{Replicator, ReplicatorConfig};

/// How often an instance renews its membership (the page service forgets it after 2 s).
pub const HEARTBEAT: Duration = Duration::from_millis(250);

/// How long an instance waits for the page service at start.
const STORAGE_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{0}")]
    Storage(#[from] borealis_pageservice::ClientError),
    #[error("{0}")]
    Instance(#[from] borealis_instance::InstanceError),
    #[error("{0}")]
    Replication(#[from] borealis_replication::ReplicationError),
    #[error("cannot join the cluster: {0}")]
    Join(String),
}

/// Where the instance finds its cluster.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The page service (`host:port`).
    pub storage: String,
    /// Where peers push committed changes to this instance (port 0: the OS chooses).
    pub replication_listen: SocketAddr,
}

/// A running instance in a cluster.
pub struct InstanceNode {
    instance: InstanceHandle,
    replicator: Arc<Replicator>,
    store: RemotePageStore,
    me: MemberInfo,
    stopping: Arc<AtomicBool>,
}

struct ReplicationStatus(Arc<Replicator>);

impl ClusterStatus for ReplicationStatus {
    fn status_vars(&self) -> Vec<StatusVar> {
        let s = self.0.stats();
        vec![
            gauge("Borealis_replication_peers", s.peers, "Peers this instance pushes commits to."),
            gauge("Borealis_system_priority_boost", s.priority_boost, "Nice levels by which the system threads (replication, page service I/O) outrank the session threads (0: none; see system_thread_priority)."),
            counter("Borealis_replication_pushed", s.pushed, "Changes queued for peers (one per peer per commit)."),
            counter("Borealis_replication_push_dropped", s.push_dropped, "Changes not queued because a peer's queue was full (it catches up from the page store)."),
            counter("Borealis_replication_push_failed", s.push_failed, "Push streams to peers that broke."),
            counter("Borealis_replication_received", s.received, "Changes pushed to this instance by peers."),
            counter("Borealis_replication_receive_dropped", s.receive_dropped, "Received changes dropped because the apply queue was full."),
            counter("Borealis_replication_applied_pushed", s.applied_pushed, "Changes applied as pushed by their committer."),
            counter("Borealis_replication_applied_fetched", s.applied_fetched, "Changes fetched from the page store to fill a gap."),
            counter("Borealis_replication_resyncs", s.resyncs, "Times this instance fell so far behind that it resynchronised with the page store."),
        ]
    }
}

impl InstanceNode {
    /// Connect to the page service, start the instance on it, start replication, and join the
    /// membership (refused if another live process holds the slot).
    pub fn start(mut cfg: InstanceConfig, opts: NodeOptions) -> Result<InstanceNode, NodeError> {
        cfg.cluster = true;
        let thread_priority = Arc::new(ThreadPriority::new(cfg.system_thread_priority));
        let store = RemotePageStore::connect_at_priority(
            &opts.storage,
            STORAGE_WAIT,
            Some(thread_priority.clone()),
        )?;
        let slot = cfg.slot;
        let instance = borealis_instance::start_with_store(cfg, Arc::new(store.clone()))?;
        let lag_sink = instance.lag_recorder();
        let replicator = Replicator::start(
            instance.engine().clone(),
            store.clone(),
            ReplicatorConfig {
                slot,
                listen: opts.replication_listen,
                thread_priority,
            },
            lag_sink,
        )?;
        instance.set_cluster_status(Box::new(ReplicationStatus(replicator.clone())));
        let me = MemberInfo {
            slot,
            incarnation: rand::random(),
            sql_addr: instance.local_addr().to_string(),
            replication_addr: replicator.local_addr().to_string(),
            metrics_addr: instance
                .metrics_addr()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            read_only: instance.is_read_only(),
            applied_lsn: instance.engine().applied_lsn(),
            last_seen: Duration::ZERO,
        };
        let members = register_when_free(&store, &me)?;
        replicator.set_peers(&live_peers(&members));
        let node = InstanceNode {
            instance,
            replicator,
            store,
            me,
            stopping: Arc::new(AtomicBool::new(false)),
        };
        node.start_heartbeat();
        Ok(node)
    }

    pub fn sql_addr(&self) -> SocketAddr {
        self.instance.local_addr()
    }

    pub fn replication_addr(&self) -> SocketAddr {
        self.replicator.local_addr()
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.instance.metrics_addr()
    }

    pub fn slot(&self) -> u16 {
        self.me.slot
    }

    fn start_heartbeat(&self) {
        let store = self.store.clone();
        let replicator = self.replicator.clone();
        let engine = self.instance.engine().clone();
        let stopping = self.stopping.clone();
        let read_only = self.instance.read_only_flag();
        let mut me = self.me.clone();
        let spawned = std::thread::Builder::new()
            .name("membership".into())
            .spawn(move || {
                // Ends when the node shuts down.
                while !stopping.load(Ordering::Acquire) {
                    std::thread::sleep(HEARTBEAT);
                    me.applied_lsn = engine.applied_lsn();
                    me.read_only = read_only.load(Ordering::Relaxed);
                    match store.register(&me) {
                        Ok(members) => replicator.set_peers(&live_peers(&members)),
                        Err(e) => tracing::warn!(error = %e, "membership heartbeat failed"),
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the membership heartbeat");
        }
    }

    /// Leave the cluster and stop serving. Acknowledged commits are already durable in the
    /// page service.
    pub fn shutdown(self) {
        self.stopping.store(true, Ordering::Release);
        self.store.deregister(self.me.slot, self.me.incarnation);
        self.instance.shutdown();
    }
}

/// Register, waiting out a previous incarnation of this slot that was killed and has not yet
/// timed out in the membership (bounded: one membership timeout and a margin).
fn register_when_free(
    store: &RemotePageStore,
    me: &MemberInfo,
) -> Result<Vec<MemberInfo>, NodeError> {
    let deadline = std::time::Instant::now()
        + borealis_pageservice::membership::MEMBER_TIMEOUT
        + Duration::from_secs(1);
    loop {
        match store.register(me) {
            Ok(members) => return Ok(members),
            Err(e) if std::time::Instant::now() >= deadline => return Err(NodeError::Join(e)),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn live_peers(members: &[MemberInfo]) -> Vec<(u16, String)> {
    members
        .iter()
        .filter(|m| m.is_alive())
        .map(|m| (m.slot, m.replication_addr.clone()))
        .collect()
}
