//! The page store: the durable commit log plus versioned pages.
//!
//! It validates each commit first-committer-wins per page, assigns it the next LSN, makes it
//! durable (group commit: concurrent commits share one fsync), and serves any page as of any
//! retained LSN. Old versions that no pinned snapshot can see are reclaimed by checkpoints.
//!
//! `api` is the contract compute codes against; `LocalPageStore` is the in-process
//! implementation over a directory on local disk.

pub mod api;
mod base;
mod checkpoint;
mod delta;
mod direct_append;
mod durability;
mod error;
mod feed;
mod group_commit;
pub mod leaf_merge;
mod log;
mod options;
mod pins;
mod prepare;
pub mod record;
pub mod spare_images;
mod store;
mod versions;

pub use api::*;
pub use delta::changed_ranges;
pub use error::StoreError;
pub use options::StoreOptions;
pub use store::{CommitDone, LocalPageStore};
