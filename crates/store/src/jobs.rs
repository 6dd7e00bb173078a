//! Persistence of durable jobs: claim with a lease, commit steps under a fencing
//! epoch, finish.

use crate::StoreResult;
use async_trait::async_trait;
use dbplane_domain::Timestamp;
use dbplane_domain::jobs::{Job, JobId, JobKind};

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Claims the oldest due job whose lease is free or expired, bumping its epoch.
    async fn claim_job(&self, owner: &str, lease_millis: i64) -> StoreResult<Option<Job>>;
    /// Commits the job's next step and data; false when the lease was lost (epoch moved).
    async fn save_job_step(
        &self,
        job: &JobId,
        epoch: i64,
        step: &str,
        data: &str,
        lease_millis: i64,
    ) -> StoreResult<bool>;
    /// Removes a finished job (only while holding its lease).
    async fn complete_job(&self, job: &JobId, epoch: i64) -> StoreResult<bool>;
    /// Records a failed attempt and releases the lease until `retry_at`.
    async fn retry_job(
        &self,
        job: &JobId,
        epoch: i64,
        error: &str,
        retry_at: Timestamp,
    ) -> StoreResult<bool>;
    /// Releases the lease until `run_at` without counting a failed attempt (a job that
    /// waits for its turn or a deadline, or stops for a shutdown).
    async fn defer_job(&self, job: &JobId, epoch: i64, run_at: Timestamp) -> StoreResult<bool>;
    /// Frees every lease: for a single-process store at start, when no other worker can
    /// be alive.
    async fn release_all_leases(&self) -> StoreResult<()>;
    /// Jobs not yet finished (for tests and diagnostics).
    async fn pending_jobs(&self) -> StoreResult<Vec<Job>>;
    /// When the next job can be claimed (due, and not leased or its lease expired), to
    /// sleep exactly until then.
    async fn next_job_due(&self) -> StoreResult<Option<Timestamp>>;
    /// Whether a job of `kind` for `subject_id` is still unfinished.
    async fn has_job(&self, kind: JobKind, subject_id: &str) -> StoreResult<bool>;
}
