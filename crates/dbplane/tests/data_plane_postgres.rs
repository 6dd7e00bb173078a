//! End to end over HTTP against a managed PostgreSQL: a database, a branch with the
//! parent's schema, roles with real privileges, safe migrations, isolation, deletion.

mod support;

use dbplane_testkit::TestServer;
use serde_json::json;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");

async fn role(client: &dbplane_testkit::ApiClient, branch_path: &str, inherited: &[&str]) -> Login {
    let created = client
        .post(
            &format!("{branch_path}/roles"),
            json!({"name": "app", "inherited_roles": inherited}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(
        created.body["password"]
            .as_str()
            .unwrap()
            .starts_with("pscale_pw_")
    );
    Login::from_role(&created.body)
}

#[tokio::test]
async fn postgres_database_branches_and_roles() {
    let server = TestServer::start_with_clusters(BIN).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    let database = ready_database(&client, "acme", "ledger", "postgresql").await;
    assert_eq!(database["kind"], "postgresql");
    let db_path = "/v1/organizations/acme/databases/ledger";
    let main_path = format!("{db_path}/branches/main");

    let owner = role(&client, &main_path, &["postgres"]).await;
    pg_exec(
        &owner,
        "CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, balance numeric(12,2) DEFAULT 0 CHECK (balance >= 0));
         CREATE TABLE entries (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id), amount numeric(12,2) NOT NULL);
         CREATE INDEX entries_by_account ON entries (account_id);
         CREATE VIEW balances AS SELECT a.email, sum(e.amount) AS total FROM accounts a JOIN entries e ON e.account_id = a.id GROUP BY a.email;
         INSERT INTO accounts (email) VALUES ('a@x.test'), ('b@x.test');",
    )
    .await
    .unwrap();
    let schema = client.get(&format!("{main_path}/schema")).await;
    assert_eq!(schema.status, 200, "{}", schema.body);
    let names: Vec<&str> = schema.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"accounts") && names.contains(&"entries") && names.contains(&"balances"),
        "{names:?}"
    );

    ready_branch(&client, db_path, "dev", None).await;
    let dev_path = format!("{db_path}/branches/dev");
    let dev_schema = client.get(&format!("{dev_path}/schema")).await;
    assert_eq!(
        dev_schema.body["data"], schema.body["data"],
        "same schema, no data"
    );
    let dev_owner = role(&client, &dev_path, &["postgres"]).await;
    assert_eq!(pg_count(&dev_owner, "accounts").await.unwrap(), 0);
    pg_exec(
        &dev_owner,
        "INSERT INTO accounts (email) VALUES ('dev@x.test')",
    )
    .await
    .unwrap();

    // The copied objects belong to the branch's owner, not to the schema template's.
    pg_exec(&dev_owner, "ALTER TABLE entries ADD COLUMN memo text")
        .await
        .unwrap();

    // A schema change of the parent reaches the next branch (its template is rebuilt).
    pg_exec(
        &owner,
        "ALTER TABLE accounts ADD COLUMN region text; CREATE TABLE audit (id bigint PRIMARY KEY)",
    )
    .await
    .unwrap();
    ready_branch(&client, db_path, "dev2", None).await;
    let main_now = client.get(&format!("{main_path}/schema")).await;
    let dev2_schema = client.get(&format!("{db_path}/branches/dev2/schema")).await;
    assert_eq!(dev2_schema.body["data"], main_now.body["data"]);
    assert_ne!(dev2_schema.body["data"], schema.body["data"]);

    let reader = role(&client, &dev_path, &["pg_read_all_data"]).await;
    let writer = role(&client, &dev_path, &["pg_write_all_data"]).await;
    assert_eq!(pg_count(&reader, "accounts").await.unwrap(), 1);
    assert!(
        pg_exec(&reader, "INSERT INTO accounts (email) VALUES ('r@x.test')")
            .await
            .is_err()
    );
    assert!(
        pg_exec(&writer, "INSERT INTO accounts (email) VALUES ('w@x.test')")
            .await
            .is_ok()
    );
    assert!(
        pg_exec(&writer, "CREATE TABLE nope (id int)")
            .await
            .is_err()
    );
    // Isolation: a dev role cannot even connect to main's database.
    assert!(
        reader
            .with_database(&owner.database)
            .postgres()
            .await
            .is_err()
    );

    // Safe migrations: DDL refused for every role, restored when disabled.
    let enabled = client
        .put(
            &format!("{dev_path}/safe-migrations"),
            json!({"safe_migrations": true}),
        )
        .await;
    assert_eq!(enabled.body["safe_migrations"], true, "{}", enabled.body);
    assert!(
        pg_exec(&dev_owner, "CREATE TABLE refused (id int)")
            .await
            .is_err()
    );
    assert!(
        pg_exec(
            &dev_owner,
            "INSERT INTO accounts (email) VALUES ('still@x.test')"
        )
        .await
        .is_ok()
    );
    client
        .put(
            &format!("{dev_path}/safe-migrations"),
            json!({"safe_migrations": false}),
        )
        .await;
    assert!(
        pg_exec(&dev_owner, "CREATE TABLE allowed (id int)")
            .await
            .is_ok()
    );

    // Passwords are for MySQL branches.
    let wrong_kind = client
        .post(&format!("{dev_path}/passwords"), json!({"role": "admin"}))
        .await;
    assert_eq!(wrong_kind.status, 422);

    assert_eq!(client.delete(&dev_path).await.status, 204);
    wait_for_gone(&client, &dev_path).await;
    dbplane_testkit::wait_until("the dev roles to stop working", READY_TIMEOUT, || {
        let dev_owner = dev_owner.clone();
        async move { dev_owner.postgres().await.is_err().then_some(()) }
    })
    .await;
    assert_eq!(
        pg_count(&owner, "accounts").await.unwrap(),
        2,
        "main keeps its rows"
    );
}
