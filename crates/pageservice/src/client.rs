//! `RemotePageStore`: the [`PageStore`] an instance uses to reach the storage process.
//!
//! Calls block the calling thread (sessions run on their own threads). Commits go on the
//! client's commit link ([`crate::commit_link`]); every other call is gRPC, on a small private
//! tokio runtime. Reads are idempotent and retried briefly so a restarting storage process is
//! ridden out; a commit is sent once, and a lost reply is reported as
//! [`CommitError::Unavailable`] (the outcome is unknown — never guessed).
//!
//! Snapshots are pinned in this process; the store only holds one lease per client at the
//! client's *horizon* (its oldest pinned LSN), renewed every [`RENEW_EVERY`]. A pin below the
//! horizon already granted lowers the lease synchronously first, so the store never reclaims a
//! version a local pin can still read.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use borealis_pagestore::{
    CommitError, CommitReceipt, CommittedChange, Lsn, PageDelta, PageNo, PageStore, PageVersion,
    ReadError, SnapshotPin, StoreStats, SubscribeError, Subscription, WriteSet,
};
use borealis_rpc::pageservice as pb;
use borealis_rpc::pageservice::page_service_client::PageServiceClient;
use parking_lot::{Condvar, Mutex, MutexGuard};
use tonic::transport::{Channel, Endpoint};

use crate::commit_link::client::{CommitLink, Completion, Ticket};
use crate::membership::MemberInfo;
use crate::priority::ThreadPriority;

/// How often the lease on the client's horizon is renewed (the store's lease is 10 s).
pub const RENEW_EVERY: Duration = Duration::from_millis(250);

/// Back-off between attempts of an idempotent call; its length bounds the retries (≈ 1.5 s,
/// long enough for a storage process restart to start listening again).
const RETRY_BACKOFF_MS: [u64; 5] = [20, 80, 200, 400, 800];

/// Each call gives up after this long (a commit's fsync plus a busy store fits well within).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Commits whose database size is remembered, so the engine's `db_pages(lsn)` right after its
/// own commit needs no round trip.
const RECENT_SIZES: usize = 64;

