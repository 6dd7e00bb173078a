//! Schemathesis (property-based API testing, PyPI) against the server's own
//! `/v1/openapi.json`, with real resources behind the path parameters: a MariaDB database
//! with a development branch, a password, a deploy request and a backup; a PostgreSQL
//! database with a role; a service token. Every operation is fed generated valid and
//! invalid input (fixed seed, bounded examples): no response may be a 5xx or break the
//! schema the document gives it.
//!
//! `scripts/install-schemathesis.sh` (run by `make test`, and by this test when the tool
//! is missing) installs the pinned version into its own virtualenv.

mod support;

use dbplane_testkit::{ApiClient, TestOptions, TestServer};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::deploys::admin_password;
use support::{mysql_exec, ready_branch, ready_database};

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
const DB: &str = "/v1/organizations/acme/databases/shop";
/// Fixed, so a failure reproduces with the command the test prints.
const SEED: &str = "20250614";
/// Test cases per operation in the fuzzing phase (the coverage phase adds its own
/// boundary cases); with 86 operations the run takes about a minute on two cores, and
/// the first install of the tool about another.
const MAX_EXAMPLES: &str = "50";
/// No 5xx, and every documented response matches its schema and content type.
/// `negative_data_rejection` is left out on purpose: the API reads `null` as "not given"
/// for optional fields (the Go SDK and the CLI send `null` for unset pointers) and
/// ignores query parameters and body fields it does not use, as PlanetScale does; what
/// must be refused — a body that is not an object, a field of the wrong type — is
/// covered by api_basics.rs.
const CHECKS: &str = "not_a_server_error,response_schema_conformance,content_type_conformance";

/// Operations that destroy or rename the resources the others are pointed at: run last,
/// in a second pass, so every other operation meets live resources.
const DESTRUCTIVE: &str = "^(delete_database|delete_branch|delete_password|delete_role|\
    delete_backup|delete_backup_policy|delete_service_token|update_database_settings|\
    update_branch|update_password|update_role|demote_branch|disable_safe_migrations|\
    close_deploy_request|remove_service_token_accesses)$";

fn schemathesis() -> PathBuf {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-schemathesis.sh");
    let output = Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    assert!(
        output.status.success(),
        "installing schemathesis failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

async fn created_id(client: &ApiClient, path: &str, body: Value) -> String {
    let created = client.post(path, body).await;
    assert!(
        [200, 201].contains(&created.status),
        "{path}: {}",
        created.body
    );
    created.body["id"].as_str().unwrap().to_string()
}

/// The resources the path parameters name, by parameter.
struct Fixture {
    token_id: String,
    password_id: String,
    backup_id: String,
    policy_id: String,
    role_id: String,
}

async fn fixture(client: &ApiClient) -> Fixture {
    ready_database(client, "acme", "shop", "mysql").await;
    ready_database(client, "acme", "pgshop", "postgresql").await;
    ready_branch(client, DB, "dev", Some("main")).await;
    let dev = admin_password(client, "dev").await;
    mysql_exec(
        &dev,
        "CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT)",
    )
    .await
    .unwrap();
    let password_id = created_id(
        client,
        &format!("{DB}/branches/dev/passwords"),
        json!({"name": "fuzzed", "role": "reader"}),
    )
    .await;
    let safe = client
        .post(&format!("{DB}/branches/main/safe-migrations"), json!({}))
        .await;
    assert_eq!(safe.status, 200, "{}", safe.body);
    let request = client
        .post(
            &format!("{DB}/deploy-requests"),
            json!({"branch": "dev", "into_branch": "main"}),
        )
        .await;
    assert_eq!(request.status, 201, "{}", request.body);
    assert_eq!(request.body["number"], 1);
    let backup_id = created_id(
        client,
        &format!("{DB}/branches/main/backups"),
        json!({"name": "fuzzed"}),
    )
    .await;
    let policies = client.get(&format!("{DB}/backup-policies")).await;
    let policy_id = policies.body["data"][0]["id"].as_str().unwrap().to_string();
    let role_id = created_id(
        client,
        "/v1/organizations/acme/databases/pgshop/branches/main/roles",
        json!({"name": "fuzzed"}),
    )
    .await;
    let token_id = created_id(
        client,
        "/v1/organizations/acme/service-tokens",
        json!({"name": "fuzzed"}),
    )
    .await;
    Fixture {
        token_id,
        password_id,
        backup_id,
        policy_id,
        role_id,
    }
}

/// `schemathesis.toml`: the real names and ids behind every path parameter.
fn config(fixture: &Fixture) -> String {
    let per_path = [
        ("/service-tokens/", json!({"path.id": fixture.token_id})),
        ("/passwords/", json!({"path.id": fixture.password_id})),
        (
            "/backups/",
            json!({"path.branch": "main", "path.id": fixture.backup_id}),
        ),
        ("/backup-policies/", json!({"path.id": fixture.policy_id})),
        (
            "/roles",
            json!({"path.database": "pgshop", "path.branch": "main", "path.id": fixture.role_id}),
        ),
    ];
    let mut text = String::from(
        "[parameters]\n\"path.organization\" = \"acme\"\n\"path.database\" = \"shop\"\n\
         \"path.branch\" = \"dev\"\n\"path.number\" = 1\n\"path.keyspace\" = \"shop\"\n",
    );
    for (fragment, parameters) in per_path {
        text.push_str(&format!(
            "\n[[operations]]\ninclude-path-regex = {}\n[operations.parameters]\n",
            toml_string(fragment)
        ));
        for (name, value) in parameters.as_object().unwrap() {
            text.push_str(&format!("{} = {}\n", toml_string(name), value));
        }
    }
    text
}

fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn run_pass(exe: &Path, dir: &Path, base_url: &str, token: &str, filter: (&str, &str)) {
    let mut command = Command::new(exe);
    command
        .current_dir(dir)
        .env("SCHEMATHESIS_HOOKS", "")
        .args(["--config-file", "schemathesis.toml", "run"])
        .arg(format!("{base_url}/v1/openapi.json"))
        .args(["--url", base_url])
        .args(["--header", &format!("Authorization: {token}")])
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--seed", SEED, "--max-examples", MAX_EXAMPLES])
        .args(["--workers", "2", "--no-color", "--request-timeout", "30"])
        .args(["--suppress-health-check", "all"])
        .args([filter.0, filter.1]);
    let output = command.output().expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "schemathesis found failures ({filter:?}):\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let exe = schemathesis();
    let server = TestServer::start_with(
        BIN,
        TestOptions {
            clusters: true,
            ..Default::default()
        },
    )
    .await;
    let admin = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(admin.header()));
    let fixture = fixture(&client).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schemathesis.toml"), config(&fixture)).unwrap();
    let base_url = server.base_url().to_string();
    let token = admin.header();
    let passes = [
        ("--exclude-operation-id-regex", DESTRUCTIVE),
        ("--include-operation-id-regex", DESTRUCTIVE),
    ];
    for filter in passes {
        let (exe, dir, base_url, token) = (
            exe.clone(),
            dir.path().to_path_buf(),
            base_url.clone(),
            token.clone(),
        );
        tokio::task::spawn_blocking(move || run_pass(&exe, &dir, &base_url, &token, filter))
            .await
            .unwrap();
    }
    let health = client.get("/v1/organizations/acme").await;
    assert_eq!(health.status, 200, "the server still answers");
}
