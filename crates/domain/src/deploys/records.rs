//! The records of a deploy request, its deployment, operations and reviews.

use super::state::{DeploymentEvent, DeploymentState, InvalidTransition};
use super::{DeployRequestId, DeployReviewId, DeploymentId};
use crate::data_plane::BranchId;
use crate::timestamp::Timestamp;
use crate::{DatabaseId, ServiceTokenId, UserId};
use serde::{Deserialize, Serialize};

/// `deploy_request.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployRequestState {
    Open,
    Closed,
}

impl DeployRequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployRequestState::Open => "open",
            DeployRequestState::Closed => "closed",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(DeployRequestState::Open),
            "closed" => Some(DeployRequestState::Closed),
            _ => None,
        }
    }
}

/// `deploy_operations[].state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployOperationState {
    Pending,
    Queued,
    InProgress,
    Complete,
    Cancelled,
    Error,
}

impl DeployOperationState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployOperationState::Pending => "pending",
            DeployOperationState::Queued => "queued",
            DeployOperationState::InProgress => "in_progress",
            DeployOperationState::Complete => "complete",
            DeployOperationState::Cancelled => "cancelled",
            DeployOperationState::Error => "error",
        }
    }
}

/// `operation_name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeployOperationKind {
    Create,
    Alter,
    Drop,
}

impl DeployOperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployOperationKind::Create => "CREATE",
            DeployOperationKind::Alter => "ALTER",
            DeployOperationKind::Drop => "DROP",
        }
    }
}

