//! Runs a step while keeping its job's lease: the lease is renewed every third of its
//! length, and the step is dropped (cancelled at its next await) as soon as the lease is
//! lost to another worker, or has expired because the store could not be reached.

use dbplane_domain::jobs::Job;
use dbplane_store::MetadataStore;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Shortest pause between renewals (a lease of a few milliseconds in tests).
const MIN_BEAT: Duration = Duration::from_millis(10);

/// `step`'s output, or `None` when the lease was lost while it ran (the step was dropped
/// and whatever it did is left to the new holder, which re-runs the step).
/// `held_until` is when the lease held so far expires.
pub(crate) async fn run_holding_lease<F: Future>(
    store: &dyn MetadataStore,
    job: &Job,
    lease: Duration,
    held_until: Instant,
    step: F,
) -> Option<F::Output> {
    tokio::select! {
        // A step that is done wins over a renewal that is due at the same moment.
        biased;
        output = step => Some(output),
        () = keep_lease(store, job, lease, held_until) => None,
    }
}

/// Renews the lease until it is lost; returns then.
async fn keep_lease(
    store: &dyn MetadataStore,
    job: &Job,
    lease: Duration,
    mut held_until: Instant,
) {
    let beat = (lease / 3).max(MIN_BEAT);
    let lease_millis = lease.as_millis() as i64;
    loop {
        tokio::time::sleep(beat).await;
        let asked = Instant::now();
        match store
            .renew_job_lease(&job.id, job.lease_epoch, lease_millis)
            .await
        {
            Ok(true) => held_until = asked + lease,
            Ok(false) => {
                tracing::warn!("lease lost to another worker: cancelling the step");
                return;
            }
            Err(error) if Instant::now() >= held_until => {
                tracing::error!(%error, "cannot renew the lease and it has expired: cancelling the step");
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot renew the job's lease; trying again"),
        }
    }
}
