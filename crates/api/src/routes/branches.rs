use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Authenticated, JsonBody, Pagination, PathParams, QueryPairs};
use crate::wire::branch::BranchResponse;
use crate::wire::keyspace::KeyspaceResponse;
use crate::wire::list::{ListEnvelope, Totals};
use crate::wire::schema::{LintErrorResponse, SchemaItem, SchemaResponse, diff_page};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dbplane_control::Paged;
use dbplane_control::branches::{BranchDetails, CreateBranch, ListBranches};
use dbplane_control::operations;
use serde::Deserialize;

use super::credentials::BranchPath;

pub async fn list_branches(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    query: QueryPairs,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<BranchResponse>>> {
    let newest_first = match query.get("order") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::invalid_params("order", "must be asc or desc")),
    };
    let filter = ListBranches {
        query: query.get("q").map(str::to_string),
        production: query.boolean("production")?,
        safe_migrations: query.boolean("safe_migrations")?,
        newest_first,
    };
    let branches = state
        .control
        .list_branches(
            &caller,
            &organization,
            &database,
            filter,
            pagination.request,
        )
        .await?;
    let base_url = pagination.base_url.clone();
    Ok(Json(ListEnvelope::new(
        &pagination,
        branches,
        Totals::Include,
        |details| BranchResponse::new(details, &base_url),
    )))
}

#[derive(Deserialize)]
pub struct CreateBranchBody {
    name: Option<String>,
    parent_branch: Option<String>,
    region: Option<String>,
    backup_id: Option<String>,
    seed_data: Option<String>,
    restore_point: Option<String>,
    cluster_size: Option<String>,
    deletion_protected: Option<bool>,
    // `create_database_if_missing`, `kind`, `major_version`, `keyspace_cluster_sizes`
    // and `storage` are ignored: the database must exist (else 404), a branch has its
    // database's kind and version, one keyspace, and no storage quota.
}

pub async fn create_branch(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<CreateBranchBody>,
) -> ApiResult<(StatusCode, Json<BranchResponse>)> {
    if body.restore_point.is_some() {
        return Err(dbplane_control::ControlError::Unprocessable(
            "restoring to a point in time (restore_point) is not available yet".into(),
        )
        .into());
    }
    let input = CreateBranch {
        // Missing: the service authorizes first, then refuses the empty name.
        name: body.name.unwrap_or_default(),
        parent_branch: body.parent_branch,
        region: body.region,
        backup_id: body.backup_id,
        seed_data: body.seed_data,
        cluster_size: body.cluster_size,
        deletion_protected: body.deletion_protected,
    };
    let created = state
        .control
        .create_branch(&caller, &organization, &database, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(BranchResponse::new(created, &state.base_url())),
    ))
}

pub async fn get_branch(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
) -> ApiResult<Json<BranchResponse>> {
    let details = state
        .control
        .get_branch(&caller, &organization, &database, &branch)
        .await?;
    Ok(Json(BranchResponse::new(details, &state.base_url())))
}

#[derive(Deserialize)]
pub struct UpdateBranchBody {
    new_name: Option<String>,
    deletion_protected: Option<bool>,
}

pub async fn update_branch(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
    JsonBody(body): JsonBody<UpdateBranchBody>,
) -> ApiResult<Json<BranchResponse>> {
    let details = state
        .control
        .update_branch(
            &caller,
            &organization,
            &database,
            &branch,
            body.new_name,
            body.deletion_protected,
        )
        .await?;
    Ok(Json(BranchResponse::new(details, &state.base_url())))
}

#[derive(Deserialize)]
pub struct ClusterConfigBody {
    cluster_size: Option<String>,
}

