//! Physical operations on a cluster for databases, branches and credentials.
//!
//! The control plane runs each of these as a durable job step, so every operation is
//! idempotent: it looks at the real server first and skips what is already done, and a
//! repeat after a crash at any point converges to the same end state. Nothing typed by a
//! user is ever spliced into SQL: database and user names are [`PhysicalName`]s (derived
//! from ids, validated again here), passwords travel as bound parameters or as hashes
//! computed from them, and names read back from the servers are always quoted.
//!
//! Layout on the servers, per branch database `d`:
//! - MariaDB: database `d` (utf8mb4 / utf8mb4_unicode_ci) and a locked account
//!   `'d_owner'@'localhost'` with every privilege on `d`, the definer of copied views;
//!   each credential is `'u'@'%'` with grants on `d`.* only.
//! - PostgreSQL: database `d` owned by the NOLOGIN role `d_owner`, with CONNECT and TEMP
//!   revoked from PUBLIC; each credential is a LOGIN role with CONNECT on `d` and
//!   privileges inside it. Objects are always owned by `d_owner` (admins' sessions start
//!   as `SET ROLE d_owner`), so default privileges cover every future table.

mod mysql;
mod names;
mod postgres;

pub use mysql::MysqlAdmin;
pub(crate) use mysql::owner_account;
pub use names::PhysicalName;
pub use postgres::PostgresAdmin;

use std::fmt;
use std::time::Duration;

use crate::cluster::ClusterKind;
use crate::error::{EngineError, EngineResult};

/// What a credential may do on its branch (the API's `role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialRole {
    /// SELECT only.
    Reader,
    /// INSERT, UPDATE and DELETE only (no SELECT, so no `WHERE` on columns either).
    Writer,
    /// Reader and writer together; no DDL.
    Readwriter,
    /// Everything, including DDL unless the branch has safe migrations.
    Admin,
}

/// A credential to create or re-apply: one server user bound to one branch database.
#[derive(Clone)]
pub struct CredentialSpec {
    /// The server user name.
    pub username: PhysicalName,
    /// The secret, as handed to the user. Never logged, never spliced into SQL.
    pub password: String,
    /// The one database the credential may reach.
    pub database: PhysicalName,
    /// What it may do there.
    pub role: CredentialRole,
    /// Whether DDL is allowed: `false` when the branch has safe migrations. Only
    /// matters for [`CredentialRole::Admin`]; the other roles never get DDL.
    pub ddl_allowed: bool,
}

impl fmt::Debug for CredentialSpec {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password stays out of logs and panic messages.
        formatter
            .debug_struct("CredentialSpec")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("database", &self.database)
            .field("role", &self.role)
            .field("ddl_allowed", &self.ddl_allowed)
            .finish()
    }
}

impl CredentialSpec {
    /// Whether this credential may change the schema.
    pub(crate) fn has_ddl(&self) -> bool {
        self.role == CredentialRole::Admin && self.ddl_allowed
    }

    /// Refuses a spec the servers could not store faithfully.
    pub(crate) fn validate(&self) -> EngineResult<()> {
        validate_password(&self.password)
    }
}

/// Refuses passwords that are empty or hold a NUL byte (which PostgreSQL's wire protocol
/// cannot carry, so the user could never log in).
pub(crate) fn validate_password(password: &str) -> EngineResult<()> {
    if password.is_empty() {
        return Err(EngineError::InvalidArgument {
            what: "password",
            reason: "it is empty",
        });
    }
    if password.contains('\0') {
        return Err(EngineError::InvalidArgument {
            what: "password",
            reason: "it contains a NUL character",
        });
    }
    Ok(())
}

/// The kind of a schema object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemaObjectKind {
    /// A table (MariaDB: also a sequence; PostgreSQL: also a partitioned table).
    Table,
    /// A view (PostgreSQL: also a materialized view).
    View,
}

/// One table or view of a database with its definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaObject {
    /// The object's name (not quoted).
    pub name: String,
    /// Table or view.
    pub kind: SchemaObjectKind,
    /// The CREATE statement. MariaDB: the server's `SHOW CREATE` text without the
    /// `AUTO_INCREMENT=N` table option, view definers, or the database's own name as a
    /// qualifier. PostgreSQL: a `CREATE TABLE` rebuilt from `pg_catalog` (columns,
    /// constraints) followed by its other indexes, or `CREATE VIEW ... AS` the server's
    /// view definition. Either way it does not depend on the database's name, so two
    /// branches with the same schema give equal definitions.
    pub definition: String,
}

