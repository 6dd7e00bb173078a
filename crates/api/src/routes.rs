//! The route table: every implemented operation with its method and path. It drives the
//! router and the published OpenAPI document, so the two cannot disagree.

mod organizations;
mod regions;
mod service_tokens;
mod users;

use crate::AppState;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post};
use dbplane_control::operations::{self, OperationAccess};

/// One implemented operation.
pub struct RouteSpec {
    pub operation: &'static OperationAccess,
    pub method: Method,
    /// Axum and OpenAPI share the `{param}` syntax.
    pub path: &'static str,
}

/// Every route with its handler.
pub fn table() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    let route = |operation, method, path, handler| {
        (
            RouteSpec {
                operation,
                method,
                path,
            },
            handler,
        )
    };
    let tokens = "/v1/organizations/{organization}/service-tokens";
    vec![
        route(
            &operations::GET_CURRENT_USER,
            Method::GET,
            "/v1/user",
            get(users::get_current_user),
        ),
        route(
            &operations::LIST_PUBLIC_REGIONS,
            Method::GET,
            "/v1/regions",
            get(regions::list_public_regions),
        ),
        route(
            &operations::LIST_REGIONS_FOR_ORGANIZATION,
            Method::GET,
            "/v1/organizations/{organization}/regions",
            get(regions::list_regions_for_organization),
        ),
        route(
            &operations::LIST_ORGANIZATIONS,
            Method::GET,
            "/v1/organizations",
            get(organizations::list_organizations),
        ),
        route(
            &operations::GET_ORGANIZATION,
            Method::GET,
            "/v1/organizations/{organization}",
            get(organizations::get_organization),
        ),
        route(
            &operations::UPDATE_ORGANIZATION,
            Method::PATCH,
            "/v1/organizations/{organization}",
            patch(organizations::update_organization),
        ),
        route(
            &operations::LIST_SERVICE_TOKENS,
            Method::GET,
            tokens,
            get(service_tokens::list_service_tokens),
        ),
        route(
            &operations::CREATE_SERVICE_TOKEN,
            Method::POST,
            tokens,
            post(service_tokens::create_service_token),
        ),
        route(
            &operations::GET_SERVICE_TOKEN,
            Method::GET,
            "/v1/organizations/{organization}/service-tokens/{id}",
            get(service_tokens::get_service_token),
        ),
        route(
            &operations::DELETE_SERVICE_TOKEN,
            Method::DELETE,
            "/v1/organizations/{organization}/service-tokens/{id}",
            delete(service_tokens::delete_service_token),
        ),
        route(
            &operations::LIST_SERVICE_TOKEN_ACCESSES,
            Method::GET,
            "/v1/organizations/{organization}/service-tokens/{id}/access",
            get(service_tokens::list_accesses),
        ),
        route(
            &operations::ADD_SERVICE_TOKEN_ACCESSES,
            Method::POST,
            "/v1/organizations/{organization}/service-tokens/{id}/access",
            post(service_tokens::add_accesses),
        ),
        route(
            &operations::REMOVE_SERVICE_TOKEN_ACCESSES,
            Method::DELETE,
            "/v1/organizations/{organization}/service-tokens/{id}/access",
            delete(service_tokens::remove_accesses),
        ),
        route(
            &operations::LIST_SERVICE_TOKEN_GRANTS,
            Method::GET,
            "/v1/organizations/{organization}/service-tokens/{id}/grants",
            get(service_tokens::list_grants),
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_control_operation_has_exactly_one_route() {
        let table = super::table();
        for operation in dbplane_control::operations::ALL {
            let routes = table
                .iter()
                .filter(|(spec, _)| spec.operation.operation_id == operation.operation_id)
                .count();
            assert_eq!(routes, 1, "{}", operation.operation_id);
        }
        assert_eq!(table.len(), dbplane_control::operations::ALL.len());
    }
}
