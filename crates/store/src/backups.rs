//! Persistence of backups, backup policies and restored branches. A state change and
//! the job that carries it out commit in one transaction.

use crate::{Page, StoreResult, Window};
use async_trait::async_trait;
use dbplane_domain::backups::{Backup, BackupId, BackupPolicy, BackupPolicyId, BackupState};
use dbplane_domain::data_plane::{Branch, BranchId};
use dbplane_domain::jobs::{Job, JobId};
use dbplane_domain::{DatabaseId, Timestamp};

/// Filters of `list_backups`.
#[derive(Clone, Debug, Default)]
pub struct BackupFilter {
    /// Include deleted backups (`all=true`).
    pub include_deleted: bool,
    pub state: Option<BackupState>,
    pub policy: Option<BackupPolicyId>,
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created at or before.
    pub to: Option<Timestamp>,
    /// Running at some point of `[start, end]`.
    pub running_between: Option<(Timestamp, Timestamp)>,
}

/// Where a restored branch came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchRestore {
    pub branch_id: BranchId,
    pub backup_id: BackupId,
    pub source_branch_id: BranchId,
}

#[async_trait]
pub trait BackupMetadataStore: Send + Sync + 'static {
    /// Inserts a pending backup and the job that takes it.
    async fn create_backup(&self, backup: &Backup, job: &Job) -> StoreResult<()>;
    async fn backup_by_id(&self, id: &BackupId) -> StoreResult<Option<Backup>>;
    /// Backups of a branch, newest first.
    async fn list_backups(
        &self,
        branch: &BranchId,
        filter: &BackupFilter,
        window: Window,
    ) -> StoreResult<Page<Backup>>;
    /// Writes the fields a backup's job owns: state, sizes, schema snapshot, times.
    async fn update_backup(&self, backup: &Backup) -> StoreResult<()>;
    /// Sets `protected` (the one field users change).
    async fn set_backup_protected(
        &self,
        id: &BackupId,
        protected: bool,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Writes a backup's job-owned fields and completes its job in one transaction; false
    /// when the job's lease was lost.
    async fn finish_backup(&self, backup: &Backup, job: &JobId, epoch: i64) -> StoreResult<bool>;
    /// Marks backups deleted and schedules the jobs deleting their files, in one
    /// transaction. Backups already deleted are skipped.
    async fn mark_backups_deleted(
        &self,
        backups: &[(BackupId, Job)],
        at: Timestamp,
    ) -> StoreResult<()>;
    /// The newest successful, live backup of a branch.
    async fn latest_successful_backup(&self, branch: &BranchId) -> StoreResult<Option<Backup>>;
    /// Live, unprotected backups that are finished and either expired at `now` or whose
    /// branch is deleted or gone, and that no branch is being restored from: what the
    /// reaper removes.
    async fn reapable_backups(&self, now: Timestamp, limit: u64) -> StoreResult<Vec<Backup>>;

    /// Inserts a branch restored from a backup, its origin and its job in one transaction.
    async fn create_restored_branch(
        &self,
        branch: &Branch,
        restore: &BranchRestore,
        job: &Job,
    ) -> StoreResult<()>;
    async fn branch_restore(&self, branch: &BranchId) -> StoreResult<Option<BranchRestore>>;
    /// Branches restored from a backup (deleted ones included).
    async fn restored_branches(&self, backup: &BackupId) -> StoreResult<Vec<Branch>>;

    async fn create_backup_policy(&self, policy: &BackupPolicy) -> StoreResult<()>;
    async fn backup_policy(
        &self,
        database: &DatabaseId,
        id: &BackupPolicyId,
    ) -> StoreResult<Option<BackupPolicy>>;
    /// Policies of a database, oldest first.
    async fn list_backup_policies(
        &self,
        database: &DatabaseId,
        window: Window,
    ) -> StoreResult<Page<BackupPolicy>>;
    async fn update_backup_policy(&self, policy: &BackupPolicy) -> StoreResult<()>;
    async fn delete_backup_policy(&self, id: &BackupPolicyId) -> StoreResult<bool>;
    /// Policies of live databases whose `next_run_at` is at or before `now`.
    async fn due_backup_policies(&self, now: Timestamp) -> StoreResult<Vec<BackupPolicy>>;
    /// Records a policy run: the policy's new `last_ran_at`/`next_run_at` (only if its
    /// `next_run_at` is still `previous_next_run`, so a run happens once) and the backups
    /// it starts with their jobs (none for an `ignored` one), in one transaction. False
    /// when the run was already recorded.
    async fn record_policy_run(
        &self,
        policy: &BackupPolicy,
        previous_next_run: Option<Timestamp>,
        backups: &[(Backup, Option<Job>)],
    ) -> StoreResult<bool>;
    /// Whether `branch` has a pending or running backup taken by `policy`.
    async fn has_unfinished_policy_backup(
        &self,
        branch: &BranchId,
        policy: &BackupPolicyId,
    ) -> StoreResult<bool>;
}
