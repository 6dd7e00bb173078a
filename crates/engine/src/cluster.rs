//! Managed local clusters: one MariaDB and one PostgreSQL server that dbplane runs itself
//! when no cluster is configured.
//!
//! Layout under [`LocalClusterConfig::root`] (`<data-dir>/clusters`), one directory per
//! kind, named by its wire name:
//!
//! ```text
//! mysql/       port  data/  tmp/  mysqld.sock  mysqld.pid  error.log  install.log
//! postgresql/  port  data/  .s.PGSQL.<port>  server.log  initdb.log
//! ```
//!
//! Invariants:
//! - `data/` exists only once fully initialized: the bootstrap tool writes into
//!   `data.init/`, which is renamed into place when it succeeds. A start that finds
//!   `data.init/` (a crash mid-init) discards it and initializes again.
//! - A cluster's port never changes once chosen (see [`ports`]), because credentials
//!   handed out carry `host:port`.
//! - Servers are children of this process, supervised by [`supervisor`]; servers left
//!   running by an earlier, killed, dbplane are stopped before ours start.

mod binaries;
mod mariadb;
pub mod metrics;
mod os_user;
mod ports;
mod postgres;
mod supervisor;

use std::fmt;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{EngineError, EngineResult};
pub(crate) use binaries::find_pg_dump;
use ports::PortReservation;
use supervisor::Supervisor;

/// The address every managed server listens on: local clusters are never exposed.
const HOST: &str = "127.0.0.1";
/// The data directory of a cluster, relative to its cluster directory.
const DATA_DIRECTORY: &str = "data";
/// Where a bootstrap tool writes before the result is renamed to [`DATA_DIRECTORY`].
const STAGING_DIRECTORY: &str = "data.init";
/// The time one readiness or version probe may take (connect plus query).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The kind of database server a cluster runs. Serde-free here; the wire names are
/// [`ClusterKind::as_str`], matching the API's `kind` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClusterKind {
    /// MySQL-compatible: MariaDB.
    Mysql,
    /// PostgreSQL.
    Postgresql,
}

impl ClusterKind {
    /// The wire name: `mysql` or `postgresql`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterKind::Mysql => "mysql",
            ClusterKind::Postgresql => "postgresql",
        }
    }
}

impl fmt::Display for ClusterKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Where and how to run the managed local clusters.
#[derive(Clone, Debug)]
pub struct LocalClusterConfig {
    /// The directory holding every cluster, `<data-dir>/clusters`.
    pub root: PathBuf,
    /// The MariaDB port; `None` reuses the port of an earlier start, else picks a free one.
    pub mysql_port: Option<u16>,
    /// The PostgreSQL port; `None` reuses the port of an earlier start, else picks a free one.
    pub postgres_port: Option<u16>,
    /// Trade durability for speed (PostgreSQL `fsync=off`, `full_page_writes=off`,
    /// `initdb --no-sync`; MariaDB commits not fsynced): an OS crash can then corrupt the
    /// cluster or lose commits. For tests only.
    pub fast_unsafe: bool,
}

impl LocalClusterConfig {
    /// A durable configuration under `root`, with ports chosen automatically.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalClusterConfig {
            root: root.into(),
            mysql_port: None,
            postgres_port: None,
            fast_unsafe: false,
        }
    }
}

/// The two running managed clusters. Stop them with [`LocalClusters::shutdown`]; dropping
/// them instead only sends the stop signals, without waiting.
#[derive(Debug)]
pub struct LocalClusters {
    mysql: LocalCluster,
    postgresql: LocalCluster,
}

impl LocalClusters {
    /// The MariaDB cluster.
    pub fn mysql(&self) -> &LocalCluster {
        &self.mysql
    }

    /// The PostgreSQL cluster.
    pub fn postgresql(&self) -> &LocalCluster {
        &self.postgresql
    }

    /// The cluster of `kind`.
    pub fn get(&self, kind: ClusterKind) -> &LocalCluster {
        match kind {
            ClusterKind::Mysql => &self.mysql,
            ClusterKind::Postgresql => &self.postgresql,
        }
    }

    /// Stops both servers gracefully (in parallel) and waits until they have exited. The
    /// supervisors restart nothing from the moment this is called.
    pub async fn shutdown(self) -> EngineResult<()> {
        let (mysql, postgresql) = tokio::join!(
            self.mysql.supervisor.stop(),
            self.postgresql.supervisor.stop()
        );
        mysql.and(postgresql)
    }
}

