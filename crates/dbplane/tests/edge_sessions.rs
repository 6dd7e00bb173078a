//! The connection edge's sessions against the real binary and MariaDB: 2,000 clients
//! held over at most 50 backend connections without one client's session state reaching
//! another; its limits (connections per branch, row limit, query timeout, idle timeout)
//! answered with the errors clients expect while the connection survives; clients
//! reconnecting after `serve` and the managed MariaDB restart, with nothing half-applied;
//! the protocol's commands (multi-statements, prepared statements, reset, change user,
//! `KILL`) as against MariaDB. Who gets in and what they reach: `edge_access.rs`.
//!
//! (Cutover under writes through the edge is `deploy_writers.rs`: its writers connect
//! with a password's address, which is the edge, and fail the test on any error.)

mod support;

use std::time::Duration;

use dbplane_testkit::{TestOptions, wait_until};
use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use support::edge::{EdgeFixture, code, main_with_a_row_and_dev, message};
use support::*;

/// Backend connections the managed MariaDB has for `user`.
async fn backends_of(fixture: &EdgeFixture, user: &str) -> u64 {
    let mut root = mysql_root(fixture.server.managed_mysql_port()).await;
    let count: Option<u64> = root
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?",
            (user,),
        )
        .await
        .unwrap();
    let _ = root.disconnect().await;
    count.unwrap_or(0)
}

/// The edge's client sessions, from `/metrics`.
async fn edge_sessions(fixture: &EdgeFixture) -> Option<f64> {
    let page = scrape(fixture.server.base_url()).await;
    sample(&page, "dbplane_edge_client_sessions")
}

