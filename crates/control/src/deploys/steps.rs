//! State changes shared by the API and the deploy job, so both apply them the same way.

use super::check::CheckResult;
use dbplane_domain::Timestamp;
use dbplane_domain::deploys::{
    CheckOutcome, DeployOperationState, DeployRequest, DeployRequestState, Deployment,
    DeploymentEvent, DeploymentState, InvalidTransition,
};

/// Records the checks' result on a deployment that is not running: new operations, lint,
/// errors, and `pending → ready | no_changes | error`. Changed operations send it back
/// through `pending`. A queued deployment leaves the queue only when its head changed
/// (semantics.md §8.1; its run job sees that and stops): the base moving under it (the
/// earlier deployments of its lane) is what `submit` plans for.
pub fn record_check(deployment: &mut Deployment, check: &CheckResult, keep_fork: bool) {
    let changed = !check.same_operations(&deployment.operations);
    let queued = deployment.state == DeploymentState::Queued;
    let recompute = if queued {
        check.head_changed(deployment)
    } else {
        changed
    };
    if recompute && deployment.state.after(DeploymentEvent::HeadChanged).is_ok() {
        if queued {
            deployment.queued_at = None;
        }
        let _ = deployment.apply(DeploymentEvent::HeadChanged);
    }
    if deployment
        .state
        .after(DeploymentEvent::Checked(check.outcome))
        .is_ok()
    {
        let _ = deployment.apply(DeploymentEvent::Checked(check.outcome));
    }
    // Still queued, it keeps the operations it was queued with.
    if deployment.state != DeploymentState::Queued && (changed || deployment.operations.is_empty())
    {
        deployment.operations = check.operations.clone();
    }
    deployment.head_schema = check.head_statements.clone();
    deployment.schema_diff = check.diff.clone();
    deployment.lint_errors = check.lint_errors.clone();
    deployment.deploy_check_errors = check.deploy_check_errors.clone();
    deployment.deployable = check.outcome == CheckOutcome::Deployable;
    deployment.instant_ddl_eligible = check.instant_eligible;
    if deployment.base_schema_at_fork.is_empty() || !keep_fork {
        deployment.base_schema_at_fork = check.base_statements.clone();
    }
    let now = Timestamp::now();
    deployment.schema_last_updated_at = Some(now);
    deployment.updated_at = now;
}

/// Ends the revert window (skip-revert or elapsed): the deployment is `complete` and the
/// deploy request closes.
pub fn close_revert_window(request: &mut DeployRequest) -> Result<(), InvalidTransition> {
    request
        .deployment
        .apply(DeploymentEvent::CloseRevertWindow)?;
    finish_successfully(request);
    Ok(())
}

/// Stamps a successful end (`complete`): finished, closed.
pub fn finish_successfully(request: &mut DeployRequest) {
    let now = Timestamp::now();
    request.deployment.finished_at = Some(now);
    request.deployment.table_locked = false;
    request.deployment.locked_table_name = None;
    if request.deployment.state == DeploymentState::Complete {
        request
            .deployment
            .set_operations_state(DeployOperationState::Complete);
    }
    if request.state == DeployRequestState::Open {
        request.state = DeployRequestState::Closed;
        request.closed_at = Some(now);
    }
}

/// Free and total bytes of the file system holding `path` (the managed clusters live
/// under the data dir); `None` when it cannot be read.
pub fn disk_space(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and `stats` is written by statvfs before it is read.
    let result = unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) };
    if result != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `stats`.
    let stats = unsafe { stats.assume_init() };
    // The field types differ by platform (u64 here); `as u64` is not a no-op everywhere.
    #[allow(clippy::unnecessary_cast)]
    let (block, free, total) = (
        stats.f_frsize as u64,
        stats.f_bavail as u64,
        stats.f_blocks as u64,
    );
    Some((free * block, total * block))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbplane_domain::deploys::{DeployOperation, DeployOperationKind};

    /// A deployable check of one `ALTER` (`sql`) with the head's schema `head`.
    fn check(sql: &str, head: &str) -> CheckResult {
        CheckResult {
            outcome: CheckOutcome::Deployable,
            operations: vec![DeployOperation {
                id: "op".into(),
                ..DeployOperation::pending("t".into(), DeployOperationKind::Alter, sql.into())
            }],
            lint_errors: Vec::new(),
            deploy_check_errors: None,
            instant_eligible: false,
            base_statements: Vec::new(),
            target_tables: Default::default(),
            diff: Vec::new(),
            head_statements: vec![head.into()],
            base_views: Default::default(),
            renamed_columns: Default::default(),
            alters: Default::default(),
        }
    }

    fn queued(sql: &str, head: &str) -> Deployment {
        let mut deployment = Deployment::new(true, false, 0);
        record_check(&mut deployment, &check(sql, head), true);
        deployment.apply(DeploymentEvent::Queue).expect("ready");
        deployment.queued_at = Some(Timestamp::now());
        deployment
    }

    #[test]
    fn a_queued_deployment_leaves_the_queue_only_when_its_head_changed() {
        // The base moved under it: other statement text, same head. It stays.
        let mut moved = queued("ALTER TABLE t ADD a int", "head 1");
        record_check(
            &mut moved,
            &check("ALTER TABLE t ADD a int, x", "head 1"),
            true,
        );
        assert_eq!(moved.state, DeploymentState::Queued);
        assert!(moved.queued_at.is_some());
        assert_eq!(moved.operations[0].ddl_statement, "ALTER TABLE t ADD a int");

        // The head changed: out of the queue, ready with the new operations.
        let mut changed = queued("ALTER TABLE t ADD a int", "head 1");
        record_check(
            &mut changed,
            &check("ALTER TABLE t ADD b int", "head 2"),
            true,
        );
        assert_eq!(changed.state, DeploymentState::Ready);
        assert!(changed.queued_at.is_none());
        assert_eq!(
            changed.operations[0].ddl_statement,
            "ALTER TABLE t ADD b int"
        );
        assert_eq!(changed.head_schema, ["head 2"]);
    }

    #[test]
    fn without_a_recorded_head_changed_operations_decide() {
        let mut old = queued("ALTER TABLE t ADD a int", "head 1");
        old.head_schema.clear();
        record_check(&mut old, &check("ALTER TABLE t ADD b int", "head 1"), true);
        assert_eq!(old.state, DeploymentState::Ready);
    }
}
