//! Managed local clusters against the real MariaDB and PostgreSQL binaries of the machine.
//!
//! Every test gets its own temp dir, hence its own servers and ports, so tests run in
//! parallel. Nothing sleeps to wait: state is polled with a deadline.

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use dbplane_engine::{
    ClusterKind, LocalCluster, LocalClusterConfig, LocalClusters, start_local_clusters,
};
use mysql_async::prelude::Queryable;

/// How long a restarted server may take to answer again.
const RESTART_DEADLINE: Duration = Duration::from_secs(60);

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "dbplane_engine=info".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A temp dir the `postgres` OS user can enter, whatever the umask.
fn open_temp_dir() -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("create temp dir");
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755))
        .expect("open up temp dir");
    directory
}

fn test_config(root: &Path) -> LocalClusterConfig {
    LocalClusterConfig {
        fast_unsafe: true,
        ..LocalClusterConfig::new(root.join("clusters"))
    }
}

async fn timed_start(config: LocalClusterConfig, label: &str) -> LocalClusters {
    let started_at = Instant::now();
    let clusters = start_local_clusters(config)
        .await
        .expect("start local clusters");
    eprintln!("{label}: both servers ready in {:?}", started_at.elapsed());
    clusters
}

async fn mysql_connection(cluster: &LocalCluster) -> Result<mysql_async::Conn, mysql_async::Error> {
    assert_eq!(cluster.kind(), ClusterKind::Mysql);
    // Keep to TCP: the point is that the advertised host:port works.
    let options = mysql_async::Opts::from_url(&cluster.admin_url()).expect("parse admin url");
    let options = mysql_async::OptsBuilder::from_opts(options).prefer_socket(false);
    mysql_async::Conn::new(options).await
}

async fn mysql_variable(cluster: &LocalCluster, name: &str) -> String {
    let mut connection = mysql_connection(cluster).await.expect("connect to mariadb");
    let row: Option<(String, String)> = connection
        .query_first(format!("SHOW VARIABLES LIKE '{name}'"))
        .await
        .expect("show variable");
    connection.disconnect().await.expect("disconnect");
    row.expect("variable exists").1
}

async fn mysql_execute(cluster: &LocalCluster, statement: &str) {
    let mut connection = mysql_connection(cluster).await.expect("connect to mariadb");
    connection.query_drop(statement).await.expect(statement);
    connection.disconnect().await.expect("disconnect");
}

async fn mysql_databases(cluster: &LocalCluster) -> Vec<String> {
    let mut connection = mysql_connection(cluster).await.expect("connect to mariadb");
    let names: Vec<String> = connection.query("SHOW DATABASES").await.expect("list");
    connection.disconnect().await.expect("disconnect");
    names
}

async fn postgres_client(cluster: &LocalCluster) -> tokio_postgres::Client {
    assert_eq!(cluster.kind(), ClusterKind::Postgresql);
    let (client, connection) = tokio_postgres::connect(&cluster.admin_url(), tokio_postgres::NoTls)
        .await
        .expect("connect to postgres");
    tokio::spawn(connection);
    client
}

async fn postgres_setting(cluster: &LocalCluster, name: &str) -> String {
    let client = postgres_client(cluster).await;
    let row = client
        .query_one(&format!("SHOW {name}"), &[])
        .await
        .expect("show setting");
    row.get(0)
}

async fn postgres_databases(cluster: &LocalCluster) -> Vec<String> {
    let client = postgres_client(cluster).await;
    let rows = client
        .query("SELECT datname FROM pg_database", &[])
        .await
        .expect("list databases");
    rows.iter().map(|row| row.get(0)).collect()
}

