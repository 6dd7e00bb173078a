//! Physical operations on a MariaDB cluster: databases and credentials. Schema copy and
//! introspection live in [`schema`].
//!
//! Grants are at database level (`` `db`.* ``), with `_` escaped: in a database-level
//! GRANT it is a wildcard. Passwords never reach the server: users are created
//! `IDENTIFIED BY PASSWORD '<hash>'` (`mysql_native_password`) with the hash computed
//! here, so no binlog, general log or processlist ever holds one.

mod schema;

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};

use super::names::{mysql_account, mysql_grant_database};
use super::{CredentialRole, CredentialSpec, PhysicalName, SchemaObject, validate_password};
use crate::cluster::ClusterKind;
use crate::error::{EngineError, EngineResult};
use dbplane_schema::quote::{mariadb_ident, mariadb_string};

const KIND: ClusterKind = ClusterKind::Mysql;
/// Credentials may connect from anywhere; reaching the server is the network's business.
const CREDENTIAL_HOST: &str = "%";
/// Owner accounts are locked and never log in; `localhost` keeps them apart from
/// credentials, which are all `'...'@'%'`.
const OWNER_HOST: &str = "localhost";

/// `db`'s owner account, `'<db>_owner'@'localhost'`: the definer of its views.
pub(crate) fn owner_account(db: &PhysicalName) -> EngineResult<String> {
    Ok(mysql_account(&db.owner()?, OWNER_HOST))
}
/// Admin connections kept open (idle) and allowed at most.
const POOL_CONSTRAINTS: PoolConstraints = match PoolConstraints::new(1, 8) {
    Some(constraints) => constraints,
    None => panic!("1 <= 8"),
};

/// Every privilege MariaDB 10.11 knows at database level (what `ALL` grants there), so
/// whatever a role must not have can be revoked explicitly.
const DATABASE_PRIVILEGES: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "EVENT",
    "TRIGGER",
    "DELETE HISTORY",
];
const READ_PRIVILEGES: &[&str] = &["SELECT", "SHOW VIEW"];
const WRITE_PRIVILEGES: &[&str] = &["INSERT", "UPDATE", "DELETE"];

/// A pool of connections to a MariaDB cluster's admin account.
#[derive(Debug)]
pub struct MysqlAdmin {
    pool: Pool,
    /// Longest wait for a connection (the driver has no connect timeout of its own).
    connect_timeout: Duration,
}

/// A connection from `pool` within `timeout`: a server that accepts TCP and never
/// answers the handshake, or a pool whose connections all hang, fails instead of
/// waiting forever.
pub(super) async fn checkout(pool: &Pool, timeout: Duration) -> EngineResult<Conn> {
    match tokio::time::timeout(timeout, pool.get_conn()).await {
        Ok(connection) => connection.map_err(sql),
        Err(_elapsed) => Err(EngineError::Timeout {
            kind: KIND,
            action: "hand over a connection",
            after: timeout,
        }),
    }
}

/// Maps a driver error.
fn sql(error: impl std::error::Error + Send + Sync + 'static) -> EngineError {
    EngineError::sql(KIND, error)
}

impl MysqlAdmin {
    /// Opens the pool on `admin_url` (`mysql://root@host:port/`) and pings the server.
    /// Every connection the pool opens must be ready within `connect_timeout`.
    pub async fn connect(admin_url: &str, connect_timeout: Duration) -> EngineResult<Self> {
        let options = Opts::from_url(admin_url).map_err(sql)?;
        let options = OptsBuilder::from_opts(options)
            // Otherwise the driver switches to the unix socket it finds in @@socket,
            // which is wrong for a remote cluster and bypasses the configured host:port.
            .prefer_socket(false)
            .pool_opts(PoolOpts::default().with_constraints(POOL_CONSTRAINTS));
        let admin = MysqlAdmin {
            pool: Pool::new(options),
            connect_timeout,
        };
        admin.ping().await?;
        Ok(admin)
    }

