//! Persistence of durable jobs: claim with a lease, keep it with heartbeats, commit steps
//! under a fencing epoch, finish, or give up.

use crate::StoreResult;
use async_trait::async_trait;
use dbplane_domain::Timestamp;
use dbplane_domain::jobs::{Job, JobId, JobKind};

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Inserts a job on its own, due at its `run_after`. Work that changes a record
    /// enqueues its job with that change instead (the store's other methods take jobs).
    async fn enqueue_job(&self, job: &Job) -> StoreResult<()>;
    /// Claims a due job of one of `kinds` whose lease is free or expired, bumping its
    /// epoch and attempt. `kinds` is in order of preference: a due job of an earlier kind
    /// wins over an older one of a later kind; within a kind the job due first wins.
    /// Given-up jobs are never claimed.
    async fn claim_job(
        &self,
        owner: &str,
        lease_millis: i64,
        kinds: &[JobKind],
    ) -> StoreResult<Option<Job>>;
    /// Extends the lease of a job whose step is still running (the runner's heartbeat);
    /// false when the lease was lost (epoch moved).
    async fn renew_job_lease(
        &self,
        job: &JobId,
        epoch: i64,
        lease_millis: i64,
    ) -> StoreResult<bool>;
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
    /// Gives a job up for good with `error`: kept for an operator, never claimed again,
    /// and no longer counted by [`JobStore::has_job`]. False when the lease was lost.
    async fn give_up_job(&self, job: &JobId, epoch: i64, error: &str) -> StoreResult<bool>;
    /// Frees every lease: for a single-process store at start, when no other worker can
    /// be alive.
    async fn release_all_leases(&self) -> StoreResult<()>;
    /// Jobs not yet finished, given-up ones included (for tests and diagnostics).
    async fn pending_jobs(&self) -> StoreResult<Vec<Job>>;
    /// When the next job of one of `kinds` can be claimed (due, not given up, and not
    /// leased or its lease expired), to sleep exactly until then.
    async fn next_job_due(&self, kinds: &[JobKind]) -> StoreResult<Option<Timestamp>>;
    /// Whether a job of `kind` for `subject_id` is still at work (given-up jobs are not).
    async fn has_job(&self, kind: JobKind, subject_id: &str) -> StoreResult<bool>;
    /// How many jobs of each kind wait for a worker now (due, unclaimed, not given up);
    /// kinds with none are left out.
    async fn queued_jobs_by_kind(&self) -> StoreResult<Vec<(JobKind, u64)>>;
}
