//! Hostile names and values end to end: tables, columns, indexes and views named with a
//! backslash, quotes, a backtick, `;` and a newline, non-ASCII letters, a reserved word,
//! 64 characters; comments and defaults holding `;\n`. Through a branch copy, the deploy
//! checks and diff, an online deploy, its revert, an instant deploy, and a backup and its
//! restore, every object and row arrives intact. A table named like a deploy artifact is
//! refused by lint and by the deploy checks, not silently skipped.

mod support;

#[path = "backup_support/mod.rs"]
mod backup_support;

use backup_support::{finished_backup, start_backup};
use dbplane_engine::ClusterKind;
use dbplane_engine::physical::{ClusterAdmin, PhysicalName};
use dbplane_schema::quote::mariadb_ident as q;
use mysql_async::prelude::Queryable;
use serde_json::json;
use support::deploys::*;
use support::*;

const ODD: &str = "we\\ird 'q\" `t;\nx";
const UNICODE: &str = "Ünïcødé_表";
const RESERVED: &str = "select";

fn long_name() -> String {
    format!("{}ö€", "l".repeat(62))
}

fn column() -> String {
    "c\\o'l\" `;\n1".to_string()
}

fn schema() -> Vec<String> {
    let long = long_name();
    let col = column();
    vec![
        format!(
            "CREATE TABLE {} (id INT PRIMARY KEY, {} VARCHAR(40) NOT NULL DEFAULT ';\\n\\\\x''' \
             COMMENT 'a;\\nb', {} INT, KEY {} ({})) COMMENT 'table;\\ncomment'",
            q(ODD),
            q(&col),
            q("order"),
            q("idx;\n`x'"),
            q(&col)
        ),
        format!(
            "CREATE TABLE {} (id INT PRIMARY KEY, {} VARCHAR(20))",
            q(UNICODE),
            q("ünï")
        ),
        format!(
            "CREATE TABLE {} (id INT PRIMARY KEY, {} INT)",
            q(RESERVED),
            q("from")
        ),
        format!(
            "CREATE TABLE {} (id INT PRIMARY KEY, {} INT)",
            q(&long),
            q(&long)
        ),
        format!(
            "CREATE VIEW {} AS SELECT id, {} FROM {}",
            q("v;\n'\"`\\"),
            q(&col),
            q(ODD)
        ),
        format!(
            "INSERT INTO {} VALUES (1, 'semi;\\nline \\\\ \\'q\\' \"d\" `b`', 1), (2, DEFAULT, NULL)",
            q(ODD)
        ),
        format!("INSERT INTO {} VALUES (1, '表;\\n')", q(UNICODE)),
        format!("INSERT INTO {} VALUES (1, 1), (2, 2)", q(RESERVED)),
        format!("INSERT INTO {} VALUES (1, 1)", q(&long)),
    ]
}

/// The schema of a branch's physical database, as the schema engine reads it.
async fn schema_of(port: u16, database: &str) -> dbplane_schema::Schema {
    let admin = ClusterAdmin::connect(
        ClusterKind::Mysql,
        &format!("mysql://root@127.0.0.1:{port}/"),
    )
    .await
    .expect("cluster admin");
    let mut schema = admin
        .introspect(&PhysicalName::new(database).unwrap())
        .await
        .unwrap();
    schema
        .tables
        .retain(|name, _| !dbplane_engine::deploy::is_deploy_artifact(name));
    schema
}

/// Every row of every table of `database`, as bytes, sorted.
async fn rows_of(port: u16, database: &str) -> Vec<(String, Vec<Vec<Option<Vec<u8>>>>)> {
    let mut root = mysql_root(port).await;
    root.query_drop(format!("USE {}", q(database)))
        .await
        .unwrap();
    root.query_drop("SET NAMES binary").await.unwrap();
    let tables: Vec<Vec<u8>> = root
        .query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1")
        .await
        .unwrap();
    let mut all = Vec::new();
    for table in tables {
        let table = String::from_utf8(table).unwrap();
        if table.contains("_dbp_") {
            continue;
        }
        let rows: Vec<mysql_async::Row> = root
            .query(format!("SELECT * FROM {} ORDER BY 1", q(&table)))
            .await
            .unwrap();
        let mut rows: Vec<Vec<Option<Vec<u8>>>> = rows
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql_async::Value::NULL => None,
                        mysql_async::Value::Bytes(b) => Some(b),
                        other => Some(format!("{other:?}").into_bytes()),
                    })
                    .collect()
            })
            .collect();
        rows.sort();
        all.push((table, rows));
    }
    let _ = root.disconnect().await;
    all
}

