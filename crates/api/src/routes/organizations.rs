use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Authenticated, JsonBody, Pagination, PathParams};
use crate::wire::list::{ListEnvelope, Totals};
use crate::wire::organization::OrganizationResponse;
use axum::Json;
use axum::extract::State;
use dbplane_control::organizations::OrganizationChanges;
use serde::Deserialize;

pub async fn list_organizations(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<OrganizationResponse>>> {
    let organizations = state
        .control
        .list_organizations(&caller, pagination.request)
        .await?;
    Ok(Json(ListEnvelope::new(
        &pagination,
        organizations,
        Totals::Omit,
        Into::into,
    )))
}

pub async fn get_organization(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(organization): PathParams<String>,
) -> ApiResult<Json<OrganizationResponse>> {
    Ok(Json(
        state
            .control
            .get_organization(&caller, &organization)
            .await?
            .into(),
    ))
}

#[derive(Deserialize)]
pub struct UpdateOrganizationBody {
    billing_email: Option<String>,
    idp_managed_roles: Option<bool>,
    invoice_budget_amount: Option<i64>,
}

pub async fn update_organization(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(organization): PathParams<String>,
    JsonBody(body): JsonBody<UpdateOrganizationBody>,
) -> ApiResult<Json<OrganizationResponse>> {
    let changes = OrganizationChanges {
        billing_email: body.billing_email,
        idp_managed_roles: body.idp_managed_roles,
        invoice_budget_amount: body.invoice_budget_amount,
    };
    let updated = state
        .control
        .update_organization(&caller, &organization, changes)
        .await?;
    Ok(Json(updated.into()))
}
