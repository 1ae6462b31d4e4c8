//! Conversions between wire messages and page-store types. Every conversion from the wire
//! validates what the type promises (a slot fits u16, byte ranges are sorted and inside the
//! page); a message that does not is an error, never a panic.

use std::sync::Arc;

use borealis_pagestore as ps;
use borealis_pagestore::leaf_merge::Refusal;

use crate::change;
use crate::pageservice as pb;

/// A wire message that does not describe a valid value.
#[derive(Debug, thiserror::Error)]
#[error("malformed message: {0}")]
pub struct Malformed(pub String);

pub fn delta_to_wire(d: &ps::PageDelta) -> change::PageDelta {
    change::PageDelta {
        page_no: d.page_no,
        ranges: d
            .ranges
            .iter()
            .map(|r| change::ByteRange {
                offset: r.offset,
                bytes: r.bytes.clone(),
            })
            .collect(),
    }
}

/// A page delta from the wire; ranges must be sorted, non-overlapping and inside `page_size`.
pub fn delta_from_wire(d: change::PageDelta, page_size: usize) -> Result<ps::PageDelta, Malformed> {
    let mut end = 0usize;
    let mut ranges = Vec::with_capacity(d.ranges.len());
    for r in d.ranges {
        let start = r.offset as usize;
        let stop = start
            .checked_add(r.bytes.len())
            .filter(|&s| s <= page_size)
            .ok_or_else(|| Malformed(format!("range beyond page {} end", d.page_no)))?;
        if start < end || r.bytes.is_empty() {
            return Err(Malformed(format!(
                "unsorted or empty range in page {}",
                d.page_no
            )));
        }
        end = stop;
        ranges.push(ps::ByteRange {
            offset: r.offset,
            bytes: r.bytes,
        });
    }
    if d.page_no == 0 {
        return Err(Malformed("page number 0".into()));
    }
    Ok(ps::PageDelta {
        page_no: d.page_no,
        ranges,
    })
}

pub fn origin_from_wire(origin: u32) -> Result<ps::Origin, Malformed> {
    ps::Origin::try_from(origin).map_err(|_| Malformed(format!("origin {origin} out of range")))
}

pub fn change_to_wire(c: &ps::CommittedChange, acked_unix_micros: u64) -> change::Change {
    change::Change {
        lsn: c.lsn,
        origin: u32::from(c.origin),
        db_pages: c.db_pages,
        deltas: c.deltas.iter().map(delta_to_wire).collect(),
        acked_unix_micros,
    }
}

/// A committed change from the wire, and when its committer got the acknowledgement (0 = unknown).
pub fn change_from_wire(
    c: change::Change,
    page_size: usize,
) -> Result<(ps::CommittedChange, u64), Malformed> {
    let deltas = c
        .deltas
        .into_iter()
        .map(|d| delta_from_wire(d, page_size))
        .collect::<Result<Vec<_>, _>>()?;
    if c.lsn == 0 {
        return Err(Malformed("change with LSN 0".into()));
    }
    if deltas.windows(2).any(|w| w[0].page_no >= w[1].page_no) {
        return Err(Malformed(format!(
            "change {}: deltas not sorted by page or a page repeated",
            c.lsn
        )));
    }
    let change = ps::CommittedChange {
        lsn: c.lsn,
        origin: origin_from_wire(c.origin)?,
        db_pages: c.db_pages,
        deltas: Arc::new(deltas),
    };
    Ok((change, c.acked_unix_micros))
}

pub fn write_set_to_wire(ws: &ps::WriteSet) -> pb::CommitRequest {
    pb::CommitRequest {
        snapshot: ws.snapshot,
        db_pages: ws.db_pages,
        deltas: ws.deltas.iter().map(delta_to_wire).collect(),
        locked_pages: ws.locked_pages.clone(),
        origin: u32::from(ws.origin),
        guard_pages: ws.guard_pages.clone(),
    }
}

pub fn write_set_from_wire(
    r: pb::CommitRequest,
    page_size: usize,
) -> Result<ps::WriteSet, Malformed> {
    Ok(ps::WriteSet {
        snapshot: r.snapshot,
        db_pages: r.db_pages,
        deltas: r
            .deltas
            .into_iter()
            .map(|d| delta_from_wire(d, page_size))
            .collect::<Result<Vec<_>, _>>()?,
        locked_pages: r.locked_pages,
        guard_pages: r.guard_pages,
        origin: origin_from_wire(r.origin)?,
    })
}

pub fn conflict_to_wire(c: &ps::Conflict) -> pb::Conflict {
    let reason = match c.reason {
        ps::ConflictReason::PageChanged => pb::conflict::Reason::PageChanged,
        ps::ConflictReason::SchemaChanged => pb::conflict::Reason::SchemaChanged,
    };
    pb::Conflict {
        reason: reason as i32,
        page_no: c.page_no,
        snapshot: c.snapshot,
        winner_lsn: c.winner_lsn,
        winner_origin: u32::from(c.winner_origin),
    }
}

