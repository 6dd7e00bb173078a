//! The metadata store: everything dbplane knows about tenants, credentials and (later)
//! databases, branches and jobs. Services see only the [`MetadataStore`] trait, so a
//! Postgres implementation for several control-plane replicas can follow without
//! touching them. What is persisted: every record below. What is rebuilt at start:
//! nothing but caches (auth cache, rate-limit buckets, metrics).

mod backups;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod data_plane;
mod deploys;
mod edge;
mod error;
mod jobs;
mod sqlite;

pub use backups::{BackupFilter, BackupMetadataStore, BranchRestore};
pub use data_plane::{BranchCounts, BranchFilter, DataPlaneStore, DatabaseSummary};
pub use deploys::{DeployRequestFilter, DeployStore};
pub use edge::{EdgeInventory, EdgeStore, QueryStatsRow, TableUsage};
pub use jobs::JobStore;

pub use error::{StoreError, StoreResult};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use dbplane_domain::{
    AccessGrant, DatabaseId, GrantScope, Organization, OrganizationId, ServiceToken,
    ServiceTokenId, Timestamp, User, UserId,
};

/// A page of rows and the total count behind it.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// A window into an ordered list.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

/// The identity of a database, as grants and access records need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseIdentity {
    pub id: DatabaseId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The outcome of bootstrapping an organization and its administrator.
#[derive(Clone, Debug)]
pub struct Bootstrapped {
    pub organization: Organization,
    pub user: User,
    pub organization_created: bool,
}

/// Brings every store trait into scope.
pub mod prelude {
    pub use crate::{
        BackupMetadataStore, DataPlaneStore, DeployStore, EdgeStore, JobStore, MetadataStore,
        TenantStore,
    };
}

/// The whole metadata store.
pub trait MetadataStore:
    TenantStore + DataPlaneStore + JobStore + BackupMetadataStore + DeployStore + EdgeStore
{
}

impl<T> MetadataStore for T where
    T: TenantStore + DataPlaneStore + JobStore + BackupMetadataStore + DeployStore + EdgeStore
{
}

/// Organizations, users, service tokens and grants. Every method is one transaction.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// Creates `organization` with `admin` as its administrator unless an organization of
    /// that name exists; an existing user with the same email is reused. Idempotent.
    async fn ensure_organization_with_admin(
        &self,
        organization: Organization,
        admin: User,
    ) -> StoreResult<Bootstrapped>;

    async fn organization_by_name(&self, name: &str) -> StoreResult<Option<Organization>>;
    async fn organization_by_id(&self, id: &OrganizationId) -> StoreResult<Option<Organization>>;
    /// Replaces the mutable fields of an organization.
    async fn update_organization(&self, organization: &Organization) -> StoreResult<()>;
    async fn count_databases(&self, organization: &OrganizationId) -> StoreResult<u64>;
    async fn database_by_name(
        &self,
        organization: &OrganizationId,
        name: &str,
    ) -> StoreResult<Option<DatabaseIdentity>>;
    async fn databases_by_ids(&self, ids: &[DatabaseId]) -> StoreResult<Vec<DatabaseIdentity>>;

    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<User>>;

    /// Inserts a token together with its initial grants.
    async fn create_service_token(
        &self,
        token: &ServiceToken,
        grants: &[AccessGrant],
    ) -> StoreResult<()>;
    async fn service_token_by_id(&self, id: &ServiceTokenId) -> StoreResult<Option<ServiceToken>>;
    async fn list_service_tokens(
        &self,
        organization: &OrganizationId,
        window: Window,
    ) -> StoreResult<Page<ServiceToken>>;
    /// Deletes a token and its grants; false when there was none.
    async fn delete_service_token(
        &self,
        organization: &OrganizationId,
        id: &ServiceTokenId,
    ) -> StoreResult<bool>;
    /// Records use of a token; never moves `last_used_at` backwards.
    async fn touch_service_token(&self, id: &ServiceTokenId, at: Timestamp) -> StoreResult<()>;

    async fn grants_of(&self, token: &ServiceTokenId) -> StoreResult<Vec<AccessGrant>>;
    /// Adds grants, skipping those the token already holds. Idempotent.
    async fn add_grants(&self, token: &ServiceTokenId, grants: &[AccessGrant]) -> StoreResult<()>;
    /// Removes the given accesses on `scope`. Idempotent.
    async fn remove_grants(
        &self,
        token: &ServiceTokenId,
        accesses: &[dbplane_domain::Access],
        scope: &GrantScope,
    ) -> StoreResult<()>;
}
