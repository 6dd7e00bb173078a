//! Who gets in through the connection edge and what they reach, against the real binary
//! and MariaDB: logins that must fail (wrong, unknown, deleted and expired passwords,
//! another database, a deleted branch) fail as MariaDB would, naming no secret; safe
//! migrations refuse direct DDL at the edge; a branch's password reaches nothing of
//! another branch or database by any name.

mod support;

use dbplane_testkit::wait_until;
use mysql_async::prelude::Queryable;
use serde_json::json;
use support::edge::{
    DB_PATH, EdgeFixture, code, login_code, main_with_a_row_and_dev, message, password_response,
};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_that_must_fail_fail_as_mysql_would() {
    let fixture = EdgeFixture::start().await;
    let reader = fixture.password("main", "reader").await;

    let wrong = Login {
        password: "pscale_pw_not-the-password".into(),
        ..reader.clone()
    };
    let refused = wrong.mysql().await;
    assert_eq!(code(&refused), Some(1045));
    let text = message(&refused);
    assert!(
        text.starts_with(&format!("Access denied for user '{}'@", reader.user))
            && text.ends_with("(using password: YES)"),
        "{text}"
    );
    assert!(!text.contains(&reader.password) && !text.contains("pscale_pw_not"));
    let unknown = Login {
        user: "dbu_nobody".into(),
        ..reader.clone()
    };
    assert_eq!(login_code(&unknown).await, Err(Some(1045)));
    assert_eq!(
        login_code(&reader.with_database("other")).await,
        Err(Some(1044)),
        "a password's own database only"
    );

    // Deleted: refused from then on.
    let created = password_response(&fixture.client, "main", "reader").await;
    let deleted = Login::from_password(&created);
    assert_eq!(login_code(&deleted).await, Ok(()));
    let id = created["id"].as_str().unwrap();
    let response = fixture
        .client
        .delete(&format!("{DB_PATH}/branches/main/passwords/{id}"))
        .await;
    assert!(response.status < 300, "{}", response.body);
    wait_until(
        "the deleted password to be refused",
        READY_TIMEOUT,
        || async { (login_code(&deleted).await == Err(Some(1045))).then_some(()) },
    )
    .await;

    // Expired: refused once its ttl passed.
    let created = fixture
        .client
        .post(
            &format!("{DB_PATH}/branches/main/passwords"),
            json!({"role": "reader", "ttl": 1}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let expiring = Login::from_password(&created.body);
    wait_until(
        "the expired password to be refused",
        READY_TIMEOUT,
        || async { matches!(login_code(&expiring).await, Err(Some(1045 | 1862))).then_some(()) },
    )
    .await;

    // A deleted branch: its passwords are refused.
    ready_branch(&fixture.client, DB_PATH, "doomed", Some("main")).await;
    let doomed = fixture.password("doomed", "admin").await;
    assert_eq!(login_code(&doomed).await, Ok(()));
    let response = fixture
        .client
        .delete(&format!("{DB_PATH}/branches/doomed"))
        .await;
    assert!(response.status < 300, "{}", response.body);
    wait_until(
        "the deleted branch's password to be refused",
        READY_TIMEOUT,
        || async { login_code(&doomed).await.is_err().then_some(()) },
    )
    .await;

    // The first reader was never affected.
    assert_eq!(login_code(&reader).await, Ok(()));
    // The server's log (the edge at debug level) names no password, right or wrong.
    let log = fixture.server.log();
    assert!(
        log.contains("edge login refused"),
        "the refusals are logged"
    );
    for secret in [
        &reader.password,
        &deleted.password,
        "pscale_pw_not-the-password",
    ] {
        assert!(!log.contains(secret), "a password in the server log");
    }
    let page = scrape(fixture.server.base_url()).await;
    assert!(
        sample(
            &page,
            "dbplane_edge_refusals_total{reason=\"access_denied\"}"
        ) >= Some(4.0),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_migrations_refuse_direct_ddl_and_branches_reach_only_their_own_objects() {
    let fixture = main_with_a_row_and_dev().await;
    let main_physical = fixture.admin.physical.clone();
    let response = fixture
        .client
        .post(
            &format!("{DB_PATH}/branches/main/safe-migrations"),
            json!({}),
        )
        .await;
    assert!(response.status < 300, "{}", response.body);

    // An admin of main: DDL refused at the edge, DML still fine, on the same connection.
    let mut admin = fixture.admin.mysql().await.unwrap();
    let ddl = admin
        .query_drop("ALTER TABLE items ADD COLUMN note TEXT")
        .await;
    assert_eq!(code(&ddl), Some(1105), "{}", message(&ddl));
    assert!(
        message(&ddl).contains("direct DDL is disabled"),
        "{}",
        message(&ddl)
    );
    for statement in [
        "CREATE TABLE another (id INT PRIMARY KEY)",
        "/* a comment */ drop table items",
        "RENAME TABLE items TO gone",
        "TRUNCATE TABLE items",
        "CREATE INDEX by_name ON items (name)",
    ] {
        let refused = admin.query_drop(statement).await;
        assert_eq!(
            code(&refused),
            Some(1105),
            "{statement}: {}",
            message(&refused)
        );
    }
    admin
        .query_drop("UPDATE items SET qty = qty + 1")
        .await
        .expect("DML under safe migrations");
    let _ = admin.disconnect().await;

    // An admin of dev keeps DDL.
    let dev = fixture.password("dev", "admin").await;
    let mut dev_conn = dev.mysql().await.unwrap();
    dev_conn
        .query_drop("ALTER TABLE items ADD COLUMN note TEXT")
        .await
        .expect("DDL on a branch without safe migrations");

    // dev reaches nothing of main or of another database, by any name.
    let mut databases: Vec<String> = dev_conn.query("SHOW DATABASES").await.unwrap();
    databases.sort();
    assert_eq!(databases, vec!["information_schema", "shop"]);
    assert_eq!(
        login_code(&dev.with_database(&main_physical)).await,
        Err(Some(1044)),
        "main's database by its physical name"
    );
    for statement in [
        format!("SELECT * FROM {main_physical}.items"),
        format!("SELECT * FROM `{main_physical}`.`items`"),
        format!("USE {main_physical}"),
        "SELECT * FROM mysql.user".to_string(),
        "USE mysql".to_string(),
    ] {
        let refused = dev_conn.query_drop(&statement).await;
        assert!(
            matches!(code(&refused), Some(1044 | 1142 | 1049)),
            "{statement}: {}",
            message(&refused)
        );
    }
    let schemas: Vec<String> = dev_conn
        .query("SELECT DISTINCT TABLE_SCHEMA FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema')")
        .await
        .unwrap();
    assert_eq!(schemas, vec!["shop"]);
    // A branch starts with the schema, not the rows: what dev writes is dev's alone.
    dev_conn
        .query_drop("INSERT INTO shop.items (name, qty) VALUES ('dev', 2)")
        .await
        .unwrap();
    let rows: Vec<String> = dev_conn.query("SELECT name FROM shop.items").await.unwrap();
    assert_eq!(rows, vec!["dev"], "dev's own table, by the database's name");
    let _ = dev_conn.disconnect().await;
}
