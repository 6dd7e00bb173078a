//! Physical operations on a PostgreSQL cluster: connections and databases. Credentials
//! are in [`credentials`], schema copy in [`dump`], introspection in [`schema`].
//!
//! One connection to the maintenance database (the admin URL's, normally `postgres`) is
//! kept and shared for single statements; it is reopened when the server restarted.
//! Work inside a branch database needs a connection to that database, opened for the
//! operation and closed after it: keeping them would pin a backend per branch and make
//! every DROP DATABASE terminate our own sessions.

mod credentials;
mod dump;
mod schema;
mod template;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

use super::{PhysicalName, SchemaObject};
use crate::cluster::ClusterKind;
use crate::error::{EngineError, EngineResult};
use dbplane_schema::quote::postgres_ident;

const KIND: ClusterKind = ClusterKind::Postgresql;
/// The database that `initdb` makes and that a DSN without one means.
const DEFAULT_MAINTENANCE_DATABASE: &str = "postgres";
/// Every PostgreSQL cluster has it; CREATE DATABASE copies it unless told otherwise.
const TEMPLATE_DATABASE: &str = "template1";

/// Connections to a PostgreSQL cluster's admin (superuser) account.
pub struct PostgresAdmin {
    /// Boxed: it is large, and [`super::ClusterAdmin`] holds this or a small pool.
    config: Box<Config>,
    maintenance_database: String,
    /// Longest a new connection may take, TCP and startup handshake together (the
    /// driver's own `connect_timeout` covers only the TCP part).
    connect_timeout: Duration,
    maintenance: tokio::sync::Mutex<Option<Arc<Client>>>,
    /// `pg_dump`, found on first use.
    pg_dump: OnceLock<std::path::PathBuf>,
    /// Held while a schema template is rebuilt or copied (see [`template`]).
    template_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for PostgresAdmin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Config's Debug redacts the password.
        formatter
            .debug_struct("PostgresAdmin")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Maps a driver error.
/// The server's own message when it refused (tokio-postgres shows only "db error" for
/// those), the client's error otherwise.
fn sql(error: tokio_postgres::Error) -> EngineError {
    match error.as_db_error() {
        Some(refusal) => EngineError::sql(KIND, refusal.clone()),
        None => EngineError::sql(KIND, error),
    }
}

/// Whether `error` is the server refusing with `state`.
fn is_state(error: &tokio_postgres::Error, state: &SqlState) -> bool {
    error.code() == Some(state)
}

impl PostgresAdmin {
    /// Parses `admin_url` (`postgres://postgres@host:port/postgres`) and connects. Every
    /// connection it opens must be ready within `connect_timeout`.
    pub async fn connect(admin_url: &str, connect_timeout: Duration) -> EngineResult<Self> {
        let config: Config = admin_url.parse().map_err(sql)?;
        let maintenance_database = config
            .get_dbname()
            .unwrap_or(DEFAULT_MAINTENANCE_DATABASE)
            .to_owned();
        let admin = PostgresAdmin {
            config: Box::new(config),
            maintenance_database,
            connect_timeout,
            maintenance: tokio::sync::Mutex::new(None),
            pg_dump: OnceLock::new(),
            template_lock: tokio::sync::Mutex::new(()),
        };
        admin.ping().await?;
        Ok(admin)
    }

    /// Closes the kept connection.
    pub async fn disconnect(self) -> EngineResult<()> {
        drop(self.maintenance.lock().await.take());
        Ok(())
    }