    /// Closes every pooled connection.
    pub async fn disconnect(self) -> EngineResult<()> {
        self.pool.disconnect().await.map_err(sql)
    }

    async fn connection(&self) -> EngineResult<Conn> {
        checkout(&self.pool, self.connect_timeout).await
    }

    /// Checks that the server answers.
    pub async fn ping(&self) -> EngineResult<()> {
        let mut connection = self.connection().await?;
        connection.ping().await.map_err(sql)
    }

    /// What this server lacks for dbplane (binary log in ROW format with full images for
    /// change capture; rights to create databases and accounts and grant them).
    pub async fn requirement_problems(&self) -> EngineResult<Vec<String>> {
        let mut connection = self.connection().await?;
        let mut problems = Vec::new();
        let settings: Option<(String, String, String)> = connection
            .query_first("SELECT CAST(@@log_bin AS CHAR), @@binlog_format, @@binlog_row_image")
            .await
            .map_err(sql)?;
        if let Some((log_bin, format, image)) = settings {
            if log_bin != "1" && !log_bin.eq_ignore_ascii_case("ON") {
                problems
                    .push("the binary log is off (start the server with --log-bin)".to_string());
            }
            if !format.eq_ignore_ascii_case("ROW") {
                problems.push(format!("binlog_format is {format}, not ROW"));
            }
            if !image.eq_ignore_ascii_case("FULL") {
                problems.push(format!("binlog_row_image is {image}, not FULL"));
            }
        }
        let grants: Vec<String> = connection.query("SHOW GRANTS").await.map_err(sql)?;
        let global_all = grants
            .iter()
            .any(|g| g.contains("ALL PRIVILEGES ON *.*") && g.contains("WITH GRANT OPTION"));
        if !global_all {
            problems.push(
                "the admin account needs ALL PRIVILEGES ON *.* WITH GRANT OPTION to create branches and accounts"
                    .to_string(),
            );
        }
        Ok(problems)
    }

    /// The schema of `db` as the schema engine models it.
    pub async fn introspect(&self, db: &PhysicalName) -> EngineResult<dbplane_schema::Schema> {
        let mut connection = self.connection().await?;
        dbplane_schema::introspect::mariadb(&mut connection, db.as_str())
            .await
            .map_err(|error| EngineError::Introspect {
                kind: ClusterKind::Mysql,
                detail: error.to_string(),
            })
    }

    /// Whether database `db` exists.
    pub async fn database_exists(&self, db: &PhysicalName) -> EngineResult<bool> {
        let mut connection = self.connection().await?;
        database_exists(&mut connection, db.as_str()).await
    }

    /// Creates `db` (utf8mb4, utf8mb4_unicode_ci) and its locked owner account.
    pub async fn create_database(&self, db: &PhysicalName) -> EngineResult<()> {
        let owner = mysql_account(&db.owner()?, OWNER_HOST);
        let mut connection = self.connection().await?;
        // Each statement is idempotent on its own, so a crash between two is harmless.
        for statement in [
            format!(
                "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                mariadb_ident(db.as_str())
            ),
            format!("CREATE USER IF NOT EXISTS {owner} ACCOUNT LOCK"),
            format!(
                "GRANT ALL PRIVILEGES ON {}.* TO {owner}",
                mysql_grant_database(db)
            ),
        ] {
            connection.query_drop(statement).await.map_err(sql)?;
        }
        Ok(())
    }

