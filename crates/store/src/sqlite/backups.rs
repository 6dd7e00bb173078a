//! Backups and restored branches on SQLite.

use super::{backup_rows, branches, data_rows, jobs};
use crate::backups::{BackupFilter, BranchRestore};
use crate::{Page, StoreResult, Window};
use dbplane_domain::Timestamp;
use dbplane_domain::backups::{Backup, BackupId};
use dbplane_domain::data_plane::{Branch, BranchId};
use dbplane_domain::jobs::{Job, JobId};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub(crate) async fn insert(
    transaction: &mut Transaction<'_, Sqlite>,
    backup: &Backup,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO backups (id, branch_id, database_id, name, state, size, uncompressed_size, \
         retention_value, retention_unit, protected, required, emergency, policy_id, schema_snapshot, \
         created_by, created_at, updated_at, started_at, completed_at, expires_at, deleted_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(backup.id.as_str())
    .bind(backup.branch_id.as_str())
    .bind(backup.database_id.as_str())
    .bind(&backup.name)
    .bind(backup.state.as_str())
    .bind(backup.size)
    .bind(backup.uncompressed_size)
    .bind(backup.retention.value)
    .bind(backup.retention.unit.as_str())
    .bind(backup.protected)
    .bind(backup.required)
    .bind(backup.emergency)
    .bind(backup.policy_id.as_ref().map(|p| p.as_str().to_string()))
    .bind(&backup.schema_snapshot)
    .bind(backup.created_by.as_ref().map(|u| u.as_str().to_string()))
    .bind(backup.created_at.unix_millis())
    .bind(backup.updated_at.unix_millis())
    .bind(backup.started_at.map(Timestamp::unix_millis))
    .bind(backup.completed_at.map(Timestamp::unix_millis))
    .bind(backup.expires_at.map(Timestamp::unix_millis))
    .bind(backup.deleted_at.map(Timestamp::unix_millis))
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

pub(crate) async fn create(pool: &SqlitePool, backup: &Backup, job: &Job) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    insert(&mut transaction, backup).await?;
    jobs::insert(&mut transaction, job).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn by_id(pool: &SqlitePool, id: &BackupId) -> StoreResult<Option<Backup>> {
    sqlx::query("SELECT * FROM backups WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(backup_rows::backup)
        .transpose()
}

pub(crate) async fn list(
    pool: &SqlitePool,
    branch: &BranchId,
    filter: &BackupFilter,
    window: Window,
) -> StoreResult<Page<Backup>> {
    let where_clause = "branch_id = ? AND (? OR deleted_at IS NULL) AND (? IS NULL OR state = ?) \
         AND (? IS NULL OR policy_id = ?) AND (? IS NULL OR created_at >= ?) \
         AND (? IS NULL OR created_at <= ?) \
         AND (? IS NULL OR (started_at IS NOT NULL AND started_at <= ? \
              AND (completed_at IS NULL OR completed_at >= ?)))";
    let state = filter.state.map(|s| s.as_str());
    let policy = filter.policy.as_ref().map(|p| p.as_str().to_string());
    let from = filter.from.map(Timestamp::unix_millis);
    let to = filter.to.map(Timestamp::unix_millis);
    let running_start = filter.running_between.map(|(start, _)| start.unix_millis());
    let running_end = filter.running_between.map(|(_, end)| end.unix_millis());
    macro_rules! bind_filter {
        ($query:expr) => {
            $query
                .bind(branch.as_str())
                .bind(filter.include_deleted)
                .bind(state)
                .bind(state)
                .bind(policy.clone())
                .bind(policy.clone())
                .bind(from)
                .bind(from)
                .bind(to)
                .bind(to)
                .bind(running_end)
                .bind(running_end)
                .bind(running_start)
        };
    }
    // Audited: `where_clause` is a constant of this function; values are bound.
    let total: i64 = bind_filter!(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM backups WHERE {where_clause}"
    ))))
    .fetch_one(pool)
    .await?;
    let rows = bind_filter!(sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM backups WHERE {where_clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
    ))))
    .bind(window.limit as i64)
    .bind(window.offset as i64)
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items: rows
            .iter()
            .map(backup_rows::backup)
            .collect::<StoreResult<_>>()?,
        total: total.max(0) as u64,
    })
}

