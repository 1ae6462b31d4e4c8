//! How far the commit log is durable, or why it failed, and the committers waiting for it.
//!
//! Committers wait here for their LSN after appending their record; the flusher advances the
//! durable LSN after each fsync. Each waiter parks its own thread and is woken only when its own
//! LSN is durable, so a flush wakes exactly the committers it made durable and nothing else.
//! A condition variable with one mutex made every flush a chain: the woken committers re-took
//! the mutex one after another, and new committers checking for a failure queued behind them
//! (measured with `perf record -e sched:sched_switch`: 2.4 of a session thread's 6 sleeps per
//! oltp_insert transaction were on that mutex).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, Thread};

use parking_lot::Mutex;

use crate::api::Lsn;

/// One committer waiting for its LSN.
struct Waiter {
    lsn: Lsn,
    /// Names the entry, so that its waiter can take it back out (`forget`, `take`).
    token: u64,
    wake: Wake,
}

/// What [`Durability::when_durable`] runs: with `Ok` once the LSN is durable, or with the
/// log's failure. It runs on the flusher's thread, so it must be quick and never block.
pub(crate) type DurableCall = Box<dyn FnOnce(Result<(), String>) + Send>;

/// How a waiter is woken: a parked thread, or a call made on the waking thread (the page
/// service's commit links: the reply goes out from the flusher, with no thread woken to send
/// it, and the commit holds no thread while its fsync runs).
enum Wake {
    Thread(Thread),
    Call(DurableCall),
}

impl Wake {
    /// `failure`: why the log failed, if that is why the waiter is woken.
    fn wake(self, failure: Option<&str>) {
        match self {
            Wake::Thread(thread) => thread.unpark(),
            Wake::Call(call) => call(failure.map_or(Ok(()), |m| Err(m.to_string()))),
        }
    }
}

pub(crate) struct Durability {
    /// Every record with an LSN ≤ this is on disk; only ever grows.
    lsn: AtomicU64,
    /// Mirror of `failure.is_some()`, so the commit path checks it without a lock.
    failed: AtomicBool,
    /// Why the log refuses writes; set once, never cleared (the store must be reopened).
    failure: Mutex<Option<String>>,
    /// Committers waiting until their LSN is durable. Bounded by the number of commits in
    /// flight: each registers once per commit and is removed when woken, or by itself when it
    /// returns on a failure. An entry registered
    /// just after the flush that made its LSN durable stays until the next flush wakes it.
    waiters: Mutex<Vec<Waiter>>,
    /// Source of waiter tokens.
    next_token: AtomicU64,
}

impl Durability {
    pub(crate) fn new(lsn: Lsn) -> Durability {
        Durability {
            lsn: AtomicU64::new(lsn),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            waiters: Mutex::new(Vec::new()),
            next_token: AtomicU64::new(0),
        }
    }

    /// The durable LSN.
    pub(crate) fn lsn(&self) -> Lsn {
        self.lsn.load(Ordering::SeqCst)
    }