    /// Kills the sessions using `db`, drops it and its owner account.
    pub async fn drop_database(&self, db: &PhysicalName) -> EngineResult<()> {
        let owner = mysql_account(&db.owner()?, OWNER_HOST);
        let mut connection = self.connection().await?;
        // A session inside an open transaction on one of its tables would make DROP
        // DATABASE wait for its metadata lock.
        let sessions: Vec<u64> = connection
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                (db.as_str(),),
            )
            .await
            .map_err(sql)?;
        for id in sessions {
            kill_session(&mut connection, id).await?;
        }
        connection
            .query_drop(format!(
                "DROP DATABASE IF EXISTS {}",
                mariadb_ident(db.as_str())
            ))
            .await
            .map_err(sql)?;
        connection
            .query_drop(format!("DROP USER IF EXISTS {owner}"))
            .await
            .map_err(sql)
    }

    /// Copies the schema of `from` into `to`, creating only what `to` lacks, tables on
    /// several sessions at once, then views (see `schema::copy_schema`).
    pub async fn copy_schema(&self, from: &PhysicalName, to: &PhysicalName) -> EngineResult<()> {
        schema::copy_schema(&self.pool, self.connect_timeout, from, to).await
    }

    /// The tables and views of `db`, sorted by name.
    pub async fn schema(&self, db: &PhysicalName) -> EngineResult<Vec<SchemaObject>> {
        let mut connection = self.connection().await?;
        schema::schema(&mut connection, db).await
    }

    /// The base tables of `db`, sorted.
    pub async fn table_names(&self, db: &PhysicalName) -> EngineResult<Vec<String>> {
        let mut connection = self.connection().await?;
        if !database_exists(&mut connection, db.as_str()).await? {
            return Err(missing_database(db));
        }
        let objects = schema::objects(&mut connection, db.as_str()).await?;
        Ok(objects
            .into_iter()
            .filter(|object| object.kind == schema::ObjectKind::Table)
            .map(|object| object.name)
            .collect())
    }

    /// Creates `'username'@'%'` or brings it to the spec (password, grants).
    pub async fn create_credential(&self, spec: &CredentialSpec) -> EngineResult<()> {
        spec.validate()?;
        let mut connection = self.connection().await?;
        let account = mysql_account(&spec.username, CREDENTIAL_HOST);
        let hash = password_hash(&spec.password);
        // IF NOT EXISTS then ALTER: the same two statements whether this is the first
        // run, a repeat, or a resume after a crash between them.
        for statement in [
            format!(
                "CREATE USER IF NOT EXISTS {account} IDENTIFIED BY PASSWORD {}",
                mariadb_string(&hash)
            ),
            format!(
                "ALTER USER {account} IDENTIFIED BY PASSWORD {}",
                mariadb_string(&hash)
            ),
        ] {
            connection.query_drop(statement).await.map_err(sql)?;
        }
        apply_grants(&mut connection, spec).await
    }

    /// Hands the views it defined in `db` to the owner account, drops `'username'@'%'`,
    /// then kills its sessions (DROP USER leaves them open).
    pub async fn drop_credential(
        &self,
        username: &PhysicalName,
        db: &PhysicalName,
    ) -> EngineResult<()> {
        let mut connection = self.connection().await?;
        // Keyed by name, so this still finds them on a repeat after the DROP USER.
        schema::reassign_views(&mut connection, username, db).await?;
        let account = mysql_account(username, CREDENTIAL_HOST);
        // Drop first so that no new session can start while the old ones are killed.
        connection
            .query_drop(format!("DROP USER IF EXISTS {account}"))
            .await
            .map_err(sql)?;
        kill_user_sessions(&mut connection, username).await
    }

    /// Whether `'username'@'%'` exists.
    pub async fn credential_exists(&self, username: &PhysicalName) -> EngineResult<bool> {
        let mut connection = self.connection().await?;
        account_exists(&mut connection, username).await
    }

    /// Re-applies the grants for `spec.ddl_allowed`; an admin losing DDL has its
    /// sessions killed, since MariaDB applies database-level revokes to a session only
    /// at its next `USE`.
    pub async fn set_ddl_allowed(&self, spec: &CredentialSpec) -> EngineResult<()> {
        let mut connection = self.connection().await?;
        if !account_exists(&mut connection, &spec.username).await? {
            return Err(missing_credential(&spec.username));
        }
        apply_grants(&mut connection, spec).await?;
        if spec.role == CredentialRole::Admin && !spec.ddl_allowed {
            kill_user_sessions(&mut connection, &spec.username).await?;
        }
        Ok(())
    }

    /// Replaces the password of `'username'@'%'`.
    pub async fn set_password(&self, username: &PhysicalName, password: &str) -> EngineResult<()> {
        validate_password(password)?;
        let mut connection = self.connection().await?;
        if !account_exists(&mut connection, username).await? {
            return Err(missing_credential(username));
        }
        let hash = password_hash(password);
        let account = mysql_account(username, CREDENTIAL_HOST);
        connection
            .query_drop(format!(
                "ALTER USER {account} IDENTIFIED BY PASSWORD {}",
                mariadb_string(&hash)
            ))
            .await
            .map_err(sql)
    }

    /// Locks or unlocks an account (an expired credential keeps its grants and
    /// password, so renewing it only unlocks). Locking also ends its sessions.
    pub async fn set_login_enabled(
        &self,
        username: &PhysicalName,
        enabled: bool,
    ) -> EngineResult<()> {
        let mut connection = self.connection().await?;
        if !account_exists(&mut connection, username).await? {
            return Err(missing_credential(username));
        }
        let account = mysql_account(username, CREDENTIAL_HOST);
        let lock = if enabled { "UNLOCK" } else { "LOCK" };
        connection
            .query_drop(format!("ALTER USER {account} ACCOUNT {lock}"))
            .await
            .map_err(sql)?;
        if !enabled {
            let sessions: Vec<u64> = connection
                .exec(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?",
                    (username.as_str(),),
                )
                .await
                .map_err(sql)?;
            for session in sessions {
                // A session may end by itself meanwhile; that is fine.
                let _ = connection
                    .query_drop(format!("KILL CONNECTION {session}"))
                    .await;
            }
        }
        Ok(())
    }

    /// The databases starting with `prefix`, sorted.
    pub async fn list_databases_with_prefix(&self, prefix: &str) -> EngineResult<Vec<String>> {
        let mut connection = self.connection().await?;
        let names: Vec<String> = connection
            .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
            .await
            .map_err(sql)?;
        Ok(with_prefix(names, prefix))
    }

    /// The credentials (`'...'@'%'`) starting with `prefix`, sorted.
    pub async fn list_credentials_with_prefix(&self, prefix: &str) -> EngineResult<Vec<String>> {
        self.users_at(CREDENTIAL_HOST, prefix).await
    }

    /// The stored password hash (`*` + 40 hex digits) of every credential account starting
    /// with `prefix`: what the connection edge verifies logins against (locked ones too:
    /// the edge refuses expired passwords itself, and a renewal must not wait for a
    /// re-read).
    pub async fn credential_hashes(&self, prefix: &str) -> EngineResult<Vec<(String, String)>> {
        let mut connection = self.connection().await?;
        let rows: Vec<(String, String)> = connection
            .exec(
                "SELECT User, JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv \
                 WHERE Host = ? AND JSON_VALUE(Priv, '$.plugin') = 'mysql_native_password'",
                (CREDENTIAL_HOST,),
            )
            .await
            .map_err(sql)?;
        Ok(rows
            .into_iter()
            .filter(|(user, _)| user.starts_with(prefix))
            .collect())
    }

    /// The owner accounts (`'..._owner'@'localhost'`) starting with `prefix`, sorted.
    pub async fn list_owners_with_prefix(&self, prefix: &str) -> EngineResult<Vec<String>> {
        let users = self.users_at(OWNER_HOST, prefix).await?;
        Ok(users
            .into_iter()
            .filter(|user| user.ends_with("_owner"))
            .collect())
    }

    async fn users_at(&self, host: &'static str, prefix: &str) -> EngineResult<Vec<String>> {
        let mut connection = self.connection().await?;
        let names: Vec<String> = connection
            .exec("SELECT User FROM mysql.user WHERE Host = ?", (host,))
            .await
            .map_err(sql)?;
        Ok(with_prefix(names, prefix))
    }
}

