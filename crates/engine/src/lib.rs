//! The data plane of dbplane: everything that touches the database servers themselves.
//!
//! The control plane decides *what* should exist (databases, branches, credentials,
//! deploys); this crate makes it so on real MariaDB and PostgreSQL servers. This first
//! part is [`cluster`]: the managed local clusters that `dbplane serve` starts itself
//! when no cluster is configured, from the server binaries installed on the machine. It
//! initializes them on first start (crash-safely), keeps their ports stable, supervises
//! them (restart with backoff) and stops them on shutdown. The second is [`physical`]:
//! the idempotent operations the control plane's jobs run on any cluster, managed or not,
//! for databases (branches), schema copies and credentials. Engine drivers (online
//! schema change, replication, dumps) will follow behind per-capability traits.

pub mod artifacts;
pub mod backup;
pub mod cluster;
pub mod deploy;
mod error;
pub mod locks;
pub mod online_ddl;
mod pg_tool;
pub mod physical;
pub mod views;

pub use cluster::{
    ClusterKind, LocalCluster, LocalClusterConfig, LocalClusters, start_local_clusters,
};
pub use error::{EngineError, EngineResult};
pub use physical::{
    ClusterAdmin, CredentialRole, CredentialSpec, MysqlAdmin, PhysicalName, PostgresAdmin,
    SchemaObject, SchemaObjectKind,
};
