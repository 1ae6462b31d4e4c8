//! Validating a write set and building what it commits, with the state lock held only for
//! lookups.
//!
//! [`Inner::gather`] (under the lock) checks the write set's conflicts and takes the page
//! images it needs: shared `Arc`s, or a note to read the page's base image.
//! [`Inner::build`] (without the lock) merges the pages a newer commit also changed and makes
//! the new page images. [`Inner::unchanged_since`] (under the lock again) checks that no
//! commit after `gather` wrote a page the build used; when one did, the commit is gathered
//! again. Merging a leaf, reading a base image and copying 16 KiB images were most of a
//! commit's time under the lock: with them there, sessions on 2 cores queued (and spun) for
//! it about once per commit.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::api::*;
use crate::delta;
use crate::leaf_merge::{self, KeyRange, Refusal};
use crate::store::{Inner, State};
use crate::versions::Lookup;

/// A page image as [`Inner::gather`] found it.
pub(crate) enum Image {
    /// A version in memory (or zeros).
    Held(Arc<[u8]>),
    /// The page's image in the base (`pages.redb`), or zeros if it has none; usable only if
    /// its LSN is ≤ `at`. Read by [`Inner::build`], outside the lock.
    Base { page_no: PageNo, at: Lsn },
}

/// What merging one page needs besides the write set's delta and the current image.
pub(crate) struct MergeInputs {
    /// The page at the write set's snapshot (the merge's common ancestor).
    at_snapshot: Image,
    /// The newest commit that changed the page after the snapshot: the winner if the merge is
    /// refused.
    winner: (Lsn, Origin),
}

/// Everything [`Inner::build`] reads, taken from the state by [`Inner::gather`].
pub(crate) struct Gathered {
    /// The state's last LSN at `gather`: the build holds while no page it used is written
    /// after it.
    pub(crate) seen: Lsn,
    /// The database size after the commit.
    pub(crate) db_pages: u32,
    /// Per delta, in order: the page's image after every commit up to `seen`.
    current: Vec<Image>,
    /// Per delta: set when a commit after the snapshot changed the page too.
    merges: Vec<Option<MergeInputs>>,
    /// When a page needs a merge: page 1's reserved-bytes field (header byte 20) and whether
    /// the leaves keep the key ranges the transaction saw.
    merge_context: Option<(u8, KeyRange)>,
    /// What is wrong with the write set besides its pages' conflicts.
    deferred: Option<Deferred>,
}

/// A conflict or error that [`Inner::gather`] found but that is reported only when every page
/// that needs a merge merges: a refused merge is reported first, as the page whose change
/// lost.
enum Deferred {
    /// A size change or schema change after the snapshot, by the given commit.
    Conflict(ConflictReason, PageNo, (Lsn, Origin)),
    /// A delta for a page beyond the database size (the page, the size).
    BeyondSize(PageNo, u32),
}

/// The result of [`Inner::build`].
pub(crate) struct Built {
    /// (index in the write set's deltas, the delta that replaces it, relative to the current
    /// image) for each merged page.
    pub(crate) merged: Vec<(usize, PageDelta)>,
    /// Per delta: the page's new image.
    pub(crate) images: Vec<Arc<[u8]>>,
    /// Whether the commit changes the schema cookie (page 1 bytes 40..44).
    pub(crate) schema_changed: bool,
}

