//! What a user does to a deployment: deploy (queue), cancel, apply a gated deploy, force
//! the cutover, revert, skip the revert window, acknowledge a failure; plus reviews,
//! throttlers, the storage check and the deploy queue. Each action is one transition of
//! the state machine, saved under the deploy request's version.

use super::check::{CheckResult, CheckedBy, run_checks};
use super::{DeployRequestDetails, steps};
use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::paging::{PageRequest, Paged};
use crate::{Caller, ControlPlane};
use dbplane_domain::data_plane::{BranchState, Database};
use dbplane_domain::deploys::{
    CheckOutcome, DeployOperationKind, DeployOperationState, DeployRequest, DeployRequestState,
    DeployReview, DeployReviewId, DeploymentEvent, DeploymentState, MAX_THROTTLE_RATIO,
    ReviewState,
};
use dbplane_domain::grant::Resource;
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_domain::{Access, Timestamp, User};
use dbplane_engine::deploy::DeployEngine;
use dbplane_engine::physical::PhysicalName;

/// A throttler as the API shows it.
#[derive(Clone, Debug)]
pub struct Throttler {
    pub keyspace: String,
    pub configurable_id: String,
    pub configurable_name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub ratio: u8,
}

/// `check_deploy_request_storage`.
#[derive(Clone, Debug)]
pub struct StorageCheck {
    pub keyspace: String,
    pub enough_storage: bool,
    pub storage_bytes_needed: u64,
    /// Free and total bytes of the disk, when known.
    pub disk: Option<(u64, u64)>,
    pub tables: Vec<(String, u64)>,
}

/// One deployment of the deploy queue.
pub type QueueEntry = DeployRequestDetails;

fn refused(error: impl std::fmt::Display) -> ControlError {
    ControlError::Unprocessable(error.to_string())
}

/// The job that runs a queued deployment.
fn run_job(request: &DeployRequest) -> Job {
    Job::new(
        JobKind::RunDeployment,
        request.id.as_str(),
        super::step::Step::WaitTurn.as_str(),
        "{}".into(),
    )
}

impl ControlPlane {
    pub(crate) fn deploy_engine(&self, database: &Database) -> ControlResult<DeployEngine> {
        let endpoint = self.endpoint_of(database)?;
        DeployEngine::new(&endpoint.admin_url).map_err(|e| ControlError::Unavailable(e.to_string()))
    }

    /// Runs the checks now (the head may have changed since the last ones).
    async fn recheck(
        &self,
        database: &Database,
        request: &DeployRequest,
    ) -> ControlResult<CheckResult> {
        let base = self.store.branch_by_id(&request.into_branch_id).await?;
        let head = self.store.branch_by_id(&request.branch_id).await?;
        let (Some(base), Some(head)) = (base, head) else {
            return Err(refused("the branches of this deploy request are gone"));
        };
        if base.deleted_at.is_some()
            || head.deleted_at.is_some()
            || head.state != BranchState::Ready
        {
            return Err(refused("the branches of this deploy request are gone"));
        }
        let engine = self.deploy_engine(database)?;
        self.on_cluster("check the deploy request", async {
            let result = run_checks(
                &engine,
                self.store.as_ref(),
                (database, &base, &head),
                request,
                CheckedBy::Deploy,
            )
            .await;
            let _ = engine.disconnect().await;
            result
        })
        .await
    }

