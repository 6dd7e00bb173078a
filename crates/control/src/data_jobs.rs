//! The data-plane jobs: every step observes the real server (or relies on an
//! idempotent engine call) before acting, so a crash at any point re-runs at most one
//! step and reaches the same end exactly once. The final metadata change of a job
//! commits together with the job's removal.

use crate::clusters::{ClusterEndpoint, ClusterRegistry};
use crate::credentials::credential_spec;
use async_trait::async_trait;
use dbplane_domain::DatabaseId;
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::{
    Branch, BranchId, CredentialId, CredentialState, Database, DatabaseKind,
};
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_engine::physical::PhysicalName;
use dbplane_jobs::retry;
use dbplane_jobs::{GivenUp, JobError, JobExecutor, StepOutcome};
use dbplane_store::MetadataStore;
use serde_json::json;
use std::sync::Arc;

/// How often a job waiting on another job looks again.
const WAIT_FOR_OTHER_JOB_MILLIS: i64 = 200;

/// The job provisioning `branch`; `first` marks a database's first branch, whose
/// completion also makes the database ready.
pub fn create_branch_job(branch: &Branch, first: bool) -> Job {
    Job::new(
        JobKind::CreateBranch,
        branch.id.as_str(),
        "create_database",
        json!({ "first": first }).to_string(),
    )
}

/// Runs the data-plane job kinds.
pub struct DataPlaneJobs {
    store: Arc<dyn MetadataStore>,
    clusters: Arc<ClusterRegistry>,
    backups: Option<Arc<dyn JobExecutor>>,
    deploys: crate::deploys::job::DeployJobs,
}

impl DataPlaneJobs {
    pub fn new(store: Arc<dyn MetadataStore>, clusters: Arc<ClusterRegistry>) -> Self {
        Self::with_deploys(store, clusters, crate::config::DeploysConfig::default())
    }

    /// With the deploy jobs tuned by `deploys`.
    pub fn with_deploys(
        store: Arc<dyn MetadataStore>,
        clusters: Arc<ClusterRegistry>,
        deploys: crate::config::DeploysConfig,
    ) -> Self {
        let deploy_jobs =
            crate::deploys::job::DeployJobs::new(store.clone(), clusters.clone(), deploys);
        Self {
            store,
            clusters,
            backups: None,
            deploys: deploy_jobs,
        }
    }

    /// Deploy cutovers hold the edge's statements on the swapped tables.
    pub fn with_edge(mut self, edge: crate::edge::EdgeLink) -> Self {
        self.deploys.edge = Some(edge);
        self
    }

    /// Runs the backup job kinds with `backups` (see `backups::jobs`).
    pub fn with_backups(mut self, backups: Arc<dyn JobExecutor>) -> Self {
        self.backups = Some(backups);
        self
    }
}

fn next(step: &str, job: &Job) -> Result<StepOutcome, JobError> {
    Ok(StepOutcome::Next {
        step: step.to_string(),
        data: job.data.clone(),
    })
}

fn physical(name: String) -> Result<PhysicalName, JobError> {
    PhysicalName::new(name).map_err(retry)
}

#[async_trait]
impl JobExecutor for DataPlaneJobs {
    async fn run_step(&self, job: &Job) -> Result<StepOutcome, JobError> {
        match job.kind {
            JobKind::CreateBranch => self.create_branch(job).await,
            JobKind::DeleteBranch => self.delete_branch(job).await,
            JobKind::DeleteDatabase => self.delete_database(job).await,
            JobKind::ApplySafeMigrations => self.apply_safe_migrations(job).await,
            JobKind::CleanupCredential => self.cleanup_credential(job).await,
            JobKind::ExpireCredential => self.expire_credential(job).await,
            JobKind::RunBackup | JobKind::DeleteBackup | JobKind::RestoreBranch => {
                match &self.backups {
                    Some(backups) => backups.run_step(job).await,
                    None => Err(retry("backups are not configured in this process")),
                }
            }
            JobKind::CheckDeployRequest | JobKind::RunDeployment => {
                self.deploys.run_step(job).await
            }
        }
    }

    /// Backups and deployments have error states and record the failure there. A branch
    /// or database (`pending → ready` only), a deletion, a grant change or a credential
    /// has none: the runner keeps those jobs, given up with their error, for an operator
    /// (the branch stays `pending`; its deletion still goes ahead).
    async fn give_up(&self, job: &Job, message: &str) -> Result<GivenUp, JobError> {
        match job.kind {
            JobKind::RunBackup | JobKind::DeleteBackup | JobKind::RestoreBranch => {
                match &self.backups {
                    Some(backups) => backups.give_up(job, message).await,
                    None => Ok(GivenUp::Kept),
                }
            }
            JobKind::CheckDeployRequest | JobKind::RunDeployment => {
                self.deploys.give_up(job, message).await
            }
            JobKind::CreateBranch
            | JobKind::DeleteBranch
            | JobKind::DeleteDatabase
            | JobKind::ApplySafeMigrations
            | JobKind::CleanupCredential
            | JobKind::ExpireCredential => Ok(GivenUp::Kept),
        }
    }
}