/// Changes fetched per `ChangesAfter` call while catching up.
const CATCH_UP_BATCH: u32 = 256;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid page service address {addr}: {reason}")]
    Address { addr: String, reason: String },
    #[error("cannot reach the page service at {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("page service at {addr} refused: {reason}")]
    Refused { addr: String, reason: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Called on the commit link's reader thread with each commit made through this client, as
/// soon as its reply arrives — before the committing session's thread is woken, so a session
/// waiting for a CPU does not hold the change back from the peers (replication pushes from
/// here). It must be quick and must not block. With the change come the committing session's new images of
/// the pages the store did not merge, when it gave them (`commit_merging_with_images`).
pub type CommitHook = Box<dyn Fn(&CommittedChange, &HashMap<PageNo, Arc<[u8]>>) + Send + Sync>;

struct HorizonState {
    pins: BTreeMap<Lsn, usize>,
    /// The horizon the store has granted us; `None` before the first pin.
    granted: Option<Lsn>,
    max_pinned: Lsn,
}

/// Where a session waits for its commit's completion.
#[derive(Default)]
struct CommitSlot {
    result: Mutex<Option<Result<CommitReceipt, CommitError>>>,
    filled: Condvar,
}

impl CommitSlot {
    fn fill(&self, result: Result<CommitReceipt, CommitError>) {
        let mut slot = self.result.lock();
        debug_assert!(slot.is_none(), "a commit completed twice");
        *slot = Some(result);
        self.filled.notify_one();
    }

    /// The commit's result; past [`CALL_TIMEOUT`] the commit is abandoned as unavailable,
    /// unless its completion has already begun (then it is waited for: it does not block).
    fn wait(&self, ticket: &Ticket) -> Result<CommitReceipt, CommitError> {
        let deadline = Instant::now() + CALL_TIMEOUT;
        let mut result = self.result.lock();
        // Bounded by the deadline, then by the completion, which only builds the receipt.
        loop {
            if let Some(r) = result.take() {
                return r;
            }
            if self.filled.wait_until(&mut result, deadline).timed_out() && result.is_none() {
                let abandoned = MutexGuard::unlocked(&mut result, || ticket.abandon());
                if abandoned.is_some() {
                    return Err(CommitError::Unavailable(format!(
                        "no commit reply from the page service within {CALL_TIMEOUT:?}; \
                         the commit's outcome is unknown"
                    )));
                }
                // Its completion is running: wait for it without a deadline.
                while result.is_none() {
                    self.filled.wait(&mut result);
                }
            }
        }
    }
}

struct Inner {
    /// Runs the gRPC calls; commits go on `link` instead.
    runtime: tokio::runtime::Runtime,
    link: CommitLink,
    client: PageServiceClient<Channel>,
    addr: String,
    page_size: usize,
    client_id: u64,
    horizon: Mutex<HorizonState>,
    latest_seen: AtomicU64,
    recent_sizes: Mutex<VecDeque<(Lsn, u32)>>,
    renewing: AtomicBool,
    commit_hook: OnceLock<CommitHook>,
}

/// The page store of a storage process, reached over gRPC.
#[derive(Clone)]
pub struct RemotePageStore {
    inner: Arc<Inner>,
}

impl RemotePageStore {
    /// Connect to the page service at `addr` (`host:port`), retrying until `wait` has passed
    /// (the storage process may still be starting).
    pub fn connect(addr: &str, wait: Duration) -> Result<RemotePageStore, ClientError> {
        Self::connect_at_priority(addr, wait, None)
    }

    /// [`Self::connect`], with the client's I/O threads (among them the commit link's reader,
    /// which delivers commit replies and runs the commit hook) at `priority`.
    pub fn connect_at_priority(
        addr: &str,
        wait: Duration,
        priority: Option<Arc<ThreadPriority>>,
    ) -> Result<RemotePageStore, ClientError> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        // One worker, as in the page service (`borealis_pageservice::serve`): a second one mostly
        // woke up to steal short tasks, a context switch each time.
        builder
            .worker_threads(1)
            .thread_name("pageservice-client")
            .enable_all();
        if let Some(priority) = priority.clone() {
            builder.on_thread_start(move || priority.apply());
        }
        let runtime = builder.build().map_err(ClientError::Runtime)?;
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| ClientError::Address {
                addr: addr.to_string(),
                reason: e.to_string(),
            })?
            .connect_timeout(Duration::from_secs(1))
            .timeout(CALL_TIMEOUT)
            .tcp_nodelay(true);
        // The lazy channel spawns its connection task on the current runtime.
        let channel = {
            let _in_runtime = runtime.enter();
            endpoint.connect_lazy()
        };
        let client = PageServiceClient::new(channel)
            .max_decoding_message_size(borealis_rpc::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(borealis_rpc::MAX_MESSAGE_BYTES);
        let deadline = Instant::now() + wait;
        // Bounded by `wait`: one attempt per 100 ms.
        let hello = loop {
            let mut c = client.clone();
            let attempt = runtime.block_on(c.hello(pb::HelloRequest {
                format_version: borealis_rpc::FORMAT_VERSION,
            }));
            match attempt {
                Ok(reply) => break reply.into_inner(),
                Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                    return Err(ClientError::Refused {
                        addr: addr.to_string(),
                        reason: status.message().to_string(),
                    })
                }
                Err(status) if Instant::now() >= deadline => {
                    return Err(ClientError::Unreachable {
                        addr: addr.to_string(),
                        reason: status.message().to_string(),
                    })
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        Ok(RemotePageStore {
            inner: Arc::new(Inner {
                runtime,
                link: CommitLink::new(addr, priority),
                client,
                addr: addr.to_string(),
                page_size: hello.page_size as usize,
                client_id: rand::random(),
                horizon: Mutex::new(HorizonState {
                    pins: BTreeMap::new(),
                    granted: None,
                    max_pinned: 0,
                }),
                latest_seen: AtomicU64::new(hello.latest_lsn),
                recent_sizes: Mutex::new(VecDeque::new()),
                renewing: AtomicBool::new(false),
                commit_hook: OnceLock::new(),
            }),
        })
    }

    /// Set the [`CommitHook`] (once); false if one is already set.
    pub fn set_commit_hook(&self, hook: CommitHook) -> bool {
        self.inner.commit_hook.set(hook).is_ok()
    }

    /// The address this client talks to.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// Announce (or renew) this instance in the cluster's membership; returns every member.
    pub fn register(&self, me: &MemberInfo) -> Result<Vec<MemberInfo>, String> {
        let reply = self
            .inner
            .call(|mut c| async move { c.register(me.to_wire()).await })
            .map_err(|s| s.message().to_string())?;
        if !reply.refused.is_empty() {
            return Err(reply.refused);
        }
        self.inner.saw_latest(reply.latest_lsn);
        Ok(members_from_wire(reply))
    }

    /// Leave the membership (graceful shutdown).
    pub fn deregister(&self, slot: u16, incarnation: u64) {
        let req = pb::DeregisterRequest {
            slot: u32::from(slot),
            incarnation,
        };
        let _ = self
            .inner
            .call(|mut c| async move { c.deregister(req).await });
    }

    /// Every member of the cluster as the storage process knows it.
    pub fn members(&self) -> Result<Vec<MemberInfo>, String> {
        self.inner
            .call(|mut c| async move { c.members(pb::Empty {}).await })
            .map(members_from_wire)
            .map_err(|s| s.message().to_string())
    }
}

fn members_from_wire(reply: pb::MembersReply) -> Vec<MemberInfo> {
    reply
        .members
        .into_iter()
        .filter_map(MemberInfo::from_wire)
        .collect()
}

fn unavailable(status: &tonic::Status) -> ReadError {
    ReadError::Io(std::io::Error::other(format!(
        "page service unavailable: {}",
        status.message()
    )))
}

impl Inner {
    /// An idempotent call, retried with back-off while the service is unreachable.
    fn call<T, F, Fut>(&self, f: F) -> Result<T, tonic::Status>
    where
        F: Fn(PageServiceClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut last = None;
        for pause in std::iter::once(0).chain(RETRY_BACKOFF_MS) {
            std::thread::sleep(Duration::from_millis(pause));
            match self.runtime.block_on(f(self.client.clone())) {
                Ok(reply) => return Ok(reply.into_inner()),
                Err(s) if retryable(&s) => last = Some(s),
                Err(s) => return Err(s),
            }
        }
        Err(last.unwrap_or_else(|| tonic::Status::unavailable("no attempt made")))
    }

    /// Finish a commit sent once on the commit link (retrying one whose reply was lost could
    /// commit it twice): its receipt, after the hook has seen the committed change. Runs on
    /// the link's reader thread.
    fn finish_commit(
        &self,
        reply: Result<pb::CommitReply, String>,
        ws: WriteSet,
        images: Vec<Option<Arc<[u8]>>>,
    ) -> Result<CommitReceipt, CommitError> {
        let reply = reply.map_err(CommitError::Unavailable)?;
        // The images by page, for the hook: the i-th image is of the i-th delta's page.
        let mut by_page: HashMap<PageNo, Arc<[u8]>> = HashMap::new();
        if self.commit_hook.get().is_some() {
            let pages = ws.deltas.iter().map(|d| d.page_no);
            by_page.extend(pages.zip(images).filter_map(|(p, i)| i.map(|i| (p, i))));
        }
        let origin = ws.origin;
        let receipt = self.receipt(reply, ws.deltas)?;
        // A write set without deltas committed nothing (the receipt names the latest LSN).
        if let (Some(hook), false) = (self.commit_hook.get(), receipt.deltas.is_empty()) {
            // A merged page's image is the session's, not the committed one.
            for page_no in &receipt.merged {
                by_page.remove(page_no);
            }
            hook(&receipt.committed_change(origin), &by_page);
        }
        Ok(receipt)
    }

    /// The receipt of a commit of `deltas`, whose merged pages the reply brings.
    fn receipt(
        &self,
        reply: pb::CommitReply,
        mut deltas: Vec<PageDelta>,
    ) -> Result<CommitReceipt, CommitError> {
        match reply.result {
            Some(pb::commit_reply::Result::Committed(c)) => {
                self.saw_latest(c.lsn);
                let mut merged = Vec::with_capacity(c.merged.len());
                for d in c.merged {
                    let delta = borealis_rpc::delta_from_wire(d, self.page_size)
                        .map_err(|e| CommitError::Unavailable(format!("commit {}: {e}", c.lsn)))?;
                    let Some(slot) = deltas.iter_mut().find(|w| w.page_no == delta.page_no) else {
                        return Err(CommitError::Unavailable(format!(
                            "commit {}: merged page {} was not written",
                            c.lsn, delta.page_no
                        )));
                    };
                    merged.push(delta.page_no);
                    *slot = delta;
                }
                let mut sizes = self.recent_sizes.lock();
                if sizes.len() == RECENT_SIZES {
                    sizes.pop_front();
                }
                sizes.push_back((c.lsn, c.db_pages));
                Ok(CommitReceipt {
                    lsn: c.lsn,
                    db_pages: c.db_pages,
                    deltas: Arc::new(deltas),
                    merged,
                })
            }
            Some(pb::commit_reply::Result::Conflict(c)) => {
                let conflict = borealis_rpc::conflict_from_wire(c)
                    .map_err(|e| CommitError::Invalid(e.to_string()))?;
                Err(CommitError::Conflict(conflict))
            }
            Some(pb::commit_reply::Result::Failure(f)) => {
                Err(borealis_rpc::commit_failure_from_wire(f))
            }
            None => Err(CommitError::Unavailable("empty Commit reply".into())),
        }
    }

    fn saw_latest(&self, lsn: Lsn) {
        self.latest_seen.fetch_max(lsn, Ordering::Relaxed);
    }

    /// Ask the store to hold our lease at `horizon`.
    fn set_horizon(&self, horizon: Lsn) -> Result<bool, tonic::Status> {
        let req = pb::HorizonRequest {
            client_id: self.client_id,
            horizon,
        };
        self.call(|mut c| async move { c.set_horizon(req).await })
            .map(|r| r.granted)
    }

    fn pin(self: &Arc<Self>, at: Lsn) -> Result<SnapshotPin, ReadError> {
        let mut state = self.horizon.lock();
        if state.granted.is_none_or(|g| at < g) {
            // Lower (or take) the lease before the pin exists: held under the lock so the
            // renewer cannot raise it past `at` in between.
            match self.set_horizon(at) {
                Ok(true) => state.granted = Some(at),
                Ok(false) => {
                    return Err(ReadError::NotRetained {
                        requested: at,
                        oldest: at + 1,
                        latest: self.latest_seen.load(Ordering::Relaxed),
                    })
                }
                Err(s) => return Err(unavailable(&s)),
            }
        }
        *state.pins.entry(at).or_insert(0) += 1;
        state.max_pinned = state.max_pinned.max(at);
        drop(state);
        self.start_renewer();
        let weak = Arc::downgrade(self);
        Ok(SnapshotPin::new(at, Box::new(move || unpin(&weak, at))))
    }

    /// The lease renewer: one thread per client, started with the first pin, ending when the
    /// client is dropped.
    fn start_renewer(self: &Arc<Self>) {
        if self.renewing.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("pageservice-lease".into())
            .spawn(move || renew_loop(weak));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the lease renewer");
            self.renewing.store(false, Ordering::Release);
        }
    }

    /// One renewal: move the lease to the oldest local pin (or, with none, to the newest LSN
    /// both pinned before and seen, which new snapshots will be at or above).
    fn renew(&self) {
        let mut state = self.horizon.lock();
        let Some(granted) = state.granted else {
            return;
        };
        let latest = self.latest_seen.load(Ordering::Relaxed);
        let wanted = match state.pins.keys().next() {
            Some(&oldest) => oldest,
            None => state.max_pinned.min(latest),
        }
        .max(granted);
        match self.set_horizon(wanted) {
            Ok(true) => state.granted = Some(wanted),
            Ok(false) => {
                tracing::error!(horizon = wanted, "page service refused to renew the lease");
                state.granted = None;
            }
            Err(s) => tracing::warn!(error = %s.message(), "lease renewal failed"),
        }
    }
}

fn renew_loop(weak: Weak<Inner>) {
    // Ends when the last RemotePageStore clone is dropped.
    while let Some(inner) = weak.upgrade() {
        inner.renew();
        drop(inner);
        std::thread::sleep(RENEW_EVERY);
    }
}

fn unpin(weak: &Weak<Inner>, at: Lsn) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    let mut state = inner.horizon.lock();
    match state.pins.get_mut(&at) {
        Some(1) => {
            state.pins.remove(&at);
        }
        Some(n) => *n -= 1,
        None => debug_assert!(false, "unpin of LSN {at} that is not pinned"),
    }
}