    /// `queue_deploy_request` (`deploy`).
    pub async fn queue_deploy_request(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
        instant_ddl: bool,
    ) -> ControlResult<DeployRequestDetails> {
        let (organization, database, request) = self
            .authorize_deploy_request(
                caller,
                organization,
                database,
                number,
                &operations::QUEUE_DEPLOY_REQUEST,
            )
            .await?;
        if request.state == DeployRequestState::Closed {
            return Err(refused("the deploy request is closed"));
        }
        let redeployable = matches!(
            request.deployment.state,
            DeploymentState::Pending
                | DeploymentState::Ready
                | DeploymentState::NoChanges
                | DeploymentState::Error
                | DeploymentState::Cancelled
                | DeploymentState::CompleteCancel
        );
        if !redeployable {
            return Err(refused(format!(
                "the deployment is {}: it cannot be deployed now",
                request.deployment.state
            )));
        }
        // A run taken out of the queue (cancel, head change) stops at its next step; two
        // runs of one deployment must never overlap.
        if self
            .store
            .has_job(JobKind::RunDeployment, request.id.as_str())
            .await?
        {
            return Err(ControlError::Conflict(
                "the previous run of this deployment is still stopping; try again in a moment"
                    .into(),
            ));
        }
        let check = self.recheck(&database, &request).await?;
        if check.head_changed(&request.deployment) {
            // The head changed: approvals given for the old changes no longer stand.
            self.store.dismiss_approvals(&request.id).await?;
        }
        if database.settings.require_approval_for_deploy
            && !self.store.has_standing_approval(&request.id).await?
        {
            return Err(refused(
                "this database requires an approving review before deploying",
            ));
        }
        let user = caller.user_id().clone();
        let request = self
            .change_deploy_request(request, |request| {
                steps::record_check(&mut request.deployment, &check, true);
                let deployment = &mut request.deployment;
                if check.outcome != CheckOutcome::Deployable {
                    // Saved below through the error: keep the recomputed state visible.
                    return Ok(Vec::new());
                }
                if instant_ddl && !deployment.instant_ddl_eligible {
                    return Err(ControlError::invalid(
                        "instant_ddl",
                        "not every change of this deploy request can run instantly",
                    ));
                }
                deployment.apply(DeploymentEvent::Queue).map_err(refused)?;
                let now = Timestamp::now();
                deployment.queued_at = Some(now);
                deployment.submitted_at = None;
                deployment.started_at = None;
                deployment.ready_to_cutover_at = None;
                deployment.cutover_at = None;
                deployment.finished_at = None;
                deployment.force_cutover_requested_at = None;
                deployment.revert = None;
                deployment.error_acknowledged = false;
                deployment.actor = Some(user.clone());
                deployment.instant_ddl = instant_ddl;
                deployment.set_operations_state(DeployOperationState::Queued);
                Ok(vec![run_job(request)])
            })
            .await?;
        if request.deployment.state != DeploymentState::Queued {
            return Err(refused(format!(
                "the deploy request is not deployable ({}): {}",
                request.deployment.state,
                request
                    .deployment
                    .deploy_check_errors
                    .as_deref()
                    .unwrap_or("no changes")
            )));
        }
        self.deploy_request_details(organization, database, request)
            .await
    }

    /// One user transition of a deployment, checked by the state machine.
    async fn transition(
        &self,
        caller: &Caller,
        path: (&str, &str, u64),
        operation: &OperationAccess,
        action: DeployAction,
    ) -> ControlResult<DeployRequestDetails> {
        let (organization, database, request) = self
            .authorize_deploy_request(caller, path.0, path.1, path.2, operation)
            .await?;
        let user = caller.user_id().clone();
        let request = self
            .change_deploy_request(request, |request| {
                let now = Timestamp::now();
                let deployment = &mut request.deployment;
                match action {
                    DeployAction::Cancel => {
                        if deployment.instant_ddl && deployment.state != DeploymentState::Queued {
                            return Err(refused("an instant deployment cannot be cancelled once it started"));
                        }
                        deployment.apply(DeploymentEvent::Cancel).map_err(refused)?;
                        deployment.cancelled_actor = Some(user.clone());
                        if deployment.state == DeploymentState::Cancelled {
                            deployment.set_operations_state(DeployOperationState::Cancelled);
                        }
                    }
                    DeployAction::ApplyGated => {
                        if deployment.state != DeploymentState::PendingCutover {
                            return Err(refused("only a deployment in pending_cutover can be applied"));
                        }
                        deployment.apply(DeploymentEvent::Cutover).map_err(refused)?;
                        deployment.cutover_actor = Some(user.clone());
                    }
                    DeployAction::ForceCutover => {
                        if deployment.state != DeploymentState::InProgressCutover {
                            return Err(refused(
                                "only a deployment in in_progress_cutover can be forced",
                            ));
                        }
                        deployment.force_cutover_requested_at = Some(now);
                        deployment.updated_at = now;
                    }
                    DeployAction::Revert => {
                        if deployment.instant_ddl {
                            return Err(refused("an instant deployment cannot be reverted"));
                        }
                        let open = deployment
                            .revert
                            .as_ref()
                            .is_some_and(|r| r.waiting_period_end_at > now);
                        if deployment.state != DeploymentState::CompletePendingRevert || !open {
                            return Err(refused("the revert window of this deployment is not open"));
                        }
                        deployment.apply(DeploymentEvent::Revert).map_err(refused)?;
                        if let Some(revert) = &mut deployment.revert {
                            revert.actor = Some(user.clone());
                        }
                    }
                    DeployAction::SkipRevert => {
                        if deployment.state != DeploymentState::CompletePendingRevert {
                            return Err(refused("the deployment is not in its revert window"));
                        }
                        steps::close_revert_window(request).map_err(refused)?;
                    }
                    DeployAction::CompleteErrored => {
                        if !matches!(
                            deployment.state,
                            DeploymentState::CompleteError | DeploymentState::CompleteRevertError
                        ) {
                            return Err(refused(
                                "only a failed deployment (complete_error, complete_revert_error) can be completed",
                            ));
                        }
                        deployment.error_acknowledged = true;
                        deployment.updated_at = now;
                    }
                }
                Ok(Vec::new())
            })
            .await?;
        self.jobs.notify();
        self.deploy_request_details(organization, database, request)
            .await
    }

