//! Wire formats between Borealis processes, and the links that carry the hot ones.
//!
//! `pageservice` is the page store as instances reach it over gRPC (plus the membership
//! registry); `change` is a committed change. Commits and replicated changes do not go as gRPC
//! calls: they travel as the same prost messages in [`frame`]s on plain TCP *links* (an
//! instance's commit link to the page service, its replication link to each peer), written
//! without waiting by a [`frame_writer::FrameWriter`]. This crate defines messages and framing
//! and converts messages to and from the page store's types ([`borealis_pagestore`]); serving
//! and calling live in the `pageservice` and `replication` crates.

/// Version of the wire format; a client refuses a server of another version. 3: commits go
/// on a commit link ([`frame`]), which a version-2 page service does not accept.
pub const FORMAT_VERSION: u32 = 3;

/// Largest gRPC message either side accepts: a commit of many pages, or a batch of changes.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// Generated code, nested as the proto packages are (`borealis.change.v1`, …) so that the
/// cross-package references the generator writes resolve.
#[allow(clippy::all, missing_docs)]
pub mod generated {
    pub mod borealis {
        pub mod change {
            pub mod v1 {
                tonic::include_proto!("borealis.change.v1");
            }
        }
        pub mod pageservice {
            pub mod v1 {
                tonic::include_proto!("borealis.pageservice.v1");
            }
        }
    }
}

pub mod frame;
pub mod frame_writer;

pub use generated::borealis::change::v1 as change;
pub use generated::borealis::pageservice::v1 as pageservice;

mod convert;

pub use convert::*;
