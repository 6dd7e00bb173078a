//! `DeployRequest`, its `deployment`, deploy operations and their summaries.

use super::actor::{ActorResponse, actor};
use dbplane_control::deploys::DeployRequestDetails;
use dbplane_domain::Timestamp;
use dbplane_domain::deploys::{
    DeployOperation, DeployOperationState, DeployRequest, Deployment, RevertRequest,
};
use serde::Serialize;
use serde_json::{Value, json};

fn time(at: Option<Timestamp>) -> Option<String> {
    at.map(Timestamp::to_iso8601)
}

/// Minimal HTML escaping for `html_body` and `syntax_highlighted_ddl`.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Progress in whole percents, rounded down so 100 means done. The spec's type is
/// `number`, and PlanetScale sends integers: its Go SDK decodes them into `uint64` and
/// fails on `100.0`.
fn whole_percent(progress: Option<f64>) -> Option<u64> {
    progress.map(|p| p.clamp(0.0, 100.0).floor() as u64)
}

/// Seconds left in whole seconds (an `int64` in PlanetScale's Go SDK).
fn whole_seconds(eta: Option<f64>) -> Option<u64> {
    eta.map(|s| s.max(0.0).round() as u64)
}

#[derive(Serialize)]
pub struct DeployOperationResponse {
    id: String,
    state: &'static str,
    keyspace_name: String,
    table_name: String,
    operation_name: &'static str,
    eta_seconds: Option<u64>,
    progress_percentage: Option<u64>,
    deploy_error_docs_url: Option<String>,
    ddl_statement: String,
    syntax_highlighted_ddl: String,
    created_at: String,
    updated_at: String,
    throttled_at: Option<String>,
    can_drop_data: bool,
    table_locked: bool,
    table_recently_used: bool,
    table_recently_used_at: Option<String>,
    removed_foreign_key_names: Option<Vec<String>>,
    deploy_errors: Option<String>,
    /// dbplane's addition: rows copied so far and the table's rows (estimate).
    rows_copied: u64,
    rows_total: u64,
}

impl DeployOperationResponse {
    pub fn new(
        operation: &DeployOperation,
        keyspace: &str,
        deployment: &Deployment,
        last_used: Option<Timestamp>,
    ) -> Self {
        Self {
            id: operation.id.clone(),
            state: operation.state.as_str(),
            keyspace_name: keyspace.to_string(),
            table_name: operation.table_name.clone(),
            operation_name: operation.kind.as_str(),
            eta_seconds: whole_seconds(operation.eta_seconds),
            progress_percentage: whole_percent(operation.progress_percentage),
            deploy_error_docs_url: None,
            ddl_statement: operation.ddl_statement.clone(),
            syntax_highlighted_ddl: escape_html(&operation.ddl_statement),
            created_at: operation.created_at.to_iso8601(),
            updated_at: operation.updated_at.to_iso8601(),
            throttled_at: time(operation.throttled_at),
            can_drop_data: operation.can_drop_data,
            table_locked: deployment.table_locked
                && deployment.locked_table_name.as_deref() == Some(operation.table_name.as_str()),
            table_recently_used: last_used.is_some(),
            table_recently_used_at: time(last_used),
            removed_foreign_key_names: Some(operation.removed_foreign_key_names.clone()),
            deploy_errors: operation.deploy_errors.clone(),
            rows_copied: operation.rows_copied,
            rows_total: operation.rows_total,
        }
    }
}

