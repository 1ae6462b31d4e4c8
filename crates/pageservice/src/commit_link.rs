//! Commit links: commits travel from an instance to the page service on a plain TCP
//! connection of their own, framed as [`borealis_rpc::frame`] describes, while every other
//! call stays gRPC. Both share the page service's port: the first byte of a connection tells
//! a link from HTTP/2.
//!
//! `client` is the instance's end (sessions write, one reader thread finishes commits);
//! `server` is the page service's end (one task reads, a task per commit, one task writes).

pub(crate) mod client;
pub(crate) mod server;
