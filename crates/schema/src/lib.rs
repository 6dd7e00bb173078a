//! The schema engine of dbplane: a typed model of a database schema, and everything the
//! deploy path computes from it.
//!
//! - [`model`]: tables, columns, indexes, foreign keys, checks, views, sequences and enum
//!   types, with [`Schema::normalize`] making equivalent spellings equal.
//! - [`introspect`] (feature `introspect`): read a live MariaDB or PostgreSQL catalog into
//!   the model.
//! - [`ddl`]: canonical `CREATE` statements for a schema.
//! - [`diff`]: ordered, classified statements that turn one schema into another.
//! - [`merge`]: the three-way merge of a branch's changes onto a base that moved on.
//! - [`lint`]: the lint errors of §7 of the semantics reference.
//! - [`object_diff`]: per-object unified diffs of `CREATE` statements, for reviewers.
//!
//! Everything but [`introspect`] is pure: no I/O, no clock, deterministic output. Schemas
//! fed in may be invalid (unknown types, dangling references): the engine reports that
//! through [`lint`] and [`diff::Diff::unsupported`], never by panicking.

pub mod ddl;
pub mod diff;
mod graph;
#[cfg(feature = "introspect")]
pub mod introspect;
pub mod lint;
pub mod merge;
pub mod model;
mod normalize;
pub mod object_diff;
pub mod online;
pub mod quote;
mod sql_text;
mod view_refs;

pub use model::{
    CheckConstraint, Column, ColumnDefault, DataType, EnumType, Expr, ForeignKey, ForeignKeyAction,
    Generated, Identity, Index, IndexKind, IndexPart, IndexTarget, IntegerKind, LobSize, Partition,
    Partitioning, PartitioningKind, PrimaryKey, Schema, Sequence, Table, TableOptions, View,
};

/// The SQL dialect, that is which kind of server a schema lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    /// MariaDB 10.11 (the MySQL kind of dbplane).
    Mariadb,
    /// PostgreSQL 15.
    Postgres,
}

/// A server version, used where DDL capabilities differ between releases (instant DDL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    /// Major release, e.g. 10 for MariaDB 10.11 or 15 for PostgreSQL 15.
    pub major: u32,
    /// Minor release, e.g. 11 for MariaDB 10.11.
    pub minor: u32,
    /// Patch level.
    pub patch: u32,
}

impl ServerVersion {
    /// MariaDB 10.11, the version dbplane ships against.
    pub const MARIADB_10_11: ServerVersion = ServerVersion::new(10, 11, 0);
    /// PostgreSQL 15.
    pub const POSTGRES_15: ServerVersion = ServerVersion::new(15, 0, 0);

    /// A version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        ServerVersion {
            major,
            minor,
            patch,
        }
    }

    /// The default version for a dialect.
    pub fn default_for(dialect: Dialect) -> Self {
        match dialect {
            Dialect::Mariadb => Self::MARIADB_10_11,
            Dialect::Postgres => Self::POSTGRES_15,
        }
    }

    /// Parses what `SELECT version()` returns (`10.11.19-MariaDB-0+deb12u1`,
    /// `15.18 (Debian ...)`); missing parts are zero, junk yields `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let numeric: String = text
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = numeric.split('.').filter(|part| !part.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(ServerVersion::new(major, minor, patch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_server_strings() {
        assert_eq!(
            ServerVersion::parse("10.11.19-MariaDB-0+deb12u1"),
            Some(ServerVersion::new(10, 11, 19))
        );
        assert_eq!(
            ServerVersion::parse("15.18 (Debian 15.18-0+deb12u1)"),
            Some(ServerVersion::new(15, 18, 0))
        );
        assert_eq!(ServerVersion::parse("junk"), None);
    }
}
