//! Pure domain types shared by every layer of dbplane: public ids, timestamps, the
//! service-token access catalogue, grants and the rules that check them, and name
//! validation. Nothing here does I/O, so everything is unit-tested in place.

pub mod access;
pub mod backups;
pub mod data_plane;
pub mod deploys;
pub mod grant;
pub mod ids;
pub mod jobs;
pub mod names;
pub mod records;
pub mod secret;
pub mod timestamp;

pub use access::{Access, AccessLevel, UnknownAccesses};
pub use grant::{AccessGrant, GrantScope, GrantSet};
pub use ids::{DatabaseId, GrantId, OrganizationId, ServiceTokenId, UserId};
pub use records::{Organization, ServiceToken, User};
pub use timestamp::Timestamp;
