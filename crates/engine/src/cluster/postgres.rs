//! The managed PostgreSQL cluster: OS user, bootstrap, server flags, version query.
//!
//! `postgres` runs in the foreground as our child (not daemonized by `pg_ctl`), so the
//! supervisor can `wait()` on it. As root it runs as the `postgres` OS user by setting
//! the child's uid and gid directly rather than through `runuser`: `runuser` forwards a
//! SIGTERM and then SIGKILLs its child two seconds later, which would turn a slow
//! shutdown into a crash. Stopping sends SIGINT, which is exactly what
//! `pg_ctl stop -m fast` sends.
//!
//! `wal_level=logical` with room for replication slots serves change capture;
//! `synchronous_commit` stays on because with it off a logical slot was seen to miss the
//! newest commit.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use nix::unistd::Uid;
use tokio::process::Command;

use super::binaries::PostgresBinaries;
use super::os_user::{self, RunAs};
use super::supervisor::{self, ServerSpec, Supervisor};
use super::{
    ClusterKind, DATA_DIRECTORY, HOST, LocalCluster, STAGING_DIRECTORY, check_socket_path,
    discard_staging, log_tail, promote_staging,
};
use crate::error::{EngineError, EngineResult};

/// The superuser, created by `initdb -U postgres`; [`HBA_RULES`] trust it, and only it,
/// on the socket and loopback.
pub(super) const ADMIN_USER: &str = "postgres";

const KIND: ClusterKind = ClusterKind::Postgresql;
/// The OS user PostgreSQL runs as when dbplane is root (PostgreSQL refuses root).
const OS_USER: &str = "postgres";
/// Home of the OS user if we must create it, as Debian's package makes it.
const OS_USER_HOME: &str = "/var/lib/postgresql";
const SERVER_LOG: &str = "server.log";
/// The client authentication file, in the cluster directory (outside `data/`) so that
/// it is ours rather than initdb's.
const HBA_FILE: &str = "pg_hba.conf";
/// Who may connect, and how. initdb's `--auth=trust` lets any role in without a
/// password, which would make branch credentials decorative; here only the superuser
/// (whose admin DSN carries no password, on loopback only) is trusted, and every other
/// role must give its SCRAM password. Written at every start, so clusters initialized
/// before this rule get it too.
const HBA_RULES: &str = "\
# Written by dbplane at every start: edits are lost.
# TYPE  DATABASE     USER      ADDRESS       METHOD
local   all          postgres                trust
host    all          postgres  127.0.0.1/32  trust
host    all          postgres  ::1/128       trust
local   replication  postgres                trust
host    replication  postgres  127.0.0.1/32  trust
host    replication  postgres  ::1/128       trust
local   all          all                     scram-sha-256
host    all          all       127.0.0.1/32  scram-sha-256
host    all          all       ::1/128       scram-sha-256
";
const INITDB_LOG: &str = "initdb.log";

/// What [`start`] needs.
pub(super) struct Options {
    pub(super) binaries: PostgresBinaries,
    /// `<root>/postgresql`, absolute; also the unix socket directory.
    pub(super) directory: PathBuf,
    pub(super) port: u16,
    /// The OS user to run as, when dbplane is root.
    pub(super) run_as: Option<RunAs>,
    pub(super) fast_unsafe: bool,
}

/// Where a root dbplane keeps PostgreSQL's files when the `postgres` user cannot reach
/// the data dir (one directory per data dir, linked from it).
const REACHABLE_ROOT: &str = "/var/lib/dbplane/clusters";

