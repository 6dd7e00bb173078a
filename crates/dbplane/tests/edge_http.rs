//! The serverless HTTP SQL API on the edge's port: PlanetScale's own driver
//! (`@planetscale/database`), `kysely-planetscale` and Prisma's PlanetScale adapter work
//! unchanged with a password's `access_host_url` over HTTPS; and the protocol's edges —
//! session tokens (forged, foreign, busy, idle), roles, safe migrations, bounded sessions —
//! checked on the wire.

mod support;

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dbplane_testkit::{TestOptions, wait_until};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use support::edge::{DB_PATH, EdgeFixture, client_tools, password_response, run_client};
use support::{Login, mysql_exec, sample, scrape};

/// The environment a Node script connects with: the password's `access_host_url`, its
/// user name and secret, and the edge's generated certificate as a trusted CA.
fn driver_env(fixture: &EdgeFixture, password: &Value, role: &str) -> Vec<(String, String)> {
    let text = |key: &str| password[key].as_str().expect(key).to_string();
    let certificate = fixture.server.data_dir().join("edge/edge-cert.pem");
    vec![
        ("EDGE_ACCESS_HOST".into(), text("access_host_url")),
        ("EDGE_USER".into(), text("username")),
        ("EDGE_PASSWORD".into(), text("plain_text")),
        ("EDGE_ROLE".into(), role.into()),
        (
            "NODE_EXTRA_CA_CERTS".into(),
            certificate.to_str().unwrap().into(),
        ),
    ]
}

fn node(fixture: &EdgeFixture, script: &str, password: &Value, role: &str) -> Value {
    let tools = client_tools();
    let mut command = Command::new("node");
    command
        .arg(script)
        .current_dir(&tools.node_clients)
        .envs(driver_env(fixture, password, role));
    run_client(command, &format!("{script} as {role}"))
}

