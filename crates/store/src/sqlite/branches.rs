//! Branches on SQLite.

use super::{data_rows, databases::escape_like, jobs};
use crate::data_plane::{BranchCounts, BranchFilter};
use crate::{Page, StoreError, StoreResult, Window};
use dbplane_domain::data_plane::{Branch, BranchId, BranchState, DatabaseState};
use dbplane_domain::jobs::{Job, JobId};
use dbplane_domain::{DatabaseId, Timestamp};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub(crate) async fn insert(
    transaction: &mut Transaction<'_, Sqlite>,
    branch: &Branch,
    is_default: bool,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO branches (id, database_id, name, parent_branch_id, production, safe_migrations, \
         deletion_protected, is_default, state, region, cluster_size, created_by, created_at, updated_at, \
         schema_last_updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(branch.id.as_str())
    .bind(branch.database_id.as_str())
    .bind(&branch.name)
    .bind(branch.parent_branch_id.as_ref().map(|p| p.as_str().to_string()))
    .bind(branch.production)
    .bind(branch.safe_migrations)
    .bind(branch.deletion_protected)
    .bind(is_default)
    .bind(branch.state.as_str())
    .bind(&branch.region)
    .bind(&branch.cluster_size)
    .bind(branch.created_by.as_ref().map(|u| u.as_str().to_string()))
    .bind(branch.created_at.unix_millis())
    .bind(branch.updated_at.unix_millis())
    .bind(branch.schema_last_updated_at.map(Timestamp::unix_millis))
    .execute(&mut **transaction)
    .await
    .map_err(|e| StoreError::from_write("branch", e))?;
    Ok(())
}

pub(crate) async fn create(pool: &SqlitePool, branch: &Branch, job: &Job) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    insert(&mut transaction, branch, false).await?;
    jobs::insert(&mut transaction, job).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn by_name(
    pool: &SqlitePool,
    database: &DatabaseId,
    name: &str,
) -> StoreResult<Option<Branch>> {
    sqlx::query("SELECT * FROM branches WHERE database_id = ? AND name = ? AND deleted_at IS NULL")
        .bind(database.as_str())
        .bind(name)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(data_rows::branch)
        .transpose()
}

pub(crate) async fn by_id(pool: &SqlitePool, id: &BranchId) -> StoreResult<Option<Branch>> {
    sqlx::query("SELECT * FROM branches WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(data_rows::branch)
        .transpose()
}

pub(crate) async fn list(
    pool: &SqlitePool,
    database: &DatabaseId,
    filter: &BranchFilter,
    window: Window,
) -> StoreResult<Page<Branch>> {
    let pattern = format!("%{}%", escape_like(filter.query.as_deref().unwrap_or("")));
    let where_clause = "database_id = ? AND deleted_at IS NULL AND name LIKE ? ESCAPE '\\' \
         AND (? IS NULL OR production = ?) AND (? IS NULL OR safe_migrations = ?)";
    let order = if filter.newest_first {
        "created_at DESC, id DESC"
    } else {
        "created_at, id"
    };
    let total: i64 = // Audited: both fragments are constants of this function; values are bound.
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM branches WHERE {where_clause}")))
        .bind(database.as_str())
        .bind(&pattern)
        .bind(filter.production)
        .bind(filter.production)
        .bind(filter.safe_migrations)
        .bind(filter.safe_migrations)
        .fetch_one(pool)
        .await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM branches WHERE {where_clause} ORDER BY {order} LIMIT ? OFFSET ?"
    )))
    .bind(database.as_str())
    .bind(&pattern)
    .bind(filter.production)
    .bind(filter.production)
    .bind(filter.safe_migrations)
    .bind(filter.safe_migrations)
    .bind(window.limit as i64)
    .bind(window.offset as i64)
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items: rows
            .iter()
            .map(data_rows::branch)
            .collect::<StoreResult<_>>()?,
        total: total.max(0) as u64,
    })
}

pub(crate) async fn all(pool: &SqlitePool, database: &DatabaseId) -> StoreResult<Vec<Branch>> {
    let rows = sqlx::query("SELECT * FROM branches WHERE database_id = ? ORDER BY created_at, id")
        .bind(database.as_str())
        .fetch_all(pool)
        .await?;
    rows.iter().map(data_rows::branch).collect()
}

