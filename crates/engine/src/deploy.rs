//! The MariaDB side of a deployment that is not an online schema change: creating tables
//! and views at once, lazy drops (a rename to an artifact table, so a revert can bring the
//! table back), instant `ALTER`s, and reading table definitions to tell whether a step
//! already ran. Every call is idempotent: a deploy job that crashed after the side effect
//! and before saving runs it again and must find it done. The row copy and the cutover of
//! changed tables are [`crate::online_ddl`].

use dbplane_schema::quote::mariadb_ident;

use crate::locks::{DEFAULT_BUDGET, bounded_ddl};
use dbplane_schema::{Dialect, Schema};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool};

use crate::online_ddl::{OnlineDdl, OnlineDdlError};
use crate::physical::PhysicalName;

/// MariaDB's "ALGORITHM=INSTANT is not supported for this operation".
const ER_ALTER_OPERATION_NOT_SUPPORTED: u16 = 1846;
const ER_ALTER_OPERATION_NOT_SUPPORTED_REASON: u16 = 1845;

/// Errors of the deploy engine.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("query on MariaDB failed: {0}")]
    Sql(#[from] mysql_async::Error),
    #[error("invalid deploy: {0}")]
    Invalid(String),
    #[error("reading the schema failed: {0}")]
    Introspect(String),
    #[error(transparent)]
    OnlineDdl(#[from] OnlineDdlError),
}

pub type DeployResult<T> = Result<T, DeployError>;

/// Whether a server error is worth another try: lock wait timeout, deadlock, an
/// interrupted query, or a lost connection (anything not from the server).
pub fn transient_sql(error: &mysql_async::Error) -> bool {
    match error {
        mysql_async::Error::Server(server) => [1205, 1213, 1317, 1927].contains(&server.code),
        _ => true,
    }
}

pub use crate::artifacts::is_deploy_artifact;

/// The artifact a lazily dropped table is renamed to.
pub fn dropped_table_name(table: &str) -> String {
    crate::artifacts::artifact_name(table, crate::artifacts::Artifact::Dropped)
}

/// The canonical `CREATE` of one table of `schema` (what two equal tables share).
pub fn table_definition(schema: &Schema, table: &str) -> Option<String> {
    let table = schema.tables.get(table)?;
    let mut single = Schema::new();
    single.add_table(table.clone());
    Some(dbplane_schema::ddl::create_statements(&single, Dialect::Mariadb).join(";\n"))
}

/// Runs deploy steps on one MariaDB server through its admin account.
pub struct DeployEngine {
    pool: Pool,
    /// The online schema change engine on the same server.
    pub online: OnlineDdl,
}

impl DeployEngine {
    /// Connects lazily with the admin DSN (`mysql://root@127.0.0.1:3306/`).
    pub fn new(admin_url: &str) -> DeployResult<Self> {
        let opts = Opts::from_url(admin_url).map_err(|e| DeployError::Invalid(e.to_string()))?;
        let opts = OptsBuilder::from_opts(opts).prefer_socket(false);
        Ok(Self {
            pool: Pool::new(opts),
            online: OnlineDdl::new(admin_url)?,
        })
    }

    async fn conn_in(&self, db: &PhysicalName) -> DeployResult<Conn> {
        let mut conn = self.pool.get_conn().await?;
        conn.query_drop(format!("USE {}", mariadb_ident(db.as_str())))
            .await?;
        Ok(conn)
    }

    /// Whether a table or view `name` exists in `db`.
    pub async fn relation_exists(&self, db: &PhysicalName, name: &str) -> DeployResult<bool> {
        let mut conn = self.pool.get_conn().await?;
        let count: Option<u64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (db.as_str(), name),
            )
            .await?;
        Ok(count.unwrap_or(0) > 0)
    }

    /// Runs a `CREATE TABLE` unless the table exists.
    pub async fn create_table(
        &self,
        db: &PhysicalName,
        table: &str,
        statement: &str,
    ) -> DeployResult<()> {
        if self.relation_exists(db, table).await? {
            return Ok(());
        }
        let mut conn = self.conn_in(db).await?;
        bounded_ddl(&mut conn, statement, DEFAULT_BUDGET).await?;
        Ok(())
    }

    /// (Re)creates a view with the database's owner as definer (`crate::views`): views
    /// hold no data, so dropping first is harmless.
    pub async fn create_view(
        &self,
        db: &PhysicalName,
        view: &str,
        statement: &str,
    ) -> DeployResult<()> {
        let statement = crate::views::owned_by(statement, db)
            .map_err(|error| DeployError::Invalid(error.to_string()))?;
        let mut conn = self.conn_in(db).await?;
        let drop = format!("DROP VIEW IF EXISTS {}", mariadb_ident(view));
        bounded_ddl(&mut conn, &drop, DEFAULT_BUDGET).await?;
        bounded_ddl(&mut conn, &statement, DEFAULT_BUDGET).await?;
        Ok(())
    }

    pub async fn drop_view(&self, db: &PhysicalName, view: &str) -> DeployResult<()> {
        let mut conn = self.conn_in(db).await?;
        let drop = format!("DROP VIEW IF EXISTS {}", mariadb_ident(view));
        bounded_ddl(&mut conn, &drop, DEFAULT_BUDGET).await?;
        Ok(())
    }

    /// Renames `from` to `to` unless that already happened (`from` gone, `to` there).
    pub async fn rename_once(&self, db: &PhysicalName, from: &str, to: &str) -> DeployResult<()> {
        let from_exists = self.relation_exists(db, from).await?;
        let to_exists = self.relation_exists(db, to).await?;
        match (from_exists, to_exists) {
            (false, true) => Ok(()),
            (true, false) => {
                let mut conn = self.conn_in(db).await?;
                let rename = format!(
                    "RENAME TABLE {} TO {}",
                    mariadb_ident(from),
                    mariadb_ident(to)
                );
                bounded_ddl(&mut conn, &rename, DEFAULT_BUDGET).await?;
                Ok(())
            }
            (true, true) => Err(DeployError::Invalid(format!(
                "both `{from}` and `{to}` exist: remove the leftover `{to}` first"
            ))),
            (false, false) => Err(DeployError::Invalid(format!(
                "neither `{from}` nor `{to}` exists"
            ))),
        }
    }

    /// A lazy drop: the table becomes the artifact `_<table>_dbp_drop`.
    pub async fn lazy_drop(&self, db: &PhysicalName, table: &str) -> DeployResult<()> {
        self.rename_once(db, table, &dropped_table_name(table))
            .await
    }

    /// Undoes a lazy drop (revert).
    pub async fn restore_dropped(&self, db: &PhysicalName, table: &str) -> DeployResult<()> {
        self.rename_once(db, &dropped_table_name(table), table)
            .await
    }

    pub async fn drop_table_if_exists(&self, db: &PhysicalName, table: &str) -> DeployResult<()> {
        let mut conn = self.conn_in(db).await?;
        let drop = format!("DROP TABLE IF EXISTS {}", mariadb_ident(table));
        bounded_ddl(&mut conn, &drop, DEFAULT_BUDGET).await?;
        Ok(())
    }

    /// Runs `statement` (an `ALTER TABLE`) as `ALGORITHM=INSTANT`; false when MariaDB
    /// refuses to do it instantly (nothing changed then).
    pub async fn instant_alter(&self, db: &PhysicalName, statement: &str) -> DeployResult<bool> {
        let mut conn = self.conn_in(db).await?;
        let instant = format!("{statement}, ALGORITHM=INSTANT");
        match bounded_ddl(&mut conn, &instant, DEFAULT_BUDGET).await {
            Ok(()) => Ok(true),
            Err(mysql_async::Error::Server(error))
                if error.code == ER_ALTER_OPERATION_NOT_SUPPORTED
                    || error.code == ER_ALTER_OPERATION_NOT_SUPPORTED_REASON =>
            {
                Ok(false)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The schema of `db`, without the artifacts of deployments.
    pub async fn introspect(&self, db: &PhysicalName) -> DeployResult<Schema> {
        let mut schema = self.introspect_all(db).await?;
        schema.tables.retain(|name, _| !is_deploy_artifact(name));
        Ok(schema)
    }

    /// The schema of `db` with every table, artifacts' names included: a head branch,
    /// where no deployment runs, so a table named like an artifact is the user's (and
    /// lint reports it).
    pub async fn introspect_all(&self, db: &PhysicalName) -> DeployResult<Schema> {
        let mut conn = self.pool.get_conn().await?;
        dbplane_schema::introspect::mariadb(&mut conn, db.as_str())
            .await
            .map_err(|e| DeployError::Introspect(e.to_string()))
    }

    /// Builds `statements` into a fresh scratch database `db` and reads its schema back
    /// (the merge base of a three-way check), then drops it. Safe to repeat.
    pub async fn materialize(
        &self,
        db: &PhysicalName,
        statements: &[String],
    ) -> DeployResult<Schema> {
        let mut conn = self.pool.get_conn().await?;
        conn.query_drop(format!(
            "DROP DATABASE IF EXISTS {}",
            mariadb_ident(db.as_str())
        ))
        .await?;
        conn.query_drop(format!(
            "CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            mariadb_ident(db.as_str())
        ))
        .await?;
        drop(conn);
        let built = async {
            let mut conn = self.conn_in(db).await?;
            conn.query_drop("SET SESSION foreign_key_checks = 0")
                .await?;
            for statement in statements {
                conn.query_drop(statement.as_str()).await?;
            }
            drop(conn);
            self.introspect(db).await
        }
        .await;
        let mut conn = self.pool.get_conn().await?;
        conn.query_drop(format!(
            "DROP DATABASE IF EXISTS {}",
            mariadb_ident(db.as_str())
        ))
        .await?;
        built
    }

    /// Kills the sessions with an open transaction in `db` (other than ours): what blocks
    /// a cutover lock. Used by the forced cutover (semantics.md §8.4).
    pub async fn kill_transactions_in(&self, db: &PhysicalName) -> DeployResult<u64> {
        let mut conn = self.pool.get_conn().await?;
        let ids: Vec<u64> = conn
            .exec(
                "SELECT t.trx_mysql_thread_id FROM information_schema.INNODB_TRX t \
                 JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
                 WHERE p.DB = ? AND p.ID <> CONNECTION_ID()",
                (db.as_str(),),
            )
            .await?;
        let mut killed = 0;
        for id in ids {
            if conn.query_drop(format!("KILL {id}")).await.is_ok() {
                killed += 1;
            }
        }
        Ok(killed)
    }

    /// Data and index bytes of each of `tables` (missing ones are left out).
    pub async fn table_sizes(
        &self,
        db: &PhysicalName,
        tables: &[String],
    ) -> DeployResult<Vec<(String, u64)>> {
        let mut conn = self.pool.get_conn().await?;
        let mut sizes = Vec::new();
        for table in tables {
            let bytes: Option<u64> = conn
                .exec_first(
                    "SELECT DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES \
                     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                    (db.as_str(), table.as_str()),
                )
                .await?;
            if let Some(bytes) = bytes {
                sizes.push((table.clone(), bytes));
            }
        }
        Ok(sizes)
    }

    /// Closes the pooled connections.
    pub async fn disconnect(self) -> DeployResult<()> {
        self.pool.disconnect().await?;
        self.online.disconnect().await?;
        Ok(())
    }
}
