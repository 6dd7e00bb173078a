//! The authorization matrix: for every implemented operation, a token without the
//! needed access is refused (404, or 401 without credentials), a token holding any one
//! of the listed accesses succeeds, and a token of another organization sees nothing.
//! The accesses come from the server's own OpenAPI document and are checked against
//! the reference spec's lists.

use dbplane_testkit::contract::Contract;
use dbplane_testkit::{ApiClient, ApiResponse, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");

/// One implemented operation as published.
struct Published {
    operation_id: String,
    method: Method,
    path: String,
    accesses: Vec<String>,
    authenticated: bool,
}

async fn published_operations(client: &ApiClient) -> Vec<Published> {
    let document = client.get("/v1/openapi.json").await.body;
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        // Data-plane operations need clusters: authorization_matrix_data.rs covers them.
        if path.contains("/databases") || path.contains("cluster-size-skus") {
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
                authenticated: operation.get("security").is_some(),
            });
        }
    }
    operations.sort_by(|a, b| a.operation_id.cmp(&b.operation_id));
    operations
}

/// A fresh token of `acme` holding exactly `accesses` on the organization.
async fn token_with(admin: &ApiClient, accesses: &[&str]) -> (String, ApiClient) {
    let created = admin
        .post(
            "/v1/organizations/acme/service-tokens",
            json!({"name": "matrix"}),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    if !accesses.is_empty() {
        let granted = admin
            .post(
                &format!("/v1/organizations/acme/service-tokens/{id}/access"),
                json!({"access": accesses}),
            )
            .await;
        assert_eq!(granted.status, 200, "{:?}", granted.body);
    }
    let header = format!("{id}:{}", created.body["token"].as_str().unwrap());
    (id, admin.with_authorization(Some(header)))
}

/// Calls an operation with concrete parameters; `access` is the access the caller is
/// meant to hold, used to build a body that does not exceed it.
async fn call(
    operation: &Published,
    client: &ApiClient,
    organization: &str,
    target_token: &str,
    access: Option<&str>,
) -> ApiResponse {
    let path = operation
        .path
        .replace("{organization}", organization)
        .replace("{id}", target_token);
    let body = match operation.operation_id.as_str() {
        "update_organization" => Some(json!({"billing_email": "billing@acme.test"})),
        "create_service_token" => Some(json!({"name": "made-by-matrix"})),
        "add_service_token_accesses" | "remove_service_token_accesses" => {
            Some(json!({"access": [access.unwrap_or("write_service_tokens")]}))
        }
        _ => None,
    };
    client.send(operation.method.clone(), &path, body).await
}

#[tokio::test]
async fn every_operation_checks_its_accesses() {
    let server = TestServer::start(BIN).await;
    let acme = server.bootstrap("acme", "ops@acme.test");
    let globex = server.bootstrap("globex", "ops@globex.test");
    let admin = server.client(Some(acme.header()));
    let outsider = server.client(Some(globex.header()));
    let anonymous = server.client(None);
    let contract = Contract::load();
    let operations = published_operations(&admin).await;
    assert!(operations.len() >= 14);

    for operation in &operations {
        let id = &operation.operation_id;
        // Our table agrees with the reference spec wherever the spec lists accesses.
        if let Some(reference) = contract.operation_by_id(id)
            && !reference.service_token_accesses().is_empty()
        {
            let mut ours = operation.accesses.clone();
            ours.sort();
            assert_eq!(
                ours,
                reference.service_token_accesses(),
                "{id}: accesses differ from the spec"
            );
        }

        let (target, _) = token_with(&admin, &[]).await;
        if !operation.authenticated {
            let response = call(operation, &anonymous, "acme", &target, None).await;
            assert!(
                response.status < 300,
                "{id}: public operation refused: {}",
                response.status
            );
            continue;
        }
        let response = call(operation, &anonymous, "acme", &target, None).await;
        assert_eq!(response.status, 401, "{id} without credentials");

        let (_, powerless) = token_with(&admin, &[]).await;
        let response = call(operation, &powerless, "acme", &target, None).await;
        if operation.accesses.is_empty() {
            assert!(
                response.status < 300,
                "{id}: any token may call it, got {}",
                response.status
            );
        } else {
            assert_eq!(
                (response.status, response.code()),
                (404, "not_found"),
                "{id} without access"
            );
        }

        for access in &operation.accesses {
            let (target, _) = token_with(&admin, &[]).await;
            let (_, holder) = token_with(&admin, &[access]).await;
            let response = call(operation, &holder, "acme", &target, Some(access)).await;
            assert!(
                response.status < 300,
                "{id} with {access}: {} {}",
                response.status,
                response.body
            );
        }

        // A token of another organization sees nothing of acme, whatever it holds.
        if operation.path.contains("{organization}") {
            let (target, _) = token_with(&admin, &[]).await;
            let response = call(operation, &outsider, "acme", &target, None).await;
            assert_eq!(
                (response.status, response.code()),
                (404, "not_found"),
                "{id} across organizations"
            );
        }
    }
}

#[tokio::test]
async fn tokens_of_one_organization_cannot_reach_anothers_tokens() {
    let server = TestServer::start(BIN).await;
    let acme = server.bootstrap("acme", "ops@acme.test");
    let globex = server.bootstrap("globex", "ops@globex.test");
    let outsider = server.client(Some(globex.header()));
    // Even naming its own organization in the path, globex cannot address acme's token.
    let path = format!("/v1/organizations/globex/service-tokens/{}", acme.id);
    assert_eq!(outsider.get(&path).await.status, 404);
    assert_eq!(outsider.delete(&path).await.status, 404);
    let grant = outsider
        .post(
            &format!("{path}/access"),
            json!({"access": ["read_organization"]}),
        )
        .await;
    assert_eq!(grant.status, 404);
    let listed = outsider
        .get("/v1/organizations/globex/service-tokens")
        .await;
    let ids: Vec<&Value> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert!(!ids.contains(&&json!(acme.id)));
    let organizations = outsider.get("/v1/organizations").await;
    assert_eq!(organizations.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(organizations.body["data"][0]["name"], "globex");
}

#[tokio::test]
async fn grants_never_exceed_the_granter() {
    let server = TestServer::start(BIN).await;
    let acme = server.bootstrap("acme", "ops@acme.test");
    let admin = server.client(Some(acme.header()));
    let (_, delegate) = token_with(&admin, &["write_service_tokens", "read_service_tokens"]).await;
    let (target, _) = token_with(&admin, &[]).await;
    let path = format!("/v1/organizations/acme/service-tokens/{target}/access");
    let refused = delegate
        .post(&path, json!({"access": ["create_databases"]}))
        .await;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    let allowed = delegate
        .post(&path, json!({"access": ["read_service_tokens"]}))
        .await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.body["data"][0]["access"], "read_service_tokens");
    let on_missing_database = admin
        .post(
            &path,
            json!({"database": "nope", "access": ["read_branch"]}),
        )
        .await;
    assert_eq!(on_missing_database.status, 404);
    let removed = admin
        .delete_with(&path, json!({"access": ["read_service_tokens"]}))
        .await;
    assert_eq!(removed.status, 200);
    assert_eq!(removed.body["data"], json!([]));
    let grants = admin
        .get(&format!(
            "/v1/organizations/acme/service-tokens/{}/grants",
            acme.id
        ))
        .await;
    assert_eq!(grants.body["data"][0]["resource_type"], "Organization");
    // Bootstrap grants every access of the catalogue on the organization.
    assert_eq!(
        grants.body["data"][0]["accesses"].as_array().unwrap().len(),
        dbplane_domain::Access::ALL.len()
    );
}
