//! A branch deleted while its backup runs: the backup ends `canceled`, with no stored
//! file left.
//!
//! The dump is held mid-run by the `run_backup.object_stored=pause` failpoint: the backup
//! is `running`, its first data object is stored, its snapshot is still open and nothing
//! is recorded as complete. The test then deletes the branch over the API, waits until
//! the branch's delete job has reached its database (MariaDB: `DROP DATABASE` running,
//! queued behind the dump's metadata locks, or done; PostgreSQL: dropped `WITH (FORCE)`
//! under the dump), and only then releases the dump. So the dump always resumes after the
//! deletion is committed and the drop has begun, whatever the machine's speed: no sleep.

mod backup_support;
mod support;

use backup_support::*;
use dbplane_domain::backups::{Backup, BackupId, BackupState};
use dbplane_store::{BackupMetadataStore, SqliteStore};
use dbplane_testkit::{ApiClient, TestServer, wait_until};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");
/// Paused after a data object of the dump is committed.
const PAUSED_AT: &str = "run_backup.object_stored";
const DROP_TIMEOUT: Duration = Duration::from_secs(60);

/// The pause failpoint's directory: the server announces `<point>.reached` there and
/// waits for the test's `<point>.release`.
struct Pause {
    directory: tempfile::TempDir,
}

impl Pause {
    fn new() -> Self {
        Pause {
            directory: tempfile::tempdir().expect("create the failpoint directory"),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "DBPLANE_FAILPOINTS".to_string(),
                format!("{PAUSED_AT}=pause"),
            ),
            (
                "DBPLANE_FAILPOINT_DIR".to_string(),
                self.directory.path().display().to_string(),
            ),
        ]
    }

    fn file(&self, suffix: &str) -> PathBuf {
        self.directory.path().join(format!("{PAUSED_AT}.{suffix}"))
    }

    async fn wait_until_reached(&self) {
        let reached = self.file("reached");
        wait_until("the dump to pause", BACKUP_TIMEOUT, || {
            let reached = reached.clone();
            async move { reached.exists().then_some(()) }
        })
        .await;
    }

    fn release(&self) {
        std::fs::write(self.file("release"), b"").expect("release the failpoint");
    }
}

/// The backup's record in the metadata store, once terminal. The API cannot show it: a
/// backup is addressed under its branch, which is gone.
async fn terminal_backup(server: &TestServer, id: &str) -> Backup {
    let store = SqliteStore::open(server.data_dir())
        .await
        .expect("open the metadata store");
    let id = BackupId::from_string(id);
    let backup = wait_until("the backup to end", BACKUP_TIMEOUT, || {
        let store = store.clone();
        let id = id.clone();
        async move {
            let backup = store.backup_by_id(&id).await.expect("read the backup")?;
            backup.state.is_terminal().then_some(backup)
        }
    })
    .await;
    store.close().await;
    backup
}

/// Starts a backup of `branch_path`, waits for the dump's pause and checks it runs.
async fn paused_backup(client: &ApiClient, pause: &Pause, branch_path: &str) -> String {
    let id = start_backup(client, branch_path, json!({})).await;
    pause.wait_until_reached().await;
    let running = client.get(&format!("{branch_path}/backups/{id}")).await;
    assert_eq!(running.status, 200, "{}", running.body);
    assert_eq!(running.body["state"], "running", "{}", running.body);
    id
}

/// Deletes the branch over the API.
async fn delete_branch(client: &ApiClient, branch_path: &str) {
    let deleted = client.delete(branch_path).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
}

/// The backup is `canceled` with no stored file, and the API refuses it as a restore
/// source (422 naming that state, or 404 once reaped); the branch's backups are no
/// longer addressable.
async fn assert_canceled_without_files(
    server: &TestServer,
    client: &ApiClient,
    database_path: &str,
    branch_path: &str,
    id: &str,
) {
    let backup = terminal_backup(server, id).await;
    assert_eq!(
        backup.state,
        BackupState::Canceled,
        "{backup:?}\n{}",
        server.log()
    );
    assert!(backup.completed_at.is_some(), "{backup:?}");
    assert_eq!(backup.size, 0, "{backup:?}");
    assert!(backup.schema_snapshot.is_none(), "{backup:?}");
    // The objects are deleted before the state is recorded.
    assert!(
        !server.data_dir().join("backups").join(id).exists(),
        "files of the canceled backup left: {:?}",
        stored_backups(server.data_dir())
    );
    let (stored, partial) = stored_backups(server.data_dir());
    assert!(stored.is_empty(), "stored backups: {stored:?}");
    assert!(!partial, "half-written objects left behind");

    let restore = client
        .post(
            &format!("{database_path}/branches"),
            json!({"name": "from-canceled", "backup_id": id}),
        )
        .await;
    // 422 naming the state; or 404 once the reaper (a 200 ms tick here) has marked the
    // deleted branch's backups deleted, which races this request.
    assert!(
        matches!(restore.status, 404 | 422),
        "{}: {}",
        restore.status,
        restore.body
    );
    if restore.status == 422 {
        let message = restore.body["message"].as_str().unwrap_or_default();
        assert!(message.contains("canceled"), "{}", restore.body);
    }
    for path in [
        format!("{branch_path}/backups/{id}"),
        format!("{branch_path}/backups"),
    ] {
        let gone = client.get(&path).await;
        assert_eq!(gone.status, 404, "{path}: {}", gone.body);
    }
}

