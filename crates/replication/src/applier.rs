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
const GAP_WAIT: Duration = Duration::from_millis(1);

/// While a gap is open, how long the applier waits for the engine to apply the missing change
/// before it looks for pushes again: the extra delay a push arriving meanwhile can see.
const GAP_SLICE: Duration = Duration::from_micros(250);

/// How often the store is asked whether commits exist that no push announced (a committer that
/// died between commit and push, a dropped push at the tail of a burst) — only once no push
/// has arrived for as long: while pushes flow, a missing commit shows as a gap before the next
/// one and is fetched after [`GAP_WAIT`]. A poll blocks the applier for a round trip to the
/// store (milliseconds on a loaded machine), and every 50 ms under load that delayed a few
/// percent of the pushed changes, enough to set the lag's p99.
const STORE_POLL: Duration = Duration::from_millis(50);

/// Changes held out of order at most; beyond it the newest are dropped and fetched later.
const MAX_REORDER: usize = 16384;

/// Changes fetched from the store per call.
const FETCH_BATCH: u32 = 1024;

/// When recently fetched changes were applied, so that their pushes, arriving later, still
/// count in the lag: about two seconds of a busy cluster's commits.
const FETCHED_STAMPS: usize = 8192;

/// Called with the lag (µs) of every pushed change applied.
pub type LagSink = Arc<dyn Fn(u64) + Send + Sync>;

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
        let mut fetched = FetchedStamps::default();
        let mut gap_since: Option<Instant> = None;
        let mut last_poll = Instant::now();
        let mut last_push = Instant::now();
        let mut applied_seen = self.engine.applied_lsn();
        loop {
            // Changes applied by the threads that received them count as pushes arriving:
            // while they flow, there is nothing to poll the store for.
            let applied = self.engine.applied_lsn();
            if applied > applied_seen {
                applied_seen = applied;
                last_push = Instant::now();
            }
            // Those threads leave the pool's pin to us (it may wait for the store).
            self.engine.follow_applied();
            // With nothing buffered, nothing is due before the next quiet poll: a shorter
            // wait only woke the thread (a context switch) for nothing between pushes.
            let until_poll = STORE_POLL
                .saturating_sub(last_poll.elapsed().min(last_push.elapsed()))
                .max(GAP_WAIT);
            match self.next_received(&buffer, until_poll) {
                Ok(Some(first)) => {
                    last_push = Instant::now();
                    self.hold(&mut buffer, &fetched, first);
                    // Drain what else is queued (bounded by the queue's capacity).
                    while let Ok(next) = self.queue.try_recv() {
                        self.hold(&mut buffer, &fetched, next);
                    }
                }
                Ok(None) => {}
                Err(Disconnected) => return,
            }
            self.apply_ready(&mut buffer, &fetched);
            let gap_open = !buffer.is_empty();
            gap_since = match (gap_open, gap_since) {
                (false, _) => None,
                (true, None) => Some(Instant::now()),
                (true, since) => since,
            };
            let gap_stale = gap_since.is_some_and(|t| t.elapsed() >= GAP_WAIT);
            let quiet = last_poll.elapsed() >= STORE_POLL && last_push.elapsed() >= STORE_POLL;
            if gap_stale || quiet {
                // Only the gap: what follows it is buffered already.
                let missing = buffer.keys().next().map(|&first| {
                    let applied = self.engine.applied_lsn();
                    u32::try_from(first.saturating_sub(applied + 1)).unwrap_or(u32::MAX)
                });
                self.fetch_from_store(missing.unwrap_or(FETCH_BATCH), &mut fetched);
                self.apply_ready(&mut buffer, &fetched);
                last_poll = Instant::now();
                gap_since = None;
            }
        }
    }

    /// The next received change, if one comes within `idle_wait` (no gap open) or
    /// `GAP_SLICE` (a gap open).
    ///
    /// While a gap is open the missing change is often this instance's own commit, which the
    /// committing session applies, not the applier: then wait on the engine in short slices
    /// (woken by that apply) and look for pushes in between, instead of sleeping on the queue
    /// while the buffered changes could already be applied.
    fn next_received(
        &self,
        buffer: &BTreeMap<Lsn, Received>,
        idle_wait: Duration,
    ) -> Result<Option<Received>, Disconnected> {
        let Some(&first) = buffer.keys().next() else {
            return match self.queue.recv_timeout(idle_wait) {
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

    fn hold(
        &self,
        buffer: &mut BTreeMap<Lsn, Received>,
        fetched: &FetchedStamps,
        received: Received,
    ) {
        if received.change.lsn <= self.engine.applied_lsn() {
            self.note_applied_before_push(fetched, &received);
            return;
        }
        if buffer.len() >= MAX_REORDER {
            // Keep the oldest: they unblock applying; the newest can be fetched later.
            if let Some(newest) = buffer.keys().next_back().copied() {
                if newest > received.change.lsn {
                    buffer.remove(&newest);
                } else {
                    return;
                }
            }
        }
        buffer.insert(received.change.lsn, received);
    }

    /// Apply buffered changes while they continue the applied LSN.
    fn apply_ready(&self, buffer: &mut BTreeMap<Lsn, Received>, fetched: &FetchedStamps) {
        // Bounded by the buffer's size.
        while let Some((&lsn, _)) = buffer.first_key_value() {
            let applied = self.engine.applied_lsn();
            if lsn > applied + 1 {
                return;
            }
            let Some(received) = buffer.remove(&lsn) else {
                return;
            };
            if lsn <= applied {
                self.note_applied_before_push(fetched, &received);
                continue;
            }
            match self
                .engine
                .apply_change_with_images(&received.change, &received.images.pages)
            {
                Ok(()) => {
                    self.counters.applied_pushed.fetch_add(1, Relaxed);
                    self.record_lag(received.acked, crate::unix_micros());
                }
                Err(e) => tracing::warn!(lsn, error = %e, "could not apply a pushed change"),
            }
        }
    }

    /// Apply the next changes (at most `max`, at most one batch) the store has after our
    /// applied LSN.
    fn fetch_from_store(&self, max: u32, fetched: &mut FetchedStamps) {
        let applied = self.engine.applied_lsn();
        match self.store.changes_after(applied, max.clamp(1, FETCH_BATCH)) {
            Ok((changes, _latest)) => {
                for change in changes {
                    let was_applied = change.lsn <= self.engine.applied_lsn();
                    match self.engine.apply_change(&change) {
                        Ok(()) if was_applied => {}
                        Ok(()) => {
                            self.counters.applied_fetched.fetch_add(1, Relaxed);
                            fetched.push(change.lsn, crate::unix_micros());
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

    /// A push for a change applied before it arrived (fetched from the store to fill a gap):
    /// its lag ends when the fetched copy was applied, or now if that is no longer known.
    fn note_applied_before_push(&self, fetched: &FetchedStamps, received: &Received) {
        let applied_at = fetched.applied_at(received.change.lsn);
        self.record_lag(
            received.acked,
            applied_at.unwrap_or_else(crate::unix_micros),
        );
    }

    fn record_lag(&self, acked: u64, applied_at: u64) {
        record_lag(&self.counters, &self.on_lag, acked, applied_at);
    }
}

/// Record the lag of a pushed change acknowledged at `acked` and applied at `applied_at`
/// (Unix µs; `acked` 0 = this instance's own commit, which has no lag).
pub(crate) fn record_lag(counters: &Counters, on_lag: &LagSink, acked: u64, applied_at: u64) {
    if acked == 0 {
        return;
    }
    let lag = applied_at.saturating_sub(acked);
    counters.last_lag_us.store(lag, Relaxed);
    on_lag(lag);
}

/// When the most recent fetched changes were applied, in LSN order (bounded by
/// [`FETCHED_STAMPS`]).
#[derive(Default)]
struct FetchedStamps(std::collections::VecDeque<(Lsn, u64)>);

impl FetchedStamps {
    fn push(&mut self, lsn: Lsn, applied_at: u64) {
        debug_assert!(self.0.back().is_none_or(|&(last, _)| last < lsn));
        if self.0.len() == FETCHED_STAMPS {
            self.0.pop_front();
        }
        self.0.push_back((lsn, applied_at));
    }

    fn applied_at(&self, lsn: Lsn) -> Option<u64> {
        let i = self.0.partition_point(|&(l, _)| l < lsn);
        self.0.get(i).filter(|&&(l, _)| l == lsn).map(|&(_, at)| at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_stamps_find_exact_lsns_and_forget_the_oldest() {
        let mut stamps = FetchedStamps::default();
        for lsn in (10..10 + FETCHED_STAMPS as Lsn * 2).step_by(2) {
            stamps.push(lsn, lsn * 100);
        }
        assert_eq!(stamps.applied_at(12), Some(1_200));
        assert_eq!(stamps.applied_at(13), None, "never fetched");
        stamps.push(10 + FETCHED_STAMPS as Lsn * 2, 7);
        assert_eq!(stamps.applied_at(10), None, "forgotten: bounded");
        assert_eq!(stamps.applied_at(10 + FETCHED_STAMPS as Lsn * 2), Some(7));
        assert_eq!(stamps.0.len(), FETCHED_STAMPS);
    }
}
