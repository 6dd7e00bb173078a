//! Backups of a MariaDB branch end to end over HTTP: a backup taken while a writer keeps
//! writing restores into a new branch holding exactly the snapshot (checksums, and a
//! cross-table invariant the writer keeps), with the same schema (schema engine) and
//! without the source's credentials. Retention, protection, policies and bad input:
//! `backups_retention.rs`.

mod backup_support;
mod support;

use backup_support::*;
use dbplane_engine::ClusterKind;
use dbplane_engine::physical::{ClusterAdmin, PhysicalName};
use dbplane_testkit::{TestServer, wait_until};
use mysql_async::prelude::Queryable;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
const DB: &str = "/v1/organizations/acme/databases/shop";
const MAIN: &str = "/v1/organizations/acme/databases/shop/branches/main";

const SCHEMA: &str = "
SET SESSION max_recursive_iterations = 100000;
CREATE TABLE customers (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL,
  email VARCHAR(255) NULL UNIQUE,
  profile JSON NULL,
  avatar BLOB NULL,
  balance DECIMAL(12,2) NULL,
  born DATE NULL,
  name_len INT AS (CHAR_LENGTH(name)) STORED,
  KEY by_name (name)
);
CREATE TABLE orders (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  customer_id BIGINT NOT NULL,
  total DECIMAL(10,2) NOT NULL,
  note TEXT NULL,
  placed DATETIME(6) NOT NULL,
  status ENUM('new','paid','shipped') NOT NULL,
  ratio DOUBLE NULL,
  KEY by_customer (customer_id),
  CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE TABLE events (id BIGINT PRIMARY KEY AUTO_INCREMENT, payload VARBINARY(64) NOT NULL, at DATETIME(3) NULL);
CREATE TABLE ledger (id INT PRIMARY KEY, balance BIGINT NOT NULL, last_event BIGINT NOT NULL);
CREATE TABLE kinds (
  id INT PRIMARY KEY, flags BIT(5) NULL, legacy VARCHAR(20) CHARACTER SET latin1 NULL,
  span TIME(6) NULL, ratio FLOAT NULL, yr YEAR NULL, stamp TIMESTAMP(3) NULL,
  raw VARBINARY(16) NULL, word VARCHAR(10) NULL, day DATE NULL
);
INSERT INTO kinds VALUES
  (1, b'10101', 'café é', '-838:59:59.000001', 1.0000001, 2024, '2024-02-29 12:00:00.125',
   UNHEX('00090A5C0D1A4EFF'), '\\\\N', '2024-02-29'),
  (2, b'0', '', '00:00:00', 16777215, 1901, '1970-01-01 00:00:01', '', '', '1000-01-01'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE VIEW paid_orders AS SELECT id, total FROM orders WHERE status = 'paid';
INSERT INTO ledger VALUES (1, 0, 0);
INSERT INTO customers (name, email, profile, avatar, balance, born)
  SELECT CONCAT('名前-', n, ' 😀 ü'), IF(n % 5 = 0, NULL, CONCAT('c', n, '@x.test')),
         IF(n % 3 = 0, NULL, JSON_OBJECT('n', n, 'tags', JSON_ARRAY('a', n % 7), 'q', 'say \"hi\"')),
         IF(n % 4 = 0, NULL, UNHEX(SHA2(n, 256))), IF(n % 6 = 0, NULL, n * 1.25),
         DATE_ADD('1990-01-01', INTERVAL n DAY)
  FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000) SELECT n FROM s) AS seq;
INSERT INTO orders (customer_id, total, note, placed, status, ratio)
  SELECT 1 + n % 3000, n * 0.5, IF(n % 2 = 0, NULL, CONCAT('note\\t', n, '\\n')),
         DATE_ADD('2024-01-01', INTERVAL n SECOND), ELT(1 + n % 3, 'new', 'paid', 'shipped'), n / 7
  FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 6000) SELECT n FROM s) AS seq;
";

/// Row checksums: `count:sum(crc32(row))`, NULLs distinct from any value.
const CUSTOMERS: &str = "CONCAT_WS('|', id, name, IFNULL(email, '<N>'), IFNULL(profile, '<N>'), \
     IFNULL(HEX(avatar), '<N>'), IFNULL(balance, '<N>'), IFNULL(born, '<N>'), name_len)";
const ORDERS: &str = "CONCAT_WS('|', id, customer_id, total, IFNULL(note, '<N>'), placed, status, IFNULL(ratio, '<N>'))";
const EVENTS: &str = "CONCAT_WS('|', id, HEX(payload), IFNULL(at, '<N>'))";
const KINDS: &str = "CONCAT_WS('|', id, IFNULL(flags + 0, '<N>'), IFNULL(HEX(legacy), '<N>'), \
     IFNULL(span, '<N>'), IFNULL(CAST(ratio AS DOUBLE), '<N>'), IFNULL(yr, '<N>'), IFNULL(stamp, '<N>'), \
     IFNULL(HEX(raw), '<N>'), IFNULL(HEX(word), '<N>'), IFNULL(day, '<N>'))";

