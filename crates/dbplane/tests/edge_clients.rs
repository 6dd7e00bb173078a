//! Real clients through the connection edge: the `mariadb` command-line client, PyMySQL
//! and mysql2, with TLS and without, with a password of each role (reads, writes,
//! transactions rolled back, prepared statements, `LOAD DATA LOCAL`, a 20 MB row,
//! `LAST_INSERT_ID()`, temporary tables, errors with the server's errno and SQLSTATE);
//! Prisma 7 through its MariaDB adapter and Kysely's introspection see the database by
//! its own name.

mod support;

use std::process::Command;

use serde_json::Value;
use support::edge::{EdgeFixture, client_env, client_tools, run_client};
use support::{Login, mysql_exec};

const ROLES: [&str; 4] = ["admin", "readwriter", "writer", "reader"];

fn infile() -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(b"loaded one,1\nloaded two,2\nloaded three,3\n")
        .unwrap();
    file
}

#[tokio::test]
async fn every_client_with_every_role_with_and_without_tls() {
    let tools = client_tools();
    let fixture = EdgeFixture::start().await;
    mysql_exec(
        &fixture.admin,
        "INSERT INTO items (name, qty) VALUES ('seed', 0)",
    )
    .await
    .unwrap();
    let infile = infile();
    let infile_path = infile.path().to_str().unwrap().to_string();
    assert_eq!(
        fixture.admin.port.to_string(),
        fixture.server.edge_address().rsplit_once(':').unwrap().1,
        "the password's address is the edge"
    );
    assert_eq!(
        fixture.admin.database, "shop",
        "and its database name the database's own"
    );

    for role in ROLES {
        let login = fixture.password("main", role).await;
        for tls in [false, true] {
            let mut env = client_env(&login, role, tls);
            env.push(("EDGE_INFILE".into(), infile_path.clone()));

            let mut python = Command::new(&tools.python);
            python
                .arg(tools.node_clients.join("../python/edge_pymysql.py"))
                .envs(env.clone());
            let summary = run_client(python, &format!("PyMySQL as {role}, tls {tls}"));
            check_summary(&summary, role, tls);

            let mut node = Command::new("node");
            node.arg("edge_mysql2.mjs")
                .current_dir(&tools.node_clients)
                .envs(env.clone());
            let summary = run_client(node, &format!("mysql2 as {role}, tls {tls}"));
            check_summary(&summary, role, tls);

            mariadb_cli(&login, role, tls, &infile_path);
        }
    }

    // An ORM and a schema tool see the database by its own name, and its tables.
    for tls in [false, true] {
        let login = fixture.password("main", "admin").await;
        let mut prisma = Command::new("node");
        prisma
            .arg("edge_prisma.mjs")
            .current_dir(&tools.node_clients)
            .envs(client_env(&login, "admin", tls));
        let summary = run_client(prisma, "Prisma");
        assert_eq!(summary["database"], "shop", "{summary}");
        assert_eq!(summary["tables"], serde_json::json!(["items"]), "{summary}");
    }
    let login = fixture.password("main", "reader").await;
    let mut kysely = Command::new("node");
    kysely
        .arg("edge_kysely.mjs")
        .current_dir(&tools.node_clients)
        .envs(client_env(&login, "reader", false));
    let summary = run_client(kysely, "Kysely introspection");
    let tables = summary["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 1, "{summary}");
    assert_eq!(tables[0]["schema"], "shop", "{summary}");
    assert_eq!(tables[0]["name"], "items");
    assert_eq!(
        tables[0]["columns"],
        serde_json::json!(["id", "name", "qty", "payload"])
    );
    assert!(
        !summary.to_string().contains("dbp_"),
        "no physical name shows: {summary}"
    );
}

fn check_summary(summary: &Value, role: &str, tls: bool) {
    assert_eq!(summary["database"], "shop", "{summary}");
    assert_eq!(summary["wrong_password"], 1045, "{summary}");
    if tls {
        assert!(
            summary["cipher"].as_str().is_some_and(|c| !c.is_empty()),
            "{summary}"
        );
    }
    let writes = role != "reader";
    let reads = role != "writer";
    assert_eq!(summary["loaded"].as_u64() == Some(3), writes, "{summary}");
    assert_eq!(summary["insert_error"].is_string(), !writes, "{summary}");
    assert_eq!(summary["select_error"].is_string(), !reads, "{summary}");
    if writes && reads {
        assert_eq!(summary["big_row_bytes"], 20 * 1024 * 1024, "{summary}");
    }
    if role == "admin" {
        assert_eq!(summary["temporary_table"], true, "{summary}");
    }
    let missing = summary["missing_table_error"].as_str().unwrap();
    if reads {
        assert!(missing.contains("1146"), "{missing}");
        assert!(missing.contains("shop.no_such_table"), "{missing}");
    }
}

/// The `mariadb` command-line client: one script per role, statement by statement.
fn mariadb_cli(login: &Login, role: &str, tls: bool, infile: &str) {
    let run = |sql: &str| {
        let output = Command::new("mariadb")
            .args([
                "--batch",
                "--skip-column-names",
                "--local-infile=1",
                "--max-allowed-packet=64M",
            ])
            .arg(if tls { "--ssl" } else { "--skip-ssl" })
            .arg(format!("--host={}", login.host))
            .arg(format!("--port={}", login.port))
            .arg(format!("--user={}", login.user))
            .arg(format!("--database={}", login.database))
            .env("MYSQL_PWD", &login.password)
            .arg(format!("--execute={sql}"))
            .output()
            .expect("run mariadb");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let what = format!("mariadb as {role}, tls {tls}");
    let (ok, out, err) = run("SELECT 'db', DATABASE(); SHOW DATABASES");
    assert!(ok, "{what}: {err}");
    assert!(out.contains("db\tshop"), "{what}: {out}");
    assert!(!out.contains("dbp_"), "{what}: {out}");
    if tls {
        let (_, out, err) = run("SHOW STATUS LIKE 'Ssl_cipher'");
        // The status is the backend's; the client's own view of TLS is its `\s`.
        let _ = (out, err);
        let (ok, out, err) = run("status");
        assert!(ok, "{what}: {err}");
        assert!(out.contains("Cipher in use"), "{what}: TLS in use\n{out}");
    }
    match role {
        "reader" => {
            let (ok, out, err) = run("SELECT 'count', COUNT(*) > 0 FROM items");
            assert!(ok && out.contains("count\t1"), "{what}: {out}{err}");
            let (ok, _, err) = run("INSERT INTO items (name) VALUES ('no')");
            assert!(!ok && err.contains("ERROR 1142 (42000)"), "{what}: {err}");
        }
        "writer" => {
            let (ok, out, err) = run(&format!(
                "INSERT INTO items (name, qty) VALUES ('cli', 1); SELECT 'id', LAST_INSERT_ID() > 0; \
                 BEGIN; INSERT INTO items (name) VALUES ('cli rolled back'); ROLLBACK; \
                 LOAD DATA LOCAL INFILE '{infile}' INTO TABLE items FIELDS TERMINATED BY ',' (name, qty); \
                 INSERT INTO items (name, qty, payload) VALUES ('cli big', 20, REPEAT('x', 20971520))"
            ));
            assert!(ok && out.contains("id\t1"), "{what}: {out}{err}");
            let (ok, _, err) = run("SELECT * FROM items");
            assert!(!ok && err.contains("ERROR 1142 (42000)"), "{what}: {err}");
        }
        _ => {
            let (ok, out, err) = run(&format!(
                "INSERT INTO items (name, qty) VALUES ('cli', 1); \
                 SELECT 'last', LAST_INSERT_ID() = (SELECT MAX(id) FROM items WHERE name = 'cli'); \
                 BEGIN; INSERT INTO items (name) VALUES ('cli rolled back'); ROLLBACK; \
                 SELECT 'rolled', COUNT(*) FROM items WHERE name = 'cli rolled back'; \
                 PREPARE counting FROM 'SELECT ''prepared'', COUNT(*) >= ? FROM items'; SET @floor = 1; \
                 EXECUTE counting USING @floor; DEALLOCATE PREPARE counting; \
                 LOAD DATA LOCAL INFILE '{infile}' INTO TABLE items FIELDS TERMINATED BY ',' (name, qty); \
                 SELECT 'loaded', ROW_COUNT(); \
                 INSERT INTO items (name, qty, payload) VALUES ('cli big', 20, REPEAT('x', 20971520)); \
                 SELECT 'big', LENGTH(payload) FROM items WHERE id = LAST_INSERT_ID(); \
                 SELECT payload FROM items WHERE id = LAST_INSERT_ID()"
            ));
            assert!(ok, "{what}: {err}");
            for expected in [
                "last\t1",
                "rolled\t0",
                "prepared\t1",
                "loaded\t3",
                "big\t20971520",
            ] {
                assert!(
                    out.contains(expected),
                    "{what}: no {expected:?} in\n{}",
                    &out[..out.len().min(2000)]
                );
            }
            assert!(
                out.len() > 20 * 1024 * 1024,
                "{what}: the 20 MB row came through"
            );
            let (ok, out, err) = run(
                "CREATE TEMPORARY TABLE scratch (n INT); INSERT INTO scratch VALUES (1), (2); \
                 SELECT 'sum', SUM(n) FROM scratch",
            );
            if role == "admin" {
                assert!(ok && out.contains("sum\t3"), "{what}: {out}{err}");
            } else {
                assert!(!ok && err.contains("ERROR 1044 (42000)"), "{what}: {err}");
            }
        }
    }
    let (ok, _, err) = run("SELECT * FROM no_such_table");
    let expected = if role == "writer" {
        "ERROR 1142 (42000)"
    } else {
        "ERROR 1146 (42S02)"
    };
    assert!(!ok && err.contains(expected), "{what}: {err}");
    assert!(!err.contains("dbp_"), "{what}: {err}");
}
