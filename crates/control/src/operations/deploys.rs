//! Deploy requests and the deploy queue (semantics.md §8–§9).

use super::{OperationAccess, Requirement};
use dbplane_domain::Access;
use dbplane_domain::Access::*;

// Accesses from the spec's authorization blocks.
const DEPLOY_READ: &[Access] = &[ReadDeployRequest];
const DEPLOY_WRITE: &[Access] = &[CreateDeployRequest];
const DEPLOY_REVIEW: &[Access] = &[ApproveDeployRequest, ReviewDeployRequest];
const DEPLOY_READ_OR_WRITE: &[Access] = &[ReadDeployRequest, CreateDeployRequest];
operation!(
    LIST_DEPLOY_REQUESTS,
    "list_deploy_requests",
    Requirement::Database(DEPLOY_READ)
);
operation!(
    CREATE_DEPLOY_REQUEST,
    "create_deploy_request",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    GET_DEPLOY_REQUEST,
    "get_deploy_request",
    Requirement::Database(DEPLOY_READ)
);
operation!(
    CLOSE_DEPLOY_REQUEST,
    "close_deploy_request",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    COMPLETE_GATED_DEPLOY_REQUEST,
    "complete_gated_deploy_request",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    UPDATE_AUTO_APPLY,
    "update_auto_apply",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    UPDATE_AUTO_DELETE_BRANCH,
    "update_auto_delete_branch",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    CANCEL_DEPLOY_REQUEST,
    "cancel_deploy_request",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    COMPLETE_ERRORED_DEPLOY,
    "complete_errored_deploy",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    QUEUE_DEPLOY_REQUEST,
    "queue_deploy_request",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    GET_DEPLOYMENT,
    "get_deployment",
    Requirement::Database(DEPLOY_READ)
);
operation!(
    FORCE_CUTOVER_DEPLOY_REQUEST,
    "force_cutover_deploy_request",
    Requirement::Database(DEPLOY_WRITE)
);
// Not in the spec (semantics.md §8.5); reading the deploy request is enough.
operation!(
    GET_DEPLOY_REQUEST_DIFF,
    "get_deploy_request_diff",
    Requirement::Database(DEPLOY_READ)
);
operation!(
    LIST_DEPLOY_OPERATIONS,
    "list_deploy_operations",
    Requirement::Database(DEPLOY_READ)
);
operation!(
    COMPLETE_REVERT,
    "complete_revert",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    LIST_DEPLOY_REQUEST_REVIEWS,
    "list_deploy_request_reviews",
    Requirement::Database(DEPLOY_READ)
);
operation!(
    REVIEW_DEPLOY_REQUEST,
    "review_deploy_request",
    Requirement::Database(DEPLOY_REVIEW)
);
operation!(
    SKIP_REVERT_PERIOD,
    "skip_revert_period",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    CHECK_DEPLOY_REQUEST_STORAGE,
    "check_deploy_request_storage",
    Requirement::Database(DEPLOY_READ)
);
operation!(
    GET_DEPLOY_REQUEST_THROTTLER,
    "get_deploy_request_throttler",
    Requirement::Database(DEPLOY_READ)
);
operation!(
    UPDATE_DEPLOY_REQUEST_THROTTLER,
    "update_deploy_request_throttler",
    Requirement::Database(DEPLOY_WRITE)
);
operation!(
    GET_DATABASE_THROTTLER,
    "get_database_throttler",
    Requirement::Database(DEPLOY_READ_OR_WRITE)
);
operation!(
    UPDATE_DATABASE_THROTTLER,
    "update_database_throttler",
    Requirement::Database(&[WriteDatabase])
);
// The spec lists no access for the queue; reading deploy requests is ours.
operation!(
    GET_DEPLOY_QUEUE,
    "get_deploy_queue",
    Requirement::Database(DEPLOY_READ)
);
