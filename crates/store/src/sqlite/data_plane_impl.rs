//! `DataPlaneStore` for [`SqliteStore`], delegating to one module per table.

use super::{SqliteStore, branch_stats, branches, credentials, databases};
use crate::data_plane::{BranchCounts, BranchFilter, DatabaseSummary};
use crate::{DataPlaneStore, Page, StoreResult, Window};
use async_trait::async_trait;
use dbplane_domain::data_plane::{Branch, BranchId, Credential, CredentialId, Database};
use dbplane_domain::jobs::{Job, JobId};
use dbplane_domain::{AccessGrant, DatabaseId, OrganizationId, ServiceTokenId, Timestamp};
use std::collections::HashMap;

#[async_trait]
impl DataPlaneStore for SqliteStore {
    async fn create_database(
        &self,
        database: &Database,
        default_branch: &Branch,
        job: &Job,
        creator_grants: Option<(&ServiceTokenId, &[AccessGrant])>,
    ) -> StoreResult<()> {
        databases::create(&self.pool, database, default_branch, job, creator_grants).await
    }
    async fn database(
        &self,
        organization: &OrganizationId,
        name: &str,
    ) -> StoreResult<Option<Database>> {
        databases::by_name(&self.pool, organization, name).await
    }
    async fn database_by_id(&self, id: &DatabaseId) -> StoreResult<Option<Database>> {
        databases::by_id(&self.pool, id).await
    }
    async fn list_databases(
        &self,
        organization: &OrganizationId,
        name_contains: Option<&str>,
        window: Window,
    ) -> StoreResult<Page<Database>> {
        databases::list(&self.pool, organization, name_contains, window).await
    }
    async fn update_database(&self, database: &Database) -> StoreResult<()> {
        databases::update(&self.pool, database).await
    }
    async fn mark_database_deleted(
        &self,
        id: &DatabaseId,
        at: Timestamp,
        job: &Job,
    ) -> StoreResult<()> {
        databases::mark_deleted(&self.pool, id, at, job).await
    }
    async fn purge_database(&self, id: &DatabaseId, job: &JobId, epoch: i64) -> StoreResult<bool> {
        databases::purge(&self.pool, id, job, epoch).await
    }
    async fn create_branch(&self, branch: &Branch, job: &Job) -> StoreResult<()> {
        branches::create(&self.pool, branch, job).await
    }
    async fn branch(&self, database: &DatabaseId, name: &str) -> StoreResult<Option<Branch>> {
        branches::by_name(&self.pool, database, name).await
    }
    async fn branch_by_id(&self, id: &BranchId) -> StoreResult<Option<Branch>> {
        branches::by_id(&self.pool, id).await
    }
    async fn list_branches(
        &self,
        database: &DatabaseId,
        filter: &BranchFilter,
        window: Window,
    ) -> StoreResult<Page<Branch>> {
        branches::list(&self.pool, database, filter, window).await
    }
    async fn all_branches(&self, database: &DatabaseId) -> StoreResult<Vec<Branch>> {
        branches::all(&self.pool, database).await
    }
    async fn branch_counts(&self, database: &DatabaseId) -> StoreResult<BranchCounts> {
        branches::counts(&self.pool, database).await
    }
    async fn branches_by_ids(&self, ids: &[BranchId]) -> StoreResult<Vec<Branch>> {
        branch_stats::by_ids(&self.pool, ids).await
    }
    async fn database_summaries(
        &self,
        databases: &[DatabaseId],
    ) -> StoreResult<HashMap<DatabaseId, DatabaseSummary>> {
        branch_stats::summaries(&self.pool, databases).await
    }
    async fn set_branch_table_count(
        &self,
        branch: &BranchId,
        count: u64,
        at: Timestamp,
    ) -> StoreResult<()> {
        branch_stats::set_table_count(&self.pool, branch, count, at).await
    }
    async fn branches_to_count(&self, before: Timestamp, limit: u64) -> StoreResult<Vec<Branch>> {
        branch_stats::to_count(&self.pool, before, limit).await
    }
    async fn default_branch(&self, database: &DatabaseId) -> StoreResult<Option<Branch>> {
        branches::default_of(&self.pool, database).await
    }
    async fn set_default_branch(
        &self,
        database: &DatabaseId,
        branch: &BranchId,
    ) -> StoreResult<()> {
        branches::set_default(&self.pool, database, branch).await
    }
    async fn update_branch(&self, branch: &Branch) -> StoreResult<()> {
        branches::update(&self.pool, branch).await
    }
    async fn complete_branch_creation(
        &self,
        branch: &BranchId,
        database: Option<&DatabaseId>,
        job: &JobId,
        epoch: i64,
    ) -> StoreResult<bool> {
        branches::complete_creation(&self.pool, branch, database, job, epoch).await
    }
    async fn update_branch_with_job(&self, branch: &Branch, job: &Job) -> StoreResult<()> {
        branches::update_with_job(&self.pool, branch, job).await
    }
    async fn mark_branches_deleted(
        &self,
        branches: &[(BranchId, Job)],
        at: Timestamp,
    ) -> StoreResult<()> {
        branches::mark_deleted(&self.pool, branches, at).await
    }
    async fn purge_branch(&self, id: &BranchId, job: &JobId, epoch: i64) -> StoreResult<bool> {
        branches::purge(&self.pool, id, job, epoch).await
    }
    async fn child_branches(&self, id: &BranchId) -> StoreResult<Vec<Branch>> {
        branches::children(&self.pool, id).await
    }
    async fn insert_credential(&self, credential: &Credential, jobs: &[Job]) -> StoreResult<()> {
        credentials::insert(&self.pool, credential, jobs).await
    }
    async fn credential(
        &self,
        branch: &BranchId,
        id: &CredentialId,
    ) -> StoreResult<Option<Credential>> {
        credentials::get(&self.pool, branch, id).await
    }
    async fn credential_by_id(&self, id: &CredentialId) -> StoreResult<Option<Credential>> {
        credentials::by_id(&self.pool, id).await
    }
    async fn default_credential(&self, branch: &BranchId) -> StoreResult<Option<Credential>> {
        credentials::default_of(&self.pool, branch).await
    }
    async fn list_credentials(
        &self,
        branch: &BranchId,
        window: Window,
    ) -> StoreResult<Page<Credential>> {
        credentials::list(&self.pool, branch, window).await
    }
    async fn all_credentials(&self, branch: &BranchId) -> StoreResult<Vec<Credential>> {
        credentials::all(&self.pool, branch).await
    }
    async fn update_credential(&self, credential: &Credential) -> StoreResult<()> {
        credentials::update(&self.pool, credential).await
    }
    async fn update_credential_with_job(
        &self,
        credential: &Credential,
        job: &Job,
    ) -> StoreResult<()> {
        credentials::update_with_job(&self.pool, credential, job).await
    }
    async fn delete_credential(
        &self,
        id: &CredentialId,
        job: Option<(&JobId, i64)>,
    ) -> StoreResult<()> {
        credentials::delete(&self.pool, id, job).await
    }
}
