//! A Borealis cluster on top of the page service.
//!
//! - [`node`]: one instance process joined to a cluster: its engine on the remote page store,
//!   replication to its peers, and the membership heartbeat that tells everyone where it is.
//! - [`endpoints`]: the cluster endpoint (a healthy read/write instance) and custom endpoints
//!   (named sets, each new connection to the next healthy member), as TCP proxies. Instance
//!   endpoints are the instances' own ports.
//! - [`supervisor`]: `borealis up --instances N`: the page service and N instances as child
//!   processes, restarted when they die, plus the endpoints.

pub mod endpoints;
mod health;
pub mod node;
pub mod supervisor;

pub use endpoints::{EndpointSpec, Endpoints, EndpointsError};
pub use node::{InstanceNode, NodeError, NodeOptions};
