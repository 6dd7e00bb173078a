//! The durable job runner. A job is a row in the metadata store naming its next step;
//! workers claim due jobs under a lease (the claim bumps a fencing epoch), run one step
//! at a time, and commit the next step under that epoch. A step must be idempotent:
//! it observes the real server first and skips work already done, because a crash
//! (kill -9) between its side effect and its commit makes it run again.
//!
//! The runner, not the job kinds, owns robustness: it renews the lease while a step runs
//! and drops the step when the lease is lost ([`runner`]'s heartbeat), caps how many jobs
//! of a kind run at once so a burst of one kind cannot starve the others, retries a
//! failed step with exponential backoff, and after the last allowed attempt gives the job
//! up ([`JobExecutor::give_up`]) instead of retrying forever. It reports through the
//! `metrics` facade ([`metrics`]).
//!
//! Failpoints ([`failpoint`]) sit at every step boundary so crash tests can kill the
//! process exactly there, or pause it there until the test releases it. They exist only
//! in builds with the `failpoints` feature; elsewhere [`failpoint`] does nothing and the
//! environment cannot arm anything.

#[cfg(feature = "failpoints")]
mod failpoints;
#[cfg(not(feature = "failpoints"))]
mod failpoints_off;
mod heartbeat;
pub mod metrics;
mod runner;
mod running;

#[cfg(feature = "failpoints")]
pub use failpoints::{
    FAILPOINT_DIR_ENV, FailpointAction, FailpointError, Failpoints, check_failpoints, failpoint,
};
#[cfg(not(feature = "failpoints"))]
pub use failpoints_off::{FailpointError, check_failpoints, failpoint};
pub use runner::{JobNotifier, JobRunner, RunnerConfig};

use async_trait::async_trait;
use dbplane_domain::jobs::Job;

/// The environment variable listing armed failpoints (comma-separated); read only by
/// builds with the `failpoints` feature.
pub const FAILPOINTS_ENV: &str = "DBPLANE_FAILPOINTS";

/// Whether this build can arm failpoints at all (the `failpoints` feature).
pub const FAILPOINTS_COMPILED: bool = cfg!(feature = "failpoints");

/// What a step decided.
#[derive(Debug)]
pub enum StepOutcome {
    /// Commit `step` and `data`, then run that step.
    Next { step: String, data: String },
    /// The step finished the job and already removed it in its own transaction (a
    /// final metadata change commits together with the job's completion).
    Finished,
    /// Try the same step again at the given time (waiting on something external). Not
    /// a failed attempt.
    WaitUntil(dbplane_domain::Timestamp),
    /// Commit `step` and `data` (a checkpoint: stream positions, when a wait started),
    /// then run `step` again at `at`. Not a failed attempt.
    SaveAndWaitUntil {
        step: String,
        data: String,
        at: dbplane_domain::Timestamp,
    },
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

/// What [`JobExecutor::give_up`] did with a job whose step failed on every attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GivenUp {
    /// The job's resource now shows the failure (its error state, with the message) and
    /// the job was completed in the same transaction.
    Recorded,
    /// The resource has no error state: the runner keeps the job, given up with its
    /// error, for an operator (never claimed again).
    Kept,
}

/// Carries out the steps of every job kind.
#[async_trait]
pub trait JobExecutor: Send + Sync + 'static {
    async fn run_step(&self, job: &Job) -> Result<StepOutcome, JobError>;

    /// Called once `job`'s step failed on its last allowed attempt: put its resource in
    /// its error state with `message` and complete the job, idempotently. A kind whose
    /// resource has no error state keeps the default.
    async fn give_up(&self, job: &Job, message: &str) -> Result<GivenUp, JobError> {
        let _ = (job, message);
        Ok(GivenUp::Kept)
    }
}