    /// The shared connection to the maintenance database, reopened if it was lost.
    async fn maintenance(&self) -> EngineResult<Arc<Client>> {
        let mut kept = self.maintenance.lock().await;
        if let Some(client) = kept.as_ref().filter(|client| !client.is_closed()) {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(self.open(&self.maintenance_database).await?);
        *kept = Some(Arc::clone(&client));
        Ok(client)
    }

    /// A new connection to database `db`, closed when dropped. Its lock waits are bounded
    /// (`lock_timeout`): a statement of the platform's waiting behind a user's long
    /// transaction would make every later session of that table queue behind it; it fails
    /// instead and its job runs it again later.
    async fn open(&self, db: &str) -> EngineResult<Client> {
        let mut config = self.config.clone();
        config
            .dbname(db)
            .options("-c lock_timeout=5s")
            .connect_timeout(self.connect_timeout);
        let (client, connection) =
            tokio::time::timeout(self.connect_timeout, config.connect(NoTls))
                .await
                .map_err(|_elapsed| EngineError::Timeout {
                    kind: KIND,
                    action: "accept a connection",
                    after: self.connect_timeout,
                })?
                .map_err(sql)?;
        // The connection future does the I/O; it ends when the client is dropped or the
        // server goes away, which the next user of the client will notice.
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "admin connection to postgres ended");
            }
        });
        Ok(client)
    }

    /// Checks that the server answers.
    pub async fn ping(&self) -> EngineResult<()> {
        let client = self.maintenance().await?;
        client.simple_query("SELECT 1").await.map_err(sql)?;
        Ok(())
    }

    /// What this server lacks for dbplane (logical WAL for change capture; rights to
    /// create databases and roles).
    pub async fn requirement_problems(&self) -> EngineResult<Vec<String>> {
        let client = self.maintenance().await?;
        let mut problems = Vec::new();
        let wal_level: String = client
            .query_one("SELECT current_setting('wal_level')", &[])
            .await
            .map_err(sql)?
            .get(0);
        if wal_level != "logical" {
            problems.push(format!("wal_level is {wal_level}, not logical"));
        }
        let rights = client
            .query_one(
                "SELECT rolsuper OR (rolcreatedb AND rolcreaterole) FROM pg_roles WHERE rolname = current_user",
                &[],
            )
            .await
            .map_err(sql)?;
        if !rights.get::<_, bool>(0) {
            problems
                .push("the admin role needs SUPERUSER (or CREATEDB and CREATEROLE)".to_string());
        }
        Ok(problems)
    }

    /// The `public` schema of `db` as the schema engine models it.
    pub async fn introspect(&self, db: &PhysicalName) -> EngineResult<dbplane_schema::Schema> {
        let client = self.open_existing(db).await?;
        dbplane_schema::introspect::postgres(&client, "public")
            .await
            .map_err(|error| EngineError::Introspect {
                kind: ClusterKind::Postgresql,
                detail: error.to_string(),
            })
    }

    /// Whether database `db` exists.
    pub async fn database_exists(&self, db: &PhysicalName) -> EngineResult<bool> {
        let client = self.maintenance().await?;
        database_exists(&client, db).await
    }

    /// Creates the owner role `<db>_owner` (NOLOGIN) and database `db` owned by it, and
    /// closes it to everyone else (see [`close_to_public`]).
    pub async fn create_database(&self, db: &PhysicalName) -> EngineResult<()> {
        let owner = db.owner()?;
        let client = self.maintenance().await?;
        ensure_owner_role(&client, &owner).await?;
        if !database_exists(&client, db).await? {
            // template0: a branch starts clean even if someone changed template1.
            let create = format!(
                "CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'",
                postgres_ident(db.as_str()),
                postgres_ident(owner.as_str())
            );
            match client.batch_execute(&create).await {
                // Created concurrently by another run of the same step: done.
                Err(error) if is_state(&error, &SqlState::DUPLICATE_DATABASE) => {}
                result => result.map_err(sql)?,
            }
        }
        let inside = self.open(db.as_str()).await?;
        close_to_public(self, &client, &inside, db).await
    }

    /// Drops database `db` (terminating its sessions), its schema template, and then its
    /// owner role.
    pub async fn drop_database(&self, db: &PhysicalName) -> EngineResult<()> {
        let owner = db.owner()?;
        let client = self.maintenance().await?;
        template::drop_template_of(&client, db).await?;
        // FORCE (PostgreSQL 13+) terminates the database's sessions first; without it
        // a single idle session makes the DROP fail.
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                postgres_ident(db.as_str())
            ))
            .await
            .map_err(sql)?;
        client
            .batch_execute(&format!(
                "DROP ROLE IF EXISTS {}",
                postgres_ident(owner.as_str())
            ))
            .await
            .map_err(sql)
    }

    /// Creates `to` as a copy of `from`'s schema, atomically (see `template::copy_schema`).
    pub async fn copy_schema(&self, from: &PhysicalName, to: &PhysicalName) -> EngineResult<()> {
        template::copy_schema(self, from, to).await
    }

    /// The tables and views of `db`'s `public` schema, sorted by name.
    pub async fn schema(&self, db: &PhysicalName) -> EngineResult<Vec<SchemaObject>> {
        let client = self.open_existing(db).await?;
        schema::schema(&client).await
    }

    /// The tables of `db`'s `public` schema, sorted.
    pub async fn table_names(&self, db: &PhysicalName) -> EngineResult<Vec<String>> {
        let client = self.open_existing(db).await?;
        schema::table_names(&client).await
    }

    /// Opens a connection to `db`, failing with [`EngineError::NotFound`] if it does
    /// not exist.
    async fn open_existing(&self, db: &PhysicalName) -> EngineResult<Client> {
        match self.open(db.as_str()).await {
            Err(EngineError::Sql { source, .. })
                if source
                    .downcast_ref::<tokio_postgres::error::DbError>()
                    .is_some_and(|refusal| refusal.code() == &SqlState::INVALID_CATALOG_NAME) =>
            {
                Err(missing_database(db))
            }
            result => result,
        }
    }

    /// The databases starting with `prefix`, sorted.
    pub async fn list_databases_with_prefix(&self, prefix: &str) -> EngineResult<Vec<String>> {
        let client = self.maintenance().await?;
        let rows = client
            .query("SELECT datname FROM pg_catalog.pg_database", &[])
            .await
            .map_err(sql)?;
        Ok(with_prefix(
            rows.iter().map(|row| row.get::<_, String>(0)),
            prefix,
        ))
    }

    /// The credential roles starting with `prefix`, sorted: every role but the owners
    /// (NOLOGIN, `..._owner`), including a credential left NOLOGIN by an interrupted
    /// drop.
    pub async fn list_credentials_with_prefix(&self, prefix: &str) -> EngineResult<Vec<String>> {
        self.roles(prefix, false).await
    }

    /// The database owner roles starting with `prefix`, sorted.
    pub async fn list_owners_with_prefix(&self, prefix: &str) -> EngineResult<Vec<String>> {
        self.roles(prefix, true).await
    }

    async fn roles(&self, prefix: &str, owners: bool) -> EngineResult<Vec<String>> {
        let client = self.maintenance().await?;
        let rows = client
            .query(
                "SELECT rolname FROM pg_catalog.pg_roles
                 WHERE (NOT rolcanlogin AND rolname LIKE '%\\_owner') = $1",
                &[&owners],
            )
            .await
            .map_err(sql)?;
        Ok(with_prefix(
            rows.iter().map(|row| row.get::<_, String>(0)),
            prefix,
        ))
    }
}

