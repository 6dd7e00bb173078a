//! The API's cross-cutting behaviour, over HTTP against the real binary: health,
//! metrics, the published OpenAPI document, errors, pagination, request ids, token
//! expiry, `last_used_at`, and rate limiting.

use dbplane_testkit::{TestServer, wait_until};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");

#[tokio::test]
async fn health_metrics_and_openapi() {
    let server = TestServer::start(BIN).await;
    let anonymous = server.client(None);
    let health = reqwest::get(format!("{}/healthz", server.base_url()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let regions = anonymous.get("/v1/regions").await;
    assert_eq!(regions.status, 200);
    assert_eq!(regions.body["data"][0]["slug"], "us-east");
    assert_eq!(regions.body["data"][0]["enabled"], true);

    let metrics = reqwest::get(format!("{}/metrics", server.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"dbplane_http_requests_total{method="GET",route="/v1/regions",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("dbplane_http_request_duration_seconds_bucket"));

    let document = anonymous.get("/v1/openapi.json").await;
    assert_eq!(document.status, 200);
    let mut operation_ids: Vec<String> = document.body["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap().to_string())
        .collect();
    operation_ids.sort();
    let mut expected: Vec<String> = dbplane_control::operations::ALL
        .iter()
        .map(|op| op.operation_id.to_string())
        .collect();
    expected.sort();
    assert_eq!(
        operation_ids, expected,
        "the document lists exactly the implemented operations"
    );
}

#[tokio::test]
async fn errors_use_the_api_format() {
    let server = TestServer::start(BIN).await;
    let admin = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(admin.header()));

    let missing_route = client.get("/v1/no/such/route").await;
    assert_eq!(
        (missing_route.status, missing_route.code()),
        (404, "not_found")
    );

    let wrong_method = client.put("/v1/organizations/acme", json!({})).await;
    assert_eq!(wrong_method.status, 405);

    let malformed = client
        .send_raw(
            Method::POST,
            "/v1/organizations/acme/service-tokens",
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!((malformed.status, malformed.code()), (400, "bad_request"));

    let wrong_type = client
        .post(
            "/v1/organizations/acme/service-tokens",
            json!({"ttl": "soon"}),
        )
        .await;
    assert_eq!(
        (wrong_type.status, wrong_type.code()),
        (400, "invalid_params")
    );
    assert!(wrong_type.body["message"].as_str().unwrap().contains("ttl"));

    let negative = client
        .post("/v1/organizations/acme/service-tokens", json!({"ttl": -5}))
        .await;
    assert_eq!((negative.status, negative.code()), (400, "invalid_params"));

    let bad_email = client
        .patch("/v1/organizations/acme", json!({"billing_email": "nobody"}))
        .await;
    assert_eq!(bad_email.status, 400);
    assert!(
        bad_email.body["message"]
            .as_str()
            .unwrap()
            .contains("billing_email")
    );

    let too_big = client
        .send_raw(
            Method::POST,
            "/v1/organizations/acme/service-tokens",
            format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10)).into_bytes(),
        )
        .await;
    assert_eq!(too_big.status, 413);

    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
    ] {
        let response = client.get(&format!("/v1/regions?{query}")).await;
        assert_eq!(
            (response.status, response.code()),
            (400, "invalid_params"),
            "{query}"
        );
        assert!(response.body["message"].as_str().unwrap().contains(field));
    }

    let unknown_access = client
        .post(
            &format!("/v1/organizations/acme/service-tokens/{}/access", admin.id),
            json!({"access": ["read_branch", "teleport"]}),
        )
        .await;
    assert_eq!(
        (unknown_access.status, unknown_access.code()),
        (400, "invalid_params")
    );
    assert!(
        unknown_access.body["message"]
            .as_str()
            .unwrap()
            .contains("teleport")
    );

    let no_credentials = server.client(None).get("/v1/organizations/acme").await;
    assert_eq!(
        (no_credentials.status, no_credentials.code()),
        (401, "unauthorized")
    );
    let wrong_secret = server
        .client(Some(format!("{}:pscale_tkn_nope", admin.id)))
        .get("/v1/organizations/acme")
        .await;
    assert_eq!(wrong_secret.status, 401);
    assert!(
        !server.log().contains(&admin.token),
        "the secret must never be logged"
    );
}

/// Every JSON body, and every object nested in one, is a JSON object: serde would read a
/// struct from an array by position, so `[null, null]` once passed as an empty update.
#[tokio::test]
async fn bodies_that_are_not_json_objects_are_refused() {
    let server = TestServer::start(BIN).await;
    let admin = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(admin.header()));
    let tokens = "/v1/organizations/acme/service-tokens";
    let branch = "/v1/organizations/acme/databases/shop/branches/main";
    for (method, path, body, field) in [
        (Method::POST, tokens, "[null, null]", "body"),
        (Method::PATCH, branch, "[null, null]", "body"),
        (Method::PATCH, branch, "[]", "body"),
        (Method::POST, tokens, "\"name\"", "body"),
        (Method::POST, tokens, "null", "body"),
        (
            Method::PATCH,
            "/v1/organizations/acme",
            "[\"x@y.z\"]",
            "body",
        ),
        (
            Method::POST,
            "/v1/organizations/acme/databases",
            r#"{"name": "shop", "storage": [1, 2]}"#,
            "storage",
        ),
    ] {
        let response = client
            .send_raw(method.clone(), path, body.as_bytes().to_vec())
            .await;
        let what = format!("{method} {path} {body}: {}", response.body);
        assert_eq!(
            (response.status, response.code()),
            (400, "invalid_params"),
            "{what}"
        );
        let message = response.body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field}: must be a JSON object")),
            "{what}"
        );
    }
    let listed = client.get(tokens).await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        1,
        "no token was made"
    );
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let server = TestServer::start(BIN).await;
    let http = reqwest::Client::new();
    let echoed = http
        .get(format!("{}/v1/regions", server.base_url()))
        .header("X-Request-Id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-123");
    let made = server.client(None).get("/v1/regions").await;
    assert_eq!(made.headers["x-request-id"].len(), 32);
}

