//! What a reviewer sees and what a stale branch may do: the deploy request and branch
//! diffs (unified diffs of `CREATE` statements), and the three-way merge against the
//! base as it was when the head branched (semantics.md §5.6, §8.1, §8.5).

mod support;

use serde_json::{Value, json};
use support::deploys::*;
use support::*;

const SCHEMA: &[&str] = &[
    "CREATE TABLE users (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64) NOT NULL)",
    "CREATE TABLE orders (id BIGINT PRIMARY KEY AUTO_INCREMENT, total INT NOT NULL)",
    "INSERT INTO orders (total) SELECT seq FROM seq_1_to_100",
];

/// `name → raw` of a diff page.
fn items(page: &Value) -> Vec<(String, String)> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {page}"))
        .iter()
        .map(|item| {
            assert!(item["html"].as_str().unwrap().starts_with("<pre>"));
            (
                item["name"].as_str().unwrap().to_string(),
                item["raw"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every line of `raw` starts with `prefix`.
fn all_lines(raw: &str, prefix: char) -> bool {
    raw.lines().all(|line| line.starts_with(prefix))
}

#[tokio::test]
async fn diffs_and_the_merge_base_is_the_branch_point() {
    let fixture = DeployFixture::start("", Vec::new(), SCHEMA).await;
    // Both branch off `main` before it moves.
    let other_table = fixture.branch("other-table").await;
    let same_column = fixture.branch("same-column").await;

    // A branch's diff against its parent, and the deploy request's diff.
    let mover = fixture.branch("mover").await;
    mysql_exec(
        &mover,
        "ALTER TABLE orders ADD COLUMN note VARCHAR(32), MODIFY total BIGINT NOT NULL",
    )
    .await
    .unwrap();
    mysql_exec(&mover, "CREATE TABLE tags (id BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    let branch_diff = fixture
        .client
        .get(&format!("{DB_PATH}/branches/mover/diff"))
        .await;
    assert_eq!(branch_diff.status, 200, "{}", branch_diff.body);
    let diff = items(&branch_diff.body);
    assert_eq!(
        diff.iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["orders", "tags"]
    );
    let orders = &diff[0].1;
    assert!(orders.starts_with(" CREATE TABLE `orders`"), "{orders}");
    assert!(orders.contains("\n-  `total` int"), "{orders}");
    assert!(orders.contains("\n+  `total` bigint"), "{orders}");
    assert!(orders.contains("\n+  `note` varchar(32)"), "{orders}");
    assert!(all_lines(&diff[1].1, '+'), "{}", diff[1].1);
    let main_diff = fixture
        .client
        .get(&format!("{DB_PATH}/branches/main/diff"))
        .await;
    assert_eq!(main_diff.body["data"], json!([]), "{}", main_diff.body);

    let opened = fixture.open("mover", json!({})).await;
    assert_eq!(opened["deployment_state"], "ready", "{opened}");
    let number = opened["number"].as_u64().unwrap();
    let diff_path = format!("{}/diff", DeployFixture::path(number));
    let request_diff = items(&fixture.client.get(&diff_path).await.body);
    assert_eq!(
        request_diff
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["orders", "tags"]
    );
    assert!(request_diff[0].1.contains("\n+  `note` varchar(32)"));
    assert!(all_lines(&request_diff[1].1, '+'));
    let paged = fixture.client.get(&format!("{diff_path}?per_page=1")).await;
    assert_eq!(paged.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(paged.body["next_page"], 2);
    let missing = fixture
        .client
        .get(&format!("{}/diff", DeployFixture::path(999)))
        .await;
    assert_eq!((missing.status, missing.code()), (404, "not_found"));

    // `main` moves: the deploy request runs.
    fixture.post(number, "deploy").await;
    fixture.wait_for(number, &["complete_pending_revert"]).await;
    fixture.post(number, "skip-revert").await;
    fixture.wait_for(number, &["complete"]).await;
    assert_eq!(
        fixture.main_columns("orders").await,
        ["id", "total", "note"]
    );

    // A branch from before the move changes another table: merged onto the moved base,
    // it does not revert main's newer changes (the branch lacks them).
    mysql_exec(&other_table, "ALTER TABLE users ADD COLUMN level INT")
        .await
        .unwrap();
    let merged = fixture.open("other-table", json!({})).await;
    assert_eq!(merged["deployment_state"], "ready", "{merged}");
    assert_eq!(operations(&merged), ["ALTER users"]);
    let merged_number = merged["number"].as_u64().unwrap();
    let merged_diff = items(
        &fixture
            .client
            .get(&format!("{}/diff", DeployFixture::path(merged_number)))
            .await
            .body,
    );
    assert_eq!(merged_diff.len(), 1);
    assert!(!merged_diff[0].1.lines().any(|line| line.starts_with('-')));

    // One from before the move changing the same column differently: a conflict.
    mysql_exec(
        &same_column,
        "ALTER TABLE orders MODIFY total DECIMAL(10,2) NOT NULL",
    )
    .await
    .unwrap();
    let conflicted = fixture.open("same-column", json!({})).await;
    assert_eq!(conflicted["deployment_state"], "error", "{conflicted}");
    let errors = conflicted["deployment"]["deploy_check_errors"]
        .as_str()
        .unwrap();
    assert!(errors.contains("conflict on `orders`"), "{errors}");

    // The merged one deploys: main keeps its newer columns and gains the new one.
    fixture.post(merged_number, "deploy").await;
    fixture
        .wait_for(merged_number, &["complete_pending_revert"])
        .await;
    assert_eq!(
        fixture.main_columns("orders").await,
        ["id", "total", "note"]
    );
    assert_eq!(fixture.main_columns("users").await, ["id", "name", "level"]);
    assert!(fixture.main_tables().await.contains(&"tags".to_string()));
}
