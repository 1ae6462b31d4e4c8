//! Checkpoints: move page versions no pinned snapshot needs from memory into the base
//! database, then delete the log segments they came from.

use std::sync::atomic::Ordering;

use crate::api::Lsn;
use crate::base::{Meta, PageUpdate};
use crate::error::StoreError;
use crate::store::Inner;

impl Inner {
    /// Raise the oldest LSN to the reclaim horizon: min(oldest pin, latest durable LSN).
    /// Commits then drop the versions of their pages below it (see `Versions::push`), and a
    /// checkpoint writes the base up to it.
    pub(crate) fn advance_floor(&self) -> Lsn {
        let mut pins = self.pins.lock();
        let horizon = pins.advance_floor(self.durable.lsn());
        self.oldest_lsn.store(horizon, Ordering::SeqCst);
        horizon
    }

    /// Wake the checkpoint thread.
    pub(crate) fn request_checkpoint(&self) {
        *self.checkpoint_wake.lock() = true;
        self.checkpoint_cv.notify_one();
    }

    /// The checkpoint thread's body: checkpoint every interval or when asked; returns on close.
    pub(crate) fn run_checkpointer(&self) {
        // One iteration per interval or wake-up; ends on shutdown.
        loop {
            {
                let mut wake = self.checkpoint_wake.lock();
                if !*wake {
                    self.checkpoint_cv
                        .wait_for(&mut wake, self.opts.checkpoint_interval);
                }
                *wake = false;
            }
            if self.shutdown.load(Ordering::SeqCst) {
                return;
            }
            if self.durable.lsn() > self.checkpoint_lsn.load(Ordering::SeqCst) {
                if let Err(e) = self.checkpoint() {
                    tracing::warn!(error = %e, "checkpoint failed");
                }
            }
        }
    }

    /// Checkpoint up to the reclaim horizon: min(oldest pin, latest durable LSN).
    pub(crate) fn checkpoint(&self) -> Result<(), StoreError> {
        let _serial = self.checkpoint_lock.lock();
        if self.shutdown.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        if let Some(msg) = self.durable.failure() {
            return Err(StoreError::LogFailed(msg));
        }
        let horizon = self.advance_floor();
        if horizon <= self.checkpoint_lsn.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (newest, db_pages) = {
            let st = self.state.lock();
            (
                st.versions.newest_up_to(horizon),
                st.versions.db_pages_at(horizon),
            )
        };
        let updates: Vec<_> = newest
            .into_iter()
            .map(|(page_no, (lsn, image))| {
                let update = if page_no > db_pages {
                    PageUpdate::Remove
                } else {
                    PageUpdate::Put { lsn, image }
                };
                (page_no, update)
            })
            .collect();
        let meta = Meta {
            page_size: self.page_size,
            checkpoint_lsn: horizon,
            db_pages,
        };
        self.base.write_checkpoint(meta, &updates)?;
        {
            let mut st = self.state.lock();
            st.versions.prune(horizon);
            self.counters
                .retained_versions
                .store(st.versions.retained(), Ordering::Relaxed);
            st.last_write.retain(|_, w| w.0 > horizon);
            st.schema = st.schema.filter(|s| s.0 > horizon);
            self.checkpoint_lsn.store(horizon, Ordering::SeqCst);
        }
        self.log.lock().rotate_and_reclaim(horizon)?;
        self.counters
            .log_bytes_since_checkpoint
            .store(0, Ordering::Relaxed);
        self.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
