//! The authorization matrix for the data-plane operations (databases, branches,
//! passwords, roles): without the access a token gets 404, with any one of the listed
//! accesses the call succeeds, and a token of another organization sees nothing.
//! Targets are development branches, so the development variants of accesses apply.

mod support;

use dbplane_testkit::{ApiClient, ApiResponse, TestServer};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
static UNIQUE: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", UNIQUE.fetch_add(1, Ordering::Relaxed))
}

struct Published {
    operation_id: String,
    method: Method,
    path: String,
    accesses: Vec<String>,
}

async fn data_plane_operations(client: &ApiClient) -> Vec<Published> {
    let document = client.get("/v1/openapi.json").await.body;
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        if !path.contains("/databases") && !path.contains("cluster-size-skus") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            operations.push(Published {
                operation_id: operation["operationId"].as_str().unwrap().to_string(),
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                accesses: operation["x-service-token-accesses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect(),
            });
        }
    }
    operations.sort_by(|a, b| a.operation_id.cmp(&b.operation_id));
    operations
}

async fn token_with(admin: &ApiClient, grants: &[(Option<&str>, &str)]) -> ApiClient {
    let created = admin
        .post("/v1/organizations/acme/service-tokens", json!({}))
        .await;
    let id = created.body["id"].as_str().unwrap().to_string();
    for (database, access) in grants {
        let mut body = json!({"access": [access]});
        if let Some(database) = database {
            body["database"] = json!(database);
        }
        let granted = admin
            .post(
                &format!("/v1/organizations/acme/service-tokens/{id}/access"),
                body,
            )
            .await;
        assert_eq!(granted.status, 200, "{}", granted.body);
    }
    admin.with_authorization(Some(format!(
        "{id}:{}",
        created.body["token"].as_str().unwrap()
    )))
}

