//! Persistence of deploy requests and their reviews. A deploy request is saved under
//! optimistic concurrency (its `version`): the API and the deploy job both change it, and
//! a save that lost the race reloads and decides again instead of overwriting.

use crate::{Page, StoreResult, Window};
use async_trait::async_trait;
use dbplane_domain::DatabaseId;
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::BranchId;
use dbplane_domain::deploys::{
    DeployRequest, DeployRequestId, DeployRequestState, DeployReview, DeploymentState,
};
use dbplane_domain::jobs::{Job, JobId};
use std::collections::HashSet;

/// Filters of `list_deploy_requests`.
#[derive(Clone, Debug, Default)]
pub struct DeployRequestFilter {
    pub state: Option<DeployRequestState>,
    /// Only those whose deployment reached `complete` (the API's `state=deployed`).
    pub deployed: bool,
    pub branch: Option<BranchId>,
    pub into_branch: Option<BranchId>,
}

#[async_trait]
pub trait DeployStore: Send + Sync + 'static {
    /// Inserts a deploy request with the next number of its database (written back into
    /// `request.number`) and its jobs, in one transaction.
    async fn create_deploy_request(
        &self,
        request: &mut DeployRequest,
        jobs: &[Job],
    ) -> StoreResult<()>;
    async fn deploy_request(
        &self,
        database: &DatabaseId,
        number: u64,
    ) -> StoreResult<Option<DeployRequest>>;
    async fn deploy_request_by_id(
        &self,
        id: &DeployRequestId,
    ) -> StoreResult<Option<DeployRequest>>;
    /// Newest first.
    async fn list_deploy_requests(
        &self,
        database: &DatabaseId,
        filter: &DeployRequestFilter,
        window: Window,
    ) -> StoreResult<Page<DeployRequest>>;
    /// The most recent deploy request of a database (its `auto_cutover` is inherited).
    async fn latest_deploy_request(
        &self,
        database: &DatabaseId,
    ) -> StoreResult<Option<DeployRequest>>;
    /// Saves `request` if nobody saved it since it was read (bumping `request.version`),
    /// inserting `jobs` and completing `finish` (a job under its lease epoch) in the same
    /// transaction. False when the version moved or the job's lease was lost; nothing
    /// is written then.
    async fn save_deploy_request(
        &self,
        request: &mut DeployRequest,
        jobs: &[Job],
        finish: Option<(&JobId, i64)>,
    ) -> StoreResult<bool>;
    /// Deploy requests of the database whose deployment is queued or holds a lane
    /// (including failed ones, for the caller to filter), oldest queued first.
    async fn deploy_queue(&self, database: &DatabaseId) -> StoreResult<Vec<DeployRequest>>;
    /// Open deploy requests, of any database, whose deployment is in one of `states` and
    /// whose checks ran before `checked_before` (or never), least recently checked
    /// first, at most `limit`: those the background recheck looks at again.
    async fn stale_deploy_requests(
        &self,
        states: &[DeploymentState],
        checked_before: Timestamp,
        limit: u64,
    ) -> StoreResult<Vec<DeployRequest>>;
    async fn insert_review(&self, review: &DeployReview) -> StoreResult<()>;
    async fn list_reviews(
        &self,
        request: &DeployRequestId,
        window: Window,
    ) -> StoreResult<Page<DeployReview>>;
    /// Whether an approval stands (not dismissed).
    async fn has_standing_approval(&self, request: &DeployRequestId) -> StoreResult<bool>;
    /// Those of `requests` that have a standing approval (one query for a page).
    async fn standing_approvals(
        &self,
        requests: &[DeployRequestId],
    ) -> StoreResult<HashSet<DeployRequestId>>;
    /// Dismisses every standing approval (the head's schema changed).
    async fn dismiss_approvals(&self, request: &DeployRequestId) -> StoreResult<()>;
    /// The database-level throttle ratio; `None` when never set (0).
    async fn database_throttle_ratio(&self, database: &DatabaseId) -> StoreResult<Option<u8>>;
    async fn set_database_throttle_ratio(
        &self,
        database: &DatabaseId,
        ratio: u8,
    ) -> StoreResult<()>;
    /// Records the parent's canonical schema at the creation of `branch` (idempotent: a
    /// repeat overwrites it with the same statements).
    async fn set_branch_fork_schema(
        &self,
        branch: &BranchId,
        statements: &[String],
    ) -> StoreResult<()>;
    /// The parent's schema when `branch` was created; `None` when it was not recorded.
    async fn branch_fork_schema(&self, branch: &BranchId) -> StoreResult<Option<Vec<String>>>;
}