    pub async fn deploy_request_action(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
        action: DeployAction,
    ) -> ControlResult<DeployRequestDetails> {
        let operation = match action {
            DeployAction::Cancel => &operations::CANCEL_DEPLOY_REQUEST,
            DeployAction::ApplyGated => &operations::COMPLETE_GATED_DEPLOY_REQUEST,
            DeployAction::ForceCutover => &operations::FORCE_CUTOVER_DEPLOY_REQUEST,
            DeployAction::Revert => &operations::COMPLETE_REVERT,
            DeployAction::SkipRevert => &operations::SKIP_REVERT_PERIOD,
            DeployAction::CompleteErrored => &operations::COMPLETE_ERRORED_DEPLOY,
        };
        self.transition(caller, (organization, database, number), operation, action)
            .await
    }

    /// `list_deploy_request_reviews`.
    pub async fn list_deploy_request_reviews(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
        page: PageRequest,
    ) -> ControlResult<Paged<(DeployReview, Option<User>)>> {
        let (_, _, request) = self
            .authorize_deploy_request(
                caller,
                organization,
                database,
                number,
                &operations::LIST_DEPLOY_REQUEST_REVIEWS,
            )
            .await?;
        let found = self.store.list_reviews(&request.id, page.window()).await?;
        let mut items = Vec::with_capacity(found.items.len());
        for review in found.items {
            let user = match &review.actor {
                Some(id) => self.store.user_by_id(id).await?,
                None => None,
            };
            items.push((review, user));
        }
        Ok(Paged {
            items,
            total: found.total,
            request: page,
        })
    }

    /// `review_deploy_request`: approving needs `approve_deploy_request`, commenting
    /// `review_deploy_request`; a token cannot approve what it created when approval is
    /// required (semantics.md §8.2).
    pub async fn review_deploy_request(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
        state: Option<&str>,
        body: Option<String>,
    ) -> ControlResult<(DeployReview, Option<User>)> {
        let (organization, database, request) = self
            .authorize_deploy_request(
                caller,
                organization,
                database,
                number,
                &operations::REVIEW_DEPLOY_REQUEST,
            )
            .await?;
        let state = match state {
            None => ReviewState::Commented,
            Some(text) => ReviewState::parse(text)
                .ok_or_else(|| ControlError::invalid("state", "must be commented or approved"))?,
        };
        // Approving needs `approve_deploy_request`; commenting either access.
        let needed: &[Access] = match state {
            ReviewState::Approved => &[Access::ApproveDeployRequest],
            ReviewState::Commented => &[Access::ReviewDeployRequest, Access::ApproveDeployRequest],
        };
        let resource = Resource::Database {
            organization: &organization.id,
            database: &database.id,
        };
        if !caller.grants().holds_any(needed, resource) {
            return Err(ControlError::Forbidden(format!(
                "this token lacks the {} access",
                needed[0].name()
            )));
        }
        if state == ReviewState::Approved
            && database.settings.require_approval_for_deploy
            && request.created_by_token.as_ref() == Some(caller.token_id())
        {
            return Err(ControlError::Forbidden(
                "a deploy request cannot be approved by the token that created it".into(),
            ));
        }
        let review = DeployReview {
            id: DeployReviewId::generate(),
            deploy_request_id: request.id.clone(),
            actor: Some(caller.user_id().clone()),
            token: Some(caller.token_id().clone()),
            state,
            body: body.unwrap_or_default(),
            dismissed_at: None,
            created_at: Timestamp::now(),
        };
        self.store.insert_review(&review).await?;
        let user = self.store.user_by_id(caller.user_id()).await?;
        Ok((review, user))
    }