pub async fn update_branch_cluster_config(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
    JsonBody(body): JsonBody<ClusterConfigBody>,
) -> ApiResult<StatusCode> {
    state
        .control
        .update_branch_cluster_size(
            &caller,
            &organization,
            &database,
            &branch,
            body.cluster_size.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_branch(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
    query: QueryPairs,
) -> ApiResult<StatusCode> {
    let delete_descendants = query.boolean("delete_descendants")?.unwrap_or(false);
    state
        .control
        .delete_branch(
            &caller,
            &organization,
            &database,
            &branch,
            delete_descendants,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn promote_branch(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
) -> ApiResult<Json<BranchResponse>> {
    let details = state
        .control
        .promote_branch(&caller, &organization, &database, &branch)
        .await?;
    Ok(Json(BranchResponse::new(details, &state.base_url())))
}

pub async fn demote_branch(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
) -> ApiResult<Json<BranchResponse>> {
    let details = state
        .control
        .demote_branch(&caller, &organization, &database, &branch)
        .await?;
    Ok(Json(BranchResponse::new(details, &state.base_url())))
}

pub async fn enable_safe_migrations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
) -> ApiResult<Json<BranchResponse>> {
    let details = state
        .control
        .set_safe_migrations(
            &caller,
            &organization,
            &database,
            &branch,
            true,
            &operations::ENABLE_SAFE_MIGRATIONS,
        )
        .await?;
    Ok(Json(BranchResponse::new(details, &state.base_url())))
}

pub async fn disable_safe_migrations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
) -> ApiResult<Json<BranchResponse>> {
    let details = state
        .control
        .set_safe_migrations(
            &caller,
            &organization,
            &database,
            &branch,
            false,
            &operations::DISABLE_SAFE_MIGRATIONS,
        )
        .await?;
    Ok(Json(BranchResponse::new(details, &state.base_url())))
}

#[derive(Deserialize)]
pub struct SafeMigrationsBody {
    safe_migrations: Option<bool>,
}

pub async fn update_safe_migrations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
    JsonBody(body): JsonBody<SafeMigrationsBody>,
) -> ApiResult<Json<BranchResponse>> {
    let operation = &operations::UPDATE_SAFE_MIGRATIONS;
    let Some(enabled) = body.safe_migrations else {
        // Authorize before refusing, so a caller without access still gets a 404.
        state
            .control
            .branch_keyspace(&caller, &organization, &database, &branch, None, operation)
            .await?;
        return Err(ApiError::invalid_params("safe_migrations", "is required"));
    };
    let details = state
        .control
        .set_safe_migrations(
            &caller,
            &organization,
            &database,
            &branch,
            enabled,
            operation,
        )
        .await?;
    Ok(Json(BranchResponse::new(details, &state.base_url())))
}

/// `?keyspace=` selects the keyspace (the database's name); `namespace` is ignored:
/// a branch has one schema.
pub async fn get_branch_schema(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
    query: QueryPairs,
) -> ApiResult<Json<SchemaResponse>> {
    let objects = state
        .control
        .branch_schema(
            &caller,
            &organization,
            &database,
            &branch,
            query.get("keyspace"),
        )
        .await?;
    Ok(Json(SchemaResponse {
        data: objects
            .into_iter()
            .map(|object| SchemaItem::new(object.name, object.definition))
            .collect(),
    }))
}

/// `get_branch_diff`: the branch against its parent, one item per changed table or view.
pub async fn get_branch_diff(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<SchemaItem>>> {
    let diffs = state
        .control
        .branch_diff(&caller, &organization, &database, &branch)
        .await?;
    let items = diffs
        .into_iter()
        .map(|diff| (diff.name, diff.raw))
        .collect();
    Ok(Json(diff_page(&pagination, items)))
}

pub async fn lint_branch_schema(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<LintErrorResponse>>> {
    let errors = state
        .control
        .lint_branch_schema(
            &caller,
            &organization,
            &database,
            &branch,
            pagination.request,
        )
        .await?;
    Ok(Json(ListEnvelope::new(
        &pagination,
        errors,
        Totals::Omit,
        Into::into,
    )))
}

pub async fn list_keyspaces(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch)): PathParams<BranchPath>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<KeyspaceResponse>>> {
    let details = state
        .control
        .branch_keyspace(
            &caller,
            &organization,
            &database,
            &branch,
            None,
            &operations::LIST_KEYSPACES,
        )
        .await?;
    let keyspaces = Paged {
        items: pagination.request.slice(&[details]),
        total: 1,
        request: pagination.request,
    };
    Ok(Json(ListEnvelope::new(
        &pagination,
        keyspaces,
        Totals::Omit,
        |details| keyspace_response(&state, details),
    )))
}

pub async fn get_keyspace(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, branch, keyspace)): PathParams<(
        String,
        String,
        String,
        String,
    )>,
) -> ApiResult<Json<KeyspaceResponse>> {
    let details = state
        .control
        .branch_keyspace(
            &caller,
            &organization,
            &database,
            &branch,
            Some(&keyspace),
            &operations::GET_KEYSPACE,
        )
        .await?;
    Ok(Json(keyspace_response(&state, details)))
}

/// Renders a keyspace with the display name of its configured cluster size.
fn keyspace_response(state: &AppState, details: BranchDetails) -> KeyspaceResponse {
    let display_name = state
        .control
        .config()
        .cluster_sizes
        .iter()
        .find(|size| size.name == details.branch.cluster_size)
        .map(|size| size.display_name.clone())
        .unwrap_or_else(|| details.branch.cluster_size.clone());
    KeyspaceResponse::new(details, display_name)
}
