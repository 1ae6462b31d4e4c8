//! The push side: one replication link per peer (a TCP connection carrying frames of committed
//! changes, see `borealis_rpc::frame`), written without ever waiting.
//!
//! The commit hook offers each change to every peer on the thread that received the commit's
//! reply; a change the peer's socket takes whole costs one `send` there and wakes no thread.
//! What a slow peer does not take waits in a bounded overflow; beyond it changes are dropped
//! for that peer, which fetches them from the page store. A link that breaks (the peer
//! restarted or closed it) is reconnected by the peer's connector thread, asleep while the
//! link is up.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use borealis_pageservice::priority::ThreadPriority;
use borealis_rpc::frame::REPLICATION_MAGIC;
use borealis_rpc::frame_writer::{FrameWriter, SendError};
use parking_lot::{Condvar, Mutex};

use crate::stats::Counters;

/// Bytes of changes waiting for one slow peer: about a second of a busy cluster's commits.
/// A peer further behind than that catches up from the page store instead.
pub const PEER_OVERFLOW: usize = 16 << 20;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Pause after a failed connection attempt before the next.
const FAILURE_PAUSE: Duration = Duration::from_millis(100);

/// How often a connector looks at its link even when nobody tells it that it broke.
const CONNECTOR_CHECK: Duration = Duration::from_secs(1);

/// One peer's link; dropping it closes the link and ends the connector thread.
pub struct Peer {
    pub addr: String,
    link: Arc<PeerLink>,
}

struct PeerLink {
    addr: String,
    writer: Mutex<Option<Arc<FrameWriter>>>,
    /// Wakes the connector: the link broke, or the peer was removed.
    changed: Condvar,
    removed: AtomicBool,
    counters: Arc<Counters>,
}

impl Peer {
    /// Start replicating to the peer at `addr`; its connector thread runs at `priority`.
    pub fn start(
        addr: String,
        counters: Arc<Counters>,
        priority: Arc<ThreadPriority>,
    ) -> Option<Peer> {
        let link = Arc::new(PeerLink {
            addr: addr.clone(),
            writer: Mutex::new(None),
            changed: Condvar::new(),
            removed: AtomicBool::new(false),
            counters,
        });
        let connector = link.clone();
        let spawned = std::thread::Builder::new()
            .name("replication-connect".into())
            .spawn(move || {
                priority.apply();
                connector.keep_connected()
            });
        match spawned {
            Ok(_) => Some(Peer { addr, link }),
            Err(e) => {
                tracing::error!(peer = %addr, error = %e, "cannot start replicating to a peer");
                None
            }
        }
    }

