//! Backup policies on SQLite.

use super::{backup_rows, backups, jobs};
use crate::{Page, StoreResult, Window};
use dbplane_domain::backups::{Backup, BackupPolicy, BackupPolicyId};
use dbplane_domain::data_plane::BranchId;
use dbplane_domain::jobs::Job;
use dbplane_domain::{DatabaseId, Timestamp};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub(crate) async fn insert(
    transaction: &mut Transaction<'_, Sqlite>,
    policy: &BackupPolicy,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO backup_policies (id, database_id, name, target, retention_value, retention_unit, \
         frequency_value, frequency_unit, schedule_time, schedule_day, schedule_week, required, \
         created_at, updated_at, last_ran_at, next_run_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(policy.id.as_str())
    .bind(policy.database_id.as_str())
    .bind(&policy.name)
    .bind(policy.target.as_str())
    .bind(policy.retention.value)
    .bind(policy.retention.unit.as_str())
    .bind(policy.frequency.value)
    .bind(policy.frequency.unit.as_str())
    .bind(policy.schedule_time.to_string())
    .bind(policy.schedule_day)
    .bind(policy.schedule_week)
    .bind(policy.required)
    .bind(policy.created_at.unix_millis())
    .bind(policy.updated_at.unix_millis())
    .bind(policy.last_ran_at.map(Timestamp::unix_millis))
    .bind(policy.next_run_at.map(Timestamp::unix_millis))
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// The default policies of a new database, inside its creating transaction.
pub(crate) async fn insert_defaults(
    transaction: &mut Transaction<'_, Sqlite>,
    database: &DatabaseId,
    now: Timestamp,
) -> StoreResult<()> {
    for policy in BackupPolicy::defaults_for(database, now) {
        insert(transaction, &policy).await?;
    }
    Ok(())
}

pub(crate) async fn create(pool: &SqlitePool, policy: &BackupPolicy) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    insert(&mut transaction, policy).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn get(
    pool: &SqlitePool,
    database: &DatabaseId,
    id: &BackupPolicyId,
) -> StoreResult<Option<BackupPolicy>> {
    sqlx::query("SELECT * FROM backup_policies WHERE database_id = ? AND id = ?")
        .bind(database.as_str())
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(backup_rows::policy)
        .transpose()
}

pub(crate) async fn list(
    pool: &SqlitePool,
    database: &DatabaseId,
    window: Window,
) -> StoreResult<Page<BackupPolicy>> {
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM backup_policies WHERE database_id = ?")
            .bind(database.as_str())
            .fetch_one(pool)
            .await?;
    let rows = sqlx::query(
        "SELECT * FROM backup_policies WHERE database_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?",
    )
    .bind(database.as_str())
    .bind(window.limit as i64)
    .bind(window.offset as i64)
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items: rows
            .iter()
            .map(backup_rows::policy)
            .collect::<StoreResult<_>>()?,
        total: total.max(0) as u64,
    })
}

pub(crate) async fn update(pool: &SqlitePool, policy: &BackupPolicy) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    write(&mut transaction, policy, None).await?;
    transaction.commit().await?;
    Ok(())
}

/// Writes the mutable fields; with `expected_next_run`, only if `next_run_at` still
/// holds that value. Returns whether a row changed.
async fn write(
    transaction: &mut Transaction<'_, Sqlite>,
    policy: &BackupPolicy,
    expected_next_run: Option<Option<Timestamp>>,
) -> StoreResult<bool> {
    let guard = match expected_next_run {
        Some(_) => " AND next_run_at IS ?",
        None => "",
    };
    // Audited: `guard` is one of two constants; values are bound.
    let query = sqlx::AssertSqlSafe(format!(
        "UPDATE backup_policies SET name = ?, target = ?, retention_value = ?, retention_unit = ?, \
         frequency_value = ?, frequency_unit = ?, schedule_time = ?, schedule_day = ?, schedule_week = ?, \
         updated_at = ?, last_ran_at = ?, next_run_at = ? WHERE id = ?{guard}"
    ));
    let mut statement = sqlx::query(query)
        .bind(&policy.name)
        .bind(policy.target.as_str())
        .bind(policy.retention.value)
        .bind(policy.retention.unit.as_str())
        .bind(policy.frequency.value)
        .bind(policy.frequency.unit.as_str())
        .bind(policy.schedule_time.to_string())
        .bind(policy.schedule_day)
        .bind(policy.schedule_week)
        .bind(policy.updated_at.unix_millis())
        .bind(policy.last_ran_at.map(Timestamp::unix_millis))
        .bind(policy.next_run_at.map(Timestamp::unix_millis))
        .bind(policy.id.as_str());
    if let Some(expected) = expected_next_run {
        statement = statement.bind(expected.map(Timestamp::unix_millis));
    }
    let result = statement.execute(&mut **transaction).await?;
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn delete(pool: &SqlitePool, id: &BackupPolicyId) -> StoreResult<bool> {
    let result = sqlx::query("DELETE FROM backup_policies WHERE id = ?")
        .bind(id.as_str())
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn due(pool: &SqlitePool, now: Timestamp) -> StoreResult<Vec<BackupPolicy>> {
    let rows = sqlx::query(
        "SELECT p.* FROM backup_policies p JOIN databases d ON d.id = p.database_id \
         WHERE d.deleted_at IS NULL AND d.state = 'ready' AND p.next_run_at IS NOT NULL \
         AND p.next_run_at <= ? ORDER BY p.next_run_at",
    )
    .bind(now.unix_millis())
    .fetch_all(pool)
    .await?;
    rows.iter().map(backup_rows::policy).collect()
}

pub(crate) async fn record_run(
    pool: &SqlitePool,
    policy: &BackupPolicy,
    previous_next_run: Option<Timestamp>,
    new_backups: &[(Backup, Option<Job>)],
) -> StoreResult<bool> {
    let mut transaction = pool.begin().await?;
    if !write(&mut transaction, policy, Some(previous_next_run)).await? {
        return Ok(false);
    }
    for (backup, job) in new_backups {
        backups::insert(&mut transaction, backup).await?;
        if let Some(job) = job {
            jobs::insert(&mut transaction, job).await?;
        }
    }
    transaction.commit().await?;
    Ok(true)
}

pub(crate) async fn has_unfinished_backup(
    pool: &SqlitePool,
    branch: &BranchId,
    policy: &BackupPolicyId,
) -> StoreResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM backups WHERE branch_id = ? AND policy_id = ? \
         AND state IN ('pending', 'running') AND deleted_at IS NULL LIMIT 1",
    )
    .bind(branch.as_str())
    .bind(policy.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}
