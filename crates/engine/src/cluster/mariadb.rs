//! The managed MariaDB cluster: bootstrap, server flags, version query.
//!
//! The flags give what online schema change and change capture need: a ROW binlog with
//! full before/after images and column metadata (names in TABLE_MAP events), and utf8mb4
//! everywhere (`--no-defaults` would otherwise leave latin1). Durability is relaxed only
//! where a crash loses at most the last second of commits, never consistency
//! (`innodb-flush-log-at-trx-commit=2`, `sync-binlog=0`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use mysql_async::prelude::Queryable;
use nix::sys::signal::Signal;
use nix::unistd::Uid;
use tokio::process::Command;

use super::binaries::MariadbBinaries;
use super::supervisor::{self, ServerSpec, Supervisor};
use super::{
    ClusterKind, DATA_DIRECTORY, HOST, LocalCluster, STAGING_DIRECTORY, check_socket_path,
    discard_staging, log_tail, promote_staging,
};
use crate::error::{EngineError, EngineResult};

/// The superuser: `mariadb-install-db --auth-root-authentication-method=normal` creates
/// it with an empty password, reachable from 127.0.0.1 only.
pub(super) const ADMIN_USER: &str = "root";

const KIND: ClusterKind = ClusterKind::Mysql;
pub(crate) const SOCKET_FILE: &str = "mysqld.sock";
const PID_FILE: &str = "mysqld.pid";
const ERROR_LOG: &str = "error.log";
const INSTALL_LOG: &str = "install.log";
/// A private tmpdir: at start mariadbd (and the bootstrap run of mariadb-install-db)
/// deletes every `#sql*` file in its tmpdir, so two servers sharing `/tmp` delete each
/// other's temporary tables (seen as failed concurrent bootstraps).
const TMP_DIRECTORY: &str = "tmp";
const INNODB_LOG_FILE_SIZE: &str = "--innodb-log-file-size=16M";

/// What [`start`] needs.
pub(super) struct Options {
    pub(super) binaries: MariadbBinaries,
    /// `<root>/mysql`, absolute.
    pub(super) directory: PathBuf,
    pub(super) port: u16,
    /// Commits flushed to the OS, not to disk (tests only): see [`durability_flags`].
    pub(super) fast_unsafe: bool,
}

