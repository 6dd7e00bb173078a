//! The backup jobs. `run_backup`: `start` (pending → running) → `dump` (the engine
//! snapshot into the store, then success and the job's completion in one transaction).
//! `delete_backup`: `delete_files`. `restore_branch`: `restore` (drop, recreate and load
//! the target from the backup) → `finish` (branch ready).
//!
//! A branch deleted while its backup runs cancels the backup (objects deleted): seen
//! before each step, and again when the dump ends, whether it failed (the branch's
//! database dropped under it) or finished (MariaDB's `DROP DATABASE` waits for the
//! dump's metadata locks), so a dump that outlived its branch is never a success.
//!
//! Crash safety: the manifest is written last, so on a re-run `dump` finds either a
//! complete backup (recorded as success without dumping again) or an incomplete one
//! (its objects deleted, then dumped again). When the runner gives the job up (its step
//! failed on every attempt, `[backups] max_attempts`), the backup is `failed` and its
//! objects are gone. A restore starts by recreating the target, so it simply runs again.
//! The runner keeps the lease of a long dump or restore.

use super::store_failpoints::FailpointStore;
use crate::clusters::{ClusterEndpoint, ClusterRegistry};
use async_trait::async_trait;
use dbplane_domain::Timestamp;
use dbplane_domain::backups::{Backup, BackupId, BackupState};
use dbplane_domain::data_plane::{Branch, BranchId, Database};
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_engine::backup::{
    BackupManifest, BackupOptions, BackupStatus, BackupStore, backup_branch, backup_status,
    delete_backup, read_manifest, restore_branch,
};
use dbplane_engine::physical::PhysicalName;
use dbplane_jobs::retry;
use dbplane_jobs::{GivenUp, JobError, JobExecutor, StepOutcome};
use dbplane_store::MetadataStore;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// The job taking `backup`.
pub fn run_backup_job(backup: &Backup) -> Job {
    Job::new(JobKind::RunBackup, backup.id.as_str(), "start", "{}".into())
}

/// The job deleting the stored objects of a backup.
pub fn delete_backup_job(backup: &BackupId) -> Job {
    Job::new(
        JobKind::DeleteBackup,
        backup.as_str(),
        "delete_files",
        "{}".into(),
    )
}

/// The job provisioning `branch` from `backup`.
pub fn restore_branch_job(branch: &BranchId, backup: &BackupId) -> Job {
    Job::new(
        JobKind::RestoreBranch,
        branch.as_str(),
        "restore",
        json!({ "backup_id": backup.as_str() }).to_string(),
    )
}

/// Runs the backup job kinds.
pub struct BackupJobs {
    store: Arc<dyn MetadataStore>,
    clusters: Arc<ClusterRegistry>,
    objects: Arc<dyn BackupStore>,
    /// Local directory for the engine's temporary files (see `backup_branch`).
    scratch: PathBuf,
}

fn physical(name: String) -> Result<PhysicalName, JobError> {
    PhysicalName::new(name).map_err(retry)
}

fn next(step: &str, job: &Job) -> Result<StepOutcome, JobError> {
    Ok(StepOutcome::Next {
        step: step.to_string(),
        data: job.data.clone(),
    })
}

#[async_trait]
impl JobExecutor for BackupJobs {
    async fn run_step(&self, job: &Job) -> Result<StepOutcome, JobError> {
        match job.kind {
            JobKind::RunBackup => self.run_backup(job).await,
            JobKind::DeleteBackup => self.delete_files(job).await,
            JobKind::RestoreBranch => self.restore(job).await,
            other => Err(retry(format!("{} is not a backup job", other.as_str()))),
        }
    }

    /// A backup whose dump failed on every attempt is `failed` (its objects deleted); a
    /// restore's branch and a deletion have no error state.
    async fn give_up(&self, job: &Job, message: &str) -> Result<GivenUp, JobError> {
        if job.kind != JobKind::RunBackup {
            return Ok(GivenUp::Kept);
        }
        let id = BackupId::from_string(job.subject_id.clone());
        let outcome = match self.store.backup_by_id(&id).await.map_err(retry)? {
            Some(backup) if !backup.state.is_terminal() => {
                tracing::error!(backup = %id, error = message, "backup failed for good");
                self.conclude(job, backup, BackupState::Failed).await?
            }
            _ => self.finish(job).await?,
        };
        debug_assert!(matches!(outcome, StepOutcome::Finished));
        Ok(GivenUp::Recorded)
    }
}

impl BackupJobs {
    pub fn new(
        store: Arc<dyn MetadataStore>,
        clusters: Arc<ClusterRegistry>,
        objects: Arc<dyn BackupStore>,
        scratch: PathBuf,
    ) -> Self {
        Self {
            store,
            clusters,
            objects,
            scratch,
        }
    }

    async fn finish(&self, job: &Job) -> Result<StepOutcome, JobError> {
        dbplane_jobs::complete(self.store.as_ref(), job).await
    }

    fn endpoint(&self, database: &Database) -> Result<&ClusterEndpoint, JobError> {
        self.clusters.for_database(database).map_err(retry)
    }

    /// The live branch and its database; `None` when deleted or forgotten.
    async fn live_branch(&self, id: &BranchId) -> Result<Option<(Branch, Database)>, JobError> {
        let Some(branch) = self.store.branch_by_id(id).await.map_err(retry)? else {
            return Ok(None);
        };
        if branch.deleted_at.is_some() {
            return Ok(None);
        }
        let database = self
            .store
            .database_by_id(&branch.database_id)
            .await
            .map_err(retry)?;
        Ok(database.map(|database| (branch, database)))
    }

