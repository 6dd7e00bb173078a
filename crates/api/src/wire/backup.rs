//! `Backup` and `BackupPolicy`.

use super::actor::{ActorResponse, actor};
use super::connection::branch_url;
use dbplane_control::backups::BackupDetails;
use dbplane_domain::backups::BackupPolicy;
use dbplane_domain::data_plane::Branch;
use serde::Serialize;

/// `{id, name, created_at, updated_at, deleted_at}` of a branch.
#[derive(Serialize)]
pub struct BranchRefResponse {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

impl From<&Branch> for BranchRefResponse {
    fn from(branch: &Branch) -> Self {
        Self {
            id: branch.id.to_string(),
            name: branch.name.clone(),
            created_at: branch.created_at.to_iso8601(),
            updated_at: branch.updated_at.to_iso8601(),
            deleted_at: branch.deleted_at.map(|t| t.to_iso8601()),
        }
    }
}

#[derive(Serialize)]
pub struct BackupPolicyResponse {
    id: String,
    display_name: String,
    name: String,
    target: &'static str,
    retention_value: i64,
    retention_unit: &'static str,
    frequency_value: i64,
    frequency_unit: &'static str,
    schedule_time: String,
    schedule_day: Option<i64>,
    schedule_week: Option<i64>,
    created_at: String,
    updated_at: String,
    last_ran_at: Option<String>,
    next_run_at: Option<String>,
    required: bool,
}

impl From<&BackupPolicy> for BackupPolicyResponse {
    fn from(policy: &BackupPolicy) -> Self {
        Self {
            id: policy.id.to_string(),
            display_name: policy.name.clone(),
            name: policy.name.clone(),
            target: policy.target.as_str(),
            retention_value: policy.retention.value,
            retention_unit: policy.retention.unit.as_str(),
            frequency_value: policy.frequency.value,
            frequency_unit: policy.frequency.unit.as_str(),
            schedule_time: policy.schedule_time.to_string(),
            schedule_day: policy.schedule_day,
            schedule_week: policy.schedule_week,
            created_at: policy.created_at.to_iso8601(),
            updated_at: policy.updated_at.to_iso8601(),
            last_ran_at: policy.last_ran_at.map(|t| t.to_iso8601()),
            next_run_at: policy.next_run_at.map(|t| t.to_iso8601()),
            required: policy.required,
        }
    }
}

impl From<BackupPolicy> for BackupPolicyResponse {
    fn from(policy: BackupPolicy) -> Self {
        (&policy).into()
    }
}

/// The schema captured with a successful backup.
#[derive(Serialize)]
pub struct SchemaSnapshotResponse {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    linted_at: Option<String>,
    url: String,
}

#[derive(Serialize)]
pub struct BackupResponse {
    id: String,
    name: String,
    state: &'static str,
    size: i64,
    /// Storage is local; nothing is billed.
    estimated_storage_cost: f64,
    created_at: String,
    updated_at: String,
    started_at: Option<String>,
    expires_at: Option<String>,
    completed_at: Option<String>,
    deleted_at: Option<String>,
    /// No volume snapshots: backups are logical.
    pvc_size: i64,
    uncompressed_size: i64,
    protected: bool,
    required: bool,
    restored_branches: Vec<BranchRefResponse>,
    actor: Option<ActorResponse>,
    backup_policy: Option<BackupPolicyResponse>,
    schema_snapshot: Option<SchemaSnapshotResponse>,
    database_branch: Option<BranchRefResponse>,
}

impl BackupResponse {
    pub fn new(details: BackupDetails, base_url: &str) -> Self {
        let backup = details.backup;
        let url = format!(
            "{}/backups/{}",
            branch_url(
                base_url,
                &details.organization.name,
                &details.database.name,
                &details.branch.name
            ),
            backup.id
        );
        let schema_snapshot = backup.schema_snapshot.as_ref().map(|_| {
            let at = backup
                .completed_at
                .unwrap_or(backup.updated_at)
                .to_iso8601();
            SchemaSnapshotResponse {
                id: backup.id.to_string(),
                name: backup.name.clone(),
                created_at: at.clone(),
                updated_at: at,
                linted_at: None,
                url: url.clone(),
            }
        });
        Self {
            id: backup.id.to_string(),
            state: backup.state.as_str(),
            size: backup.size,
            estimated_storage_cost: 0.0,
            created_at: backup.created_at.to_iso8601(),
            updated_at: backup.updated_at.to_iso8601(),
            started_at: backup.started_at.map(|t| t.to_iso8601()),
            expires_at: backup.expires_at.map(|t| t.to_iso8601()),
            completed_at: backup.completed_at.map(|t| t.to_iso8601()),
            deleted_at: backup.deleted_at.map(|t| t.to_iso8601()),
            pvc_size: 0,
            uncompressed_size: backup.uncompressed_size,
            protected: backup.protected,
            required: backup.required,
            restored_branches: details.restored_branches.iter().map(Into::into).collect(),
            actor: actor(details.actor.as_ref()),
            backup_policy: details.policy.as_ref().map(Into::into),
            schema_snapshot,
            database_branch: Some((&details.branch).into()),
            name: backup.name,
        }
    }
}
