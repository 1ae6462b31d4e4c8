//! Test support: an in-memory `PageStore` double (versions per page, first-committer-wins,
//! the schema-cookie rule, pins counted) and helpers.
#![allow(dead_code)]

use borealis_pagestore::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The versions of one page, oldest first.
type Versions = Vec<(Lsn, Arc<[u8]>)>;

#[derive(Default)]
struct Inner {
    /// Committed changes; index i holds LSN i + 1.
    log: Vec<CommittedChange>,
    /// Database size at each LSN; index = LSN.
    sizes: Vec<u32>,
    /// Page versions in LSN order.
    versions: HashMap<PageNo, Versions>,
    /// LSNs whose commit changed the schema cookie (page 1 bytes 40..44).
    schema_lsns: Vec<Lsn>,
}

pub struct MemStore {
    page_size: usize,
    inner: Mutex<Inner>,
    pub pins: Arc<AtomicI64>,
}

impl MemStore {
    pub fn new(page_size: usize) -> Arc<MemStore> {
        Arc::new(MemStore {
            page_size,
            inner: Mutex::new(Inner {
                sizes: vec![0],
                ..Inner::default()
            }),
            pins: Arc::new(AtomicI64::new(0)),
        })
    }

    fn image_at(&self, inner: &Inner, page_no: PageNo, at: Lsn) -> (Lsn, Option<Lsn>, Arc<[u8]>) {
        let zeros: Arc<[u8]> = Arc::from(vec![0u8; self.page_size]);
        let Some(vs) = inner.versions.get(&page_no) else {
            return (0, None, zeros);
        };
        let idx = vs.partition_point(|(lsn, _)| *lsn <= at);
        let next = vs.get(idx).map(|(lsn, _)| *lsn);
        match idx.checked_sub(1).map(|i| &vs[i]) {
            Some((lsn, data)) => (*lsn, next, data.clone()),
            None => (0, next, zeros),
        }
    }
}

fn conflict(
    reason: ConflictReason,
    page_no: PageNo,
    snapshot: Lsn,
    winner: &CommittedChange,
) -> CommitError {
    CommitError::Conflict(Conflict {
        reason,
        page_no,
        snapshot,
        winner_lsn: winner.lsn,
        winner_origin: winner.origin,
    })
}

impl PageStore for MemStore {
    fn page_size(&self) -> usize {
        self.page_size
    }

    fn latest_lsn(&self) -> Lsn {
        self.inner.lock().unwrap().log.len() as Lsn
    }

    fn db_pages(&self, at: Lsn) -> Result<u32, ReadError> {
        let inner = self.inner.lock().unwrap();
        inner
            .sizes
            .get(at as usize)
            .copied()
            .ok_or(ReadError::NotRetained {
                requested: at,
                oldest: 0,
                latest: inner.log.len() as Lsn,
            })
    }

    fn read_page(&self, page_no: PageNo, at: Lsn) -> Result<PageVersion, ReadError> {
        let inner = self.inner.lock().unwrap();
        let latest = inner.log.len() as Lsn;
        let Some(&db_pages) = inner.sizes.get(at as usize) else {
            return Err(ReadError::NotRetained {
                requested: at,
                oldest: 0,
                latest,
            });
        };
        if page_no == 0 || page_no > db_pages {
            return Err(ReadError::BeyondEnd {
                page_no,
                db_pages,
                at,
            });
        }
        let (lsn, next_lsn, data) = self.image_at(&inner, page_no, at);
        Ok(PageVersion {
            lsn,
            next_lsn,
            as_of: latest,
            data,
        })
    }

