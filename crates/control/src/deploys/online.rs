//! The online steps of a deployment: prepare the shadows, copy with change replay
//! (checkpointed), hold at `pending_cutover` when gated, cut every table over, keep the
//! revert window, then clean up, revert or cancel.

use super::job::{
    Action, Context, DeployJobs, Failure, RunData, StepResult, next, retry, save_and_wait,
};
use super::step::Step;
use super::steps::finish_successfully;
use dbplane_domain::Timestamp;
use dbplane_domain::deploys::{
    DeployOperationState, DeployRequest, DeploymentEvent, DeploymentState, RevertRequest,
};
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_engine::deploy::dropped_table_name;
use dbplane_engine::online_ddl::{ChunkOutcome, CopyOptions, OnlineDdlError, SchemaChange};
use dbplane_jobs::{JobError, StepOutcome};
use std::time::{Duration, Instant};

/// How often the copy replays the binlog between chunks. Each replay opens a binlog
/// stream and reads to the end: after every ~100 ms chunk that costs a noticeable share of
/// the copy (measured: `make bench-osc`), while the writers' changes only need to be
/// applied before the cutover, which catches up anyway.
const APPLY_EVERY: Duration = Duration::from_millis(250);
/// The pause after a chunk the load throttle held back.
const THROTTLED_PAUSE: Duration = Duration::from_millis(50);
/// The pause before trying a cutover again whose locks could not all be taken.
const CUTOVER_RETRY_PAUSE: Duration = Duration::from_secs(1);

type Stepped = Result<StepResult, Failure>;

impl DeployJobs {
    pub(super) async fn online_step(
        &self,
        step: Step,
        job: &Job,
        context: &Context,
        data: RunData,
    ) -> Stepped {
        let state = context.request.deployment.state;
        let cancelling = state == DeploymentState::InProgressCancel;
        match step {
            Step::Cancel => self.cancel(job, context, data).await,
            step if cancelling && step.cancellable() => Ok(next(Step::Cancel, &data)),
            Step::Prepare => self.prepare(context, data).await,
            Step::Copy => self.copy(job, context, data).await,
            Step::Ready => self.ready(job, context, data).await,
            Step::Gated => self.gated(job, context, data).await,
            Step::Cutover => self.cutover(job, context, data).await,
            Step::RevertWindow => self.revert_window(job, context, data).await,
            Step::Cleanup => self.cleanup(job, context, data).await,
            Step::Revert => self.revert(job, context, data).await,
            Step::RevertCleanup => self.revert_cleanup(job, context, data).await,
            other @ (Step::WaitTurn | Step::Submit | Step::Create | Step::Instant) => Err(
                Failure::Retry(format!("{} is not an online step", other.as_str())),
            ),
        }
    }

    /// One shadow table per online ALTER, saved one at a time.
    async fn prepare(&self, context: &Context, mut data: RunData) -> Stepped {
        let pending = data.plan.iter().find(|planned| {
            matches!(planned.action, Action::AlterOnline { .. })
                && !data.online.iter().any(|s| s.table == planned.name)
        });
        let Some(planned) = pending else {
            data.copy_started_at = Some(Timestamp::now());
            return Ok(next(Step::Copy, &data));
        };
        let Action::AlterOnline {
            clauses,
            renamed_columns,
        } = &planned.action
        else {
            return Err(Failure::Retry("unexpected plan".into()));
        };
        let state = context
            .engine
            .online
            .prepare(
                &context.db,
                &planned.name,
                &SchemaChange::Alter(clauses.clone()),
                renamed_columns,
            )
            .await?;
        data.online.push(state);
        Ok(next(Step::Prepare, &data))
    }