/// One DDL statement of a deployment: what changes, and how far it got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployOperation {
    pub id: String,
    pub table_name: String,
    pub kind: DeployOperationKind,
    pub ddl_statement: String,
    pub can_drop_data: bool,
    pub removed_foreign_key_names: Vec<String>,
    /// The server can run it as a metadata-only change.
    pub instant_eligible: bool,
    /// A view, not a table: created or dropped directly, never copied.
    pub is_view: bool,
    pub state: DeployOperationState,
    pub progress_percentage: Option<f64>,
    pub eta_seconds: Option<f64>,
    pub rows_copied: u64,
    pub rows_total: u64,
    pub deploy_errors: Option<String>,
    pub throttled_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl DeployOperation {
    /// A planned operation not started yet: nothing copied, no progress, no errors.
    pub fn pending(table_name: String, kind: DeployOperationKind, ddl_statement: String) -> Self {
        let now = Timestamp::now();
        Self {
            id: crate::ids::new_public_id(),
            table_name,
            kind,
            ddl_statement,
            can_drop_data: false,
            removed_foreign_key_names: Vec::new(),
            instant_eligible: false,
            is_view: false,
            state: DeployOperationState::Pending,
            progress_percentage: None,
            eta_seconds: None,
            rows_copied: 0,
            rows_total: 0,
            deploy_errors: None,
            throttled_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// One changed table or view of a deploy request: its `CREATE` statement as a unified
/// diff (lines prefixed `+`, `-` or a space).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDiff {
    pub name: String,
    pub raw: String,
}

/// The revert window of a deployment (`deployment_revert_request`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RevertRequest {
    pub id: String,
    pub waiting_period_end_at: Timestamp,
    pub actor: Option<UserId>,
    pub finished_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub revert_errors: Option<String>,
}

/// The deployment of a deploy request: its state and what the engine computed and did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: DeploymentId,
    pub state: DeploymentState,
    pub auto_cutover: bool,
    pub auto_delete_branch: bool,
    pub instant_ddl: bool,
    pub instant_ddl_eligible: bool,
    pub deployable: bool,
    pub deploy_check_errors: Option<String>,
    /// Lint errors as the API shows them.
    pub lint_errors: Vec<serde_json::Value>,
    pub operations: Vec<DeployOperation>,
    /// The base's canonical schema when the deploy request was checked first: the
    /// merge base of the three-way check when the head branch has no recorded branch
    /// point (branches created before dbplane recorded one, restored branches).
    pub base_schema_at_fork: Vec<String>,
    /// The head's canonical schema at the last check: another one later is a head change
    /// (semantics.md §8.1). Absent from deployments checked before it was recorded.
    #[serde(default)]
    pub head_schema: Vec<String>,
    /// The semantic diff of the last check, one entry per changed table or view
    /// (`GET .../diff`). Absent from deployments checked before it was recorded.
    #[serde(default)]
    pub schema_diff: Vec<SchemaDiff>,
    /// 0–95 (`throttler`).
    pub throttle_ratio: u8,
    pub table_locked: bool,
    pub locked_table_name: Option<String>,
    /// `complete-deploy` acknowledged a failure: the lane is free again.
    pub error_acknowledged: bool,
    pub revert: Option<RevertRequest>,
    pub actor: Option<UserId>,
    pub cutover_actor: Option<UserId>,
    pub cancelled_actor: Option<UserId>,
    pub queued_at: Option<Timestamp>,
    pub submitted_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub ready_to_cutover_at: Option<Timestamp>,
    pub cutover_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub force_cutover_requested_at: Option<Timestamp>,
    pub schema_last_updated_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Deployment {
    pub fn new(auto_cutover: bool, auto_delete_branch: bool, throttle_ratio: u8) -> Self {
        let now = Timestamp::now();
        Self {
            id: DeploymentId::generate(),
            state: DeploymentState::Pending,
            auto_cutover,
            auto_delete_branch,
            instant_ddl: false,
            instant_ddl_eligible: false,
            deployable: false,
            deploy_check_errors: None,
            lint_errors: Vec::new(),
            operations: Vec::new(),
            base_schema_at_fork: Vec::new(),
            head_schema: Vec::new(),
            schema_diff: Vec::new(),
            throttle_ratio,
            table_locked: false,
            locked_table_name: None,
            error_acknowledged: false,
            revert: None,
            actor: None,
            cutover_actor: None,
            cancelled_actor: None,
            queued_at: None,
            submitted_at: None,
            started_at: None,
            ready_to_cutover_at: None,
            cutover_at: None,
            finished_at: None,
            force_cutover_requested_at: None,
            schema_last_updated_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Applies `event` through the state machine, stamping `updated_at`.
    pub fn apply(&mut self, event: DeploymentEvent) -> Result<(), InvalidTransition> {
        self.state = self.state.after(event)?;
        self.updated_at = Timestamp::now();
        Ok(())
    }

    /// Sets every operation to `state`.
    pub fn set_operations_state(&mut self, state: DeployOperationState) {
        let now = Timestamp::now();
        for operation in &mut self.operations {
            operation.state = state;
            operation.updated_at = now;
        }
    }
}

/// A deploy request: merge the schema of `branch` into `into_branch`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeployRequest {
    pub id: DeployRequestId,
    pub database_id: DatabaseId,
    /// Sequential per database, from 1.
    pub number: u64,
    pub branch_id: BranchId,
    pub into_branch_id: BranchId,
    pub branch_name: String,
    pub into_branch_name: String,
    pub notes: String,
    pub actor: Option<UserId>,
    /// The token that created it (it may not approve it).
    pub created_by_token: Option<ServiceTokenId>,
    pub state: DeployRequestState,
    pub closed_by: Option<UserId>,
    pub closed_at: Option<Timestamp>,
    pub deployed_at: Option<Timestamp>,
    pub branch_deleted_by: Option<UserId>,
    pub branch_deleted_at: Option<Timestamp>,
    pub deployment: Deployment,
    /// Optimistic concurrency: every save checks and bumps it.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// `review.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReviewState {
    Commented,
    Approved,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Commented => "commented",
            ReviewState::Approved => "approved",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "commented" => Some(ReviewState::Commented),
            "approved" => Some(ReviewState::Approved),
            _ => None,
        }
    }
}

/// A review of a deploy request. An approval stands until the head's schema changes
/// (`dismissed_at`).
#[derive(Clone, Debug, PartialEq)]
pub struct DeployReview {
    pub id: DeployReviewId,
    pub deploy_request_id: DeployRequestId,
    pub actor: Option<UserId>,
    pub token: Option<ServiceTokenId>,
    pub state: ReviewState,
    pub body: String,
    pub dismissed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}
