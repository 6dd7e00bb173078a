//! Backups of a PostgreSQL branch end to end over HTTP: a backup taken while a writer
//! keeps writing restores into a new branch holding exactly the snapshot (checksums and
//! a cross-table invariant), with the same schema (schema engine) and without the
//! source's roles; emergency backups; Data Branching® from the last successful backup.

mod backup_support;
mod support;

use backup_support::*;
use dbplane_engine::ClusterKind;
use dbplane_engine::physical::{ClusterAdmin, PhysicalName};
use dbplane_testkit::{ApiClient, TestServer, wait_until};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
const DB: &str = "/v1/organizations/acme/databases/ledger";
const MAIN: &str = "/v1/organizations/acme/databases/ledger/branches/main";

const SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE customers (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  profile jsonb,
  avatar bytea,
  balance numeric(12,2),
  born date,
  mood mood,
  tags text[],
  name_len int GENERATED ALWAYS AS (char_length(name)) STORED
);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  total numeric(10,2) NOT NULL,
  note text,
  placed timestamptz NOT NULL
);
CREATE INDEX orders_by_customer ON orders (customer_id);
CREATE TABLE events (id bigserial PRIMARY KEY, payload bytea NOT NULL, at timestamptz);
CREATE TABLE ledger (id int PRIMARY KEY, balance bigint NOT NULL, last_event bigint NOT NULL);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
CREATE TABLE readings (id int NOT NULL, at date NOT NULL, value real) PARTITION BY RANGE (at);
CREATE TABLE readings_2023 PARTITION OF readings FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO readings SELECT n, date '2023-06-01' + n, n / 3.0 FROM generate_series(1, 400) AS n;
INSERT INTO ledger VALUES (1, 0, 0);
INSERT INTO customers (name, profile, avatar, balance, born, mood, tags)
  SELECT '名前-' || n || ' 😀 ü',
         CASE WHEN n % 3 = 0 THEN NULL ELSE jsonb_build_object('n', n, 'tags', jsonb_build_array('a', n % 7), 'q', 'say \"hi\"') END,
         CASE WHEN n % 4 = 0 THEN NULL ELSE sha256(n::text::bytea) END,
         CASE WHEN n % 6 = 0 THEN NULL ELSE n * 1.25 END,
         date '1990-01-01' + n,
         CASE WHEN n % 2 = 0 THEN 'happy'::mood ELSE NULL END,
         ARRAY['x', n::text]
  FROM generate_series(1, 3000) AS n;
INSERT INTO orders (customer_id, total, note, placed)
  SELECT 1 + n % 3000, n * 0.5, CASE WHEN n % 2 = 0 THEN NULL ELSE E'note\\t' || n END,
         timestamptz '2024-01-01 00:00:00+00' + n * interval '1 second'
  FROM generate_series(1, 6000) AS n;
";

/// `count:sum(hash(row text))`; a NULL and an empty value render differently.
async fn checksum(login: &Login, table: &str, filter: &str) -> String {
    let client = login.postgres().await.expect("connect");
    let row = client
        .query_one(
            &format!(
                "SELECT count(*) || ':' || coalesce(sum(hashtext(t::text)::bigint), 0) FROM {table} t WHERE {filter}"
            ),
            &[],
        )
        .await
        .expect("checksum");
    row.get(0)
}