#[tokio::test]
async fn pagination_walks_every_token_once() {
    let server = TestServer::start(BIN).await;
    let admin = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(admin.header()));
    for index in 0..29 {
        let created = client
            .post(
                "/v1/organizations/acme/service-tokens",
                json!({"name": format!("t{index}")}),
            )
            .await;
        assert_eq!(created.status, 200);
        assert!(
            created.body["token"]
                .as_str()
                .unwrap()
                .starts_with("pscale_tkn_")
        );
    }
    // 29 created + the bootstrap token.
    let first = client
        .get("/v1/organizations/acme/service-tokens?per_page=12")
        .await;
    assert_eq!(first.body["total_count"], 30);
    assert_eq!(first.body["total_pages"], 3);
    assert_eq!(first.body["next_page"], 2);
    assert_eq!(first.body["prev_page"], serde_json::Value::Null);
    let mut seen = std::collections::HashSet::new();
    let mut next_url = Some(format!(
        "{}/v1/organizations/acme/service-tokens?per_page=12",
        server.base_url()
    ));
    while let Some(url) = next_url {
        let path = url
            .strip_prefix(server.base_url())
            .expect("next_page_url points at this server");
        let page = client.get(path).await;
        assert_urls_start_with(&page.body, server.base_url());
        for token in page.body["data"].as_array().unwrap() {
            assert!(
                token["token"].is_null(),
                "secrets are shown only at creation"
            );
            assert!(seen.insert(token["id"].as_str().unwrap().to_string()));
        }
        next_url = page.body["next_page_url"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 30);
    let past_end = client
        .get("/v1/organizations/acme/service-tokens?page=9")
        .await;
    assert_eq!(past_end.status, 200);
    assert_eq!(past_end.body["data"], json!([]));
    assert_eq!(past_end.body["prev_page"], 8);
}

#[tokio::test]
async fn expired_tokens_are_refused_and_use_is_recorded() {
    let server = TestServer::start(BIN).await;
    let admin = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(admin.header()));
    let created = client
        .post(
            "/v1/organizations/acme/service-tokens",
            json!({"name": "short", "ttl": 1}),
        )
        .await;
    assert!(created.body["expires_at"].is_string());
    let short = server.client(Some(format!(
        "{}:{}",
        created.body["id"].as_str().unwrap(),
        created.body["token"].as_str().unwrap()
    )));
    // Within its ttl the token authenticates (it holds no access, so it sees itself only).
    assert_eq!(short.get("/v1/user").await.status, 200);
    wait_until("the 1 s token to expire", Duration::from_secs(10), || {
        let short = short.clone();
        async move { (short.get("/v1/user").await.status == 401).then_some(()) }
    })
    .await;

    let path = format!("/v1/organizations/acme/service-tokens/{}", admin.id);
    wait_until(
        "last_used_at to be recorded",
        Duration::from_secs(10),
        || {
            let client = client.clone();
            let path = path.clone();
            async move {
                client.get(&path).await.body["last_used_at"]
                    .as_str()
                    .map(str::to_string)
            }
        },
    )
    .await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let server = TestServer::start_with_config(
        BIN,
        Some("[rate_limit]\nenabled = true\nrequests_per_minute = 5\n"),
    )
    .await;
    let admin = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(admin.header()));
    for _ in 0..5 {
        assert_eq!(client.get("/v1/organizations/acme").await.status, 200);
    }
    let limited = client.get("/v1/organizations/acme").await;
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"));
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    // Another token has its own budget.
    let other = server.bootstrap("acme", "ops@acme.test");
    assert_eq!(
        server
            .client(Some(other.header()))
            .get("/v1/organizations/acme")
            .await
            .status,
        200
    );
}

/// Every `url`/`*_url` field in `value` (but avatars, which point elsewhere) starts with
/// `base`: lists and resources name the same server.
fn assert_urls_start_with(value: &serde_json::Value, base: &str) {
    match value {
        serde_json::Value::Object(fields) => {
            for (name, field) in fields {
                if let Some(url) = field.as_str()
                    && (name == "url" || name.ends_with("_url"))
                    && name != "avatar_url"
                {
                    assert!(url.starts_with(base), "{name} = {url} is not under {base}");
                }
                assert_urls_start_with(field, base);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                assert_urls_start_with(item, base);
            }
        }
        _ => {}
    }
}
