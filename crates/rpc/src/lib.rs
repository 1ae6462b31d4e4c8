//! Wire formats between Borealis processes.
//!
//! `pageservice` is the page store as instances reach it over the network (plus the membership
//! registry); `replication` carries committed changes between instances; `change` is the
//! committed change both share. This crate only defines messages and converts them to and from
//! the page store's types ([`borealis_pagestore`]); serving and calling live in the
//! `pageservice` and `replication` crates, which accept connections through [`incoming`].

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
        pub mod replication {
            pub mod v1 {
                tonic::include_proto!("borealis.replication.v1");
            }
        }
    }
}

pub mod frame;
mod listen;
pub use listen::incoming;

pub use generated::borealis::change::v1 as change;
pub use generated::borealis::pageservice::v1 as pageservice;
pub use generated::borealis::replication::v1 as replication;

mod convert;

pub use convert::*;
