//! Driving one claimed job: its steps under the heartbeat, each commit under the job's
//! epoch, and what a failure leads to (a retry with backoff, or giving the job up).

use super::JobRunner;
use crate::heartbeat::run_holding_lease;
use crate::metrics::{self, StepResult};
use crate::{GivenUp, JobError, StepOutcome, failpoint};
use dbplane_domain::Timestamp;
use dbplane_domain::jobs::Job;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

impl JobRunner {
    /// Runs a claimed job step by step until it finishes, waits, fails, loses its lease,
    /// or the runner shuts down. `held_until` is when its lease, as claimed, expires.
    pub(super) async fn drive(
        &self,
        job: Job,
        held_until: Instant,
        shutdown: &watch::Receiver<bool>,
    ) {
        let span = tracing::info_span!("job", job_id = %job.id, kind = job.kind.as_str(), epoch = job.lease_epoch);
        self.drive_steps(job, held_until, shutdown)
            .instrument(span)
            .await
    }

    async fn drive_steps(
        &self,
        mut job: Job,
        mut held_until: Instant,
        shutdown: &watch::Receiver<bool>,
    ) {
        let lease_millis = self.config.lease.as_millis() as i64;
        let max_attempts = self.config.max_attempts_of(job.kind);
        if job.attempt > max_attempts {
            // The last attempt died with the process (or giving up failed): give up now.
            let error = job
                .last_error
                .clone()
                .unwrap_or_else(|| "the step was interrupted".into());
            self.give_up(&job, &error, held_until).await;
            return;
        }
        loop {
            let point = format!("{}.{}", job.kind.as_str(), job.step);
            failpoint(&point).await;
            tracing::debug!(step = %job.step, attempt = job.attempt, "running step");
            let step = self.executor.run_step(&job);
            let outcome = run_holding_lease(
                self.store.as_ref(),
                &job,
                self.config.lease,
                held_until,
                step,
            )
            .await;
            let Some(outcome) = outcome else {
                metrics::step(job.kind, &job.step, StepResult::LeaseLost);
                return;
            };
            failpoint(&format!("{point}.after")).await;
            let result = match &outcome {
                Ok(StepOutcome::Next { .. }) => StepResult::Next,
                Ok(StepOutcome::Finished) => StepResult::Finished,
                Ok(StepOutcome::WaitUntil(_) | StepOutcome::SaveAndWaitUntil { .. }) => {
                    StepResult::Waiting
                }
                Err(JobError::LeaseLost) => StepResult::LeaseLost,
                Err(JobError::Retry(_)) => StepResult::Failed,
            };
            metrics::step(job.kind, &job.step, result);
            let committed_at = Instant::now();
            let saved = match outcome {
                Ok(StepOutcome::Next { step, data }) => {
                    let saved = self
                        .store
                        .save_job_step(&job.id, job.lease_epoch, &step, &data, lease_millis)
                        .await;
                    job.step = step;
                    job.data = data;
                    job.attempt = 1;
                    saved
                }
                Ok(StepOutcome::Finished) => {
                    tracing::info!("job finished");
                    return;
                }
                Ok(StepOutcome::WaitUntil(at)) => {
                    let _ = self.store.defer_job(&job.id, job.lease_epoch, at).await;
                    return;
                }
                Ok(StepOutcome::SaveAndWaitUntil { step, data, at }) => {
                    let saved = self
                        .store
                        .save_job_step(&job.id, job.lease_epoch, &step, &data, lease_millis)
                        .await;
                    if matches!(saved, Ok(true)) {
                        let _ = self.store.defer_job(&job.id, job.lease_epoch, at).await;
                    } else {
                        tracing::warn!("cannot save a waiting job's checkpoint; it runs again");
                    }
                    return;
                }
                Err(JobError::LeaseLost) => {
                    tracing::warn!("lease lost; leaving the job to its new owner");
                    return;
                }
                Err(JobError::Retry(error)) => {
                    self.failed(&job, &error, held_until).await;
                    return;
                }
            };
            match saved {
                Ok(true) => held_until = committed_at + self.config.lease,
                Ok(false) => {
                    tracing::warn!("lease lost while committing a step");
                    return;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot commit a job step; it will run again");
                    return;
                }
            }
            if *shutdown.borrow() {
                // Leave the rest to the next start; the committed step is durable.
                let _ = self
                    .store
                    .defer_job(&job.id, job.lease_epoch, Timestamp::now())
                    .await;
                return;
            }
        }
    }

    /// A failed attempt: retried after its backoff, or the last one: the job is given up.
    async fn failed(&self, job: &Job, error: &str, held_until: Instant) {
        let max_attempts = self.config.max_attempts_of(job.kind);
        if job.attempt >= max_attempts {
            self.give_up(job, error, held_until).await;
            return;
        }
        let backoff = self.config.backoff(job.attempt);
        tracing::warn!(step = %job.step, attempt = job.attempt, max_attempts, %error, ?backoff, "step failed; retrying later");
        let retry_at = Timestamp::now().plus_millis(backoff.as_millis() as i64);
        let _ = self
            .store
            .retry_job(&job.id, job.lease_epoch, error, retry_at)
            .await;
    }

    /// Gives `job` up: its resource shows the failure (through the executor), or the job
    /// is kept, given up, for an operator. If that cannot be written now, the job is
    /// released with the error and the next claim gives it up again.
    async fn give_up(&self, job: &Job, error: &str, held_until: Instant) {
        let message = format!(
            "{error} (step {} failed {} times; given up)",
            job.step, job.attempt
        );
        tracing::error!(step = %job.step, attempts = job.attempt, %error, "giving the job up");
        let given_up = run_holding_lease(
            self.store.as_ref(),
            job,
            self.config.lease,
            held_until,
            self.executor.give_up(job, &message),
        )
        .await;
        let written = match given_up {
            None | Some(Err(JobError::LeaseLost)) => return,
            Some(Ok(GivenUp::Recorded)) => Ok(true),
            Some(Ok(GivenUp::Kept)) => self
                .store
                .give_up_job(&job.id, job.lease_epoch, &message)
                .await
                .map_err(|error| error.to_string()),
            Some(Err(JobError::Retry(error))) => Err(error),
        };
        match written {
            Ok(true) => metrics::failed(job.kind),
            Ok(false) => tracing::warn!("lease lost while giving the job up"),
            Err(failure) => {
                tracing::error!(error = %failure, "cannot give the job up now; trying again later");
                let retry_at =
                    Timestamp::now().plus_millis(self.config.max_backoff.as_millis() as i64);
                let _ = self
                    .store
                    .retry_job(&job.id, job.lease_epoch, error, retry_at)
                    .await;
            }
        }
    }
}
