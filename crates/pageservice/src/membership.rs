//! The cluster's membership: which instance serves which slot, at which addresses, and when it
//! was last heard from. Instances register on start and renew every heartbeat; endpoints and
//! replication read the list.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use borealis_rpc::pageservice as pb;
use parking_lot::Mutex;

/// Slots are 1..=16 (the feature table: up to 16 writers).
pub const MAX_SLOT: u32 = 16;

/// A member that has not renewed within this time is considered dead: its slot can be taken by
/// a new process, and endpoints stop routing to it. Heartbeats come every 250 ms.
pub const MEMBER_TIMEOUT: Duration = Duration::from_secs(2);

/// One instance as the cluster knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    pub slot: u16,
    pub incarnation: u64,
    pub sql_addr: String,
    pub replication_addr: String,
    pub metrics_addr: String,
    pub read_only: bool,
    pub applied_lsn: u64,
    /// Time since the member's last heartbeat, as of the reply.
    pub last_seen: Duration,
}

impl MemberInfo {
    pub fn is_alive(&self) -> bool {
        self.last_seen < MEMBER_TIMEOUT
    }

    pub fn to_wire(&self) -> pb::Member {
        pb::Member {
            slot: u32::from(self.slot),
            incarnation: self.incarnation,
            sql_addr: self.sql_addr.clone(),
            replication_addr: self.replication_addr.clone(),
            metrics_addr: self.metrics_addr.clone(),
            read_only: self.read_only,
            last_seen_ms: self.last_seen.as_millis() as u64,
            applied_lsn: self.applied_lsn,
        }
    }

    /// A member from the wire; `None` if its slot is out of range.
    pub fn from_wire(m: pb::Member) -> Option<MemberInfo> {
        let slot = u16::try_from(m.slot)
            .ok()
            .filter(|&s| (1..=MAX_SLOT as u16).contains(&s))?;
        Some(MemberInfo {
            slot,
            incarnation: m.incarnation,
            sql_addr: m.sql_addr,
            replication_addr: m.replication_addr,
            metrics_addr: m.metrics_addr,
            read_only: m.read_only,
            applied_lsn: m.applied_lsn,
            last_seen: Duration::from_millis(m.last_seen_ms),
        })
    }
}

struct Entry {
    info: MemberInfo,
    renewed: Instant,
}

/// The registry kept by the storage process.
#[derive(Default)]
pub struct Membership {
    slots: Mutex<BTreeMap<u16, Entry>>,
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegisterError {
    #[error("slot {0} is outside 1..={MAX_SLOT}")]
    BadSlot(u32),
    #[error("slot {slot} is already served by a live instance at {sql_addr}")]
    SlotTaken { slot: u16, sql_addr: String },
}

impl Membership {
    /// Register or renew `member`. A slot held by a different incarnation that is still alive
    /// is refused: two processes must never commit under one slot (auto-increment offsets).
    pub fn register(&self, member: pb::Member) -> Result<(), RegisterError> {
        let wire_slot = member.slot;
        let info = MemberInfo::from_wire(member).ok_or(RegisterError::BadSlot(wire_slot))?;
        let mut slots = self.slots.lock();
        if let Some(existing) = slots.get(&info.slot) {
            let alive = existing.renewed.elapsed() < MEMBER_TIMEOUT;
            if alive && existing.info.incarnation != info.incarnation {
                return Err(RegisterError::SlotTaken {
                    slot: info.slot,
                    sql_addr: existing.info.sql_addr.clone(),
                });
            }
        }
        slots.insert(
            info.slot,
            Entry {
                info,
                renewed: Instant::now(),
            },
        );
        Ok(())
    }

    /// Remove a member that is shutting down (only the incarnation that holds the slot).
    pub fn deregister(&self, slot: u32, incarnation: u64) {
        let mut slots = self.slots.lock();
        let Ok(slot) = u16::try_from(slot) else {
            return;
        };
        if slots
            .get(&slot)
            .is_some_and(|e| e.info.incarnation == incarnation)
        {
            slots.remove(&slot);
        }
    }

    /// Every registered member with its time since the last heartbeat. Members silent for ten
    /// timeouts are forgotten (bounded: at most 16 entries anyway).
    pub fn list(&self) -> Vec<MemberInfo> {
        let mut slots = self.slots.lock();
        slots.retain(|_, e| e.renewed.elapsed() < MEMBER_TIMEOUT * 10);
        slots
            .values()
            .map(|e| MemberInfo {
                last_seen: e.renewed.elapsed(),
                ..e.info.clone()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(slot: u32, incarnation: u64) -> pb::Member {
        pb::Member {
            slot,
            incarnation,
            sql_addr: format!("127.0.0.1:{}", 3306 + slot),
            ..Default::default()
        }
    }

    #[test]
    fn a_live_slot_cannot_be_taken_by_another_process() {
        let m = Membership::default();
        m.register(member(1, 10)).unwrap();
        m.register(member(1, 10)).unwrap();
        assert!(matches!(
            m.register(member(1, 11)),
            Err(RegisterError::SlotTaken { slot: 1, .. })
        ));
        m.deregister(1, 11);
        assert_eq!(m.list().len(), 1, "only the holder may deregister");
        m.deregister(1, 10);
        m.register(member(1, 11)).unwrap();
        assert_eq!(m.list()[0].incarnation, 11);
    }

    #[test]
    fn slots_outside_the_range_are_refused() {
        let m = Membership::default();
        assert_eq!(m.register(member(0, 1)), Err(RegisterError::BadSlot(0)));
        assert_eq!(m.register(member(17, 1)), Err(RegisterError::BadSlot(17)));
    }
}