const CLIENTS: usize = 2_000;
const BACKEND_LIMIT: u64 = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_clients_share_fifty_backends_and_keep_their_state_to_themselves() {
    let fixture = EdgeFixture::start().await;
    // An admin: the one role with temporary tables.
    let login = fixture.password("main", "admin").await;
    mysql_exec(
        &fixture.admin,
        "INSERT INTO items (name, qty) VALUES ('a', 1)",
    )
    .await
    .unwrap();

    let mut clients: Vec<mysql_async::Conn> = futures_util::stream::iter(0..CLIENTS)
        .map(|_| {
            let login = login.clone();
            async move { login.mysql().await.expect("a client connects") }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let held = backends_of(&fixture, &login.user).await;
    assert!(
        (1..=BACKEND_LIMIT).contains(&held),
        "{CLIENTS} clients held {held} backend connections"
    );
    // The managed MariaDB runs on this machine: the edge reaches it over its socket.
    let mut root = mysql_root(fixture.server.managed_mysql_port()).await;
    let hosts: Vec<String> = root
        .exec(
            "SELECT DISTINCT HOST FROM information_schema.PROCESSLIST WHERE USER = ?",
            (&login.user,),
        )
        .await
        .unwrap();
    let _ = root.disconnect().await;
    assert_eq!(
        hosts,
        vec!["localhost"],
        "backend connections over the socket"
    );
    wait_until("the edge to count every session", READY_TIMEOUT, || async {
        (edge_sessions(&fixture).await >= Some(CLIENTS as f64)).then_some(())
    })
    .await;

    // One client builds up session state of every kind.
    let mut owner = clients.remove(0);
    for statement in [
        "SET @secret = 'mine'",
        "SET SESSION sql_mode = 'ANSI_QUOTES'",
        "SET SESSION time_zone = '+05:00'",
        "CREATE TEMPORARY TABLE scratch (n INT)",
        "INSERT INTO scratch VALUES (42)",
        "BEGIN",
        "INSERT INTO items (name, qty) VALUES ('uncommitted', 2)",
    ] {
        owner.query_drop(statement).await.expect(statement);
    }

    // Every other client, all at once: none sees any of it.
    let leaks: Vec<String> = futures_util::stream::iter(clients.iter_mut().enumerate())
        .map(|(index, client)| async move {
            let row: Option<(Option<String>, String, String, u64)> = client
                .query_first(
                    "SELECT @secret, @@session.sql_mode, @@session.time_zone, \
                     (SELECT COUNT(*) FROM items)",
                )
                .await
                .expect("a plain read");
            let (secret, sql_mode, time_zone, items) = row.unwrap();
            let scratch = client.query_drop("SELECT n FROM scratch").await;
            let mut leaked = Vec::new();
            if secret.is_some() {
                leaked.push("a user variable");
            }
            if sql_mode.contains("ANSI_QUOTES") {
                leaked.push("sql_mode");
            }
            if time_zone == "+05:00" {
                leaked.push("time_zone");
            }
            if items != 1 {
                leaked.push("an uncommitted row");
            }
            if code(&scratch) != Some(1146) {
                leaked.push("a temporary table");
            }
            (!leaked.is_empty()).then(|| format!("client {index} saw {leaked:?}"))
        })
        .buffer_unordered(64)
        .filter_map(|leak| async move { leak })
        .collect()
        .await;
    assert!(
        leaks.is_empty(),
        "{} leaks, e.g. {:?}",
        leaks.len(),
        &leaks[..1]
    );
    let held = backends_of(&fixture, &login.user).await;
    assert!(held <= BACKEND_LIMIT, "busy clients held {held} backends");

    // The owner still has all of it, and its transaction commits.
    let row: Option<(String, String, u64)> = owner
        .query_first("SELECT @secret, @@session.time_zone, (SELECT n FROM scratch)")
        .await
        .unwrap();
    assert_eq!(row, Some(("mine".into(), "+05:00".into(), 42)));
    owner.query_drop("COMMIT").await.unwrap();
    assert_eq!(mysql_count(&login, "items").await.unwrap(), 2);

    futures_util::stream::iter(clients)
        .for_each_concurrent(64, |client| async move {
            let _ = client.disconnect().await;
        })
        .await;
    let _ = owner.disconnect().await;
    wait_until("the sessions to end", READY_TIMEOUT, || async {
        (edge_sessions(&fixture).await == Some(0.0)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_with_the_errors_clients_expect_and_the_connection_survives() {
    let fixture = EdgeFixture::start_with(TestOptions {
        clusters: true,
        extra_config: "[edge]\nmax_connections_per_branch = 4\nrow_limit = 10\n\
            query_timeout_seconds = 1\nidle_timeout_seconds = 3\n"
            .into(),
        ..Default::default()
    })
    .await;
    let login = fixture.password("main", "readwriter").await;
    let mut first = login.mysql().await.unwrap();
    first
        .query_drop(
            "INSERT INTO items (name, qty) SELECT CONCAT('row-', seq), seq FROM seq_1_to_11",
        )
        .await
        .unwrap();

    // The row limit: an OLTP read of 11 rows fails, then the session goes on.
    let read = first.query::<u64, _>("SELECT id FROM items").await;
    assert_eq!(code(&read), Some(1317), "{}", message(&read));
    assert!(
        message(&read).contains("Row count exceeded 10"),
        "{}",
        message(&read)
    );
    let ten: Vec<u64> = first.query("SELECT id FROM items LIMIT 10").await.unwrap();
    assert_eq!(ten.len(), 10);
    first.query_drop("SET workload = 'olap'").await.unwrap();
    let all: Vec<u64> = first.query("SELECT id FROM items").await.unwrap();
    assert_eq!(all.len(), 11, "OLAP reads have no row limit");
    first.query_drop("SET workload = 'oltp'").await.unwrap();

    // The query timeout.
    let started = std::time::Instant::now();
    let slow = first.query_drop("SELECT SLEEP(3)").await;
    assert_eq!(code(&slow), Some(1969), "{}", message(&slow));
    assert!(started.elapsed() < Duration::from_secs(10));
    let one: Option<u8> = first.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));

    // Connections per branch: the fifth is refused; one leaving makes room.
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(login.mysql().await.unwrap());
    }
    let fifth = login.mysql().await;
    assert_eq!(code(&fifth), Some(1040), "{}", message(&fifth));
    others.pop().unwrap().disconnect().await.unwrap();
    wait_until("a freed connection slot", READY_TIMEOUT, || async {
        login.mysql().await.ok()
    })
    .await
    .disconnect()
    .await
    .unwrap();

    // The idle timeout: every session idle past 3 s is closed by the edge.
    wait_until("idle sessions to be closed", READY_TIMEOUT, || async {
        (edge_sessions(&fixture).await == Some(0.0)).then_some(())
    })
    .await;
    let after_idle = first.query_drop("SELECT 1").await;
    assert!(after_idle.is_err(), "an idle-closed session answered");
    let page = scrape(fixture.server.base_url()).await;
    for reason in [
        "row_limit",
        "query_timeout",
        "too_many_connections",
        "idle_timeout",
    ] {
        let key = format!("dbplane_edge_refusals_total{{reason=\"{reason}\"}}");
        assert!(sample(&page, &key) >= Some(1.0), "{key} in\n{page}");
    }
    let again = login
        .mysql()
        .await
        .expect("a new session after the idle timeout");
    let _ = again.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reconnect_after_serve_and_mariadb_restart_with_nothing_half_applied() {
    let mut fixture = EdgeFixture::start().await;
    let login = fixture.password("main", "readwriter").await;
    let mut conn = login.mysql().await.unwrap();
    conn.query_drop("INSERT INTO items (name, qty) VALUES ('committed', 1)")
        .await
        .unwrap();
    conn.query_drop("BEGIN").await.unwrap();
    conn.query_drop("INSERT INTO items (name, qty) VALUES ('in flight', 2)")
        .await
        .unwrap();

    fixture.server.restart().await;
    assert!(
        conn.query_drop("COMMIT").await.is_err(),
        "a session of the stopped serve cannot commit"
    );
    let mut conn = wait_until(
        "a client to reconnect after serve restarts",
        READY_TIMEOUT,
        || async { login.mysql().await.ok() },
    )
    .await;
    let names: Vec<String> = conn.query("SELECT name FROM items").await.unwrap();
    assert_eq!(
        names,
        vec!["committed"],
        "the open transaction was rolled back"
    );

    // The managed MariaDB dies mid-transaction.
    conn.query_drop("BEGIN").await.unwrap();
    conn.query_drop("INSERT INTO items (name, qty) VALUES ('in flight', 3)")
        .await
        .unwrap();
    kill_managed_mysql(&fixture.server);
    let commit = conn.query_drop("COMMIT").await;
    assert!(commit.is_err(), "a commit on a dead server cannot succeed");
    let _ = conn.disconnect().await;
    let names: Vec<String> = wait_until(
        "a client to read through the edge after MariaDB restarts",
        Duration::from_secs(120),
        || async {
            let mut conn = login.mysql().await.ok()?;
            let names = conn.query("SELECT name FROM items").await.ok();
            let _ = conn.disconnect().await;
            names
        },
    )
    .await;
    assert_eq!(names, vec!["committed"], "nothing half-applied");
    mysql_exec(&login, "INSERT INTO items (name, qty) VALUES ('after', 4)")
        .await
        .expect("writes go on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_commands_work_as_against_mariadb() {
    let fixture = main_with_a_row_and_dev().await;
    let dev = fixture.password("dev", "admin").await;
    mysql_exec(&dev, "INSERT INTO items (name, qty) VALUES ('dev', 2)")
        .await
        .unwrap();
    let mut conn = fixture.admin.mysql().await.unwrap();

    // Multi-statements: every result set, in order.
    let mut results = conn
        .query_iter("SELECT 1; SELECT name FROM items; SELECT DATABASE()")
        .await
        .unwrap();
    let mut sets: Vec<Vec<String>> = Vec::new();
    while !results.is_empty() {
        let rows: Vec<mysql_async::Row> = results.collect().await.unwrap();
        sets.push(
            rows.into_iter()
                .map(|row| row.get::<String, _>(0).unwrap())
                .collect(),
        );
    }
    drop(results);
    assert_eq!(sets, vec![vec!["1"], vec!["main"], vec!["shop"]]);

    // COM_STMT_PREPARE / EXECUTE with parameters, twice on one statement.
    let statement = conn
        .prep("SELECT name FROM items WHERE qty >= ? ORDER BY id")
        .await
        .unwrap();
    let all: Vec<String> = conn.exec(&statement, (0,)).await.unwrap();
    let none: Vec<String> = conn.exec(&statement, (100,)).await.unwrap();
    assert_eq!((all, none), (vec!["main".to_string()], vec![]));
    conn.close(statement).await.unwrap();

    // COM_RESET_CONNECTION: the session as after login.
    conn.query_drop("SET @mark = 7").await.unwrap();
    conn.query_drop("CREATE TEMPORARY TABLE scratch (n INT)")
        .await
        .unwrap();
    conn.reset().await.unwrap();
    let mark: Option<Option<u8>> = conn.query_first("SELECT @mark").await.unwrap();
    assert_eq!(mark, Some(None), "a user variable survived the reset");
    let scratch = conn.query_drop("SELECT * FROM scratch").await;
    assert_eq!(code(&scratch), Some(1146), "{}", message(&scratch));

    // COM_CHANGE_USER to a password of another branch: that branch's rows.
    conn.change_user(
        mysql_async::ChangeUserOpts::default()
            .with_user(Some(dev.user.clone()))
            .with_pass(Some(dev.password.clone()))
            .with_db_name(Some("shop".into())),
    )
    .await
    .unwrap();
    let names: Vec<String> = conn.query("SELECT name FROM items").await.unwrap();
    assert_eq!(names, vec!["dev"]);

    // KILL QUERY with the connection id the edge gave: the statement stops, the session
    // goes on.
    let mut other = fixture.admin.mysql().await.unwrap();
    let id = conn.id();
    let sleeping = tokio::spawn(async move {
        let result = conn.query_drop("SELECT SLEEP(30)").await;
        (conn, result)
    });
    wait_until("the statement to run", READY_TIMEOUT, || async {
        let mut root = mysql_root(fixture.server.managed_mysql_port()).await;
        let running: Option<u64> = root
            .query_first(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(30)%'",
            )
            .await
            .unwrap();
        let _ = root.disconnect().await;
        (running == Some(1)).then_some(())
    })
    .await;
    let refused = other.query_drop(format!("KILL QUERY {id}")).await;
    assert_eq!(
        code(&refused),
        Some(1095),
        "another account's session: {}",
        message(&refused)
    );
    let mut same = dev.mysql().await.unwrap();
    same.query_drop(format!("KILL QUERY {id}")).await.unwrap();
    let started = std::time::Instant::now();
    let (mut conn, result) = sleeping.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    // MariaDB ends an interrupted SLEEP() early with 1, or with error 1317.
    assert!(
        result.is_ok() || code(&result) == Some(1317),
        "{}",
        message(&result)
    );
    let one: Option<u8> = conn.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    for conn in [conn, other, same] {
        let _ = conn.disconnect().await;
    }
}