/// Closes database `db` to everyone but its owner role.
///
/// Also revokes CONNECT on the maintenance database and `template1` from PUBLIC:
/// otherwise any credential could log in there, list every branch and, as an admin
/// (member of its database's owner), even DROP its own database from there.
async fn close_to_public(
    admin: &PostgresAdmin,
    maintenance: &Client,
    inside: &Client,
    db: &PhysicalName,
) -> EngineResult<()> {
    let owner = db.owner()?;
    maintenance
        .batch_execute(&format!(
            "REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC;
             REVOKE CONNECT, TEMPORARY ON DATABASE {}, {} FROM PUBLIC;",
            postgres_ident(db.as_str()),
            postgres_ident(&admin.maintenance_database),
            postgres_ident(TEMPLATE_DATABASE),
        ))
        .await
        .map_err(sql)?;
    // PostgreSQL 15+ already has this layout (public owned by pg_database_owner,
    // no CREATE for PUBLIC); older servers give PUBLIC CREATE on a public schema
    // owned by the bootstrap superuser.
    let owner_literal = dbplane_schema::quote::postgres_string(owner.as_str());
    inside
        .batch_execute(&format!(
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC;
             DO $$ BEGIN
               IF (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public')
                  NOT IN ('pg_database_owner', {owner_literal}) THEN
                 ALTER SCHEMA public OWNER TO {owner};
               END IF;
             END $$;",
            owner = postgres_ident(owner.as_str()),
        ))
        .await
        .map_err(sql)
}

async fn database_exists(client: &Client, db: &PhysicalName) -> EngineResult<bool> {
    let row = client
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
            &[&db.as_str()],
        )
        .await
        .map_err(sql)?;
    Ok(row.is_some())
}

async fn role_exists(client: &Client, role: &PhysicalName) -> EngineResult<bool> {
    let row = client
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&role.as_str()],
        )
        .await
        .map_err(sql)?;
    Ok(row.is_some())
}

/// Creates the NOLOGIN owner role unless it exists.
async fn ensure_owner_role(client: &Client, owner: &PhysicalName) -> EngineResult<()> {
    if role_exists(client, owner).await? {
        return Ok(());
    }
    let create = format!("CREATE ROLE {} NOLOGIN", postgres_ident(owner.as_str()));
    match client.batch_execute(&create).await {
        Err(error) if is_state(&error, &SqlState::DUPLICATE_OBJECT) => Ok(()),
        result => result.map_err(sql),
    }
}

fn with_prefix(names: impl Iterator<Item = String>, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = names.filter(|name| name.starts_with(prefix)).collect();
    names.sort();
    names
}

fn missing_database(db: &PhysicalName) -> EngineError {
    EngineError::NotFound {
        kind: KIND,
        what: format!("database `{db}`"),
    }
}

fn missing_credential(username: &PhysicalName) -> EngineError {
    EngineError::NotFound {
        kind: KIND,
        what: format!("credential `{username}`"),
    }
}
