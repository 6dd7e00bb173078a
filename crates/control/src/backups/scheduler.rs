//! The background task of `serve` that runs due backup policies and reaps expired
//! backups. It only enqueues durable jobs: a policy run (its backups, their jobs and the
//! policy's new `last_ran_at`/`next_run_at`) commits in one transaction guarded by the
//! previous `next_run_at`, so a run happens once even across a crash. One server per
//! data dir runs it.

use super::jobs::{delete_backup_job, run_backup_job};
use dbplane_domain::Timestamp;
use dbplane_domain::backups::Backup;
use dbplane_domain::data_plane::BranchState;
use dbplane_jobs::JobNotifier;
use dbplane_store::{MetadataStore, StoreResult};
use std::time::Duration;
use tokio::sync::watch;

/// Most backups the reaper deletes per tick.
const REAP_BATCH: u64 = 100;

/// What one tick did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub policies_run: usize,
    pub backups_started: usize,
    /// Runs skipped because the branch's previous backup of the policy was unfinished.
    pub backups_ignored: usize,
    pub backups_reaped: usize,
}

/// Runs every due policy and reaps expired backups, as of `now`.
pub async fn tick(store: &dyn MetadataStore, now: Timestamp) -> StoreResult<TickReport> {
    let mut report = TickReport::default();
    for mut policy in store.due_backup_policies(now).await? {
        let branches = store.all_branches(&policy.database_id).await?;
        let mut runs = Vec::new();
        for branch in branches
            .iter()
            .filter(|b| b.deleted_at.is_none() && b.state == BranchState::Ready)
            .filter(|b| policy.target.covers(b.production))
        {
            let mut backup = Backup::pending(
                branch.id.clone(),
                branch.database_id.clone(),
                Backup::default_name(&branch.name, now),
                policy.retention,
                now,
            );
            backup.policy_id = Some(policy.id.clone());
            backup.required = policy.required;
            // A run due while the previous one still works is recorded as skipped.
            if store
                .has_unfinished_policy_backup(&branch.id, &policy.id)
                .await?
            {
                runs.push((backup.ignored(now), None));
            } else {
                let job = run_backup_job(&backup);
                runs.push((backup, Some(job)));
            }
        }
        let previous = policy.next_run_at;
        policy.last_ran_at = Some(now);
        policy.next_run_at = Some(policy.next_run_after(now));
        if store.record_policy_run(&policy, previous, &runs).await? {
            report.policies_run += 1;
            report.backups_started += runs.iter().filter(|(_, job)| job.is_some()).count();
            report.backups_ignored += runs.iter().filter(|(_, job)| job.is_none()).count();
        }
    }
    let doomed: Vec<_> = store
        .reapable_backups(now, REAP_BATCH)
        .await?
        .into_iter()
        .map(|backup| {
            let job = delete_backup_job(&backup.id);
            (backup.id, job)
        })
        .collect();
    if !doomed.is_empty() {
        store.mark_backups_deleted(&doomed, now).await?;
        report.backups_reaped = doomed.len();
    }
    Ok(report)
}

/// Ticks every `interval` until `shutdown` turns true.
pub async fn run(
    store: std::sync::Arc<dyn MetadataStore>,
    interval: Duration,
    jobs: JobNotifier,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        match tick(store.as_ref(), Timestamp::now()).await {
            Ok(report) => {
                if report.backups_started + report.backups_ignored + report.backups_reaped > 0 {
                    tracing::info!(?report, "backup scheduler");
                    jobs.notify();
                }
            }
            Err(error) => tracing::error!(%error, "backup scheduler tick failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}
