//! The serial deploy queue: gated deploys and order, a head change taking a queued
//! request out of the queue, a failure blocking the lane until `complete-deploy`, cancel
//! while copying, conflicts when the base moved, approvals, and PostgreSQL's refusal.

mod support;

use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use support::deploys::*;
use support::*;

const SCHEMA: &[&str] = &[
    "CREATE TABLE users (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64) NOT NULL)",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY AUTO_INCREMENT, total INT NOT NULL)",
    "INSERT INTO users (name) SELECT CONCAT('user-', seq) FROM seq_1_to_20000",
    "INSERT INTO orders (total) SELECT seq FROM seq_1_to_100",
];

/// Branches `one` (adds `users.nickname`) and `two` (adds `orders.note`) of `main`, each
/// with an open deploy request, `one`'s gated (`auto_cutover=false`).
async fn two_requests(fixture: &DeployFixture) -> (Login, Login, Value, Value) {
    let one = fixture.branch("one").await;
    let two = fixture.branch("two").await;
    mysql_exec(&one, "ALTER TABLE users ADD COLUMN nickname VARCHAR(32)")
        .await
        .unwrap();
    mysql_exec(&two, "ALTER TABLE orders ADD COLUMN note VARCHAR(32)")
        .await
        .unwrap();
    let first = fixture.open("one", json!({"auto_cutover": false})).await;
    let second = fixture.open("two", json!({"auto_cutover": true})).await;
    (one, two, first, second)
}

/// [`two_requests`] deployed: the gated first holds the lane (`pending_cutover`), the
/// second waits behind it (`queued`). Returns the logins and the two numbers.
async fn gated_then_queued(fixture: &DeployFixture) -> (Login, Login, u64, u64) {
    let (one, two, first, second) = two_requests(fixture).await;
    let (a, b) = (
        first["number"].as_u64().unwrap(),
        second["number"].as_u64().unwrap(),
    );
    fixture.post(a, "deploy").await;
    fixture.wait_for(a, &["pending_cutover"]).await;
    assert_eq!(
        fixture.post(b, "deploy").await["deployment_state"],
        "queued"
    );
    (one, two, a, b)
}

/// Skips the first's revert window; the second, queued behind it, then deploys.
async fn second_deploys_after_first(fixture: &DeployFixture, first: u64, second: u64) {
    fixture.post(first, "skip-revert").await;
    let done = fixture
        .wait_for(second, &["complete_pending_revert", "complete_error"])
        .await;
    assert_eq!(
        done["deployment_state"], "complete_pending_revert",
        "{done}"
    );
}

#[tokio::test]
async fn gated_deploys_hold_the_lane_in_order() {
    let fixture = DeployFixture::start("", Vec::new(), SCHEMA).await;
    let (_, _, first, second) = two_requests(&fixture).await;
    assert_eq!(first["deployment"]["auto_cutover"], false);
    let (a, b) = (
        first["number"].as_u64().unwrap(),
        second["number"].as_u64().unwrap(),
    );

    fixture.post(a, "deploy").await;
    fixture.post(b, "deploy").await;
    let gated = fixture
        .wait_for(a, &["pending_cutover", "complete_error"])
        .await;
    assert_eq!(gated["deployment_state"], "pending_cutover", "{gated}");
    assert!(gated["deployment"]["ready_to_cutover_at"].is_string());
    // Gated: the old schema is still live, the second waits behind the first.
    assert_eq!(fixture.main_columns("users").await, ["id", "name"]);
    let waiting = fixture.get(b).await;
    assert_eq!(waiting["deployment_state"], "queued");
    assert_eq!(waiting["deployment"]["queue_paused"], true);
    assert_eq!(
        waiting["deployment"]["preceding_deployments"][0]["deploy_request_number"],
        a
    );
    let queue = fixture.client.get(&format!("{DB_PATH}/deploy-queue")).await;
    let states: Vec<&str> = queue.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["pending_cutover", "queued"]);
    // Writes while gated are kept in sync.
    mysql_exec(
        &fixture.main,
        "INSERT INTO users (name) VALUES ('while-gated')",
    )
    .await
    .unwrap();

    // apply-deploy only in pending_cutover; the revert window still holds the lane.
    let refused = fixture
        .client
        .post(
            &format!("{}/apply-deploy", DeployFixture::path(b)),
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    fixture.post(a, "apply-deploy").await;
    fixture.wait_for(a, &["complete_pending_revert"]).await;
    assert_eq!(
        fixture.main_columns("users").await,
        ["id", "name", "nickname"]
    );
    assert_eq!(mysql_count(&fixture.main, "users").await.unwrap(), 20001);
    assert_eq!(fixture.get(b).await["deployment_state"], "queued");

    second_deploys_after_first(&fixture, a, b).await;
    assert_eq!(
        fixture.main_columns("orders").await,
        ["id", "total", "note"]
    );
    // The first deploy's change stays (the second merged onto the moved base).
    assert_eq!(
        fixture.main_columns("users").await,
        ["id", "name", "nickname"]
    );
}