/// Where the cluster's files live and who runs it. As anyone but root: `directory`, run as
/// ourselves. As root: the `postgres` OS user (created if missing) runs it and must reach
/// its directory. When the data dir sits under a private directory (a 0700 home, where
/// `git clone` puts it), its permissions stay as they are: the cluster's files go to a
/// directory of their own under [`REACHABLE_ROOT`], and `directory` becomes a link to it.
pub(super) async fn place(directory: &Path) -> EngineResult<(PathBuf, Option<RunAs>)> {
    if !Uid::current().is_root() {
        return Ok((directory.to_path_buf(), None));
    }
    let run_as = os_user::ensure_system_user(KIND, OS_USER, Path::new(OS_USER_HOME)).await?;
    let place = if directory.is_symlink() {
        std::fs::canonicalize(directory)?
    } else if os_user::check_traversable(KIND, directory, &run_as).is_ok() {
        directory.to_path_buf()
    } else if std::fs::read_dir(directory)?.next().is_none() {
        relocate(directory)?
    } else {
        // A cluster already initialized there: moving it is the operator's call.
        os_user::check_traversable(KIND, directory, &run_as)?;
        directory.to_path_buf()
    };
    run_as.take_ownership(&place)?;
    os_user::check_traversable(KIND, &place, &run_as)?;
    Ok((place, Some(run_as)))
}

/// Moves the (empty) cluster directory to a new directory under [`REACHABLE_ROOT`] and
/// links it from where it was. The new directory's name is unique, so a data dir deleted
/// and made again never finds an older cluster there.
fn relocate(directory: &Path) -> EngineResult<PathBuf> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::DirBuilderExt;
    let seed = format!(
        "{}:{}:{:?}",
        directory.display(),
        std::process::id(),
        std::time::SystemTime::now()
    );
    let id = hex::encode(&Sha256::digest(seed.as_bytes())[..8]);
    let place = Path::new(REACHABLE_ROOT).join(id).join(KIND.as_str());
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&place)?;
    std::fs::remove_dir(directory)?;
    std::os::unix::fs::symlink(&place, directory)?;
    tracing::info!(kind = %KIND, link = %directory.display(), to = %place.display(),
        "the data dir is private to its owner: the cluster's files live outside it");
    Ok(place)
}

/// Stops a stale server, initializes on first start, launches and supervises `postgres`.
pub(super) async fn start(options: Options) -> EngineResult<LocalCluster> {
    let directory = &options.directory;
    let data = directory.join(DATA_DIRECTORY);
    // The lock file next to the socket is the longer of the two paths.
    check_socket_path(
        KIND,
        &directory.join(format!(".s.PGSQL.{}.lock", options.port)),
    )?;
    supervisor::stop_stale_server(
        KIND,
        &data.join("postmaster.pid"),
        "postgres",
        &data,
        Signal::SIGINT,
    )
    .await?;
    if !data.exists() {
        initialize(&options, &data).await?;
    }
    std::fs::write(directory.join(HBA_FILE), HBA_RULES)?;
    let spec = ServerSpec {
        kind: KIND,
        program: options.binaries.server.clone(),
        arguments: server_arguments(directory, &data, options.port, options.fast_unsafe),
        run_as: options.run_as.clone(),
        working_directory: directory.clone(),
        log_file: directory.join(SERVER_LOG),
        // Fast shutdown: roll back open transactions, checkpoint, exit. SIGTERM ("smart")
        // would wait for every client to disconnect.
        stop_signal: Signal::SIGINT,
        port: options.port,
    };
    let child = supervisor::launch(&spec).await?;
    tracing::info!(kind = %KIND, pid = child.id(), port = options.port, "server started");
    Ok(LocalCluster {
        kind: KIND,
        port: options.port,
        directory: directory.clone(),
        supervisor: Supervisor::spawn(spec, child),
    })
}

