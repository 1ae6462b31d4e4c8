//! The flusher: one thread takes every pending record, writes them with one `write`, syncs
//! once, then makes them readable and wakes their committers (group commit).

use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::store::Inner;

/// Largest log buffer the flusher keeps for the next batch (see `run_flusher`).
const SPARE_BUFFER_MAX: usize = 1 << 20;

impl Inner {
    /// The flusher thread's body; returns once closed and drained.
    pub(crate) fn run_flusher(&self) {
        // The last batch's buffer, emptied, to take the next batch's records: a commit then
        // appends its record without growing a new buffer from nothing.
        let mut spare: Vec<u8> = Vec::new();
        // One iteration per batch; ends when shutdown is requested and nothing is pending.
        loop {
            let (buf, changes, images, last_lsn) = {
                let mut pending = self.pending.lock();
                while pending.buf.is_empty() && !pending.shutdown {
                    self.work_cv.wait(&mut pending);
                }
                if pending.buf.is_empty() {
                    return;
                }
                // Commits that are being validated right now would miss this fsync and wait
                // for the next one: wait for them a little, so they share it. Bounded by
                // `gather_wait` (zero: never); a lone committer is flushed at once.
                let wait = self.opts.gather_wait;
                let deadline = Instant::now() + wait;
                while !wait.is_zero()
                    && self.committing.load(Ordering::SeqCst) > 0
                    && !pending.shutdown
                {
                    if self.work_cv.wait_until(&mut pending, deadline).timed_out() {
                        break;
                    }
                }
                let batch = (
                    std::mem::replace(&mut pending.buf, std::mem::take(&mut spare)),
                    std::mem::take(&mut pending.changes),
                    std::mem::take(&mut pending.images),
                    pending.last_lsn,
                );
                drop(pending);
                self.room_cv.notify_all();
                batch
            };
            let result = match self.durable.failure() {
                Some(msg) => Err(msg),
                None => self
                    .log
                    .lock()
                    .append(&buf, last_lsn)
                    .map_err(|e| e.to_string()),
            };
            match result {
                Ok(synced) => {
                    if synced {
                        self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
                    }
                    let since = self
                        .counters
                        .log_bytes_since_checkpoint
                        .fetch_add(buf.len() as u64, Ordering::Relaxed);
                    self.durable.publish(last_lsn);
                    // Before the committers wake: their next snapshot (in an engine that
                    // listens) then already holds their commit.
                    self.call_durable_listeners(&changes, &images);
                    self.durable.wake(last_lsn);
                    self.feed.push(&changes);
                    let mut images = self.retained_bytes();
                    if images > self.opts.checkpoint_image_bytes / 2 {
                        images = self.collapse_versions();
                    }
                    if since + buf.len() as u64 > self.opts.checkpoint_log_bytes
                        || images > self.opts.checkpoint_image_bytes
                    {
                        self.request_checkpoint();
                    }
                }
                Err(msg) => {
                    tracing::error!(error = %msg, "commit log write failed; refusing further commits");
                    self.durable.fail(msg);
                }
            }
            // Kept only while small: one huge commit must not pin its buffer's memory.
            if buf.capacity() <= SPARE_BUFFER_MAX {
                spare = buf;
                spare.clear();
            }
        }
    }
}

impl Inner {
    /// Bytes of the page versions held in memory.
    fn retained_bytes(&self) -> u64 {
        self.counters.retained_versions.load(Ordering::Relaxed) * self.page_size as u64
    }

    /// Reclaim in memory, without a checkpoint: raise the oldest LSN to the oldest pin and
    /// keep, of each page, only the versions a read at or above it sees. A page written over
    /// and over otherwise held every version until a checkpoint wrote it to disk, which an
    /// update-heavy load then paid several times a second. Returns the bytes still held.
    fn collapse_versions(&self) -> u64 {
        let horizon = self.advance_floor();
        // A pass over every page's versions frees nothing new until the horizon moves (a
        // remote instance's lease moves it every 250 ms; commits may come far more often).
        if self.counters.collapsed_at.swap(horizon, Ordering::Relaxed) == horizon {
            return self.retained_bytes();
        }
        let mut st = self.state.lock();
        st.versions.collapse(horizon);
        let retained = st.versions.retained();
        self.counters
            .retained_versions
            .store(retained, Ordering::Relaxed);
        retained * self.page_size as u64
    }

    /// Hand every change of a durable batch, with its page images, to the listeners in order.
    fn call_durable_listeners(
        &self,
        changes: &[crate::api::CommittedChange],
        images: &[Vec<std::sync::Arc<[u8]>>],
    ) {
        assert_eq!(changes.len(), images.len(), "one image list per change");
        let mut listeners = self.durable_listeners.lock();
        // Bounded: the listeners of engines that are gone are dropped here.
        listeners.retain(|listener| {
            changes.iter().zip(images).all(|(change, images)| {
                assert_eq!(change.deltas.len(), images.len(), "one image per delta");
                listener(change, images)
            })
        });
    }
}
