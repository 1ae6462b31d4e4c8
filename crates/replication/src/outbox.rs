//! The push side: one bounded queue and one sender task per peer.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use borealis_rpc::change::Change;
use borealis_rpc::replication::replication_client::ReplicationClient;
use borealis_rpc::replication::PushRequest;
use tokio::sync::mpsc;
use tonic::transport::Endpoint;

use crate::stats::Counters;

/// Changes queued per peer. At a few thousand commits per second this is about a second of
/// commits; a peer further behind than that catches up from the page store instead.
pub const PEER_QUEUE: usize = 4096;

/// Changes per push call: amortises the call under load without delaying the first change.
const MAX_BATCH: usize = 64;

/// A push that takes longer fails; the peer then catches up from the store.
const PUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// Pause after a failed push before trying that peer again.
const FAILURE_PAUSE: Duration = Duration::from_millis(100);

/// One peer's queue; dropping it ends the peer's sender task.
pub struct Peer {
    pub addr: String,
    queue: mpsc::Sender<Arc<Change>>,
}

impl Peer {
    /// Start pushing to the peer at `addr` on `runtime`.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        from_slot: u16,
        addr: String,
        counters: Arc<Counters>,
    ) -> Option<Peer> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .ok()?
            .connect_timeout(Duration::from_millis(500))
            .timeout(PUSH_TIMEOUT)
            .tcp_nodelay(true);
        let channel = {
            let _in_runtime = runtime.enter();
            endpoint.connect_lazy()
        };
        let client = ReplicationClient::new(channel)
            .max_encoding_message_size(borealis_rpc::MAX_MESSAGE_BYTES);
        let (tx, rx) = mpsc::channel(PEER_QUEUE);
        runtime.spawn(send_loop(client, from_slot, rx, counters, addr.clone()));
        Some(Peer { addr, queue: tx })
    }

    /// Queue a change without waiting; false if the queue is full.
    pub fn offer(&self, change: Arc<Change>) -> bool {
        self.queue.try_send(change).is_ok()
    }
}

async fn send_loop(
    mut client: ReplicationClient<tonic::transport::Channel>,
    from_slot: u16,
    mut rx: mpsc::Receiver<Arc<Change>>,
    counters: Arc<Counters>,
    addr: String,
) {
    // Ends when the Peer (the sending half) is dropped.
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let request = PushRequest {
            from_slot: u32::from(from_slot),
            changes: batch.iter().map(|c| Change::clone(c)).collect(),
        };
        if let Err(status) = client.push(request).await {
            counters.push_failed.fetch_add(1, Relaxed);
            tracing::debug!(peer = %addr, error = %status.message(), "push failed");
            tokio::time::sleep(FAILURE_PAUSE).await;
        }
    }
}