async fn checksum(login: &Login, table: &str, row: &str, filter: &str) -> String {
    let mut conn = login.mysql().await.expect("connect");
    let sum: Option<String> = conn
        .query_first(format!(
            "SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32({row})), 0)) FROM {table} WHERE {filter}"
        ))
        .await
        .expect("checksum");
    let _ = conn.disconnect().await;
    sum.expect("a row")
}

/// Each operation is one transaction: a new event and the ledger moved to it, so any
/// consistent snapshot has `balance == last_event == count(events)`.
fn start_writer(login: Login) -> (Arc<AtomicBool>, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let (stop_flag, counter) = (stop.clone(), ops.clone());
    let handle = tokio::spawn(async move {
        let mut conn = login.mysql().await.expect("writer connects");
        while !stop_flag.load(Ordering::Relaxed) {
            let n = counter.load(Ordering::Relaxed) + 1;
            conn.query_drop(format!(
                "START TRANSACTION; INSERT INTO events (payload, at) VALUES (UNHEX(SHA2({n}, 256)), NOW(3)); \
                 UPDATE ledger SET balance = balance + 1, last_event = LAST_INSERT_ID() WHERE id = 1; COMMIT"
            ))
            .await
            .expect("writer transaction");
            counter.store(n, Ordering::Relaxed);
        }
        let _ = conn.disconnect().await;
    });
    (stop, ops, handle)
}

async fn wait_for_ops(ops: &AtomicU64, at_least: u64) {
    wait_until("the writer to write", Duration::from_secs(30), || async {
        (ops.load(Ordering::Relaxed) >= at_least).then_some(())
    })
    .await
}

