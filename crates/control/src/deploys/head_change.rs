//! A queued deployment whose head changed leaves the queue (semantics.md §8.1). The
//! background recheck ([`super::recheck`]) notices it within `recheck_after_millis`; one
//! whose turn comes first (or with the recheck off) is caught here, before the lane picks
//! it up.

use super::check::{CheckResult, CheckedBy, canonical_schema, run_checks};
use super::job::{Context, DeployJobs, Failure, RunData, StepResult, next};
use super::step::Step;
use super::steps::record_check;
use dbplane_domain::data_plane::Branch;
use dbplane_domain::deploys::DeploymentState;
use dbplane_domain::jobs::Job;
use dbplane_jobs::StepOutcome;

impl DeployJobs {
    /// The checks of the run's request against its head and base as they are now. The
    /// run's steps follow each other, so they share one scratch database.
    pub(super) async fn check_now(
        &self,
        context: &Context,
        head: &Branch,
    ) -> Result<CheckResult, Failure> {
        run_checks(
            &context.engine,
            self.store.as_ref(),
            (&context.database, &context.base, head),
            &context.request,
            CheckedBy::Submit,
        )
        .await
        .map_err(Failure::Retry)
    }

    /// At the deployment's turn: when its head's schema is no longer the one it was
    /// checked with, records new checks (out of the queue, approvals dismissed) and ends
    /// the run. `None`: the head is unchanged (or gone: `submit` fails it), go on.
    pub(super) async fn leave_queue_if_head_changed(
        &self,
        job: &Job,
        context: &Context,
    ) -> Result<Option<StepResult>, Failure> {
        let request = &context.request;
        let retry = |e: String| Failure::Retry(e);
        if request.deployment.head_schema.is_empty() {
            return Ok(None);
        }
        let Some(head) = self
            .store
            .branch_by_id(&request.branch_id)
            .await
            .map_err(|e| retry(e.to_string()))?
        else {
            return Ok(None);
        };
        let now = canonical_schema(&context.engine, &head)
            .await
            .map_err(retry)?;
        if now == request.deployment.head_schema {
            return Ok(None);
        }
        let check = self.check_now(context, &head).await?;
        self.store
            .dismiss_approvals(&request.id)
            .await
            .map_err(|e| retry(e.to_string()))?;
        let saved = self
            .update(job, request.clone(), true, |request| {
                if request.deployment.state != DeploymentState::Queued {
                    return false;
                }
                record_check(&mut request.deployment, &check, true);
                true
            })
            .await;
        Ok(Some(match saved {
            Ok(Some(_)) => Ok(StepOutcome::Finished),
            // Cancelled or closed meanwhile: `wait_turn` sees to it.
            Ok(None) => next(Step::WaitTurn, &RunData::default()),
            Err(error) => Err(error),
        }))
    }
}