fn retryable(s: &tonic::Status) -> bool {
    matches!(
        s.code(),
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
    )
}

impl PageStore for RemotePageStore {
    fn page_size(&self) -> usize {
        self.inner.page_size
    }

    fn latest_lsn(&self) -> Lsn {
        match self
            .inner
            .call(|mut c| async move { c.latest_lsn(pb::Empty {}).await })
        {
            Ok(reply) => {
                self.inner.saw_latest(reply.lsn);
                reply.lsn
            }
            Err(s) => {
                tracing::warn!(error = %s.message(), "latest LSN unavailable; using the last seen");
                self.inner.latest_seen.load(Ordering::Relaxed)
            }
        }
    }

    fn db_pages(&self, at: Lsn) -> Result<u32, ReadError> {
        let cached = self
            .inner
            .recent_sizes
            .lock()
            .iter()
            .find(|(lsn, _)| *lsn == at)
            .map(|&(_, n)| n);
        if let Some(n) = cached {
            return Ok(n);
        }
        let reply = self
            .inner
            .call(|mut c| async move { c.db_pages(pb::LsnRequest { lsn: at }).await })
            .map_err(|s| unavailable(&s))?;
        match reply.result {
            Some(pb::db_pages_reply::Result::DbPages(n)) => Ok(n),
            Some(pb::db_pages_reply::Result::Failure(f)) => {
                Err(borealis_rpc::read_error_from_wire(f))
            }
            None => Err(ReadError::Corrupt("empty DbPages reply".into())),
        }
    }

