//! Statement statistics: drained from the edge into the store once per interval, each
//! aggregate filed under the minute it was drained in; and which tables were used
//! recently, for deploy requests.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::BranchId;
use dbplane_edge::Snapshot;
use dbplane_store::{MetadataStore, QueryStatsRow, StoreResult, TableUsage};

use super::EdgeLink;

/// Writes one drained snapshot; statistics older than `retention` go.
pub async fn flush(
    store: &dyn MetadataStore,
    snapshot: Snapshot,
    retention: Duration,
) -> StoreResult<()> {
    if snapshot.fingerprints.is_empty() && snapshot.tables.is_empty() {
        return Ok(());
    }
    let now = Timestamp::now().unix_millis();
    let period_start = now - now.rem_euclid(60_000);
    let rows: Vec<QueryStatsRow> = snapshot
        .fingerprints
        .into_iter()
        .map(|stats| {
            let aggregate = stats.aggregate;
            QueryStatsRow {
                branch_id: stats.branch_id,
                period_start,
                fingerprint: stats.fingerprint,
                verb: aggregate.verb,
                tables: aggregate.tables.join(","),
                count: aggregate.count as i64,
                errors: aggregate.errors as i64,
                last_error: aggregate.last_error.map(i64::from),
                total_micros: aggregate.total_time.as_micros() as i64,
                max_micros: aggregate.max_time.as_micros() as i64,
                rows_returned: aggregate.rows_returned as i64,
                rows_affected: aggregate.rows_affected as i64,
                latency_buckets: aggregate
                    .latency_buckets
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                first_seen: millis(aggregate.first_seen),
                last_seen: millis(aggregate.last_seen),
            }
        })
        .collect();
    let tables: Vec<TableUsage> = snapshot
        .tables
        .into_iter()
        .map(|usage| TableUsage {
            branch_id: BranchId::from_string(usage.branch_id),
            table: usage.table,
            last_used_at: Timestamp::from_unix_millis(millis(usage.last_used)),
        })
        .collect();
    let keep_after = Timestamp::from_unix_millis(now - retention.as_millis() as i64);
    store.record_query_stats(&rows, &tables, keep_after).await
}

fn millis(at: std::time::SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Drains the edge every `interval` until `stop`, and once more at the end.
pub async fn run(
    link: EdgeLink,
    store: Arc<dyn MetadataStore>,
    interval: Duration,
    retention: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(interval) => false,
            _ = stop.changed() => true,
        };
        if let Err(error) = flush(store.as_ref(), link.edge.drain_stats(), retention).await {
            tracing::warn!(%error, "storing the edge's statement statistics");
        }
        if stopping {
            return;
        }
    }
}

/// When each table of `branch` was last used, if within `window`.
pub async fn recently_used(
    store: &dyn MetadataStore,
    branch: &BranchId,
    window: Duration,
) -> StoreResult<Vec<(String, Timestamp)>> {
    let since = Timestamp::now().unix_millis() - window.as_millis() as i64;
    Ok(store
        .table_usage(branch)
        .await?
        .into_iter()
        .filter(|usage| usage.last_used_at.unix_millis() >= since)
        .map(|usage| (usage.table, usage.last_used_at))
        .collect())
}
