//! Deploy request shapes against the contract: a fresh request, a running one, one in
//! its revert window with a revert request and preceding deployments.

use super::Checker;
use super::fixtures::{database, organization, paged, pagination, user};
use crate::wire::deploy_request::{
    DeployOperationResponse, DeployRequestResponse, DeploymentResponse,
};
use crate::wire::list::{ListEnvelope, Totals};
use crate::wire::review::ReviewResponse;
use crate::wire::throttler::{StorageCheckResponse, ThrottlerResponse};
use dbplane_control::deploys::{DeployRequestDetails, StorageCheck, Throttler};
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::{BranchId, DatabaseKind};
use dbplane_domain::deploys::{
    DeployOperation, DeployOperationKind, DeployOperationState, DeployRequest, DeployRequestId,
    DeployRequestState, DeployReview, DeployReviewId, Deployment, DeploymentState, RevertRequest,
    ReviewState,
};
use std::collections::BTreeMap;

const REQUESTS: &str = "/v1/organizations/acme/databases/shop/deploy-requests";
const REQUEST: &str = "/v1/organizations/acme/databases/shop/deploy-requests/1";

fn operation(state: DeployOperationState, progress: Option<f64>) -> DeployOperation {
    let now = Timestamp::from_unix_millis(1_700_000_000_000);
    DeployOperation {
        id: "op1".into(),
        table_name: "users".into(),
        kind: DeployOperationKind::Alter,
        ddl_statement: "ALTER TABLE `users` ADD COLUMN `age` int".into(),
        can_drop_data: false,
        removed_foreign_key_names: Vec::new(),
        instant_eligible: true,
        is_view: false,
        state,
        progress_percentage: progress,
        eta_seconds: progress.map(|_| 3.0),
        rows_copied: 10,
        rows_total: 20,
        deploy_errors: None,
        throttled_at: None,
        created_at: now,
        updated_at: now,
    }
}

fn details(state: DeploymentState, running: bool) -> DeployRequestDetails {
    let user = user();
    let mut deployment = Deployment::new(true, false, 0);
    deployment.state = state;
    if running {
        deployment.operations = vec![operation(DeployOperationState::InProgress, Some(50.0))];
        deployment.queued_at = Some(Timestamp::now());
        deployment.started_at = Some(Timestamp::now());
        deployment.actor = Some(user.id.clone());
        deployment.throttle_ratio = 20;
        deployment.lint_errors = vec![serde_json::json!({"lint_error": "NO_PRIMARY_KEY"})];
        deployment.revert = Some(RevertRequest {
            id: "rev1".into(),
            waiting_period_end_at: Timestamp::now(),
            actor: Some(user.id.clone()),
            finished_at: None,
            cancelled_at: None,
            revert_errors: None,
        });
    } else {
        deployment.operations = vec![operation(DeployOperationState::Pending, None)];
    }
    let request = DeployRequest {
        id: DeployRequestId::generate(),
        database_id: database(DatabaseKind::Mysql).id,
        number: 1,
        branch_id: BranchId::generate(),
        into_branch_id: BranchId::generate(),
        branch_name: "dev".into(),
        into_branch_name: "main".into(),
        notes: "add <age>".into(),
        actor: Some(user.id.clone()),
        created_by_token: None,
        state: DeployRequestState::Open,
        closed_by: None,
        closed_at: None,
        deployed_at: running.then(Timestamp::now),
        branch_deleted_by: None,
        branch_deleted_at: None,
        deployment,
        version: 1,
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
    };
    let preceding = if running {
        vec![request.clone()]
    } else {
        Vec::new()
    };
    let mut users = BTreeMap::new();
    users.insert(user.id.clone(), user);
    DeployRequestDetails {
        organization: organization(),
        database: database(DatabaseKind::Mysql),
        branch_name: "dev".into(),
        into_branch_name: "main".into(),
        approved: running,
        preceding,
        queue_paused: running,
        queue_pause_reason: running.then(|| "waiting".to_string()),
        // Both nullabilities of `table_recently_used_at`.
        tables_recently_used: if running {
            request_tables(&request)
        } else {
            Default::default()
        },
        request,
        users,
    }
}