    /// Why the log failed, if it did.
    pub(crate) fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::SeqCst) {
            return None;
        }
        self.failure.lock().clone()
    }

    /// Block until `lsn` is durable (Ok) or the log failed (Err with the reason).
    pub(crate) fn wait(&self, lsn: Lsn) -> Result<(), String> {
        let mut registered: Option<u64> = None;
        // Each pass ends in a park that only a flush or a failure ends (or a stale unpark
        // token, at most once); so the loop is bounded by the flusher's progress.
        loop {
            if self.lsn() >= lsn {
                return Ok(());
            }
            if let Some(msg) = self.failure() {
                if let Some(token) = registered {
                    self.forget(token);
                }
                return Err(msg);
            }
            if registered.is_none() {
                let token = self.next_token.fetch_add(1, Ordering::Relaxed);
                self.waiters.lock().push(Waiter {
                    lsn,
                    token,
                    wake: Wake::Thread(thread::current()),
                });
                registered = Some(token);
                // Re-check: a flush or failure between the check above and the push could
                // not see this waiter.
                continue;
            }
            thread::park();
        }
    }

    /// Run `call` once `lsn` is durable (at once if it is), or with the reason once the log
    /// has failed. Never blocks.
    pub(crate) fn when_durable(&self, lsn: Lsn, call: DurableCall) {
        if self.lsn() >= lsn {
            return call(Ok(()));
        }
        if let Some(msg) = self.failure() {
            return call(Err(msg));
        }
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.waiters.lock().push(Waiter {
            lsn,
            token,
            wake: Wake::Call(call),
        });
        // Re-check: a flush or failure between the checks above and the push could not see
        // this waiter. Whoever takes the entry out of the list runs it, so it runs once.
        let durable = self.lsn() >= lsn;
        if durable || self.failed.load(Ordering::SeqCst) {
            if let Some(waiter) = self.take(token) {
                let failure = if durable { None } else { self.failure() };
                waiter.wake.wake(failure.as_deref());
            }
        }
    }

    /// The flusher made every LSN ≤ `lsn` durable: readers may see it from now on. Its
    /// committers are woken by [`Durability::wake`] (a committer that arrives in between
    /// returns at once).
    pub(crate) fn publish(&self, lsn: Lsn) {
        let before = self.lsn.swap(lsn, Ordering::SeqCst);
        assert!(
            before <= lsn,
            "durable LSN went back from {before} to {lsn}"
        );
    }

    /// Wake the committers of every LSN ≤ `lsn`, which must be published.
    pub(crate) fn wake(&self, lsn: Lsn) {
        assert!(lsn <= self.lsn(), "waking LSN {lsn} before it is durable");
        let ready: Vec<Waiter> = {
            let mut waiters = self.waiters.lock();
            let (ready, waiting) = std::mem::take(&mut *waiters)
                .into_iter()
                .partition(|w| w.lsn <= lsn);
            *waiters = waiting;
            ready
        };
        for w in ready {
            w.wake.wake(None);
        }
    }

    /// The log failed (or the store closed): refuse every later commit with `msg` (the first
    /// reason wins) and wake every waiter.
    pub(crate) fn fail(&self, msg: String) {
        self.failure.lock().get_or_insert(msg);
        self.failed.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut *self.waiters.lock());
        let reason = self.failure();
        for w in waiters {
            w.wake.wake(reason.as_deref());
        }
    }

    /// Drop the entry of a waiter that returns on a failure: one that registered after
    /// [`Durability::fail`] took the list would otherwise stay, as no flush follows a failure.
    fn forget(&self, token: u64) {
        self.waiters.lock().retain(|w| w.token != token);
    }

    /// Take a waiter's entry out of the list, if it is still there.
    fn take(&self, token: u64) -> Option<Waiter> {
        let mut waiters = self.waiters.lock();
        let i = waiters.iter().position(|w| w.token == token)?;
        Some(waiters.swap_remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn waiters_wake_when_their_lsn_is_durable() {
        let d = Arc::new(Durability::new(0));
        let handles: Vec<_> = (1..=4u64)
            .map(|lsn| {
                let d = Arc::clone(&d);
                thread::spawn(move || {
                    d.wait(lsn).unwrap();
                    assert!(d.lsn() >= lsn, "woken only once durable");
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(20));
        d.publish(2);
        d.wake(2);
        thread::sleep(Duration::from_millis(20));
        d.publish(4);
        d.wake(4);
        for h in handles {
            h.join().unwrap();
        }
        assert!(d.waiters.lock().is_empty(), "no waiter left behind");
    }

    #[test]
    fn a_failure_wakes_every_waiter_with_its_reason() {
        let d = Arc::new(Durability::new(5));
        assert_eq!(d.wait(5), Ok(()), "already durable");
        let waiter = {
            let d = Arc::clone(&d);
            thread::spawn(move || d.wait(6))
        };
        thread::sleep(Duration::from_millis(20));
        d.fail("disk full".into());
        d.fail("closed".into());
        assert_eq!(waiter.join().unwrap(), Err("disk full".to_string()));
        assert_eq!(
            d.failure().as_deref(),
            Some("disk full"),
            "first reason wins"
        );
        assert_eq!(d.wait(7), Err("disk full".to_string()));
        assert!(d.waiters.lock().is_empty());
    }

    #[test]
    fn a_call_runs_once_when_durable_or_with_the_failure() {
        let d = Durability::new(3);
        let (tx, rx) = std::sync::mpsc::channel();
        let call = |tag: u64| -> DurableCall {
            let tx = tx.clone();
            Box::new(move |r| tx.send((tag, r)).unwrap())
        };
        d.when_durable(3, call(3));
        assert_eq!(
            rx.try_recv(),
            Ok((3, Ok(()))),
            "already durable: run at once"
        );
        d.when_durable(5, call(5));
        d.when_durable(4, call(4));
        assert!(rx.try_recv().is_err(), "not yet durable");
        d.publish(4);
        d.wake(4);
        assert_eq!(rx.try_recv(), Ok((4, Ok(()))));
        assert!(rx.try_recv().is_err(), "5 is not durable");
        d.fail("disk full".into());
        assert_eq!(rx.try_recv(), Ok((5, Err("disk full".to_string()))));
        d.when_durable(6, call(6));
        assert_eq!(rx.try_recv(), Ok((6, Err("disk full".to_string()))));
        assert!(rx.try_recv().is_err(), "each call ran once");
        assert!(d.waiters.lock().is_empty());
    }

    #[test]
    #[should_panic(expected = "went back")]
    fn the_durable_lsn_never_goes_back() {
        let d = Durability::new(3);
        d.publish(2);
    }
}
