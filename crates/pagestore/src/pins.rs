//! The registry of pinned snapshots and the reclaim floor.

use std::collections::BTreeMap;

use crate::api::Lsn;

/// Pinned LSNs (with counts) and the oldest LSN still retained.
#[derive(Debug, Default)]
pub struct Pins {
    counts: BTreeMap<Lsn, usize>,
    /// The reclaim horizon: no read, pin or snapshot below it is served.
    floor: Lsn,
}

impl Pins {
    /// A registry whose floor is the checkpoint LSN.
    pub fn new(floor: Lsn) -> Pins {
        Pins {
            counts: BTreeMap::new(),
            floor,
        }
    }

    /// Pin `at`; false if it is below the floor.
    pub fn pin(&mut self, at: Lsn) -> bool {
        if at < self.floor {
            return false;
        }
        *self.counts.entry(at).or_insert(0) += 1;
        true
    }

    /// Release one pin of `at`.
    pub fn unpin(&mut self, at: Lsn) {
        if let Some(count) = self.counts.get_mut(&at) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&at);
            }
        } else {
            debug_assert!(false, "unpin of LSN {at} that is not pinned");
        }
    }

    /// Raise the floor to the next reclaim horizon: min(oldest pin, `latest`). Never lowers it.
    pub fn advance_floor(&mut self, latest: Lsn) -> Lsn {
        let oldest_pin = self.counts.keys().next().copied().unwrap_or(Lsn::MAX);
        let horizon = oldest_pin.min(latest).max(self.floor);
        self.floor = horizon;
        horizon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_respects_pins() {
        let mut p = Pins::new(0);
        assert!(p.pin(3));
        assert!(p.pin(3));
        assert_eq!(p.advance_floor(10), 3);
        assert!(!p.pin(2));
        p.unpin(3);
        assert_eq!(p.advance_floor(10), 3);
        p.unpin(3);
        assert_eq!(p.advance_floor(10), 10);
        assert_eq!(p.advance_floor(4), 10, "the floor never goes back");
    }
}
