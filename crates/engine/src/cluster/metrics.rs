//! Metrics of the managed servers, reported through the `metrics` facade (the process
//! that installs a recorder, `dbplane serve`, exposes them; elsewhere they are no-ops).

use super::ClusterKind;

/// Gauge: 1 while the managed server of a kind runs and answers, 0 while it is down or
/// being restarted.
pub const UP: &str = "dbplane_managed_cluster_up";
/// Counter: restarts of a managed server after it exited on its own.
pub const RESTARTS: &str = "dbplane_managed_cluster_restarts_total";

pub(super) fn set_up(kind: ClusterKind, up: bool) {
    metrics::gauge!(UP, "kind" => kind.as_str()).set(if up { 1.0 } else { 0.0 });
}

pub(super) fn count_restart(kind: ClusterKind) {
    metrics::counter!(RESTARTS, "kind" => kind.as_str()).increment(1);
}

/// Describes the metrics above (HELP lines); harmless without a recorder.
pub fn describe() {
    metrics::describe_gauge!(UP, "1 while the managed server of a kind runs, else 0.");
    metrics::describe_counter!(RESTARTS, "Restarts of a managed server after it exited.");
}