/// One summary per operation: dbplane has one shard, `-`.
fn summary(operation: &DeployOperation, keyspace: &str, last_used: Option<Timestamp>) -> Value {
    let state = match operation.state {
        DeployOperationState::Queued => DeployOperationState::Pending,
        other => other,
    };
    let progress = whole_percent(operation.progress_percentage).unwrap_or(0);
    let eta = whole_seconds(operation.eta_seconds).unwrap_or(0);
    json!({
        "id": operation.id,
        "created_at": operation.created_at.to_iso8601(),
        "deploy_errors": operation.deploy_errors.clone().unwrap_or_default(),
        "ddl_statement": operation.ddl_statement,
        "eta_seconds": eta,
        "keyspace_name": keyspace,
        "operation_name": operation.kind.as_str(),
        "progress_percentage": progress,
        "state": state.as_str(),
        "syntax_highlighted_ddl": escape_html(&operation.ddl_statement),
        "table_name": operation.table_name,
        "table_recently_used_at": time(last_used),
        "throttled_at": time(operation.throttled_at),
        "removed_foreign_key_names": operation.removed_foreign_key_names,
        "shard_count": 1,
        "shard_names": ["-"],
        "can_drop_data": operation.can_drop_data,
        "table_recently_used": last_used.is_some(),
        "sharded": false,
        "operations": [{
            "id": operation.id,
            "shard": "-",
            "state": operation.state.as_str(),
            "progress_percentage": progress,
            "eta_seconds": eta,
        }],
    })
}

fn revert_json(revert: &RevertRequest, details: &DeployRequestDetails) -> Value {
    let operations: Vec<Value> = details
        .request
        .deployment
        .operations
        .iter()
        .map(|operation| {
            json!({
                "ddl_statement": operation.ddl_statement,
                "operation_name": operation.kind.as_str(),
                "state": operation.state.as_str(),
                "table_name": operation.table_name,
                "revert_errors": revert.revert_errors,
            })
        })
        .collect();
    json!({
        "id": revert.id,
        "actor": actor(details.user(&revert.actor)),
        "cancelled_at": time(revert.cancelled_at),
        "finished_at": time(revert.finished_at),
        "waiting_period_end_at": revert.waiting_period_end_at.to_iso8601(),
        "deploy_revert_operations": operations,
    })
}

fn preceding_json(request: &DeployRequest) -> Value {
    json!({
        "id": request.deployment.id,
        "deploy_request_number": request.number,
        "state": request.deployment.state.as_str(),
        "queued_at": time(request.deployment.queued_at),
    })
}

#[derive(Serialize)]
pub struct DeploymentResponse {
    id: String,
    auto_cutover: bool,
    auto_delete_branch: bool,
    created_at: String,
    cutover_at: Option<String>,
    cutover_expiring: bool,
    deploy_check_errors: Option<String>,
    finished_at: Option<String>,
    force_cutover_requested_at: Option<String>,
    queued_at: Option<String>,
    ready_to_cutover_at: Option<String>,
    started_at: Option<String>,
    state: &'static str,
    submitted_at: Option<String>,
    updated_at: String,
    into_branch: String,
    deploy_request_number: u64,
    deployable: bool,
    preceding_deployments: Vec<Value>,
    deploy_operations: Vec<DeployOperationResponse>,
    deploy_operation_summaries: Vec<Value>,
    lint_errors: Vec<Value>,
    sequential_diff_dependencies: Vec<Value>,
    lookup_vindex_operations: Vec<Value>,
    throttler_configurations: Option<Value>,
    deployment_revert_request: Option<Value>,
    actor: Option<ActorResponse>,
    cutover_actor: Option<ActorResponse>,
    cancelled_actor: Option<ActorResponse>,
    schema_last_updated_at: Option<String>,
    table_locked: bool,
    locked_table_name: Option<String>,
    instant_ddl: bool,
    instant_ddl_eligible: bool,
    queue_paused: bool,
    queue_pause_reason: Option<String>,
}

