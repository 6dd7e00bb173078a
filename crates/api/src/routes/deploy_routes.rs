//! The routes of deploy requests and the deploy queue (kept apart from the main table so
//! each file stays small).

use super::{RouteSpec, deploys};
use crate::AppState;
use axum::http::Method;
use axum::routing::{MethodRouter, get, patch, post, put};
use dbplane_control::operations::{self, OperationAccess};

pub fn table() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    let route = |operation: &'static OperationAccess, method, path, handler| {
        (
            RouteSpec {
                operation,
                method,
                path,
            },
            handler,
        )
    };
    let requests = "/v1/organizations/{organization}/databases/{database}/deploy-requests";
    let request = "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}";
    macro_rules! under {
        ($suffix:literal) => {
            concat!(
                "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/",
                $suffix
            )
        };
    }
    use operations as ops;
    vec![
        route(
            &ops::LIST_DEPLOY_REQUESTS,
            Method::GET,
            requests,
            get(deploys::list_deploy_requests),
        ),
        route(
            &ops::CREATE_DEPLOY_REQUEST,
            Method::POST,
            requests,
            post(deploys::create_deploy_request),
        ),
        route(
            &ops::GET_DEPLOY_REQUEST,
            Method::GET,
            request,
            get(deploys::get_deploy_request),
        ),
        route(
            &ops::CLOSE_DEPLOY_REQUEST,
            Method::PATCH,
            request,
            patch(deploys::close_deploy_request),
        ),
        route(
            &ops::COMPLETE_GATED_DEPLOY_REQUEST,
            Method::POST,
            under!("apply-deploy"),
            post(deploys::complete_gated_deploy_request),
        ),
        route(
            &ops::UPDATE_AUTO_APPLY,
            Method::PUT,
            under!("auto-apply"),
            put(deploys::update_auto_apply),
        ),
        route(
            &ops::UPDATE_AUTO_DELETE_BRANCH,
            Method::PUT,
            under!("auto-delete-branch"),
            put(deploys::update_auto_delete_branch),
        ),
        route(
            &ops::CANCEL_DEPLOY_REQUEST,
            Method::POST,
            under!("cancel"),
            post(deploys::cancel_deploy_request),
        ),
        route(
            &ops::COMPLETE_ERRORED_DEPLOY,
            Method::POST,
            under!("complete-deploy"),
            post(deploys::complete_errored_deploy),
        ),
        route(
            &ops::QUEUE_DEPLOY_REQUEST,
            Method::POST,
            under!("deploy"),
            post(deploys::queue_deploy_request),
        ),
        route(
            &ops::GET_DEPLOYMENT,
            Method::GET,
            under!("deployment"),
            get(deploys::get_deployment),
        ),
        route(
            &ops::FORCE_CUTOVER_DEPLOY_REQUEST,
            Method::POST,
            under!("force-cutover"),
            post(deploys::force_cutover_deploy_request),
        ),
        route(
            &ops::LIST_DEPLOY_OPERATIONS,
            Method::GET,
            under!("operations"),
            get(deploys::list_deploy_operations),
        ),
        route(
            &ops::GET_DEPLOY_REQUEST_DIFF,
            Method::GET,
            under!("diff"),
            get(deploys::get_deploy_request_diff),
        ),
        route(
            &ops::COMPLETE_REVERT,
            Method::POST,
            under!("revert"),
            post(deploys::complete_revert),
        ),
        route(
            &ops::LIST_DEPLOY_REQUEST_REVIEWS,
            Method::GET,
            under!("reviews"),
            get(deploys::list_deploy_request_reviews),
        ),
        route(
            &ops::REVIEW_DEPLOY_REQUEST,
            Method::POST,
            under!("reviews"),
            post(deploys::review_deploy_request),
        ),
        route(
            &ops::SKIP_REVERT_PERIOD,
            Method::POST,
            under!("skip-revert"),
            post(deploys::skip_revert_period),
        ),
        route(
            &ops::CHECK_DEPLOY_REQUEST_STORAGE,
            Method::GET,
            under!("storage-check"),
            get(deploys::check_deploy_request_storage),
        ),
        route(
            &ops::GET_DEPLOY_REQUEST_THROTTLER,
            Method::GET,
            under!("throttler"),
            get(deploys::get_deploy_request_throttler),
        ),
        route(
            &ops::UPDATE_DEPLOY_REQUEST_THROTTLER,
            Method::PATCH,
            under!("throttler"),
            patch(deploys::update_deploy_request_throttler),
        ),
        route(
            &ops::GET_DATABASE_THROTTLER,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/throttler",
            get(deploys::get_database_throttler),
        ),
        route(
            &ops::UPDATE_DATABASE_THROTTLER,
            Method::PATCH,
            "/v1/organizations/{organization}/databases/{database}/throttler",
            patch(deploys::update_database_throttler),
        ),
        route(
            &ops::GET_DEPLOY_QUEUE,
            Method::GET,
            "/v1/organizations/{organization}/databases/{database}/deploy-queue",
            get(deploys::get_deploy_queue),
        ),
    ]
}