async fn role(client: &ApiClient, branch: &str, name: &str) -> Login {
    let created = client
        .post(
            &format!("{branch}/roles"),
            json!({"name": name, "inherited_roles": ["postgres"]}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    Login::from_role(&created.body)
}

/// One transaction per operation: a new event and the ledger moved to it.
fn start_writer(login: Login) -> (Arc<AtomicBool>, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let (stop_flag, counter) = (stop.clone(), ops.clone());
    let handle = tokio::spawn(async move {
        let client = login.postgres().await.expect("writer connects");
        while !stop_flag.load(Ordering::Relaxed) {
            let n = counter.load(Ordering::Relaxed) + 1;
            client
                .batch_execute(&format!(
                    "BEGIN; INSERT INTO events (payload, at) VALUES (sha256('{n}'::bytea), now()); \
                     UPDATE ledger SET balance = balance + 1, last_event = currval('events_id_seq') WHERE id = 1; COMMIT"
                ))
                .await
                .expect("writer transaction");
            counter.store(n, Ordering::Relaxed);
        }
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
async fn postgres_backup_under_writes_restores_the_snapshot() {
    let server = TestServer::start_with(BIN, options(Vec::new())).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    ready_database(&client, "acme", "ledger", "postgresql").await;
    let main_login = role(&client, MAIN, "owner").await;
    pg_exec(&main_login, SCHEMA).await.expect("schema and rows");

    let (stop, ops, writer) = start_writer(main_login.clone());
    wait_for_ops(&ops, 20).await;
    let id = start_backup(
        &client,
        MAIN,
        json!({"name": "emergency", "emergency": true, "retention_unit": "week", "retention_value": 1}),
    )
    .await;
    let backup = finished_backup(&client, MAIN, &id).await;
    let written_during = ops.load(Ordering::Relaxed);
    wait_for_ops(&ops, written_during + 20).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("writer");
    assert_eq!(backup["state"], "success", "{backup}");
    assert!(backup["size"].as_i64().unwrap() > 0);
    assert!(backup["schema_snapshot"].is_object(), "{backup}");

    let created = client
        .post(
            &format!("{DB}/branches"),
            json!({"name": "restored", "backup_id": id}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
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

    let restored_path = format!("{DB}/branches/restored");
    let restored_login = role(&client, &restored_path, "owner").await;
    let pg = restored_login
        .postgres()
        .await
        .expect("connect to the restore");
    let row = pg
        .query_one("SELECT (SELECT count(*) FROM events), (SELECT max(id) FROM events), balance, last_event FROM ledger", &[])
        .await
        .unwrap();
    let (events, max_id, balance, last): (i64, Option<i64>, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((balance, last, max_id), (events, events, Some(events)));
    assert!(
        events >= 20 && events as u64 <= written_during,
        "{events} of {written_during}"
    );
    for (table, filter) in [
        ("customers", "TRUE".to_string()),
        ("orders", "TRUE".to_string()),
        ("readings", "TRUE".to_string()),
        ("events", format!("id <= {events}")),
    ] {
        assert_eq!(
            checksum(&restored_login, table, "TRUE").await,
            checksum(&main_login, table, &filter).await,
            "{table}"
        );
    }
    // Sequences continue after the restored rows.
    pg.batch_execute("INSERT INTO events (payload) VALUES ('\\x00')")
        .await
        .expect("insert after restore");

    let port = port_of(restored["mysql_address"].as_str().unwrap());
    let admin = ClusterAdmin::connect(
        ClusterKind::Postgresql,
        &format!("postgres://postgres@127.0.0.1:{port}/postgres"),
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
    assert_eq!(source_schema, restored_schema);
    assert!(restored_schema.views.contains_key("big_orders"));
    assert!(restored_schema.enum_types.contains_key("mood"));

    // The source's role does not reach the restored branch's data.
    let intruder = main_login.with_database(&restored_login.physical);
    assert!(pg_count(&intruder, "customers").await.is_err());

    // Data Branching: refused until the database allows it, then seeded from the
    // newest successful backup of the parent.
    let seed = json!({"name": "seeded", "seed_data": "last_successful_backup"});
    let refused = client.post(&format!("{DB}/branches"), seed.clone()).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let enabled = client
        .patch(DB, json!({"allow_data_branching": true}))
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    let bad_seed = client
        .post(
            &format!("{DB}/branches"),
            json!({"name": "seeded", "seed_data": "yesterday"}),
        )
        .await;
    assert_eq!(bad_seed.status, 400, "{}", bad_seed.body);
    let seeded = client.post(&format!("{DB}/branches"), seed).await;
    assert_eq!(seeded.status, 201, "{}", seeded.body);
    let seeded = wait_for_branch(&client, DB, "seeded").await;
    assert_eq!(
        seeded["production"], true,
        "a production parent seeds a production branch"
    );
    assert_eq!(seeded["restored_from_branch"]["name"], "main");
    let seeded_login = role(&client, &format!("{DB}/branches/seeded"), "owner").await;
    assert_eq!(
        checksum(&seeded_login, "customers", "TRUE").await,
        checksum(&main_login, "customers", "TRUE").await
    );
}
