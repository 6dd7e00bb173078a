//! End to end over HTTP against a managed MariaDB: databases, branches with their
//! parent's schema, passwords with real grants, safe migrations, promotion, deletion
//! with nothing left behind.

mod support;

use dbplane_testkit::TestServer;
use serde_json::json;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");

async fn password(client: &dbplane_testkit::ApiClient, branch_path: &str, role: &str) -> Login {
    let created = client
        .post(
            &format!("{branch_path}/passwords"),
            json!({"name": format!("{role}-pw"), "role": role}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["role"], role);
    assert!(
        created.body["plain_text"]
            .as_str()
            .unwrap()
            .starts_with("pscale_pw_")
    );
    assert!(
        created.body["connection_url"]
            .as_str()
            .unwrap()
            .starts_with("mysql://")
    );
    Login::from_password(&created.body)
}

#[tokio::test]
async fn mysql_database_branches_and_passwords() {
    let server = TestServer::start_with_clusters(BIN).await;
    let admin_token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(admin_token.header()));

    let database = ready_database(&client, "acme", "shop", "mysql").await;
    assert_eq!(database["kind"], "mysql");
    assert_eq!(database["default_branch"], "main");
    let db_path = "/v1/organizations/acme/databases/shop";
    let main = client.get(&format!("{db_path}/branches/main")).await.body;
    assert_eq!(main["production"], true);
    assert_eq!(main["ready"], true);
    let cluster_port = server.managed_mysql_port();

    // Build a schema on main through an admin password.
    let main_admin = password(&client, &format!("{db_path}/branches/main"), "admin").await;
    mysql_exec(
        &main_admin,
        "CREATE TABLE customers (id BIGINT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(255) NOT NULL UNIQUE, \
         created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )
    .await
    .unwrap();
    mysql_exec(
        &main_admin,
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, total DECIMAL(10,2), \
         KEY by_customer (customer_id), CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id))",
    )
    .await
    .unwrap();
    mysql_exec(
        &main_admin,
        "INSERT INTO customers (email) VALUES ('a@x.test'), ('b@x.test')",
    )
    .await
    .unwrap();
    let schema = client.get(&format!("{db_path}/branches/main/schema")).await;
    let names: Vec<&str> = schema.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["customers", "orders"]);
    assert!(
        schema.body["data"][1]["raw"]
            .as_str()
            .unwrap()
            .contains("FOREIGN KEY")
    );

    // Lint reads the live schema: clean now, NO_UNIQUE_KEY once a keyless table exists.
    let lint = client
        .get(&format!("{db_path}/branches/main/schema/lint"))
        .await;
    assert_eq!(lint.status, 200, "{}", lint.body);
    assert_eq!(lint.body["data"], json!([]));
    mysql_exec(&main_admin, "CREATE TABLE audit_log (message TEXT)")
        .await
        .unwrap();
    let lint = client
        .get(&format!("{db_path}/branches/main/schema/lint"))
        .await;
    assert_eq!(
        lint.body["data"][0]["lint_error"], "NO_UNIQUE_KEY",
        "{}",
        lint.body
    );
    assert_eq!(lint.body["data"][0]["table_name"], "audit_log");
    mysql_exec(&main_admin, "DROP TABLE audit_log")
        .await
        .unwrap();

    // A development branch gets the parent's schema and no rows.
    let dev = ready_branch(&client, db_path, "dev", None).await;
    assert_eq!(dev["parent_branch"], "main");
    assert_eq!(dev["production"], false);
    let dev_path = format!("{db_path}/branches/dev");
    let dev_schema = client.get(&format!("{dev_path}/schema")).await;
    assert_eq!(
        dev_schema.body["data"], schema.body["data"],
        "same CREATE statements"
    );
    let dev_admin = password(&client, &dev_path, "admin").await;
    assert_eq!(mysql_count(&dev_admin, "customers").await.unwrap(), 0);
    // Through the edge every branch is reached by the database's own name; the
    // password says which branch.
    assert_eq!(dev_admin.database, "shop");
    assert_eq!(main_admin.database, "shop");
    let main_physical = format!("dbp_{}", main["id"].as_str().unwrap());
    let dev_physical = format!("dbp_{}", dev["id"].as_str().unwrap());

    // Roles do what they say, on their branch only.
    let reader = password(&client, &dev_path, "reader").await;
    let writer = password(&client, &dev_path, "writer").await;
    let readwriter = password(&client, &dev_path, "readwriter").await;
    assert!(mysql_count(&reader, "customers").await.is_ok());
    assert!(
        mysql_exec(&reader, "INSERT INTO customers (email) VALUES ('r@x.test')")
            .await
            .is_err()
    );
    assert!(
        mysql_exec(&writer, "INSERT INTO customers (email) VALUES ('w@x.test')")
            .await
            .is_ok()
    );
    assert!(
        mysql_exec(&writer, "CREATE TABLE nope (id INT PRIMARY KEY)")
            .await
            .is_err()
    );
    assert!(
        mysql_exec(
            &readwriter,
            "UPDATE customers SET email = 'rw@x.test' WHERE email = 'w@x.test'"
        )
        .await
        .is_ok()
    );
    assert!(mysql_exec(&readwriter, "DROP TABLE orders").await.is_err());
    assert!(
        mysql_exec(&dev_admin, "CREATE TABLE scratch (id INT PRIMARY KEY)")
            .await
            .is_ok()
    );
    // Isolation: dev credentials cannot reach main's database by any name.
    for name in [main_physical.as_str(), dev_physical.as_str()] {
        assert!(reader.with_database(name).mysql().await.is_err() || name == dev_physical);
    }
    assert!(
        mysql_count(&dev_admin, &format!("`{main_physical}`.customers"))
            .await
            .is_err()
    );

    // Safe migrations take DDL away from every credential, admin included.
    let enabled = client
        .post(&format!("{dev_path}/safe-migrations"), json!({}))
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert_eq!(enabled.body["safe_migrations"], true);
    assert!(
        mysql_exec(&dev_admin, "CREATE TABLE refused (id INT PRIMARY KEY)")
            .await
            .is_err()
    );
    assert!(
        mysql_exec(&dev_admin, "INSERT INTO scratch VALUES (1)")
            .await
            .is_ok()
    );
    let late_admin = password(&client, &dev_path, "admin").await;
    assert!(
        mysql_exec(&late_admin, "DROP TABLE scratch").await.is_err(),
        "new passwords get no DDL either"
    );
    let disabled = client.delete(&format!("{dev_path}/safe-migrations")).await;
    assert_eq!(disabled.body["safe_migrations"], false);
    assert!(
        mysql_exec(&dev_admin, "CREATE TABLE allowed (id INT PRIMARY KEY)")
            .await
            .is_ok()
    );

    // Promote and demote.
    let promoted = client.post(&format!("{dev_path}/promote"), json!({})).await;
    assert_eq!(promoted.body["production"], true);
    let demoted = client.post(&format!("{dev_path}/demote"), json!({})).await;
    assert_eq!(demoted.body["production"], false);
    let refused = client
        .post(&format!("{db_path}/branches/main/demote"), json!({}))
        .await;
    assert_eq!(refused.status, 422, "the last production branch stays");

    // A password with a ttl is locked when it expires, and renewal opens it again.
    let short = client
        .post(
            &format!("{dev_path}/passwords"),
            json!({"name": "short", "role": "reader", "ttl": 3}),
        )
        .await;
    assert_eq!(short.status, 201);
    assert_eq!(short.body["renewable"], true);
    let short_login = Login::from_password(&short.body);
    assert!(short_login.mysql().await.is_ok());
    dbplane_testkit::wait_until("the 3 s password to be locked", READY_TIMEOUT, || {
        let login = short_login.clone();
        async move { login.mysql().await.is_err().then_some(()) }
    })
    .await;
    let short_id = short.body["id"].as_str().unwrap();
    let expired = client
        .get(&format!("{dev_path}/passwords/{short_id}"))
        .await;
    assert_eq!(expired.body["expired"], true);
    let renewed = client
        .post(&format!("{dev_path}/passwords/{short_id}/renew"), json!({}))
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    assert_eq!(renewed.body["expired"], false);
    let renewed_login = short_login.mysql().await;
    assert!(
        renewed_login.is_ok(),
        "renewal unlocks the account: {:?}",
        renewed_login.err()
    );
    assert_eq!(
        client
            .delete(&format!("{dev_path}/passwords/{short_id}"))
            .await
            .status,
        204
    );

    // Deleting a password drops its account; deleting the branch drops everything.
    let listed = client.get(&format!("{dev_path}/passwords")).await;
    assert_eq!(listed.body["total_count"], 5);
    let (_, users_before) = mysql_physical_state(cluster_port).await;
    assert!(users_before.contains(&reader.user));
    let reader_id = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["username"] == reader.user.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        client
            .delete(&format!("{dev_path}/passwords/{reader_id}"))
            .await
            .status,
        204
    );
    assert!(
        reader.mysql().await.is_err(),
        "a deleted password no longer logs in"
    );

    assert_eq!(client.delete(&dev_path).await.status, 204);
    wait_for_gone(&client, &dev_path).await;
    dbplane_testkit::wait_until(
        "dev's database and accounts to be dropped",
        READY_TIMEOUT,
        || async {
            let (databases, users) = mysql_physical_state(cluster_port).await;
            (!databases.contains(&dev_physical)
                && !users.contains(&dev_admin.user)
                && !users.contains(&writer.user))
            .then_some(())
        },
    )
    .await;
    assert!(main_admin.mysql().await.is_ok(), "main is untouched");

    // The default branch cannot be deleted; the database can, and takes all with it.
    assert_eq!(
        client
            .delete(&format!("{db_path}/branches/main"))
            .await
            .status,
        422
    );
    assert_eq!(client.delete(db_path).await.status, 204);
    wait_for_gone(&client, db_path).await;
    dbplane_testkit::wait_until(
        "every physical object to be dropped",
        READY_TIMEOUT,
        || async {
            let (databases, users) = mysql_physical_state(cluster_port).await;
            (databases.is_empty() && users.is_empty()).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_and_creates_nothing() {
    let server = TestServer::start_with_clusters(BIN).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    let databases = "/v1/organizations/acme/databases";
    for (body, field) in [
        (json!({"name": "Bad Name", "cluster_size": "PS_10"}), "name"),
        (
            json!({"name": "x", "kind": "oracle", "cluster_size": "PS_10"}),
            "kind",
        ),
        (
            json!({"name": "x", "region": "mars", "cluster_size": "PS_10"}),
            "region",
        ),
        (
            json!({"name": "x", "cluster_size": "PS_HUGE"}),
            "cluster_size",
        ),
        (json!({"name": 7}), "name"),
    ] {
        let response = client.post(databases, body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {}", response.body);
        assert!(
            response.body["message"].as_str().unwrap().contains(field),
            "{body}: {}",
            response.body
        );
    }
    ready_database(&client, "acme", "app", "mysql").await;
    let duplicate = client
        .post(databases, json!({"name": "app", "cluster_size": "PS_10"}))
        .await;
    assert_eq!(duplicate.status, 409);
    let branches = "/v1/organizations/acme/databases/app/branches";
    let bad_branch = client.post(branches, json!({"name": "Has Spaces"})).await;
    assert_eq!(
        (bad_branch.status, bad_branch.code()),
        (400, "invalid_params")
    );
    let unknown_parent = client
        .post(
            branches,
            json!({"name": "feature", "parent_branch": "ghost"}),
        )
        .await;
    assert_eq!(unknown_parent.status, 400);
    assert!(
        unknown_parent.body["message"]
            .as_str()
            .unwrap()
            .contains("parent_branch")
    );
    let duplicate_branch = client.post(branches, json!({"name": "main"})).await;
    assert_eq!(duplicate_branch.status, 409);
    let roles_on_mysql = client
        .post(&format!("{branches}/main/roles"), json!({}))
        .await;
    assert_eq!(roles_on_mysql.status, 422);
    let bad_role = client
        .post(
            &format!("{branches}/main/passwords"),
            json!({"role": "superuser"}),
        )
        .await;
    assert_eq!(bad_role.status, 400);
    let listed = client.get(branches).await;
    assert_eq!(listed.body["total_count"], 1, "nothing was created");
    let passwords = client.get(&format!("{branches}/main/passwords")).await;
    assert_eq!(passwords.body["total_count"], 0);
    let list = client.get(databases).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
}
