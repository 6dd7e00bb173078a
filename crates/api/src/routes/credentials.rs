//! Branch passwords (MySQL). Postgres roles are in `roles.rs`.

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Authenticated, JsonBody, Pagination, PathParams};
use crate::wire::list::{ListEnvelope, Totals};
use crate::wire::password::PasswordResponse;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dbplane_control::ControlError;
use dbplane_control::credentials::{CreateCredential, CredentialFamily};
use dbplane_control::operations;
use serde::Deserialize;

/// `(organization, database, branch)`.
pub type BranchPath = (String, String, String);
/// `(organization, database, branch, id)`.
pub type CredentialPath = (String, String, String, String);

/// Borrows the `(organization, database, branch)` the credential services take.
pub fn branch_path(path: &BranchPath) -> (&str, &str, &str) {
    (&path.0, &path.1, &path.2)
}

/// The branch part and the id of a credential path.
pub fn credential_path(path: &CredentialPath) -> ((&str, &str, &str), &str) {
    ((&path.0, &path.1, &path.2), &path.3)
}

/// dbplane's accounts are not limited by source address, so only "allow all" (no list,
/// or an empty one) is accepted: a non-empty `cidrs` is refused rather than ignored,
/// because ignoring it would leave the password open to addresses the caller meant to
/// shut out.
fn refuse_cidrs(cidrs: Option<&[String]>) -> Result<(), ControlError> {
    match cidrs {
        Some(list) if !list.is_empty() => Err(ControlError::Unprocessable(
            "IP restrictions on passwords (cidrs) are not supported".into(),
        )),
        _ => Ok(()),
    }
}

pub async fn list_passwords(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<BranchPath>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<PasswordResponse>>> {
    let passwords = state
        .control
        .list_credentials(
            &caller,
            branch_path(&path),
            CredentialFamily::Password,
            pagination.request,
        )
        .await?;
    let base_url = pagination.base_url.clone();
    Ok(Json(ListEnvelope::new(
        &pagination,
        passwords,
        Totals::Include,
        |details| PasswordResponse::new(details, &base_url),
    )))
}

#[derive(Deserialize)]
pub struct CreatePasswordBody {
    name: Option<String>,
    role: Option<String>,
    replica: Option<bool>,
    ttl: Option<i64>,
    /// See [`refuse_cidrs`].
    cidrs: Option<Vec<String>>,
    /// Accepted and ignored: there is no edge, every connection goes to the server.
    #[allow(dead_code)]
    direct_vtgate: Option<bool>,
}

pub async fn create_password(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<BranchPath>,
    JsonBody(body): JsonBody<CreatePasswordBody>,
) -> ApiResult<(StatusCode, Json<PasswordResponse>)> {
    refuse_cidrs(body.cidrs.as_deref())?;
    let input = CreateCredential {
        name: body.name,
        role: body.role,
        ttl: body.ttl,
        replica: body.replica,
        inherited_roles: None,
        is_default: false,
    };
    let created = state
        .control
        .create_credential(
            &caller,
            branch_path(&path),
            CredentialFamily::Password,
            input,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PasswordResponse::new(created, &state.base_url())),
    ))
}

pub async fn get_password(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
) -> ApiResult<Json<PasswordResponse>> {
    let (branch, id) = credential_path(&path);
    let details = state
        .control
        .get_credential(
            &caller,
            branch,
            CredentialFamily::Password,
            id,
            &operations::GET_PASSWORD,
        )
        .await?;
    Ok(Json(PasswordResponse::new(details, &state.base_url())))
}

#[derive(Deserialize)]
pub struct UpdatePasswordBody {
    name: Option<String>,
    /// See [`refuse_cidrs`].
    cidrs: Option<Vec<String>>,
}

pub async fn update_password(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
    JsonBody(body): JsonBody<UpdatePasswordBody>,
) -> ApiResult<Json<PasswordResponse>> {
    refuse_cidrs(body.cidrs.as_deref())?;
    let (branch, id) = credential_path(&path);
    let details = state
        .control
        .rename_credential(
            &caller,
            branch,
            CredentialFamily::Password,
            id,
            body.name,
            &operations::UPDATE_PASSWORD,
        )
        .await?;
    Ok(Json(PasswordResponse::new(details, &state.base_url())))
}

pub async fn renew_password(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
) -> ApiResult<Json<PasswordResponse>> {
    let (branch, id) = credential_path(&path);
    let details = state
        .control
        .renew_credential(
            &caller,
            branch,
            CredentialFamily::Password,
            id,
            &operations::RENEW_PASSWORD,
        )
        .await?;
    Ok(Json(PasswordResponse::new(details, &state.base_url())))
}

pub async fn delete_password(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(path): PathParams<CredentialPath>,
) -> ApiResult<StatusCode> {
    let (branch, id) = credential_path(&path);
    state
        .control
        .delete_credential(&caller, branch, CredentialFamily::Password, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::refuse_cidrs;

    #[test]
    fn only_allow_all_cidrs_are_accepted() {
        assert!(refuse_cidrs(None).is_ok());
        assert!(refuse_cidrs(Some(&[])).is_ok());
        assert!(refuse_cidrs(Some(&["10.0.0.0/8".to_string()])).is_err());
    }
}
