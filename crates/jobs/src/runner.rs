//! Workers that claim, run and commit jobs.

mod drive;

use crate::running::Running;
use crate::{JobExecutor, metrics};
use dbplane_domain::Timestamp;
use dbplane_domain::jobs::JobKind;
use dbplane_store::MetadataStore;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Runner tuning.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    pub workers: usize,
    /// How long a claim holds a job. The runner renews it while a step runs (every third
    /// of it) and at every commit; a job whose holder stops renewing is free after this.
    pub lease: Duration,
    /// Longest sleep between looks at the queue when nothing is due.
    pub idle_poll: Duration,
    /// Attempts of one step before its job is given up ([`crate::JobExecutor::give_up`]).
    pub max_attempts: i64,
    /// Kinds with another number of attempts than `max_attempts`.
    pub max_attempts_by_kind: HashMap<JobKind, i64>,
    /// Most jobs of a kind this runner runs at once; kinds not listed are bounded by
    /// `workers` only.
    pub max_running_by_kind: HashMap<JobKind, usize>,
    /// The pause after a step's first failure; it doubles at every further failure...
    pub first_backoff: Duration,
    /// ...up to this.
    pub max_backoff: Duration,
    /// How often the `dbplane_jobs_queued` gauges are read from the store.
    pub queued_gauge_interval: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_secs(1),
            max_attempts: 12,
            max_attempts_by_kind: HashMap::new(),
            max_running_by_kind: HashMap::new(),
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
            queued_gauge_interval: Duration::from_secs(5),
        }
    }
}

impl RunnerConfig {
    /// Attempts a step of `kind` gets before its job is given up.
    pub fn max_attempts_of(&self, kind: JobKind) -> i64 {
        self.max_attempts_by_kind
            .get(&kind)
            .copied()
            .unwrap_or(self.max_attempts)
            .max(1)
    }

    /// The pause before attempt `attempt + 1` of a step that failed `attempt` times.
    pub fn backoff(&self, attempt: i64) -> Duration {
        let doublings = attempt.clamp(1, 32) as u32 - 1;
        self.first_backoff
            .saturating_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
            .min(self.max_backoff)
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
    running: Arc<Running>,
    /// Claims are made one at a time, so two workers cannot both take the last place of
    /// a kind at its limit.
    claiming: tokio::sync::Mutex<()>,
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
        let running = Arc::new(Running::new(
            config.max_running_by_kind.clone(),
            notifier.0.clone(),
        ));
        Self {
            store,
            executor,
            config,
            owner,
            notifier,
            running,
            claiming: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs the workers until `shutdown` turns true; in-flight steps finish first.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        metrics::describe();
        let this = Arc::new(self);
        let mut workers = JoinSet::new();
        for index in 0..this.config.workers.max(1) {
            let worker = this.clone();
            let shutdown = shutdown.clone();
            workers.spawn(async move { worker.work(index, shutdown).await });
        }
        let gauges = this.clone();
        workers.spawn(async move { gauges.report_queued(shutdown).await });
        while workers.join_next().await.is_some() {}
    }

    async fn work(&self, index: usize, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Registered before looking, so a job enqueued (or a slot freed) meanwhile
            // still wakes this worker.
            let woken = self.notifier.0.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            match self.claim().await {
                Ok(Some((job, slot, held_until))) => {
                    self.drive(job, held_until, &shutdown).await;
                    drop(slot);
                }
                Ok(None) => {
                    let pause = self.idle_pause().await;
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

    /// Claims the next job of a kind under its limit, and takes its place among the
    /// running ones. Also returns when its lease, as claimed, expires.
    async fn claim(
        &self,
    ) -> Result<
        Option<(dbplane_domain::jobs::Job, crate::running::Slot, Instant)>,
        dbplane_store::StoreError,
    > {
        let _one_at_a_time = self.claiming.lock().await;
        let kinds = self.running.claimable();
        let asked = Instant::now();
        let lease_millis = self.config.lease.as_millis() as i64;
        let claimed = self
            .store
            .claim_job(&self.owner, lease_millis, &kinds)
            .await?;
        Ok(claimed.map(|job| {
            let slot = self.running.start(job.kind);
            (job, slot, asked + self.config.lease)
        }))
    }

    /// Until the next claimable job is due, capped by `idle_poll`.
    async fn idle_pause(&self) -> Duration {
        let cap = self.config.idle_poll;
        let kinds = self.running.claimable();
        match self.store.next_job_due(&kinds).await {
            Ok(Some(due)) => {
                let wait = due.unix_millis() - Timestamp::now().unix_millis();
                Duration::from_millis(wait.clamp(1, cap.as_millis() as i64) as u64)
            }
            _ => cap,
        }
    }

    /// Sets the `dbplane_jobs_queued` gauges from the store until shutdown.
    async fn report_queued(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.store.queued_jobs_by_kind().await {
                Ok(queued) => {
                    let queued: HashMap<JobKind, u64> = queued.into_iter().collect();
                    for kind in JobKind::ALL {
                        metrics::queued(*kind, queued.get(kind).copied().unwrap_or(0));
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot count queued jobs"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.queued_gauge_interval) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RunnerConfig;
    use dbplane_domain::jobs::JobKind;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_caps() {
        let config = RunnerConfig::default();
        assert_eq!(config.backoff(1), Duration::from_millis(500));
        assert_eq!(config.backoff(2), Duration::from_secs(1));
        assert_eq!(config.backoff(50), Duration::from_secs(300));
    }

    #[test]
    fn kinds_may_have_their_own_number_of_attempts() {
        let mut config = RunnerConfig::default();
        config.max_attempts_by_kind.insert(JobKind::RunBackup, 3);
        assert_eq!(config.max_attempts_of(JobKind::RunBackup), 3);
        assert_eq!(config.max_attempts_of(JobKind::CreateBranch), 12);
    }
}