/// The privileges `spec` must hold on its database.
fn privileges(spec: &CredentialSpec) -> Vec<&'static str> {
    match spec.role {
        CredentialRole::Reader => READ_PRIVILEGES.to_vec(),
        CredentialRole::Writer => WRITE_PRIVILEGES.to_vec(),
        CredentialRole::Admin if spec.ddl_allowed => DATABASE_PRIVILEGES.to_vec(),
        CredentialRole::Readwriter | CredentialRole::Admin => {
            [READ_PRIVILEGES, WRITE_PRIVILEGES].concat()
        }
    }
}

/// Makes the account's privileges on its database exactly [`privileges`]: grant what it
/// needs first, then revoke the rest, so it never lacks a right it should have, not
/// even between the two statements.
async fn apply_grants(connection: &mut Conn, spec: &CredentialSpec) -> EngineResult<()> {
    let account = mysql_account(&spec.username, CREDENTIAL_HOST);
    let database = mysql_grant_database(&spec.database);
    let granted = privileges(spec);
    let mut revoked: Vec<&str> = DATABASE_PRIVILEGES
        .iter()
        .copied()
        .filter(|privilege| !granted.contains(privilege))
        .collect();
    revoked.push("GRANT OPTION");
    connection
        .query_drop(format!(
            "GRANT {} ON {database}.* TO {account}",
            granted.join(", ")
        ))
        .await
        .map_err(sql)?;
    // The GRANT above created the database-level row, so this REVOKE cannot fail with
    // "no such grant" even for privileges that were never held.
    connection
        .query_drop(format!(
            "REVOKE {} ON {database}.* FROM {account}",
            revoked.join(", ")
        ))
        .await
        .map_err(sql)
}