pub fn conflict_from_wire(c: pb::Conflict) -> Result<ps::Conflict, Malformed> {
    let reason = match pb::conflict::Reason::try_from(c.reason) {
        Ok(pb::conflict::Reason::PageChanged) => ps::ConflictReason::PageChanged,
        Ok(pb::conflict::Reason::SchemaChanged) => ps::ConflictReason::SchemaChanged,
        Err(_) => return Err(Malformed(format!("conflict reason {}", c.reason))),
    };
    Ok(ps::Conflict {
        reason,
        page_no: c.page_no,
        snapshot: c.snapshot,
        winner_lsn: c.winner_lsn,
        winner_origin: origin_from_wire(c.winner_origin)?,
    })
}

/// A commit error for the wire; conflicts travel as [`pb::Conflict`].
pub fn commit_error_to_wire(e: &ps::CommitError) -> pb::commit_reply::Result {
    use pb::commit_failure::Kind;
    let failure = |kind: Kind, message: String, snapshot, oldest| {
        pb::commit_reply::Result::Failure(pb::CommitFailure {
            kind: kind as i32,
            message,
            snapshot,
            oldest,
        })
    };
    match e {
        ps::CommitError::Conflict(c) => pb::commit_reply::Result::Conflict(conflict_to_wire(c)),
        ps::CommitError::Invalid(m) => failure(Kind::Invalid, m.clone(), 0, 0),
        ps::CommitError::SnapshotTooOld { snapshot, oldest } => {
            failure(Kind::SnapshotTooOld, String::new(), *snapshot, *oldest)
        }
        ps::CommitError::LogFailed(m) => failure(Kind::LogFailed, m.clone(), 0, 0),
        // Only a client produces Unavailable; should one be relayed, it is a failed log write
        // as far as the next hop can tell.
        ps::CommitError::Unavailable(m) => failure(Kind::LogFailed, m.clone(), 0, 0),
    }
}

pub fn commit_failure_from_wire(f: pb::CommitFailure) -> ps::CommitError {
    use pb::commit_failure::Kind;
    match Kind::try_from(f.kind) {
        Ok(Kind::Invalid) => ps::CommitError::Invalid(f.message),
        Ok(Kind::SnapshotTooOld) => ps::CommitError::SnapshotTooOld {
            snapshot: f.snapshot,
            oldest: f.oldest,
        },
        Ok(Kind::LogFailed) => ps::CommitError::LogFailed(f.message),
        Err(_) => ps::CommitError::Invalid(format!("unknown failure kind {}", f.kind)),
    }
}

pub fn read_error_to_wire(e: &ps::ReadError) -> pb::ReadFailure {
    use pb::read_failure::Kind;
    let mut f = pb::ReadFailure::default();
    match e {
        ps::ReadError::NotRetained {
            requested,
            oldest,
            latest,
        } => {
            f.kind = Kind::NotRetained as i32;
            (f.requested, f.oldest, f.latest) = (*requested, *oldest, *latest);
        }
        ps::ReadError::BeyondEnd {
            page_no,
            db_pages,
            at,
        } => {
            f.kind = Kind::BeyondEnd as i32;
            (f.page_no, f.db_pages, f.requested) = (*page_no, *db_pages, *at);
        }
        ps::ReadError::Corrupt(m) => {
            f.kind = Kind::Corrupt as i32;
            f.message = m.clone();
        }
        ps::ReadError::Io(io) => {
            f.kind = Kind::Io as i32;
            f.message = io.to_string();
        }
    }
    f
}

pub fn read_error_from_wire(f: pb::ReadFailure) -> ps::ReadError {
    use pb::read_failure::Kind;
    match Kind::try_from(f.kind) {
        Ok(Kind::NotRetained) => ps::ReadError::NotRetained {
            requested: f.requested,
            oldest: f.oldest,
            latest: f.latest,
        },
        Ok(Kind::BeyondEnd) => ps::ReadError::BeyondEnd {
            page_no: f.page_no,
            db_pages: f.db_pages,
            at: f.requested,
        },
        Ok(Kind::Corrupt) => ps::ReadError::Corrupt(f.message),
        Ok(Kind::Io) | Err(_) => ps::ReadError::Io(std::io::Error::other(f.message)),
    }
}

pub fn stats_to_wire(s: &ps::StoreStats) -> pb::StatsReply {
    pb::StatsReply {
        latest_lsn: s.latest_lsn,
        oldest_lsn: s.oldest_lsn,
        commits: s.commits,
        conflicts: s.conflicts,
        fsyncs: s.fsyncs,
        log_bytes: s.log_bytes,
        checkpoints: s.checkpoints,
        retained_versions: s.retained_versions,
        db_pages: s.db_pages,
        merges: s.merges,
        merge_refusals: Refusal::ALL
            .into_iter()
            .map(|r| (r.as_str().to_string(), s.merge_refusals[r.index()]))
            .collect(),
    }
}