/// Runs `initdb` into the staging directory, then promotes it.
async fn initialize(options: &Options, data: &Path) -> EngineResult<()> {
    let directory = &options.directory;
    let staging = directory.join(STAGING_DIRECTORY);
    discard_staging(KIND, &staging).await?;
    tracing::info!(kind = %KIND, path = %data.display(), "initializing data dir");
    let log_path = directory.join(INITDB_LOG);
    let log = std::fs::File::create(&log_path)?;
    let mut command = Command::new(&options.binaries.initdb);
    command
        .arg("-D")
        .arg(&staging)
        .args([
            "-U",
            ADMIN_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        .current_dir(directory)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if options.fast_unsafe {
        command.arg("--no-sync");
    }
    if let Some(run_as) = &options.run_as {
        run_as.apply(&mut command);
    }
    let status = command.status().await.map_err(|error| EngineError::Init {
        kind: KIND,
        detail: format!("run {}: {error}", options.binaries.initdb.display()),
    })?;
    if !status.success() {
        return Err(EngineError::Init {
            kind: KIND,
            detail: format!(
                "initdb exited ({status}); end of {}:\n{}",
                log_path.display(),
                log_tail(&log_path)
            ),
        });
    }
    promote_staging(KIND, &staging, data)
}

fn server_arguments(directory: &Path, data: &Path, port: u16, fast_unsafe: bool) -> Vec<OsString> {
    let mut arguments: Vec<OsString> = vec!["-D".into(), data.into(), "-p".into()];
    arguments.push(port.to_string().into());
    arguments.push("-k".into());
    arguments.push(directory.into());
    let mut settings = vec![
        "listen_addresses=127.0.0.1",
        "wal_level=logical",
        "max_replication_slots=20",
        "max_wal_senders=20",
    ];
    if fast_unsafe {
        settings.extend(["fsync=off", "full_page_writes=off"]);
    }
    for setting in settings {
        arguments.push("-c".into());
        arguments.push(setting.into());
    }
    arguments.push("-c".into());
    let mut hba_file = OsString::from("hba_file=");
    hba_file.push(directory.join(HBA_FILE));
    arguments.push(hba_file);
    arguments
}

/// `SHOW server_version` over TCP as the superuser.
pub(super) async fn query_version(port: u16) -> EngineResult<String> {
    let (client, connection) = tokio_postgres::Config::new()
        .host(HOST)
        .port(port)
        .user(ADMIN_USER)
        .dbname("postgres")
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|error| EngineError::sql(KIND, error))?;
    // The connection future does the I/O; it ends when `client` is dropped.
    let driver = tokio::spawn(connection);
    let row = client
        .query_one("SHOW server_version", &[])
        .await
        .map_err(|error| EngineError::sql(KIND, error));
    drop(client);
    let _ = driver.await;
    row?.try_get(0)
        .map_err(|error| EngineError::sql(KIND, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(fast_unsafe: bool) -> String {
        server_arguments(
            Path::new("/c/pg"),
            Path::new("/c/pg/data"),
            5433,
            fast_unsafe,
        )
        .into_iter()
        .map(|argument| argument.into_string().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
    }

    #[test]
    fn flags_enable_logical_wal_and_keep_durability_by_default() {
        let durable = rendered(false);
        assert!(
            durable.contains("-D /c/pg/data -p 5433 -k /c/pg"),
            "{durable}"
        );
        assert!(durable.contains("-c wal_level=logical"), "{durable}");
        assert!(
            durable.contains("-c listen_addresses=127.0.0.1"),
            "{durable}"
        );
        assert!(!durable.contains("fsync"), "{durable}");
        assert!(!durable.contains("synchronous_commit"), "{durable}");
        assert!(rendered(true).contains("-c fsync=off"));
        assert!(
            durable.contains("-c hba_file=/c/pg/pg_hba.conf"),
            "{durable}"
        );
    }

    #[test]
    fn only_the_superuser_is_trusted() {
        for line in HBA_RULES.lines().filter(|line| !line.starts_with('#')) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let method = fields.last().copied().unwrap_or_default();
            if method == "trust" {
                assert_eq!(fields[2], ADMIN_USER, "{line}");
            } else {
                assert_eq!(method, "scram-sha-256", "{line}");
            }
        }
    }
}
