//! The API view of deploy requests, built from the metadata store alone. A page of
//! requests costs a fixed number of queries (the database's queue, the branches named,
//! the standing approvals) plus one per distinct user, however long the page.

use super::DeployRequestDetails;
use crate::ControlPlane;
use crate::error::ControlResult;
use dbplane_domain::data_plane::{BranchId, Database};
use dbplane_domain::deploys::DeployRequest;
use dbplane_domain::{Organization, User, UserId};
use std::collections::{BTreeMap, HashMap};

impl ControlPlane {
    /// Builds the API view of one deploy request.
    pub(crate) async fn deploy_request_details(
        &self,
        organization: Organization,
        database: Database,
        request: DeployRequest,
    ) -> ControlResult<DeployRequestDetails> {
        let mut details = self
            .deploy_requests_details(&organization, &database, vec![request])
            .await?;
        Ok(details.remove(0))
    }

    /// Builds the API view of deploy requests of one database, in their order.
    pub(crate) async fn deploy_requests_details(
        &self,
        organization: &Organization,
        database: &Database,
        requests: Vec<DeployRequest>,
    ) -> ControlResult<Vec<DeployRequestDetails>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        // Every lane of the database, in execution order.
        let queue: Vec<DeployRequest> = self
            .store
            .deploy_queue(&database.id)
            .await?
            .into_iter()
            .filter(|r| r.deployment.state.in_queue(r.deployment.error_acknowledged))
            .collect();
        let mut branch_ids: Vec<BranchId> = requests
            .iter()
            .flat_map(|r| [r.branch_id.clone(), r.into_branch_id.clone()])
            .collect();
        branch_ids.sort();
        branch_ids.dedup();
        // Current names: branches may have been renamed since the request was made.
        let branch_names: HashMap<BranchId, String> = self
            .store
            .branches_by_ids(&branch_ids)
            .await?
            .into_iter()
            .map(|branch| (branch.id, branch.name))
            .collect();
        let ids: Vec<_> = requests.iter().map(|r| r.id.clone()).collect();
        let approved = self.store.standing_approvals(&ids).await?;
        let mut known_users: HashMap<UserId, Option<User>> = HashMap::new();
        let mut recently_used: HashMap<BranchId, HashMap<String, dbplane_domain::Timestamp>> =
            HashMap::new();
        let mut page = Vec::with_capacity(requests.len());
        for request in requests {
            let lane: Vec<&DeployRequest> = queue
                .iter()
                .filter(|r| r.into_branch_id == request.into_branch_id)
                .collect();
            let position = lane.iter().position(|r| r.id == request.id);
            let preceding: Vec<DeployRequest> = match position {
                Some(index) => lane[..index].iter().map(|r| (*r).clone()).collect(),
                None => Vec::new(),
            };
            let pause = lane.iter().find_map(|r| {
                r.deployment
                    .state
                    .pause_reason(r.deployment.error_acknowledged)
                    .filter(|_| r.id != request.id)
            });
            let name_of = |id: &BranchId, fallback: &str| {
                branch_names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| fallback.to_string())
            };
            let branch_name = name_of(&request.branch_id, &request.branch_name);
            let into_branch_name = name_of(&request.into_branch_id, &request.into_branch_name);
            let mut users = BTreeMap::new();
            for id in named_users(&request) {
                if !known_users.contains_key(&id) {
                    let user = self.store.user_by_id(&id).await?;
                    known_users.insert(id.clone(), user);
                }
                if let Some(Some(user)) = known_users.get(&id) {
                    users.insert(id, user.clone());
                }
            }
            if !recently_used.contains_key(&request.into_branch_id) {
                let window = std::time::Duration::from_secs(
                    self.config.edge.table_recently_used_hours * 3600,
                );
                let used = crate::edge::stats::recently_used(
                    self.store.as_ref(),
                    &request.into_branch_id,
                    window,
                )
                .await?;
                recently_used.insert(request.into_branch_id.clone(), used.into_iter().collect());
            }
            let tables_recently_used = recently_used
                .get(&request.into_branch_id)
                .cloned()
                .unwrap_or_default();
            page.push(DeployRequestDetails {
                tables_recently_used,
                queue_paused: pause.is_some() && position.is_some(),
                queue_pause_reason: pause.filter(|_| position.is_some()).map(str::to_string),
                approved: approved.contains(&request.id),
                request,
                organization: organization.clone(),
                database: database.clone(),
                branch_name,
                into_branch_name,
                preceding,
                users,
            });
        }
        Ok(page)
    }
}

/// Every user a deploy request's API object names.
fn named_users(request: &DeployRequest) -> Vec<UserId> {
    let deployment = &request.deployment;
    let revert_actor = deployment.revert.as_ref().and_then(|r| r.actor.clone());
    [
        &request.actor,
        &request.closed_by,
        &request.branch_deleted_by,
        &deployment.actor,
        &deployment.cutover_actor,
        &deployment.cancelled_actor,
        &revert_actor,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect()
}