/// Writes the fields the backup job owns (not `protected`, which users own, nor
/// `deleted_at`, which `mark_deleted` sets), so a job never undoes a user's change.
async fn write(transaction: &mut Transaction<'_, Sqlite>, backup: &Backup) -> StoreResult<()> {
    sqlx::query(
        "UPDATE backups SET state = ?, size = ?, uncompressed_size = ?, schema_snapshot = ?, \
         updated_at = ?, started_at = ?, completed_at = ?, expires_at = ? WHERE id = ?",
    )
    .bind(backup.state.as_str())
    .bind(backup.size)
    .bind(backup.uncompressed_size)
    .bind(&backup.schema_snapshot)
    .bind(backup.updated_at.unix_millis())
    .bind(backup.started_at.map(Timestamp::unix_millis))
    .bind(backup.completed_at.map(Timestamp::unix_millis))
    .bind(backup.expires_at.map(Timestamp::unix_millis))
    .bind(backup.id.as_str())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

pub(crate) async fn update(pool: &SqlitePool, backup: &Backup) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    write(&mut transaction, backup).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn set_protected(
    pool: &SqlitePool,
    id: &BackupId,
    protected: bool,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("UPDATE backups SET protected = ?, updated_at = ? WHERE id = ?")
        .bind(protected)
        .bind(at.unix_millis())
        .bind(id.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn finish(
    pool: &SqlitePool,
    backup: &Backup,
    job: &JobId,
    epoch: i64,
) -> StoreResult<bool> {
    let mut transaction = pool.begin().await?;
    if !jobs::complete_in(&mut transaction, job, epoch).await? {
        return Ok(false);
    }
    write(&mut transaction, backup).await?;
    transaction.commit().await?;
    Ok(true)
}

pub(crate) async fn mark_deleted(
    pool: &SqlitePool,
    doomed: &[(BackupId, Job)],
    at: Timestamp,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    for (id, job) in doomed {
        let result = sqlx::query(
            "UPDATE backups SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(at.unix_millis())
        .bind(id.as_str())
        .execute(&mut *transaction)
        .await?;
        if result.rows_affected() == 1 {
            jobs::insert(&mut transaction, job).await?;
        }
    }
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn latest_successful(
    pool: &SqlitePool,
    branch: &BranchId,
) -> StoreResult<Option<Backup>> {
    sqlx::query(
        "SELECT * FROM backups WHERE branch_id = ? AND state = 'success' AND deleted_at IS NULL \
         ORDER BY completed_at DESC, id DESC LIMIT 1",
    )
    .bind(branch.as_str())
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(backup_rows::backup)
    .transpose()
}

pub(crate) async fn reapable(
    pool: &SqlitePool,
    now: Timestamp,
    limit: u64,
) -> StoreResult<Vec<Backup>> {
    let rows = sqlx::query(
        "SELECT k.* FROM backups k LEFT JOIN branches b ON b.id = k.branch_id \
         WHERE k.deleted_at IS NULL AND k.protected = 0 \
         AND k.state IN ('success', 'failed', 'canceled', 'ignored') \
         AND ((k.expires_at IS NOT NULL AND k.expires_at <= ?) OR b.id IS NULL OR b.deleted_at IS NOT NULL) \
         AND NOT EXISTS (SELECT 1 FROM branch_restores r JOIN branches t ON t.id = r.branch_id \
              WHERE r.backup_id = k.id AND t.state = 'pending' AND t.deleted_at IS NULL) \
         ORDER BY k.expires_at LIMIT ?",
    )
    .bind(now.unix_millis())
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    rows.iter().map(backup_rows::backup).collect()
}

pub(crate) async fn create_restored_branch(
    pool: &SqlitePool,
    branch: &Branch,
    restore: &BranchRestore,
    job: &Job,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    branches::insert(&mut transaction, branch, false).await?;
    sqlx::query(
        "INSERT INTO branch_restores (branch_id, backup_id, source_branch_id) VALUES (?, ?, ?)",
    )
    .bind(restore.branch_id.as_str())
    .bind(restore.backup_id.as_str())
    .bind(restore.source_branch_id.as_str())
    .execute(&mut *transaction)
    .await?;
    jobs::insert(&mut transaction, job).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn restore_of(
    pool: &SqlitePool,
    branch: &BranchId,
) -> StoreResult<Option<BranchRestore>> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT branch_id, backup_id, source_branch_id FROM branch_restores WHERE branch_id = ?",
    )
    .bind(branch.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(branch_id, backup_id, source)| BranchRestore {
        branch_id: BranchId::from_string(branch_id),
        backup_id: BackupId::from_string(backup_id),
        source_branch_id: BranchId::from_string(source),
    }))
}

pub(crate) async fn restored_branches(
    pool: &SqlitePool,
    backup: &BackupId,
) -> StoreResult<Vec<Branch>> {
    let rows = sqlx::query(
        "SELECT b.* FROM branches b JOIN branch_restores r ON r.branch_id = b.id \
         WHERE r.backup_id = ? ORDER BY b.created_at, b.id",
    )
    .bind(backup.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter().map(data_rows::branch).collect()
}
