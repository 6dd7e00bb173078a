//! Metrics of deploys and backups, reported through the `metrics` facade where the
//! events happen (the recorder `dbplane serve` installs exposes them on `/metrics`).
//! Every label value comes from a closed set named here.

use dbplane_domain::Timestamp;
use dbplane_domain::backups::{Backup, BackupState};
use dbplane_domain::deploys::DeploymentState;
use std::time::Duration;

/// Counter: deployments that reached an outcome, by `outcome` (see [`deploy_outcome`]).
pub const DEPLOYS: &str = "dbplane_deploys_total";
/// Histogram: how long writes to the swapped tables were blocked, by `direction`
/// (`cutover` or `revert`).
pub const CUTOVER_WRITE_BLOCK: &str = "dbplane_deploy_cutover_write_block_seconds";
/// Counter: rows copied into shadow tables by online schema changes.
pub const COPIED_ROWS: &str = "dbplane_deploy_copied_rows_total";
/// Counter: backups that ended, by `outcome` (`success`, `failed`, `canceled`).
pub const BACKUPS: &str = "dbplane_backups_total";
/// Histogram: from a backup's start to its end, by `outcome`.
pub const BACKUP_DURATION: &str = "dbplane_backup_duration_seconds";
/// Histogram: stored (compressed) size of successful backups.
pub const BACKUP_SIZE: &str = "dbplane_backup_size_bytes";

/// Describes the metrics above (HELP lines); harmless without a recorder.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(DEPLOYS, "Deployments that reached an outcome.");
    describe_histogram!(
        CUTOVER_WRITE_BLOCK,
        Unit::Seconds,
        "How long a cutover or revert blocked writes to its tables."
    );
    describe_counter!(COPIED_ROWS, "Rows copied by online schema changes.");
    describe_counter!(BACKUPS, "Backups that ended.");
    describe_histogram!(BACKUP_DURATION, Unit::Seconds, "Backup duration.");
    describe_histogram!(
        BACKUP_SIZE,
        Unit::Bytes,
        "Stored size of successful backups."
    );
}

/// The outcome a deployment reached by moving from `before` to `after`, if any:
/// `deployed` (cut over, or applied instantly), `failed`, `cancelled`, `reverted`,
/// `revert_failed`. The end of a revert window is no new outcome.
pub(crate) fn deploy_outcome(
    before: DeploymentState,
    after: DeploymentState,
) -> Option<&'static str> {
    use DeploymentState as S;
    if before == after {
        return None;
    }
    Some(match after {
        S::CompletePendingRevert => "deployed",
        S::Complete if before != S::CompletePendingRevert => "deployed",
        S::CompleteError => "failed",
        S::Cancelled | S::CompleteCancel => "cancelled",
        S::CompleteRevert => "reverted",
        S::CompleteRevertError => "revert_failed",
        _ => return None,
    })
}

/// Counts the outcome of a saved state change of a deployment, if it reached one.
pub(crate) fn deployment_changed(before: DeploymentState, after: DeploymentState) {
    if let Some(outcome) = deploy_outcome(before, after) {
        metrics::counter!(DEPLOYS, "outcome" => outcome).increment(1);
    }
}

/// Records a finished swap of a deployment's tables (`direction`: `cutover`/`revert`).
pub(crate) fn tables_swapped(direction: &'static str, write_block: Duration) {
    metrics::histogram!(CUTOVER_WRITE_BLOCK, "direction" => direction)
        .record(write_block.as_secs_f64());
}

pub(crate) fn rows_copied(rows: u64) {
    metrics::counter!(COPIED_ROWS).increment(rows);
}

/// Records a backup that was just saved in its terminal state.
pub(crate) fn backup_ended(backup: &Backup) {
    let outcome = match backup.state {
        BackupState::Success => "success",
        BackupState::Failed => "failed",
        BackupState::Canceled => "canceled",
        // Not ended by a backup job: nothing to record.
        BackupState::Pending | BackupState::Running | BackupState::Ignored => return,
    };
    metrics::counter!(BACKUPS, "outcome" => outcome).increment(1);
    if let (Some(started), Some(ended)) = (backup.started_at, backup.completed_at) {
        metrics::histogram!(BACKUP_DURATION, "outcome" => outcome)
            .record(seconds_between(started, ended));
    }
    if backup.state == BackupState::Success {
        metrics::histogram!(BACKUP_SIZE).record(backup.size as f64);
    }
}

fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.unix_millis() - from.unix_millis()).max(0) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeploymentState as S;

    #[test]
    fn outcomes_are_counted_once_per_deployment_end() {
        assert_eq!(
            deploy_outcome(S::InProgressCutover, S::CompletePendingRevert),
            Some("deployed")
        );
        assert_eq!(deploy_outcome(S::InProgress, S::Complete), Some("deployed"));
        // The revert window closing is the same deployment, already counted.
        assert_eq!(deploy_outcome(S::CompletePendingRevert, S::Complete), None);
        assert_eq!(
            deploy_outcome(S::InProgress, S::CompleteError),
            Some("failed")
        );
        assert_eq!(deploy_outcome(S::Queued, S::Cancelled), Some("cancelled"));
        assert_eq!(
            deploy_outcome(S::InProgressCancel, S::CompleteCancel),
            Some("cancelled")
        );
        assert_eq!(
            deploy_outcome(S::InProgressRevert, S::CompleteRevert),
            Some("reverted")
        );
        assert_eq!(
            deploy_outcome(S::InProgressRevert, S::CompleteRevertError),
            Some("revert_failed")
        );
        assert_eq!(deploy_outcome(S::Ready, S::Queued), None);
        assert_eq!(deploy_outcome(S::CompleteError, S::CompleteError), None);
    }
}
