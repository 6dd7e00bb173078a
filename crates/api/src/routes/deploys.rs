//! Deploy requests, their deployment, reviews and throttlers, and the deploy queue.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Authenticated, JsonBody, Pagination, PathParams, QueryPairs};
use crate::wire::deploy_request::{
    DeployOperationResponse, DeployRequestResponse, DeploymentResponse,
};
use crate::wire::list::{ListEnvelope, Totals};
use crate::wire::review::ReviewResponse;
use crate::wire::schema::{SchemaItem, diff_page};
use crate::wire::throttler::{StorageCheckResponse, ThrottlerResponse};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dbplane_control::deploys::{
    CreateDeployRequest, DeployAction, DeployFlag, DeployRequestDetails, ListDeployRequests,
};
use dbplane_control::operations::OperationAccess;
use dbplane_control::{Caller, Paged, operations};
use serde::Deserialize;

/// `(organization, database, number)`.
type NumberPath = (String, String, String);

fn number(text: &str) -> ApiResult<u64> {
    text.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid_params("number", "must be a positive integer"))
}

/// Reads the deploy request of `path` under `operation` (the read endpoints).
async fn read(
    state: &AppState,
    caller: &Caller,
    (organization, database, n): &NumberPath,
    operation: &OperationAccess,
) -> ApiResult<DeployRequestDetails> {
    Ok(state
        .control
        .get_deploy_request(caller, organization, database, number(n)?, operation)
        .await?)
}

pub async fn list_deploy_requests(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    query: QueryPairs,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<DeployRequestResponse>>> {
    let filters = ListDeployRequests {
        state: query.get("state").map(str::to_string),
        branch: query.get("branch").map(str::to_string),
        into_branch: query.get("into_branch").map(str::to_string),
    };
    let found = state
        .control
        .list_deploy_requests(
            &caller,
            &organization,
            &database,
            filters,
            pagination.request,
        )
        .await?;
    let base_url = state.base_url();
    Ok(Json(ListEnvelope::new(
        &pagination,
        found,
        Totals::Include,
        |details| DeployRequestResponse::new(details, &base_url),
    )))
}

#[derive(Deserialize)]
pub struct CreateBody {
    branch: Option<String>,
    into_branch: Option<String>,
    notes: Option<String>,
    auto_cutover: Option<bool>,
    auto_delete_branch: Option<bool>,
}

pub async fn create_deploy_request(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<(StatusCode, Json<DeployRequestResponse>)> {
    let input = CreateDeployRequest {
        branch: body.branch.unwrap_or_default(),
        into_branch: body.into_branch.unwrap_or_default(),
        notes: body.notes,
        auto_cutover: body.auto_cutover,
        auto_delete_branch: body.auto_delete_branch,
    };
    let created = state
        .control
        .create_deploy_request(&caller, &organization, &database, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DeployRequestResponse::new(created, &state.base_url())),
    ))
}

pub async fn get_deploy_request(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<NumberPath>,
) -> ApiResult<Json<DeployRequestResponse>> {
    let details = read(&state, &caller, &path, &operations::GET_DEPLOY_REQUEST).await?;
    Ok(Json(DeployRequestResponse::new(details, &state.base_url())))
}

pub async fn get_deployment(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<NumberPath>,
) -> ApiResult<Json<DeploymentResponse>> {
    let details = read(&state, &caller, &path, &operations::GET_DEPLOYMENT).await?;
    Ok(Json(DeploymentResponse::new(&details)))
}

#[derive(Deserialize)]
pub struct CloseBody {
    state: Option<String>,
}

pub async fn close_deploy_request(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, n)): PathParams<NumberPath>,
    JsonBody(body): JsonBody<CloseBody>,
) -> ApiResult<Json<DeployRequestResponse>> {
    let details = state
        .control
        .close_deploy_request(
            &caller,
            &organization,
            &database,
            number(&n)?,
            body.state.as_deref(),
        )
        .await?;
    Ok(Json(DeployRequestResponse::new(details, &state.base_url())))
}

#[derive(Deserialize, Default)]
pub struct QueueBody {
    instant_ddl: Option<bool>,
}

pub async fn queue_deploy_request(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, n)): PathParams<NumberPath>,
    JsonBody(body): JsonBody<QueueBody>,
) -> ApiResult<Json<DeployRequestResponse>> {
    let instant = body.instant_ddl.unwrap_or(false);
    let details = state
        .control
        .queue_deploy_request(&caller, &organization, &database, number(&n)?, instant)
        .await?;
    Ok(Json(DeployRequestResponse::new(details, &state.base_url())))
}

async fn action(
    state: AppState,
    caller: dbplane_control::Caller,
    (organization, database, n): NumberPath,
    action: DeployAction,
) -> ApiResult<Json<DeployRequestResponse>> {
    let details = state
        .control
        .deploy_request_action(&caller, &organization, &database, number(&n)?, action)
        .await?;
    Ok(Json(DeployRequestResponse::new(details, &state.base_url())))
}

macro_rules! action_handler {
    ($name:ident, $action:expr) => {
        pub async fn $name(
            State(state): State<AppState>,
            Authenticated(caller): Authenticated,
            PathParams(path): PathParams<NumberPath>,
        ) -> ApiResult<Json<DeployRequestResponse>> {
            action(state, caller, path, $action).await
        }
    };
}

action_handler!(cancel_deploy_request, DeployAction::Cancel);
action_handler!(complete_gated_deploy_request, DeployAction::ApplyGated);
action_handler!(force_cutover_deploy_request, DeployAction::ForceCutover);
action_handler!(complete_revert, DeployAction::Revert);
action_handler!(skip_revert_period, DeployAction::SkipRevert);
action_handler!(complete_errored_deploy, DeployAction::CompleteErrored);

