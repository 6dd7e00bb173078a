//! Persistence of databases, branches and credentials. Methods that change a state and
//! schedule the job carrying it out do both in one transaction.

use crate::{Page, StoreResult, Window};
use async_trait::async_trait;
use dbplane_domain::data_plane::{Branch, BranchId, Credential, CredentialId, Database};
use dbplane_domain::jobs::{Job, JobId};
use dbplane_domain::{AccessGrant, DatabaseId, OrganizationId, ServiceTokenId, Timestamp};
use std::collections::HashMap;

/// Filters of `list_branches`.
#[derive(Clone, Debug, Default)]
pub struct BranchFilter {
    /// Substring of the name.
    pub query: Option<String>,
    pub production: Option<bool>,
    pub safe_migrations: Option<bool>,
    /// Newest first when true (the default order is oldest first).
    pub newest_first: bool,
}

/// Counts shown on a database.
#[derive(Clone, Copy, Debug, Default)]
pub struct BranchCounts {
    pub total: u64,
    pub production: u64,
    pub development: u64,
    /// Live branches restored from a backup (they count as development or production too).
    pub restored: u64,
}

/// What a database's API object shows beyond its own row, read from the store alone.
#[derive(Clone, Debug, Default)]
pub struct DatabaseSummary {
    pub counts: BranchCounts,
    pub default_branch: Option<Branch>,
    /// Tables of the default branch when last counted (0 before the first count).
    pub default_branch_table_count: u64,
}

#[async_trait]
pub trait DataPlaneStore: Send + Sync + 'static {
    /// Inserts a database, its default branch, the job provisioning that branch and the
    /// creating token's grants on the database, in one transaction.
    async fn create_database(
        &self,
        database: &Database,
        default_branch: &Branch,
        job: &Job,
        creator_grants: Option<(&ServiceTokenId, &[AccessGrant])>,
    ) -> StoreResult<()>;
    /// A live (not deleted) database by name.
    async fn database(
        &self,
        organization: &OrganizationId,
        name: &str,
    ) -> StoreResult<Option<Database>>;
    async fn database_by_id(&self, id: &DatabaseId) -> StoreResult<Option<Database>>;
    async fn list_databases(
        &self,
        organization: &OrganizationId,
        name_contains: Option<&str>,
        window: Window,
    ) -> StoreResult<Page<Database>>;
    /// Writes the mutable fields (name, settings, state, timestamps).
    async fn update_database(&self, database: &Database) -> StoreResult<()>;
    /// Hides the database and its branches and schedules the job that drops them.
    async fn mark_database_deleted(
        &self,
        id: &DatabaseId,
        at: Timestamp,
        job: &Job,
    ) -> StoreResult<()>;
    /// Forgets a deleted database and everything under it, completing its job in the
    /// same transaction; false when the job's lease was lost.
    async fn purge_database(&self, id: &DatabaseId, job: &JobId, epoch: i64) -> StoreResult<bool>;

    /// Inserts a branch and the job that provisions it.
    async fn create_branch(&self, branch: &Branch, job: &Job) -> StoreResult<()>;
    async fn branch(&self, database: &DatabaseId, name: &str) -> StoreResult<Option<Branch>>;
    /// A branch by id, deleted ones included (jobs need them).
    async fn branch_by_id(&self, id: &BranchId) -> StoreResult<Option<Branch>>;
    async fn list_branches(
        &self,
        database: &DatabaseId,
        filter: &BranchFilter,
        window: Window,
    ) -> StoreResult<Page<Branch>>;
    /// Every branch of a database, deleted ones included.
    async fn all_branches(&self, database: &DatabaseId) -> StoreResult<Vec<Branch>>;
    /// The branches (deleted ones included) with these ids, in no particular order.
    async fn branches_by_ids(&self, ids: &[BranchId]) -> StoreResult<Vec<Branch>>;
    async fn branch_counts(&self, database: &DatabaseId) -> StoreResult<BranchCounts>;
    /// The summaries of several databases in a fixed number of queries (a list page);
    /// databases without live branches are missing from the map.
    async fn database_summaries(
        &self,
        databases: &[DatabaseId],
    ) -> StoreResult<HashMap<DatabaseId, DatabaseSummary>>;
    /// Records the table count of `branch` as counted on its server at `at`.
    async fn set_branch_table_count(
        &self,
        branch: &BranchId,
        count: u64,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Live, ready default branches whose table count is missing or was counted before
    /// `before`, never counted and oldest first, at most `limit`.
    async fn branches_to_count(&self, before: Timestamp, limit: u64) -> StoreResult<Vec<Branch>>;
    /// The default branch of a database.
    async fn default_branch(&self, database: &DatabaseId) -> StoreResult<Option<Branch>>;
    async fn set_default_branch(&self, database: &DatabaseId, branch: &BranchId)
    -> StoreResult<()>;
    /// Writes the mutable fields of a branch (name, flags, timestamps).
    async fn update_branch(&self, branch: &Branch) -> StoreResult<()>;
    /// Marks a provisioned branch ready (and its database, for a first branch) and
    /// completes the job, in one transaction; false when the job's lease was lost.
    async fn complete_branch_creation(
        &self,
        branch: &BranchId,
        database: Option<&DatabaseId>,
        job: &JobId,
        epoch: i64,
    ) -> StoreResult<bool>;
    /// Updates a branch and schedules a job in one transaction.
    async fn update_branch_with_job(&self, branch: &Branch, job: &Job) -> StoreResult<()>;
    /// Hides the branches and schedules one job per branch to drop them.
    async fn mark_branches_deleted(
        &self,
        branches: &[(BranchId, Job)],
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Forgets a deleted branch and its credentials, completing its job in the same
    /// transaction; false when the job's lease was lost.
    async fn purge_branch(&self, id: &BranchId, job: &JobId, epoch: i64) -> StoreResult<bool>;
    /// Live children of a branch.
    async fn child_branches(&self, id: &BranchId) -> StoreResult<Vec<Branch>>;

    /// Inserts a pending credential and its jobs (cleanup, expiry) in one transaction.
    async fn insert_credential(&self, credential: &Credential, jobs: &[Job]) -> StoreResult<()>;
    async fn credential(
        &self,
        branch: &BranchId,
        id: &CredentialId,
    ) -> StoreResult<Option<Credential>>;
    async fn credential_by_id(&self, id: &CredentialId) -> StoreResult<Option<Credential>>;
    /// The branch's default role, pending or active.
    async fn default_credential(&self, branch: &BranchId) -> StoreResult<Option<Credential>>;
    /// Active credentials of a branch, newest first.
    async fn list_credentials(
        &self,
        branch: &BranchId,
        window: Window,
    ) -> StoreResult<Page<Credential>>;
    /// Every credential of a branch, pending ones included.
    async fn all_credentials(&self, branch: &BranchId) -> StoreResult<Vec<Credential>>;
    async fn update_credential(&self, credential: &Credential) -> StoreResult<()>;
    /// Updates a credential and schedules a job in one transaction.
    async fn update_credential_with_job(
        &self,
        credential: &Credential,
        job: &Job,
    ) -> StoreResult<()>;
    /// Deletes a credential row and completes a job in one transaction (cleanup).
    async fn delete_credential(
        &self,
        id: &CredentialId,
        job: Option<(&JobId, i64)>,
    ) -> StoreResult<()>;
}
