use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Authenticated, JsonBody, Pagination, PathParams};
use crate::wire::list::{ListEnvelope, Totals};
use crate::wire::service_token::{
    AccessRecordResponse, GrantResponse, ServiceTokenResponse, grants,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dbplane_control::operations;
use dbplane_control::token_accesses::{AccessChange, AccessRecord};
use serde::{Deserialize, Serialize};

pub async fn list_service_tokens(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(organization): PathParams<String>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<ServiceTokenResponse>>> {
    let tokens = state
        .control
        .list_service_tokens(&caller, &organization, pagination.request)
        .await?;
    let base_url = pagination.base_url.clone();
    Ok(Json(ListEnvelope::new(
        &pagination,
        tokens,
        Totals::Include,
        |details| ServiceTokenResponse::new(details, None, &base_url),
    )))
}

#[derive(Deserialize)]
pub struct CreateServiceTokenBody {
    name: Option<String>,
    ttl: Option<i64>,
}

pub async fn create_service_token(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(organization): PathParams<String>,
    JsonBody(body): JsonBody<CreateServiceTokenBody>,
) -> ApiResult<Json<ServiceTokenResponse>> {
    let created = state
        .control
        .create_service_token(&caller, &organization, body.name, body.ttl)
        .await?;
    let secret = Some(created.secret.expose().to_string());
    Ok(Json(ServiceTokenResponse::new(
        created.details,
        secret,
        &state.base_url(),
    )))
}

pub async fn get_service_token(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, id)): PathParams<(String, String)>,
) -> ApiResult<Json<ServiceTokenResponse>> {
    let details = state
        .control
        .get_service_token(&caller, &organization, &id)
        .await?;
    Ok(Json(ServiceTokenResponse::new(
        details,
        None,
        &state.base_url(),
    )))
}

pub async fn delete_service_token(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, id)): PathParams<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .control
        .delete_service_token(&caller, &organization, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{"data": [...]}`, the shape the PlanetScale CLI reads access lists in.
#[derive(Serialize)]
pub struct DataList<T> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: Vec<T>,
}

fn access_list(records: &[AccessRecord]) -> Json<DataList<AccessRecordResponse>> {
    Json(DataList {
        kind: "list",
        data: records.iter().map(Into::into).collect(),
    })
}

pub async fn list_accesses(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, id)): PathParams<(String, String)>,
) -> ApiResult<Json<DataList<AccessRecordResponse>>> {
    let records = state
        .control
        .list_token_accesses(
            &caller,
            &organization,
            &id,
            &operations::LIST_SERVICE_TOKEN_ACCESSES,
        )
        .await?;
    Ok(access_list(&records))
}

pub async fn list_grants(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, id)): PathParams<(String, String)>,
) -> ApiResult<Json<DataList<GrantResponse>>> {
    let records = state
        .control
        .list_token_accesses(
            &caller,
            &organization,
            &id,
            &operations::LIST_SERVICE_TOKEN_GRANTS,
        )
        .await?;
    Ok(Json(DataList {
        kind: "list",
        data: grants(&records),
    }))
}

#[derive(Deserialize)]
pub struct AccessChangeBody {
    /// Omitted, null or empty: the organization.
    database: Option<String>,
    access: Vec<String>,
}

impl From<AccessChangeBody> for AccessChange {
    fn from(body: AccessChangeBody) -> Self {
        AccessChange {
            database: body.database.filter(|name| !name.is_empty()),
            accesses: body.access,
        }
    }
}

pub async fn add_accesses(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, id)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<AccessChangeBody>,
) -> ApiResult<Json<DataList<AccessRecordResponse>>> {
    let records = state
        .control
        .add_token_accesses(&caller, &organization, &id, body.into())
        .await?;
    Ok(access_list(&records))
}

pub async fn remove_accesses(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams((organization, id)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<AccessChangeBody>,
) -> ApiResult<Json<DataList<AccessRecordResponse>>> {
    let records = state
        .control
        .remove_token_accesses(&caller, &organization, &id, body.into())
        .await?;
    Ok(access_list(&records))
}
