//! `BackupMetadataStore` for [`SqliteStore`].

use super::{SqliteStore, backup_policies, backups};
use crate::backups::{BackupFilter, BackupMetadataStore, BranchRestore};
use crate::{Page, StoreResult, Window};
use async_trait::async_trait;
use dbplane_domain::backups::{Backup, BackupId, BackupPolicy, BackupPolicyId};
use dbplane_domain::data_plane::{Branch, BranchId};
use dbplane_domain::jobs::{Job, JobId};
use dbplane_domain::{DatabaseId, Timestamp};

#[async_trait]
impl BackupMetadataStore for SqliteStore {
    async fn create_backup(&self, backup: &Backup, job: &Job) -> StoreResult<()> {
        backups::create(&self.pool, backup, job).await
    }
    async fn backup_by_id(&self, id: &BackupId) -> StoreResult<Option<Backup>> {
        backups::by_id(&self.pool, id).await
    }
    async fn list_backups(
        &self,
        branch: &BranchId,
        filter: &BackupFilter,
        window: Window,
    ) -> StoreResult<Page<Backup>> {
        backups::list(&self.pool, branch, filter, window).await
    }
    async fn update_backup(&self, backup: &Backup) -> StoreResult<()> {
        backups::update(&self.pool, backup).await
    }
    async fn set_backup_protected(
        &self,
        id: &BackupId,
        protected: bool,
        at: Timestamp,
    ) -> StoreResult<()> {
        backups::set_protected(&self.pool, id, protected, at).await
    }
    async fn finish_backup(&self, backup: &Backup, job: &JobId, epoch: i64) -> StoreResult<bool> {
        backups::finish(&self.pool, backup, job, epoch).await
    }
    async fn mark_backups_deleted(
        &self,
        doomed: &[(BackupId, Job)],
        at: Timestamp,
    ) -> StoreResult<()> {
        backups::mark_deleted(&self.pool, doomed, at).await
    }
    async fn latest_successful_backup(&self, branch: &BranchId) -> StoreResult<Option<Backup>> {
        backups::latest_successful(&self.pool, branch).await
    }
    async fn reapable_backups(&self, now: Timestamp, limit: u64) -> StoreResult<Vec<Backup>> {
        backups::reapable(&self.pool, now, limit).await
    }
    async fn create_restored_branch(
        &self,
        branch: &Branch,
        restore: &BranchRestore,
        job: &Job,
    ) -> StoreResult<()> {
        backups::create_restored_branch(&self.pool, branch, restore, job).await
    }
    async fn branch_restore(&self, branch: &BranchId) -> StoreResult<Option<BranchRestore>> {
        backups::restore_of(&self.pool, branch).await
    }
    async fn restored_branches(&self, backup: &BackupId) -> StoreResult<Vec<Branch>> {
        backups::restored_branches(&self.pool, backup).await
    }
    async fn create_backup_policy(&self, policy: &BackupPolicy) -> StoreResult<()> {
        backup_policies::create(&self.pool, policy).await
    }
    async fn backup_policy(
        &self,
        database: &DatabaseId,
        id: &BackupPolicyId,
    ) -> StoreResult<Option<BackupPolicy>> {
        backup_policies::get(&self.pool, database, id).await
    }
    async fn list_backup_policies(
        &self,
        database: &DatabaseId,
        window: Window,
    ) -> StoreResult<Page<BackupPolicy>> {
        backup_policies::list(&self.pool, database, window).await
    }
    async fn update_backup_policy(&self, policy: &BackupPolicy) -> StoreResult<()> {
        backup_policies::update(&self.pool, policy).await
    }
    async fn delete_backup_policy(&self, id: &BackupPolicyId) -> StoreResult<bool> {
        backup_policies::delete(&self.pool, id).await
    }
    async fn due_backup_policies(&self, now: Timestamp) -> StoreResult<Vec<BackupPolicy>> {
        backup_policies::due(&self.pool, now).await
    }
    async fn record_policy_run(
        &self,
        policy: &BackupPolicy,
        previous_next_run: Option<Timestamp>,
        new_backups: &[(Backup, Option<Job>)],
    ) -> StoreResult<bool> {
        backup_policies::record_run(&self.pool, policy, previous_next_run, new_backups).await
    }
    async fn has_unfinished_policy_backup(
        &self,
        branch: &BranchId,
        policy: &BackupPolicyId,
    ) -> StoreResult<bool> {
        backup_policies::has_unfinished_backup(&self.pool, branch, policy).await
    }
}
