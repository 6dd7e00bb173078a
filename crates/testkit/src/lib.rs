//! Test support for dbplane: the PlanetScale API contract, an API client that checks
//! every response against it, and a harness that runs the real `dbplane` binary on a
//! fresh data dir and a free port.

pub mod client;
pub mod contract;
pub mod server;
pub mod wait;

pub use client::{ApiClient, ApiResponse};
pub use server::{BootstrapToken, TestOptions, TestServer};
pub use wait::wait_until;
