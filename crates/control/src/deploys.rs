//! Deploy requests (semantics.md §8–§9): create, read, list, close, settings. The
//! actions on a deployment are in [`actions`], the checks in [`check`], and the durable
//! job that runs a deployment in [`job`]. MariaDB only: PostgreSQL databases answer 422,
//! as PlanetScale does for Postgres.

mod actions;
pub mod check;
mod details;
mod failure;
mod head_change;
pub mod job;
mod online;
pub mod recheck;
mod revert;
mod step;
mod steps;
mod submit;

use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::paging::{PageRequest, Paged};
use crate::{Caller, ControlPlane};
use dbplane_domain::data_plane::{Branch, BranchState, Database, DatabaseKind};
use dbplane_domain::deploys::{
    DeployRequest, DeployRequestId, DeployRequestState, Deployment, DeploymentState,
};
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_domain::{Organization, Timestamp, User, UserId};
use dbplane_store::DeployRequestFilter;
use std::collections::BTreeMap;

pub use actions::{DeployAction, QueueEntry, StorageCheck, Throttler};

/// A deploy request with what its API object shows.
#[derive(Clone, Debug)]
pub struct DeployRequestDetails {
    pub request: DeployRequest,
    pub organization: Organization,
    pub database: Database,
    /// The head branch's current name (it may have been renamed).
    pub branch_name: String,
    pub into_branch_name: String,
    pub approved: bool,
    /// Deployments ahead of this one in its lane.
    pub preceding: Vec<DeployRequest>,
    pub queue_paused: bool,
    pub queue_pause_reason: Option<String>,
    /// Every user the object names, by id.
    pub users: BTreeMap<UserId, User>,
    /// Tables of the base branch that statements named through the edge recently, and
    /// when last (`table_recently_used`).
    pub tables_recently_used: std::collections::HashMap<String, dbplane_domain::Timestamp>,
}

impl DeployRequestDetails {
    pub fn user(&self, id: &Option<UserId>) -> Option<&User> {
        id.as_ref().and_then(|id| self.users.get(id))
    }
}

/// `create_deploy_request` input.
#[derive(Clone, Debug, Default)]
pub struct CreateDeployRequest {
    pub branch: String,
    pub into_branch: String,
    pub notes: Option<String>,
    pub auto_cutover: Option<bool>,
    pub auto_delete_branch: Option<bool>,
}

/// `list_deploy_requests` filters.
#[derive(Clone, Debug, Default)]
pub struct ListDeployRequests {
    /// `open`, `closed` or `deployed`.
    pub state: Option<String>,
    pub branch: Option<String>,
    pub into_branch: Option<String>,
}

/// The job that computes a deploy request's checks.
pub(crate) fn check_job(request: &DeployRequestId) -> Job {
    Job::new(
        JobKind::CheckDeployRequest,
        request.as_str(),
        "check",
        "{}".into(),
    )
}

impl ControlPlane {
    /// Resolves a database for a deploy request operation; PostgreSQL has none.
    pub(crate) async fn authorize_deploys(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        operation: &OperationAccess,
    ) -> ControlResult<(Organization, Database)> {
        let (organization, database) = self
            .authorize_database(caller, organization, database, operation)
            .await?;
        if database.kind != DatabaseKind::Mysql {
            return Err(ControlError::Unprocessable(
                "deploy requests are not available for PostgreSQL databases: change the schema \
                 directly on each branch"
                    .into(),
            ));
        }
        Ok((organization, database))
    }

    /// Resolves `database/deploy-requests/{number}` under `operation`.
    pub(crate) async fn authorize_deploy_request(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
        operation: &OperationAccess,
    ) -> ControlResult<(Organization, Database, DeployRequest)> {
        let (organization, database) = self
            .authorize_deploys(caller, organization, database, operation)
            .await?;
        let request = self
            .store
            .deploy_request(&database.id, number)
            .await?
            .ok_or(ControlError::NotFound {
                resource: "deploy request",
            })?;
        Ok((organization, database, request))
    }