pub(crate) async fn counts(pool: &SqlitePool, database: &DatabaseId) -> StoreResult<BranchCounts> {
    let (total, production, restored): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(b.production), 0), COUNT(r.branch_id) \
         FROM branches b LEFT JOIN branch_restores r ON r.branch_id = b.id \
         WHERE b.database_id = ? AND b.deleted_at IS NULL",
    )
    .bind(database.as_str())
    .fetch_one(pool)
    .await?;
    Ok(BranchCounts {
        total: total.max(0) as u64,
        production: production.max(0) as u64,
        development: (total - production).max(0) as u64,
        restored: restored.max(0) as u64,
    })
}

pub(crate) async fn default_of(
    pool: &SqlitePool,
    database: &DatabaseId,
) -> StoreResult<Option<Branch>> {
    sqlx::query(
        "SELECT * FROM branches WHERE database_id = ? AND is_default = 1 AND deleted_at IS NULL",
    )
    .bind(database.as_str())
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(data_rows::branch)
    .transpose()
}

pub(crate) async fn set_default(
    pool: &SqlitePool,
    database: &DatabaseId,
    branch: &BranchId,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    sqlx::query("UPDATE branches SET is_default = (id = ?) WHERE database_id = ?")
        .bind(branch.as_str())
        .bind(database.as_str())
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

async fn write(transaction: &mut Transaction<'_, Sqlite>, branch: &Branch) -> StoreResult<()> {
    sqlx::query(
        "UPDATE branches SET name = ?, production = ?, safe_migrations = ?, deletion_protected = ?, \
         cluster_size = ?, updated_at = ?, schema_last_updated_at = ? WHERE id = ?",
    )
    .bind(&branch.name)
    .bind(branch.production)
    .bind(branch.safe_migrations)
    .bind(branch.deletion_protected)
    .bind(&branch.cluster_size)
    .bind(branch.updated_at.unix_millis())
    .bind(branch.schema_last_updated_at.map(Timestamp::unix_millis))
    .bind(branch.id.as_str())
    .execute(&mut **transaction)
    .await
    .map_err(|e| StoreError::from_write("branch", e))?;
    Ok(())
}

pub(crate) async fn update(pool: &SqlitePool, branch: &Branch) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    write(&mut transaction, branch).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn update_with_job(
    pool: &SqlitePool,
    branch: &Branch,
    job: &Job,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    write(&mut transaction, branch).await?;
    jobs::insert(&mut transaction, job).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn complete_creation(
    pool: &SqlitePool,
    branch: &BranchId,
    database: Option<&DatabaseId>,
    job: &JobId,
    epoch: i64,
) -> StoreResult<bool> {
    let mut transaction = pool.begin().await?;
    if !jobs::complete_in(&mut transaction, job, epoch).await? {
        return Ok(false);
    }
    let now = Timestamp::now().unix_millis();
    sqlx::query("UPDATE branches SET state = ?, updated_at = ?, schema_last_updated_at = COALESCE(schema_last_updated_at, ?) WHERE id = ? AND state = ?")
        .bind(BranchState::Ready.as_str())
        .bind(now)
        .bind(now)
        .bind(branch.as_str())
        .bind(BranchState::Pending.as_str())
        .execute(&mut *transaction)
        .await?;
    if let Some(database) = database {
        sqlx::query("UPDATE databases SET state = ?, updated_at = ?, schema_last_updated_at = COALESCE(schema_last_updated_at, ?) WHERE id = ? AND state = ?")
            .bind(DatabaseState::Ready.as_str())
            .bind(now)
            .bind(now)
            .bind(database.as_str())
            .bind(DatabaseState::Pending.as_str())
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(true)
}

pub(crate) async fn mark_deleted(
    pool: &SqlitePool,
    branches: &[(BranchId, Job)],
    at: Timestamp,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    for (branch, job) in branches {
        sqlx::query("UPDATE branches SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL")
            .bind(at.unix_millis())
            .bind(branch.as_str())
            .execute(&mut *transaction)
            .await?;
        jobs::insert(&mut transaction, job).await?;
    }
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn purge(
    pool: &SqlitePool,
    id: &BranchId,
    job: &JobId,
    epoch: i64,
) -> StoreResult<bool> {
    let mut transaction = pool.begin().await?;
    if !jobs::complete_in(&mut transaction, job, epoch).await? {
        return Ok(false);
    }
    sqlx::query("DELETE FROM branches WHERE id = ?")
        .bind(id.as_str())
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(true)
}

pub(crate) async fn children(pool: &SqlitePool, id: &BranchId) -> StoreResult<Vec<Branch>> {
    let rows = sqlx::query("SELECT * FROM branches WHERE parent_branch_id = ? AND deleted_at IS NULL ORDER BY created_at")
        .bind(id.as_str())
        .fetch_all(pool)
        .await?;
    rows.iter().map(data_rows::branch).collect()
}
