//! What reads show without asking a server, a page at a time: branch counts and default
//! branches of a page of databases in two queries, branches by id, stored table counts.

use super::data_rows;
use crate::data_plane::{BranchCounts, DatabaseSummary};
use crate::{StoreError, StoreResult};
use dbplane_domain::data_plane::{Branch, BranchId, BranchState};
use dbplane_domain::{DatabaseId, Timestamp};
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;

/// `?, ?, ...` for `count` bound values.
fn placeholders(count: usize) -> String {
    vec!["?"; count].join(", ")
}

pub(crate) async fn summaries(
    pool: &SqlitePool,
    databases: &[DatabaseId],
) -> StoreResult<HashMap<DatabaseId, DatabaseSummary>> {
    let mut summaries: HashMap<DatabaseId, DatabaseSummary> = HashMap::new();
    // SQLite binds at most 32766 values; a list page holds at most 100.
    for chunk in databases.chunks(500) {
        let marks = placeholders(chunk.len());
        // Audited: only placeholders are formatted in; values are bound.
        let mut counts = sqlx::query_as::<_, (String, i64, i64, i64)>(sqlx::AssertSqlSafe(
            format!(
                "SELECT b.database_id, COUNT(*), COALESCE(SUM(b.production), 0), COUNT(r.branch_id) \
                 FROM branches b LEFT JOIN branch_restores r ON r.branch_id = b.id \
                 WHERE b.database_id IN ({marks}) AND b.deleted_at IS NULL GROUP BY b.database_id"
            ),
        ));
        for id in chunk {
            counts = counts.bind(id.as_str());
        }
        for (database, total, production, restored) in counts.fetch_all(pool).await? {
            summaries
                .entry(DatabaseId::from_string(database))
                .or_default()
                .counts = BranchCounts {
                total: total.max(0) as u64,
                production: production.max(0) as u64,
                development: (total - production).max(0) as u64,
                restored: restored.max(0) as u64,
            };
        }
        // Audited: as above.
        let mut defaults = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT b.*, c.table_count AS counted_tables FROM branches b \
             LEFT JOIN branch_table_counts c ON c.branch_id = b.id \
             WHERE b.database_id IN ({marks}) AND b.is_default = 1 AND b.deleted_at IS NULL"
        )));
        for id in chunk {
            defaults = defaults.bind(id.as_str());
        }
        for row in defaults.fetch_all(pool).await? {
            let branch = data_rows::branch(&row)?;
            let tables: Option<i64> = row.try_get("counted_tables")?;
            let summary = summaries.entry(branch.database_id.clone()).or_default();
            summary.default_branch_table_count = tables.unwrap_or(0).max(0) as u64;
            summary.default_branch = Some(branch);
        }
    }
    Ok(summaries)
}

pub(crate) async fn set_table_count(
    pool: &SqlitePool,
    branch: &BranchId,
    count: u64,
    at: Timestamp,
) -> StoreResult<()> {
    // A branch purged meanwhile has no row to refer to: nothing to record.
    sqlx::query(
        "INSERT INTO branch_table_counts (branch_id, table_count, counted_at) \
         SELECT id, ?, ? FROM branches WHERE id = ? \
         ON CONFLICT (branch_id) DO UPDATE SET table_count = excluded.table_count, \
         counted_at = excluded.counted_at",
    )
    .bind(count.min(i64::MAX as u64) as i64)
    .bind(at.unix_millis())
    .bind(branch.as_str())
    .execute(pool)
    .await
    .map_err(|e| StoreError::from_write("branch table count", e))?;
    Ok(())
}

pub(crate) async fn to_count(
    pool: &SqlitePool,
    before: Timestamp,
    limit: u64,
) -> StoreResult<Vec<Branch>> {
    sqlx::query(
        "SELECT b.* FROM branches b LEFT JOIN branch_table_counts c ON c.branch_id = b.id \
         WHERE b.is_default = 1 AND b.deleted_at IS NULL AND b.state = ? \
         AND (c.counted_at IS NULL OR c.counted_at < ?) \
         ORDER BY c.counted_at IS NOT NULL, c.counted_at, b.id LIMIT ?",
    )
    .bind(BranchState::Ready.as_str())
    .bind(before.unix_millis())
    .bind(limit.min(i64::MAX as u64) as i64)
    .fetch_all(pool)
    .await?
    .iter()
    .map(data_rows::branch)
    .collect()
}

pub(crate) async fn by_ids(pool: &SqlitePool, ids: &[BranchId]) -> StoreResult<Vec<Branch>> {
    let mut branches = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        // Audited: only placeholders are formatted in; values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM branches WHERE id IN ({})",
            placeholders(chunk.len())
        )));
        for id in chunk {
            query = query.bind(id.as_str());
        }
        for row in query.fetch_all(pool).await? {
            branches.push(data_rows::branch(&row)?);
        }
    }
    Ok(branches)
}