/// One running managed cluster: a server dbplane started and supervises.
#[derive(Debug)]
pub struct LocalCluster {
    kind: ClusterKind,
    port: u16,
    directory: PathBuf,
    supervisor: Supervisor,
}

impl LocalCluster {
    /// The kind of server.
    pub fn kind(&self) -> ClusterKind {
        self.kind
    }

    /// The address the server listens on (always loopback).
    pub fn host(&self) -> &str {
        HOST
    }

    /// The TCP port, stable across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser DSN: `mysql://root@127.0.0.1:PORT/` or
    /// `postgres://postgres@127.0.0.1:PORT/postgres` (no password; loopback only).
    pub fn admin_url(&self) -> String {
        match self.kind {
            ClusterKind::Mysql => format!("mysql://{}@{HOST}:{}/", mariadb::ADMIN_USER, self.port),
            ClusterKind::Postgresql => format!(
                "postgres://{}@{HOST}:{}/postgres",
                postgres::ADMIN_USER,
                self.port
            ),
        }
    }

    /// The server's unix socket, for clients on this machine (MariaDB; PostgreSQL's
    /// sockets are not offered).
    pub fn socket_path(&self) -> Option<PathBuf> {
        match self.kind {
            ClusterKind::Mysql => Some(self.directory.join(mariadb::SOCKET_FILE)),
            ClusterKind::Postgresql => None,
        }
    }

    /// The cluster directory, `<root>/<kind>`.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The pid of the server process, `None` while the supervisor is restarting it.
    pub fn pid(&self) -> Option<u32> {
        self.supervisor.pid()
    }

    /// Asks the server for its version, e.g. `10.11.19-MariaDB-0+deb12u1-log` or `15.18
    /// (Debian 15.18-0+deb12u1)`.
    pub async fn version(&self) -> EngineResult<String> {
        server_version(self.kind, self.port).await
    }
}

/// Starts (initializing on first use) the managed MariaDB and PostgreSQL clusters under
/// `config.root`, in parallel, and returns once both answer queries.
///
/// Fails before starting anything if a binary is missing or the cluster directory is
/// unreachable for the `postgres` user; if one server fails to start, the other is
/// stopped again before the error is returned.
pub async fn start_local_clusters(config: LocalClusterConfig) -> EngineResult<LocalClusters> {
    let mariadb_binaries = binaries::find_mariadb()?;
    let postgres_binaries = binaries::find_postgres()?;

    std::fs::create_dir_all(&config.root)?;
    let root = std::fs::canonicalize(&config.root)?;
    let mysql_directory = root.join(ClusterKind::Mysql.as_str());
    let postgres_directory = root.join(ClusterKind::Postgresql.as_str());
    std::fs::create_dir_all(&mysql_directory)?;
    std::fs::create_dir_all(&postgres_directory)?;

    let (postgres_directory, postgres_user) = postgres::place(&postgres_directory).await?;

    let mut reservation = PortReservation::default();
    let mysql_port = reservation.resolve(&mysql_directory, config.mysql_port)?;
    let postgres_port = reservation.resolve(&postgres_directory, config.postgres_port)?;
    // Release the reserved ports just before the servers bind them.
    drop(reservation);

    let (mysql, postgresql) = tokio::join!(
        mariadb::start(mariadb::Options {
            binaries: mariadb_binaries,
            directory: mysql_directory,
            port: mysql_port,
            fast_unsafe: config.fast_unsafe,
        }),
        postgres::start(postgres::Options {
            binaries: postgres_binaries,
            directory: postgres_directory,
            port: postgres_port,
            run_as: postgres_user,
            fast_unsafe: config.fast_unsafe,
        }),
    );
    match (mysql, postgresql) {
        (Ok(mysql), Ok(postgresql)) => Ok(LocalClusters { mysql, postgresql }),
        (Ok(started), Err(error)) | (Err(error), Ok(started)) => {
            if let Err(stop_error) = started.supervisor.stop().await {
                tracing::error!(kind = %started.kind, error = %stop_error, "stopping after a failed start failed");
            }
            Err(error)
        }
        (Err(mysql_error), Err(postgres_error)) => {
            // Both failed: report MariaDB's, log PostgreSQL's so it is not lost.
            tracing::error!(error = %postgres_error, "postgresql cluster failed to start too");
            Err(mysql_error)
        }
    }
}

