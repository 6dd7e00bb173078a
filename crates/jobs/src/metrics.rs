//! The runner's metrics, emitted through the `metrics` facade (nothing is recorded until
//! the server installs a recorder). Labels come from closed sets only: `kind` from
//! [`JobKind`], `step` from [`JobKind::steps`], `outcome` from [`StepResult`].

use dbplane_domain::jobs::JobKind;

/// Gauge: jobs waiting for a worker now (due and unclaimed), by `kind`. Read from the
/// store, so it counts every replica's backlog.
pub const JOBS_QUEUED: &str = "dbplane_jobs_queued";
/// Gauge: jobs this process is running, by `kind`.
pub const JOBS_RUNNING: &str = "dbplane_jobs_running";
/// Counter: steps run, by `kind`, `step` and `outcome`.
pub const JOB_STEPS_TOTAL: &str = "dbplane_job_steps_total";
/// Counter: jobs given up after their last attempt, by `kind`.
pub const JOBS_FAILED_TOTAL: &str = "dbplane_jobs_failed_total";

/// How a step ended, as the `outcome` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepResult {
    /// Committed its next step.
    Next,
    /// Finished its job.
    Finished,
    /// Waits (its turn, a deadline) without failing.
    Waiting,
    /// Failed; retried later or, at the last attempt, given up.
    Failed,
    /// Another worker holds the job now; the step was dropped or its result discarded.
    LeaseLost,
}

impl StepResult {
    pub fn as_str(self) -> &'static str {
        match self {
            StepResult::Next => "next",
            StepResult::Finished => "finished",
            StepResult::Waiting => "waiting",
            StepResult::Failed => "failed",
            StepResult::LeaseLost => "lease_lost",
        }
    }
}

/// Registers the descriptions (shown as `# HELP` by a Prometheus recorder).
pub fn describe() {
    metrics::describe_gauge!(JOBS_QUEUED, "Jobs waiting for a worker, by kind.");
    metrics::describe_gauge!(JOBS_RUNNING, "Jobs this process is running, by kind.");
    metrics::describe_counter!(JOB_STEPS_TOTAL, "Job steps run, by kind, step and outcome.");
    metrics::describe_counter!(
        JOBS_FAILED_TOTAL,
        "Jobs given up after their last attempt, by kind."
    );
}

pub(crate) fn step(kind: JobKind, step: &str, result: StepResult) {
    metrics::counter!(
        JOB_STEPS_TOTAL,
        "kind" => kind.as_str(),
        "step" => kind.step_label(step),
        "outcome" => result.as_str(),
    )
    .increment(1);
}

pub(crate) fn running(kind: JobKind, count: usize) {
    metrics::gauge!(JOBS_RUNNING, "kind" => kind.as_str()).set(count as f64);
}

pub(crate) fn queued(kind: JobKind, count: u64) {
    metrics::gauge!(JOBS_QUEUED, "kind" => kind.as_str()).set(count as f64);
}

pub(crate) fn failed(kind: JobKind) {
    metrics::counter!(JOBS_FAILED_TOTAL, "kind" => kind.as_str()).increment(1);
}
