//! Wire types: the JSON shapes of the PlanetScale API, built from control-plane
//! results. Field names and nullability follow the reference spec exactly.

pub mod actor;
pub mod avatar;
pub mod backup;
pub mod branch;
pub mod cluster_size;
pub mod connection;
pub mod database;
pub mod deploy_request;
pub mod keyspace;
pub mod list;
pub mod organization;
pub mod password;
pub mod region;
pub mod review;
pub mod role;
pub mod schema;
pub mod service_token;
pub mod throttler;
pub mod user;

#[cfg(test)]
mod contract_tests;
