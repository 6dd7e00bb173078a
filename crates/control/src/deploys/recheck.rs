//! The background recheck of deploy requests (a task of `serve`). DDL on a head branch
//! happens on its server, unseen by dbplane, so the checks of an open request that is not
//! deployed yet (or still queued) are run again once they are older than
//! `recheck_after_millis`: changed operations turn it `pending`, and a queued request
//! whose head changed leaves the queue (semantics.md §8.1). Reads never do this: a GET
//! schedules and writes nothing.

use super::check_job;
use dbplane_domain::Timestamp;
use dbplane_domain::deploys::DeploymentState;
use dbplane_domain::jobs::JobKind;
use dbplane_jobs::JobNotifier;
use dbplane_store::{MetadataStore, StoreResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Most checks one tick schedules: a burst of stale requests is spread over ticks
/// instead of flooding the job runner (and the servers it introspects).
const RECHECK_BATCH: u64 = 20;

/// Deployment states whose checks may be rerun: checked, not yet picked up by a lane.
/// `pending` is excluded: its check is running or scheduled.
const RECHECKABLE: &[DeploymentState] = &[
    DeploymentState::Ready,
    DeploymentState::NoChanges,
    DeploymentState::Error,
    DeploymentState::Queued,
];

/// How often the recheck looks: often enough that a check is at most half its threshold
/// late, never busier than every 50 ms nor lazier than every 5 s.
pub fn interval(recheck_after_millis: u64) -> Duration {
    Duration::from_millis((recheck_after_millis / 2).clamp(50, 5_000))
}

/// Schedules the check job of every open request whose checks are older than
/// `threshold` as of `now` (at most [`RECHECK_BATCH`]); returns how many it scheduled.
pub async fn tick(
    store: &dyn MetadataStore,
    now: Timestamp,
    threshold: Duration,
) -> StoreResult<usize> {
    let cutoff = Timestamp::from_unix_millis(now.unix_millis() - threshold.as_millis() as i64);
    let stale = store
        .stale_deploy_requests(RECHECKABLE, cutoff, RECHECK_BATCH)
        .await?;
    let mut scheduled = 0;
    for mut request in stale {
        if store
            .has_job(JobKind::CheckDeployRequest, request.id.as_str())
            .await?
        {
            continue;
        }
        // The check time is stamped with the job in one transaction, so the request is
        // not stale again before its check ran; a save that lost a race (the API or a
        // deploy job changed the request) is left to the next tick.
        request.deployment.schema_last_updated_at = Some(now);
        let check = check_job(&request.id);
        if store
            .save_deploy_request(&mut request, &[check], None)
            .await?
        {
            scheduled += 1;
        }
    }
    Ok(scheduled)
}

/// Ticks until `shutdown` turns true; `recheck_after_millis = 0` turns the recheck off.
pub async fn run(
    store: Arc<dyn MetadataStore>,
    recheck_after_millis: u64,
    jobs: JobNotifier,
    mut shutdown: watch::Receiver<bool>,
) {
    if recheck_after_millis == 0 {
        return;
    }
    let threshold = Duration::from_millis(recheck_after_millis);
    let every = interval(recheck_after_millis);
    loop {
        if *shutdown.borrow() {
            return;
        }
        match tick(store.as_ref(), Timestamp::now(), threshold).await {
            Ok(0) => {}
            Ok(scheduled) => {
                tracing::debug!(scheduled, "deploy request rechecks");
                jobs.notify();
            }
            Err(error) => tracing::error!(%error, "deploy request recheck failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}