impl Inner {
    /// Check `ws` against the state and take what building its commit needs; `None` when it
    /// changes nothing. The write set's shape was checked before.
    pub(crate) fn gather(
        &self,
        st: &State,
        ws: &WriteSet,
    ) -> Result<Option<Gathered>, CommitError> {
        if ws.snapshot > st.last_lsn {
            return Err(CommitError::Invalid(format!(
                "snapshot {} is newer than the latest LSN {}",
                ws.snapshot, st.last_lsn
            )));
        }
        let oldest = self.oldest_lsn.load(Ordering::SeqCst);
        if ws.snapshot < oldest {
            return Err(CommitError::SnapshotTooOld {
                snapshot: ws.snapshot,
                oldest,
            });
        }
        let changed_after_snapshot = |page_no: &PageNo| {
            st.last_write
                .get(page_no)
                .copied()
                .filter(|w| w.0 > ws.snapshot)
        };
        for page_no in &ws.locked_pages {
            if let Some(winner) = changed_after_snapshot(page_no) {
                return Err(conflict(ws, ConflictReason::PageChanged, *page_no, winner));
            }
        }
        let snapshot_size = st.versions.db_pages_at(ws.snapshot);
        let size_changed = ws.db_pages != snapshot_size;
        if ws.deltas.is_empty() && !size_changed {
            return Ok(None);
        }
        // A write set that keeps its snapshot's size keeps the current size.
        let db_pages = if size_changed {
            ws.db_pages
        } else {
            st.versions.current_db_pages()
        };
        // Reported only if every page that needs a merge merges (see `Deferred`).
        let deferred = if let Some(winner) =
            // The size lives in page 1's header: two concurrent resizes conflict on page 1.
            size_changed
                .then(|| st.versions.size_change_after(ws.snapshot))
                .flatten()
        {
            Some(Deferred::Conflict(ConflictReason::PageChanged, 1, winner))
        } else if let Some(winner) = st.schema.filter(|s| s.0 > ws.snapshot) {
            Some(Deferred::Conflict(ConflictReason::SchemaChanged, 1, winner))
        } else {
            let beyond = ws.deltas.iter().find(|d| d.page_no > db_pages);
            beyond.map(|d| Deferred::BeyondSize(d.page_no, db_pages))
        };
        let merges: Vec<Option<MergeInputs>> = ws
            .deltas
            .iter()
            .map(|d| {
                changed_after_snapshot(&d.page_no).map(|winner| MergeInputs {
                    at_snapshot: image_at(st, d.page_no, ws.snapshot),
                    winner,
                })
            })
            .collect();
        let merge_context = merges
            .iter()
            .any(Option::is_some)
            .then(|| (st.reserved_bytes, key_range(st, ws)));
        Ok(Some(Gathered {
            seen: st.last_lsn,
            db_pages,
            current: ws
                .deltas
                .iter()
                .map(|d| current_image(st, &self.zero_page, d.page_no))
                .collect(),
            merges,
            merge_context,
            deferred,
        }))
    }

