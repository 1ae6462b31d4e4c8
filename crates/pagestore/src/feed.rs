//! The in-memory change feed: a bounded ring of the newest committed changes.
//!
//! A subscriber that asks for (or falls behind to) a change older than the ring gets
//! `Lagged`; catching up from the commit log instead is future work.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::api::{CommittedChange, Lsn, SubscribeError, Subscription};

struct Ring {
    changes: VecDeque<CommittedChange>,
    /// LSN of the next change to be pushed.
    next_lsn: Lsn,
    closed: bool,
}

/// The ring shared by the store and its subscriptions.
pub struct Feed {
    ring: Mutex<Ring>,
    capacity: usize,
    arrived: Condvar,
}

impl Feed {
    /// A feed holding at most `capacity` changes; the next change pushed has LSN `next_lsn`.
    pub fn new(capacity: usize, next_lsn: Lsn) -> Arc<Feed> {
        assert!(capacity > 0, "feed capacity must be positive");
        Arc::new(Feed {
            ring: Mutex::new(Ring {
                changes: VecDeque::new(),
                next_lsn,
                closed: false,
            }),
            capacity,
            arrived: Condvar::new(),
        })
    }

    /// Append durable changes (consecutive LSNs) and wake subscribers.
    pub fn push(&self, changes: &[CommittedChange]) {
        let mut ring = self.ring.lock();
        for change in changes {
            assert_eq!(
                change.lsn, ring.next_lsn,
                "feed changes must be consecutive"
            );
            if ring.changes.len() == self.capacity {
                ring.changes.pop_front();
            }
            ring.changes.push_back(change.clone());
            ring.next_lsn += 1;
        }
        drop(ring);
        self.arrived.notify_all();
    }

    /// Refuse further waits: subscribers get `Closed` once they have drained the ring.
    pub fn close(&self) {
        self.ring.lock().closed = true;
        self.arrived.notify_all();
    }

    /// A subscription to changes with LSN > `after`.
    pub fn subscribe(
        self: &Arc<Self>,
        after: Lsn,
    ) -> Result<Box<dyn Subscription>, SubscribeError> {
        let ring = self.ring.lock();
        check_retained(&ring, after)?;
        Ok(Box::new(FeedSubscription {
            feed: Arc::clone(self),
            after,
        }))
    }
}

fn oldest_held(ring: &Ring) -> Lsn {
    ring.changes.front().map_or(ring.next_lsn, |c| c.lsn)
}

fn check_retained(ring: &Ring, after: Lsn) -> Result<(), SubscribeError> {
    let oldest = oldest_held(ring);
    // Changes after `after` are all available when the first one needed is still in the ring
    // (or not yet committed).
    if after + 1 < oldest {
        return Err(SubscribeError::Lagged {
            requested: after + 1,
            oldest,
        });
    }
    Ok(())
}

struct FeedSubscription {
    feed: Arc<Feed>,
    after: Lsn,
}

impl Subscription for FeedSubscription {
    fn next_change(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<CommittedChange>, SubscribeError> {
        let deadline = Instant::now() + timeout;
        let mut ring = self.feed.ring.lock();
        // Each wait either returns a change, times out, or is woken by a push/close: bounded by
        // the deadline.
        loop {
            check_retained(&ring, self.after)?;
            let wanted = self.after + 1;
            if wanted < ring.next_lsn {
                let idx = (wanted - oldest_held(&ring)) as usize;
                let change = ring.changes[idx].clone();
                self.after = wanted;
                return Ok(Some(change));
            }
            if ring.closed {
                return Err(SubscribeError::Closed);
            }
            if self
                .feed
                .arrived
                .wait_until(&mut ring, deadline)
                .timed_out()
            {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(lsn: Lsn) -> CommittedChange {
        CommittedChange {
            lsn,
            origin: 1,
            db_pages: 1,
            deltas: Arc::new(Vec::new()),
        }
    }

    #[test]
    fn delivers_in_order_and_reports_lag() {
        let feed = Feed::new(2, 1);
        let mut sub = feed.subscribe(0).unwrap();
        assert!(sub.next_change(Duration::from_millis(1)).unwrap().is_none());
        feed.push(&[change(1), change(2)]);
        assert_eq!(sub.next_change(Duration::ZERO).unwrap().unwrap().lsn, 1);
        feed.push(&[change(3)]);
        // LSN 2 is still held, 1 is gone.
        assert_eq!(sub.next_change(Duration::ZERO).unwrap().unwrap().lsn, 2);
        assert!(matches!(
            feed.subscribe(0),
            Err(SubscribeError::Lagged {
                requested: 1,
                oldest: 2
            })
        ));
        feed.push(&[change(4), change(5)]);
        assert!(matches!(
            sub.next_change(Duration::ZERO),
            Err(SubscribeError::Lagged { .. })
        ));
        feed.close();
        let mut late = feed.subscribe(5).unwrap();
        assert!(matches!(
            late.next_change(Duration::ZERO),
            Err(SubscribeError::Closed)
        ));
    }
}
