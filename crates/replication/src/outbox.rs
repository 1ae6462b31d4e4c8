//! The push side: one bounded queue and one sender task per peer, which feeds one long-lived
//! push stream to that peer.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use borealis_rpc::change::Change;
use borealis_rpc::replication::replication_client::ReplicationClient;
use borealis_rpc::replication::PushRequest;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

use crate::stats::Counters;

/// Changes queued per peer. At a few thousand commits per second this is about a second of
/// commits; a peer further behind than that catches up from the page store instead.
pub const PEER_QUEUE: usize = 4096;

/// Changes per stream message: amortises framing under load without delaying the first change.
const MAX_BATCH: usize = 64;

/// Batches buffered between the sender task and the stream (HTTP/2 flow control beyond).
const STREAM_BATCHES: usize = 16;

/// A peer that answers no HTTP/2 ping for this long is taken as gone: its stream breaks, and
/// the peer catches up from the store once a new stream reaches it.
const KEEPALIVE: Duration = Duration::from_secs(1);

/// Pause after a broken stream before opening a new one to that peer.
const FAILURE_PAUSE: Duration = Duration::from_millis(100);

/// How a stream's feeding ended.
enum Fed {
    /// The peer was removed (its queue's sending half dropped): stop.
    PeerRemoved,
    /// The stream broke (peer down, restarted or unreachable): open another.
    StreamBroken,
}

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
            .http2_keep_alive_interval(KEEPALIVE)
            .keep_alive_timeout(KEEPALIVE)
            .keep_alive_while_idle(true)
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
    client: ReplicationClient<Channel>,
    from_slot: u16,
    mut rx: mpsc::Receiver<Arc<Change>>,
    counters: Arc<Counters>,
    addr: String,
) {
    // One iteration per stream: opened, fed until it breaks, reopened after a pause. Ends when
    // the Peer (the sending half of `rx`) is dropped.
    loop {
        let (feed, body) = mpsc::channel(STREAM_BATCHES);
        let mut stream_client = client.clone();
        let call = tokio::spawn(async move { stream_client.push(ReceiverStream::new(body)).await });
        let fed = feed_stream(&mut rx, &feed, from_slot).await;
        drop(feed);
        let ended = call.await;
        if let Fed::PeerRemoved = fed {
            return;
        }
        // Batches in the broken stream are lost; the peer fetches them from the store.
        counters.push_failed.fetch_add(1, Relaxed);
        match ended {
            Ok(Err(status)) => {
                tracing::debug!(peer = %addr, error = %status.message(), "push stream broke")
            }
            Ok(Ok(_)) => tracing::debug!(peer = %addr, "push stream ended by the peer"),
            Err(e) => tracing::debug!(peer = %addr, error = %e, "push stream task failed"),
        }
        tokio::time::sleep(FAILURE_PAUSE).await;
    }
}

/// Send queued changes on one stream, in batches, until the peer is removed or the stream
/// breaks (its receiving half is gone).
async fn feed_stream(
    rx: &mut mpsc::Receiver<Arc<Change>>,
    feed: &mpsc::Sender<PushRequest>,
    from_slot: u16,
) -> Fed {
    // One iteration per batch; ends when the queue closes or the stream breaks.
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
        if feed.send(request).await.is_err() {
            return Fed::StreamBroken;
        }
    }
    Fed::PeerRemoved
}
