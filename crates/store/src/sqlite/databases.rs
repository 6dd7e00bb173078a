//! Databases on SQLite.

use super::{branches, data_rows, jobs};
use crate::{Page, StoreError, StoreResult, Window};
use dbplane_domain::data_plane::{Branch, Database};
use dbplane_domain::jobs::{Job, JobId};
use dbplane_domain::{AccessGrant, DatabaseId, OrganizationId, ServiceTokenId, Timestamp};
use sqlx::SqlitePool;

pub(crate) async fn create(
    pool: &SqlitePool,
    database: &Database,
    default_branch: &Branch,
    job: &Job,
    creator_grants: Option<(&ServiceTokenId, &[AccessGrant])>,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    let settings = &database.settings;
    sqlx::query(
        "INSERT INTO databases (id, organization_id, name, notes, kind, region, state, cluster_size, replicas, \
         deletion_protected, require_approval_for_deploy, allow_data_branching, foreign_keys_enabled, \
         restrict_branch_region, automatic_migrations, migration_framework, migration_table_name, \
         insights_raw_queries, production_branch_web_console, created_by, created_at, updated_at, \
         schema_last_updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(database.id.as_str())
    .bind(database.organization_id.as_str())
    .bind(&database.name)
    .bind(&database.notes)
    .bind(database.kind.as_str())
    .bind(&database.region)
    .bind(database.state.as_str())
    .bind(&database.cluster_size)
    .bind(database.replicas)
    .bind(settings.deletion_protected)
    .bind(settings.require_approval_for_deploy)
    .bind(settings.allow_data_branching)
    .bind(settings.foreign_keys_enabled)
    .bind(settings.restrict_branch_region)
    .bind(settings.automatic_migrations)
    .bind(&settings.migration_framework)
    .bind(&settings.migration_table_name)
    .bind(settings.insights_raw_queries)
    .bind(settings.production_branch_web_console)
    .bind(database.created_by.as_ref().map(|u| u.as_str().to_string()))
    .bind(database.created_at.unix_millis())
    .bind(database.updated_at.unix_millis())
    .bind(database.schema_last_updated_at.map(Timestamp::unix_millis))
    .execute(&mut *transaction)
    .await
    .map_err(|e| StoreError::from_write("database", e))?;
    branches::insert(&mut transaction, default_branch, true).await?;
    super::backup_policies::insert_defaults(&mut transaction, &database.id, database.created_at)
        .await?;
    jobs::insert(&mut transaction, job).await?;
    if let Some((token, grants)) = creator_grants {
        super::grants::insert_all(&mut transaction, token, grants).await?;
    }
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn by_name(
    pool: &SqlitePool,
    organization: &OrganizationId,
    name: &str,
) -> StoreResult<Option<Database>> {
    sqlx::query(
        "SELECT * FROM databases WHERE organization_id = ? AND name = ? AND deleted_at IS NULL",
    )
    .bind(organization.as_str())
    .bind(name)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(data_rows::database)
    .transpose()
}

pub(crate) async fn by_id(pool: &SqlitePool, id: &DatabaseId) -> StoreResult<Option<Database>> {
    sqlx::query("SELECT * FROM databases WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(data_rows::database)
        .transpose()
}

pub(crate) async fn list(
    pool: &SqlitePool,
    organization: &OrganizationId,
    name_contains: Option<&str>,
    window: Window,
) -> StoreResult<Page<Database>> {
    let pattern = format!("%{}%", escape_like(name_contains.unwrap_or("")));
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM databases WHERE organization_id = ? AND deleted_at IS NULL AND name LIKE ? ESCAPE '\\'",
    )
    .bind(organization.as_str())
    .bind(&pattern)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query(
        "SELECT * FROM databases WHERE organization_id = ? AND deleted_at IS NULL AND name LIKE ? ESCAPE '\\' \
         ORDER BY created_at, id LIMIT ? OFFSET ?",
    )
    .bind(organization.as_str())
    .bind(&pattern)
    .bind(window.limit as i64)
    .bind(window.offset as i64)
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items: rows
            .iter()
            .map(data_rows::database)
            .collect::<StoreResult<_>>()?,
        total: total.max(0) as u64,
    })
}

/// `%` and `_` in user text match themselves.
pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(crate) async fn update(pool: &SqlitePool, database: &Database) -> StoreResult<()> {
    let settings = &database.settings;
    sqlx::query(
        "UPDATE databases SET name = ?, state = ?, deletion_protected = ?, require_approval_for_deploy = ?, \
         allow_data_branching = ?, foreign_keys_enabled = ?, restrict_branch_region = ?, automatic_migrations = ?, \
         migration_framework = ?, migration_table_name = ?, insights_raw_queries = ?, \
         production_branch_web_console = ?, updated_at = ?, schema_last_updated_at = ? WHERE id = ?",
    )
    .bind(&database.name)
    .bind(database.state.as_str())
    .bind(settings.deletion_protected)
    .bind(settings.require_approval_for_deploy)
    .bind(settings.allow_data_branching)
    .bind(settings.foreign_keys_enabled)
    .bind(settings.restrict_branch_region)
    .bind(settings.automatic_migrations)
    .bind(&settings.migration_framework)
    .bind(&settings.migration_table_name)
    .bind(settings.insights_raw_queries)
    .bind(settings.production_branch_web_console)
    .bind(database.updated_at.unix_millis())
    .bind(database.schema_last_updated_at.map(Timestamp::unix_millis))
    .bind(database.id.as_str())
    .execute(pool)
    .await
    .map_err(|e| StoreError::from_write("database", e))?;
    Ok(())
}

pub(crate) async fn mark_deleted(
    pool: &SqlitePool,
    id: &DatabaseId,
    at: Timestamp,
    job: &Job,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    sqlx::query("UPDATE databases SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL")
        .bind(at.unix_millis())
        .bind(id.as_str())
        .execute(&mut *transaction)
        .await?;
    sqlx::query("UPDATE branches SET deleted_at = ? WHERE database_id = ? AND deleted_at IS NULL")
        .bind(at.unix_millis())
        .bind(id.as_str())
        .execute(&mut *transaction)
        .await?;
    jobs::insert(&mut transaction, job).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn purge(
    pool: &SqlitePool,
    id: &DatabaseId,
    job: &JobId,
    epoch: i64,
) -> StoreResult<bool> {
    let mut transaction = pool.begin().await?;
    if !jobs::complete_in(&mut transaction, job, epoch).await? {
        return Ok(false);
    }
    // Branches and credentials go by ON DELETE CASCADE; grants on the database too.
    sqlx::query("DELETE FROM service_token_grants WHERE scope_type = 'database' AND scope_id = ?")
        .bind(id.as_str())
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM databases WHERE id = ?")
        .bind(id.as_str())
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(true)
}
