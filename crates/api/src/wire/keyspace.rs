//! `Keyspace`: one per branch, named after the database, unsharded.

use dbplane_control::branches::BranchDetails;
use dbplane_domain::data_plane::BranchState;
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Serialize)]
pub struct KeyspaceResponse {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    /// The branch's id: a keyspace and its branch are one physical database.
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    cluster_name: String,
    cluster_display_name: String,
    default: bool,
    ready: bool,
    sharded: bool,
    shards: u64,
    replicas: i64,
    extra_replicas: i64,
    imported: bool,
    metal: bool,
    resizing: bool,
    resize_pending: bool,
    resize_in_progress: bool,
    config_change_in_progress: bool,
    node_ttl_strategy: &'static str,
    replication_durability_constraints: DurabilityConstraints,
    vreplication_flags: VreplicationFlags,
    vector_pool_allocation: Option<f64>,
    mysqld_options: Map<String, Value>,
    vttablet_options: Map<String, Value>,
}

#[derive(Serialize)]
struct DurabilityConstraints {
    strategy: Option<&'static str>,
}

#[derive(Serialize)]
struct VreplicationFlags {
    optimize_inserts: bool,
    allow_no_blob_binlog_row_image: bool,
    vplayer_batching: bool,
}

impl KeyspaceResponse {
    /// `cluster_display_name` is the configured display name of the branch's size.
    pub fn new(details: BranchDetails, cluster_display_name: String) -> Self {
        let branch = details.branch;
        Self {
            kind_tag: "Keyspace",
            id: branch.id.to_string(),
            name: details.database.name,
            created_at: branch.created_at.to_iso8601(),
            updated_at: branch.updated_at.to_iso8601(),
            cluster_name: branch.cluster_size,
            cluster_display_name,
            default: true,
            ready: branch.state == BranchState::Ready,
            sharded: false,
            shards: 1,
            replicas: if branch.production {
                details.database.replicas
            } else {
                0
            },
            extra_replicas: 0,
            imported: false,
            metal: false,
            resizing: false,
            resize_pending: false,
            resize_in_progress: false,
            config_change_in_progress: false,
            // Servers are never recycled on a schedule.
            node_ttl_strategy: "node_ttl_off",
            replication_durability_constraints: DurabilityConstraints { strategy: None },
            vreplication_flags: VreplicationFlags {
                optimize_inserts: false,
                allow_no_blob_binlog_row_image: false,
                vplayer_batching: false,
            },
            vector_pool_allocation: None,
            mysqld_options: Map::new(),
            vttablet_options: Map::new(),
        }
    }
}
