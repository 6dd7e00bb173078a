//! The background refresher of table counts (a task of `serve`): it counts the tables of
//! every database's default branch on its server and stores the figure, so
//! `get_database`/`list_databases` (`default_branch_table_count`) answer from the
//! metadata store and never ask a server per item. A count is at most
//! `jobs.stats_refresh_millis` old (DDL on a branch happens unseen by dbplane).

use crate::clusters::ClusterRegistry;
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::Branch;
use dbplane_engine::physical::PhysicalName;
use dbplane_store::{MetadataStore, StoreResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Most branches one tick counts, so a large deployment spreads its counting out.
const COUNT_BATCH: u64 = 50;

/// Longest one count may take.
const COUNT_TIMEOUT: Duration = Duration::from_secs(5);

fn name_of(branch: &Branch) -> Result<PhysicalName, String> {
    PhysicalName::new(branch.physical_name()).map_err(|e| e.to_string())
}

/// What one tick did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub counted: usize,
    /// Branches whose server did not answer (tried again on a later tick).
    pub failed: usize,
}

/// Counts the tables of the default branches whose count is missing or older than
/// `max_age` as of `now`.
pub async fn tick(
    store: &dyn MetadataStore,
    clusters: &ClusterRegistry,
    now: Timestamp,
    max_age: Duration,
) -> StoreResult<TickReport> {
    let before = Timestamp::from_unix_millis(now.unix_millis() - max_age.as_millis() as i64);
    let mut report = TickReport::default();
    for branch in store.branches_to_count(before, COUNT_BATCH).await? {
        let Some(database) = store.database_by_id(&branch.database_id).await? else {
            continue;
        };
        let counted = match (clusters.for_database(&database), name_of(&branch)) {
            (Ok(endpoint), Ok(name)) => {
                // A server that does not answer must not stall the other counts.
                match tokio::time::timeout(COUNT_TIMEOUT, endpoint.admin.table_names(&name)).await {
                    Ok(Ok(tables)) => Ok(tables.len() as u64),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(_) => Err(format!("no answer in {COUNT_TIMEOUT:?}")),
                }
            }
            (Err(error), _) => Err(error.to_string()),
            (_, Err(error)) => Err(error),
        };
        match counted {
            Ok(count) => {
                store.set_branch_table_count(&branch.id, count, now).await?;
                report.counted += 1;
            }
            Err(error) => {
                tracing::warn!(branch = %branch.id, %error, "cannot count tables");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Ticks every `refresh / 4` (at least every 50 ms, at most every 10 s), and again at
/// once after a full batch, until `shutdown` turns true.
pub async fn run(
    store: Arc<dyn MetadataStore>,
    clusters: Arc<ClusterRegistry>,
    refresh: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = (refresh / 4).clamp(Duration::from_millis(50), Duration::from_secs(10));
    loop {
        if *shutdown.borrow() {
            return;
        }
        match tick(store.as_ref(), &clusters, Timestamp::now(), refresh).await {
            // A full batch counted: more may be due, go on at once (a batch is a
            // sequence of small queries, so this never floods a server).
            Ok(report) if report.counted as u64 == COUNT_BATCH => continue,
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "table count refresh failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}