/// Polls `attempt` until it yields a value; fails the test past `deadline`.
async fn eventually<T, Attempt, Outcome>(what: &str, deadline: Duration, mut attempt: Attempt) -> T
where
    Attempt: FnMut() -> Outcome,
    Outcome: Future<Output = Option<T>>,
{
    let give_up_at = Instant::now() + deadline;
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    loop {
        ticks.tick().await;
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(Instant::now() < give_up_at, "timed out waiting for {what}");
    }
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_serve_restart_after_a_crash_and_keep_data_across_runs() {
    init_logging();
    let temp = open_temp_dir();

    let clusters = timed_start(test_config(temp.path()), "cold start (init + start)").await;
    let mysql = clusters.mysql();
    let postgresql = clusters.postgresql();
    assert_eq!(mysql.host(), "127.0.0.1");
    assert_eq!(
        mysql.admin_url(),
        format!("mysql://root@127.0.0.1:{}/", mysql.port())
    );
    assert_eq!(
        postgresql.admin_url(),
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            postgresql.port()
        )
    );

    let mysql_version = mysql.version().await.expect("mariadb version");
    assert!(mysql_version.contains("MariaDB"), "{mysql_version}");
    let postgres_version = postgresql.version().await.expect("postgres version");
    assert!(
        postgres_version.starts_with(|c: char| c.is_ascii_digit()),
        "{postgres_version}"
    );
    eprintln!("versions: {mysql_version} / {postgres_version}");

    assert_eq!(mysql_variable(mysql, "log_bin").await, "ON");
    assert_eq!(mysql_variable(mysql, "binlog_format").await, "ROW");
    assert_eq!(mysql_variable(mysql, "binlog_row_image").await, "FULL");
    assert_eq!(mysql_variable(mysql, "binlog_row_metadata").await, "FULL");
    assert_eq!(
        mysql_variable(mysql, "character_set_server").await,
        "utf8mb4"
    );
    assert_eq!(
        mysql_variable(mysql, "collation_server").await,
        "utf8mb4_unicode_ci"
    );
    assert_eq!(postgres_setting(postgresql, "wal_level").await, "logical");
    assert_eq!(
        postgres_setting(postgresql, "server_encoding").await,
        "UTF8"
    );
    assert_eq!(
        postgres_setting(postgresql, "synchronous_commit").await,
        "on"
    );

    mysql_execute(mysql, "CREATE DATABASE kept_across_runs").await;
    postgres_client(postgresql)
        .await
        .batch_execute("CREATE DATABASE kept_across_runs")
        .await
        .expect("create postgres database");

    // A crash of mariadbd: the supervisor must bring it back on the same port.
    let crashed_pid = mysql.pid().expect("mariadbd is running");
    let crashed_at = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(crashed_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 mariadbd");
    let restarted_pid = eventually("mariadbd to be restarted", RESTART_DEADLINE, || async {
        let pid = mysql.pid().filter(|pid| *pid != crashed_pid)?;
        mysql.version().await.ok()?;
        Some(pid)
    })
    .await;
    eprintln!(
        "mariadbd restarted after kill -9 in {:?}",
        crashed_at.elapsed()
    );
    assert!(!process_exists(crashed_pid));
    assert!(
        mysql_databases(mysql)
            .await
            .contains(&"kept_across_runs".to_owned())
    );

    // The same for the postmaster, whose orphaned backends briefly block a new one.
    let crashed_pid = postgresql.pid().expect("postgres is running");
    let crashed_at = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(crashed_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 postgres");
    let postgres_pid = eventually("postgres to be restarted", RESTART_DEADLINE, || async {
        let pid = postgresql.pid().filter(|pid| *pid != crashed_pid)?;
        postgresql.version().await.ok()?;
        Some(pid)
    })
    .await;
    eprintln!(
        "postgres restarted after kill -9 in {:?}",
        crashed_at.elapsed()
    );
    assert!(
        postgres_databases(postgresql)
            .await
            .contains(&"kept_across_runs".to_owned())
    );

    let ports = (mysql.port(), postgresql.port());
    let stopping_at = Instant::now();
    clusters.shutdown().await.expect("shut down");
    eprintln!("shutdown of both servers took {:?}", stopping_at.elapsed());
    assert!(!process_exists(restarted_pid), "mariadbd still running");
    assert!(!process_exists(postgres_pid), "postgres still running");

    // Second run on the same directory, ports not configured: same ports, same data.
    let clusters = timed_start(
        LocalClusterConfig::new(temp.path().join("clusters")),
        "warm start (existing data dirs)",
    )
    .await;
    assert_eq!(
        (clusters.mysql().port(), clusters.postgresql().port()),
        ports
    );
    assert!(
        mysql_databases(clusters.mysql())
            .await
            .contains(&"kept_across_runs".to_owned())
    );
    assert!(
        postgres_databases(clusters.postgresql())
            .await
            .contains(&"kept_across_runs".to_owned())
    );
    clusters.shutdown().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sets_of_clusters_run_side_by_side() {
    init_logging();
    let first_temp = open_temp_dir();
    let second_temp = open_temp_dir();

    let (first, second) = tokio::join!(
        start_local_clusters(test_config(first_temp.path())),
        start_local_clusters(test_config(second_temp.path())),
    );
    let (first, second) = (first.expect("start first"), second.expect("start second"));

    let mut ports = vec![
        first.mysql().port(),
        first.postgresql().port(),
        second.mysql().port(),
        second.postgresql().port(),
    ];
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 4, "ports collide: {ports:?}");

    mysql_execute(first.mysql(), "CREATE DATABASE only_in_first").await;
    postgres_client(first.postgresql())
        .await
        .batch_execute("CREATE DATABASE only_in_first")
        .await
        .expect("create postgres database");
    assert!(
        !mysql_databases(second.mysql())
            .await
            .contains(&"only_in_first".to_owned())
    );
    assert!(
        !postgres_databases(second.postgresql())
            .await
            .contains(&"only_in_first".to_owned())
    );

    let (first_stopped, second_stopped) = tokio::join!(first.shutdown(), second.shutdown());
    first_stopped.expect("shut down first");
    second_stopped.expect("shut down second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_initialized_data_dir_is_initialized_again() {
    init_logging();
    let temp = open_temp_dir();
    let config = test_config(temp.path());
    // What a kill during mariadb-install-db / initdb leaves behind.
    for kind in ["mysql", "postgresql"] {
        let staging = config.root.join(kind).join("data.init");
        std::fs::create_dir_all(staging.join("half")).expect("create staging dir");
        std::fs::write(staging.join("half").join("file"), "partial").expect("write junk");
    }

    let clusters = start_local_clusters(config.clone()).await.expect("start");
    for kind in [ClusterKind::Mysql, ClusterKind::Postgresql] {
        let directory = clusters.get(kind).directory();
        assert!(
            !directory.join("data.init").exists(),
            "{kind} staging dir left"
        );
        assert!(
            !directory.join("data/half").exists(),
            "{kind} junk promoted"
        );
        clusters.get(kind).version().await.expect("server answers");
    }
    clusters.shutdown().await.expect("shut down");
}

/// A dbplane killed with -9 leaves its servers running; the next start must replace
/// them (we stop rather than adopt), on the same ports.
#[test]
fn servers_left_by_a_killed_run_are_replaced() {
    init_logging();
    let temp = open_temp_dir();
    let config = test_config(temp.path());

    // The "killed" run: its runtime vanishes without running any shutdown or drop code.
    let killed_runtime = tokio::runtime::Runtime::new().expect("build runtime");
    let abandoned = killed_runtime
        .block_on(start_local_clusters(config.clone()))
        .expect("start first run");
    let ports = (abandoned.mysql().port(), abandoned.postgresql().port());
    let stale_pids = (
        abandoned.mysql().pid().expect("mariadbd pid"),
        abandoned.postgresql().pid().expect("postgres pid"),
    );
    std::mem::forget(abandoned);
    killed_runtime.shutdown_background();
    assert!(process_exists(stale_pids.0) && process_exists(stale_pids.1));

    let runtime = tokio::runtime::Runtime::new().expect("build runtime");
    runtime.block_on(async {
        let clusters = timed_start(config, "start over stale servers").await;
        assert_eq!(
            (clusters.mysql().port(), clusters.postgresql().port()),
            ports
        );
        assert_ne!(clusters.mysql().pid(), Some(stale_pids.0));
        assert_ne!(clusters.postgresql().pid(), Some(stale_pids.1));
        clusters.mysql().version().await.expect("mariadb answers");
        clusters
            .postgresql()
            .version()
            .await
            .expect("postgres answers");
        clusters.shutdown().await.expect("shut down");
    });
}

/// As root, PostgreSQL runs as `postgres`, which cannot enter a 0700 directory of root's
/// (a clone in `/root`): the clusters start anyway, PostgreSQL's files in a directory of
/// their own that `postgres` reaches, linked from the data dir, whose permissions stay
/// 0700; a second start finds them again.
#[tokio::test]
async fn a_private_data_dir_works_as_root() {
    if !nix::unistd::Uid::current().is_root() {
        return;
    }
    init_logging();
    let private = tempfile::tempdir().expect("create temp dir");
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700))
        .expect("make temp dir private");
    let clusters = timed_start(test_config(private.path()), "private, first").await;
    let link = private.path().join("clusters/postgresql");
    assert!(link.is_symlink(), "{}", link.display());
    let place = std::fs::canonicalize(&link).unwrap();
    assert!(
        place.starts_with("/var/lib/dbplane/clusters"),
        "{}",
        place.display()
    );
    clusters
        .postgresql()
        .version()
        .await
        .expect("postgres answers");
    let root = postgres_client(clusters.postgresql()).await;
    root.batch_execute("CREATE TABLE kept (id int)")
        .await
        .unwrap();
    drop(root);
    clusters.shutdown().await.expect("shut down");
    let mode = std::fs::metadata(private.path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "the private directory was opened up");

    let clusters = timed_start(test_config(private.path()), "private, again").await;
    assert_eq!(std::fs::canonicalize(&link).unwrap(), place);
    let root = postgres_client(clusters.postgresql()).await;
    root.batch_execute("SELECT * FROM kept")
        .await
        .expect("the data is still there");
    drop(root);
    clusters.shutdown().await.expect("shut down");
    let _ = std::fs::remove_dir_all(place.parent().unwrap());
}
