//! The runner against the real SQLite store: the heartbeat keeps a long step's lease, a
//! lost lease cancels the step, a step failing on every attempt gets its job given up,
//! and a burst of one kind does not starve another. Steps here are stand-ins whose
//! progress the tests watch; every wait polls with a deadline.

use async_trait::async_trait;
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_jobs::{
    GivenUp, JobError, JobExecutor, JobNotifier, JobRunner, RunnerConfig, StepOutcome,
};
use dbplane_store::{JobStore, MetadataStore, SqliteStore};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// What a stand-in step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Completes the job.
    Finish,
    /// Waits until the test releases the kind's steps, then completes the job.
    WaitForRelease,
    /// Fails (worth retrying).
    Fail,
}

/// Runs the stand-in steps and records what happened.
struct StandIn {
    store: Arc<SqliteStore>,
    behaviour: HashMap<JobKind, Behaviour>,
    /// Whether a kind's give-up records an error state (else the job is kept).
    records_errors: bool,
    release: watch::Sender<bool>,
    started: Mutex<HashMap<JobKind, usize>>,
    running: Mutex<HashMap<JobKind, usize>>,
    most_running: Mutex<HashMap<JobKind, usize>>,
    dropped_unfinished: AtomicUsize,
    given_up: Mutex<Vec<String>>,
    step_started: Notify,
}

impl StandIn {
    fn new(store: Arc<SqliteStore>, behaviour: &[(JobKind, Behaviour)]) -> Self {
        Self {
            store,
            behaviour: behaviour.iter().copied().collect(),
            records_errors: true,
            release: watch::channel(false).0,
            started: Mutex::default(),
            running: Mutex::default(),
            most_running: Mutex::default(),
            dropped_unfinished: AtomicUsize::new(0),
            given_up: Mutex::default(),
            step_started: Notify::new(),
        }
    }

    fn started(&self, kind: JobKind) -> usize {
        self.started
            .lock()
            .unwrap()
            .get(&kind)
            .copied()
            .unwrap_or(0)
    }

    fn most_running(&self, kind: JobKind) -> usize {
        self.most_running
            .lock()
            .unwrap()
            .get(&kind)
            .copied()
            .unwrap_or(0)
    }

    fn enter(&self, kind: JobKind) {
        *self.started.lock().unwrap().entry(kind).or_default() += 1;
        let mut running = self.running.lock().unwrap();
        let now = running.entry(kind).or_default();
        *now += 1;
        let most = *now;
        let mut most_running = self.most_running.lock().unwrap();
        let entry = most_running.entry(kind).or_default();
        *entry = (*entry).max(most);
        self.step_started.notify_waiters();
    }
}

/// Counts a step out when it ends or is dropped; a drop before the end is a cancel.
struct InStep<'a> {
    stand_in: &'a StandIn,
    kind: JobKind,
    finished: bool,
}