/// Fresh targets for one call, made with the admin token.
async fn prepare(admin: &ApiClient, operation: &Published) -> (String, Option<Value>) {
    let postgres = operation.path.contains("/roles");
    let database = if postgres { "ledger" } else { "shop" };
    let database_path = format!("/v1/organizations/acme/databases/{database}");
    let mut path = operation
        .path
        .replace("{organization}", "acme")
        .replace("{keyspace}", database);
    let id = operation.operation_id.as_str();
    if id == "delete_database" {
        let name = unique("doomed");
        ready_database(admin, "acme", &name, "mysql").await;
        path = path.replace("{database}", &name);
    } else {
        path = path.replace("{database}", database);
    }
    if path.contains("{branch}") {
        let branch = if id == "delete_branch" {
            let name = unique("doomed");
            ready_branch(admin, &database_path, &name, None).await;
            name
        } else {
            "dev".to_string()
        };
        path = path.replace("{branch}", &branch);
    }
    if path.contains("{number}") {
        // A fresh deploy request from a fresh branch into `main` (safe migrations on).
        let head = unique("head");
        ready_branch(admin, &database_path, &head, None).await;
        let created = admin
            .post(
                &format!("{database_path}/deploy-requests"),
                json!({"branch": head, "into_branch": "main"}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        path = path.replace("{number}", &created.body["number"].to_string());
    }
    if id == "create_deploy_request" {
        let head = unique("head");
        ready_branch(admin, &database_path, &head, None).await;
        return (path, Some(json!({"branch": head, "into_branch": "main"})));
    }
    if path.contains("/backups/{id}") {
        let backup = successful_dev_backup(admin, &database_path).await;
        path = path.replace("{id}", &backup);
    } else if path.contains("/backup-policies/{id}") {
        let created = admin
            .post(
                &format!("{database_path}/backup-policies"),
                json!({"name": unique("policy")}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        path = path.replace("{id}", created.body["id"].as_str().unwrap());
    } else if path.contains("{id}") {
        let collection = if postgres { "roles" } else { "passwords" };
        let created = admin
            .post(
                &format!("{database_path}/branches/dev/{collection}"),
                json!({"name": unique("target"), "ttl": 3600}),
            )
            .await;
        assert!(created.status < 300, "{}", created.body);
        path = path.replace("{id}", created.body["id"].as_str().unwrap());
    }
    let body = match id {
        "create_database" => Some(json!({"name": unique("made"), "cluster_size": "PS_10"})),
        "create_branch" => Some(json!({"name": unique("made")})),
        "update_database_settings" => Some(json!({"require_approval_for_deploy": false})),
        "update_branch" => Some(json!({"deletion_protected": false})),
        // Targets are development branches: a development size.
        "update_branch_cluster_config" => Some(json!({"cluster_size": "PS_DEV"})),
        "update_safe_migrations" => Some(json!({"safe_migrations": false})),
        "create_password" => Some(json!({"role": "reader"})),
        "create_role" | "enable_safe_migrations" | "promote_branch" => Some(json!({})),
        "update_password" | "update_role" => Some(json!({"name": unique("renamed")})),
        "reassign_role_objects" => Some(json!({"successor": "postgres"})),
        "create_backup" => Some(json!({"retention_unit": "hour", "retention_value": 1})),
        "update_backup" => Some(json!({"protected": false})),
        "create_backup_policy" | "update_backup_policy" => Some(json!({"name": unique("policy")})),
        "close_deploy_request" => Some(json!({"state": "closed"})),
        "update_auto_apply" | "update_auto_delete_branch" => Some(json!({"enable": true})),
        "update_deploy_request_throttler" | "update_database_throttler" => {
            Some(json!({"ratio": 10}))
        }
        "review_deploy_request" => Some(json!({"body": "looks good"})),
        _ => None,
    };
    (path, body)
}

/// A successful backup of `dev`, taken with the admin token.
async fn successful_dev_backup(admin: &ApiClient, database_path: &str) -> String {
    let backups = format!("{database_path}/branches/dev/backups");
    let created = admin.post(&backups, json!({})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("{backups}/{id}");
    dbplane_testkit::wait_until("a backup of dev", READY_TIMEOUT, || {
        let admin = admin.clone();
        let path = path.clone();
        async move { (admin.get(&path).await.body["state"] == "success").then_some(()) }
    })
    .await;
    id
}

/// Deploy request operations a fresh (pending, empty) deploy request refuses by its
/// state: with the access, the state machine answers 422 instead of success.
const NEEDS_A_DEPLOYMENT_STATE: &[&str] = &[
    "queue_deploy_request",
    "cancel_deploy_request",
    "complete_gated_deploy_request",
    "force_cutover_deploy_request",
    "complete_revert",
    "skip_revert_period",
    "complete_errored_deploy",
];

async fn call(
    client: &ApiClient,
    operation: &Published,
    path: &str,
    body: Option<Value>,
) -> ApiResponse {
    client.send(operation.method.clone(), path, body).await
}

/// Puts `dev` back as it was after calls that change it.
async fn restore(admin: &ApiClient, operation: &Published, path: &str) {
    match operation.operation_id.as_str() {
        "promote_branch" => {
            admin
                .post(&path.replace("/promote", "/demote"), json!({}))
                .await;
        }
        "enable_safe_migrations" => {
            admin.delete(path).await;
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_data_plane_operation_checks_its_accesses() {
    let server = TestServer::start_with_clusters(BIN).await;
    let acme = server.bootstrap("acme", "ops@acme.test");
    let globex = server.bootstrap("globex", "ops@globex.test");
    let admin = server.client(Some(acme.header()));
    let outsider = server.client(Some(globex.header()));
    ready_database(&admin, "acme", "shop", "mysql").await;
    ready_database(&admin, "acme", "ledger", "postgresql").await;
    ready_branch(&admin, "/v1/organizations/acme/databases/shop", "dev", None).await;
    ready_branch(
        &admin,
        "/v1/organizations/acme/databases/ledger",
        "dev",
        None,
    )
    .await;
    let safe = admin
        .post(
            "/v1/organizations/acme/databases/shop/branches/main/safe-migrations",
            json!({}),
        )
        .await;
    assert_eq!(safe.status, 200, "{}", safe.body);
    let operations = data_plane_operations(&admin).await;
    assert!(operations.len() >= 30, "{}", operations.len());
    // dbplane's extensions (contract/extensions.json) go through the matrix too.
    for id in ["get_branch_diff", "get_deploy_request_diff"] {
        assert!(
            operations.iter().any(|o| o.operation_id == id),
            "{id} is not published"
        );
    }
    let powerless = token_with(&admin, &[]).await;

    for operation in &operations {
        let id = &operation.operation_id;
        let (path, body) = prepare(&admin, operation).await;
        let refused = call(&powerless, operation, &path, body.clone()).await;
        assert_eq!(
            (refused.status, refused.code()),
            (404, "not_found"),
            "{id} without access: {}",
            refused.body
        );
        let foreign = call(&outsider, operation, &path, body).await;
        assert_eq!(foreign.status, 404, "{id} from another organization");

        for access in &operation.accesses {
            // Restore accesses create branches from backups only (`backup_id`).
            let organization_level =
                ["create_databases", "read_organization"].contains(&access.as_str());
            let database = if operation.path.contains("/roles") {
                "ledger"
            } else {
                "shop"
            };
            // Grant on the one database (or the organization for organization accesses),
            // except delete_database whose target is a fresh database: grant org-wide.
            let scope = if organization_level || id == "delete_database" {
                None
            } else {
                Some(database)
            };
            let holder = token_with(&admin, &[(scope, access.as_str())]).await;
            let (path, mut body) = prepare(&admin, operation).await;
            if id == "create_branch" && access.starts_with("restore_") {
                let backup =
                    successful_dev_backup(&admin, "/v1/organizations/acme/databases/shop").await;
                body = Some(json!({"name": unique("restored"), "backup_id": backup}));
            }
            let response = call(&holder, operation, &path, body).await;
            if NEEDS_A_DEPLOYMENT_STATE.contains(&id.as_str()) {
                assert_eq!(
                    response.status, 422,
                    "{id} with {access}: {}",
                    response.body
                );
                continue;
            }
            assert!(
                response.status < 300,
                "{id} with {access}: {} {}",
                response.status,
                response.body
            );
            restore(&admin, operation, &path).await;
        }
    }
}
