//! Wire types: the JSON shapes of the PlanetScale API, built from control-plane
//! results. Field names and nullability follow the reference spec exactly.

pub mod avatar;
pub mod list;
pub mod organization;
pub mod region;
pub mod service_token;
pub mod user;