#[tokio::test]
async fn hostile_names_survive_copy_deploy_revert_backup_and_restore() {
    let statements = schema();
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    let fixture = DeployFixture::start("", Vec::new(), &statements).await;
    let port = fixture.cluster_port;
    let original = schema_of(port, &fixture.main.physical).await;
    assert_eq!(original.tables.len(), 4, "{:?}", original.tables.keys());
    let original_rows = rows_of(port, &fixture.main.physical).await;

    // Branch copy: the same schema.
    let dev = fixture.branch("dev").await;
    let copied = schema_of(port, &dev.physical).await;
    assert_eq!(copied.tables, original.tables);
    assert_eq!(copied.views.len(), 1);
    let schema = fixture
        .client
        .get(&format!("{DB_PATH}/branches/dev/schema"))
        .await;
    assert_eq!(schema.status, 200, "{}", schema.body);
    assert!(
        schema.body.to_string().contains("Ünïcødé_表"),
        "{}",
        schema.body
    );

    // An online deploy of changes named as badly, then its revert.
    let long = long_name();
    for statement in [
        format!(
            "ALTER TABLE {} ADD COLUMN {} VARCHAR(10) NOT NULL DEFAULT 'x;\\ny' COMMENT ';\\n', \
             ADD INDEX {} ({})",
            q(ODD),
            q("new;\n\"col'"),
            q("i\\dx"),
            q("order")
        ),
        format!(
            "ALTER TABLE {} ADD INDEX {} ({})",
            q(UNICODE),
            q("ïdx"),
            q("ünï")
        ),
        format!("ALTER TABLE {} MODIFY {} BIGINT", q(RESERVED), q("from")),
        format!(
            "ALTER TABLE {} ADD INDEX {} ({})",
            q(&long),
            q("k"),
            q(&long)
        ),
        format!("CREATE VIEW {} AS SELECT * FROM {}", q("w'\nv"), q(UNICODE)),
    ] {
        mysql_exec(&dev, &statement).await.unwrap();
    }
    let target = schema_of(port, &dev.physical).await;
    let opened = fixture.open("dev", json!({})).await;
    assert_eq!(opened["deployment_state"], "ready", "{opened}");
    let number = opened["number"].as_u64().unwrap();
    let diff = fixture
        .client
        .get(&format!("{}/diff", DeployFixture::path(number)))
        .await;
    assert_eq!(diff.status, 200, "{}", diff.body);
    fixture
        .act(
            number,
            "deploy",
            "complete_pending_revert",
            "complete_error",
        )
        .await;
    let live = schema_of(port, &fixture.main.physical).await;
    assert_eq!(live.tables, target.tables);
    assert_eq!(live.views.len(), 2);
    fixture
        .act(number, "revert", "complete_revert", "complete_revert_error")
        .await;
    fixture.wait_for_no_artifacts().await;
    let back = schema_of(port, &fixture.main.physical).await;
    assert_eq!(back.tables, original.tables);
    assert_eq!(rows_of(port, &fixture.main.physical).await, original_rows);

    // An instant deploy.
    let instant = fixture.branch("instant").await;
    mysql_exec(
        &instant,
        &format!(
            "ALTER TABLE {} ADD COLUMN {} INT DEFAULT 7 COMMENT ';\\n'",
            q(ODD),
            q("in;\nstant")
        ),
    )
    .await
    .unwrap();
    let number = fixture.open("instant", json!({})).await["number"]
        .as_u64()
        .unwrap();
    fixture.deploy_instant(number).await;
    let done = fixture
        .wait_for(number, &["complete", "complete_error"])
        .await;
    assert_eq!(done["deployment_state"], "complete", "{done}");
    let with_instant = schema_of(port, &fixture.main.physical).await;
    let rows = rows_of(port, &fixture.main.physical).await;

    // Backup and restore.
    let main_path = format!("{DB_PATH}/branches/main");
    let id = start_backup(&fixture.client, &main_path, json!({})).await;
    let backup = finished_backup(&fixture.client, &main_path, &id).await;
    assert_eq!(backup["state"], "success", "{backup}");
    let created = fixture
        .client
        .post(
            &format!("{DB_PATH}/branches"),
            json!({"name": "restored", "backup_id": id}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    ready_branch_wait(&fixture, "restored").await;
    let restored_login = password(&fixture.client, "restored", "admin").await;
    let restored = schema_of(port, &restored_login.physical).await;
    assert_eq!(restored.tables, with_instant.tables);
    assert_eq!(restored.views.len(), with_instant.views.len());
    assert_eq!(rows_of(port, &restored_login.physical).await, rows);

    // A table named like an artifact is reported, not skipped.
    let named_like = fixture.branch("named-like").await;
    mysql_exec(
        &named_like,
        "CREATE TABLE `_users_dbp_old` (id INT PRIMARY KEY)",
    )
    .await
    .unwrap();
    let lint = fixture
        .client
        .get(&format!("{DB_PATH}/branches/named-like/schema/lint"))
        .await;
    assert_eq!(lint.status, 200, "{}", lint.body);
    assert!(
        lint.body.to_string().contains("RESERVED_TABLE_NAME"),
        "{}",
        lint.body
    );
    let opened = fixture.open("named-like", json!({})).await;
    assert_eq!(opened["deployment_state"], "error", "{opened}");
    assert!(
        opened.to_string().contains("RESERVED_TABLE_NAME"),
        "{opened}"
    );
}

async fn ready_branch_wait(fixture: &DeployFixture, name: &str) {
    dbplane_testkit::wait_until(
        &format!("branch {name} to be ready"),
        READY_TIMEOUT,
        || async {
            let branch = fixture
                .client
                .get(&format!("{DB_PATH}/branches/{name}"))
                .await;
            (branch.body["state"] == "ready").then_some(())
        },
    )
    .await;
}