/// One connection pool to a cluster's admin account.
#[derive(Debug)]
pub enum ClusterAdmin {
    /// A MariaDB cluster.
    Mysql(MysqlAdmin),
    /// A PostgreSQL cluster.
    Postgres(PostgresAdmin),
}

/// Forwards a call to the engine's implementation.
macro_rules! dispatch {
    ($self:ident, $admin:ident => $call:expr) => {
        match $self {
            ClusterAdmin::Mysql($admin) => $call,
            ClusterAdmin::Postgres($admin) => $call,
        }
    };
}

/// How long opening a connection to a cluster may take unless configured otherwise
/// (`[clusters] connect_timeout_seconds`).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl ClusterAdmin {
    /// Connects to the cluster with its admin DSN (`mysql://...` or `postgres://...`)
    /// and checks that it answers, with [`DEFAULT_CONNECT_TIMEOUT`].
    pub async fn connect(kind: ClusterKind, admin_url: &str) -> EngineResult<Self> {
        Self::connect_with_timeout(kind, admin_url, DEFAULT_CONNECT_TIMEOUT).await
    }

    /// Connects as [`ClusterAdmin::connect`] does; every connection it opens, now or
    /// later, must be ready within `connect_timeout` or fails with
    /// [`EngineError::Timeout`].
    pub async fn connect_with_timeout(
        kind: ClusterKind,
        admin_url: &str,
        connect_timeout: Duration,
    ) -> EngineResult<Self> {
        Ok(match kind {
            ClusterKind::Mysql => {
                ClusterAdmin::Mysql(MysqlAdmin::connect(admin_url, connect_timeout).await?)
            }
            ClusterKind::Postgresql => {
                ClusterAdmin::Postgres(PostgresAdmin::connect(admin_url, connect_timeout).await?)
            }
        })
    }

    /// The kind of cluster.
    pub fn kind(&self) -> ClusterKind {
        match self {
            ClusterAdmin::Mysql(_) => ClusterKind::Mysql,
            ClusterAdmin::Postgres(_) => ClusterKind::Postgresql,
        }
    }

    /// Closes the admin connections (dropping the handle closes them too, less politely).
    pub async fn disconnect(self) -> EngineResult<()> {
        dispatch!(self, admin => admin.disconnect().await)
    }

    /// Checks that the server answers a query.
    pub async fn ping(&self) -> EngineResult<()> {
        dispatch!(self, admin => admin.ping().await)
    }

    /// Whether database `db` exists.
    pub async fn database_exists(&self, db: &PhysicalName) -> EngineResult<bool> {
        dispatch!(self, admin => admin.database_exists(db).await)
    }

    /// Creates database `db` with its owner (idempotent).
    pub async fn create_database(&self, db: &PhysicalName) -> EngineResult<()> {
        dispatch!(self, admin => admin.create_database(db).await)
    }

    /// Drops database `db` and its owner, cutting its sessions (idempotent).
    pub async fn drop_database(&self, db: &PhysicalName) -> EngineResult<()> {
        dispatch!(self, admin => admin.drop_database(db).await)
    }

    /// Copies the schema (no rows) of `from` into `to`: tables with their columns, keys,
    /// indexes, checks and foreign keys, then views; counters start from 1. Safe to
    /// repeat. MariaDB (DDL is not transactional) creates only what the existing `to`
    /// lacks, so an interrupted copy is finished. PostgreSQL (re)creates `to` from a
    /// schema-only template of `from` and marks it as copied in the transaction that
    /// hands its objects to `to`'s owner, so a repeat finds the mark and does nothing.
    /// Fails with [`EngineError::NotFound`] if `from` (or, on MariaDB, `to`) is missing.
    pub async fn copy_schema(&self, from: &PhysicalName, to: &PhysicalName) -> EngineResult<()> {
        dispatch!(self, admin => admin.copy_schema(from, to).await)
    }

    /// Whether [`Self::copy_schema`] makes `to` itself, so that creating `to` before it is
    /// wasted work (PostgreSQL copies a template database).
    pub fn copy_schema_creates_target(&self) -> bool {
        matches!(self, ClusterAdmin::Postgres(_))
    }

    /// The tables and views of `db`, sorted by name.
    pub async fn schema(&self, db: &PhysicalName) -> EngineResult<Vec<SchemaObject>> {
        dispatch!(self, admin => admin.schema(db).await)
    }

    /// The names of the tables of `db` (no views), sorted.
    pub async fn table_names(&self, db: &PhysicalName) -> EngineResult<Vec<String>> {
        dispatch!(self, admin => admin.table_names(db).await)
    }

    /// Creates the credential, or brings an existing one to the spec: password, grants,
    /// DDL rights (idempotent).
    pub async fn create_credential(&self, spec: &CredentialSpec) -> EngineResult<()> {
        dispatch!(self, admin => admin.create_credential(spec).await)
    }

    /// Drops the credential of database `db` and kills its sessions (idempotent). What
    /// it created keeps working: PostgreSQL objects it owns go to `<db>_owner`, MariaDB
    /// views it defined get the owner account as definer.
    pub async fn drop_credential(
        &self,
        username: &PhysicalName,
        db: &PhysicalName,
    ) -> EngineResult<()> {
        dispatch!(self, admin => admin.drop_credential(username, db).await)
    }

    /// Whether a credential (server user or role) named `username` exists.
    pub async fn credential_exists(&self, username: &PhysicalName) -> EngineResult<bool> {
        dispatch!(self, admin => admin.credential_exists(username).await)
    }

    /// Re-applies the credential's grants for `spec.ddl_allowed` (safe migrations were
    /// toggled). When DDL is taken away from an admin its open sessions are killed,
    /// because both servers let a session keep rights it already holds.
    pub async fn set_ddl_allowed(&self, spec: &CredentialSpec) -> EngineResult<()> {
        dispatch!(self, admin => admin.set_ddl_allowed(spec).await)
    }

    /// The schema of `db`, introspected into the schema engine's model.
    pub async fn introspect(&self, db: &PhysicalName) -> EngineResult<dbplane_schema::Schema> {
        dispatch!(self, admin => admin.introspect(db).await)
    }

    /// Settings and rights this server lacks for dbplane; empty when it is usable.
    pub async fn requirement_problems(&self) -> EngineResult<Vec<String>> {
        dispatch!(self, admin => admin.requirement_problems().await)
    }

    /// Locks or unlocks a credential's logins (ttl expiry and renewal); idempotent.
    pub async fn set_login_enabled(
        &self,
        username: &PhysicalName,
        enabled: bool,
    ) -> EngineResult<()> {
        dispatch!(self, admin => admin.set_login_enabled(username, enabled).await)
    }

    /// Replaces the password of an existing credential.
    pub async fn set_password(&self, username: &PhysicalName, password: &str) -> EngineResult<()> {
        dispatch!(self, admin => admin.set_password(username, password).await)
    }

    /// The databases whose names start with `prefix`, sorted.
    pub async fn list_databases_with_prefix(&self, prefix: &str) -> EngineResult<Vec<String>> {
        dispatch!(self, admin => admin.list_databases_with_prefix(prefix).await)
    }

    /// The credentials (login users, not database owners) whose names start with
    /// `prefix`, sorted.
    pub async fn list_credentials_with_prefix(&self, prefix: &str) -> EngineResult<Vec<String>> {
        dispatch!(self, admin => admin.list_credentials_with_prefix(prefix).await)
    }

    /// MariaDB: the stored password hash of each credential account starting with
    /// `prefix` (the connection edge verifies logins against them). PostgreSQL: none (its
    /// branches are reached directly).
    pub async fn credential_hashes(&self, prefix: &str) -> EngineResult<Vec<(String, String)>> {
        match self {
            ClusterAdmin::Mysql(admin) => admin.credential_hashes(prefix).await,
            ClusterAdmin::Postgres(_) => Ok(Vec::new()),
        }
    }

    /// The database owners (MariaDB locked accounts, PostgreSQL NOLOGIN roles) whose names
    /// start with `prefix`, sorted: with [`Self::list_databases_with_prefix`], proof that
    /// a dropped database left nothing behind.
    pub async fn list_owners_with_prefix(&self, prefix: &str) -> EngineResult<Vec<String>> {
        dispatch!(self, admin => admin.list_owners_with_prefix(prefix).await)
    }
}