impl DeploymentResponse {
    pub fn new(details: &DeployRequestDetails) -> Self {
        let deployment = &details.request.deployment;
        let keyspace = details.database.name.as_str();
        let throttler = (deployment.throttle_ratio > 0).then(|| {
            json!({"configurations": [{"keyspace_name": keyspace, "ratio": deployment.throttle_ratio}]})
        });
        Self {
            id: deployment.id.to_string(),
            auto_cutover: deployment.auto_cutover,
            auto_delete_branch: deployment.auto_delete_branch,
            created_at: deployment.created_at.to_iso8601(),
            cutover_at: time(deployment.cutover_at),
            cutover_expiring: false,
            deploy_check_errors: deployment.deploy_check_errors.clone(),
            finished_at: time(deployment.finished_at),
            force_cutover_requested_at: time(deployment.force_cutover_requested_at),
            queued_at: time(deployment.queued_at),
            ready_to_cutover_at: time(deployment.ready_to_cutover_at),
            started_at: time(deployment.started_at),
            state: deployment.state.as_str(),
            submitted_at: time(deployment.submitted_at),
            updated_at: deployment.updated_at.to_iso8601(),
            into_branch: details.into_branch_name.clone(),
            deploy_request_number: details.request.number,
            deployable: deployment.deployable,
            preceding_deployments: details.preceding.iter().map(preceding_json).collect(),
            deploy_operations: deployment
                .operations
                .iter()
                .map(|o| {
                    let used = details.tables_recently_used.get(&o.table_name).copied();
                    DeployOperationResponse::new(o, keyspace, deployment, used)
                })
                .collect(),
            deploy_operation_summaries: deployment
                .operations
                .iter()
                .map(|o| {
                    summary(
                        o,
                        keyspace,
                        details.tables_recently_used.get(&o.table_name).copied(),
                    )
                })
                .collect(),
            lint_errors: deployment.lint_errors.clone(),
            sequential_diff_dependencies: Vec::new(),
            lookup_vindex_operations: Vec::new(),
            throttler_configurations: throttler,
            deployment_revert_request: deployment
                .revert
                .as_ref()
                .map(|revert| revert_json(revert, details)),
            actor: actor(details.user(&deployment.actor)),
            cutover_actor: actor(details.user(&deployment.cutover_actor)),
            cancelled_actor: actor(details.user(&deployment.cancelled_actor)),
            schema_last_updated_at: time(deployment.schema_last_updated_at),
            table_locked: deployment.table_locked,
            locked_table_name: deployment.locked_table_name.clone(),
            instant_ddl: deployment.instant_ddl,
            instant_ddl_eligible: deployment.instant_ddl_eligible,
            queue_paused: details.queue_paused,
            queue_pause_reason: details.queue_pause_reason.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct DeployRequestResponse {
    id: String,
    number: u64,
    actor: ActorResponse,
    closed_by: Option<ActorResponse>,
    branch: String,
    branch_id: String,
    branch_deleted: bool,
    branch_deleted_by: Option<ActorResponse>,
    branch_deleted_at: Option<String>,
    into_branch: String,
    into_branch_sharded: bool,
    into_branch_shard_count: u64,
    into_branch_keyspace_count: u64,
    approved: bool,
    state: &'static str,
    deployment_state: &'static str,
    deployment: DeploymentResponse,
    num_comments: u64,
    html_url: String,
    notes: String,
    html_body: String,
    created_at: String,
    updated_at: String,
    closed_at: Option<String>,
    deployed_at: Option<String>,
}

impl DeployRequestResponse {
    pub fn new(details: DeployRequestDetails, base_url: &str) -> Self {
        let request = &details.request;
        let html_url = format!(
            "{base_url}/v1/organizations/{}/databases/{}/deploy-requests/{}",
            details.organization.name, details.database.name, request.number
        );
        Self {
            id: request.id.to_string(),
            number: request.number,
            actor: details
                .user(&request.actor)
                .map(ActorResponse::from_user)
                .unwrap_or_else(ActorResponse::unknown),
            closed_by: actor(details.user(&request.closed_by)),
            branch: details.branch_name.clone(),
            branch_id: request.branch_id.to_string(),
            branch_deleted: request.branch_deleted_at.is_some(),
            branch_deleted_by: actor(details.user(&request.branch_deleted_by)),
            branch_deleted_at: time(request.branch_deleted_at),
            into_branch: details.into_branch_name.clone(),
            into_branch_sharded: false,
            into_branch_shard_count: 1,
            into_branch_keyspace_count: 1,
            approved: details.approved,
            state: request.state.as_str(),
            deployment_state: request.deployment.state.as_str(),
            deployment: DeploymentResponse::new(&details),
            num_comments: 0,
            html_url,
            notes: request.notes.clone(),
            html_body: format!("<p>{}</p>", escape_html(&request.notes)),
            created_at: request.created_at.to_iso8601(),
            updated_at: request.updated_at.to_iso8601(),
            closed_at: time(request.closed_at),
            deployed_at: time(request.deployed_at),
        }
    }
}