/// semantics.md §8.1: a schema change on the head of a queued request takes it out of the
/// queue (its run stops; a new deploy runs the new changes). A deployment the lane
/// already picked up keeps what it started with.
#[tokio::test]
async fn a_head_change_takes_a_queued_request_out_of_the_queue() {
    let fixture = DeployFixture::start("", Vec::new(), SCHEMA).await;
    let (one, two, a, b) = gated_then_queued(&fixture).await;

    // Both heads change: the queued one leaves the queue at its next background recheck
    // and is ready again with the new operations; the gated one is past the queue: untouched.
    mysql_exec(&two, "ALTER TABLE orders ADD COLUMN code INT")
        .await
        .unwrap();
    mysql_exec(&one, "ALTER TABLE users ADD COLUMN level INT")
        .await
        .unwrap();
    let back = fixture.wait_for(b, &["ready", "error", "no_changes"]).await;
    assert_eq!(back["deployment_state"], "ready", "{back}");
    assert_eq!(operations(&back), ["ALTER orders"]);
    let ddl = back["deployment"]["deploy_operations"][0]["ddl_statement"]
        .as_str()
        .unwrap();
    assert!(ddl.contains("`note`") && ddl.contains("`code`"), "{ddl}");
    let queue = fixture.client.get(&format!("{DB_PATH}/deploy-queue")).await;
    let numbers: Vec<u64> = queue.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deploy_request_number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [a], "{}", queue.body);
    let gated = fixture.get(a).await;
    assert_eq!(gated["deployment_state"], "pending_cutover");
    assert_eq!(operations(&gated), ["ALTER users"]);

    // Deployed again (once its old run stopped), it runs the new changes after the first.
    let path = format!("{}/deploy", DeployFixture::path(b));
    dbplane_testkit::wait_until("the second to be queued again", DEPLOY_TIMEOUT, || {
        let (client, path) = (fixture.client.clone(), path.clone());
        async move {
            let response = client.post(&path, json!({})).await;
            assert!([200, 409].contains(&response.status), "{}", response.body);
            (response.status == 200).then_some(())
        }
    })
    .await;
    fixture.post(a, "apply-deploy").await;
    fixture.wait_for(a, &["complete_pending_revert"]).await;
    assert_eq!(
        fixture.main_columns("users").await,
        ["id", "name", "nickname"]
    );
    second_deploys_after_first(&fixture, a, b).await;
    assert_eq!(
        fixture.main_columns("orders").await,
        ["id", "total", "note", "code"]
    );
}

/// A queued request whose head changed while the background recheck is too slow to see it
/// (an hour here) leaves the queue when its turn comes, before the lane picks it up.
#[tokio::test]
async fn a_head_change_is_caught_at_the_turn_of_an_unread_request() {
    let fixture =
        DeployFixture::start("recheck_after_millis = 3600000\n", Vec::new(), SCHEMA).await;
    let (_, two, a, b) = gated_then_queued(&fixture).await;
    mysql_exec(&two, "ALTER TABLE orders ADD COLUMN code INT")
        .await
        .unwrap();
    fixture.post(a, "apply-deploy").await;
    fixture.wait_for(a, &["complete_pending_revert"]).await;
    fixture.post(a, "skip-revert").await;
    let back = fixture
        .wait_for(
            b,
            &["ready", "error", "no_changes", "complete_pending_revert"],
        )
        .await;
    assert_eq!(back["deployment_state"], "ready", "{back}");
    let ddl = back["deployment"]["deploy_operations"][0]["ddl_statement"]
        .as_str()
        .unwrap();
    assert!(ddl.contains("`code`"), "{ddl}");
    assert_eq!(fixture.main_columns("orders").await, ["id", "total"]);
}