    fn read_page(&self, page_no: PageNo, at: Lsn) -> Result<PageVersion, ReadError> {
        let req = pb::ReadPageRequest { page_no, at };
        let reply = self
            .inner
            .call(|mut c| async move { c.read_page(req).await })
            .map_err(|s| unavailable(&s))?;
        match reply.result {
            Some(pb::read_page_reply::Result::Version(v)) => {
                if v.data.len() != self.inner.page_size {
                    return Err(ReadError::Corrupt(format!(
                        "page {page_no} arrived with {} bytes, expected {}",
                        v.data.len(),
                        self.inner.page_size
                    )));
                }
                self.inner.saw_latest(v.as_of);
                Ok(PageVersion {
                    lsn: v.lsn,
                    next_lsn: v.next_lsn,
                    as_of: v.as_of,
                    data: Arc::from(v.data),
                })
            }
            Some(pb::read_page_reply::Result::Failure(f)) => {
                Err(borealis_rpc::read_error_from_wire(f))
            }
            None => Err(ReadError::Corrupt("empty ReadPage reply".into())),
        }
    }

    fn commit(&self, ws: WriteSet) -> Result<Lsn, CommitError> {
        self.commit_merging(ws).map(|r| r.lsn)
    }

    fn commit_merging(&self, ws: WriteSet) -> Result<CommitReceipt, CommitError> {
        self.commit_merging_with_images(ws, Vec::new())
    }

