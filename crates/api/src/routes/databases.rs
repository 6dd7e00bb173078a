use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Authenticated, JsonBody, Pagination, PathParams, QueryPairs};
use crate::wire::cluster_size::ClusterSizeSkuResponse;
use crate::wire::database::DatabaseResponse;
use crate::wire::list::{ListEnvelope, Totals};
use crate::wire::region::{ReadOnlyRegionResponse, RegionResponse};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dbplane_control::databases::{CreateDatabase, DatabaseChanges};
use serde::Deserialize;

pub async fn list_databases(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(organization): PathParams<String>,
    query: QueryPairs,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<DatabaseResponse>>> {
    let databases = state
        .control
        .list_databases(&caller, &organization, query.get("q"), pagination.request)
        .await?;
    let base_url = pagination.base_url.clone();
    Ok(Json(ListEnvelope::new(
        &pagination,
        databases,
        Totals::Include,
        |details| DatabaseResponse::new(details, &base_url),
    )))
}

#[derive(Deserialize)]
pub struct CreateDatabaseBody {
    name: Option<String>,
    /// Not in the spec; PlanetScale's Go SDK and CLI send it.
    notes: Option<String>,
    kind: Option<String>,
    region: Option<String>,
    cluster_size: Option<String>,
    replicas: Option<i64>,
    /// Accepted and ignored: a database runs the version of its region's cluster.
    #[allow(dead_code)]
    major_version: Option<String>,
    /// Accepted and ignored: storage is the cluster's disk, not a per-database quota.
    #[allow(dead_code)]
    storage: Option<StorageBody>,
}

#[derive(Deserialize)]
pub struct StorageBody {
    #[allow(dead_code)]
    minimum_storage_bytes: Option<i64>,
    #[allow(dead_code)]
    maximum_storage_bytes: Option<i64>,
}

pub async fn create_database(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(organization): PathParams<String>,
    JsonBody(body): JsonBody<CreateDatabaseBody>,
) -> ApiResult<(StatusCode, Json<DatabaseResponse>)> {
    let input = CreateDatabase {
        // Missing: the service authorizes first, then refuses the empty name.
        name: body.name.unwrap_or_default(),
        notes: body.notes,
        kind: body.kind,
        region: body.region,
        cluster_size: body.cluster_size,
        replicas: body.replicas,
    };
    let created = state
        .control
        .create_database(&caller, &organization, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DatabaseResponse::new(created, &state.base_url())),
    ))
}

pub async fn get_database(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
) -> ApiResult<Json<DatabaseResponse>> {
    let details = state
        .control
        .get_database(&caller, &organization, &database)
        .await?;
    Ok(Json(DatabaseResponse::new(details, &state.base_url())))
}

#[derive(Deserialize)]
pub struct UpdateDatabaseBody {
    new_name: Option<String>,
    automatic_migrations: Option<bool>,
    migration_framework: Option<String>,
    migration_table_name: Option<String>,
    require_approval_for_deploy: Option<bool>,
    restrict_branch_region: Option<bool>,
    allow_data_branching: Option<bool>,
    allow_foreign_key_constraints: Option<bool>,
    insights_raw_queries: Option<bool>,
    deletion_protected: Option<bool>,
    production_branch_web_console: Option<bool>,
    default_branch: Option<String>,
}

pub async fn update_database_settings(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<UpdateDatabaseBody>,
) -> ApiResult<Json<DatabaseResponse>> {
    let changes = DatabaseChanges {
        new_name: body.new_name,
        automatic_migrations: body.automatic_migrations,
        migration_framework: body.migration_framework,
        migration_table_name: body.migration_table_name,
        require_approval_for_deploy: body.require_approval_for_deploy,
        restrict_branch_region: body.restrict_branch_region,
        allow_data_branching: body.allow_data_branching,
        allow_foreign_key_constraints: body.allow_foreign_key_constraints,
        insights_raw_queries: body.insights_raw_queries,
        deletion_protected: body.deletion_protected,
        production_branch_web_console: body.production_branch_web_console,
        default_branch: body.default_branch,
    };
    let updated = state
        .control
        .update_database(&caller, &organization, &database, changes)
        .await?;
    Ok(Json(DatabaseResponse::new(updated, &state.base_url())))
}

pub async fn delete_database(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .control
        .delete_database(&caller, &organization, &database)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_database_regions(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<RegionResponse>>> {
    let regions = state
        .control
        .list_database_regions(&caller, &organization, &database, pagination.request)
        .await?;
    Ok(Json(ListEnvelope::new(
        &pagination,
        regions,
        Totals::Omit,
        RegionResponse::for_organization,
    )))
}

/// Empty until dbplane runs read-only replicas (see the service).
pub async fn list_read_only_regions(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<ReadOnlyRegionResponse>>> {
    let regions = state
        .control
        .list_read_only_regions(&caller, &organization, &database, pagination.request)
        .await?;
    Ok(Json(ListEnvelope::new(
        &pagination,
        regions,
        Totals::Omit,
        ReadOnlyRegionResponse::from,
    )))
}

/// A bare array, as the spec has it. The `engine`, `rates`, `region` and `database`
/// filters change nothing: every configured size serves both engines everywhere, and
/// there are no prices.
pub async fn list_cluster_size_skus(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(organization): PathParams<String>,
) -> ApiResult<Json<Vec<ClusterSizeSkuResponse>>> {
    let sizes = state
        .control
        .list_cluster_sizes(&caller, &organization)
        .await?;
    Ok(Json(
        sizes
            .into_iter()
            .enumerate()
            .map(|(position, size)| ClusterSizeSkuResponse::new(size, position))
            .collect(),
    ))
}