/// Queries the server's version over TCP; doubles as the readiness probe.
async fn server_version(kind: ClusterKind, port: u16) -> EngineResult<String> {
    let query = async {
        match kind {
            ClusterKind::Mysql => mariadb::query_version(port).await,
            ClusterKind::Postgresql => postgres::query_version(port).await,
        }
    };
    tokio::time::timeout(PROBE_TIMEOUT, query)
        .await
        .unwrap_or(Err(EngineError::Timeout {
            kind,
            action: "answer a version query",
            after: PROBE_TIMEOUT,
        }))
}

/// Whether nothing listens on `port` of the loopback address.
fn port_is_free(port: u16) -> bool {
    // std sets SO_REUSEADDR, as the servers do, so a port in TIME_WAIT counts as free.
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// The last lines of a log, for error messages.
fn log_tail(path: &Path) -> String {
    const TAIL_BYTES: usize = 2048;
    let Ok(bytes) = std::fs::read(path) else {
        return format!("({} is unreadable)", path.display());
    };
    let start = bytes.len().saturating_sub(TAIL_BYTES);
    let tail = String::from_utf8_lossy(&bytes[start..]);
    // Drop the first, probably cut, line unless the whole file fit.
    match tail.split_once('\n') {
        Some((_, rest)) if start > 0 => rest.trim_end().to_owned(),
        _ => tail.trim_end().to_owned(),
    }
}

/// Removes a staging directory left by an initialization that did not finish.
async fn discard_staging(kind: ClusterKind, staging: &Path) -> EngineResult<()> {
    match tokio::fs::remove_dir_all(staging).await {
        Ok(()) => {
            tracing::warn!(%kind, path = %staging.display(), "discarded a half-initialized data dir");
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(EngineError::Init {
            kind,
            detail: format!("remove {}: {error}", staging.display()),
        }),
    }
}

/// Renames a complete staging directory to `data/` and makes the rename durable: from
/// then on the cluster counts as initialized.
fn promote_staging(kind: ClusterKind, staging: &Path, data: &Path) -> EngineResult<()> {
    let promote = || -> std::io::Result<()> {
        std::fs::rename(staging, data)?;
        let parent = data.parent().unwrap_or(Path::new("/"));
        std::fs::File::open(parent)?.sync_all()
    };
    promote().map_err(|error| EngineError::Init {
        kind,
        detail: format!(
            "rename {} to {}: {error}",
            staging.display(),
            data.display()
        ),
    })
}

/// Unix socket paths are limited to 107 bytes (`sun_path`); a longer one makes the server
/// fail with a cryptic message, so refuse early with a clear one.
fn check_socket_path(kind: ClusterKind, socket: &Path) -> EngineResult<()> {
    const SUN_PATH_MAX: usize = 107;
    let length = socket.as_os_str().len();
    if length > SUN_PATH_MAX {
        return Err(EngineError::Start {
            kind,
            detail: format!(
                "unix socket path {} is {length} bytes, over the {SUN_PATH_MAX}-byte limit: \
                 choose a shorter data dir",
                socket.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_wire_names() {
        assert_eq!(ClusterKind::Mysql.to_string(), "mysql");
        assert_eq!(ClusterKind::Postgresql.to_string(), "postgresql");
    }

    #[test]
    fn log_tail_keeps_whole_lines() {
        let directory = tempfile::tempdir().expect("create temp dir");
        let log = directory.path().join("log");
        let lines: String = (0..1000).map(|n| format!("line {n}\n")).collect();
        std::fs::write(&log, lines).expect("write log");
        let tail = log_tail(&log);
        assert!(tail.ends_with("line 999"), "{tail}");
        assert!(tail.starts_with("line "), "{tail}");
        assert!(tail.len() <= 2048);
    }

    #[test]
    fn long_socket_paths_are_refused() {
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        assert!(check_socket_path(ClusterKind::Mysql, &long).is_err());
        assert!(check_socket_path(ClusterKind::Mysql, Path::new("/tmp/a/mysqld.sock")).is_ok());
    }
}
