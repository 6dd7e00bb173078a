//! `Branch`.

use super::actor::{ActorResponse, actor};
use super::connection::branch_url;
use super::region::RegionResponse;
use dbplane_control::branches::BranchDetails;
use dbplane_domain::data_plane::BranchState;
use serde::Serialize;
use serde_json::{Map, Value};

/// `restored_from_branch`: the branch whose backup this branch was restored from.
pub type RestoredFromResponse = super::backup::BranchRefResponse;

#[derive(Serialize)]
pub struct BranchResponse {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    id: String,
    name: String,
    kind: &'static str,
    state: &'static str,
    ready: bool,
    schema_ready: bool,
    stale_schema: bool,
    production: bool,
    safe_migrations: bool,
    deletion_protected: bool,
    parent_branch: Option<String>,
    restored_from_branch: Option<RestoredFromResponse>,
    restore_checklist_completed_at: Option<String>,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
    schema_last_updated_at: Option<String>,
    actor: Option<ActorResponse>,
    region: RegionResponse,
    url: String,
    /// dbplane has no web console; the API resource stands in for the page.
    html_url: String,
    /// The cluster's `host:port`; there is no edge in front of it.
    mysql_address: String,
    mysql_edge_address: String,
    private_edge_connectivity: bool,
    cluster_name: String,
    /// Not in the spec; PlanetScale's Go SDK reads these three (`PostgresBranch`).
    cluster_display_name: String,
    /// Unknown: a cluster is a server dbplane administers, not a machine it provisions.
    cluster_architecture: Option<String>,
    /// dbplane runs no replicas.
    replicas: u64,
    cluster_iops: Option<u64>,
    metal: bool,
    sharded: bool,
    shard_count: u64,
    keyspace_count: u64,
    has_replicas: bool,
    has_read_only_replicas: bool,
    // No VTGate: clients talk to the server directly.
    direct_vtgate: bool,
    vtgate_size: String,
    vtgate_name: Option<String>,
    vtgate_count: u64,
    vtgate_autoscaling: bool,
    vtgate_max_count: Option<u64>,
    vtgate_target_cpu_utilization: Option<u64>,
    vtgate_options: Map<String, Value>,
}

impl BranchResponse {
    pub fn new(details: BranchDetails, base_url: &str) -> Self {
        let branch = details.branch;
        let url = branch_url(
            base_url,
            &details.organization.name,
            &details.database.name,
            &branch.name,
        );
        let ready = branch.state == BranchState::Ready;
        Self {
            kind_tag: "Branch",
            id: branch.id.to_string(),
            kind: details.database.kind.as_str(),
            state: branch.state.as_str(),
            ready,
            schema_ready: ready,
            stale_schema: false,
            production: branch.production,
            safe_migrations: branch.safe_migrations,
            deletion_protected: branch.deletion_protected,
            parent_branch: details.parent_name,
            restored_from_branch: details.restored_from.as_ref().map(Into::into),
            restore_checklist_completed_at: None,
            created_at: branch.created_at.to_iso8601(),
            updated_at: branch.updated_at.to_iso8601(),
            deleted_at: branch.deleted_at.map(|t| t.to_iso8601()),
            schema_last_updated_at: branch.schema_last_updated_at.map(|t| t.to_iso8601()),
            actor: actor(details.actor.as_ref()),
            region: RegionResponse::for_organization(details.region),
            html_url: url.clone(),
            url,
            mysql_edge_address: details.address.clone(),
            mysql_address: details.address,
            private_edge_connectivity: false,
            cluster_name: branch.cluster_size,
            cluster_display_name: details.cluster_display_name,
            cluster_architecture: None,
            replicas: 0,
            cluster_iops: None,
            metal: false,
            sharded: false,
            shard_count: 1,
            keyspace_count: 1,
            has_replicas: branch.production,
            has_read_only_replicas: false,
            direct_vtgate: false,
            vtgate_size: String::new(),
            vtgate_name: None,
            vtgate_count: 0,
            vtgate_autoscaling: false,
            vtgate_max_count: None,
            vtgate_target_cpu_utilization: None,
            vtgate_options: Map::new(),
            name: branch.name,
        }
    }
}
