//! The edge's errors, and the one place they become what a MySQL client reads: an ERR
//! packet with the code, SQLSTATE and message a MariaDB server would send.

use crate::protocol::ServerError;

/// What can go wrong on a client's session.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol: {0}")]
    Protocol(&'static str),
    /// Wrong user or password; the message names the user as MariaDB does.
    #[error("Access denied for user '{user}'@'{host}' (using password: {using})")]
    AccessDenied {
        user: String,
        host: String,
        using: &'static str,
    },
    #[error(
        "Your password has expired. To log in you must change it using a client that supports expired passwords"
    )]
    PasswordExpired,
    #[error("Access denied for user '{user}'@'%' to database '{database}'")]
    DatabaseDenied { user: String, database: String },
    #[error(
        "Connections using insecure transport are prohibited while --require_secure_transport=ON."
    )]
    InsecureTransport,
    #[error(
        "the authentication plugin {0} needs a TLS connection (or the server's RSA key, which the edge does not offer)"
    )]
    NeedsTls(String),
    /// A server error of the backend, passed on as it is.
    #[error("{0:?}")]
    Backend(ServerError),
    #[error("the branch's server cannot be reached: {0}")]
    BackendUnavailable(String),
    #[error("Too many connections")]
    TooManyConnections,
    #[error("no backend connection became free in time; retry")]
    PoolExhausted,
    #[error("Row count exceeded {0}")]
    RowLimit(u64),
    #[error("The client was disconnected by the server because of inactivity.")]
    IdleTimeout,
    #[error("You are not owner of thread {0}")]
    NotThreadOwner(u32),
    #[error("Unknown thread id: {0}")]
    UnknownThread(u32),
    #[error(
        "direct DDL is disabled: safe migrations are on for this branch; change its schema with a deploy request"
    )]
    DirectDdlDisabled,
    #[error(
        "the statement waited on a schema change cutover longer than the edge holds statements; retry it"
    )]
    CutoverTimeout,
    #[error("Query execution was interrupted, maximum statement execution time exceeded")]
    QueryTimeout,
    #[error("Unknown prepared statement handler ({0}) given to {1}")]
    UnknownStatement(u32, &'static str),
}

impl EdgeError {
    /// The ERR packet a MariaDB client expects for this error: (code, SQLSTATE, message).
    /// Internal details (I/O errors, backend addresses) stay in the log.
    pub fn to_mysql(&self) -> (u16, String, String) {
        let (code, state) = match self {
            EdgeError::Backend(error) => {
                return (error.code, error.state.clone(), error.message.clone());
            }
            EdgeError::BackendUnavailable(_) => {
                return (
                    2013,
                    "HY000".into(),
                    "Lost connection to the branch's server during the statement; retry".into(),
                );
            }
            EdgeError::Io(_) | EdgeError::Protocol(_) => {
                return (
                    1047,
                    "08S01".into(),
                    "Unknown command or malformed packet".into(),
                );
            }
            EdgeError::AccessDenied { .. } | EdgeError::NeedsTls(_) => (1045, "28000"),
            EdgeError::PasswordExpired => (1862, "HY000"),
            EdgeError::DatabaseDenied { .. } => (1044, "42000"),
            EdgeError::InsecureTransport => (3159, "HY000"),
            EdgeError::TooManyConnections => (1040, "08004"),
            EdgeError::PoolExhausted => (1203, "42000"),
            EdgeError::RowLimit(_) => (1317, "70100"),
            EdgeError::IdleTimeout => (4031, "HY000"),
            EdgeError::NotThreadOwner(_) => (1095, "HY000"),
            EdgeError::UnknownThread(_) => (1094, "HY000"),
            EdgeError::DirectDdlDisabled => (1105, "HY000"),
            EdgeError::CutoverTimeout => (1205, "HY000"),
            EdgeError::QueryTimeout => (1969, "70100"),
            EdgeError::UnknownStatement(..) => (1243, "HY000"),
        };
        (code, state.into(), self.to_string())
    }
}

pub type EdgeResult<T> = Result<T, EdgeError>;
