//! Base page images in a redb database (`pages.redb`).
//!
//! For every page it holds the newest version with LSN ≤ the checkpoint LSN, stored as
//! `[lsn u64][crc32 of lsn and image u32][image]`, plus a meta table with the page size, the
//! checkpoint LSN, the database size at the checkpoint and the format version.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::api::{Lsn, PageNo, ReadError};
use crate::error::StoreError;
use crate::versions::Version;

const PAGES: TableDefinition<u32, &[u8]> = TableDefinition::new("pages");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const META_FORMAT: &str = "format_version";
const META_PAGE_SIZE: &str = "page_size";
const META_CHECKPOINT_LSN: &str = "checkpoint_lsn";
const META_DB_PAGES: &str = "db_pages";

/// The on-disk format this code writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// Bytes before the image in a stored page.
const PREFIX_LEN: usize = 12;

/// The durable state of the last checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub page_size: usize,
    pub checkpoint_lsn: Lsn,
    pub db_pages: u32,
}

/// What a checkpoint does to one page.
pub enum PageUpdate {
    /// Store this version.
    Put { lsn: Lsn, image: Arc<[u8]> },
    /// The page is beyond the database size: forget it.
    Remove,
}

/// The base-image database.
pub struct BaseStore {
    db: Database,
    page_size: usize,
    path: String,
}

impl BaseStore {
    /// Open or create `path`. A new store gets `page_size`; an existing one keeps its own.
    pub fn open(
        path: &Path,
        page_size: usize,
        cache_bytes: usize,
    ) -> Result<(BaseStore, Meta), StoreError> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(StoreError::base)?;
        let txn = db.begin_write().map_err(StoreError::base)?;
        let meta = {
            let mut meta = txn.open_table(META).map_err(StoreError::base)?;
            txn.open_table(PAGES).map_err(StoreError::base)?;
            let get = |key| -> Result<Option<u64>, StoreError> {
                Ok(meta.get(key).map_err(StoreError::base)?.map(|v| v.value()))
            };
            match get(META_FORMAT)? {
                None => {
                    meta.insert(META_FORMAT, FORMAT_VERSION)
                        .map_err(StoreError::base)?;
                    meta.insert(META_PAGE_SIZE, page_size as u64)
                        .map_err(StoreError::base)?;
                    meta.insert(META_CHECKPOINT_LSN, 0)
                        .map_err(StoreError::base)?;
                    meta.insert(META_DB_PAGES, 0).map_err(StoreError::base)?;
                    Meta {
                        page_size,
                        checkpoint_lsn: 0,
                        db_pages: 0,
                    }
                }
                Some(FORMAT_VERSION) => {
                    let missing = |k: &str| {
                        StoreError::Corrupt(format!("{}: meta key {k} missing", path.display()))
                    };
                    let stored_size =
                        get(META_PAGE_SIZE)?.ok_or_else(|| missing(META_PAGE_SIZE))?;
                    Meta {
                        page_size: usize::try_from(stored_size)
                            .map_err(|_| StoreError::Corrupt(format!("page size {stored_size}")))?,
                        checkpoint_lsn: get(META_CHECKPOINT_LSN)?
                            .ok_or_else(|| missing(META_CHECKPOINT_LSN))?,
                        db_pages: u32::try_from(
                            get(META_DB_PAGES)?.ok_or_else(|| missing(META_DB_PAGES))?,
                        )
                        .map_err(|_| {
                            StoreError::Corrupt(format!(
                                "{}: db_pages out of range",
                                path.display()
                            ))
                        })?,
                    }
                }
                Some(other) => {
                    return Err(StoreError::Config(format!(
                        "{} has format version {other}; this build reads {FORMAT_VERSION}",
                        path.display()
                    )));
                }
            }
        };
        txn.commit().map_err(StoreError::base)?;
        if meta.page_size < 512 || !meta.page_size.is_power_of_two() || meta.page_size > 65536 {
            return Err(StoreError::Config(format!(
                "page size {} is not a power of two in 512..=65536",
                meta.page_size
            )));
        }
        let store = BaseStore {
            db,
            page_size: meta.page_size,
            path: path.display().to_string(),
        };
        Ok((store, meta))
    }

    /// The stored version of `page_no`, checksum verified.
    pub fn read(&self, page_no: PageNo) -> Result<Option<Version>, ReadError> {
        let redb_err = |e: redb::Error| ReadError::Io(std::io::Error::other(e.to_string()));
        let txn = self.db.begin_read().map_err(|e| redb_err(e.into()))?;
        let table = txn.open_table(PAGES).map_err(|e| redb_err(e.into()))?;
        let Some(guard) = table.get(page_no).map_err(|e| redb_err(e.into()))? else {
            return Ok(None);
        };
        let stored = guard.value();
        let corrupt =
            |why: &str| ReadError::Corrupt(format!("{} page {page_no}: {why}", self.path));
        if stored.len() != PREFIX_LEN + self.page_size {
            return Err(corrupt(&format!("stored length {}", stored.len())));
        }
        let lsn = u64::from_le_bytes(
            stored[0..8]
                .try_into()
                .map_err(|_| corrupt("short prefix"))?,
        );
        let crc = u32::from_le_bytes(
            stored[8..12]
                .try_into()
                .map_err(|_| corrupt("short prefix"))?,
        );
        let image = &stored[PREFIX_LEN..];
        if checksum(lsn, image) != crc {
            return Err(corrupt("checksum mismatch"));
        }
        Ok(Some((lsn, Arc::from(image))))
    }

    /// Write one checkpoint in a single durable transaction.
    pub fn write_checkpoint(
        &self,
        meta: Meta,
        pages: &[(PageNo, PageUpdate)],
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(StoreError::base)?;
        txn.set_durability(Durability::Immediate)
            .map_err(StoreError::base)?;
        {
            let mut table = txn.open_table(PAGES).map_err(StoreError::base)?;
            let mut buf = Vec::with_capacity(PREFIX_LEN + self.page_size);
            for (page_no, update) in pages {
                match update {
                    PageUpdate::Put { lsn, image } => {
                        assert_eq!(image.len(), self.page_size);
                        buf.clear();
                        buf.extend_from_slice(&lsn.to_le_bytes());
                        buf.extend_from_slice(&checksum(*lsn, image).to_le_bytes());
                        buf.extend_from_slice(image);
                        table
                            .insert(*page_no, buf.as_slice())
                            .map_err(StoreError::base)?;
                    }
                    PageUpdate::Remove => {
                        table.remove(*page_no).map_err(StoreError::base)?;
                    }
                }
            }
            let mut m = txn.open_table(META).map_err(StoreError::base)?;
            m.insert(META_CHECKPOINT_LSN, meta.checkpoint_lsn)
                .map_err(StoreError::base)?;
            m.insert(META_DB_PAGES, u64::from(meta.db_pages))
                .map_err(StoreError::base)?;
        }
        txn.commit().map_err(StoreError::base)
    }
}

fn checksum(lsn: Lsn, image: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&lsn.to_le_bytes());
    h.update(image);
    h.finalize()
}