    /// Saves a change made by `change` to the latest version of the deploy request,
    /// reloading and re-applying it when someone else saved in between.
    pub(crate) async fn change_deploy_request<F>(
        &self,
        mut request: DeployRequest,
        mut change: F,
    ) -> ControlResult<DeployRequest>
    where
        F: FnMut(&mut DeployRequest) -> ControlResult<Vec<Job>>,
    {
        for _ in 0..10 {
            let before = request.deployment.state;
            let jobs = change(&mut request)?;
            if self
                .store
                .save_deploy_request(&mut request, &jobs, None)
                .await?
            {
                crate::metrics::deployment_changed(before, request.deployment.state);
                if !jobs.is_empty() {
                    self.jobs.notify();
                }
                return Ok(request);
            }
            request = self.store.deploy_request_by_id(&request.id).await?.ok_or(
                ControlError::NotFound {
                    resource: "deploy request",
                },
            )?;
        }
        Err(ControlError::Conflict(
            "the deploy request is changing; try again".into(),
        ))
    }

    async fn ready_branch(
        &self,
        database: &Database,
        name: &str,
        field: &str,
    ) -> ControlResult<Branch> {
        if name.is_empty() {
            return Err(ControlError::invalid(field, "is required"));
        }
        let branch = self
            .store
            .branch(&database.id, name)
            .await?
            .ok_or(ControlError::NotFound { resource: "branch" })?;
        if branch.state != BranchState::Ready {
            return Err(ControlError::Unprocessable(format!(
                "branch {name} is not ready yet"
            )));
        }
        Ok(branch)
    }