#[derive(Deserialize)]
pub struct EnableBody {
    enable: Option<bool>,
}

async fn flag(
    state: AppState,
    caller: dbplane_control::Caller,
    (organization, database, n): NumberPath,
    flag: DeployFlag,
    body: EnableBody,
) -> ApiResult<Json<DeployRequestResponse>> {
    let enable = body
        .enable
        .ok_or_else(|| ApiError::invalid_params("enable", "is required"))?;
    let details = state
        .control
        .update_deploy_request_flag(&caller, &organization, &database, number(&n)?, flag, enable)
        .await?;
    Ok(Json(DeployRequestResponse::new(details, &state.base_url())))
}

pub async fn update_auto_apply(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<NumberPath>,
    JsonBody(body): JsonBody<EnableBody>,
) -> ApiResult<Json<DeployRequestResponse>> {
    flag(state, caller, path, DeployFlag::AutoCutover, body).await
}

pub async fn update_auto_delete_branch(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<NumberPath>,
    JsonBody(body): JsonBody<EnableBody>,
) -> ApiResult<Json<DeployRequestResponse>> {
    flag(state, caller, path, DeployFlag::AutoDeleteBranch, body).await
}

/// `get_deploy_request_diff`: the semantic diff of the last check, one item per changed
/// table or view.
pub async fn get_deploy_request_diff(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<NumberPath>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<SchemaItem>>> {
    let details = read(&state, &caller, &path, &operations::GET_DEPLOY_REQUEST_DIFF).await?;
    let items = details
        .request
        .deployment
        .schema_diff
        .into_iter()
        .map(|diff| (diff.name, diff.raw))
        .collect();
    Ok(Json(diff_page(&pagination, items)))
}

pub async fn list_deploy_operations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<NumberPath>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<DeployOperationResponse>>> {
    let details = read(&state, &caller, &path, &operations::LIST_DEPLOY_OPERATIONS).await?;
    let deployment = details.request.deployment.clone();
    let keyspace = details.database.name.clone();
    let operations = Paged {
        total: deployment.operations.len() as u64,
        items: pagination.request.slice(&deployment.operations),
        request: pagination.request,
    };
    Ok(Json(ListEnvelope::new(
        &pagination,
        operations,
        Totals::Omit,
        |operation| {
            let used = details
                .tables_recently_used
                .get(&operation.table_name)
                .copied();
            DeployOperationResponse::new(&operation, &keyspace, &deployment, used)
        },
    )))
}

pub async fn list_deploy_request_reviews(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, n)): PathParams<NumberPath>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<ReviewResponse>>> {
    let reviews = state
        .control
        .list_deploy_request_reviews(
            &caller,
            &organization,
            &database,
            number(&n)?,
            pagination.request,
        )
        .await?;
    Ok(Json(ListEnvelope::new(
        &pagination,
        reviews,
        Totals::Omit,
        ReviewResponse::new,
    )))
}

#[derive(Deserialize)]
pub struct ReviewBody {
    state: Option<String>,
    body: Option<String>,
}

pub async fn review_deploy_request(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, n)): PathParams<NumberPath>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> ApiResult<(StatusCode, Json<ReviewResponse>)> {
    let review = state
        .control
        .review_deploy_request(
            &caller,
            &organization,
            &database,
            number(&n)?,
            body.state.as_deref(),
            body.body,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ReviewResponse::new(review))))
}

#[derive(Deserialize)]
pub struct ThrottlerBody {
    ratio: Option<i64>,
    // `configurations` names keyspaces; dbplane has one per database.
}

pub async fn get_deploy_request_throttler(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, n)): PathParams<NumberPath>,
) -> ApiResult<Json<ThrottlerResponse>> {
    let throttler = state
        .control
        .deploy_request_throttler(&caller, &organization, &database, number(&n)?, None)
        .await?;
    Ok(Json(throttler.into()))
}

pub async fn update_deploy_request_throttler(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, n)): PathParams<NumberPath>,
    JsonBody(body): JsonBody<ThrottlerBody>,
) -> ApiResult<Json<ThrottlerResponse>> {
    let ratio = body
        .ratio
        .ok_or_else(|| ApiError::invalid_params("ratio", "is required"))?;
    let throttler = state
        .control
        .deploy_request_throttler(&caller, &organization, &database, number(&n)?, Some(ratio))
        .await?;
    Ok(Json(throttler.into()))
}

pub async fn get_database_throttler(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
) -> ApiResult<Json<ThrottlerResponse>> {
    let throttler = state
        .control
        .database_throttler(&caller, &organization, &database, None)
        .await?;
    Ok(Json(throttler.into()))
}

pub async fn update_database_throttler(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<ThrottlerBody>,
) -> ApiResult<Json<ThrottlerResponse>> {
    let ratio = body
        .ratio
        .ok_or_else(|| ApiError::invalid_params("ratio", "is required"))?;
    let throttler = state
        .control
        .database_throttler(&caller, &organization, &database, Some(ratio))
        .await?;
    Ok(Json(throttler.into()))
}

pub async fn check_deploy_request_storage(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database, n)): PathParams<NumberPath>,
) -> ApiResult<Json<StorageCheckResponse>> {
    let check = state
        .control
        .check_deploy_request_storage(&caller, &organization, &database, number(&n)?)
        .await?;
    Ok(Json(check.into()))
}

pub async fn get_deploy_queue(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, database)): PathParams<(String, String)>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<DeploymentResponse>>> {
    let queue = state
        .control
        .deploy_queue(&caller, &organization, &database, pagination.request)
        .await?;
    Ok(Json(ListEnvelope::new(
        &pagination,
        queue,
        Totals::Omit,
        |details| DeploymentResponse::new(&details),
    )))
}
