//! What the connection edge needs from the store and gives back: the inventory its route
//! table is built from, and the statistics of the statements it served.

use crate::StoreResult;
use async_trait::async_trait;
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::{Branch, BranchId, Credential, Database};

/// Every live MySQL database, its ready branches and their active passwords.
#[derive(Clone, Debug, Default)]
pub struct EdgeInventory {
    pub databases: Vec<Database>,
    pub branches: Vec<Branch>,
    pub credentials: Vec<Credential>,
}

/// One fingerprint's statements on one branch in one period.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct QueryStatsRow {
    pub branch_id: String,
    /// Start of the period (a minute), Unix milliseconds.
    pub period_start: i64,
    pub fingerprint: String,
    pub verb: String,
    /// The tables the statements named, comma-separated.
    pub tables: String,
    pub count: i64,
    pub errors: i64,
    pub last_error: Option<i64>,
    pub total_micros: i64,
    pub max_micros: i64,
    pub rows_returned: i64,
    pub rows_affected: i64,
    /// Counts per latency bucket (bucket `i`: under `2^i` µs), comma-separated.
    pub latency_buckets: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// When a branch's table was last named by a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableUsage {
    pub branch_id: BranchId,
    pub table: String,
    pub last_used_at: Timestamp,
}

#[async_trait]
pub trait EdgeStore: Send + Sync + 'static {
    /// The route table's inventory, in one read.
    async fn edge_inventory(&self) -> StoreResult<EdgeInventory>;

    /// Adds statistics (rows of the same branch, period and fingerprint are summed) and
    /// table usage (the later time wins), and drops statistics older than `keep_after`,
    /// in one transaction.
    async fn record_query_stats(
        &self,
        rows: &[QueryStatsRow],
        tables: &[TableUsage],
        keep_after: Timestamp,
    ) -> StoreResult<()>;

    /// Statistics of a branch from `since` on, oldest period first.
    async fn query_stats(
        &self,
        branch: &BranchId,
        since: Timestamp,
    ) -> StoreResult<Vec<QueryStatsRow>>;

    /// When each table of a branch was last used.
    async fn table_usage(&self, branch: &BranchId) -> StoreResult<Vec<TableUsage>>;
}