/// The `mysql_native_password` hash of `password`: `*` and the uppercase hex of
/// SHA1(SHA1(password)), what the server's `PASSWORD()` returns. Computed here so the
/// password is never sent, not even as a parameter a general log would record.
fn password_hash(password: &str) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(Sha1::digest(password.as_bytes()));
    let mut hash = String::with_capacity(41);
    hash.push('*');
    for byte in digest {
        hash.push_str(&format!("{byte:02X}"));
    }
    hash
}

async fn database_exists(connection: &mut Conn, db: &str) -> EngineResult<bool> {
    let found: Option<String> = connection
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (db,),
        )
        .await
        .map_err(sql)?;
    Ok(found.is_some())
}

async fn account_exists(connection: &mut Conn, username: &PhysicalName) -> EngineResult<bool> {
    let found: Option<String> = connection
        .exec_first(
            "SELECT User FROM mysql.user WHERE User = ? AND Host = ?",
            (username.as_str(), CREDENTIAL_HOST),
        )
        .await
        .map_err(sql)?;
    Ok(found.is_some())
}

/// Kills every session of `username` (MariaDB's `KILL CONNECTION USER`).
async fn kill_user_sessions(connection: &mut Conn, username: &PhysicalName) -> EngineResult<()> {
    connection
        .query_drop(format!(
            "KILL CONNECTION USER {}",
            mariadb_string(username.as_str())
        ))
        .await
        .map_err(sql)
}

/// Kills one session, tolerating that it ended in the meantime.
async fn kill_session(connection: &mut Conn, id: u64) -> EngineResult<()> {
    /// ER_NO_SUCH_THREAD: the session is already gone.
    const NO_SUCH_THREAD: u16 = 1094;
    match connection.query_drop(format!("KILL CONNECTION {id}")).await {
        Err(mysql_async::Error::Server(error)) if error.code == NO_SUCH_THREAD => Ok(()),
        result => result.map_err(sql),
    }
}

fn with_prefix(mut names: Vec<String>, prefix: &str) -> Vec<String> {
    names.retain(|name| name.starts_with(prefix));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_matches_the_server() {
        // SELECT PASSWORD('abc') on MariaDB 10.11.
        assert_eq!(
            password_hash("abc"),
            "*0D3CED9BEC10A777AEC23CCC353A8C08A633045E"
        );
    }
}
