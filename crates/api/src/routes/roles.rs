//! Branch roles (Postgres).

use super::credentials::{BranchPath, CredentialPath, branch_path, credential_path};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Authenticated, JsonBody, Pagination, PathParams, QueryPairs};
use crate::wire::list::{ListEnvelope, Totals};
use crate::wire::role::{QUERY_SAFETY_OFF, RoleResponse};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dbplane_control::ControlError;
use dbplane_control::credentials::{CreateCredential, CredentialFamily};
use dbplane_control::operations;
use serde::Deserialize;

/// Query safety rules (`require_where_on_delete/update`) are not enforced, so only
/// `off` is accepted; `warn` and `on` are refused rather than silently ignored.
fn check_query_safety(field: &str, value: Option<&str>) -> ApiResult<()> {
    match value {
        None => Ok(()),
        Some(QUERY_SAFETY_OFF) => Ok(()),
        Some("warn" | "on") => Err(ControlError::Unprocessable(format!(
            "{field}: query safety rules are not supported; only \"off\" is accepted"
        ))
        .into()),
        Some(_) => Err(ApiError::invalid_params(field, "must be off, warn or on")),
    }
}

pub async fn list_roles(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<BranchPath>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<RoleResponse>>> {
    let roles = state
        .control
        .list_credentials(
            &caller,
            branch_path(&path),
            CredentialFamily::Role,
            pagination.request,
        )
        .await?;
    Ok(Json(ListEnvelope::new(
        &pagination,
        roles,
        Totals::Include,
        Into::into,
    )))
}

#[derive(Deserialize)]
pub struct CreateRoleBody {
    name: Option<String>,
    ttl: Option<i64>,
    inherited_roles: Option<Vec<String>>,
    /// Only `false`: dbplane does not give roles the REPLICATION attribute.
    with_replication: Option<bool>,
    require_where_on_delete: Option<String>,
    require_where_on_update: Option<String>,
}

/// Answers 200, as the spec has it.
pub async fn create_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<BranchPath>,
    JsonBody(body): JsonBody<CreateRoleBody>,
) -> ApiResult<Json<RoleResponse>> {
    if body.with_replication == Some(true) {
        return Err(ControlError::Unprocessable(
            "roles with replication (with_replication) are not supported".into(),
        )
        .into());
    }
    check_query_safety(
        "require_where_on_delete",
        body.require_where_on_delete.as_deref(),
    )?;
    check_query_safety(
        "require_where_on_update",
        body.require_where_on_update.as_deref(),
    )?;
    let input = CreateCredential {
        name: body.name,
        role: None,
        ttl: body.ttl,
        replica: None,
        inherited_roles: body.inherited_roles,
        is_default: false,
    };
    let created = state
        .control
        .create_credential(&caller, branch_path(&path), CredentialFamily::Role, input)
        .await?;
    Ok(Json(created.into()))
}

pub async fn get_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
) -> ApiResult<Json<RoleResponse>> {
    let (branch, id) = credential_path(&path);
    let details = state
        .control
        .get_credential(
            &caller,
            branch,
            CredentialFamily::Role,
            id,
            &operations::GET_ROLE,
        )
        .await?;
    Ok(Json(details.into()))
}

#[derive(Deserialize)]
pub struct UpdateRoleBody {
    name: Option<String>,
    require_where_on_delete: Option<String>,
    require_where_on_update: Option<String>,
}

pub async fn update_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
    JsonBody(body): JsonBody<UpdateRoleBody>,
) -> ApiResult<Json<RoleResponse>> {
    check_query_safety(
        "require_where_on_delete",
        body.require_where_on_delete.as_deref(),
    )?;
    check_query_safety(
        "require_where_on_update",
        body.require_where_on_update.as_deref(),
    )?;
    let (branch, id) = credential_path(&path);
    let details = state
        .control
        .rename_credential(
            &caller,
            branch,
            CredentialFamily::Role,
            id,
            body.name,
            &operations::UPDATE_ROLE,
        )
        .await?;
    Ok(Json(details.into()))
}

pub async fn renew_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
) -> ApiResult<Json<RoleResponse>> {
    let (branch, id) = credential_path(&path);
    let details = state
        .control
        .renew_credential(
            &caller,
            branch,
            CredentialFamily::Role,
            id,
            &operations::RENEW_ROLE,
        )
        .await?;
    Ok(Json(details.into()))
}

/// `reset_role`: a new password, returned once.
pub async fn reset_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
) -> ApiResult<Json<RoleResponse>> {
    let (branch, id) = credential_path(&path);
    let details = state
        .control
        .reset_credential_secret(
            &caller,
            branch,
            CredentialFamily::Role,
            id,
            &operations::RESET_ROLE,
        )
        .await?;
    Ok(Json(details.into()))
}

/// `?successor=` would hand the role's objects over first; that needs the reassign
/// service, which does not exist yet, so it is refused.
pub async fn delete_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
    query: QueryPairs,
) -> ApiResult<StatusCode> {
    let (branch, id) = credential_path(&path);
    if let Some(successor) = query.get("successor") {
        state
            .control
            .reassign_role_objects(&caller, branch, id, successor)
            .await?;
    }
    state
        .control
        .delete_credential(&caller, branch, CredentialFamily::Role, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_default_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<BranchPath>,
) -> ApiResult<Json<RoleResponse>> {
    let role = state
        .control
        .default_role(&caller, branch_path(&path), false)
        .await?;
    Ok(Json(role.into()))
}

pub async fn reset_default_role(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<BranchPath>,
) -> ApiResult<Json<RoleResponse>> {
    let role = state
        .control
        .default_role(&caller, branch_path(&path), true)
        .await?;
    // The whole role, new password included: the spec lists only username, password and
    // access_host_url, but PlanetScale's Go SDK decodes the answer as a `PostgresRole` and
    // a client needs its `database_name` to connect.
    Ok(Json(role.into()))
}

#[derive(Deserialize)]
pub struct ReassignRoleBody {
    successor: Option<String>,
}

pub async fn reassign_role_objects(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
    JsonBody(body): JsonBody<ReassignRoleBody>,
) -> ApiResult<StatusCode> {
    let (branch, id) = credential_path(&path);
    let successor = body
        .successor
        .ok_or_else(|| ApiError::invalid_params("successor", "is required"))?;
    state
        .control
        .reassign_role_objects(&caller, branch, id, &successor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::check_query_safety;
    use crate::error::ErrorCode;

    #[test]
    fn only_query_safety_off_is_accepted() {
        assert!(check_query_safety("f", None).is_ok());
        assert!(check_query_safety("f", Some("off")).is_ok());
        let refused = check_query_safety("f", Some("warn")).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::Unprocessable);
        let invalid = check_query_safety("f", Some("maybe")).unwrap_err();
        assert_eq!(invalid.code(), ErrorCode::InvalidParams);
    }
}
