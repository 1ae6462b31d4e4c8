//! The scheduling priority of system threads: the page service process, the I/O threads of its
//! clients (which carry commit replies and run the commit hook) and the replication threads.
//!
//! A change crosses several threads between its commit and its apply on a peer (the page
//! service's reply, the committer's I/O thread, the push task, the peer's receive task, its
//! applier, and a fetch from the page service when a gap opens), and on a machine whose CPUs
//! are busy with sessions each wake-up can wait for a time slice: measured on 2 cores under 12
//! sysbench threads, the lag p99 was 22 ms with every thread at the sessions' priority, 9 ms with
//! the replication threads at nice -10, and about 5 ms with all system threads there; at nice -19
//! (the default) about 20 % below that again. These threads do little work per change, so raising
//! them costs the sessions little. As MySQL's
//! resource groups do for system threads, the value is a nice value; lowering it below 0 needs
//! `CAP_SYS_NICE` (or a `RLIMIT_NICE` that allows it), and without it the threads keep the
//! process's priority.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

/// The nice value system threads actually run at, and whether a refusal was logged.
#[derive(Debug)]
pub struct ThreadPriority {
    wanted: i32,
    /// The process's nice value, which the sessions' threads run at.
    base: i32,
    effective: AtomicI64,
    warned: AtomicBool,
}

impl ThreadPriority {
    /// Priority `wanted` (a nice value, -20..=19) for the threads that call [`Self::apply`].
    pub fn new(wanted: i32) -> ThreadPriority {
        let base = current_nice();
        ThreadPriority {
            wanted: wanted.clamp(-20, 19),
            base,
            effective: AtomicI64::new(i64::from(base)),
            warned: AtomicBool::new(false),
        }
    }

    /// Give the calling thread the wanted priority; a refusal is logged once and the thread
    /// runs on at its current priority.
    pub fn apply(&self) {
        match set_current_thread_nice(self.wanted) {
            Ok(()) => self.effective.store(i64::from(self.wanted), Relaxed),
            Err(e) => {
                if !self.warned.swap(true, Relaxed) {
                    tracing::warn!(
                        wanted = self.wanted,
                        error = %e,
                        "system threads keep their priority (a nice value below 0 needs \
                         CAP_SYS_NICE or RLIMIT_NICE); replication lag grows when the CPUs are busy"
                    );
                }
            }
        }
    }

    /// The nice value the system threads run at.
    pub fn effective(&self) -> i64 {
        self.effective.load(Relaxed)
    }

    /// By how many nice levels the system threads outrank the sessions' threads (0: not
    /// at all — the setting is 0 or above, or lowering the nice value was refused).
    pub fn boost(&self) -> u64 {
        (i64::from(self.base) - self.effective()).max(0) as u64
    }
}

/// The calling process's nice value (what new threads inherit).
fn current_nice() -> i32 {
    // SAFETY: getpriority has no memory effects; -1 is also a valid nice value, so errno would
    // tell an error apart, but PRIO_PROCESS with who = 0 (ourselves) cannot fail.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

/// On Linux, `setpriority(PRIO_PROCESS, tid)` sets the priority of one thread.
fn set_current_thread_nice(nice: i32) -> std::io::Result<()> {
    // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
    let done = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_can_lower_its_own_priority_and_reports_it() {
        let prio = std::sync::Arc::new(ThreadPriority::new(current_nice() + 1));
        let in_thread = prio.clone();
        let seen = std::thread::spawn(move || {
            in_thread.apply();
            current_thread_nice()
        })
        .join()
        .unwrap();
        assert_eq!(i64::from(seen), prio.effective());
        assert_eq!(seen, current_nice() + 1);
    }

    #[test]
    fn a_refused_priority_leaves_the_effective_one_unchanged() {
        if current_nice() == -20 {
            return; // nothing is below
        }
        let prio = ThreadPriority::new(-20);
        let before = prio.effective();
        let privileged = std::thread::scope(|s| {
            s.spawn(|| {
                prio.apply();
                current_thread_nice() == -20
            })
            .join()
            .unwrap()
        });
        let expected = if privileged { -20 } else { before };
        assert_eq!(prio.effective(), expected);
    }

    /// The calling thread's own nice value.
    fn current_thread_nice() -> i32 {
        // SAFETY: as above.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }
}