    /// Commits like [`PageStore::commit_merging`], on the commit link; the images go to the
    /// commit hook (the store itself builds its page versions from the deltas).
    fn commit_merging_with_images(
        &self,
        ws: WriteSet,
        images: Vec<Option<Arc<[u8]>>>,
    ) -> Result<CommitReceipt, CommitError> {
        let request = borealis_rpc::write_set_to_wire(&ws);
        let slot = Arc::new(CommitSlot::default());
        let done: Completion = {
            let (inner, slot) = (self.inner.clone(), slot.clone());
            Box::new(move |reply| slot.fill(inner.finish_commit(reply, ws, images)))
        };
        let ticket = self.inner.link.send(&request, done).map_err(|e| {
            CommitError::Invalid(format!("commit not sent to the page service: {e}"))
        })?;
        slot.wait(&ticket)
    }

    fn pin(&self, at: Lsn) -> Result<SnapshotPin, ReadError> {
        self.inner.pin(at)
    }

    fn pin_latest(&self) -> SnapshotPin {
        // Bounded: each attempt asks for the newest LSN, which is retained unless reclaim
        // overtook it in between; three misses in a row means the service is gone.
        for _ in 0..3 {
            let latest = self.latest_lsn();
            if let Ok(pin) = self.inner.pin(latest) {
                return pin;
            }
        }
        // The trait cannot fail here; an unpinned guard at the last seen LSN makes every read
        // through it report the store's error instead.
        let lsn = self.inner.latest_seen.load(Ordering::Relaxed);
        tracing::error!(lsn, "could not pin the latest LSN at the page service");
        SnapshotPin::new(lsn, Box::new(|| {}))
    }

