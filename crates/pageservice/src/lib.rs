//! The page store over the network.
//!
//! `server` serves a [`borealis_pagestore::LocalPageStore`] to instances (the `borealis storage`
//! process); `client::RemotePageStore` is the [`borealis_pagestore::PageStore`] an instance uses
//! to reach it, so the engine does not know whether its store is local or remote. The storage
//! process also keeps the cluster's membership (`membership`): the one process every instance
//! already talks to is the natural place to learn who the peers are.

pub mod client;
mod commit_link;
mod leases;
pub mod membership;
pub mod priority;
pub mod server;

pub use client::{ClientError, RemotePageStore};
pub use membership::MemberInfo;
pub use server::{serve, ServeError, StorageHandle};
