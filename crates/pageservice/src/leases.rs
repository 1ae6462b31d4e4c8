//! Horizon leases: each client keeps old page versions alive with one renewable pin.
//!
//! A client's snapshots are pinned locally (in its process); it tells the store the oldest LSN
//! it may still read (its *horizon*) and renews that every heartbeat. The store holds one
//! [`SnapshotPin`] per client at its horizon. A client that stops renewing (killed) loses its
//! lease after [`LEASE`], so a dead instance cannot stop reclaim for ever.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use borealis_pagestore::{Lsn, PageStore, SnapshotPin};
use parking_lot::Mutex;

/// How long a lease lives without renewal. Clients renew every 250 ms; 10 s rides out pauses.
pub const LEASE: Duration = Duration::from_secs(10);

/// Upper bound on concurrent leases: 16 instances plus tools, with room for restarts whose old
/// lease has not expired yet.
const MAX_LEASES: usize = 256;

struct Lease {
    pin: SnapshotPin,
    renewed: Instant,
}

#[derive(Default)]
pub struct Leases {
    by_client: Mutex<HashMap<u64, Lease>>,
}

impl Leases {
    /// Move `client`'s lease to `horizon`. Refused (false) when `horizon` is no longer retained
    /// or too many clients hold leases; the client must not read below its old lease then.
    pub fn set(&self, store: &dyn PageStore, client: u64, horizon: Lsn) -> bool {
        let mut leases = self.by_client.lock();
        self.expire(&mut leases);
        if !leases.contains_key(&client) && leases.len() >= MAX_LEASES {
            return false;
        }
        // Pin the new horizon before the old pin is released: no window without a pin.
        let Ok(pin) = store.pin(horizon) else {
            return false;
        };
        leases.insert(
            client,
            Lease {
                pin,
                renewed: Instant::now(),
            },
        );
        true
    }

    /// Drop leases not renewed within [`LEASE`].
    fn expire(&self, leases: &mut HashMap<u64, Lease>) {
        leases.retain(|client, lease| {
            let alive = lease.renewed.elapsed() < LEASE;
            if !alive {
                tracing::info!(client, horizon = lease.pin.lsn(), "lease expired");
            }
            alive
        });
    }

    /// Expire stale leases now (called periodically so an idle store still reclaims).
    pub fn sweep(&self) {
        let mut leases = self.by_client.lock();
        self.expire(&mut leases);
    }
}
