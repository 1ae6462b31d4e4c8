//! In-memory page versions written after the last checkpoint, and the database size history.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::{Lsn, Origin, PageNo};
use crate::spare_images;

/// One page version: the LSN that wrote it and the full image.
pub type Version = (Lsn, Arc<[u8]>);

/// What the chains know about a page at some LSN.
pub enum Lookup {
    /// A chain version with LSN ≤ the requested LSN, and the next version's LSN.
    Found { version: Version, next: Option<Lsn> },
    /// No chain version ≤ the requested LSN: the base image (or zeros) applies; `next` is the
    /// oldest chain version, if any.
    Base { next: Option<Lsn> },
}

/// Version chains (LSN ascending per page) and size changes since the checkpoint.
pub struct Versions {
    chains: BTreeMap<PageNo, Vec<Version>>,
    /// Size changes after the checkpoint: (LSN, new size, origin), LSN ascending.
    sizes: Vec<(Lsn, u32, Origin)>,
    /// Database size at the checkpoint.
    base_db_pages: u32,
    retained: u64,
}

impl Versions {
    /// Empty chains over a checkpoint whose database size was `base_db_pages`.
    pub fn new(base_db_pages: u32) -> Versions {
        Versions {
            chains: BTreeMap::new(),
            sizes: Vec::new(),
            base_db_pages,
            retained: 0,
        }
    }

    /// Number of chain versions held.
    pub fn retained(&self) -> u64 {
        self.retained
    }

    /// Database size at `at` (which must be ≥ the checkpoint).
    pub fn db_pages_at(&self, at: Lsn) -> u32 {
        self.sizes
            .iter()
            .rev()
            .find(|s| s.0 <= at)
            .map_or(self.base_db_pages, |s| s.1)
    }

    /// Database size after the newest commit.
    pub fn current_db_pages(&self) -> u32 {
        self.sizes.last().map_or(self.base_db_pages, |s| s.1)
    }

    /// The newest size change after `snapshot`, if any: (LSN, origin).
    pub fn size_change_after(&self, snapshot: Lsn) -> Option<(Lsn, Origin)> {
        self.sizes
            .last()
            .filter(|s| s.0 > snapshot)
            .map(|s| (s.0, s.2))
    }

    /// Record a size change.
    pub fn push_size(&mut self, lsn: Lsn, db_pages: u32, origin: Origin) {
        debug_assert!(self.sizes.last().is_none_or(|s| s.0 < lsn));
        self.sizes.push((lsn, db_pages, origin));
    }

    /// The newest version of `page_no` regardless of LSN.
    pub fn newest(&self, page_no: PageNo) -> Option<&Version> {
        self.chains.get(&page_no).and_then(|c| c.last())
    }

    /// Record a new version, and drop the page's versions that no read at or above `horizon`
    /// (the oldest LSN a snapshot may have) can see: all older than its newest version at or
    /// below `horizon`. Without this a page written over and over kept every version until
    /// the next checkpoint wrote the newest one to disk.
    pub fn push(&mut self, page_no: PageNo, lsn: Lsn, image: Arc<[u8]>, horizon: Lsn) {
        let chain = self.chains.entry(page_no).or_default();
        assert!(
            chain.last().is_none_or(|v| v.0 < lsn),
            "versions must be pushed in LSN order"
        );
        chain.push((lsn, image));
        let unseen = chain.partition_point(|v| v.0 <= horizon).saturating_sub(1);
        recycle(chain.drain(..unseen));
        self.retained = self.retained + 1 - unseen as u64;
    }

    /// The version of `page_no` visible at `at`; `as_of` bounds which later version is reported.
    pub fn lookup(&self, page_no: PageNo, at: Lsn, as_of: Lsn) -> Lookup {
        let Some(chain) = self.chains.get(&page_no) else {
            return Lookup::Base { next: None };
        };
        let idx = chain.partition_point(|v| v.0 <= at);
        let next = chain.get(idx).map(|v| v.0).filter(|&l| l <= as_of);
        match idx.checked_sub(1) {
            Some(i) => Lookup::Found {
                version: chain[i].clone(),
                next,
            },
            None => Lookup::Base { next },
        }
    }

    /// Drop every version that no read at or above `horizon` sees: of each page, all older
    /// than its newest version at or below `horizon`.
    pub fn collapse(&mut self, horizon: Lsn) {
        let mut dropped = 0;
        for chain in self.chains.values_mut() {
            let unseen = chain.partition_point(|v| v.0 <= horizon).saturating_sub(1);
            dropped += unseen as u64;
            recycle(chain.drain(..unseen));
        }
        self.retained -= dropped;
    }

