use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Authenticated, Pagination, PathParams};
use crate::wire::list::{ListEnvelope, Totals};
use crate::wire::region::RegionResponse;
use axum::Json;
use axum::extract::State;

pub async fn list_public_regions(
    State(state): State<AppState>,
    pagination: Pagination,
) -> Json<ListEnvelope<RegionResponse>> {
    let regions = state.control.list_public_regions(pagination.request);
    Json(ListEnvelope::new(
        &pagination,
        regions,
        Totals::Omit,
        RegionResponse::public,
    ))
}

pub async fn list_regions_for_organization(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    PathParams(organization): PathParams<String>,
    pagination: Pagination,
) -> ApiResult<Json<ListEnvelope<RegionResponse>>> {
    let regions = state
        .control
        .list_organization_regions(&caller, &organization, pagination.request)
        .await?;
    Ok(Json(ListEnvelope::new(
        &pagination,
        regions,
        Totals::Omit,
        RegionResponse::for_organization,
    )))
}