/// Stops a stale server, initializes on first start, launches and supervises `mariadbd`.
pub(super) async fn start(options: Options) -> EngineResult<LocalCluster> {
    let directory = &options.directory;
    let data = directory.join(DATA_DIRECTORY);
    check_socket_path(KIND, &directory.join(SOCKET_FILE))?;
    // SIGTERM is mariadbd's normal shutdown (the one `mariadb-admin shutdown` triggers).
    supervisor::stop_stale_server(
        KIND,
        &directory.join(PID_FILE),
        "mariadbd",
        &data,
        Signal::SIGTERM,
    )
    .await?;
    std::fs::create_dir_all(directory.join(TMP_DIRECTORY))?;
    if !data.exists() {
        initialize(&options.binaries, directory, &data).await?;
    }
    let spec = ServerSpec {
        kind: KIND,
        program: options.binaries.server.clone(),
        arguments: server_arguments(directory, &data, options.port, options.fast_unsafe),
        run_as: None,
        working_directory: data.clone(),
        log_file: directory.join(ERROR_LOG),
        stop_signal: Signal::SIGTERM,
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

/// Runs `mariadb-install-db` into the staging directory, then promotes it.
async fn initialize(binaries: &MariadbBinaries, directory: &Path, data: &Path) -> EngineResult<()> {
    let staging = directory.join(STAGING_DIRECTORY);
    discard_staging(KIND, &staging).await?;
    tracing::info!(kind = %KIND, path = %data.display(), "initializing data dir");
    let log_path = directory.join(INSTALL_LOG);
    let log = std::fs::File::create(&log_path)?;
    let mut command = Command::new(&binaries.install_db);
    command
        .arg("--no-defaults")
        .arg(datadir_flag(&staging))
        .arg(path_flag("--tmpdir=", directory.join(TMP_DIRECTORY)))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        // The server's redo log size from the start, instead of the 96M default that the
        // first server start would shrink again.
        .arg(INNODB_LOG_FILE_SIZE)
        .current_dir(directory)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // As root, mariadbd must be told to stay root; as anyone else it runs as that user.
    if Uid::current().is_root() {
        command.arg("--user=root");
    }
    let status = command.status().await.map_err(|error| EngineError::Init {
        kind: KIND,
        detail: format!("run {}: {error}", binaries.install_db.display()),
    })?;
    if !status.success() {
        return Err(EngineError::Init {
            kind: KIND,
            detail: format!(
                "mariadb-install-db exited ({status}); end of {}:\n{}",
                log_path.display(),
                log_tail(&log_path)
            ),
        });
    }
    promote_staging(KIND, &staging, data)
}

fn datadir_flag(data: &Path) -> OsString {
    path_flag("--datadir=", data.to_path_buf())
}

fn path_flag(name: &str, path: PathBuf) -> OsString {
    let mut flag = OsString::from(name);
    flag.push(path);
    flag
}

fn server_arguments(directory: &Path, data: &Path, port: u16, fast_unsafe: bool) -> Vec<OsString> {
    let mut arguments = vec![
        // Only our flags apply, never a stray /etc/mysql/my.cnf.
        OsString::from("--no-defaults"),
        datadir_flag(data),
        path_flag("--socket=", directory.join(SOCKET_FILE)),
        path_flag("--pid-file=", directory.join(PID_FILE)),
        path_flag("--log-error=", directory.join(ERROR_LOG)),
        path_flag("--tmpdir=", directory.join(TMP_DIRECTORY)),
        format!("--port={port}").into(),
    ];
    if Uid::current().is_root() {
        arguments.push("--user=root".into());
    }
    arguments.extend(
        [
            "--bind-address=127.0.0.1",
            "--server-id=1",
            // Relative, so the binlog index lists `./binlog.NNNNNN` and the data dir can
            // be moved.
            "--log-bin=binlog",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--binlog-row-metadata=FULL",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=128M",
            // MySQL 8's default (MariaDB's is 16M): rows and statements of up to 64 MB, as
            // the clients of a MySQL platform expect.
            "--max-allowed-packet=64M",
            INNODB_LOG_FILE_SIZE,
        ]
        .map(OsString::from),
    );
    arguments.extend(durability_flags(fast_unsafe).map(OsString::from));
    arguments
}

/// A committed transaction is on disk (redo log and binlog fsynced at commit, grouped
/// by the server's group commit) and so survives an OS crash or a power loss, as a
/// database platform promises. The test mode only writes them to the OS at commit: a
/// server crash loses nothing, an OS crash may lose the last second.
fn durability_flags(fast_unsafe: bool) -> [&'static str; 2] {
    if fast_unsafe {
        ["--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0"]
    } else {
        ["--innodb-flush-log-at-trx-commit=1", "--sync-binlog=1"]
    }
}

/// `SELECT VERSION()` over TCP as the superuser.
pub(super) async fn query_version(port: u16) -> EngineResult<String> {
    let options = mysql_async::OptsBuilder::default()
        .ip_or_hostname(HOST)
        .tcp_port(port)
        .user(Some(ADMIN_USER))
        // Otherwise the driver switches to the unix socket it finds in @@socket.
        .prefer_socket(false);
    let mut connection = mysql_async::Conn::new(options)
        .await
        .map_err(|error| EngineError::sql(KIND, error))?;
    let version: Option<String> = connection
        .query_first("SELECT VERSION()")
        .await
        .map_err(|error| EngineError::sql(KIND, error))?;
    // A failed goodbye does not make the answer wrong.
    let _ = connection.disconnect().await;
    version.ok_or_else(|| EngineError::Start {
        kind: KIND,
        detail: "SELECT VERSION() returned no row".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_enable_full_row_binlog_and_utf8mb4() {
        let arguments = server_arguments(
            Path::new("/c/mysql"),
            Path::new("/c/mysql/data"),
            3307,
            false,
        );
        let arguments: Vec<String> = arguments
            .into_iter()
            .map(|argument| argument.into_string().unwrap())
            .collect();
        for expected in [
            "--no-defaults",
            "--datadir=/c/mysql/data",
            "--socket=/c/mysql/mysqld.sock",
            "--port=3307",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--binlog-row-metadata=FULL",
            "--character-set-server=utf8mb4",
        ] {
            assert!(
                arguments.iter().any(|a| a == expected),
                "missing {expected}"
            );
        }
        // --no-defaults is only honoured as the first option.
        assert_eq!(arguments[0], "--no-defaults");
        for durable in ["--innodb-flush-log-at-trx-commit=1", "--sync-binlog=1"] {
            assert!(arguments.iter().any(|a| a == durable), "missing {durable}");
        }
        let relaxed = server_arguments(Path::new("/c"), Path::new("/c/data"), 3307, true);
        assert!(relaxed.iter().any(|a| a == "--sync-binlog=0"));
    }
}