    /// Merge the pages that need it and make every new page image. Needs no lock: it reads
    /// only what `gather` took, and base images: a checkpoint changes those only up to the
    /// oldest pin, which the caller checks afterwards is still ≤ the snapshot.
    pub(crate) fn build(
        &self,
        ws: &WriteSet,
        g: &Gathered,
        images: &[Option<Arc<[u8]>>],
    ) -> Result<Built, CommitError> {
        assert_eq!(
            g.current.len(),
            ws.deltas.len(),
            "one current image per delta"
        );
        assert_eq!(g.merges.len(), ws.deltas.len(), "one merge slot per delta");
        let current = g
            .current
            .iter()
            .map(|image| self.resolve(image))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CommitError::Invalid(format!("cannot build page images: {e}")))?;
        let mut merged = Vec::new();
        let mut merged_images = Vec::new();
        let given = |i: usize| images.get(i).and_then(Option::as_ref);
        for (i, (mine, inputs)) in ws.deltas.iter().zip(&g.merges).enumerate() {
            let Some(inputs) = inputs else { continue };
            let context = g.merge_context.as_ref();
            match self.merge_page(mine, given(i), inputs, &current[i], context) {
                Ok((delta, image)) => {
                    merged.push((i, delta));
                    merged_images.push(image);
                }
                Err(why) => {
                    tracing::debug!(page = mine.page_no, why = why.as_str(), "merge refused");
                    self.counters.merge_refusals[why.index()].fetch_add(1, Ordering::Relaxed);
                    let reason = ConflictReason::PageChanged;
                    return Err(conflict(ws, reason, mine.page_no, inputs.winner));
                }
            }
        }
        match &g.deferred {
            Some(Deferred::Conflict(reason, page_no, winner)) => {
                return Err(conflict(ws, reason.clone(), *page_no, *winner));
            }
            Some(Deferred::BeyondSize(page_no, db_pages)) => {
                return Err(CommitError::Invalid(format!(
                    "delta for page {page_no} beyond the database size {db_pages}"
                )));
            }
            None => {}
        }
        let mut replaced = merged.iter().zip(&merged_images).peekable();
        // Per delta: the merged delta with the merged page, or the write set's own delta with
        // the committer's image.
        let deltas = ws.deltas.iter().enumerate().map(|(i, d)| {
            match replaced.next_if(|((j, _), _)| *j == i) {
                Some(((_, merged), image)) => (merged, Some(image)),
                None => (d, given(i)),
            }
        });
        let NewImages {
            images,
            schema_changed,
        } = new_images(deltas, current)
            .map_err(|e| CommitError::Invalid(format!("cannot build page images: {e}")))?;
        Ok(Built {
            merged,
            images,
            schema_changed,
        })
    }

    /// Whether what `gather` took for `ws` is still what the state holds: no page the build
    /// used (its pages, its locked pages, and for a merge its guard pages), no size and no
    /// schema changed after `g.seen`.
    pub(crate) fn unchanged_since(&self, st: &State, ws: &WriteSet, g: &Gathered) -> bool {
        if st.last_lsn == g.seen {
            return true;
        }
        let unchanged = |page_no: &PageNo| st.last_write.get(page_no).is_none_or(|w| w.0 <= g.seen);
        ws.deltas.iter().all(|d| unchanged(&d.page_no))
            && ws.locked_pages.iter().all(unchanged)
            && (g.merge_context.is_none() || ws.guard_pages.iter().all(unchanged))
            && st.versions.size_change_after(g.seen).is_none()
            && st.schema.is_none_or(|s| s.0 <= g.seen)
    }

    /// Rebuild the in-memory state from the log records after the checkpoint.
    pub(crate) fn replay(&self, changes: &[CommittedChange]) -> Result<(), crate::StoreError> {
        let mut st = self.state.lock();
        for change in changes {
            let corrupt = |e: String| {
                crate::StoreError::Corrupt(format!("replaying LSN {}: {e}", change.lsn))
            };
            let current = change
                .deltas
                .iter()
                .map(|d| self.resolve(&current_image(&st, &self.zero_page, d.page_no)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| corrupt(e.to_string()))?;
            let deltas = change.deltas.iter().map(|d| (d, None));
            let new = new_images(deltas, current).map_err(corrupt)?;
            self.apply(&mut st, change, new.images, new.schema_changed);
        }
        Ok(())
    }

    /// Try to merge the write set's change to a page that a newer commit also changed: a leaf
    /// page on which the two changed different cells (rows). Returns the delta to commit
    /// instead (relative to the current image `theirs`), or why not (a real conflict).
    ///
    /// `my_image` is the committer's image of its change (base + `mine`), when it gave one:
    /// used as it is rather than rebuilt from the base. The merged page comes back with its
    /// delta: it is the page's new image.
    fn merge_page(
        &self,
        mine: &PageDelta,
        my_image: Option<&Arc<[u8]>>,
        inputs: &MergeInputs,
        theirs: &[u8],
        context: Option<&(u8, KeyRange)>,
    ) -> Result<(PageDelta, Arc<[u8]>), Refusal> {
        let Some((reserved_bytes, range)) = context else {
            unreachable!("gather sets the merge context when a page needs a merge")
        };
        if mine.page_no == 1 {
            return Err(Refusal::NotALeaf);
        }
        // An image that cannot be read, or a delta that does not apply, is a page the merge
        // cannot trust: refused like a malformed one.
        let image = |image| self.resolve(image).ok().ok_or(Refusal::Malformed);
        // leaf_merge parses cells with the page size as the usable size: a volume with reserved
        // bytes per page (header byte 20) is never merged.
        if *reserved_bytes != 0 {
            return Err(Refusal::NotALeaf);
        }
        let base = image(&inputs.at_snapshot)?;
        let my_image = match committers_image(my_image, &base, mine) {
            Some(given) => given,
            None => delta::apply(&base, mine).map_err(|_| Refusal::Malformed)?,
        };
        let merged =
            leaf_merge::merge_leaf_explained(&base, &my_image, theirs, mine.page_no, *range)?;
        Ok((delta::diff(mine.page_no, theirs, &merged), merged))
    }

    /// The bytes of `image`. A base image newer than it may be is an error (`NotRetained`).
    fn resolve(&self, image: &Image) -> Result<Arc<[u8]>, ReadError> {
        let (page_no, at) = match image {
            Image::Held(data) => return Ok(Arc::clone(data)),
            Image::Base { page_no, at } => (*page_no, *at),
        };
        match self.base.read(page_no)? {
            Some((lsn, data)) if lsn <= at => Ok(data),
            Some(_) => Err(ReadError::NotRetained {
                requested: at,
                oldest: self.oldest_lsn.load(Ordering::SeqCst),
                latest: self.durable.lsn(),
            }),
            None => Ok(Arc::clone(&self.zero_page)),
        }
    }
}

