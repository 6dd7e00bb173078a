//! The deploy jobs. `check_deploy_request` computes a deploy request's checks;
//! `run_deployment` carries a queued deployment to its end in steps:
//!
//! `wait_turn` (head of its lane) → `submit` (re-check against the current base, plan)
//! → `create` (new tables) → `instant` | `prepare` → `copy` (chunks + change replay,
//! checkpointed) → `ready` → [`gated`] → `cutover` (all tables, then lazy drops and views)
//! → `revert_window` → `cleanup` | `revert` (→ `revert_cleanup`); `cancel` from any step
//! before the cutover. Every step re-reads the deploy request (a user may have cancelled,
//! applied, reverted) and is idempotent against the real server; the job's data holds the
//! plan and the online schema change states, saved after every step. `wait_turn` and
//! `submit` are in `submit.rs`, the online steps in `online.rs`, the revert in `revert.rs`.

use super::check::{CheckedBy, canonical_schema, run_checks};
pub(super) use super::failure::Failure;
use super::step::Step;
use super::steps::{finish_successfully, record_check};
use crate::clusters::ClusterRegistry;
use crate::config::DeploysConfig;
use async_trait::async_trait;
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::{Branch, Database};
use dbplane_domain::deploys::{
    DeployRequest, DeployRequestId, DeployRequestState, DeploymentEvent, DeploymentState,
};
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_engine::deploy::DeployEngine;
use dbplane_engine::online_ddl::{ColumnRename, OnlineDdlState};
use dbplane_engine::physical::PhysicalName;
pub(super) use dbplane_jobs::retry;
use dbplane_jobs::{GivenUp, JobError, JobExecutor, StepOutcome};
use dbplane_store::MetadataStore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the deployment does to one table or view, decided at `submit`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) enum Action {
    CreateTable {
        statement: String,
    },
    CreateView {
        statement: String,
    },
    DropTable,
    DropView,
    AlterInstant {
        statements: Vec<String>,
    },
    AlterOnline {
        clauses: String,
        /// Columns the change renames (their values follow them).
        #[serde(default)]
        renamed_columns: Vec<ColumnRename>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Planned {
    pub operation_id: String,
    pub name: String,
    pub action: Action,
    /// The table's canonical definition once deployed (instant steps compare to it).
    pub target: Option<String>,
    /// A view's definition on the base before the deploy (none for a new view): a revert
    /// creates it again. Recorded with the plan, before anything runs.
    #[serde(default)]
    pub previous_view: Option<String>,
}

/// The job's own data.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct RunData {
    pub plan: Vec<Planned>,
    pub online: Vec<OnlineDdlState>,
    pub copy_started_at: Option<Timestamp>,
    pub cutover_started_at: Option<Timestamp>,
}

/// Whether the checks may (re)compute a deployment: pending (just opened), not deployed
/// yet, or waiting in the queue (a head change takes it out, semantics.md §8.1).
pub(crate) fn checkable(state: DeploymentState) -> bool {
    matches!(
        state,
        DeploymentState::Pending
            | DeploymentState::Ready
            | DeploymentState::NoChanges
            | DeploymentState::Error
            | DeploymentState::Queued
    )
}

/// Runs the deploy job kinds.
pub struct DeployJobs {
    pub(super) store: Arc<dyn MetadataStore>,
    clusters: Arc<ClusterRegistry>,
    pub(super) config: DeploysConfig,
    engines: Mutex<HashMap<String, Arc<DeployEngine>>>,
    /// The connection edge holds statements while their tables swap.
    pub(crate) edge: Option<crate::edge::EdgeLink>,
}

pub(super) type StepResult = Result<StepOutcome, JobError>;

pub(super) fn next(step: Step, data: &RunData) -> StepResult {
    Ok(StepOutcome::Next {
        step: step.as_str().to_string(),
        data: serde_json::to_string(data).map_err(retry)?,
    })
}

/// Commits `step` with `data` (a checkpoint), then runs it again at `at`; a wait, not a
/// failed attempt.
pub(super) fn save_and_wait(step: Step, data: &RunData, at: Timestamp) -> StepResult {
    Ok(StepOutcome::SaveAndWaitUntil {
        step: step.as_str().to_string(),
        data: serde_json::to_string(data).map_err(retry)?,
        at,
    })
}

pub(super) fn physical(name: String) -> Result<PhysicalName, JobError> {
    PhysicalName::new(name).map_err(retry)
}

/// What a step works with.
pub(super) struct Context {
    pub request: DeployRequest,
    pub database: Database,
    pub base: Branch,
    pub db: PhysicalName,
    pub engine: Arc<DeployEngine>,
}

impl DeployJobs {
    pub fn new(
        store: Arc<dyn MetadataStore>,
        clusters: Arc<ClusterRegistry>,
        config: DeploysConfig,
    ) -> Self {
        Self {
            store,
            clusters,
            config,
            engines: Mutex::new(HashMap::new()),
            edge: None,
        }
    }

    /// How a cutover (or revert) of `base`'s tables swaps: with the edge holding their
    /// statements during each attempt when it runs.
    pub(super) fn cutover_options(
        &self,
        base: &Branch,
    ) -> dbplane_engine::online_ddl::CutoverOptions {
        dbplane_engine::online_ddl::CutoverOptions {
            traffic: self
                .edge
                .as_ref()
                .map(|edge| edge.traffic(base.id.as_str())),
            ..Default::default()
        }
    }

    fn engine(&self, database: &Database) -> Result<Arc<DeployEngine>, JobError> {
        let endpoint = self.clusters.for_database(database).map_err(retry)?;
        let mut engines = self
            .engines
            .lock()
            .map_err(|_| retry("engine cache poisoned"))?;
        if let Some(engine) = engines.get(&endpoint.admin_url) {
            return Ok(engine.clone());
        }
        let engine = Arc::new(DeployEngine::new(&endpoint.admin_url).map_err(retry)?);
        engines.insert(endpoint.admin_url.clone(), engine.clone());
        Ok(engine)
    }

    /// Records a development branch's schema right after it was copied from its parent:
    /// the parent's schema at the branch point, the merge base of the branch's deploy
    /// requests (semantics.md §8.1 item 2). Idempotent.
    pub(crate) async fn record_branch_point(
        &self,
        database: &Database,
        branch: &Branch,
    ) -> Result<(), JobError> {
        let engine = self.engine(database)?;
        let statements = canonical_schema(&engine, branch).await.map_err(retry)?;
        self.store
            .set_branch_fork_schema(&branch.id, &statements)
            .await
            .map_err(retry)
    }

    pub(super) async fn finish(&self, job: &Job) -> StepResult {
        dbplane_jobs::complete(self.store.as_ref(), job).await
    }

    pub(super) async fn reload(&self, id: &DeployRequestId) -> Result<DeployRequest, JobError> {
        self.store
            .deploy_request_by_id(id)
            .await
            .map_err(retry)?
            .ok_or_else(|| retry("the deploy request is gone"))
    }

    /// The deploy request, its database and base branch; `None` when any is gone.
    pub(super) async fn context(&self, job: &Job) -> Result<Option<Context>, JobError> {
        let id = DeployRequestId::from_string(job.subject_id.clone());
        let Some(request) = self.store.deploy_request_by_id(&id).await.map_err(retry)? else {
            return Ok(None);
        };
        let Some(database) = self
            .store
            .database_by_id(&request.database_id)
            .await
            .map_err(retry)?
        else {
            return Ok(None);
        };
        let Some(base) = self
            .store
            .branch_by_id(&request.into_branch_id)
            .await
            .map_err(retry)?
        else {
            return Ok(None);
        };
        let engine = self.engine(&database)?;
        let db = physical(base.physical_name())?;
        Ok(Some(Context {
            request,
            database,
            base,
            db,
            engine,
        }))
    }

    /// Applies `change` to the latest deploy request and saves it, completing the job in
    /// the same transaction when `finish`. `change` returns false when the deployment is
    /// no longer where the step expected (a user acted): nothing is saved then.
    pub(super) async fn update<F>(
        &self,
        job: &Job,
        mut request: DeployRequest,
        finish: bool,
        mut change: F,
    ) -> Result<Option<DeployRequest>, JobError>
    where
        F: FnMut(&mut DeployRequest) -> bool,
    {
        for _ in 0..10 {
            let before = request.deployment.state;
            if !change(&mut request) {
                return Ok(None);
            }
            let lease = finish.then_some((&job.id, job.lease_epoch));
            if self
                .store
                .save_deploy_request(&mut request, &[], lease)
                .await
                .map_err(retry)?
            {
                crate::metrics::deployment_changed(before, request.deployment.state);
                return Ok(Some(request));
            }
            request = self.reload(&request.id).await?;
        }
        Err(retry("the deploy request keeps changing"))
    }

    /// `check_deploy_request`: one step.
    async fn check(&self, job: &Job) -> StepResult {
        let Some(context) = self.context(job).await? else {
            return self.finish(job).await;
        };
        let request = context.request;
        if request.state == DeployRequestState::Closed || !checkable(request.deployment.state) {
            return self.finish(job).await;
        }
        let Some(head) = self
            .store
            .branch_by_id(&request.branch_id)
            .await
            .map_err(retry)?
        else {
            return self.finish(job).await;
        };
        let check = run_checks(
            &context.engine,
            self.store.as_ref(),
            (&context.database, &context.base, &head),
            &request,
            CheckedBy::Job,
        )
        .await
        .map_err(retry)?;
        if check.head_changed(&request.deployment) {
            // The head changed: approvals of the old changes no longer stand.
            self.store
                .dismiss_approvals(&request.id)
                .await
                .map_err(retry)?;
        }
        let saved = self
            .update(job, request, true, |request| {
                // The lane may have picked it up meanwhile: a running deployment keeps
                // what it started with.
                if request.state == DeployRequestState::Closed
                    || !checkable(request.deployment.state)
                {
                    return false;
                }
                record_check(&mut request.deployment, &check, true);
                true
            })
            .await?;
        match saved {
            Some(_) => Ok(StepOutcome::Finished),
            None => self.finish(job).await,
        }
    }

    /// `run_deployment`: dispatches a step, turning permanent failures into
    /// `complete_error`.
    async fn run(&self, job: &Job) -> StepResult {
        let Some(context) = self.context(job).await? else {
            return self.finish(job).await;
        };
        let data: RunData = if job.data.trim() == "{}" {
            RunData::default()
        } else {
            serde_json::from_str(&job.data).map_err(retry)?
        };
        let Some(step) = Step::parse(&job.step) else {
            return Err(retry(format!("unknown deployment step {}", job.step)));
        };
        let outcome = match step {
            Step::WaitTurn => self.wait_turn(job, &context).await,
            Step::Submit => self.submit(job, &context).await,
            Step::Create => self.create(job, &context, data.clone()).await,
            Step::Instant => self.instant(job, &context, data.clone()).await,
            step => self.online_step(step, job, &context, data.clone()).await,
        };
        match outcome {
            Ok(outcome) => outcome,
            Err(Failure::Retry(error)) => Err(JobError::Retry(error)),
            Err(Failure::Permanent(error)) => self.fail(job, &context, &data, error).await,
        }
    }

    /// Creates the new tables (idempotent: an existing one is left alone).
    async fn create(
        &self,
        _job: &Job,
        context: &Context,
        data: RunData,
    ) -> Result<StepResult, Failure> {
        if context.request.deployment.state == DeploymentState::InProgressCancel {
            return Ok(next(Step::Cancel, &data));
        }
        for planned in &data.plan {
            if let Action::CreateTable { statement } = &planned.action {
                context
                    .engine
                    .create_table(&context.db, &planned.name, statement)
                    .await?;
            }
        }
        let step = if context.request.deployment.instant_ddl {
            Step::Instant
        } else {
            Step::Prepare
        };
        Ok(next(step, &data))
    }

    /// An instant deployment: every ALTER as `ALGORITHM=INSTANT`, drops, views; then
    /// `complete` (no revert window).
    async fn instant(
        &self,
        job: &Job,
        context: &Context,
        data: RunData,
    ) -> Result<StepResult, Failure> {
        let engine = &context.engine;
        let db = &context.db;
        for planned in &data.plan {
            if let Action::AlterInstant { statements } = &planned.action {
                let live = engine.introspect(db).await?;
                let current = dbplane_engine::deploy::table_definition(&live, &planned.name);
                if current.is_some() && current == planned.target {
                    continue;
                }
                for statement in statements {
                    if !engine.instant_alter(db, statement).await? {
                        return Err(Failure::Permanent(format!(
                            "MariaDB cannot run this change instantly: {statement}"
                        )));
                    }
                }
            }
        }
        self.drops_and_views(context, &data).await?;
        self.purge_lazy_drops(context, &data, |action| matches!(action, Action::DropTable))
            .await?;
        self.delete_head_branch_if_asked(&context.request)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        let deleted = context.request.deployment.auto_delete_branch;
        let saved = self
            .update(job, context.request.clone(), true, |request| {
                if deleted && request.branch_deleted_at.is_none() {
                    request.branch_deleted_at = Some(Timestamp::now());
                }
                if request
                    .deployment
                    .apply(DeploymentEvent::InstantDone)
                    .is_err()
                {
                    return false;
                }
                request.deployed_at = Some(Timestamp::now());
                request.deployment.cutover_at = request.deployed_at;
                finish_successfully(request);
                true
            })
            .await;
        Ok(match saved {
            Ok(Some(_)) => Ok(StepOutcome::Finished),
            Ok(None) => next(Step::Instant, &data),
            Err(error) => Err(error),
        })
    }
}

#[async_trait]
impl JobExecutor for DeployJobs {
    async fn run_step(&self, job: &Job) -> Result<StepOutcome, JobError> {
        match job.kind {
            JobKind::CheckDeployRequest => self.check(job).await,
            JobKind::RunDeployment => self.run(job).await,
            other => Err(retry(format!("not a deploy job: {}", other.as_str()))),
        }
    }

    async fn give_up(&self, job: &Job, message: &str) -> Result<GivenUp, JobError> {
        self.record_given_up(job, message).await
    }
}