fn request_tables(
    request: &dbplane_domain::deploys::DeployRequest,
) -> std::collections::HashMap<String, Timestamp> {
    request
        .deployment
        .operations
        .iter()
        .map(|o| {
            (
                o.table_name.clone(),
                Timestamp::from_unix_millis(1_700_000_400_000),
            )
        })
        .collect()
}

fn throttler() -> Throttler {
    Throttler {
        keyspace: "shop".into(),
        configurable_id: "abc".into(),
        configurable_name: "#1".into(),
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        ratio: 30,
    }
}

pub(super) fn check_deploys(checker: &mut Checker) {
    let base = super::fixtures::BASE;
    for (state, running) in [
        (DeploymentState::Pending, false),
        (DeploymentState::InProgress, true),
        (DeploymentState::CompletePendingRevert, true),
    ] {
        let render = || DeployRequestResponse::new(details(state, running), base);
        checker.check("POST", REQUESTS, 201, render());
        checker.check("GET", REQUEST, 200, render());
        checker.check("PATCH", REQUEST, 200, render());
        for action in [
            "apply-deploy",
            "cancel",
            "complete-deploy",
            "deploy",
            "force-cutover",
            "revert",
            "skip-revert",
        ] {
            checker.check("POST", &format!("{REQUEST}/{action}"), 200, render());
        }
        checker.check("PUT", &format!("{REQUEST}/auto-apply"), 200, render());
        checker.check(
            "PUT",
            &format!("{REQUEST}/auto-delete-branch"),
            200,
            render(),
        );
        let list = ListEnvelope::new(
            &pagination(REQUESTS),
            paged(vec![details(state, running)]),
            Totals::Include,
            |d| DeployRequestResponse::new(d, base),
        );
        checker.check("GET", REQUESTS, 200, list);
        let shown = details(state, running);
        checker.check(
            "GET",
            &format!("{REQUEST}/deployment"),
            200,
            DeploymentResponse::new(&shown),
        );
        let deployment = shown.request.deployment.clone();
        let operations = ListEnvelope::new(
            &pagination(&format!("{REQUEST}/operations")),
            paged(deployment.operations.clone()),
            Totals::Omit,
            |o| {
                let used = shown.tables_recently_used.get(&o.table_name).copied();
                DeployOperationResponse::new(&o, "shop", &deployment, used)
            },
        );
        checker.check("GET", &format!("{REQUEST}/operations"), 200, operations);
        super::check_diff(checker, &format!("{REQUEST}/diff"));
        let queue_path = "/v1/organizations/acme/databases/shop/deploy-queue";
        let queue = ListEnvelope::new(
            &pagination(queue_path),
            paged(vec![details(state, running)]),
            Totals::Omit,
            |d| DeploymentResponse::new(&d),
        );
        checker.check("GET", queue_path, 200, queue);
    }
    let review = || {
        (
            DeployReview {
                id: DeployReviewId::generate(),
                deploy_request_id: DeployRequestId::generate(),
                actor: None,
                token: None,
                state: ReviewState::Approved,
                body: "ok".into(),
                dismissed_at: None,
                created_at: Timestamp::now(),
            },
            Some(user()),
        )
    };
    checker.check(
        "POST",
        &format!("{REQUEST}/reviews"),
        201,
        ReviewResponse::new(review()),
    );
    let reviews = ListEnvelope::new(
        &pagination(&format!("{REQUEST}/reviews")),
        paged(vec![review()]),
        Totals::Omit,
        ReviewResponse::new,
    );
    checker.check("GET", &format!("{REQUEST}/reviews"), 200, reviews);
    for path in [
        format!("{REQUEST}/throttler"),
        "/v1/organizations/acme/databases/shop/throttler".to_string(),
    ] {
        checker.check("GET", &path, 200, ThrottlerResponse::from(throttler()));
        checker.check("PATCH", &path, 200, ThrottlerResponse::from(throttler()));
    }
    let storage = StorageCheck {
        keyspace: "shop".into(),
        enough_storage: true,
        storage_bytes_needed: 1024,
        disk: Some((1 << 30, 1 << 32)),
        tables: vec![("users".into(), 1024)],
    };
    checker.check(
        "GET",
        &format!("{REQUEST}/storage-check"),
        200,
        StorageCheckResponse::from(storage),
    );
}
