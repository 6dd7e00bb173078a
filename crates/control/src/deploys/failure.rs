//! How a deploy step fails: worth retrying, or for good (`complete_error`, the lane
//! blocked until `complete-deploy`).

use super::job::{Context, DeployJobs, RunData, StepResult};
use dbplane_domain::Timestamp;
use dbplane_domain::deploys::{DeployOperationState, DeploymentEvent, DeploymentState};
use dbplane_domain::jobs::Job;
use dbplane_engine::deploy::DeployError;
use dbplane_engine::online_ddl::OnlineDdlError;
use dbplane_jobs::StepOutcome;

/// How a step failed.
pub(crate) enum Failure {
    /// Try again later (server unreachable, lock timeouts).
    Retry(String),
    /// The deployment cannot succeed: `complete_error`.
    Permanent(String),
}

impl From<DeployError> for Failure {
    fn from(error: DeployError) -> Self {
        match error {
            DeployError::Sql(error) => {
                let transient = dbplane_engine::deploy::transient_sql(&error);
                sql_failure(error, transient)
            }
            DeployError::OnlineDdl(error) => error.into(),
            DeployError::Introspect(text) => Failure::Retry(text),
            DeployError::Invalid(text) => Failure::Permanent(text),
        }
    }
}

impl From<OnlineDdlError> for Failure {
    fn from(error: OnlineDdlError) -> Self {
        match error {
            OnlineDdlError::Sql(error) => {
                let transient = dbplane_engine::deploy::transient_sql(&error);
                sql_failure(error, transient)
            }
            OnlineDdlError::Binlog(text) => Failure::Retry(text),
            error @ OnlineDdlError::CutoverFailed { .. } => Failure::Retry(error.to_string()),
            error => Failure::Permanent(error.to_string()),
        }
    }
}

fn sql_failure<E: std::fmt::Display>(error: E, transient: bool) -> Failure {
    if transient {
        Failure::Retry(error.to_string())
    } else {
        Failure::Permanent(error.to_string())
    }
}

impl DeployJobs {
    /// Fails the deployment for good: shadows dropped, `complete_error`, lane blocked.
    pub(super) async fn fail(
        &self,
        job: &Job,
        context: &Context,
        data: &RunData,
        error: String,
    ) -> StepResult {
        tracing::warn!(deploy_request = %context.request.id, %error, "deployment failed");
        for state in &data.online {
            // Only before the cutover; a swapped table stays (a revert is separate).
            let _ = context.engine.online.cancel(state).await;
        }
        let reverting = context.request.deployment.state == DeploymentState::InProgressRevert;
        let saved = self
            .update(job, context.request.clone(), true, |request| {
                let deployment = &mut request.deployment;
                if deployment.apply(DeploymentEvent::Fail).is_err() {
                    return false;
                }
                deployment.finished_at = Some(Timestamp::now());
                deployment.table_locked = false;
                if reverting {
                    if let Some(revert) = &mut deployment.revert {
                        revert.revert_errors = Some(error.clone());
                    }
                } else {
                    for operation in &mut deployment.operations {
                        if operation.state != DeployOperationState::Complete {
                            operation.state = DeployOperationState::Error;
                            operation.deploy_errors = Some(error.clone());
                        }
                    }
                    deployment.deploy_check_errors = Some(error.clone());
                }
                true
            })
            .await?;
        match saved {
            Some(_) => Ok(StepOutcome::Finished),
            None => self.finish(job).await,
        }
    }
}
