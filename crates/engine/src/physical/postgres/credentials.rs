//! Credentials on PostgreSQL: one LOGIN role per credential, bound to one database.
//!
//! Privileges by role, on every table, view and sequence of schema `public`, current
//! (GRANT ... ON ALL) and future (ALTER DEFAULT PRIVILEGES FOR ROLE `<db>_owner`):
//!
//! | role | tables | sequences | DDL |
//! |---|---|---|---|
//! | reader | SELECT | SELECT | no |
//! | writer | INSERT, UPDATE, DELETE | USAGE | no |
//! | readwriter | both | USAGE, SELECT | no |
//! | admin | both | USAGE, SELECT | member of `<db>_owner` when DDL is allowed |
//!
//! An admin with DDL also gets `SET ROLE <db>_owner` at login (a per-database role
//! setting), so what it creates is owned by the owner role, which the default privileges
//! cover and which outlives the credential.
//!
//! Passwords go to the server as SCRAM-SHA-256 verifiers computed here, never as text:
//! PostgreSQL cannot bind a parameter in `ALTER ROLE`, and a verifier is safe to quote
//! and never shows up in a server log.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::{PostgresAdmin, database_exists, is_state, missing_credential, role_exists, sql};
use crate::error::{EngineError, EngineResult};
use crate::physical::{CredentialRole, CredentialSpec, PhysicalName, validate_password};
use dbplane_schema::quote::{postgres_ident, postgres_string};

impl PostgresAdmin {
    /// Creates the LOGIN role or brings it to the spec (password, privileges).
    pub async fn create_credential(&self, spec: &CredentialSpec) -> EngineResult<()> {
        spec.validate()?;
        let client = self.maintenance().await?;
        let role = postgres_ident(spec.username.as_str());
        let verifier = scram_verifier(&spec.password)?;
        if !role_exists(&client, &spec.username).await? {
            let create = format!(
                "CREATE ROLE {role} LOGIN PASSWORD {}",
                postgres_string(&verifier)
            );
            match client.batch_execute(&create).await {
                // Created concurrently: the ALTER below sets it up all the same.
                Err(error) if is_state(&error, &SqlState::DUPLICATE_OBJECT) => {}
                result => result.map_err(sql)?,
            }
        }
        // Also undoes the NOLOGIN of a drop that was interrupted.
        client
            .batch_execute(&format!(
                "ALTER ROLE {role} LOGIN PASSWORD {}",
                postgres_string(&verifier)
            ))
            .await
            .map_err(sql)?;
        self.apply_privileges(&client, spec).await
    }

    /// Drops the role after cutting its sessions and handing what it owns in `db` to
    /// `<db>_owner`.
    pub async fn drop_credential(
        &self,
        username: &PhysicalName,
        db: &PhysicalName,
    ) -> EngineResult<()> {
        let client = self.maintenance().await?;
        if !role_exists(&client, username).await? {
            return Ok(());
        }
        let role = postgres_ident(username.as_str());
        // No new sessions from here on; then end the open ones.
        client
            .batch_execute(&format!("ALTER ROLE {role} NOLOGIN"))
            .await
            .map_err(sql)?;
        terminate_sessions(&client, username).await?;
        if database_exists(&client, db).await? {
            // Objects an admin made after RESET ROLE, and its privileges and default
            // privileges in `db`, would otherwise block DROP ROLE.
            let inside = self.open(db.as_str()).await?;
            inside
                .batch_execute(&format!(
                    "REASSIGN OWNED BY {role} TO {owner}; DROP OWNED BY {role};",
                    owner = postgres_ident(db.owner()?.as_str())
                ))
                .await
                .map_err(sql)?;
        }
        client
            .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
            .await
            .map_err(sql)
    }

    /// Whether a role named `username` exists (a credential half-way through its drop
    /// still counts, so the drop is retried).
    pub async fn credential_exists(&self, username: &PhysicalName) -> EngineResult<bool> {
        let client = self.maintenance().await?;
        role_exists(&client, username).await
    }

    /// Re-applies privileges for `spec.ddl_allowed`; an admin losing DDL has its sessions
    /// terminated, because a session that did `SET ROLE <db>_owner` keeps acting as the
    /// owner after the membership is revoked.
    pub async fn set_ddl_allowed(&self, spec: &CredentialSpec) -> EngineResult<()> {
        let client = self.maintenance().await?;
        if !role_exists(&client, &spec.username).await? {
            return Err(missing_credential(&spec.username));
        }
        self.apply_privileges(&client, spec).await?;
        if spec.role == CredentialRole::Admin && !spec.ddl_allowed {
            terminate_sessions(&client, &spec.username).await?;
        }
        Ok(())
    }

    /// Replaces the password of role `username`.
    pub async fn set_password(&self, username: &PhysicalName, password: &str) -> EngineResult<()> {
        validate_password(password)?;
        let client = self.maintenance().await?;
        if !role_exists(&client, username).await? {
            return Err(missing_credential(username));
        }
        let verifier = scram_verifier(password)?;
        client
            .batch_execute(&format!(
                "ALTER ROLE {} PASSWORD {}",
                postgres_ident(username.as_str()),
                postgres_string(&verifier)
            ))
            .await
            .map_err(sql)
    }