    /// `create_deploy_request`: 201 with `deployment_state: pending`; a job computes the
    /// checks.
    pub async fn create_deploy_request(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        input: CreateDeployRequest,
    ) -> ControlResult<DeployRequestDetails> {
        let (organization, database) = self
            .authorize_deploys(
                caller,
                organization,
                database,
                &operations::CREATE_DEPLOY_REQUEST,
            )
            .await?;
        let head = self
            .ready_branch(&database, &input.branch, "branch")
            .await?;
        let base = self
            .ready_branch(&database, &input.into_branch, "into_branch")
            .await?;
        if head.id == base.id {
            return Err(ControlError::invalid(
                "into_branch",
                "must differ from branch",
            ));
        }
        if !base.safe_migrations {
            return Err(ControlError::Unprocessable(format!(
                "branch {} must have safe migrations enabled to receive deploy requests",
                base.name
            )));
        }
        let open = self
            .store
            .list_deploy_requests(
                &database.id,
                &DeployRequestFilter {
                    state: Some(DeployRequestState::Open),
                    branch: Some(head.id.clone()),
                    into_branch: Some(base.id.clone()),
                    ..Default::default()
                },
                dbplane_store::Window {
                    offset: 0,
                    limit: 1,
                },
            )
            .await?;
        if let Some(existing) = open.items.first() {
            return Err(ControlError::Unprocessable(format!(
                "deploy request #{} from {} into {} is already open",
                existing.number, head.name, base.name
            )));
        }
        // An omitted auto_cutover inherits the previous deploy request's setting.
        let auto_cutover = match input.auto_cutover {
            Some(value) => value,
            None => self
                .store
                .latest_deploy_request(&database.id)
                .await?
                .map(|r| r.deployment.auto_cutover)
                .unwrap_or(true),
        };
        let ratio = self
            .store
            .database_throttle_ratio(&database.id)
            .await?
            .unwrap_or(0);
        let now = Timestamp::now();
        let mut request = DeployRequest {
            id: DeployRequestId::generate(),
            database_id: database.id.clone(),
            number: 0,
            branch_id: head.id.clone(),
            into_branch_id: base.id.clone(),
            branch_name: head.name.clone(),
            into_branch_name: base.name.clone(),
            notes: input.notes.unwrap_or_default(),
            actor: Some(caller.user_id().clone()),
            created_by_token: Some(caller.token_id().clone()),
            state: DeployRequestState::Open,
            closed_by: None,
            closed_at: None,
            deployed_at: None,
            branch_deleted_by: None,
            branch_deleted_at: None,
            deployment: Deployment::new(
                auto_cutover,
                input.auto_delete_branch.unwrap_or(false),
                ratio,
            ),
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let check = check_job(&request.id);
        self.store
            .create_deploy_request(&mut request, &[check])
            .await?;
        self.jobs.notify();
        self.deploy_request_details(organization, database, request)
            .await
    }

    pub async fn get_deploy_request(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
        operation: &OperationAccess,
    ) -> ControlResult<DeployRequestDetails> {
        let (organization, database, request) = self
            .authorize_deploy_request(caller, organization, database, number, operation)
            .await?;
        self.deploy_request_details(organization, database, request)
            .await
    }

    pub async fn list_deploy_requests(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        filters: ListDeployRequests,
        page: PageRequest,
    ) -> ControlResult<Paged<DeployRequestDetails>> {
        let (organization, database) = self
            .authorize_deploys(
                caller,
                organization,
                database,
                &operations::LIST_DEPLOY_REQUESTS,
            )
            .await?;
        let mut filter = DeployRequestFilter::default();
        match filters.state.as_deref() {
            None => {}
            Some("deployed") => filter.deployed = true,
            Some(text) => {
                filter.state = Some(DeployRequestState::parse(text).ok_or_else(|| {
                    ControlError::invalid("state", "must be open, closed or deployed")
                })?)
            }
        }
        for (name, slot, field) in [
            (&filters.branch, &mut filter.branch, "branch"),
            (&filters.into_branch, &mut filter.into_branch, "into_branch"),
        ] {
            if let Some(name) = name {
                match self.store.branch(&database.id, name).await? {
                    Some(branch) => *slot = Some(branch.id),
                    None => {
                        // No such branch: nothing matches.
                        let _ = field;
                        return Ok(Paged {
                            items: Vec::new(),
                            total: 0,
                            request: page,
                        });
                    }
                }
            }
        }
        let found = self
            .store
            .list_deploy_requests(&database.id, &filter, page.window())
            .await?;
        let items = self
            .deploy_requests_details(&organization, &database, found.items)
            .await?;
        Ok(Paged {
            items,
            total: found.total,
            request: page,
        })
    }

    /// `close_deploy_request`: only `closed` may be set; not while a deployment runs.
    pub async fn close_deploy_request(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
        state: Option<&str>,
    ) -> ControlResult<DeployRequestDetails> {
        let (organization, database, request) = self
            .authorize_deploy_request(
                caller,
                organization,
                database,
                number,
                &operations::CLOSE_DEPLOY_REQUEST,
            )
            .await?;
        match state {
            Some("closed") => {}
            Some(_) => return Err(ControlError::invalid("state", "only closed may be set")),
            None => return Err(ControlError::invalid("state", "is required")),
        }
        let user = caller.user_id().clone();
        let request = self
            .change_deploy_request(request, |request| {
                if request.state == DeployRequestState::Closed {
                    return Ok(Vec::new());
                }
                let deployment = &mut request.deployment;
                if deployment.state.holds_lane(deployment.error_acknowledged) {
                    return Err(ControlError::Unprocessable(format!(
                        "the deployment is {}: cancel or finish it first",
                        deployment.state
                    )));
                }
                if deployment.state == DeploymentState::Queued {
                    deployment
                        .apply(dbplane_domain::deploys::DeploymentEvent::Cancel)
                        .map_err(|e| ControlError::Unprocessable(e.to_string()))?;
                }
                request.state = DeployRequestState::Closed;
                request.closed_at = Some(Timestamp::now());
                request.closed_by = Some(user.clone());
                Ok(Vec::new())
            })
            .await?;
        self.deploy_request_details(organization, database, request)
            .await
    }

    /// `update_auto_apply` / `update_auto_delete_branch`.
    pub async fn update_deploy_request_flag(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        number: u64,
        flag: DeployFlag,
        enable: bool,
    ) -> ControlResult<DeployRequestDetails> {
        let operation = match flag {
            DeployFlag::AutoCutover => &operations::UPDATE_AUTO_APPLY,
            DeployFlag::AutoDeleteBranch => &operations::UPDATE_AUTO_DELETE_BRANCH,
        };
        let (organization, database, request) = self
            .authorize_deploy_request(caller, organization, database, number, operation)
            .await?;
        let request = self
            .change_deploy_request(request, |request| {
                if request.state == DeployRequestState::Closed {
                    return Err(ControlError::Unprocessable(
                        "the deploy request is closed".into(),
                    ));
                }
                match flag {
                    DeployFlag::AutoCutover => request.deployment.auto_cutover = enable,
                    DeployFlag::AutoDeleteBranch => request.deployment.auto_delete_branch = enable,
                }
                request.deployment.updated_at = Timestamp::now();
                Ok(Vec::new())
            })
            .await?;
        self.deploy_request_details(organization, database, request)
            .await
    }
}

/// A deploy request toggle.
#[derive(Clone, Copy, Debug)]
pub enum DeployFlag {
    AutoCutover,
    AutoDeleteBranch,
}
