//! The runner's metrics through the `metrics` facade, read back with a debugging recorder
//! (installed for this test binary only): steps by kind, step and outcome, jobs given up,
//! and the queued and running gauges, all labelled from closed sets.

use async_trait::async_trait;
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_jobs::metrics::{JOB_STEPS_TOTAL, JOBS_FAILED_TOTAL, JOBS_QUEUED, JOBS_RUNNING};
use dbplane_jobs::{JobError, JobExecutor, JobNotifier, JobRunner, RunnerConfig, StepOutcome};
use dbplane_store::{JobStore, MetadataStore, SqliteStore};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// `create_branch` goes `create_database` → `finish` → done; `run_backup` always fails.
struct Steps {
    store: Arc<SqliteStore>,
}

#[async_trait]
impl JobExecutor for Steps {
    async fn run_step(&self, job: &Job) -> Result<StepOutcome, JobError> {
        match (job.kind, job.step.as_str()) {
            (JobKind::CreateBranch, "create_database") => Ok(StepOutcome::Next {
                step: "finish".into(),
                data: job.data.clone(),
            }),
            (JobKind::CreateBranch, _) => dbplane_jobs::complete(self.store.as_ref(), job).await,
            _ => Err(JobError::Retry("unreachable server".into())),
        }
    }
}

/// A series: its name and sorted labels.
type Series = (String, Vec<(String, String)>);

/// What the recorder saw, accumulated over snapshots (each snapshot takes the counters'
/// increments and the gauges' last values since the one before).
#[derive(Default)]
struct Readings {
    counters: HashMap<Series, u64>,
    gauges: HashMap<Series, Vec<f64>>,
}

impl Readings {
    fn take(&mut self, snapshotter: &Snapshotter) {
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_string(), l.value().to_string()))
                .collect();
            labels.sort();
            let series = (key.name().to_string(), labels);
            match value {
                DebugValue::Counter(count) => *self.counters.entry(series).or_default() += count,
                DebugValue::Gauge(value) => self
                    .gauges
                    .entry(series)
                    .or_default()
                    .push(value.into_inner()),
                DebugValue::Histogram(_) => {}
            }
        }
    }

    fn series(name: &str, labels: &[(&str, &str)]) -> Series {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        (name.to_string(), labels)
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.counters
            .get(&Self::series(name, labels))
            .copied()
            .unwrap_or(0)
    }

    fn gauge_values(&self, name: &str, kind: &str) -> Vec<f64> {
        self.gauges
            .get(&Self::series(name, &[("kind", kind)]))
            .cloned()
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn steps_failures_and_gauges_are_reported_by_kind() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let branch = Job::new(JobKind::CreateBranch, "b", "create_database", "{}".into());
    let backup = Job::new(JobKind::RunBackup, "k", "start", "{}".into());
    store.enqueue_job(&branch).await.unwrap();
    store.enqueue_job(&backup).await.unwrap();
    // Never claimable (its kind may run none at once): it waits for a worker for good.
    let waiting = Job::new(JobKind::RestoreBranch, "r", "restore", "{}".into());
    store.enqueue_job(&waiting).await.unwrap();
    // Due in an hour: queued counts what waits for a worker now, so not this one.
    let later = Job::new(JobKind::DeleteBackup, "x", "delete_files", "{}".into())
        .due_at(dbplane_domain::Timestamp::now().plus_seconds(3600));
    store.enqueue_job(&later).await.unwrap();

    let (stop, stopped) = watch::channel(false);
    let metadata: Arc<dyn MetadataStore> = store.clone();
    let runner = JobRunner::new(
        metadata,
        Arc::new(Steps {
            store: store.clone(),
        }),
        RunnerConfig {
            idle_poll: Duration::from_millis(20),
            max_attempts: 2,
            max_running_by_kind: HashMap::from([(JobKind::RestoreBranch, 0)]),
            first_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(5),
            queued_gauge_interval: Duration::from_millis(20),
            ..RunnerConfig::default()
        },
        JobNotifier::default(),
    );
    let running = tokio::spawn(runner.run(stopped));

    let readings = std::sync::Mutex::new(Readings::default());
    dbplane_testkit::wait_until("the jobs to end", Duration::from_secs(20), || async {
        let (ended_failing, counted) = {
            let mut readings = readings.lock().unwrap();
            readings.take(&snapshotter);
            (
                readings.counter(JOBS_FAILED_TOTAL, &[("kind", "run_backup")]) == 1,
                readings
                    .gauge_values(JOBS_QUEUED, "restore_branch")
                    .contains(&1.0),
            )
        };
        let ended = ended_failing && !store.has_job(JobKind::CreateBranch, "b").await.unwrap();
        (ended && counted).then_some(())
    })
    .await;
    let readings = readings.into_inner().unwrap();
    let steps = |kind, step, outcome| {
        readings.counter(
            JOB_STEPS_TOTAL,
            &[("kind", kind), ("step", step), ("outcome", outcome)],
        )
    };
    assert_eq!(steps("create_branch", "create_database", "next"), 1);
    assert_eq!(steps("create_branch", "finish", "finished"), 1);
    assert_eq!(
        steps("run_backup", "start", "failed"),
        2,
        "its two attempts"
    );
    assert_eq!(steps("restore_branch", "restore", "next"), 0, "never ran");
    assert!(
        readings
            .gauge_values(JOBS_QUEUED, "delete_backup")
            .iter()
            .all(|queued| *queued == 0.0),
        "a job due later is not queued"
    );
    assert!(
        !readings
            .gauge_values(JOBS_RUNNING, "create_branch")
            .is_empty(),
        "running is reported by kind"
    );

    let _ = stop.send(true);
    running.await.unwrap();
}