#[tokio::test]
async fn the_serverless_drivers_work_unchanged() {
    let fixture = EdgeFixture::start().await;
    let admin = password_response(&fixture.client, "main", "admin").await;
    assert_eq!(
        admin["access_host_url"].as_str(),
        Some(fixture.server.edge_http_address()),
        "the password's host is the HTTP API"
    );
    assert_eq!(
        admin["database_branch"]["mysql_edge_address"].as_str(),
        Some(fixture.server.edge_address()),
        "and its branch's MySQL address the edge's MySQL port"
    );
    assert!(
        admin["connection_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("@{}/shop", fixture.server.edge_address())),
        "{admin}"
    );
    // A MySQL client that takes access_host_url for a MySQL address still logs in there.
    let mut at_http_address = Login::from_password(&admin);
    let (host, port) = fixture.server.edge_http_address().rsplit_once(':').unwrap();
    at_http_address.host = host.to_string();
    at_http_address.port = port.parse().unwrap();
    let mut conn = at_http_address
        .mysql()
        .await
        .expect("MySQL on the HTTP port");
    let database: Option<String> = conn.query_first("SELECT DATABASE()").await.unwrap();
    assert_eq!(database.as_deref(), Some("shop"));
    drop(conn);

    let summary = node(&fixture, "http_driver.mjs", &admin, "admin");
    assert_eq!(summary["database"], "shop", "{summary}");
    assert_eq!(summary["wrong_password_status"], 401, "{summary}");
    assert_eq!(
        summary["missing_table"],
        "Table 'shop.no_such_table' doesn't exist (errno 1146) (sqlstate 42S02)"
    );
    assert_eq!(summary["missing_table_code"], "NOT_FOUND");
    assert_eq!(summary["insert_id"], "1");
    assert_eq!(summary["insert_rows_affected"], 1);
    assert_eq!(summary["update_rows_affected"], 2);
    assert_eq!(summary["nulls"], 39, "every column NULL in the empty row");
    assert_eq!(summary["big_blob_bytes"], 5 * 1024 * 1024);
    assert_eq!(summary["committed"], 2);
    assert_eq!(summary["rolled_back"], 0);
    assert_eq!(summary["isolation"], json!([1, 0]), "{summary}");
    assert_eq!(summary["busy_status"], 409, "{summary}");
    assert_eq!(
        summary["duplicate"],
        "Duplicate entry '1' for key 'PRIMARY' (errno 1062) (sqlstate 23000)"
    );
    let types = &summary["types"];
    for (column, vitess) in [
        ("i8", "INT8"),
        ("u64", "UINT64"),
        ("dec_", "DECIMAL"),
        ("f32", "FLOAT32"),
        ("bits", "BIT"),
        ("ts", "TIMESTAMP"),
        ("y", "YEAR"),
        ("vbin", "VARBINARY"),
        ("lb", "BLOB"),
        ("lt", "TEXT"),
        ("e", "ENUM"),
        ("s", "SET"),
        ("j", "JSON"),
        ("p", "GEOMETRY"),
    ] {
        assert_eq!(types[column], vitess, "{column}: {types}");
    }

    let reader = password_response(&fixture.client, "main", "reader").await;
    let summary = node(&fixture, "http_driver.mjs", &reader, "reader");
    assert_eq!(summary["reader_count"], 5, "{summary}");
    let refused = summary["reader_write"].as_str().unwrap();
    assert!(
        refused.contains("(errno 1142) (sqlstate 42000)"),
        "{refused}"
    );

    let summary = node(&fixture, "http_kysely.mjs", &admin, "admin");
    assert_eq!(
        summary["people"],
        json!(["ada", "alan", "grace"]),
        "{summary}"
    );
    assert_eq!(summary["ada"]["score"], "100.00", "{summary}");

    let readwriter = password_response(&fixture.client, "main", "readwriter").await;
    mysql_exec(
        &fixture.admin,
        "CREATE TABLE authors (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL)",
    )
    .await
    .unwrap();
    mysql_exec(
        &fixture.admin,
        "CREATE TABLE books (id BIGINT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(200) NOT NULL, \
         author_id BIGINT NOT NULL, KEY (author_id))",
    )
    .await
    .unwrap();
    let summary = node(&fixture, "http_prisma.mjs", &readwriter, "readwriter");
    assert_eq!(
        summary["books"],
        json!(["The Dispossessed", "The Lathe of Heaven"])
    );
    assert_eq!(
        summary["authors"],
        json!([["Ursula K. Le Guin", 2]]),
        "{summary}"
    );
    assert_eq!(
        summary["duplicate_code"], "P2002",
        "Prisma read the errno: {summary}"
    );
}

/// A client of the HTTP API in clear (allowed where the edge does not require TLS).
struct Http {
    base: String,
    authorization: String,
    client: reqwest::Client,
}

impl Http {
    fn new(password: &Value) -> Http {
        let text = |key: &str| password[key].as_str().expect(key).to_string();
        let credentials = format!("{}:{}", text("username"), text("plain_text"));
        Http {
            base: format!("http://{}", text("access_host_url")),
            authorization: format!("Basic {}", STANDARD.encode(credentials)),
            client: reqwest::Client::new(),
        }
    }

    async fn post(&self, procedure: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/psdb.v1alpha1.Database/{procedure}", self.base))
            .header("Authorization", &self.authorization)
            .json(&body)
            .send()
            .await
            .expect("the HTTP API answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `Execute` with a session (or none): the status, and the body.
    async fn execute(&self, query: &str, session: &Value) -> (u16, Value) {
        self.post("Execute", json!({"query": query, "session": session}))
            .await
    }
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn sessions_are_signed_kept_only_while_needed_and_rolled_back_when_abandoned() {
    let fixture = EdgeFixture::start_with(TestOptions {
        clusters: true,
        extra_config: "[edge]\nhttp_session_idle_seconds = 1\nrow_limit = 5\n".into(),
        ..Default::default()
    })
    .await;
    let base_url = fixture.server.base_url().to_string();
    let admin = password_response(&fixture.client, "main", "admin").await;
    let http = Http::new(&admin);

    let (status, created) = http.post("CreateSession", json!({})).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["user"]["username"], admin["username"]);
    assert_eq!(created["user"]["role"], "admin");
    assert_eq!(created["branch"], admin["database_branch"]["id"]);
    let session = created["session"].clone();

    // Stateless statements keep no session behind them.
    for _ in 0..20 {
        let (status, body) = http.execute("SELECT 1", &session).await;
        assert_eq!(status, 200, "{body}");
    }
    let page = scrape(&base_url).await;
    assert_eq!(sample(&page, "dbplane_edge_http_sessions"), Some(0.0));

    // A transaction over several requests, invisible to others until it commits.
    let (_, began) = http.execute("BEGIN", &session).await;
    let in_transaction = began["session"].clone();
    assert_eq!(in_transaction["vitessSession"]["inTransaction"], true);
    let (_, inserted) = http
        .execute(
            "INSERT INTO items (name, qty) VALUES ('http', 1)",
            &in_transaction,
        )
        .await;
    assert_eq!(inserted["result"]["rowsAffected"], "1", "{inserted}");
    assert_eq!(inserted["result"]["insertId"], "1", "{inserted}");
    // An error inside a transaction does not end it, and the token still says so.
    let (_, failed) = http
        .execute("INSERT INTO items (id) VALUES (1)", &inserted["session"])
        .await;
    assert_eq!(failed["error"]["code"], "ALREADY_EXISTS", "{failed}");
    assert_eq!(failed["session"]["vitessSession"]["inTransaction"], true);
    let in_transaction = failed["session"].clone();
    let (_, outside) = http
        .execute("SELECT COUNT(*) FROM items", &Value::Null)
        .await;
    assert_eq!(outside["result"]["rows"][0]["values"], STANDARD.encode("0"));

    // A forged token and another user's token are refused; the transaction lives on.
    let mut forged = in_transaction.clone();
    forged["vitessSession"]["sessionUUID"] = json!("0123456789abcdef0123456789abcdef");
    let (status, body) = http.execute("SELECT 1", &forged).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "permission_denied");
    let other = Http::new(&password_response(&fixture.client, "main", "admin").await);
    let (status, _) = other.execute("ROLLBACK", &in_transaction).await;
    assert_eq!(status, 403);

    // Abandoned, it is rolled back once idle; its token then says so.
    wait_until("the idle session closed", Duration::from_secs(30), || {
        let base_url = base_url.clone();
        async move {
            let page = scrape(&base_url).await;
            (sample(&page, "dbplane_edge_http_sessions") == Some(0.0)).then_some(())
        }
    })
    .await;
    let (status, late) = http.execute("COMMIT", &in_transaction).await;
    assert_eq!(status, 200, "{late}");
    assert_eq!(late["error"]["code"], "ABORTED", "{late}");
    assert!(error_message(&late).ends_with("(errno 1927) (sqlstate 70100)"));
    assert!(late["session"]["vitessSession"]["inTransaction"].is_null());
    let (_, count) = http
        .execute("SELECT COUNT(*) FROM items", &late["session"])
        .await;
    assert_eq!(count["result"]["rows"][0]["values"], STANDARD.encode("0"));

    // A client that goes away mid-statement: its statement finishes on its session, or
    // (if the server saw it go) the session is dropped with its backend connection, which
    // may hold half an answer. Either way nothing of it reaches anyone else.
    let (_, began) = http.execute("BEGIN", &Value::Null).await;
    let cut_off = http
        .client
        .post(format!("{}/psdb.v1alpha1.Database/Execute", http.base))
        .header("Authorization", &http.authorization)
        .json(&json!({"query": "SELECT SLEEP(1)", "session": began["session"]}))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(cut_off.is_err(), "the client gave up");
    let status = wait_until("the session free again", Duration::from_secs(30), || {
        let request = http.execute("SELECT 1", &began["session"]);
        async move {
            let (status, _) = request.await;
            (status != 409).then_some(status)
        }
    })
    .await;
    assert!(status == 200 || status == 503, "{status}");
    for _ in 0..10 {
        let (status, body) = http.execute("SELECT 42", &Value::Null).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["rows"][0]["values"], STANDARD.encode("42"));
    }

    // The edge's limits and statistics apply as to MySQL clients.
    let counted = |page: &str, outcome: &str| {
        sample(
            page,
            &format!("dbplane_edge_statements_total{{outcome=\"{outcome}\"}}"),
        )
        .unwrap_or(0.0)
    };
    let before = scrape(&base_url).await;
    let (_, limited) = http
        .execute("SELECT seq FROM seq_1_to_10", &Value::Null)
        .await;
    assert_eq!(limited["error"]["code"], "DEADLINE_EXCEEDED", "{limited}");
    assert!(
        error_message(&limited).starts_with("Row count exceeded 5 (errno 1317)"),
        "{limited}"
    );
    let (_, olap) = http.execute("SET workload = 'olap'", &Value::Null).await;
    let (_, all) = http
        .execute("SELECT seq FROM seq_1_to_10", &olap["session"])
        .await;
    assert_eq!(
        all["result"]["rows"].as_array().map(Vec::len),
        Some(10),
        "{all}"
    );
    let (status, _) = http
        .post("CloseSession", json!({"session": all["session"]}))
        .await;
    assert_eq!(status, 200);
    let after = scrape(&base_url).await;
    assert_eq!(counted(&after, "ok"), counted(&before, "ok") + 1.0);
    assert_eq!(counted(&after, "error"), counted(&before, "error") + 1.0);

    // CloseSession ends a kept session: its transaction is rolled back at once.
    let (_, began) = http.execute("BEGIN", &Value::Null).await;
    let (_, written) = http
        .execute(
            "INSERT INTO items (name, qty) VALUES ('closed', 1)",
            &began["session"],
        )
        .await;
    assert!(written["error"].is_null(), "{written}");
    let (status, closed) = http
        .post("CloseSession", json!({"session": written["session"]}))
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_ne!(
        closed["session"]["vitessSession"]["sessionUUID"],
        written["session"]["vitessSession"]["sessionUUID"],
        "a fresh session to go on with"
    );
    let (_, count) = http
        .execute(
            "SELECT COUNT(*) FROM items WHERE name = 'closed'",
            &Value::Null,
        )
        .await;
    assert_eq!(count["result"]["rows"][0]["values"], STANDARD.encode("0"));

    // Bad requests get clear errors in the driver's shape.
    let (status, body) = http.post("Execute", json!({"query": 5})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_argument");
    let (status, _) = http.post("Nothing", json!({})).await;
    assert_eq!(status, 404);

    // Safe migrations: direct DDL refused as on the MySQL protocol, DML fine.
    let enabled = fixture
        .client
        .post(
            &format!("{DB_PATH}/branches/main/safe-migrations"),
            json!({}),
        )
        .await;
    assert!(enabled.status < 300, "{}", enabled.body);
    let (_, ddl) = http
        .execute("ALTER TABLE items ADD COLUMN note TEXT", &Value::Null)
        .await;
    assert!(
        error_message(&ddl).contains("direct DDL is disabled"),
        "{ddl}"
    );
    let (_, dml) = http
        .execute("UPDATE items SET qty = qty + 1", &Value::Null)
        .await;
    assert!(dml["error"].is_null(), "{dml}");
}

#[tokio::test]
async fn where_tls_is_required_a_request_in_clear_is_refused_clearly() {
    let server = dbplane_testkit::TestServer::start_with(
        env!("CARGO_BIN_EXE_dbplane"),
        TestOptions {
            clusters: true,
            extra_config: "[edge]\nrequire_secure_transport = true\n".into(),
            ..Default::default()
        },
    )
    .await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    support::ready_database(&client, "acme", "shop", "mysql").await;
    let admin = password_response(&client, "main", "admin").await;
    let (status, body) = Http::new(&admin).execute("SELECT 1", &Value::Null).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "permission_denied");
    assert!(error_message(&body).contains("requires TLS"), "{body}");
}
