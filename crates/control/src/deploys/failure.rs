//! How a deploy step fails: worth retrying, or for good (`complete_error`, the lane
//! blocked until `complete-deploy`); and what a job the runner gave up (its step failed on
//! every attempt) leaves on its deploy request.

use super::job::{Context, DeployJobs, RunData, StepResult};
use dbplane_domain::Timestamp;
use dbplane_domain::deploys::{
    CheckOutcome, DeployOperationState, DeploymentEvent, DeploymentState,
};
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_engine::deploy::DeployError;
use dbplane_engine::online_ddl::OnlineDdlError;
use dbplane_jobs::{GivenUp, JobError, StepOutcome};

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

impl DeployJobs {
    /// The runner gave the job up: a deployment fails as a permanent failure would
    /// (`complete_error`, or `complete_revert_error` while reverting; lane blocked); a
    /// check records `error` with the message. Either completes the job.
    pub(super) async fn record_given_up(
        &self,
        job: &Job,
        message: &str,
    ) -> Result<GivenUp, JobError> {
        let Some(context) = self.context(job).await? else {
            self.finish(job).await?;
            return Ok(GivenUp::Recorded);
        };
        match job.kind {
            JobKind::RunDeployment => {
                let data: RunData = serde_json::from_str(&job.data).unwrap_or_default();
                self.fail(job, &context, &data, message.to_string()).await?;
            }
            JobKind::CheckDeployRequest => {
                let saved = self
                    .update(job, context.request, true, |request| {
                        let deployment = &mut request.deployment;
                        let checked = DeploymentEvent::Checked(CheckOutcome::Failed);
                        if deployment.apply(checked).is_err() {
                            return false;
                        }
                        deployment.deploy_check_errors = Some(message.to_string());
                        deployment.deployable = false;
                        deployment.updated_at = Timestamp::now();
                        true
                    })
                    .await?;
                if saved.is_none() {
                    self.finish(job).await?;
                }
            }
            _ => return Ok(GivenUp::Kept),
        }
        Ok(GivenUp::Recorded)
    }
}
