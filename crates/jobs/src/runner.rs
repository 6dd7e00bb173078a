//! Workers that claim, run and commit jobs.

use crate::{JobError, JobExecutor, StepOutcome, failpoint};
use dbplane_domain::Timestamp;
use dbplane_domain::jobs::Job;
use dbplane_store::MetadataStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

/// Runner tuning.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    pub workers: usize,
    /// How long a claim holds a job; every committed step renews it.
    pub lease: Duration,
    /// Longest sleep between looks at the queue when nothing is due.
    pub idle_poll: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_secs(1),
        }
    }
}

/// Wakes idle workers when a job was enqueued (so new work starts at once).
#[derive(Clone, Default)]
pub struct JobNotifier(Arc<Notify>);

impl JobNotifier {
    pub fn notify(&self) {
        self.0.notify_waiters();
    }
}

/// The job runner of one process.
pub struct JobRunner {
    store: Arc<dyn MetadataStore>,
    executor: Arc<dyn JobExecutor>,
    config: RunnerConfig,
    owner: String,
    notifier: JobNotifier,
}

impl JobRunner {
    pub fn new(
        store: Arc<dyn MetadataStore>,
        executor: Arc<dyn JobExecutor>,
        config: RunnerConfig,
        notifier: JobNotifier,
    ) -> Self {
        let owner = format!(
            "{}-{}",
            std::process::id(),
            dbplane_domain::ids::new_public_id()
        );
        Self {
            store,
            executor,
            config,
            owner,
            notifier,
        }
    }

    /// Runs the workers until `shutdown` turns true; in-flight steps finish first.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let mut workers = JoinSet::new();
        for index in 0..this.config.workers.max(1) {
            let worker = this.clone();
            let shutdown = shutdown.clone();
            workers.spawn(async move { worker.work(index, shutdown).await });
        }
        while workers.join_next().await.is_some() {}
    }

    async fn work(&self, index: usize, mut shutdown: watch::Receiver<bool>) {
        let lease_millis = self.config.lease.as_millis() as i64;
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.claim_job(&self.owner, lease_millis).await {
                Ok(Some(job)) => self.drive(job, &shutdown).await,
                Ok(None) => {
                    let pause = self.idle_pause().await;
                    let woken = self.notifier.0.notified();
                    tokio::select! {
                        _ = woken => {}
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(error) => {
                    tracing::error!(worker = index, %error, "cannot claim jobs");
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.idle_poll) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
        }
    }

    /// Until the next job is due, capped by `idle_poll`.
    async fn idle_pause(&self) -> Duration {
        let cap = self.config.idle_poll;
        match self.store.next_job_due().await {
            Ok(Some(due)) => {
                let wait = due.unix_millis() - Timestamp::now().unix_millis();
                Duration::from_millis(wait.clamp(1, cap.as_millis() as i64) as u64)
            }
            _ => cap,
        }
    }

    /// Runs a claimed job step by step until it finishes, waits, fails or shutdown.
    async fn drive(&self, job: Job, shutdown: &watch::Receiver<bool>) {
        let span = tracing::info_span!("job", job_id = %job.id, kind = job.kind.as_str(), epoch = job.lease_epoch);
        self.drive_steps(job, shutdown).instrument(span).await
    }

    async fn drive_steps(&self, mut job: Job, shutdown: &watch::Receiver<bool>) {
        let lease_millis = self.config.lease.as_millis() as i64;
        loop {
            let point = format!("{}.{}", job.kind.as_str(), job.step);
            failpoint(&point).await;
            tracing::debug!(step = %job.step, "running step");
            let outcome = self.executor.run_step(&job).await;
            failpoint(&format!("{point}.after")).await;
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
                Err(JobError::LeaseLost) => {
                    tracing::warn!("lease lost; leaving the job to its new owner");
                    return;
                }
                Err(JobError::Retry(error)) => {
                    let backoff = backoff(job.attempt);
                    tracing::warn!(step = %job.step, attempt = job.attempt, %error, "step failed; retrying later");
                    let retry_at = Timestamp::now().plus_millis(backoff.as_millis() as i64);
                    let _ = self
                        .store
                        .retry_job(&job.id, job.lease_epoch, &error, retry_at)
                        .await;
                    return;
                }
            };
            match saved {
                Ok(true) => {}
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
}

/// 0.5 s doubling per attempt, capped at one minute.
fn backoff(attempt: i64) -> Duration {
    let exponent = attempt.clamp(1, 8) as u32 - 1;
    Duration::from_millis(500u64.saturating_mul(1 << exponent)).min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(50), Duration::from_secs(60));
    }
}
