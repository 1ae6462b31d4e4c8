//! The instance's end of a commit link.
//!
//! A session writes its commit straight onto the connection (one write, under a lock) and
//! waits; one reader thread per connection takes the replies in whatever order they come,
//! runs each commit's completion (the receipt and the commit hook) and so wakes its session.
//! No async runtime sits in between: a reply costs one thread wake-up on this side.
//!
//! A broken connection completes every commit waiting on it as unavailable — their outcome is
//! unknown, never guessed — and the next commit connects again.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use borealis_rpc::frame::{self, FrameError, LINK_MAGIC};
use borealis_rpc::pageservice as pb;
use parking_lot::Mutex;

use crate::priority::ThreadPriority;

/// What finishes a commit once its reply (or the news that none will come) is in: it runs on
/// the link's reader thread, or on the sending session when the link is already broken.
pub(crate) type Completion = Box<dyn FnOnce(Result<pb::CommitReply, String>) + Send>;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A session blocked this long writing its commit gives up and breaks the link: the page
/// service has stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reply bytes one read takes in.
const READ_BUFFER: usize = 64 << 10;

/// A commit sent on a link: lets a session that waited too long take its completion back.
pub(crate) struct Ticket {
    connection: Option<Arc<Connection>>,
    id: u64,
}

impl Ticket {
    /// Take the commit's completion back if its reply has not come; `None` means the
    /// completion has run or is running.
    pub(crate) fn abandon(&self) -> Option<Completion> {
        let connection = self.connection.as_ref()?;
        connection.waiting.lock().remove(&self.id)
    }
}

/// The commit link of one client: connected on first use and again after it breaks.
pub(crate) struct CommitLink {
    addr: String,
    priority: Option<Arc<ThreadPriority>>,
    current: Mutex<Option<Arc<Connection>>>,
    next_id: AtomicU64,
}

struct Connection {
    writer: Mutex<TcpStream>,
    /// A handle to shut the socket down without the writer's lock (a writer may be blocked).
    socket: TcpStream,
    /// Commits sent and not yet answered, by request id. Bounded by the sessions of the
    /// instance: each waits for its one commit. Empty for good once `broken` is set.
    waiting: Mutex<HashMap<u64, Completion>>,
    broken: std::sync::atomic::AtomicBool,
}

impl CommitLink {
    pub(crate) fn new(addr: &str, priority: Option<Arc<ThreadPriority>>) -> CommitLink {
        CommitLink {
            addr: addr.to_string(),
            priority,
            current: Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }

    /// Send one commit; `done` runs exactly once, with the reply or the reason there is none.
    /// A request that cannot be framed (over the size limit) is refused before anything is
    /// sent: then `done` is dropped unrun.
    pub(crate) fn send(
        &self,
        request: &pb::CommitRequest,
        done: Completion,
    ) -> Result<Ticket, FrameError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let bytes = frame::encode(id, request)?;
        let no_ticket = Ticket {
            connection: None,
            id,
        };
        let connection = match self.connection() {
            Ok(c) => c,
            Err(reason) => {
                done(Err(reason));
                return Ok(no_ticket);
            }
        };
        // Registered before the write: the reply can arrive before the write returns.
        {
            let mut waiting = connection.waiting.lock();
            if connection.broken.load(Ordering::Acquire) {
                drop(waiting);
                done(Err("commit link to the page service broke".into()));
                return Ok(no_ticket);
            }
            waiting.insert(id, done);
        }
        let written = connection.writer.lock().write_all(&bytes);
        if let Err(e) = written {
            // Completes this commit too: a partly written frame is never committed, but
            // the outcome is reported as unknown like any other broken link.
            connection.close(&format!("writing a commit to the page service: {e}"));
        }
        Ok(Ticket {
            connection: Some(connection),
            id,
        })
    }

    /// The open connection, or a new one.
    fn connection(&self) -> Result<Arc<Connection>, String> {
        let mut current = self.current.lock();
        if let Some(c) = current.as_ref() {
            if !c.broken.load(Ordering::Acquire) {
                return Ok(c.clone());
            }
        }
        let connection = self.connect()?;
        *current = Some(connection.clone());
        Ok(connection)
    }

    fn connect(&self) -> Result<Arc<Connection>, String> {
        let unreachable = |e: &dyn std::fmt::Display| {
            format!(
                "cannot open a commit link to the page service at {}: {e}",
                self.addr
            )
        };
        let addr = self
            .addr
            .to_socket_addrs()
            .map_err(|e| unreachable(&e))?
            .next()
            .ok_or_else(|| unreachable(&"no address"))?;
        let mut stream =
            TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| unreachable(&e))?;
        stream.set_nodelay(true).map_err(|e| unreachable(&e))?;
        stream
            .set_write_timeout(Some(WRITE_TIMEOUT))
            .map_err(|e| unreachable(&e))?;
        stream.write_all(&LINK_MAGIC).map_err(|e| unreachable(&e))?;
        let reader = stream.try_clone().map_err(|e| unreachable(&e))?;
        let socket = stream.try_clone().map_err(|e| unreachable(&e))?;
        let connection = Arc::new(Connection {
            writer: Mutex::new(stream),
            socket,
            waiting: Mutex::new(HashMap::new()),
            broken: std::sync::atomic::AtomicBool::new(false),
        });
        let for_reader = connection.clone();
        let priority = self.priority.clone();
        std::thread::Builder::new()
            .name("commit-link".into())
            .spawn(move || {
                if let Some(p) = priority {
                    p.apply();
                }
                read_replies(for_reader, reader)
            })
            .map_err(|e| unreachable(&e))?;
        Ok(connection)
    }
}

impl Drop for CommitLink {
    fn drop(&mut self) {
        // Ends the reader thread, which holds the connection.
        if let Some(c) = self.current.lock().take() {
            c.close("the page store client was dropped");
        }
    }
}

impl Connection {
    /// Break the link: no commit is sent on it again, and every commit waiting on it is
    /// completed as unavailable. Idempotent.
    fn close(&self, reason: &str) {
        let drained: Vec<Completion> = {
            let mut waiting = self.waiting.lock();
            self.broken.store(true, Ordering::Release);
            waiting.drain().map(|(_, done)| done).collect()
        };
        let _ = self.socket.shutdown(Shutdown::Both);
        if !drained.is_empty() {
            tracing::warn!(commits = drained.len(), %reason, "commit link broke");
        }
        for done in drained {
            done(Err(format!("{reason}; the commit's outcome is unknown")));
        }
    }
}

/// The reader thread: finish each commit as its reply comes, until the link breaks.
fn read_replies(connection: Arc<Connection>, stream: TcpStream) {
    let mut reader = BufReader::with_capacity(READ_BUFFER, stream);
    let mut payload = Vec::new();
    // One iteration per reply; ends when the connection closes or carries garbage.
    let reason = loop {
        match frame::read_blocking::<pb::CommitReply>(&mut reader, &mut payload) {
            Ok((id, reply)) => {
                let done = connection.waiting.lock().remove(&id);
                // None: the session gave up waiting and took its completion back.
                if let Some(done) = done {
                    done(Ok(reply));
                }
            }
            Err(e) => break format!("commit link to the page service: {e}"),
        }
    };
    connection.close(&reason);
}