pub fn stats_from_wire(s: pb::StatsReply) -> ps::StoreStats {
    ps::StoreStats {
        latest_lsn: s.latest_lsn,
        oldest_lsn: s.oldest_lsn,
        commits: s.commits,
        conflicts: s.conflicts,
        fsyncs: s.fsyncs,
        log_bytes: s.log_bytes,
        checkpoints: s.checkpoints,
        retained_versions: s.retained_versions,
        db_pages: s.db_pages,
        merges: s.merges,
        // A reason this build does not know (a newer page service) is left out.
        merge_refusals: std::array::from_fn(|i| {
            s.merge_refusals
                .get(Refusal::ALL[i].as_str())
                .copied()
                .unwrap_or(0)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_delta(page_size: usize) -> impl Strategy<Value = ps::PageDelta> {
        (
            1u32..1000,
            proptest::collection::vec((0usize..64, 1usize..64), 0..8),
        )
            .prop_map(move |(page_no, gaps)| {
                let mut offset = 0usize;
                let mut ranges = Vec::new();
                for (gap, len) in gaps {
                    let start = offset + gap;
                    if start + len > page_size {
                        break;
                    }
                    ranges.push(ps::ByteRange {
                        offset: start as u32,
                        bytes: vec![(start % 251) as u8; len],
                    });
                    offset = start + len;
                }
                ps::PageDelta { page_no, ranges }
            })
    }

    proptest! {
        #[test]
        fn change_round_trips(
            lsn in 1u64..u64::MAX,
            origin in 0u16..=16,
            db_pages in 0u32..100_000,
            deltas in proptest::collection::vec(arb_delta(4096), 0..6),
            acked in any::<u64>(),
        ) {
            // A change holds at most one delta per page, sorted by page.
            let mut deltas = deltas;
            deltas.sort_by_key(|d| d.page_no);
            deltas.dedup_by_key(|d| d.page_no);
            let change = ps::CommittedChange { lsn, origin, db_pages, deltas: Arc::new(deltas) };
            let (back, acked_back) = change_from_wire(change_to_wire(&change, acked), 4096).unwrap();
            prop_assert_eq!(back, change);
            prop_assert_eq!(acked_back, acked);
        }

        #[test]
        fn write_set_round_trips(
            snapshot in any::<u64>(),
            db_pages in any::<u32>(),
            deltas in proptest::collection::vec(arb_delta(4096), 0..6),
            locked in proptest::collection::vec(1u32..1000, 0..5),
            guards in proptest::collection::vec(1u32..1000, 0..5),
            origin in 0u16..=16,
        ) {
            let ws = ps::WriteSet {
                snapshot,
                db_pages,
                deltas,
                locked_pages: locked,
                guard_pages: guards,
                origin,
            };
            let back = write_set_from_wire(write_set_to_wire(&ws), 4096).unwrap();
            prop_assert_eq!(back, ws);
        }
    }

    #[test]
    fn malformed_deltas_are_errors() {
        let beyond = change::PageDelta {
            page_no: 3,
            ranges: vec![change::ByteRange {
                offset: 4000,
                bytes: vec![1; 200],
            }],
        };
        assert!(delta_from_wire(beyond, 4096).is_err());
        let overlapping = change::PageDelta {
            page_no: 3,
            ranges: vec![
                change::ByteRange {
                    offset: 10,
                    bytes: vec![1; 20],
                },
                change::ByteRange {
                    offset: 15,
                    bytes: vec![1; 2],
                },
            ],
        };
        assert!(delta_from_wire(overlapping, 4096).is_err());
        let zero = change::PageDelta {
            page_no: 0,
            ranges: vec![],
        };
        assert!(delta_from_wire(zero, 4096).is_err());
        assert!(origin_from_wire(70_000).is_err());
    }

    #[test]
    fn merge_refusals_round_trip_by_name() {
        let mut stats = ps::StoreStats {
            merges: 7,
            ..Default::default()
        };
        for (i, n) in stats.merge_refusals.iter_mut().enumerate() {
            *n = 100 + i as u64;
        }
        let mut wire = stats_to_wire(&stats);
        assert_eq!(wire.merge_refusals["same_rows"], 100 + 3);
        // A reason a newer page service knows and this build does not is left out.
        wire.merge_refusals.insert("from_the_future".into(), 1);
        let back = stats_from_wire(wire);
        assert_eq!(back.merge_refusals, stats.merge_refusals);
        assert_eq!(back.merges, 7);
    }
}