/// The image `page_no` has after every commit in the state (the base for a new delta).
fn current_image(st: &State, zero: &Arc<[u8]>, page_no: PageNo) -> Image {
    if page_no > st.versions.current_db_pages() {
        return Image::Held(Arc::clone(zero));
    }
    match st.versions.newest(page_no) {
        Some((_, image)) => Image::Held(Arc::clone(image)),
        // No version since the checkpoint: the base holds the newest.
        None => Image::Base {
            page_no,
            at: Lsn::MAX,
        },
    }
}

/// The image of `page_no` as of `at` (≤ the state's last LSN).
fn image_at(st: &State, page_no: PageNo, at: Lsn) -> Image {
    match st.versions.lookup(page_no, at, st.last_lsn) {
        Lookup::Found {
            version: (_, data), ..
        } => Image::Held(data),
        Lookup::Base { .. } => Image::Base { page_no, at },
    }
}

/// Each delta applied to its current image, and whether page 1's schema cookie changed. A
/// delta may come with the committer's image of its result: kept as it is when it holds the
/// delta's bytes (the committer's delta was taken against this same current image: a page
/// changed since the snapshot is merged or refused, never committed with an image).
fn new_images<'a>(
    deltas: impl Iterator<Item = (&'a PageDelta, Option<&'a Arc<[u8]>>)>,
    current: Vec<Arc<[u8]>>,
) -> Result<NewImages, String> {
    let mut schema_changed = false;
    let mut images = Vec::with_capacity(current.len());
    for ((d, given), old) in deltas.zip(current) {
        let new = match committers_image(given.filter(|_| d.page_no != 1), &old, d) {
            Some(image) => image,
            None => delta::apply(&old, d)?,
        };
        if d.page_no == 1 && delta::schema_cookie_changed(&old, &new) {
            schema_changed = true;
        }
        images.push(new);
    }
    Ok(NewImages {
        images,
        schema_changed,
    })
}

/// The committer's `given` image of `old` with `delta` applied, if it can be used as that:
/// it holds every range of the delta (debug builds check that it equals the applied delta).
fn committers_image(given: Option<&Arc<[u8]>>, old: &[u8], delta: &PageDelta) -> Option<Arc<[u8]>> {
    let image = given.filter(|image| holds_delta(image, old, delta))?;
    debug_assert!(
        delta::apply(old, delta).is_ok_and(|applied| *applied == **image),
        "page {}: the committer's image is not the old page with its delta",
        delta.page_no
    );
    Some(Arc::clone(image))
}

/// Whether `image` is a page of `old`'s size holding every range of `delta` (the cheap half
/// of "`image` is `old` with `delta` applied"; debug builds check the other half).
fn holds_delta(image: &[u8], old: &[u8], delta: &PageDelta) -> bool {
    image.len() == old.len()
        && delta.ranges.iter().all(|r| {
            let start = r.offset as usize;
            image.get(start..start + r.bytes.len()) == Some(&r.bytes[..])
        })
}

/// New page images for a commit's deltas.
struct NewImages {
    images: Vec<Arc<[u8]>>,
    /// Whether page 1's schema cookie (bytes 40..44) changed.
    schema_changed: bool,
}

/// A conflict of `ws` on `page_no` with the commit `winner`.
fn conflict(
    ws: &WriteSet,
    reason: ConflictReason,
    page_no: PageNo,
    (winner_lsn, winner_origin): (Lsn, Origin),
) -> CommitError {
    CommitError::Conflict(Conflict {
        reason,
        page_no,
        snapshot: ws.snapshot,
        winner_lsn,
        winner_origin,
    })
}

/// Whether the leaves the write set changed keep the key ranges its transaction saw: no guard
/// page (an interior page it read) was written after its snapshot.
fn key_range(st: &State, ws: &WriteSet) -> KeyRange {
    let moved = ws.guard_pages.iter().any(|page_no| {
        st.last_write
            .get(page_no)
            .is_some_and(|(lsn, _)| *lsn > ws.snapshot)
    });
    if moved {
        KeyRange::MayHaveMoved
    } else {
        KeyRange::Unchanged
    }
}