    /// For every page with a version ≤ `horizon`: its newest such version.
    pub fn newest_up_to(&self, horizon: Lsn) -> Vec<(PageNo, Version)> {
        self.chains
            .iter()
            .filter_map(|(&p, chain)| {
                let idx = chain.partition_point(|v| v.0 <= horizon);
                idx.checked_sub(1).map(|i| (p, chain[i].clone()))
            })
            .collect()
    }

    /// Drop every version and size change with LSN ≤ `horizon` (now held by the base).
    pub fn prune(&mut self, horizon: Lsn) {
        self.base_db_pages = self.db_pages_at(horizon);
        self.sizes.retain(|s| s.0 > horizon);
        let mut dropped = 0;
        self.chains.retain(|_, chain| {
            let idx = chain.partition_point(|v| v.0 <= horizon);
            dropped += idx as u64;
            recycle(chain.drain(..idx));
            !chain.is_empty()
        });
        self.retained -= dropped;
    }
}

/// Hand dropped versions' images to the spare list (the last reference is often ours).
fn recycle(dropped: impl Iterator<Item = Version>) {
    dropped.for_each(|(_, image)| spare_images::give(image));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(b: u8) -> Arc<[u8]> {
        Arc::from(vec![b; 4])
    }

    #[test]
    fn lookup_picks_newest_at_or_below() {
        let mut v = Versions::new(3);
        v.push(2, 5, img(5), 0);
        v.push(2, 9, img(9), 0);
        assert!(matches!(v.lookup(2, 4, 10), Lookup::Base { next: Some(5) }));
        assert!(matches!(v.lookup(2, 4, 4), Lookup::Base { next: None }));
        match v.lookup(2, 7, 10) {
            Lookup::Found { version, next } => {
                assert_eq!(version.0, 5);
                assert_eq!(next, Some(9));
            }
            Lookup::Base { .. } => panic!("expected a chain version"),
        }
        match v.lookup(2, 9, 9) {
            Lookup::Found { version, next } => assert_eq!((version.0, next), (9, None)),
            Lookup::Base { .. } => panic!("expected a chain version"),
        }
        v.prune(6);
        assert_eq!(v.retained(), 1);
        assert!(matches!(v.lookup(2, 6, 10), Lookup::Base { next: Some(9) }));
    }

    #[test]
    fn push_drops_versions_below_the_newest_at_the_horizon() {
        let mut v = Versions::new(3);
        v.push(2, 5, img(5), 0);
        v.push(2, 9, img(9), 6);
        assert_eq!(v.retained(), 2, "5 is what a read at 6..9 sees");
        v.push(2, 12, img(12), 10);
        assert_eq!(
            v.retained(),
            2,
            "5 is unseen above 10; 9 is what 10..12 sees"
        );
        assert!(matches!(
            v.lookup(2, 10, 12),
            Lookup::Found {
                version: (9, _),
                next: Some(12)
            }
        ));
        v.push(2, 13, img(13), 13);
        assert_eq!(v.retained(), 1);
        assert!(matches!(
            v.lookup(2, 13, 13),
            Lookup::Found {
                version: (13, _),
                next: None
            }
        ));
        v.push(3, 14, img(14), 13);
        assert_eq!(v.retained(), 2, "another page's versions stay");
        v.push(3, 15, img(15), 13);
        v.push(3, 16, img(16), 13);
        v.collapse(15);
        assert_eq!(v.retained(), 3, "13 of page 2, 15 and 16 of page 3");
        assert!(matches!(
            v.lookup(3, 15, 16),
            Lookup::Found {
                version: (15, _),
                next: Some(16)
            }
        ));
    }

    #[test]
    fn size_history() {
        let mut v = Versions::new(3);
        v.push_size(4, 10, 1);
        v.push_size(8, 2, 2);
        assert_eq!(v.db_pages_at(3), 3);
        assert_eq!(v.db_pages_at(4), 10);
        assert_eq!(v.db_pages_at(9), 2);
        assert_eq!(v.current_db_pages(), 2);
        assert_eq!(v.size_change_after(7), Some((8, 2)));
        assert_eq!(v.size_change_after(8), None);
        v.prune(5);
        assert_eq!(v.db_pages_at(5), 10);
        assert_eq!(v.db_pages_at(8), 2);
    }
}