    /// Copies chunks (replaying the binlog every [`APPLY_EVERY`]) for up to `copy_step_millis`,
    /// then saves the checkpoint and the progress the API shows.
    async fn copy(&self, job: &Job, context: &Context, mut data: RunData) -> Stepped {
        let started = Instant::now();
        let budget = Duration::from_millis(self.config.copy_step_millis);
        let options = CopyOptions {
            throttle_ratio: context.request.deployment.throttle_ratio,
            max_threads_running: Some(self.config.max_threads_running).filter(|&limit| limit > 0),
            ..CopyOptions::default()
        };
        let mut throttled = false;
        let mut applied_at = Instant::now();
        while started.elapsed() < budget {
            let Some(state) = data.online.iter_mut().find(|s| !s.copy.done) else {
                break;
            };
            match context.engine.online.copy_chunk(state, &options).await? {
                ChunkOutcome::Copied { rows, .. } => crate::metrics::rows_copied(rows),
                ChunkOutcome::Throttled => {
                    throttled = true;
                    // The server is busy: look again a little later, not at once.
                    tokio::time::sleep(THROTTLED_PAUSE).await;
                }
                ChunkOutcome::Done => {}
            }
            if applied_at.elapsed() >= APPLY_EVERY || state.copy.done {
                context.engine.online.apply_changes(state).await?;
                applied_at = Instant::now();
            }
        }
        // The checkpoint saved below is caught up with the binlog.
        for state in data.online.iter_mut().filter(|s| !s.copy.done) {
            context.engine.online.apply_changes(state).await?;
        }
        let all_done = data.online.iter().all(|s| s.copy.done);
        self.save_progress(job, &context.request, &data, throttled)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        Ok(next(if all_done { Step::Ready } else { Step::Copy }, &data))
    }

    async fn save_progress(
        &self,
        job: &Job,
        request: &DeployRequest,
        data: &RunData,
        throttled: bool,
    ) -> Result<(), JobError> {
        let elapsed = data
            .copy_started_at
            .map(|at| (Timestamp::now().unix_millis() - at.unix_millis()).max(1) as f64 / 1000.0);
        self.update(job, request.clone(), false, |request| {
            for operation in &mut request.deployment.operations {
                let Some(state) = data.online.iter().find(|s| s.table == operation.table_name)
                else {
                    continue;
                };
                let copied = state.copy.rows_copied;
                let total = state.copy.rows_estimate.max(copied).max(1);
                operation.rows_copied = copied;
                operation.rows_total = total;
                let percentage = if state.copy.done {
                    100.0
                } else {
                    (copied as f64 * 100.0 / total as f64).min(99.9)
                };
                operation.progress_percentage = Some((percentage * 10.0).round() / 10.0);
                operation.eta_seconds = match (state.copy.done, elapsed) {
                    (true, _) => Some(0.0),
                    (false, Some(elapsed)) if copied > 0 => {
                        Some(((total - copied) as f64 * elapsed / copied as f64).round())
                    }
                    _ => None,
                };
                operation.throttled_at = throttled.then(Timestamp::now);
                operation.updated_at = Timestamp::now();
            }
            true
        })
        .await?;
        Ok(())
    }

    /// Copy done: cut over (auto) or hold at `pending_cutover` (gated).
    async fn ready(&self, job: &Job, context: &Context, data: RunData) -> Stepped {
        match context.request.deployment.state {
            DeploymentState::InProgress => {}
            DeploymentState::PendingCutover => return Ok(next(Step::Gated, &data)),
            DeploymentState::InProgressCutover => return Ok(next(Step::Cutover, &data)),
            other => return Err(Failure::Retry(format!("unexpected state {other}"))),
        }
        let auto = context.request.deployment.auto_cutover;
        let saved = self
            .update(job, context.request.clone(), false, |request| {
                let deployment = &mut request.deployment;
                if deployment.state != DeploymentState::InProgress {
                    return false;
                }
                let event = if auto {
                    DeploymentEvent::Cutover
                } else {
                    DeploymentEvent::AwaitCutover
                };
                if deployment.apply(event).is_err() {
                    return false;
                }
                if !auto {
                    deployment.ready_to_cutover_at = Some(Timestamp::now());
                }
                true
            })
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        Ok(match saved {
            Some(_) if auto => next(Step::Cutover, &data),
            Some(_) => next(Step::Gated, &data),
            // The user acted (cancel, or auto-apply changed): look again.
            None => next(Step::Ready, &data),
        })
    }