/// How far the drop of a MariaDB database got: `Some` once `DROP DATABASE` runs (with
/// its state, e.g. waiting for a metadata lock) or the database is gone.
async fn mysql_drop_progress(port: u16, database: &str) -> Option<String> {
    use mysql_async::prelude::Queryable;
    let mut root = mysql_root(port).await;
    let present: Option<u64> = root
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (database,),
        )
        .await
        .expect("look for the database");
    let dropping: Option<String> = root
        .exec_first(
            "SELECT STATE FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('DROP DATABASE%', ?, '%')",
            (database,),
        )
        .await
        .expect("look for the drop");
    let _ = root.disconnect().await;
    match (present, dropping) {
        (Some(0), _) => Some("dropped".to_string()),
        (_, Some(state)) => Some(format!("DROP DATABASE running: {state}")),
        _ => None,
    }
}

#[tokio::test]
async fn mysql_branch_deleted_during_its_backup_cancels_it() {
    let pause = Pause::new();
    let server = TestServer::start_with(BIN, options(pause.env())).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    let (_dev, login) = mysql_dev_branch_with_admin(&client).await;
    let db = "/v1/organizations/acme/databases/shop";
    let dev_path = format!("{db}/branches/dev");
    // More tables than the dump has sessions, so some are still to read at the pause.
    for table in ["a", "b", "c", "d", "e"] {
        let rows: Vec<String> = (1..=300).map(|n| format!("({n}, 'row {n}')")).collect();
        mysql_exec(
            &login,
            &format!(
                "CREATE TABLE {table} (id INT PRIMARY KEY, v TEXT); INSERT INTO {table} VALUES {};",
                rows.join(", ")
            ),
        )
        .await
        .unwrap();
    }
    let port = server.managed_mysql_port();

    let id = paused_backup(&client, &pause, &dev_path).await;
    delete_branch(&client, &dev_path).await;
    let progress = wait_until("the branch's database drop to start", DROP_TIMEOUT, || {
        mysql_drop_progress(port, &login.physical)
    })
    .await;
    eprintln!("when the dump was released, the branch's database: {progress}");
    pause.release();

    assert_canceled_without_files(&server, &client, db, &dev_path, &id).await;
    // The delete went through too: the dump's snapshot did not keep the database.
    wait_until("the branch's database to be dropped", DROP_TIMEOUT, || {
        let database = login.physical.clone();
        async move {
            (mysql_drop_progress(port, &database).await.as_deref() == Some("dropped")).then_some(())
        }
    })
    .await;
}

/// The managed PostgreSQL's superuser (trusted on loopback).
async fn postgres_admin(login: &Login) -> tokio_postgres::Client {
    Login {
        user: "postgres".to_string(),
        password: String::new(),
        database: "postgres".to_string(),
        ..login.clone()
    }
    .postgres()
    .await
    .expect("connect as the cluster's superuser")
}

async fn pg_database_exists(admin: &tokio_postgres::Client, database: &str) -> bool {
    admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&database],
        )
        .await
        .expect("look for the database")
        .get(0)
}

#[tokio::test]
async fn postgres_branch_deleted_during_its_backup_cancels_it() {
    let pause = Pause::new();
    let server = TestServer::start_with(BIN, options(pause.env())).await;
    let token = server.bootstrap("acme", "ops@acme.test");
    let client = server.client(Some(token.header()));
    ready_database(&client, "acme", "ledger", "postgresql").await;
    let db = "/v1/organizations/acme/databases/ledger";
    ready_branch(&client, db, "dev", None).await;
    let dev_path = format!("{db}/branches/dev");
    let created = client
        .post(
            &format!("{dev_path}/roles"),
            json!({"name": "owner", "inherited_roles": ["postgres"]}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let login = Login::from_role(&created.body);
    pg_exec(
        &login,
        "CREATE TABLE accounts (id bigserial PRIMARY KEY, email text UNIQUE);
         INSERT INTO accounts (email) SELECT 'u' || n || '@x.test' FROM generate_series(1, 2000) n;",
    )
    .await
    .unwrap();
    let admin = postgres_admin(&login).await;
    assert!(pg_database_exists(&admin, &login.physical).await);

    let id = paused_backup(&client, &pause, &dev_path).await;
    delete_branch(&client, &dev_path).await;
    // DROP DATABASE ... WITH (FORCE) ends the dump's snapshot session instead of waiting.
    wait_until(
        "the branch's database to be dropped",
        DROP_TIMEOUT,
        || async { (!pg_database_exists(&admin, &login.physical).await).then_some(()) },
    )
    .await;
    pause.release();

    assert_canceled_without_files(&server, &client, db, &dev_path, &id).await;
}
