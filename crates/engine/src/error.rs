//! Errors of the engine (data plane).

use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::ClusterKind;

/// What went wrong in the data plane.
///
/// Messages are meant for an operator reading `dbplane serve`'s exit message or log: each
/// names the cluster it concerns and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Reading a database's schema into the model failed.
    #[error("reading the schema from the {kind} server failed: {detail}")]
    Introspect {
        /// The cluster read from.
        kind: ClusterKind,
        /// What failed.
        detail: String,
    },
    /// A server binary is not installed on this machine.
    #[error(
        "`{binary}` was not found on PATH, in /usr/sbin, /usr/bin or /usr/lib/postgresql/*/bin: \
         install the Debian package `{package}` (apt-get install {package})"
    )]
    BinaryMissing {
        /// The executable that was searched for, e.g. `mariadbd`.
        binary: &'static str,
        /// The Debian package that ships it.
        package: &'static str,
    },
    /// The OS user a server must run as cannot reach the cluster directory.
    #[error(
        "directory {path} is not traversable by OS user `{user}`, which runs the {kind} \
         cluster: allow it (chmod o+x {path}) or choose a data dir outside it"
    )]
    NotTraversable {
        /// The cluster the user runs.
        kind: ClusterKind,
        /// The first directory on the way that the user may not enter.
        path: PathBuf,
        /// The OS user name.
        user: String,
    },
    /// Creating a cluster's data directory on first start failed.
    #[error("initializing the {kind} cluster failed: {detail}")]
    Init {
        /// The cluster being initialized.
        kind: ClusterKind,
        /// What failed, with the tail of the tool's log.
        detail: String,
    },
    /// Starting (or restarting) a server failed.
    #[error("starting the {kind} server failed: {detail}")]
    Start {
        /// The cluster whose server did not come up.
        kind: ClusterKind,
        /// What failed, with the tail of the server's log where there is one.
        detail: String,
    },
    /// A server did not reach the expected state before its deadline.
    #[error("the {kind} server did not {action} within {after:?}")]
    Timeout {
        /// The cluster concerned.
        kind: ClusterKind,
        /// What was awaited, as a verb phrase: "become ready", "stop".
        action: &'static str,
        /// How long was waited.
        after: Duration,
    },
    /// A statement sent to a server failed (or the connection for it did).
    #[error("query on the {kind} cluster failed: {source}")]
    Sql {
        /// The cluster the statement was sent to.
        kind: ClusterKind,
        /// The driver's error (`mysql_async` or `tokio-postgres`).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file-system or process operation failed.
    #[error("i/o failure: {0}")]
    Io(#[from] std::io::Error),
    /// A physical name (database, credential) is not a safe identifier.
    #[error("invalid physical name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name (debug-quoted in the message, as it may hold anything).
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An argument other than a name was refused before anything was sent to a server.
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// The argument, e.g. "password".
        what: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An operation needs an object that does not exist on the cluster.
    #[error("{what} does not exist on the {kind} cluster")]
    NotFound {
        /// The cluster asked.
        kind: ClusterKind,
        /// The missing object, e.g. "database `dbp_x`".
        what: String,
    },
    /// Copying a schema failed outside SQL (e.g. `pg_dump` exited with an error).
    #[error("copying the schema on the {kind} cluster failed: {detail}")]
    SchemaCopy {
        /// The cluster concerned.
        kind: ClusterKind,
        /// What failed, with the tool's stderr where there is one.
        detail: String,
    },
}

/// The result type of the engine.
pub type EngineResult<T> = Result<T, EngineError>;

impl EngineError {
    /// Wraps a driver error from a statement sent to a `kind` cluster.
    pub(crate) fn sql(
        kind: ClusterKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        EngineError::Sql {
            kind,
            source: Box::new(source),
        }
    }
}
