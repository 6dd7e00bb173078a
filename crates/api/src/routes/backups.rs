//! Branch backups and database backup policies.

use super::credentials::{BranchPath, CredentialPath};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Authenticated, JsonBody, Pagination, PathParams, QueryPairs};
use crate::wire::backup::{BackupPolicyResponse, BackupResponse};
use crate::wire::list::{ListEnvelope, Totals};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dbplane_control::backups::{BackupPolicyInput, BranchRef, CreateBackup, ListBackups};
use serde::Deserialize;

fn branch_ref(path: &BranchPath) -> BranchRef<'_> {
    BranchRef {
        organization: &path.0,
        database: &path.1,
        branch: &path.2,
    }
}

fn backup_ref(path: &CredentialPath) -> (BranchRef<'_>, &str) {
    (
        BranchRef {
            organization: &path.0,
            database: &path.1,
            branch: &path.2,
        },
        &path.3,
    )
}

pub async fn list_backups(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<BranchPath>,
    query: QueryPairs,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<BackupResponse>>> {
    let filter = ListBackups {
        all: query.boolean("all")?.unwrap_or(false),
        state: query.get("state").map(str::to_string),
        policy: query.get("policy").map(str::to_string),
        from: query.get("from").map(str::to_string),
        to: query.get("to").map(str::to_string),
        running_at: query.get("running_at").map(str::to_string),
        production: query.boolean("production")?,
    };
    let backups = state
        .control
        .list_backups(&caller, branch_ref(&path), filter, pagination.request)
        .await?;
    let base_url = pagination.base_url.clone();
    Ok(Json(ListEnvelope::new(
        &pagination,
        backups,
        Totals::Include,
        |details| BackupResponse::new(details, &base_url),
    )))
}

#[derive(Deserialize)]
pub struct CreateBackupBody {
    name: Option<String>,
    retention_unit: Option<String>,
    retention_value: Option<i64>,
    emergency: Option<bool>,
}

pub async fn create_backup(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<BranchPath>,
    JsonBody(body): JsonBody<CreateBackupBody>,
) -> ApiResult<(StatusCode, Json<BackupResponse>)> {
    let input = CreateBackup {
        name: body.name,
        retention_unit: body.retention_unit,
        retention_value: body.retention_value,
        emergency: body.emergency,
    };
    let created = state
        .control
        .create_backup(&caller, branch_ref(&path), input)
        .await?;
    let base_url = state.control.config().public_base_url();
    Ok((
        StatusCode::CREATED,
        Json(BackupResponse::new(created, &base_url)),
    ))
}

pub async fn get_backup(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
) -> ApiResult<Json<BackupResponse>> {
    let (branch, id) = backup_ref(&path);
    let details = state.control.get_backup(&caller, branch, id).await?;
    let base_url = state.control.config().public_base_url();
    Ok(Json(BackupResponse::new(details, &base_url)))
}

#[derive(Deserialize)]
pub struct UpdateBackupBody {
    protected: Option<bool>,
}

pub async fn update_backup(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
    JsonBody(body): JsonBody<UpdateBackupBody>,
) -> ApiResult<Json<BackupResponse>> {
    let (branch, id) = backup_ref(&path);
    let details = state
        .control
        .update_backup(&caller, branch, id, body.protected)
        .await?;
    let base_url = state.control.config().public_base_url();
    Ok(Json(BackupResponse::new(details, &base_url)))
}

pub async fn delete_backup(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
) -> ApiResult<StatusCode> {
    let (branch, id) = backup_ref(&path);
    state.control.delete_backup(&caller, branch, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_backup_policies(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<BackupPolicyResponse>>> {
    let policies = state
        .control
        .list_backup_policies(&caller, &organization, &database, pagination.request)
        .await?;
    Ok(Json(ListEnvelope::new(
        &pagination,
        policies,
        Totals::Omit,
        Into::into,
    )))
}

#[derive(Deserialize)]
pub struct BackupPolicyBody {
    name: Option<String>,
    target: Option<String>,
    retention_unit: Option<String>,
    retention_value: Option<i64>,
    frequency_unit: Option<String>,
    frequency_value: Option<i64>,
    schedule_time: Option<String>,
    schedule_day: Option<i64>,
    schedule_week: Option<i64>,
}

impl From<BackupPolicyBody> for BackupPolicyInput {
    fn from(body: BackupPolicyBody) -> Self {
        BackupPolicyInput {
            name: body.name,
            target: body.target,
            retention_unit: body.retention_unit,
            retention_value: body.retention_value,
            frequency_unit: body.frequency_unit,
            frequency_value: body.frequency_value,
            schedule_time: body.schedule_time,
            schedule_day: body.schedule_day,
            schedule_week: body.schedule_week,
        }
    }
}

pub async fn create_backup_policy(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<BackupPolicyBody>,
) -> ApiResult<(StatusCode, Json<BackupPolicyResponse>)> {
    let policy = state
        .control
        .create_backup_policy(&caller, &organization, &database, body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(policy.into())))
}

pub async fn get_backup_policy(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, id)): PathParams<(String, String, String)>,
) -> ApiResult<Json<BackupPolicyResponse>> {
    let policy = state
        .control
        .get_backup_policy(&caller, &organization, &database, &id)
        .await?;
    Ok(Json(policy.into()))
}

pub async fn update_backup_policy(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, id)): PathParams<(String, String, String)>,
    JsonBody(body): JsonBody<BackupPolicyBody>,
) -> ApiResult<Json<BackupPolicyResponse>> {
    let policy = state
        .control
        .update_backup_policy(&caller, &organization, &database, &id, body.into())
        .await?;
    Ok(Json(policy.into()))
}

pub async fn delete_backup_policy(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, id)): PathParams<(String, String, String)>,
) -> ApiResult<StatusCode> {
    state
        .control
        .delete_backup_policy(&caller, &organization, &database, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
