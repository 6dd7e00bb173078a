//! Introspection: read a live server's catalog into the [`Schema`] model.
//!
//! One query per catalog relation (columns, indexes, constraints...) for the whole
//! database, not per table, so a thousand tables cost a handful of round trips. Values
//! from the server are never unwrapped: a row we cannot read is an
//! [`IntrospectError::Unexpected`], a type we do not know becomes
//! [`DataType::Other`](crate::DataType::Other) for lint to report. The result is
//! normalized.

mod mariadb;
mod postgres;

pub use mariadb::{mariadb, mariadb_url};
pub use postgres::postgres;

/// Why introspection failed.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    /// MariaDB refused a query or the connection failed.
    #[error("query mariadb catalog")]
    Mariadb(#[from] mysql_async::Error),
    /// PostgreSQL refused a query or the connection failed.
    #[error("query postgres catalog")]
    Postgres(#[from] tokio_postgres::Error),
    /// The catalog returned something we cannot read.
    #[error("unexpected catalog content: {what}")]
    Unexpected {
        /// What was wrong.
        what: String,
    },
    /// The database (MariaDB) or schema (PostgreSQL) does not exist.
    #[error("database {name} not found")]
    NotFound {
        /// The name asked for.
        name: String,
    },
}

/// Result of introspection.
pub type IntrospectResult<T> = Result<T, IntrospectError>;

fn unexpected(what: impl Into<String>) -> IntrospectError {
    IntrospectError::Unexpected { what: what.into() }
}