    /// `get_deploy_request_throttler` / `update_deploy_request_throttler`.
    pub async fn deploy_request_throttler(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
        new_ratio: Option<i64>,
    ) -> ControlResult<Throttler> {
        let operation = match new_ratio {
            Some(_) => &operations::UPDATE_DEPLOY_REQUEST_THROTTLER,
            None => &operations::GET_DEPLOY_REQUEST_THROTTLER,
        };
        let (_, database, mut request) = self
            .authorize_deploy_request(caller, organization, database, number, operation)
            .await?;
        if let Some(ratio) = new_ratio {
            let ratio = valid_ratio(ratio)?;
            request = self
                .change_deploy_request(request, |request| {
                    request.deployment.throttle_ratio = ratio;
                    Ok(Vec::new())
                })
                .await?;
        }
        Ok(Throttler {
            keyspace: database.name.clone(),
            configurable_id: request.id.to_string(),
            configurable_name: format!("#{}", request.number),
            created_at: request.created_at,
            updated_at: request.updated_at,
            ratio: request.deployment.throttle_ratio,
        })
    }

    /// `get_database_throttler` / `update_database_throttler`: the ratio future deploy
    /// requests start with.
    pub async fn database_throttler(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        new_ratio: Option<i64>,
    ) -> ControlResult<Throttler> {
        let operation = match new_ratio {
            Some(_) => &operations::UPDATE_DATABASE_THROTTLER,
            None => &operations::GET_DATABASE_THROTTLER,
        };
        let (_, database) = self
            .authorize_deploys(caller, organization, database, operation)
            .await?;
        if let Some(ratio) = new_ratio {
            let ratio = valid_ratio(ratio)?;
            self.store
                .set_database_throttle_ratio(&database.id, ratio)
                .await?;
        }
        let ratio = self
            .store
            .database_throttle_ratio(&database.id)
            .await?
            .unwrap_or(0);
        Ok(Throttler {
            keyspace: database.name.clone(),
            configurable_id: database.id.to_string(),
            configurable_name: database.name.clone(),
            created_at: database.created_at,
            updated_at: database.updated_at,
            ratio,
        })
    }

    /// `check_deploy_request_storage`: the tables an online change copies need about
    /// their size again in free disk.
    pub async fn check_deploy_request_storage(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
    ) -> ControlResult<StorageCheck> {
        let (_, database, request) = self
            .authorize_deploy_request(
                caller,
                organization,
                database,
                number,
                &operations::CHECK_DEPLOY_REQUEST_STORAGE,
            )
            .await?;
        let base = self
            .store
            .branch_by_id(&request.into_branch_id)
            .await?
            .ok_or(ControlError::NotFound { resource: "branch" })?;
        let copied: Vec<String> = request
            .deployment
            .operations
            .iter()
            .filter(|o| o.kind == DeployOperationKind::Alter && !o.is_view)
            .map(|o| o.table_name.clone())
            .collect();
        let engine = self.deploy_engine(&database)?;
        let name = PhysicalName::new(base.physical_name())
            .map_err(|e| ControlError::Unavailable(e.to_string()))?;
        let tables = self
            .on_cluster("read the table sizes", async {
                let sizes = engine.table_sizes(&name, &copied).await;
                let _ = engine.disconnect().await;
                sizes
            })
            .await?;
        let needed: u64 = tables.iter().map(|(_, bytes)| bytes).sum();
        let disk = crate::deploys::steps::disk_space(&self.config().data_dir);
        Ok(StorageCheck {
            keyspace: database.name.clone(),
            enough_storage: disk.is_none_or(|(free, _)| free >= needed),
            storage_bytes_needed: needed,
            disk,
            tables,
        })
    }

    /// `get_deploy_queue`: every queued or running deployment, in execution order.
    pub async fn deploy_queue(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        page: PageRequest,
    ) -> ControlResult<Paged<QueueEntry>> {
        let (organization, database) = self
            .authorize_deploys(
                caller,
                organization,
                database,
                &operations::GET_DEPLOY_QUEUE,
            )
            .await?;
        let queue: Vec<DeployRequest> = self
            .store
            .deploy_queue(&database.id)
            .await?
            .into_iter()
            .filter(|r| r.deployment.state.in_queue(r.deployment.error_acknowledged))
            .collect();
        let total = queue.len() as u64;
        let items = self
            .deploy_requests_details(&organization, &database, page.slice(&queue))
            .await?;
        Ok(Paged {
            items,
            total,
            request: page,
        })
    }
}

fn valid_ratio(ratio: i64) -> ControlResult<u8> {
    if !(0..=MAX_THROTTLE_RATIO as i64).contains(&ratio) {
        return Err(ControlError::invalid("ratio", "must be between 0 and 95"));
    }
    Ok(ratio as u8)
}

/// A user action on a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployAction {
    Cancel,
    ApplyGated,
    ForceCutover,
    Revert,
    SkipRevert,
    CompleteErrored,
}
