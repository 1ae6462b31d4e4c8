//! Clean shutdown on SIGINT / SIGTERM without a signal-handling crate: the signals are blocked
//! in every thread and the main thread waits for them with sigwait(2).

pub struct ShutdownSignals {
    set: libc::sigset_t,
}

pub fn block_shutdown_signals() -> ShutdownSignals {
    // SAFETY: sigset_t is plain data; the libc calls only read/write the set we own, and
    // pthread_sigmask affects this thread and the threads it creates afterwards.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        ShutdownSignals { set }
    }
}

pub fn wait_for_shutdown(s: &ShutdownSignals) {
    let mut sig: libc::c_int = 0;
    // SAFETY: `s.set` was initialised by sigemptyset/sigaddset; `sig` is a valid out pointer.
    let rc = unsafe { libc::sigwait(&s.set, &mut sig) };
    tracing::info!(signal = sig, rc, "shutting down");
}
