//! The connection edge's inventory and statistics on SQLite.

use super::{SqliteStore, data_rows};
use crate::StoreResult;
use crate::edge::{EdgeInventory, EdgeStore, QueryStatsRow, TableUsage};
use async_trait::async_trait;
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::BranchId;

#[async_trait]
impl EdgeStore for SqliteStore {
    async fn edge_inventory(&self) -> StoreResult<EdgeInventory> {
        let mut transaction = self.pool.begin().await?;
        let databases = sqlx::query(
            "SELECT * FROM databases WHERE kind = 'mysql' AND state = 'ready' AND deleted_at IS NULL",
        )
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(data_rows::database)
        .collect::<StoreResult<Vec<_>>>()?;
        let branches = sqlx::query(
            "SELECT b.* FROM branches b JOIN databases d ON d.id = b.database_id \
             WHERE d.kind = 'mysql' AND d.deleted_at IS NULL AND b.state = 'ready' AND b.deleted_at IS NULL",
        )
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(data_rows::branch)
        .collect::<StoreResult<Vec<_>>>()?;
        let credentials = sqlx::query(
            "SELECT c.* FROM credentials c JOIN branches b ON b.id = c.branch_id \
             JOIN databases d ON d.id = b.database_id \
             WHERE d.kind = 'mysql' AND d.deleted_at IS NULL AND b.deleted_at IS NULL AND c.state = 'active'",
        )
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(data_rows::credential)
        .collect::<StoreResult<Vec<_>>>()?;
        transaction.commit().await?;
        Ok(EdgeInventory {
            databases,
            branches,
            credentials,
        })
    }

    async fn record_query_stats(
        &self,
        rows: &[QueryStatsRow],
        tables: &[TableUsage],
        keep_after: Timestamp,
    ) -> StoreResult<()> {
        let mut transaction = self.pool.begin().await?;
        for row in rows {
            sqlx::query(
                "INSERT INTO query_stats (branch_id, period_start, fingerprint, verb, tables, count, errors, \
                 last_error, total_micros, max_micros, rows_returned, rows_affected, latency_buckets, first_seen, last_seen) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (branch_id, period_start, fingerprint) DO UPDATE SET \
                 count = count + excluded.count, errors = errors + excluded.errors, \
                 last_error = COALESCE(excluded.last_error, last_error), \
                 total_micros = total_micros + excluded.total_micros, \
                 max_micros = MAX(max_micros, excluded.max_micros), \
                 rows_returned = rows_returned + excluded.rows_returned, \
                 rows_affected = rows_affected + excluded.rows_affected, \
                 latency_buckets = excluded.latency_buckets, \
                 first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen)",
            )
            .bind(&row.branch_id)
            .bind(row.period_start)
            .bind(&row.fingerprint)
            .bind(&row.verb)
            .bind(&row.tables)
            .bind(row.count)
            .bind(row.errors)
            .bind(row.last_error)
            .bind(row.total_micros)
            .bind(row.max_micros)
            .bind(row.rows_returned)
            .bind(row.rows_affected)
            .bind(merged_buckets(&mut transaction, row).await?)
            .bind(row.first_seen)
            .bind(row.last_seen)
            .execute(&mut *transaction)
            .await?;
        }
        for usage in tables {
            sqlx::query(
                "INSERT INTO table_usage (branch_id, table_name, last_used_at) VALUES (?, ?, ?) \
                 ON CONFLICT (branch_id, table_name) DO UPDATE SET \
                 last_used_at = MAX(last_used_at, excluded.last_used_at)",
            )
            .bind(usage.branch_id.as_str())
            .bind(&usage.table)
            .bind(usage.last_used_at.unix_millis())
            .execute(&mut *transaction)
            .await?;
        }
        sqlx::query("DELETE FROM query_stats WHERE period_start < ?")
            .bind(keep_after.unix_millis())
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn query_stats(
        &self,
        branch: &BranchId,
        since: Timestamp,
    ) -> StoreResult<Vec<QueryStatsRow>> {
        Ok(sqlx::query_as::<_, QueryStatsRow>(
            "SELECT * FROM query_stats WHERE branch_id = ? AND period_start >= ? \
             ORDER BY period_start, fingerprint",
        )
        .bind(branch.as_str())
        .bind(since.unix_millis())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn table_usage(&self, branch: &BranchId) -> StoreResult<Vec<TableUsage>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT table_name, last_used_at FROM table_usage WHERE branch_id = ? ORDER BY table_name",
        )
        .bind(branch.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(table, at)| TableUsage {
                branch_id: branch.clone(),
                table,
                last_used_at: Timestamp::from_unix_millis(at),
            })
            .collect())
    }
}

/// The latency buckets of `row` added to those already stored for its key.
async fn merged_buckets(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    row: &QueryStatsRow,
) -> StoreResult<String> {
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT latency_buckets FROM query_stats WHERE branch_id = ? AND period_start = ? AND fingerprint = ?",
    )
    .bind(&row.branch_id)
    .bind(row.period_start)
    .bind(&row.fingerprint)
    .fetch_optional(&mut **transaction)
    .await?;
    let Some(stored) = stored else {
        return Ok(row.latency_buckets.clone());
    };
    let parse =
        |text: &str| -> Vec<i64> { text.split(',').filter_map(|n| n.parse().ok()).collect() };
    let (mut sum, add) = (parse(&stored), parse(&row.latency_buckets));
    if sum.len() < add.len() {
        sum.resize(add.len(), 0);
    }
    for (total, more) in sum.iter_mut().zip(add) {
        *total += more;
    }
    Ok(sum.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
}