impl DataPlaneJobs {
    async fn finish(&self, job: &Job) -> Result<StepOutcome, JobError> {
        dbplane_jobs::complete(self.store.as_ref(), job).await
    }

    fn endpoint(&self, database: &Database) -> Result<&ClusterEndpoint, JobError> {
        self.clusters.for_database(database).map_err(retry)
    }

    /// The branch and its database, even if deleted; `None` when forgotten.
    async fn branch_and_database(&self, id: &str) -> Result<Option<(Branch, Database)>, JobError> {
        let Some(branch) = self
            .store
            .branch_by_id(&BranchId::from_string(id))
            .await
            .map_err(retry)?
        else {
            return Ok(None);
        };
        let database = self
            .store
            .database_by_id(&branch.database_id)
            .await
            .map_err(retry)?;
        Ok(database.map(|database| (branch, database)))
    }

    /// Steps `create_database` → `copy_schema` (development branches) → `finish`.
    async fn create_branch(&self, job: &Job) -> Result<StepOutcome, JobError> {
        let Some((branch, database)) = self.branch_and_database(&job.subject_id).await? else {
            return self.finish(job).await;
        };
        if branch.deleted_at.is_some() {
            // Deleted while provisioning: stop here; its delete job drops what exists.
            return self.finish(job).await;
        }
        let endpoint = self.endpoint(&database)?;
        let name = physical(branch.physical_name())?;
        match job.step.as_str() {
            "create_database" => {
                let copied = branch.parent_branch_id.is_some();
                if !(copied && endpoint.admin.copy_schema_creates_target()) {
                    endpoint.admin.create_database(&name).await.map_err(retry)?;
                }
                next(if copied { "copy_schema" } else { "finish" }, job)
            }
            "copy_schema" => {
                let parent_id = branch
                    .parent_branch_id
                    .as_ref()
                    .ok_or_else(|| retry("branch has no parent"))?;
                let parent = self
                    .store
                    .branch_by_id(parent_id)
                    .await
                    .map_err(retry)?
                    .ok_or_else(|| retry("the parent branch is gone"))?;
                let parent_name = physical(parent.physical_name())?;
                endpoint
                    .admin
                    .copy_schema(&parent_name, &name)
                    .await
                    .map_err(retry)?;
                if database.kind == DatabaseKind::Mysql {
                    self.deploys.record_branch_point(&database, &branch).await?;
                }
                next("finish", job)
            }
            "finish" => {
                let first = serde_json::from_str::<serde_json::Value>(&job.data)
                    .ok()
                    .and_then(|data| data["first"].as_bool())
                    .unwrap_or(false);
                let database_id = first.then_some(&database.id);
                if self
                    .store
                    .complete_branch_creation(&branch.id, database_id, &job.id, job.lease_epoch)
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

    /// Waits while the branch is still being provisioned, so nothing is created after
    /// it was dropped.
    async fn provisioning(&self, branch: &BranchId) -> Result<bool, JobError> {
        for kind in [JobKind::CreateBranch, JobKind::RestoreBranch] {
            if self
                .store
                .has_job(kind, branch.as_str())
                .await
                .map_err(retry)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn wait_a_moment() -> Result<StepOutcome, JobError> {
        Ok(StepOutcome::WaitUntil(
            Timestamp::now().plus_millis(WAIT_FOR_OTHER_JOB_MILLIS),
        ))
    }

    /// Drops the accounts of one branch (idempotent).
    async fn drop_credentials_of(
        &self,
        endpoint: &ClusterEndpoint,
        branch: &Branch,
    ) -> Result<(), JobError> {
        let database_name = physical(branch.physical_name())?;
        for credential in self
            .store
            .all_credentials(&branch.id)
            .await
            .map_err(retry)?
        {
            let username = physical(credential.username())?;
            endpoint
                .admin
                .drop_credential(&username, &database_name)
                .await
                .map_err(retry)?;
        }
        Ok(())
    }

    /// Steps `drop_credentials` → `drop_database` → `purge`.
    async fn delete_branch(&self, job: &Job) -> Result<StepOutcome, JobError> {
        let Some((branch, database)) = self.branch_and_database(&job.subject_id).await? else {
            return self.finish(job).await;
        };
        let endpoint = self.endpoint(&database)?;
        match job.step.as_str() {
            "drop_credentials" => {
                if self.provisioning(&branch.id).await? {
                    return Self::wait_a_moment();
                }
                self.drop_credentials_of(endpoint, &branch).await?;
                next("drop_database", job)
            }
            "drop_database" => {
                endpoint
                    .admin
                    .drop_database(&physical(branch.physical_name())?)
                    .await
                    .map_err(retry)?;
                next("purge", job)
            }
            "purge" => {
                if self
                    .store
                    .purge_branch(&branch.id, &job.id, job.lease_epoch)
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

    /// Steps `drop_branches` → `purge`.
    async fn delete_database(&self, job: &Job) -> Result<StepOutcome, JobError> {
        let id = DatabaseId::from_string(job.subject_id.clone());
        let Some(database) = self.store.database_by_id(&id).await.map_err(retry)? else {
            return self.finish(job).await;
        };
        match job.step.as_str() {
            "drop_branches" => {
                let endpoint = self.endpoint(&database)?;
                let branches = self.store.all_branches(&database.id).await.map_err(retry)?;
                for branch in &branches {
                    if self.provisioning(&branch.id).await? {
                        return Self::wait_a_moment();
                    }
                }
                for branch in &branches {
                    self.drop_credentials_of(endpoint, branch).await?;
                    endpoint
                        .admin
                        .drop_database(&physical(branch.physical_name())?)
                        .await
                        .map_err(retry)?;
                }
                next("purge", job)
            }
            "purge" => {
                if self
                    .store
                    .purge_database(&database.id, &job.id, job.lease_epoch)
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

    /// One step: re-apply the DDL rights the branch's current setting calls for.
    async fn apply_safe_migrations(&self, job: &Job) -> Result<StepOutcome, JobError> {
        if let Some((branch, database)) = self.branch_and_database(&job.subject_id).await?
            && branch.deleted_at.is_none()
        {
            apply_ddl_rights(self.store.as_ref(), &self.clusters, &database, &branch)
                .await
                .map_err(retry)?;
        }
        self.finish(job).await
    }

    /// One step: a credential still `pending` after its grace period never reached
    /// its client; drop its account and forget it.
    async fn cleanup_credential(&self, job: &Job) -> Result<StepOutcome, JobError> {
        let id = CredentialId::from_string(job.subject_id.clone());
        let credential = self.store.credential_by_id(&id).await.map_err(retry)?;
        let Some(credential) = credential.filter(|c| c.state == CredentialState::Pending) else {
            return self.finish(job).await;
        };
        if let Some((branch, database)) = self
            .branch_and_database(credential.branch_id.as_str())
            .await?
        {
            let endpoint = self.endpoint(&database)?;
            endpoint
                .admin
                .drop_credential(
                    &physical(credential.username())?,
                    &physical(branch.physical_name())?,
                )
                .await
                .map_err(retry)?;
        }
        self.store
            .delete_credential(&credential.id, Some((&job.id, job.lease_epoch)))
            .await
            .map_err(retry)?;
        Ok(StepOutcome::Finished)
    }
}

impl DataPlaneJobs {
    /// One step: when the credential's ttl has elapsed (and no renewal moved it), lock
    /// its logins. A renewal schedules a new job, so this one just ends.
    async fn expire_credential(&self, job: &Job) -> Result<StepOutcome, JobError> {
        let id = CredentialId::from_string(job.subject_id.clone());
        let Some(credential) = self.store.credential_by_id(&id).await.map_err(retry)? else {
            return self.finish(job).await;
        };
        let now = Timestamp::now();
        match credential.expires_at {
            Some(at) if at <= now => {
                if let Some((_, database)) = self
                    .branch_and_database(credential.branch_id.as_str())
                    .await?
                {
                    let endpoint = self.endpoint(&database)?;
                    let username = physical(credential.username())?;
                    match endpoint.admin.set_login_enabled(&username, false).await {
                        Ok(()) | Err(dbplane_engine::EngineError::NotFound { .. }) => {}
                        Err(error) => return Err(retry(error)),
                    }
                    // A renewal that raced with the lock wins: it unlocked before we
                    // locked, so undo ours.
                    let renewed = self
                        .store
                        .credential_by_id(&id)
                        .await
                        .map_err(retry)?
                        .and_then(|c| c.expires_at)
                        .is_some_and(|at| at > Timestamp::now());
                    if renewed {
                        endpoint
                            .admin
                            .set_login_enabled(&username, true)
                            .await
                            .map_err(retry)?;
                    }
                }
                self.finish(job).await
            }
            _ => self.finish(job).await,
        }
    }
}

/// Gives or takes DDL rights of every active credential of `branch`, as its safe
/// migrations setting says. Idempotent.
pub async fn apply_ddl_rights(
    store: &dyn MetadataStore,
    clusters: &ClusterRegistry,
    database: &Database,
    branch: &Branch,
) -> Result<(), String> {
    let endpoint = clusters
        .for_database(database)
        .map_err(|error| error.to_string())?;
    for credential in store
        .all_credentials(&branch.id)
        .await
        .map_err(|e| e.to_string())?
    {
        if credential.state != CredentialState::Active {
            continue;
        }
        // The secret is not needed to change grants, and is not stored anyway.
        let spec = credential_spec(&credential, branch, "")?;
        // Two writers changing one role's grants at once (a request and the safety-net
        // job) can make Postgres fail one with "tuple concurrently updated"; the change
        // is idempotent, so try again briefly.
        let mut attempt = 0;
        loop {
            match endpoint.admin.set_ddl_allowed(&spec).await {
                Ok(()) => break,
                Err(error) if attempt < 3 => {
                    attempt += 1;
                    tracing::debug!(%error, attempt, "retrying a grant change");
                    tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                }
                Err(error) => return Err(error.to_string()),
            }
        }
    }
    Ok(())
}