    /// Send one framed change without waiting; false if it was dropped for this peer.
    pub fn offer(&self, frame: &[u8]) -> bool {
        let writer = self.link.writer.lock().clone();
        let Some(writer) = writer else {
            return false;
        };
        match writer.send(frame) {
            Ok(()) => true,
            Err(SendError::Full) => false,
            Err(SendError::Closed) => {
                self.link.changed.notify_one();
                false
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.link.removed.store(true, Ordering::SeqCst);
        if let Some(writer) = self.link.writer.lock().take() {
            writer.close();
        }
        self.link.changed.notify_one();
    }
}

impl PeerLink {
    /// The connector thread: (re)open the link whenever it is down, until the peer is removed.
    fn keep_connected(&self) {
        // One iteration per connection attempt; ends when the peer is removed.
        loop {
            {
                let mut writer = self.writer.lock();
                // Wait while the link is up (woken when it breaks or the peer goes).
                while !self.removed.load(Ordering::SeqCst)
                    && writer.as_ref().is_some_and(|w| !w.is_closed())
                {
                    self.changed.wait_for(&mut writer, CONNECTOR_CHECK);
                }
                if self.removed.load(Ordering::SeqCst) {
                    return;
                }
                if writer.take().is_some() {
                    // Changes in the broken link are lost; the peer fetches them.
                    self.counters.push_failed.fetch_add(1, Relaxed);
                }
            }
            match self.connect() {
                Ok(writer) => {
                    let mut current = self.writer.lock();
                    if self.removed.load(Ordering::SeqCst) {
                        writer.close();
                        return;
                    }
                    *current = Some(writer);
                }
                Err(e) => {
                    tracing::debug!(peer = %self.addr, error = %e, "replication link not opened");
                    std::thread::sleep(FAILURE_PAUSE);
                }
            }
        }
    }

    fn connect(&self) -> std::io::Result<Arc<FrameWriter>> {
        let addr = self
            .addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        // No write timeout: a stopped peer's link stays open and fills, later changes are
        // dropped for it (it fetches them when it runs again). Closing on a timeout made the
        // connector open a new link every second into the stopped peer's accept backlog, each
        // holding a full socket buffer. A peer that is gone for good leaves the membership,
        // which drops its `Peer` and so closes the link; a restarted one resets it.
        std::io::Write::write_all(&mut stream, &REPLICATION_MAGIC)?;
        tracing::debug!(peer = %self.addr, "replication link open");
        FrameWriter::start(stream, PEER_OVERFLOW, "replication-out")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::{Inbox, Received};
    use borealis_pagestore::{ByteRange, CommittedChange, PageDelta};
    use borealis_rpc::frame;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc::Receiver;
    use std::time::Instant;

    const PAGE: usize = 4096;

    fn change_frame(lsn: u64) -> Vec<u8> {
        let change = CommittedChange {
            lsn,
            origin: 1,
            db_pages: 4,
            deltas: Arc::new(vec![PageDelta {
                page_no: 2,
                ranges: vec![ByteRange {
                    offset: 8,
                    bytes: lsn.to_le_bytes().to_vec(),
                }],
            }]),
        };
        frame::encode(lsn, &borealis_rpc::change_to_wire(&change, 1_000 + lsn)).unwrap()
    }

    fn priority() -> Arc<ThreadPriority> {
        Arc::new(ThreadPriority::new(0))
    }

    /// Offer `lsn` until the peer's connector has opened the link (bounded: 5 s).
    fn offer_until_connected(peer: &Peer, lsn: u64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !peer.offer(&change_frame(lsn)) {
            assert!(Instant::now() < deadline, "the link never opened");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn next(queue: &Receiver<Received>) -> Received {
        queue
            .recv_timeout(Duration::from_secs(5))
            .expect("a change")
    }

    /// An engine on an empty page store in `dir`.
    fn engine(dir: &std::path::Path) -> Arc<borealis_engine::Engine> {
        let opts = borealis_pagestore::StoreOptions {
            page_size: PAGE,
            fsync: false,
            ..Default::default()
        };
        let store = borealis_pagestore::LocalPageStore::open(dir, opts).unwrap();
        let cfg = borealis_engine::EngineConfig {
            page_size: PAGE,
            ..Default::default()
        };
        borealis_engine::Engine::new(store, cfg).unwrap()
    }

    /// Changes cross a link in order; each that is next in LSN order is applied by the link's
    /// thread, the others go to the applier's queue; garbage links are dropped.
    #[test]
    fn changes_cross_the_link_in_order_and_garbage_links_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let counters = Arc::new(Counters::default());
        let (tx, queue) = std::sync::mpsc::sync_channel(1024);
        let lags = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let on_lag: crate::applier::LagSink = {
            let lags = lags.clone();
            Arc::new(move |lag| lags.lock().push(lag))
        };
        let inbox = Arc::new(Inbox::new(engine.clone(), on_lag, tx, counters.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        inbox.listen(listener, priority(), Arc::default()).unwrap();

        // Someone else's protocol, and a valid magic followed by a payload that is no change.
        let mut wrong = TcpStream::connect(addr).unwrap();
        wrong.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut garbage = TcpStream::connect(addr).unwrap();
        garbage.write_all(&REPLICATION_MAGIC).unwrap();
        garbage.write_all(&3u32.to_le_bytes()).unwrap();
        garbage.write_all(&7u64.to_le_bytes()).unwrap();
        garbage.write_all(&[0xff; 3]).unwrap();
        for mut s in [wrong, garbage] {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let read = s.read(&mut [0u8; 8]);
            let closed = matches!(read, Ok(0))
                || matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset);
            assert!(closed, "closed by the receiver, not timed out: {read:?}");
        }

        let peer =
            Peer::start(addr.to_string(), Arc::new(Counters::default()), priority()).unwrap();
        offer_until_connected(&peer, 1);
        for lsn in 2..=200 {
            assert!(peer.offer(&change_frame(lsn)));
        }
        // 202 before 201: not next, so it waits in the applier's queue.
        assert!(peer.offer(&change_frame(202)));
        let queued = next(&queue);
        assert_eq!((queued.change.lsn, queued.acked), (202, 1_202));
        assert_eq!(
            queued.change.deltas[0].ranges[0].bytes,
            202u64.to_le_bytes()
        );
        assert!(engine.wait_applied(200, Duration::from_secs(5)));
        assert_eq!(engine.applied_lsn(), 200, "201 never came");
        assert_eq!(counters.received.load(Relaxed), 201);
        assert_eq!(counters.applied_pushed.load(Relaxed), 200);
        assert_eq!(lags.lock().len(), 200, "each applied push has its lag");
        assert!(queue.try_recv().is_err(), "only 202 was queued");
    }

    #[test]
    fn a_broken_link_is_counted_and_reopened() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(Counters::default());
        let peer = Peer::start(addr.to_string(), counters.clone(), priority()).unwrap();
        let (mut first, _) = listener.accept().unwrap();
        let mut magic = [0u8; 8];
        first.read_exact(&mut magic).unwrap();
        assert_eq!(magic, REPLICATION_MAGIC);
        offer_until_connected(&peer, 1);
        // The peer goes away: offers fail until the connector has a new link.
        drop(first);
        let (mut second, _) = std::thread::scope(|s| {
            let accepted = s.spawn(|| listener.accept().unwrap());
            // Bounded: each failed offer tells the connector; it reconnects within 100 ms.
            let deadline = Instant::now() + Duration::from_secs(5);
            while !accepted.is_finished() {
                peer.offer(&change_frame(2));
                assert!(Instant::now() < deadline, "never reconnected");
                std::thread::sleep(Duration::from_millis(10));
            }
            accepted.join().unwrap()
        });
        second.read_exact(&mut magic).unwrap();
        assert_eq!(magic, REPLICATION_MAGIC);
        offer_until_connected(&peer, 3);
        let (id, _) =
            frame::read_blocking::<borealis_rpc::change::Change>(&mut second, &mut Vec::new())
                .unwrap();
        assert!(id >= 2, "the new link carries later changes");
        assert!(counters.push_failed.load(Relaxed) >= 1);
        drop(peer);
    }
}