#[tokio::test]
async fn mysql_backup_under_writes_restores_the_snapshot() {
    let mut settings = options(Vec::new());
    settings.extra_config += "restored_branches_limit = 1\n";
    let server = TestServer::start_with(BIN, settings).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    ready_database(&client, "acme", "shop", "mysql").await;
    let main_login = admin_password_at(&client, MAIN, "main-admin").await;
    mysql_exec(&main_login, SCHEMA)
        .await
        .expect("schema and rows");

    let (stop, ops, writer) = start_writer(main_login.clone());
    wait_for_ops(&ops, 20).await;
    let id = start_backup(
        &client,
        MAIN,
        json!({"name": "under-writes", "retention_unit": "day", "retention_value": 3}),
    )
    .await;
    let backup = finished_backup(&client, MAIN, &id).await;
    let written_during = ops.load(Ordering::Relaxed);
    wait_for_ops(&ops, written_during + 20).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("writer");

    assert_eq!(backup["state"], "success", "{backup}");
    assert_eq!(backup["name"], "under-writes");
    assert!(backup["size"].as_i64().unwrap() > 0);
    assert!(backup["uncompressed_size"].as_i64().unwrap() > backup["size"].as_i64().unwrap());
    for field in ["started_at", "completed_at", "expires_at"] {
        assert!(backup[field].is_string(), "{field}: {backup}");
    }
    assert!(backup["schema_snapshot"]["id"].is_string(), "{backup}");
    assert_eq!(backup["database_branch"]["name"], "main");
    assert_eq!(backup["required"], false);
    assert_eq!(backup["backup_policy"], serde_json::Value::Null);
    assert!(has_manifest(server.data_dir(), &id));

    // Restore into a new branch.
    let created = client
        .post(
            &format!("{DB}/branches"),
            json!({"name": "restored", "backup_id": id}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["state"], "pending");
    let restored = wait_for_branch(&client, DB, "restored").await;
    assert_eq!(
        restored["restored_from_branch"]["name"], "main",
        "{restored}"
    );
    let listed = client.get(&format!("{MAIN}/backups/{id}")).await.body;
    assert_eq!(
        listed["restored_branches"][0]["name"], "restored",
        "{listed}"
    );
    // The database's limit of restored branches (1 here) is reached.
    let database = client.get(DB).await.body;
    assert_eq!(
        database["at_backup_restore_branches_limit"], true,
        "{database}"
    );
    let over = client
        .post(
            &format!("{DB}/branches"),
            json!({"name": "restored-again", "backup_id": id}),
        )
        .await;
    assert_eq!(over.status, 422, "{}", over.body);
    assert!(over.body["message"].as_str().unwrap().contains("restored"));

    let restored_path = format!("{DB}/branches/restored");
    let restored_login = admin_password_at(&client, &restored_path, "restored-admin").await;
    // The snapshot is transactionally consistent and lies inside the writer's run.
    let mut conn = restored_login
        .mysql()
        .await
        .expect("connect to the restore");
    let (events, max_id): (u64, Option<u64>) = conn
        .query_first("SELECT COUNT(*), MAX(id) FROM events")
        .await
        .unwrap()
        .unwrap();
    let (balance, last): (u64, u64) = conn
        .query_first("SELECT balance, last_event FROM ledger WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    let _ = conn.disconnect().await;
    assert_eq!((balance, last, max_id), (events, events, Some(events)));
    assert!(
        events >= 20 && events <= written_during,
        "{events} of {written_during}"
    );
    // Restored rows equal the source's rows as of the snapshot.
    for (table, row, filter) in [
        ("customers", CUSTOMERS, "TRUE".to_string()),
        ("orders", ORDERS, "TRUE".to_string()),
        ("kinds", KINDS, "TRUE".to_string()),
        ("events", EVENTS, format!("id <= {events}")),
    ] {
        assert_eq!(
            checksum(&restored_login, table, row, "TRUE").await,
            checksum(&main_login, table, row, &filter).await,
            "{table}"
        );
    }
    let source_events = checksum(&main_login, "events", EVENTS, "TRUE").await;
    assert_ne!(
        source_events,
        checksum(&restored_login, "events", EVENTS, "TRUE").await
    );

    // Same schema, compared by the schema engine.
    let port = server.managed_mysql_port();
    let admin = ClusterAdmin::connect(
        ClusterKind::Mysql,
        &format!("mysql://root@127.0.0.1:{port}/"),
    )
    .await
    .expect("cluster admin");
    let source_schema = admin
        .introspect(&PhysicalName::new(main_login.physical.clone()).unwrap())
        .await
        .unwrap();
    let restored_schema = admin
        .introspect(&PhysicalName::new(restored_login.physical.clone()).unwrap())
        .await
        .unwrap();
    assert!(restored_schema.views.contains_key("paid_orders"));
    // MariaDB qualifies a view's columns with its own database when the session's
    // default database is another one; each view names its own database.
    let unqualified = |schema: &dbplane_schema::Schema, database: &str| {
        format!("{schema:?}").replace(&format!("{database}."), "")
    };
    assert_eq!(
        unqualified(&source_schema, &main_login.physical),
        unqualified(&restored_schema, &restored_login.physical)
    );
    assert_eq!(source_schema.tables, restored_schema.tables);
    // The restored view runs with the restored database's owner rights, not the admin's.
    let mut root = mysql_root(port).await;
    let definer: Option<String> = root
        .exec_first(
            "SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'paid_orders'",
            (restored_login.physical.clone(),),
        )
        .await
        .unwrap();
    let _ = root.disconnect().await;
    assert_eq!(
        definer,
        Some(format!("{}_owner@localhost", restored_login.physical))
    );

    // The source's credentials do not reach the restored branch.
    let intruder = main_login.with_database(&restored_login.physical);
    assert!(mysql_count(&intruder, "customers").await.is_err());
    assert_eq!(
        mysql_count(&restored_login, "customers").await.unwrap(),
        3000
    );

    // Bad input.
    let bad = client
        .post(
            &format!("{MAIN}/backups"),
            json!({"retention_unit": "day", "retention_value": 0}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .contains("retention_value")
    );
    let bad = client
        .post(
            &format!("{MAIN}/backups"),
            json!({"retention_unit": "day", "retention_value": 1001}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let bad = client
        .post(
            &format!("{MAIN}/backups"),
            json!({"retention_unit": "fortnight"}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let emergency = client
        .post(&format!("{MAIN}/backups"), json!({"emergency": true}))
        .await;
    assert_eq!(emergency.status, 400, "{}", emergency.body);
    assert!(
        emergency.body["message"]
            .as_str()
            .unwrap()
            .contains("emergency")
    );
    let unknown = client
        .post(
            &format!("{DB}/branches"),
            json!({"name": "nope", "backup_id": "zzzzzzzzzzzz"}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(
        client
            .get(&format!("{MAIN}/backups/zzzzzzzzzzzz"))
            .await
            .status,
        404
    );
    let bad_filter = client.get(&format!("{MAIN}/backups?state=done")).await;
    assert_eq!(bad_filter.status, 400, "{}", bad_filter.body);
    ready_database(&client, "acme", "other", "mysql").await;
    let foreign = client
        .post(
            "/v1/organizations/acme/databases/other/branches",
            json!({"name": "stolen", "backup_id": id}),
        )
        .await;
    assert_eq!(foreign.status, 400, "{}", foreign.body);
    assert!(
        foreign.body["message"]
            .as_str()
            .unwrap()
            .contains("backup_id")
    );
    let seed = client
        .post(
            &format!("{DB}/branches"),
            json!({"name": "seeded", "seed_data": "last_successful_backup"}),
        )
        .await;
    assert_eq!(seed.status, 422, "data branching is off: {}", seed.body);
}
