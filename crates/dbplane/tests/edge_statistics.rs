//! What the edge sees feeds the API: statements on `main` through the edge make their
//! tables "recently used" in a deploy request's operations (and only those tables), once
//! the edge's statistics are flushed to the metadata store.

mod support;

use dbplane_testkit::wait_until;
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use std::time::Duration;
use support::deploys::*;
use support::*;

const SCHEMA: &[&str] = &[
    "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(64))",
    "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)",
];

/// `table → table_recently_used_at` of each operation of the request.
fn recently_used(request: &Value) -> Vec<(String, Option<String>, bool)> {
    request["deployment"]["deploy_operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["table_name"].as_str().unwrap().to_string(),
                o["table_recently_used_at"].as_str().map(str::to_string),
                o["table_recently_used"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_used_through_the_edge_are_recently_used_in_deploy_requests() {
    // The edge's settings ride after the [deploys] lines.
    let fixture =
        DeployFixture::start("\n[edge]\nstats_flush_seconds = 1\n", Vec::new(), SCHEMA).await;
    let mut conn = fixture.main.mysql().await.unwrap();
    conn.query_drop("INSERT INTO items VALUES (1, 'one')")
        .await
        .unwrap();
    let names: Vec<String> = conn
        .query("SELECT name FROM items WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(names, vec!["one"]);
    let _ = conn.disconnect().await;

    let dev = fixture.branch("dev").await;
    mysql_exec(&dev, "ALTER TABLE items ADD COLUMN size INT")
        .await
        .unwrap();
    mysql_exec(&dev, "ALTER TABLE notes ADD COLUMN size INT")
        .await
        .unwrap();
    let number = fixture.open("dev", json!({})).await["number"]
        .as_u64()
        .unwrap();

    let operations = wait_until(
        "items to be recently used in the deploy request",
        Duration::from_secs(60),
        || async {
            let request = fixture.get(number).await;
            let operations = recently_used(&request);
            operations
                .iter()
                .any(|(table, at, used)| table == "items" && at.is_some() && *used)
                .then_some(operations)
        },
    )
    .await;
    let notes = operations
        .iter()
        .find(|(table, ..)| table == "notes")
        .expect("an operation on notes");
    assert_eq!(
        (notes.1.as_deref(), notes.2),
        (None, false),
        "notes was never used: {operations:?}"
    );
    // The same in the operations endpoint.
    let listed = fixture
        .client
        .get(&format!("{}/operations", DeployFixture::path(number)))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let items = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["table_name"] == "items")
        .expect("items' operation");
    assert_eq!(items["table_recently_used"], true, "{items}");
}
