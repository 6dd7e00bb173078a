//! The route table: every implemented operation with its method and path. It drives the
//! router and the published OpenAPI document, so the two cannot disagree.

mod backups;
mod branches;
mod credentials;
mod databases;
mod deploy_routes;
mod deploys;
mod organizations;
mod regions;
mod roles;
mod service_tokens;
mod users;

use crate::AppState;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
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
    let databases_path = "/v1/organizations/{organization}/databases";
    let database_path = "/v1/organizations/{organization}/databases/{database}";
    let branches_path = "/v1/organizations/{organization}/databases/{database}/branches";
    let branch_path = "/v1/organizations/{organization}/databases/{database}/branches/{branch}";
    let safe_migrations_path =
        "/v1/organizations/{organization}/databases/{database}/branches/{branch}/safe-migrations";
    let passwords_path =
        "/v1/organizations/{organization}/databases/{database}/branches/{branch}/passwords";
    let password_path =
        "/v1/organizations/{organization}/databases/{database}/branches/{branch}/passwords/{id}";
    let roles_path =
        "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles";
    let role_path =
        "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}";
    let backups_path =
        "/v1/organizations/{organization}/databases/{database}/branches/{branch}/backups";
    let backup_path =
        "/v1/organizations/{organization}/databases/{database}/branches/{branch}/backups/{id}";
    let policies_path = "/v1/organizations/{organization}/databases/{database}/backup-policies";
    let policy_path = "/v1/organizations/{organization}/databases/{database}/backup-policies/{id}";
    let mut routes = vec![
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
        route(
            &operations::LIST_DATABASES,
            Method::GET,
            databases_path,
            get(databases::list_databases),
        ),
        route(
            &operations::CREATE_DATABASE,
            Method::POST,
            databases_path,
            post(databases::create_database),
        ),
        route(
            &operations::GET_DATABASE,
            Method::GET,
            database_path,
            get(databases::get_database),
        ),
        route(
            &operations::UPDATE_DATABASE_SETTINGS,
            Method::PATCH,
            database_path,
            patch(databases::update_database_settings),
        ),
        route(
            &operations::DELETE_DATABASE,
            Method::DELETE,
            database_path,
            delete(databases::delete_database),
        ),
        route(
            &operations::LIST_DATABASE_REGIONS,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/regions",
            get(databases::list_database_regions),
        ),
        route(
            &operations::LIST_READ_ONLY_REGIONS,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/read-only-regions",
            get(databases::list_read_only_regions),
        ),
        route(
            &operations::LIST_CLUSTER_SIZE_SKUS,
            Method::GET,
            "/v1/organizations/{organization}/cluster-size-skus",
            get(databases::list_cluster_size_skus),
        ),
        route(
            &operations::LIST_BRANCHES,
            Method::GET,
            branches_path,
            get(branches::list_branches),
        ),
        route(
            &operations::CREATE_BRANCH,
            Method::POST,
            branches_path,
            post(branches::create_branch),
        ),
        route(
            &operations::GET_BRANCH,
            Method::GET,
            branch_path,
            get(branches::get_branch),
        ),
        route(
            &operations::UPDATE_BRANCH,
            Method::PATCH,
            branch_path,
            patch(branches::update_branch),
        ),
        route(
            &operations::UPDATE_BRANCH_CLUSTER_CONFIG,
            Method::PATCH,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/cluster",
            patch(branches::update_branch_cluster_config),
        ),
        route(
            &operations::DELETE_BRANCH,
            Method::DELETE,
            branch_path,
            delete(branches::delete_branch),
        ),
        route(
            &operations::PROMOTE_BRANCH,
            Method::POST,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/promote",
            post(branches::promote_branch),
        ),
        route(
            &operations::DEMOTE_BRANCH,
            Method::POST,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/demote",
            post(branches::demote_branch),
        ),
        route(
            &operations::ENABLE_SAFE_MIGRATIONS,
            Method::POST,
            safe_migrations_path,
            post(branches::enable_safe_migrations),
        ),
        route(
            &operations::DISABLE_SAFE_MIGRATIONS,
            Method::DELETE,
            safe_migrations_path,
            delete(branches::disable_safe_migrations),
        ),
        route(
            &operations::UPDATE_SAFE_MIGRATIONS,
            Method::PUT,
            safe_migrations_path,
            put(branches::update_safe_migrations),
        ),
        route(
            &operations::GET_BRANCH_SCHEMA,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/schema",
            get(branches::get_branch_schema),
        ),
        route(
            &operations::GET_BRANCH_DIFF,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/diff",
            get(branches::get_branch_diff),
        ),
        route(
            &operations::LINT_BRANCH_SCHEMA,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/schema/lint",
            get(branches::lint_branch_schema),
        ),
        route(
            &operations::LIST_KEYSPACES,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/keyspaces",
            get(branches::list_keyspaces),
        ),
        route(
            &operations::GET_KEYSPACE,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/keyspaces/{keyspace}",
            get(branches::get_keyspace),
        ),
        route(
            &operations::LIST_PASSWORDS,
            Method::GET,
            passwords_path,
            get(credentials::list_passwords),
        ),
        route(
            &operations::CREATE_PASSWORD,
            Method::POST,
            passwords_path,
            post(credentials::create_password),
        ),
        route(
            &operations::GET_PASSWORD,
            Method::GET,
            password_path,
            get(credentials::get_password),
        ),
        route(
            &operations::UPDATE_PASSWORD,
            Method::PATCH,
            password_path,
            patch(credentials::update_password),
        ),
        route(
            &operations::RENEW_PASSWORD,
            Method::POST,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/passwords/{id}/renew",
            post(credentials::renew_password),
        ),
        route(
            &operations::DELETE_PASSWORD,
            Method::DELETE,
            password_path,
            delete(credentials::delete_password),
        ),
        route(
            &operations::LIST_ROLES,
            Method::GET,
            roles_path,
            get(roles::list_roles),
        ),
        route(
            &operations::CREATE_ROLE,
            Method::POST,
            roles_path,
            post(roles::create_role),
        ),
        route(
            &operations::GET_ROLE,
            Method::GET,
            role_path,
            get(roles::get_role),
        ),
        route(
            &operations::UPDATE_ROLE,
            Method::PATCH,
            role_path,
            patch(roles::update_role),
        ),
        route(
            &operations::RENEW_ROLE,
            Method::POST,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}/renew",
            post(roles::renew_role),
        ),
        route(
            &operations::DELETE_ROLE,
            Method::DELETE,
            role_path,
            delete(roles::delete_role),
        ),
        route(
            &operations::RESET_DEFAULT_ROLE,
            Method::POST,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/reset-default",
            post(roles::reset_default_role),
        ),
        route(
            &operations::GET_DEFAULT_ROLE,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/default",
            get(roles::get_default_role),
        ),
        route(
            &operations::RESET_ROLE,
            Method::POST,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}/reset",
            post(roles::reset_role),
        ),
        route(
            &operations::REASSIGN_ROLE_OBJECTS,
            Method::POST,
            "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}/reassign",
            post(roles::reassign_role_objects),
        ),
        route(
            &operations::LIST_BACKUPS,
            Method::GET,
            backups_path,
            get(backups::list_backups),
        ),
        route(
            &operations::CREATE_BACKUP,
            Method::POST,
            backups_path,
            post(backups::create_backup),
        ),
        route(
            &operations::GET_BACKUP,
            Method::GET,
            backup_path,
            get(backups::get_backup),
        ),
        route(
            &operations::UPDATE_BACKUP,
            Method::PATCH,
            backup_path,
            patch(backups::update_backup),
        ),
        route(
            &operations::DELETE_BACKUP,
            Method::DELETE,
            backup_path,
            delete(backups::delete_backup),
        ),
        route(
            &operations::LIST_BACKUP_POLICIES,
            Method::GET,
            policies_path,
            get(backups::list_backup_policies),
        ),
        route(
            &operations::CREATE_BACKUP_POLICY,
            Method::POST,
            policies_path,
            post(backups::create_backup_policy),
        ),
        route(
            &operations::GET_BACKUP_POLICY,
            Method::GET,
            policy_path,
            get(backups::get_backup_policy),
        ),
        route(
            &operations::UPDATE_BACKUP_POLICY,
            Method::PATCH,
            policy_path,
            patch(backups::update_backup_policy),
        ),
        route(
            &operations::DELETE_BACKUP_POLICY,
            Method::DELETE,
            policy_path,
            delete(backups::delete_backup_policy),
        ),
    ];
    routes.extend(deploy_routes::table());
    routes
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

    /// Axum panics on conflicting routes when they are added; add them all.
    #[test]
    fn routes_build_into_a_router() {
        let mut router = axum::Router::<crate::AppState>::new();
        for (spec, handler) in super::table() {
            router = router.route(spec.path, handler);
        }
        drop(router);
    }
}