    fn commit(&self, ws: WriteSet) -> Result<Lsn, CommitError> {
        let mut inner = self.inner.lock().unwrap();
        let latest = inner.log.len() as Lsn;
        if ws.snapshot > latest {
            return Err(CommitError::Invalid(format!(
                "snapshot {} > latest {latest}",
                ws.snapshot
            )));
        }
        if let Some(&lsn) = inner.schema_lsns.iter().find(|&&l| l > ws.snapshot) {
            return Err(conflict(
                ConflictReason::SchemaChanged,
                1,
                ws.snapshot,
                &inner.log[lsn as usize - 1],
            ));
        }
        let touched = ws
            .deltas
            .iter()
            .map(|d| d.page_no)
            .chain(ws.locked_pages.iter().copied());
        for page_no in touched {
            if let Some(vs) = inner.versions.get(&page_no) {
                if let Some((lsn, _)) = vs.iter().find(|(lsn, _)| *lsn > ws.snapshot) {
                    return Err(conflict(
                        ConflictReason::PageChanged,
                        page_no,
                        ws.snapshot,
                        &inner.log[*lsn as usize - 1],
                    ));
                }
            }
        }
        let lsn = latest + 1;
        let snap_pages = inner.sizes[ws.snapshot as usize];
        // As LocalPageStore: the size lives in page 1's header, so two concurrent resizes
        // conflict on page 1, and a write set that keeps its snapshot's size keeps the current
        // size (a concurrent commit may have grown the file).
        let current_pages = inner.sizes[latest as usize];
        let db_pages = if ws.db_pages == snap_pages {
            current_pages
        } else {
            let resized_after = (ws.snapshot + 1..=latest)
                .find(|&l| inner.sizes[l as usize] != inner.sizes[l as usize - 1]);
            if let Some(l) = resized_after {
                return Err(conflict(
                    ConflictReason::PageChanged,
                    1,
                    ws.snapshot,
                    &inner.log[l as usize - 1],
                ));
            }
            ws.db_pages
        };
        for delta in &ws.deltas {
            let (_, _, base) = self.image_at(&inner, delta.page_no, ws.snapshot);
            let mut page = if delta.page_no > snap_pages {
                vec![0u8; self.page_size]
            } else {
                base.to_vec()
            };
            let before = page.clone();
            for r in &delta.ranges {
                page[r.offset as usize..r.offset as usize + r.bytes.len()]
                    .copy_from_slice(&r.bytes);
            }
            if delta.page_no == 1 && before[40..44] != page[40..44] {
                inner.schema_lsns.push(lsn);
            }
            inner
                .versions
                .entry(delta.page_no)
                .or_default()
                .push((lsn, Arc::from(page)));
        }
        inner.sizes.push(db_pages);
        inner.log.push(CommittedChange {
            lsn,
            origin: ws.origin,
            db_pages,
            deltas: Arc::new(ws.deltas),
        });
        Ok(lsn)
    }

    fn pin(&self, at: Lsn) -> Result<SnapshotPin, ReadError> {
        let pins = self.pins.clone();
        pins.fetch_add(1, Ordering::SeqCst);
        Ok(SnapshotPin::new(
            at,
            Box::new(move || {
                pins.fetch_sub(1, Ordering::SeqCst);
            }),
        ))
    }

    fn pin_latest(&self) -> SnapshotPin {
        let latest = self.latest_lsn();
        let pins = self.pins.clone();
        pins.fetch_add(1, Ordering::SeqCst);
        SnapshotPin::new(
            latest,
            Box::new(move || {
                pins.fetch_sub(1, Ordering::SeqCst);
            }),
        )
    }

    fn subscribe(&self, after: Lsn) -> Result<Box<dyn Subscription>, SubscribeError> {
        Ok(Box::new(MemFeed {
            log: self.inner.lock().unwrap().log.clone(),
            next: after,
        }))
    }

    fn stats(&self) -> StoreStats {
        let inner = self.inner.lock().unwrap();
        StoreStats {
            latest_lsn: inner.log.len() as Lsn,
            commits: inner.log.len() as u64,
            ..StoreStats::default()
        }
    }
}

struct MemFeed {
    log: Vec<CommittedChange>,
    next: Lsn,
}

impl Subscription for MemFeed {
    fn next_change(
        &mut self,
        _timeout: Duration,
    ) -> Result<Option<CommittedChange>, SubscribeError> {
        let change = self.log.get(self.next as usize).cloned();
        if change.is_some() {
            self.next += 1;
        }
        Ok(change)
    }
}