    /// Gated: keep the shadows in sync, with no time-out, until `apply-deploy`,
    /// auto-apply turned on, or cancel.
    async fn gated(&self, job: &Job, context: &Context, mut data: RunData) -> Stepped {
        let deployment = &context.request.deployment;
        match deployment.state {
            DeploymentState::InProgressCutover => return Ok(next(Step::Cutover, &data)),
            DeploymentState::PendingCutover if deployment.auto_cutover => {
                let saved = self
                    .update(job, context.request.clone(), false, |request| {
                        request.deployment.apply(DeploymentEvent::Cutover).is_ok()
                    })
                    .await
                    .map_err(|e| Failure::Retry(e.to_string()))?;
                return Ok(next(
                    if saved.is_some() {
                        Step::Cutover
                    } else {
                        Step::Gated
                    },
                    &data,
                ));
            }
            DeploymentState::PendingCutover => {}
            _ => return Ok(next(Step::Ready, &data)),
        }
        for state in &mut data.online {
            context.engine.online.apply_changes(state).await?;
        }
        // Save the applied positions, then wait without holding a worker.
        let until = Timestamp::now().plus_millis(self.config.poll_millis as i64);
        Ok(self.poll_later(Step::Gated, &data, until))
    }

    /// Swaps every changed table, then lazily drops, then views; opens the revert window.
    async fn cutover(&self, job: &Job, context: &Context, mut data: RunData) -> Stepped {
        match context.request.deployment.state {
            DeploymentState::InProgressCutover => {}
            // The swap was recorded by a run that crashed before saving its step; the
            // tables' phases are recovered from the real tables below.
            DeploymentState::CompletePendingRevert
            | DeploymentState::Complete
            | DeploymentState::InProgressRevert => {
                if !data.online.is_empty() {
                    context
                        .engine
                        .online
                        .cutover_many(&mut data.online, &self.cutover_options(&context.base))
                        .await?;
                }
                return Ok(next(Step::RevertWindow, &data));
            }
            other => return Err(Failure::Retry(format!("unexpected state {other}"))),
        }
        let now = Timestamp::now();
        let started = *data.cutover_started_at.get_or_insert(now);
        let force_after = started.plus_seconds(self.config.force_cutover_after_seconds as i64);
        let forced = context
            .request
            .deployment
            .force_cutover_requested_at
            .is_some()
            || now >= force_after;
        let options = self.cutover_options(&context.base);
        if !data.online.is_empty() {
            let mut result = context
                .engine
                .online
                .cutover_many(&mut data.online, &options)
                .await;
            if result.is_err() && forced {
                let killed = context.engine.kill_transactions_in(&context.db).await?;
                tracing::warn!(killed, "forcing the cutover: killed the blocking sessions");
                result = context
                    .engine
                    .online
                    .cutover_many(&mut data.online, &options)
                    .await;
            }
            if let Ok(outcome) = &result
                && !outcome.already_done
            {
                crate::metrics::tables_swapped("cutover", outcome.write_block);
            }
            if let Err(error) = result {
                let tables: Vec<String> = data.online.iter().map(|s| s.table.clone()).collect();
                let _ = self
                    .update(job, context.request.clone(), false, |request| {
                        request.deployment.table_locked = true;
                        request.deployment.locked_table_name = Some(tables.join(", "));
                        true
                    })
                    .await;
                // Waiting for the lock is not a failed attempt: the forced cutover ends it.
                // Keep when the cutover started (for that forced cutover) meanwhile.
                if let OnlineDdlError::CutoverFailed { .. } = &error {
                    tracing::warn!(%error, "cutover not done; trying again");
                    let at = Timestamp::now().plus_millis(CUTOVER_RETRY_PAUSE.as_millis() as i64);
                    return Ok(save_and_wait(Step::Cutover, &data, at));
                }
                return Err(error.into());
            }
        }
        self.drops_and_views(context, &data).await?;
        let window = self.config.revert_window_seconds as i64;
        let saved = self
            .update(job, context.request.clone(), false, |request| {
                let deployment = &mut request.deployment;
                if deployment.apply(DeploymentEvent::CutoverDone).is_err() {
                    return false;
                }
                let now = Timestamp::now();
                deployment.cutover_at = Some(now);
                deployment.table_locked = false;
                deployment.locked_table_name = None;
                deployment.set_operations_state(DeployOperationState::Complete);
                for operation in &mut deployment.operations {
                    operation.progress_percentage = Some(100.0);
                    operation.eta_seconds = Some(0.0);
                }
                deployment.revert = Some(RevertRequest {
                    id: dbplane_domain::ids::new_public_id(),
                    waiting_period_end_at: now.plus_seconds(window),
                    actor: None,
                    finished_at: None,
                    cancelled_at: None,
                    revert_errors: None,
                });
                request.deployed_at = Some(now);
                true
            })
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        Ok(next(
            if saved.is_some() {
                Step::RevertWindow
            } else {
                Step::Cutover
            },
            &data,
        ))
    }

