//! Decoding data-plane rows.

use crate::{StoreError, StoreResult};
use dbplane_domain::data_plane::{
    Branch, BranchId, BranchState, Credential, CredentialId, CredentialState, Database,
    DatabaseKind, DatabaseSettings, DatabaseState, PasswordRole,
};
use dbplane_domain::jobs::{Job, JobId, JobKind};
use dbplane_domain::{DatabaseId, OrganizationId, Timestamp, UserId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn corrupt(entity: &'static str, detail: String) -> StoreError {
    StoreError::Corrupt { entity, detail }
}

fn parse<T: std::str::FromStr>(entity: &'static str, column: &str, text: String) -> StoreResult<T> {
    text.parse::<T>()
        .map_err(|_| corrupt(entity, format!("bad {column} {text:?}")))
}

fn time(row: &SqliteRow, column: &str) -> StoreResult<Timestamp> {
    Ok(Timestamp::from_unix_millis(row.try_get(column)?))
}

fn optional_time(row: &SqliteRow, column: &str) -> StoreResult<Option<Timestamp>> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .map(Timestamp::from_unix_millis))
}

fn user(row: &SqliteRow, column: &str) -> StoreResult<Option<UserId>> {
    Ok(row
        .try_get::<Option<String>, _>(column)?
        .map(UserId::from_string))
}

pub(crate) fn database(row: &SqliteRow) -> StoreResult<Database> {
    Ok(Database {
        id: DatabaseId::from_string(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::from_string(row.try_get::<String, _>("organization_id")?),
        name: row.try_get("name")?,
        notes: row.try_get("notes")?,
        kind: parse::<DatabaseKind>("database", "kind", row.try_get("kind")?)?,
        region: row.try_get("region")?,
        state: parse::<DatabaseState>("database", "state", row.try_get("state")?)?,
        cluster_size: row.try_get("cluster_size")?,
        replicas: row.try_get("replicas")?,
        settings: DatabaseSettings {
            deletion_protected: row.try_get("deletion_protected")?,
            require_approval_for_deploy: row.try_get("require_approval_for_deploy")?,
            allow_data_branching: row.try_get("allow_data_branching")?,
            foreign_keys_enabled: row.try_get("foreign_keys_enabled")?,
            restrict_branch_region: row.try_get("restrict_branch_region")?,
            automatic_migrations: row.try_get("automatic_migrations")?,
            migration_framework: row.try_get("migration_framework")?,
            migration_table_name: row.try_get("migration_table_name")?,
            insights_raw_queries: row.try_get("insights_raw_queries")?,
            production_branch_web_console: row.try_get("production_branch_web_console")?,
        },
        created_by: user(row, "created_by")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        schema_last_updated_at: optional_time(row, "schema_last_updated_at")?,
    })
}

pub(crate) fn branch(row: &SqliteRow) -> StoreResult<Branch> {
    Ok(Branch {
        id: BranchId::from_string(row.try_get::<String, _>("id")?),
        database_id: DatabaseId::from_string(row.try_get::<String, _>("database_id")?),
        name: row.try_get("name")?,
        parent_branch_id: row
            .try_get::<Option<String>, _>("parent_branch_id")?
            .map(BranchId::from_string),
        production: row.try_get("production")?,
        safe_migrations: row.try_get("safe_migrations")?,
        deletion_protected: row.try_get("deletion_protected")?,
        state: parse::<BranchState>("branch", "state", row.try_get("state")?)?,
        region: row.try_get("region")?,
        cluster_size: row.try_get("cluster_size")?,
        created_by: user(row, "created_by")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        schema_last_updated_at: optional_time(row, "schema_last_updated_at")?,
        deleted_at: optional_time(row, "deleted_at")?,
    })
}

pub(crate) fn credential(row: &SqliteRow) -> StoreResult<Credential> {
    let state: String = row.try_get("state")?;
    let inherited: String = row.try_get("inherited_roles")?;
    Ok(Credential {
        id: CredentialId::from_string(row.try_get::<String, _>("id")?),
        branch_id: BranchId::from_string(row.try_get::<String, _>("branch_id")?),
        name: row.try_get("name")?,
        role: parse::<PasswordRole>("credential", "role", row.try_get("role")?)?,
        inherited_roles: inherited
            .split(',')
            .filter(|role| !role.is_empty())
            .map(str::to_string)
            .collect(),
        replica: row.try_get("replica")?,
        is_default: row.try_get("is_default")?,
        state: CredentialState::parse(&state)
            .ok_or_else(|| corrupt("credential", format!("bad state {state:?}")))?,
        created_by: user(row, "created_by")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        expires_at: optional_time(row, "expires_at")?,
        ttl_seconds: row.try_get("ttl_seconds")?,
        last_used_at: optional_time(row, "last_used_at")?,
    })
}

pub(crate) fn job(row: &SqliteRow) -> StoreResult<Job> {
    let kind: String = row.try_get("kind")?;
    Ok(Job {
        id: JobId::from_string(row.try_get::<String, _>("id")?),
        kind: JobKind::parse(&kind).ok_or_else(|| corrupt("job", format!("bad kind {kind:?}")))?,
        subject_id: row.try_get("subject_id")?,
        step: row.try_get("step")?,
        data: row.try_get("data")?,
        attempt: row.try_get("attempt")?,
        lease_epoch: row.try_get("lease_epoch")?,
        run_after: time(row, "run_after")?,
        last_error: row.try_get("last_error")?,
        given_up_at: optional_time(row, "given_up_at")?,
        created_at: time(row, "created_at")?,
    })
}