    fn subscribe(&self, after: Lsn) -> Result<Box<dyn Subscription>, SubscribeError> {
        Ok(Box::new(RemoteSubscription {
            store: self.clone(),
            after,
            buffer: VecDeque::new(),
        }))
    }

    fn stats(&self) -> StoreStats {
        match self
            .inner
            .call(|mut c| async move { c.stats(pb::Empty {}).await })
        {
            Ok(reply) => borealis_rpc::stats_from_wire(reply),
            Err(_) => StoreStats {
                latest_lsn: self.inner.latest_seen.load(Ordering::Relaxed),
                ..StoreStats::default()
            },
        }
    }
}

impl RemotePageStore {
    /// Up to `max` committed changes after `after` without waiting, and the store's latest LSN.
    pub fn changes_after(
        &self,
        after: Lsn,
        max: u32,
    ) -> Result<(Vec<CommittedChange>, Lsn), SubscribeError> {
        let req = pb::ChangesRequest { after, max };
        let reply = self
            .inner
            .call(|mut c| async move { c.changes_after(req).await })
            .map_err(|_| SubscribeError::Closed)?;
        self.inner.saw_latest(reply.latest_lsn);
        if reply.lagged && reply.changes.is_empty() {
            return Err(SubscribeError::Lagged {
                requested: after + 1,
                oldest: reply.oldest,
            });
        }
        let mut changes = Vec::with_capacity(reply.changes.len());
        for wire in reply.changes {
            let (change, _) = borealis_rpc::change_from_wire(wire, self.inner.page_size)
                .map_err(|_| SubscribeError::Closed)?;
            changes.push(change);
        }
        Ok((changes, reply.latest_lsn))
    }
}

/// A subscription that polls `ChangesAfter`: it is used to fill gaps, not as the main path
/// (changes normally arrive pushed by the instance that committed them).
struct RemoteSubscription {
    store: RemotePageStore,
    after: Lsn,
    buffer: VecDeque<CommittedChange>,
}

/// Pause between polls of an empty feed.
const POLL_PAUSE: Duration = Duration::from_millis(2);

impl Subscription for RemoteSubscription {
    fn next_change(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<CommittedChange>, SubscribeError> {
        let deadline = Instant::now() + timeout;
        // Bounded by the deadline.
        loop {
            if let Some(change) = self.buffer.pop_front() {
                self.after = change.lsn;
                return Ok(Some(change));
            }
            let (changes, _) = self.store.changes_after(self.after, CATCH_UP_BATCH)?;
            self.buffer.extend(changes);
            if self.buffer.is_empty() {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                std::thread::sleep(POLL_PAUSE);
            }
        }
    }
}