    /// Ends a backup in a terminal state (its objects deleted unless it succeeded) and
    /// completes the job in the same transaction.
    async fn conclude(
        &self,
        job: &Job,
        mut backup: Backup,
        state: BackupState,
    ) -> Result<StepOutcome, JobError> {
        if !backup.state.can_become(state) {
            return self.finish(job).await;
        }
        if state != BackupState::Success {
            delete_backup(self.objects.as_ref(), backup.id.as_str())
                .await
                .map_err(retry)?;
        }
        let now = Timestamp::now();
        backup.state = state;
        backup.completed_at = Some(now);
        backup.expires_at = Some(backup.expiry_after(now));
        backup.updated_at = now;
        if self
            .store
            .finish_backup(&backup, &job.id, job.lease_epoch)
            .await
            .map_err(retry)?
        {
            crate::metrics::backup_ended(&backup);
            Ok(StepOutcome::Finished)
        } else {
            Err(JobError::LeaseLost)
        }
    }

    async fn run_backup(&self, job: &Job) -> Result<StepOutcome, JobError> {
        let id = BackupId::from_string(job.subject_id.clone());
        let Some(mut backup) = self.store.backup_by_id(&id).await.map_err(retry)? else {
            return self.finish(job).await;
        };
        if backup.state.is_terminal() {
            return self.finish(job).await;
        }
        let Some((branch, database)) = self.live_branch(&backup.branch_id).await? else {
            return self.conclude(job, backup, BackupState::Canceled).await;
        };
        match job.step.as_str() {
            "start" => {
                if backup.state == BackupState::Pending {
                    let now = Timestamp::now();
                    backup.state = BackupState::Running;
                    backup.started_at = Some(now);
                    backup.updated_at = now;
                    self.store.update_backup(&backup).await.map_err(retry)?;
                }
                next("dump", job)
            }
            "dump" => {
                let manifest = match backup_status(self.objects.as_ref(), id.as_str())
                    .await
                    .map_err(retry)?
                {
                    // A run that stored the manifest and died before recording it.
                    BackupStatus::Complete(manifest) => *manifest,
                    status => {
                        if let BackupStatus::Incomplete { objects } = status {
                            tracing::info!(
                                objects = objects.len(),
                                "deleting an interrupted backup's objects"
                            );
                            delete_backup(self.objects.as_ref(), id.as_str())
                                .await
                                .map_err(retry)?;
                        }
                        let dumped = self.dump(&branch, &database, &id).await;
                        if self.live_branch(&backup.branch_id).await?.is_none() {
                            tracing::info!(backup = %id, "branch deleted during its backup");
                            return self.conclude(job, backup, BackupState::Canceled).await;
                        }
                        dumped?
                    }
                };
                dbplane_jobs::failpoint("run_backup.manifest_stored").await;
                backup.size = manifest.size as i64;
                backup.uncompressed_size = manifest.uncompressed_size as i64;
                backup.schema_snapshot = Some(manifest.schema_snapshot());
                self.conclude(job, backup, BackupState::Success).await
            }
            other => Err(retry(format!("unknown step {other}"))),
        }
    }

    async fn dump(
        &self,
        branch: &Branch,
        database: &Database,
        id: &BackupId,
    ) -> Result<BackupManifest, JobError> {
        let endpoint = self.endpoint(database)?;
        let name = physical(branch.physical_name())?;
        let objects = FailpointStore::new(self.objects.as_ref());
        backup_branch(
            &endpoint.admin,
            &endpoint.admin_url,
            &name,
            &objects,
            id.as_str(),
            &self.scratch,
            &BackupOptions::default(),
        )
        .await
        .map_err(retry)
    }

    async fn delete_files(&self, job: &Job) -> Result<StepOutcome, JobError> {
        delete_backup(self.objects.as_ref(), &job.subject_id)
            .await
            .map_err(retry)?;
        self.finish(job).await
    }

    async fn restore(&self, job: &Job) -> Result<StepOutcome, JobError> {
        let branch_id = BranchId::from_string(job.subject_id.clone());
        let Some((branch, database)) = self.live_branch(&branch_id).await? else {
            // Deleted while restoring: its delete job drops what exists.
            return self.finish(job).await;
        };
        match job.step.as_str() {
            "restore" => {
                let data: serde_json::Value = serde_json::from_str(&job.data).map_err(retry)?;
                let backup_id = data["backup_id"]
                    .as_str()
                    .ok_or_else(|| retry("the job names no backup"))?;
                let endpoint = self.endpoint(&database)?;
                let target = physical(branch.physical_name())?;
                let manifest = read_manifest(self.objects.as_ref(), backup_id)
                    .await
                    .map_err(retry)?;
                let objects = FailpointStore::new(self.objects.as_ref());
                restore_branch(
                    &endpoint.admin,
                    &endpoint.admin_url,
                    &manifest,
                    &objects,
                    &target,
                    &self.scratch,
                )
                .await
                .map_err(retry)?;
                next("finish", job)
            }
            "finish" => {
                if self
                    .store
                    .complete_branch_creation(&branch.id, None, &job.id, job.lease_epoch)
                    .await
                    .map_err(retry)?
                {
                    Ok(StepOutcome::Finished)
                } else {
                    Err(JobError::LeaseLost)
                }
            }
            other => Err(retry(format!("unknown step {other}"))),
        }
    }
}