#[tokio::test]
async fn a_failed_deploy_blocks_the_lane_until_completed_and_cancel_while_copying() {
    let fixture = DeployFixture::start("", Vec::new(), SCHEMA).await;
    let one = fixture.branch("one").await;
    let two = fixture.branch("two").await;
    mysql_exec(&one, "ALTER TABLE users ADD COLUMN score INT")
        .await
        .unwrap();
    mysql_exec(&two, "ALTER TABLE orders ADD COLUMN note VARCHAR(32)")
        .await
        .unwrap();
    let a = fixture.open("one", json!({})).await["number"]
        .as_u64()
        .unwrap();
    let b = fixture.open("two", json!({})).await["number"]
        .as_u64()
        .unwrap();

    // A slow copy (the throttler rests 95% of the time) that someone breaks: the shadow
    // table disappears under it.
    let throttled = fixture
        .client
        .patch(
            &format!("{}/throttler", DeployFixture::path(a)),
            json!({"ratio": 95}),
        )
        .await;
    assert_eq!(throttled.status, 200, "{}", throttled.body);
    assert_eq!(throttled.body["configurations"][0]["ratio"], 95.0);
    fixture.post(a, "deploy").await;
    fixture.post(b, "deploy").await;
    let copying = fixture.wait_for(a, &["in_progress"]).await;
    assert_eq!(copying["deployment_state"], "in_progress");
    let mut root = mysql_root(fixture.cluster_port).await;
    dbplane_testkit::wait_until("the shadow table", DEPLOY_TIMEOUT, || async {
        fixture
            .main_tables()
            .await
            .contains(&"_users_dbp_new".to_string())
            .then_some(())
    })
    .await;
    root.query_drop(format!(
        "DROP TABLE `{}`.`_users_dbp_new`",
        fixture.main.physical
    ))
    .await
    .unwrap();
    let failed = fixture.wait_for(a, &["complete_error"]).await;
    assert!(
        failed["deployment"]["deploy_check_errors"].is_string(),
        "{failed}"
    );
    assert_eq!(
        failed["deployment"]["deploy_operations"][0]["state"],
        "error"
    );
    // The failure holds the lane: the second waits, paused, until complete-deploy.
    let waiting = fixture.get(b).await;
    assert_eq!(waiting["deployment_state"], "queued");
    assert_eq!(waiting["deployment"]["queue_paused"], true);
    assert!(waiting["deployment"]["queue_pause_reason"].is_string());
    let unblocked = fixture.post(a, "complete-deploy").await;
    assert_eq!(unblocked["deployment_state"], "complete_error");
    fixture.wait_for(b, &["complete_pending_revert"]).await;
    fixture.post(b, "skip-revert").await;
    fixture.wait_for(b, &["complete"]).await;
    assert_eq!(fixture.main_columns("users").await, ["id", "name"]);

    // Cancel while copying: the shadow goes, the base keeps its schema.
    let three = fixture.branch("three").await;
    mysql_exec(&three, "ALTER TABLE users ADD COLUMN level INT")
        .await
        .unwrap();
    let c = fixture.open("three", json!({})).await["number"]
        .as_u64()
        .unwrap();
    fixture
        .client
        .patch(
            &format!("{}/throttler", DeployFixture::path(c)),
            json!({"ratio": 95}),
        )
        .await;
    fixture.post(c, "deploy").await;
    fixture.wait_for(c, &["in_progress"]).await;
    let cancelling = fixture.post(c, "cancel").await;
    assert_eq!(cancelling["deployment_state"], "in_progress_cancel");
    let cancelled = fixture.wait_for(c, &["complete_cancel"]).await;
    assert_eq!(
        cancelled["deployment"]["deploy_operations"][0]["state"],
        "cancelled"
    );
    assert_eq!(fixture.main_columns("users").await, ["id", "name"]);
    let leftovers: Vec<String> = fixture
        .main_tables()
        .await
        .into_iter()
        .filter(|t| t.contains("_dbp_"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    let _ = root.disconnect().await;
}

#[tokio::test]
async fn conflicts_when_the_base_moved_and_approvals() {
    let fixture = DeployFixture::start("", Vec::new(), SCHEMA).await;
    let one = fixture.branch("one").await;
    let two = fixture.branch("two").await;
    mysql_exec(&one, "ALTER TABLE users MODIFY name VARCHAR(100) NOT NULL")
        .await
        .unwrap();
    mysql_exec(&two, "ALTER TABLE users MODIFY name VARCHAR(200) NOT NULL")
        .await
        .unwrap();
    let a = fixture.open("one", json!({})).await["number"]
        .as_u64()
        .unwrap();
    let b = fixture.open("two", json!({})).await;
    assert_eq!(b["deployment_state"], "ready");
    let b = b["number"].as_u64().unwrap();
    fixture.post(a, "deploy").await;
    fixture.wait_for(a, &["complete_pending_revert"]).await;
    fixture.post(a, "skip-revert").await;
    // The base changed the same column since `two` was checked: a conflict.
    let refused = fixture
        .client
        .post(&format!("{}/deploy", DeployFixture::path(b)), json!({}))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let conflicted = fixture.get(b).await;
    assert_eq!(conflicted["deployment_state"], "error", "{conflicted}");
    assert!(
        conflicted["deployment"]["deploy_check_errors"]
            .as_str()
            .unwrap()
            .contains("conflict")
    );

    // Approval required: a review by another token approves; deploy then proceeds.
    let settings = fixture
        .client
        .patch(DB_PATH, json!({"require_approval_for_deploy": true}))
        .await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let three = fixture.branch("three").await;
    mysql_exec(&three, "CREATE TABLE notes (id BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    let c = fixture.open("three", json!({})).await["number"]
        .as_u64()
        .unwrap();
    let unapproved = fixture
        .client
        .post(&format!("{}/deploy", DeployFixture::path(c)), json!({}))
        .await;
    assert_eq!(unapproved.status, 422, "{}", unapproved.body);
    // The creating token cannot approve its own deploy request.
    let own = fixture
        .client
        .post(
            &format!("{}/reviews", DeployFixture::path(c)),
            json!({"state": "approved"}),
        )
        .await;
    assert_eq!(own.status, 403, "{}", own.body);
    let comment = fixture
        .client
        .post(
            &format!("{}/reviews", DeployFixture::path(c)),
            json!({"body": "looks fine"}),
        )
        .await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    assert_eq!(comment.body["state"], "commented");
    let reviews = fixture
        .client
        .get(&format!("{}/reviews", DeployFixture::path(c)))
        .await;
    assert_eq!(reviews.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn postgres_databases_have_no_deploy_requests() {
    let server =
        dbplane_testkit::TestServer::start_with_clusters(env!("CARGO_BIN_EXE_dbplane")).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    ready_database(&client, "acme", "pg", "postgresql").await;
    let path = "/v1/organizations/acme/databases/pg/deploy-requests";
    let created = client
        .post(path, json!({"branch": "dev", "into_branch": "main"}))
        .await;
    assert_eq!(created.status, 422, "{}", created.body);
    assert!(
        created.body["message"]
            .as_str()
            .unwrap()
            .contains("PostgreSQL")
    );
    assert_eq!(client.get(path).await.status, 422);
}

#[tokio::test]
async fn tables_with_foreign_keys_are_not_changed_online() {
    let schema = [
        "CREATE TABLE parent (id BIGINT PRIMARY KEY)",
        "CREATE TABLE child (id BIGINT PRIMARY KEY, parent_id BIGINT, \
         CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id))",
    ];
    let fixture = DeployFixture::start("", Vec::new(), &schema).await;
    let dev = fixture.branch("dev").await;
    mysql_exec(
        &dev,
        "ALTER TABLE child ADD COLUMN x INT, ADD INDEX by_x (x)",
    )
    .await
    .unwrap();
    let opened = fixture.open("dev", json!({})).await;
    assert_eq!(opened["deployment_state"], "error", "{opened}");
    let errors = opened["deployment"]["deploy_check_errors"]
        .as_str()
        .unwrap();
    assert!(errors.contains("foreign keys"), "{errors}");
    assert_eq!(opened["deployment"]["deployable"], false);
}
