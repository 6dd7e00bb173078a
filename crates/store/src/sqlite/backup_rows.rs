//! Decoding backup and backup-policy rows.

use crate::{StoreError, StoreResult};
use dbplane_domain::backups::{
    Backup, BackupId, BackupPolicy, BackupPolicyId, BackupState, Period, PeriodUnit, PolicyTarget,
    ScheduleTime,
};
use dbplane_domain::data_plane::BranchId;
use dbplane_domain::{DatabaseId, Timestamp, UserId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

fn parse<T: std::str::FromStr>(entity: &'static str, column: &str, text: String) -> StoreResult<T> {
    text.parse::<T>().map_err(|_| StoreError::Corrupt {
        entity,
        detail: format!("bad {column} {text:?}"),
    })
}

fn time(row: &SqliteRow, column: &str) -> StoreResult<Timestamp> {
    Ok(Timestamp::from_unix_millis(row.try_get(column)?))
}

fn optional_time(row: &SqliteRow, column: &str) -> StoreResult<Option<Timestamp>> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .map(Timestamp::from_unix_millis))
}

fn period(row: &SqliteRow, entity: &'static str, prefix: &str) -> StoreResult<Period> {
    Ok(Period {
        value: row.try_get(format!("{prefix}_value").as_str())?,
        unit: parse::<PeriodUnit>(
            entity,
            prefix,
            row.try_get(format!("{prefix}_unit").as_str())?,
        )?,
    })
}

pub(crate) fn backup(row: &SqliteRow) -> StoreResult<Backup> {
    Ok(Backup {
        id: BackupId::from_string(row.try_get::<String, _>("id")?),
        branch_id: BranchId::from_string(row.try_get::<String, _>("branch_id")?),
        database_id: DatabaseId::from_string(row.try_get::<String, _>("database_id")?),
        name: row.try_get("name")?,
        state: parse::<BackupState>("backup", "state", row.try_get("state")?)?,
        size: row.try_get("size")?,
        uncompressed_size: row.try_get("uncompressed_size")?,
        retention: period(row, "backup", "retention")?,
        protected: row.try_get("protected")?,
        required: row.try_get("required")?,
        emergency: row.try_get("emergency")?,
        policy_id: row
            .try_get::<Option<String>, _>("policy_id")?
            .map(BackupPolicyId::from_string),
        schema_snapshot: row.try_get("schema_snapshot")?,
        created_by: row
            .try_get::<Option<String>, _>("created_by")?
            .map(UserId::from_string),
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        started_at: optional_time(row, "started_at")?,
        completed_at: optional_time(row, "completed_at")?,
        expires_at: optional_time(row, "expires_at")?,
        deleted_at: optional_time(row, "deleted_at")?,
    })
}

pub(crate) fn policy(row: &SqliteRow) -> StoreResult<BackupPolicy> {
    let schedule_time: String = row.try_get("schedule_time")?;
    Ok(BackupPolicy {
        id: BackupPolicyId::from_string(row.try_get::<String, _>("id")?),
        database_id: DatabaseId::from_string(row.try_get::<String, _>("database_id")?),
        name: row.try_get("name")?,
        target: parse::<PolicyTarget>("backup policy", "target", row.try_get("target")?)?,
        retention: period(row, "backup policy", "retention")?,
        frequency: period(row, "backup policy", "frequency")?,
        schedule_time: ScheduleTime::parse(&schedule_time).ok_or_else(|| StoreError::Corrupt {
            entity: "backup policy",
            detail: format!("bad schedule_time {schedule_time:?}"),
        })?,
        schedule_day: row.try_get("schedule_day")?,
        schedule_week: row.try_get("schedule_week")?,
        required: row.try_get("required")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        last_ran_at: optional_time(row, "last_ran_at")?,
        next_run_at: optional_time(row, "next_run_at")?,
    })
}