    /// Lazy drops (renamed to artifacts) and the views of the deployment.
    pub(super) async fn drops_and_views(
        &self,
        context: &Context,
        data: &RunData,
    ) -> Result<(), Failure> {
        for planned in &data.plan {
            match &planned.action {
                Action::DropTable => context.engine.lazy_drop(&context.db, &planned.name).await?,
                Action::DropView => context.engine.drop_view(&context.db, &planned.name).await?,
                _ => {}
            }
        }
        for planned in &data.plan {
            if let Action::CreateView { statement } = &planned.action {
                context
                    .engine
                    .create_view(&context.db, &planned.name, statement)
                    .await?;
            }
        }
        Ok(())
    }

    /// Drops the artifacts (`_<t>_dbp_drop`) of the lazily dropped tables of the planned
    /// actions `which` selects: dropped tables after success, created ones after a revert.
    pub(super) async fn purge_lazy_drops(
        &self,
        context: &Context,
        data: &RunData,
        which: fn(&Action) -> bool,
    ) -> Result<(), Failure> {
        for planned in data.plan.iter().filter(|planned| which(&planned.action)) {
            context
                .engine
                .drop_table_if_exists(&context.db, &dropped_table_name(&planned.name))
                .await?;
        }
        Ok(())
    }

    /// After success: drops the artifacts, deletes the head branch when asked, ends.
    async fn cleanup(&self, job: &Job, context: &Context, data: RunData) -> Stepped {
        for state in &data.online {
            context.engine.online.drop_artifacts(state).await?;
        }
        self.purge_lazy_drops(context, &data, |action| matches!(action, Action::DropTable))
            .await?;
        self.delete_head_branch_if_asked(&context.request)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        let deleted = context.request.deployment.auto_delete_branch;
        let saved = self
            .update(job, context.request.clone(), true, |request| {
                finish_successfully(request);
                if deleted && request.branch_deleted_at.is_none() {
                    request.branch_deleted_at = Some(Timestamp::now());
                }
                true
            })
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        Ok(match saved {
            Some(_) => Ok(StepOutcome::Finished),
            None => next(Step::Cleanup, &data),
        })
    }

    /// Cancel before the cutover: shadows and new tables go, the base is unchanged.
    async fn cancel(&self, job: &Job, context: &Context, data: RunData) -> Stepped {
        if context.request.deployment.state == DeploymentState::CompleteCancel {
            return Ok(self.finish(job).await);
        }
        for state in &data.online {
            context.engine.online.cancel(state).await?;
        }
        for planned in &data.plan {
            if matches!(planned.action, Action::CreateTable { .. }) {
                context
                    .engine
                    .drop_table_if_exists(&context.db, &planned.name)
                    .await?;
            }
        }
        let saved = self
            .update(job, context.request.clone(), true, |request| {
                let deployment = &mut request.deployment;
                if deployment.apply(DeploymentEvent::CancelDone).is_err() {
                    return false;
                }
                deployment.finished_at = Some(Timestamp::now());
                deployment.set_operations_state(DeployOperationState::Cancelled);
                true
            })
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        Ok(match saved {
            Some(_) => Ok(StepOutcome::Finished),
            None => self.finish(job).await,
        })
    }

    /// `auto_delete_branch`: deletes the head branch after a successful deploy
    /// (idempotent: a deleted branch is left alone).
    pub(super) async fn delete_head_branch_if_asked(
        &self,
        request: &DeployRequest,
    ) -> Result<(), JobError> {
        if !request.deployment.auto_delete_branch {
            return Ok(());
        }
        let Some(branch) = self
            .store
            .branch_by_id(&request.branch_id)
            .await
            .map_err(retry)?
        else {
            return Ok(());
        };
        if branch.deleted_at.is_some() {
            return Ok(());
        }
        let delete = Job::new(
            JobKind::DeleteBranch,
            branch.id.as_str(),
            "drop_credentials",
            "{}".into(),
        );
        self.store
            .mark_branches_deleted(&[(branch.id.clone(), delete)], Timestamp::now())
            .await
            .map_err(retry)
    }
}
