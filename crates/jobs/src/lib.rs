//! The durable job runner. A job is a row in the metadata store naming its next step;
//! workers claim due jobs under a lease (the claim bumps a fencing epoch), run one step
//! at a time, and commit the next step under that epoch. A step must be idempotent:
//! it observes the real server first and skips work already done, because a crash
//! (kill -9) between its side effect and its commit makes it run again.
//!
//! Failpoints ([`failpoint`]) sit at every step boundary so crash tests can kill the
//! process exactly there, or pause it there until the test releases it.

mod failpoints;
mod runner;

pub use failpoints::{
    FAILPOINT_DIR_ENV, FAILPOINTS_ENV, FailpointAction, FailpointError, Failpoints,
    check_failpoints, failpoint,
};
pub use runner::{JobNotifier, JobRunner, RunnerConfig};

use async_trait::async_trait;
use dbplane_domain::jobs::Job;

/// What a step decided.
#[derive(Debug)]
pub enum StepOutcome {
    /// Commit `step` and `data`, then run that step.
    Next { step: String, data: String },
    /// The step finished the job and already removed it in its own transaction (a
    /// final metadata change commits together with the job's completion).
    Finished,
    /// Try the same step again at the given time (waiting on something external).
    WaitUntil(dbplane_domain::Timestamp),
}

/// Why a step did not complete.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth retrying later with backoff (server unreachable, lock timeout, ...).
    #[error("{0}")]
    Retry(String),
    /// Another worker took the job over; stop touching it.
    #[error("job lease lost")]
    LeaseLost,
}

/// A failure worth retrying later, from any error.
pub fn retry(error: impl std::fmt::Display) -> JobError {
    JobError::Retry(error.to_string())
}

/// Ends `job` from a step with no final metadata change of its own: removes it under its
/// lease (`Finished`), or reports the lease lost to another worker.
pub async fn complete<S>(store: &S, job: &Job) -> Result<StepOutcome, JobError>
where
    S: dbplane_store::JobStore + ?Sized,
{
    match store.complete_job(&job.id, job.lease_epoch).await {
        Ok(true) => Ok(StepOutcome::Finished),
        Ok(false) => Err(JobError::LeaseLost),
        Err(error) => Err(retry(error)),
    }
}

/// Carries out the steps of every job kind.
#[async_trait]
pub trait JobExecutor: Send + Sync + 'static {
    async fn run_step(&self, job: &Job) -> Result<StepOutcome, JobError>;
}
