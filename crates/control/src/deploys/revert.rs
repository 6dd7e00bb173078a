//! The revert window and the revert: the kept old tables are fed in reverse until the
//! window ends (or `skip-revert`), and `revert` swaps them back keeping every row written
//! since the cutover (semantics.md §9.4).

use super::job::{Action, Context, DeployJobs, Failure, RunData, StepResult, next, save_and_wait};
use super::step::Step;
use super::steps::close_revert_window;
use dbplane_domain::Timestamp;
use dbplane_domain::deploys::{DeployRequestState, DeploymentEvent, DeploymentState};
use dbplane_domain::jobs::Job;
use dbplane_engine::online_ddl::OnlineDdlError;

type Stepped = Result<StepResult, Failure>;

impl DeployJobs {
    /// The revert window: feeds the kept old tables in reverse and waits for its end,
    /// `skip-revert` or `revert`.
    pub(super) async fn revert_window(
        &self,
        job: &Job,
        context: &Context,
        mut data: RunData,
    ) -> Stepped {
        let deployment = &context.request.deployment;
        match deployment.state {
            DeploymentState::Complete => return Ok(next(Step::Cleanup, &data)),
            DeploymentState::InProgressRevert => return Ok(next(Step::Revert, &data)),
            DeploymentState::CompletePendingRevert => {}
            other => return Err(Failure::Retry(format!("unexpected state {other}"))),
        }
        let end = deployment
            .revert
            .as_ref()
            .map(|r| r.waiting_period_end_at)
            .unwrap_or_else(Timestamp::now);
        if Timestamp::now() >= end {
            self.update(job, context.request.clone(), false, |request| {
                close_revert_window(request).is_ok()
            })
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
            return Ok(next(Step::RevertWindow, &data));
        }
        let mut incompatible = None;
        for state in &mut data.online {
            match context.engine.online.apply_reverse_changes(state).await {
                Ok(_) => {}
                // The deploy stands; only a revert would fail. Say so on the revert request.
                Err(error @ OnlineDdlError::RevertIncompatible { .. }) => {
                    incompatible = Some(error.to_string())
                }
                Err(error) => return Err(error.into()),
            }
        }
        let known = deployment
            .revert
            .as_ref()
            .and_then(|r| r.revert_errors.clone());
        if incompatible.is_some() && incompatible != known {
            self.update(job, context.request.clone(), false, |request| {
                if let Some(revert) = &mut request.deployment.revert {
                    revert.revert_errors = incompatible.clone();
                }
                true
            })
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        }
        Ok(self.poll_later(Step::RevertWindow, &data, end))
    }

    /// Saves the job's data (stream positions) with `step`, then looks again at the next
    /// poll, or at `until` if sooner.
    pub(super) fn poll_later(&self, step: Step, data: &RunData, until: Timestamp) -> StepResult {
        let pause = (until.unix_millis() - Timestamp::now().unix_millis())
            .clamp(1, self.config.poll_millis as i64);
        save_and_wait(step, data, Timestamp::now().plus_millis(pause))
    }

    /// `revert`: the second swap (keeping every row written since the cutover), dropped
    /// tables back, created tables lazily dropped.
    pub(super) async fn revert(&self, job: &Job, context: &Context, mut data: RunData) -> Stepped {
        match context.request.deployment.state {
            DeploymentState::InProgressRevert => {}
            // Recorded by a run that crashed before saving its step: recover the phases.
            DeploymentState::CompleteRevert => {
                if !data.online.is_empty() {
                    context
                        .engine
                        .online
                        .revert_many(&mut data.online, &self.cutover_options(&context.base))
                        .await?;
                }
                return Ok(next(Step::RevertCleanup, &data));
            }
            _ => return Ok(next(Step::RevertWindow, &data)),
        }
        if !data.online.is_empty() {
            match context
                .engine
                .online
                .revert_many(&mut data.online, &self.cutover_options(&context.base))
                .await
            {
                Ok(outcome) if !outcome.already_done => {
                    crate::metrics::tables_swapped("revert", outcome.write_block);
                }
                Ok(_) => {}
                Err(error @ OnlineDdlError::RevertIncompatible { .. }) => {
                    return Err(Failure::Permanent(error.to_string()));
                }
                Err(error) => return Err(error.into()),
            }
        }
        for planned in &data.plan {
            match &planned.action {
                Action::DropTable => {
                    context
                        .engine
                        .restore_dropped(&context.db, &planned.name)
                        .await?
                }
                Action::CreateTable { .. } => {
                    context.engine.lazy_drop(&context.db, &planned.name).await?
                }
                _ => {}
            }
        }
        // Views last: they read the tables just put back.
        for planned in &data.plan {
            if !matches!(planned.action, Action::CreateView { .. } | Action::DropView) {
                continue;
            }
            match &planned.previous_view {
                Some(statement) => {
                    context
                        .engine
                        .create_view(&context.db, &planned.name, statement)
                        .await?
                }
                None => context.engine.drop_view(&context.db, &planned.name).await?,
            }
        }
        let saved = self
            .update(job, context.request.clone(), false, |request| {
                if request
                    .deployment
                    .apply(DeploymentEvent::RevertDone)
                    .is_err()
                {
                    return false;
                }
                let now = Timestamp::now();
                if let Some(revert) = &mut request.deployment.revert {
                    revert.finished_at = Some(now);
                }
                request.deployment.finished_at = Some(now);
                request.state = DeployRequestState::Closed;
                request.closed_at = Some(now);
                true
            })
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        Ok(next(
            if saved.is_some() {
                Step::RevertCleanup
            } else {
                Step::Revert
            },
            &data,
        ))
    }

    /// After a revert: the new-schema tables and created tables go.
    pub(super) async fn revert_cleanup(
        &self,
        job: &Job,
        context: &Context,
        data: RunData,
    ) -> Stepped {
        for state in &data.online {
            context.engine.online.drop_artifacts(state).await?;
        }
        self.purge_lazy_drops(context, &data, |action| {
            matches!(action, Action::CreateTable { .. })
        })
        .await?;
        Ok(self.finish(job).await)
    }
}
