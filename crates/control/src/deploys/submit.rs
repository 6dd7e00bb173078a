//! The first steps of a deployment: `wait_turn` (the head of its lane) and `submit`
//! (checked again against the base as it is now, then every operation planned).

use super::check::{CheckResult, TableAlter};
use super::job::{Action, Context, DeployJobs, Failure, Planned, RunData, StepResult, next};
use super::step::Step;
use dbplane_domain::Timestamp;
use dbplane_domain::deploys::{
    DeployOperationKind, DeployOperationState, DeploymentEvent, DeploymentState,
};
use dbplane_domain::jobs::Job;
use dbplane_engine::online_ddl::ColumnRename;
use dbplane_jobs::StepOutcome;

/// The `ALTER TABLE`s of `table` the checks planned.
fn table_alters<'a>(check: &'a CheckResult, table: &str) -> Result<&'a [TableAlter], Failure> {
    check
        .alters
        .get(table)
        .map(Vec::as_slice)
        .ok_or_else(|| Failure::Permanent(format!("no ALTER planned for `{table}`")))
}

impl DeployJobs {
    /// Waits until no other deployment holds the lane and none queued earlier waits.
    pub(super) async fn wait_turn(
        &self,
        job: &Job,
        context: &Context,
    ) -> Result<StepResult, Failure> {
        let request = &context.request;
        match request.deployment.state {
            DeploymentState::Queued => {}
            // Submitted by a run that crashed before saving its step.
            DeploymentState::Submitting => return Ok(next(Step::Submit, &RunData::default())),
            // Cancelled (or closed) while waiting.
            _ => return Ok(self.finish(job).await),
        }
        let lane = self
            .store
            .deploy_queue(&request.database_id)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        let blocked = lane
            .iter()
            .filter(|other| {
                other.id != request.id && other.into_branch_id == request.into_branch_id
            })
            .any(|other| {
                let state = other.deployment.state;
                state.holds_lane(other.deployment.error_acknowledged)
                    || (state == DeploymentState::Queued
                        && (other.deployment.queued_at, other.number)
                            < (request.deployment.queued_at, request.number))
            });
        if blocked {
            return Ok(Ok(StepOutcome::WaitUntil(
                Timestamp::now().plus_millis(self.config.poll_millis as i64),
            )));
        }
        if let Some(outcome) = self.leave_queue_if_head_changed(job, context).await? {
            return Ok(outcome);
        }
        let saved = self
            .update(job, request.clone(), false, |request| {
                let deployment = &mut request.deployment;
                if deployment.apply(DeploymentEvent::Submit).is_err() {
                    return false;
                }
                deployment.submitted_at = Some(Timestamp::now());
                true
            })
            .await;
        Ok(match saved {
            Ok(Some(_)) => next(Step::Submit, &RunData::default()),
            Ok(None) => next(Step::WaitTurn, &RunData::default()),
            Err(error) => Err(error),
        })
    }

    /// Re-checks against the base as it is now (it may have moved while queued) and
    /// plans every operation.
    pub(super) async fn submit(&self, job: &Job, context: &Context) -> Result<StepResult, Failure> {
        let request = &context.request;
        // `in_progress`: an earlier run started and crashed before saving the plan; plan
        // again (the operations are the same: the head and base are checked again).
        match request.deployment.state {
            DeploymentState::Submitting | DeploymentState::InProgress => {}
            DeploymentState::InProgressCancel => {
                return Ok(next(Step::Cancel, &RunData::default()));
            }
            _ => return Ok(self.finish(job).await),
        }
        let head = self
            .store
            .branch_by_id(&request.branch_id)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?
            .ok_or_else(|| Failure::Permanent("the head branch is gone".into()))?;
        let check = self.check_now(context, &head).await?;
        if let Some(errors) = &check.deploy_check_errors {
            return Err(Failure::Permanent(errors.clone()));
        }
        let instant = request.deployment.instant_ddl;
        let mut plan = Vec::new();
        for operation in &check.operations {
            let action = match (operation.kind, operation.is_view) {
                (DeployOperationKind::Create, false) => Action::CreateTable {
                    statement: operation.ddl_statement.clone(),
                },
                (DeployOperationKind::Create | DeployOperationKind::Alter, true) => {
                    Action::CreateView {
                        statement: operation.ddl_statement.clone(),
                    }
                }
                (DeployOperationKind::Drop, false) => Action::DropTable,
                (DeployOperationKind::Drop, true) => Action::DropView,
                (DeployOperationKind::Alter, false) if instant => Action::AlterInstant {
                    statements: table_alters(&check, &operation.table_name)?
                        .iter()
                        .map(|alter| alter.sql.clone())
                        .collect(),
                },
                (DeployOperationKind::Alter, false) => Action::AlterOnline {
                    // One ALTER of the shadow carries every clause of the table's change.
                    clauses: table_alters(&check, &operation.table_name)?
                        .iter()
                        .map(|alter| alter.clauses.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    renamed_columns: check
                        .renamed_columns
                        .get(&operation.table_name)
                        .into_iter()
                        .flatten()
                        .map(|(from, to)| ColumnRename {
                            from: from.clone(),
                            to: to.clone(),
                        })
                        .collect(),
                },
            };
            plan.push(Planned {
                operation_id: operation.id.clone(),
                name: operation.table_name.clone(),
                action,
                target: check
                    .target_tables
                    .get(&operation.table_name)
                    .cloned()
                    .flatten(),
                previous_view: operation
                    .is_view
                    .then(|| check.base_views.get(&operation.table_name).cloned())
                    .flatten(),
            });
        }
        let saved = self
            .update(job, request.clone(), false, |request| {
                let deployment = &mut request.deployment;
                if deployment.state == DeploymentState::InProgress {
                    return true;
                }
                if deployment.apply(DeploymentEvent::Start).is_err() {
                    return false;
                }
                deployment.operations = check.operations.clone();
                deployment.set_operations_state(DeployOperationState::InProgress);
                deployment.started_at = Some(Timestamp::now());
                true
            })
            .await;
        let data = RunData {
            plan,
            ..RunData::default()
        };
        Ok(match saved {
            Ok(Some(_)) => next(Step::Create, &data),
            Ok(None) => next(Step::Submit, &RunData::default()),
            Err(error) => Err(error),
        })
    }
}
