//! The applier thread: received changes go into a reorder buffer and are applied to the engine
//! strictly in LSN order. A gap that pushes do not fill quickly, and commits whose push never
//! came (checked periodically), are fetched from the page store.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use borealis_engine::Engine;
use borealis_pageservice::RemotePageStore;
use borealis_pagestore::{Lsn, SubscribeError};

use crate::inbox::Received;
use crate::stats::Counters;

/// How long a gap may stay open before the missing changes are fetched from the store: pushes
/// from different committers race, so a short reorder window avoids needless fetches.
const GAP_WAIT: Duration = Duration::from_millis(3);

/// While a gap is open, how long the applier waits for the engine to apply the missing change
/// before it looks for pushes again: the extra delay a push arriving meanwhile can see.
const GAP_SLICE: Duration = Duration::from_micros(250);

/// How often the store is asked whether commits exist that no push announced (a committer that
/// died between commit and push, a dropped push at the tail of a burst).
const STORE_POLL: Duration = Duration::from_millis(50);

/// Changes held out of order at most; beyond it the newest are dropped and fetched later.
const MAX_REORDER: usize = 16384;

/// Changes fetched from the store per call.
const FETCH_BATCH: u32 = 1024;

/// Called with the lag (µs) of every pushed change applied.
pub type LagSink = Box<dyn Fn(u64) + Send>;

/// Every sender of the applier's queue is gone: the instance is shutting down.
struct Disconnected;

pub struct Applier {
    pub engine: Arc<Engine>,
    pub store: RemotePageStore,
    pub queue: Receiver<Received>,
    pub counters: Arc<Counters>,
    pub on_lag: LagSink,
}

impl Applier {
    /// Runs until every sender of the queue is gone (the instance shuts down).
    pub fn run(self) {
        let mut buffer: BTreeMap<Lsn, Received> = BTreeMap::new();
        let mut gap_since: Option<Instant> = None;
        let mut last_poll = Instant::now();
        loop {
            match self.next_received(&buffer) {
                Ok(Some(first)) => {
                    self.hold(&mut buffer, first);
                    // Drain what else is queued (bounded by the queue's capacity).
                    while let Ok(next) = self.queue.try_recv() {
                        self.hold(&mut buffer, next);
                    }
                }
                Ok(None) => {}
                Err(Disconnected) => return,
            }
            self.apply_ready(&mut buffer);
            let gap_open = !buffer.is_empty();
            gap_since = match (gap_open, gap_since) {
                (false, _) => None,
                (true, None) => Some(Instant::now()),
                (true, since) => since,
            };
            let gap_stale = gap_since.is_some_and(|t| t.elapsed() >= GAP_WAIT);
            if gap_stale || last_poll.elapsed() >= STORE_POLL {
                self.fetch_from_store();
                self.apply_ready(&mut buffer);
                last_poll = Instant::now();
                gap_since = None;
            }
        }
    }

    /// The next received change, if one comes within `GAP_WAIT` (no gap open) or `GAP_SLICE`
    /// (a gap open).
    ///
    /// While a gap is open the missing change is often this instance's own commit, which the
    /// committing session applies, not the applier: then wait on the engine in short slices
    /// (woken by that apply) and look for pushes in between, instead of sleeping on the queue
    /// while the buffered changes could already be applied.
    fn next_received(
        &self,
        buffer: &BTreeMap<Lsn, Received>,
    ) -> Result<Option<Received>, Disconnected> {
        let Some(&first) = buffer.keys().next() else {
            return match self.queue.recv_timeout(GAP_WAIT) {
                Ok(received) => Ok(Some(received)),
                Err(RecvTimeoutError::Timeout) => Ok(None),
                Err(RecvTimeoutError::Disconnected) => Err(Disconnected),
            };
        };
        self.engine.wait_applied(first - 1, GAP_SLICE);
        match self.queue.try_recv() {
            Ok(received) => Ok(Some(received)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(Disconnected),
        }
    }

    fn hold(&self, buffer: &mut BTreeMap<Lsn, Received>, received: Received) {
        if received.0.lsn <= self.engine.applied_lsn() {
            return;
        }
        if buffer.len() >= MAX_REORDER {
            // Keep the oldest: they unblock applying; the newest can be fetched later.
            if let Some(newest) = buffer.keys().next_back().copied() {
                if newest > received.0.lsn {
                    buffer.remove(&newest);
                } else {
                    return;
                }
            }
        }
        buffer.insert(received.0.lsn, received);
    }

    /// Apply buffered changes while they continue the applied LSN.
    fn apply_ready(&self, buffer: &mut BTreeMap<Lsn, Received>) {
        // Bounded by the buffer's size.
        while let Some((&lsn, _)) = buffer.first_key_value() {
            let applied = self.engine.applied_lsn();
            if lsn > applied + 1 {
                return;
            }
            let Some((change, acked)) = buffer.remove(&lsn) else {
                return;
            };
            if lsn <= applied {
                continue;
            }
            match self.engine.apply_change(&change) {
                Ok(()) => {
                    self.counters.applied_pushed.fetch_add(1, Relaxed);
                    if acked > 0 {
                        let lag = crate::unix_micros().saturating_sub(acked);
                        self.counters.last_lag_us.store(lag, Relaxed);
                        (self.on_lag)(lag);
                    }
                }
                Err(e) => tracing::warn!(lsn, error = %e, "could not apply a pushed change"),
            }
        }
    }

    /// Apply every change the store has after our applied LSN (bounded: one batch per call).
    fn fetch_from_store(&self) {
        let applied = self.engine.applied_lsn();
        match self.store.changes_after(applied, FETCH_BATCH) {
            Ok((changes, _latest)) => {
                for change in changes {
                    match self.engine.apply_change(&change) {
                        Ok(()) => {
                            self.counters.applied_fetched.fetch_add(1, Relaxed);
                        }
                        Err(e) => {
                            tracing::warn!(lsn = change.lsn, error = %e, "could not apply a fetched change");
                            return;
                        }
                    }
                }
            }
            Err(SubscribeError::Lagged { .. }) => {
                self.counters.resyncs.fetch_add(1, Relaxed);
                if let Err(e) = self.engine.resync() {
                    tracing::warn!(error = %e, "resynchronisation failed");
                }
            }
            Err(SubscribeError::Closed) => {
                tracing::debug!("page store unreachable while catching up");
            }
        }
    }
}