    /// Allows or refuses logins (an expired credential keeps its grants and password,
    /// so renewing only allows logins again). Refusing also ends its sessions.
    pub async fn set_login_enabled(
        &self,
        username: &PhysicalName,
        enabled: bool,
    ) -> EngineResult<()> {
        let client = self.maintenance().await?;
        if !role_exists(&client, username).await? {
            return Err(missing_credential(username));
        }
        let role = postgres_ident(username.as_str());
        let login = if enabled { "LOGIN" } else { "NOLOGIN" };
        client
            .batch_execute(&format!("ALTER ROLE {role} {login}"))
            .await
            .map_err(sql)?;
        if !enabled {
            client
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                    &[&username.as_str()],
                )
                .await
                .map_err(sql)?;
        }
        Ok(())
    }

    /// Makes the role's privileges match `spec`: cluster-level ones on the maintenance
    /// connection, then the ones inside the database in one transaction (revoke all, grant
    /// the role's set), so no session ever sees a partial set.
    async fn apply_privileges(&self, client: &Client, spec: &CredentialSpec) -> EngineResult<()> {
        let role = postgres_ident(spec.username.as_str());
        let db = postgres_ident(spec.database.as_str());
        let owner_name = spec.database.owner()?;
        let owner = postgres_ident(owner_name.as_str());
        if !database_exists(client, &spec.database).await? {
            return Err(super::missing_database(&spec.database));
        }
        let membership = if spec.has_ddl() {
            format!(
                "GRANT {owner} TO {role};
                 ALTER ROLE {role} IN DATABASE {db} SET role = {};",
                postgres_string(owner_name.as_str())
            )
        } else {
            // The setting goes first: it would name a role the user may no longer assume.
            format!(
                "ALTER ROLE {role} IN DATABASE {db} RESET role;
                 REVOKE {owner} FROM {role};"
            )
        };
        client
            .batch_execute(&format!(
                "BEGIN; {ACL_LOCK}
                 GRANT CONNECT ON DATABASE {db} TO {role}; {membership}
                 COMMIT;"
            ))
            .await
            .map_err(sql)?;

        let (tables, sequences) = privileges(spec.role);
        let schema_create = if spec.has_ddl() { "GRANT" } else { "REVOKE" };
        let schema_create_direction = if spec.has_ddl() { "TO" } else { "FROM" };
        let inside = self.open(spec.database.as_str()).await?;
        inside
            .batch_execute(&format!(
                "BEGIN; {ACL_LOCK}
                 GRANT USAGE ON SCHEMA public TO {role};
                 {schema_create} CREATE ON SCHEMA public {schema_create_direction} {role};
                 REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};
                 GRANT {tables} ON ALL TABLES IN SCHEMA public TO {role};
                 REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role};
                 GRANT {sequences} ON ALL SEQUENCES IN SCHEMA public TO {role};
                 ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
                   REVOKE ALL ON TABLES FROM {role};
                 ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
                   GRANT {tables} ON TABLES TO {role};
                 ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
                   REVOKE ALL ON SEQUENCES FROM {role};
                 ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
                   GRANT {sequences} ON SEQUENCES TO {role};
                 COMMIT;"
            ))
            .await
            .map_err(sql)
    }
}

/// Taken first in every transaction that changes privileges. Two sessions granting on the
/// same object at once both rewrite its catalog row (`pg_namespace.nspacl`,
/// `pg_database.datacl`, `pg_default_acl`), and the second fails with "tuple concurrently
/// updated" instead of waiting; two passwords created at the same moment hit it. Advisory
/// locks are scoped to the database the session is in, which is the scope of those rows
/// (the shared catalogs are only changed from the maintenance database).
const ACL_LOCK: &str = "SELECT pg_catalog.pg_advisory_xact_lock(7150201301);";

/// The (table, sequence) privileges of a role, as GRANT lists.
fn privileges(role: CredentialRole) -> (&'static str, &'static str) {
    match role {
        CredentialRole::Reader => ("SELECT", "SELECT"),
        // USAGE allows nextval(), which an INSERT into a serial column needs.
        CredentialRole::Writer => ("INSERT, UPDATE, DELETE", "USAGE"),
        CredentialRole::Readwriter | CredentialRole::Admin => {
            ("SELECT, INSERT, UPDATE, DELETE", "USAGE, SELECT")
        }
    }
}

/// Ends every session of `username`.
async fn terminate_sessions(client: &Client, username: &PhysicalName) -> EngineResult<()> {
    client
        .execute(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
             WHERE usename = $1",
            &[&username.as_str()],
        )
        .await
        .map_err(sql)?;
    Ok(())
}

/// The SCRAM-SHA-256 verifier of `password` (`SCRAM-SHA-256$4096:salt$key:key`), checked
/// to hold only base64 and separator characters before it is quoted into SQL.
fn scram_verifier(password: &str) -> EngineResult<String> {
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    let safe = verifier
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || b"+/=$:-".contains(&byte));
    if !safe {
        return Err(EngineError::InvalidArgument {
            what: "password",
            reason: "its SCRAM verifier holds unexpected characters",
        });
    }
    Ok(verifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_are_scram() {
        let verifier = scram_verifier("pa'ss\"word;--").unwrap();
        assert!(verifier.starts_with("SCRAM-SHA-256$4096:"), "{verifier}");
        assert!(!verifier.contains('\''));
    }
}