impl Drop for InStep<'_> {
    fn drop(&mut self) {
        *self
            .stand_in
            .running
            .lock()
            .unwrap()
            .entry(self.kind)
            .or_default() -= 1;
        if !self.finished {
            self.stand_in
                .dropped_unfinished
                .fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl JobExecutor for StandIn {
    async fn run_step(&self, job: &Job) -> Result<StepOutcome, JobError> {
        self.enter(job.kind);
        let mut in_step = InStep {
            stand_in: self,
            kind: job.kind,
            finished: false,
        };
        let behaviour = self.behaviour[&job.kind];
        let outcome = match behaviour {
            Behaviour::Finish => dbplane_jobs::complete(self.store.as_ref(), job).await,
            Behaviour::WaitForRelease => {
                let mut release = self.release.subscribe();
                let _ = release.wait_for(|released| *released).await;
                dbplane_jobs::complete(self.store.as_ref(), job).await
            }
            Behaviour::Fail => Err(JobError::Retry(format!("boom #{}", job.attempt))),
        };
        in_step.finished = true;
        outcome
    }

    async fn give_up(&self, job: &Job, message: &str) -> Result<GivenUp, JobError> {
        self.given_up.lock().unwrap().push(message.to_string());
        if !self.records_errors {
            return Ok(GivenUp::Kept);
        }
        // A resource's error state would commit with this.
        dbplane_jobs::complete(self.store.as_ref(), job).await?;
        Ok(GivenUp::Recorded)
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    stop: watch::Sender<bool>,
    runner: tokio::task::JoinHandle<()>,
}

impl Harness {
    async fn stop(self) {
        let _ = self.stop.send(true);
        // Steps still waiting for a release would hold the runner's shutdown.
        self.runner.abort();
        let _ = self.runner.await;
    }
}

async fn open_store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    (dir, store)
}

fn quick(config: RunnerConfig) -> RunnerConfig {
    RunnerConfig {
        idle_poll: Duration::from_millis(20),
        first_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        queued_gauge_interval: Duration::from_millis(50),
        ..config
    }
}

fn start(
    dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    executor: Arc<StandIn>,
    config: RunnerConfig,
) -> Harness {
    let (stop, stopped) = watch::channel(false);
    let metadata: Arc<dyn MetadataStore> = store.clone();
    let runner = JobRunner::new(metadata, executor, quick(config), JobNotifier::default());
    Harness {
        _dir: dir,
        stop,
        runner: tokio::spawn(runner.run(stopped)),
    }
}

fn job(kind: JobKind, subject: &str) -> Job {
    Job::new(kind, subject, kind.steps()[0], "{}".into())
}

/// A runner over a new store holding one `run_backup` job, whose steps behave as told.
async fn one_backup(
    behaviour: Behaviour,
    config: RunnerConfig,
) -> (Arc<SqliteStore>, Arc<StandIn>, Harness) {
    let (dir, store) = open_store().await;
    let executor = Arc::new(StandIn::new(
        store.clone(),
        &[(JobKind::RunBackup, behaviour)],
    ));
    store
        .enqueue_job(&job(JobKind::RunBackup, "b"))
        .await
        .unwrap();
    let harness = start(dir, store.clone(), executor.clone(), config);
    (store, executor, harness)
}

/// Polls `check` until it holds, failing the test at `within` (testkit's `wait_until`
/// for a yes/no check).
async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    dbplane_testkit::wait_until(what, within, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}

async fn pending(store: &SqliteStore) -> Vec<Job> {
    store.pending_jobs().await.unwrap()
}

const PATIENCE: Duration = Duration::from_secs(20);

/// A step that outlasts its lease many times over keeps it: no other worker can claim
/// the job meanwhile, and the step runs once.
#[tokio::test]
async fn the_heartbeat_keeps_a_long_steps_lease() {
    let lease = Duration::from_millis(150);
    let (store, executor, harness) = one_backup(
        Behaviour::WaitForRelease,
        RunnerConfig {
            lease,
            ..RunnerConfig::default()
        },
    )
    .await;
    eventually("the step to start", PATIENCE, || async {
        executor.started(JobKind::RunBackup) == 1
    })
    .await;
    // Another worker tries to take the job for six leases' time.
    let watch_until = Instant::now() + lease * 6;
    while Instant::now() < watch_until {
        let stolen = store
            .claim_job("intruder", 60_000, JobKind::ALL)
            .await
            .unwrap();
        assert!(stolen.is_none(), "the lease lapsed while its step ran");
        tokio::time::sleep(lease / 10).await;
    }
    executor.release.send_replace(true);
    eventually("the job to finish", PATIENCE, || async {
        pending(&store).await.is_empty()
    })
    .await;
    assert_eq!(executor.started(JobKind::RunBackup), 1);
    assert_eq!(executor.dropped_unfinished.load(Ordering::SeqCst), 0);
    harness.stop().await;
}

/// When another worker takes the job over (its epoch moves), the running step is dropped
/// at once: its work is cancelled and nothing it would return is committed.
#[tokio::test]
async fn a_lost_lease_cancels_the_running_step() {
    let (store, executor, harness) = one_backup(
        Behaviour::WaitForRelease,
        RunnerConfig {
            // One worker, busy with the step: only the intruder below can take the job.
            workers: 1,
            lease: Duration::from_millis(150),
            ..RunnerConfig::default()
        },
    )
    .await;
    eventually("the step to start", PATIENCE, || async {
        executor.started(JobKind::RunBackup) == 1
    })
    .await;
    // Another runner takes the job (as after a partition healed): its claim bumps the epoch.
    store.release_all_leases().await.unwrap();
    let intruder = store
        .claim_job("intruder", 60_000, JobKind::ALL)
        .await
        .unwrap()
        .expect("the job, its lease released");
    eventually("the step to be cancelled", PATIENCE, || async {
        executor.dropped_unfinished.load(Ordering::SeqCst) == 1
    })
    .await;
    // Released now, a step still running would complete the job: it must not.
    executor.release.send_replace(true);
    let kept = pending(&store).await;
    assert_eq!(kept.len(), 1, "the new holder's job is untouched");
    assert_eq!(kept[0].lease_epoch, intruder.lease_epoch);
    assert_eq!(executor.started(JobKind::RunBackup), 1);
    harness.stop().await;
}

/// A step that fails on every attempt is retried with backoff `max_attempts` times, then
/// the job is given up through the executor (its resource's error state), once.
#[tokio::test]
async fn a_step_failing_every_attempt_gets_its_job_given_up() {
    let (store, executor, harness) = one_backup(
        Behaviour::Fail,
        RunnerConfig {
            max_attempts: 10,
            max_attempts_by_kind: HashMap::from([(JobKind::RunBackup, 4)]),
            ..RunnerConfig::default()
        },
    )
    .await;
    eventually("the job to be given up", PATIENCE, || async {
        pending(&store).await.is_empty()
    })
    .await;
    assert_eq!(
        executor.started(JobKind::RunBackup),
        4,
        "the kind's own limit"
    );
    let given_up = executor.given_up.lock().unwrap().clone();
    assert_eq!(given_up.len(), 1);
    assert!(given_up[0].starts_with("boom #4"), "{given_up:?}");
    assert!(given_up[0].contains("failed 4 times"), "{given_up:?}");
    harness.stop().await;
}

/// A kind whose resource has no error state keeps its given-up job, with the error, and
/// never runs it again.
#[tokio::test]
async fn a_given_up_job_without_an_error_state_is_kept_and_left_alone() {
    let (dir, store) = open_store().await;
    let mut stand_in = StandIn::new(store.clone(), &[(JobKind::DeleteBranch, Behaviour::Fail)]);
    stand_in.records_errors = false;
    let executor = Arc::new(stand_in);
    store
        .enqueue_job(&job(JobKind::DeleteBranch, "b"))
        .await
        .unwrap();
    let harness = start(
        dir,
        store.clone(),
        executor.clone(),
        RunnerConfig {
            max_attempts: 3,
            ..RunnerConfig::default()
        },
    );
    eventually("the job to be given up", PATIENCE, || async {
        pending(&store).await[0].given_up_at.is_some()
    })
    .await;
    let kept = pending(&store).await;
    assert!(
        kept[0]
            .last_error
            .as_deref()
            .is_some_and(|error| error.starts_with("boom #3")),
        "{kept:?}"
    );
    assert!(!store.has_job(JobKind::DeleteBranch, "b").await.unwrap());
    // Many idle polls later it has not run again.
    let idle_until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < idle_until {
        assert_eq!(executor.started(JobKind::DeleteBranch), 3);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    harness.stop().await;
}

/// A burst of backups fills only its kind's places: a branch created after it runs at
/// once on a free worker, while the backups still wait and never exceed their limit.
#[tokio::test]
async fn a_burst_of_one_kind_does_not_starve_another() {
    let (dir, store) = open_store().await;
    let executor = Arc::new(StandIn::new(
        store.clone(),
        &[
            (JobKind::RunBackup, Behaviour::WaitForRelease),
            (JobKind::CreateBranch, Behaviour::Finish),
        ],
    ));
    for n in 0..12 {
        store
            .enqueue_job(&job(JobKind::RunBackup, &format!("backup{n}")))
            .await
            .unwrap();
    }
    let harness = start(
        dir,
        store.clone(),
        executor.clone(),
        RunnerConfig {
            workers: 3,
            max_running_by_kind: HashMap::from([(JobKind::RunBackup, 2)]),
            ..RunnerConfig::default()
        },
    );
    eventually("two backups to start", PATIENCE, || async {
        executor.started(JobKind::RunBackup) == 2
    })
    .await;
    store
        .enqueue_job(&job(JobKind::CreateBranch, "branch"))
        .await
        .unwrap();
    eventually("the branch to be created", PATIENCE, || async {
        !store
            .has_job(JobKind::CreateBranch, "branch")
            .await
            .unwrap()
    })
    .await;
    assert_eq!(
        executor.started(JobKind::RunBackup),
        2,
        "backups still held"
    );
    executor.release.send_replace(true);
    eventually("every backup to finish", PATIENCE, || async {
        pending(&store).await.is_empty()
    })
    .await;
    assert_eq!(executor.started(JobKind::RunBackup), 12);
    assert_eq!(
        executor.most_running(JobKind::RunBackup),
        2,
        "the kind's limit"
    );
    harness.stop().await;
}

/// A step's "save and wait" commits its checkpoint and comes back later as a new
/// attempt 1 (waiting is not failing).
#[tokio::test]
async fn a_waiting_step_keeps_its_checkpoint_without_counting_an_attempt() {
    struct Waits {
        store: Arc<SqliteStore>,
        calls: AtomicUsize,
        seen_attempts: Mutex<Vec<i64>>,
        done: AtomicBool,
    }
    #[async_trait]
    impl JobExecutor for Waits {
        async fn run_step(&self, job: &Job) -> Result<StepOutcome, JobError> {
            self.seen_attempts.lock().unwrap().push(job.attempt);
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            if call < 3 {
                return Ok(StepOutcome::SaveAndWaitUntil {
                    step: job.step.clone(),
                    data: format!("{{\"call\":{call}}}"),
                    at: dbplane_domain::Timestamp::now(),
                });
            }
            assert_eq!(job.data, "{\"call\":2}", "the last checkpoint");
            self.done.store(true, Ordering::SeqCst);
            dbplane_jobs::complete(self.store.as_ref(), job).await
        }
    }
    let (_dir, store) = open_store().await;
    let executor = Arc::new(Waits {
        store: store.clone(),
        calls: AtomicUsize::new(0),
        seen_attempts: Mutex::default(),
        done: AtomicBool::new(false),
    });
    store
        .enqueue_job(&job(JobKind::RunDeployment, "d"))
        .await
        .unwrap();
    let (stop, stopped) = watch::channel(false);
    let metadata: Arc<dyn MetadataStore> = store.clone();
    let runner = JobRunner::new(
        metadata,
        executor.clone(),
        quick(RunnerConfig::default()),
        JobNotifier::default(),
    );
    let running = tokio::spawn(runner.run(stopped));
    eventually("the job to finish", PATIENCE, || async {
        executor.done.load(Ordering::SeqCst) && pending(&store).await.is_empty()
    })
    .await;
    assert_eq!(*executor.seen_attempts.lock().unwrap(), vec![1, 1, 1, 1]);
    let _ = stop.send(true);
    running.await.unwrap();
}
