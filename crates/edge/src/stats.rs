//! What every statement did, aggregated per branch and fingerprint in bounded memory.
//!
//! Sessions record into one of a few shards (so 64 busy sessions do not contend on one
//! lock); the control plane drains the aggregates periodically into its store, where query
//! insights and deploy requests' `table_recently_used` read them. Between two drains a
//! branch keeps at most a configured number of fingerprints (the rest count under
//! [`OTHER_FINGERPRINT`]) and tables, so memory is bounded whatever the workload.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Where statements beyond a branch's fingerprint budget are counted.
pub const OTHER_FINGERPRINT: &str = "<other statements>";
const SHARDS: usize = 16;
/// Latency buckets: bucket `i` counts durations below `2^i` microseconds.
pub const LATENCY_BUCKETS: usize = 32;
/// Tables remembered per branch between drains.
const MAX_TABLES_PER_BRANCH: usize = 4096;

/// One statement, as the session saw it.
pub struct Statement<'a> {
    pub branch_id: &'a str,
    pub fingerprint: &'a str,
    /// The statement's verb (`SELECT`, `INSERT`, …).
    pub verb: &'a str,
    pub tables: &'a [String],
    pub duration: Duration,
    pub rows_returned: u64,
    pub rows_affected: u64,
    /// The MySQL error code, when it failed.
    pub error: Option<u16>,
}

/// A fingerprint's totals since the last drain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aggregate {
    pub verb: String,
    pub tables: Vec<String>,
    pub count: u64,
    pub errors: u64,
    pub last_error: Option<u16>,
    pub total_time: Duration,
    pub max_time: Duration,
    pub rows_returned: u64,
    pub rows_affected: u64,
    pub latency_buckets: [u32; LATENCY_BUCKETS],
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
}

impl Aggregate {
    fn new(statement: &Statement<'_>, now: SystemTime) -> Self {
        Aggregate {
            verb: statement.verb.to_string(),
            tables: statement.tables.to_vec(),
            count: 0,
            errors: 0,
            last_error: None,
            total_time: Duration::ZERO,
            max_time: Duration::ZERO,
            rows_returned: 0,
            rows_affected: 0,
            latency_buckets: [0; LATENCY_BUCKETS],
            first_seen: now,
            last_seen: now,
        }
    }

    fn add(&mut self, statement: &Statement<'_>, now: SystemTime) {
        self.count += 1;
        if let Some(code) = statement.error {
            self.errors += 1;
            self.last_error = Some(code);
        }
        self.total_time += statement.duration;
        self.max_time = self.max_time.max(statement.duration);
        self.rows_returned += statement.rows_returned;
        self.rows_affected += statement.rows_affected;
        self.latency_buckets[latency_bucket(statement.duration)] += 1;
        self.last_seen = now;
    }
}

/// The bucket of a duration: `ceil(log2(µs))`, capped.
pub fn latency_bucket(duration: Duration) -> usize {
    let micros = duration.as_micros().max(1) as u64;
    (64 - (micros - 1).leading_zeros() as usize).min(LATENCY_BUCKETS - 1)
}

/// A drained fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FingerprintStats {
    pub branch_id: String,
    pub fingerprint: String,
    pub aggregate: Aggregate,
}

/// When a branch's table was last named by a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableUse {
    pub branch_id: String,
    pub table: String,
    pub last_used: SystemTime,
}

/// What a drain returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub fingerprints: Vec<FingerprintStats>,
    pub tables: Vec<TableUse>,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<(String, String), Aggregate>,
    per_branch: HashMap<String, usize>,
    tables: HashMap<String, HashMap<String, SystemTime>>,
}

/// The aggregates.
pub struct QueryStats {
    shards: Vec<Mutex<Shard>>,
    per_shard_budget: usize,
}

impl QueryStats {
    pub fn new(max_fingerprints_per_branch: usize) -> Self {
        QueryStats {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard_budget: max_fingerprints_per_branch.div_ceil(SHARDS).max(1),
        }
    }

    pub fn record(&self, statement: &Statement<'_>) {
        let now = SystemTime::now();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        statement.branch_id.hash(&mut hasher);
        statement.fingerprint.hash(&mut hasher);
        let shard = &self.shards[hasher.finish() as usize % SHARDS];
        let mut shard = shard.lock().expect("stats lock");
        let shard = &mut *shard;
        let key = (
            statement.branch_id.to_string(),
            statement.fingerprint.to_string(),
        );
        if let Some(aggregate) = shard.entries.get_mut(&key) {
            aggregate.add(statement, now);
        } else {
            let used = shard.per_branch.entry(key.0.clone()).or_default();
            let key = if *used < self.per_shard_budget {
                *used += 1;
                key
            } else {
                (key.0, OTHER_FINGERPRINT.to_string())
            };
            shard
                .entries
                .entry(key)
                .or_insert_with(|| Aggregate::new(statement, now))
                .add(statement, now);
        }
        if !statement.tables.is_empty() {
            let tables = shard
                .tables
                .entry(statement.branch_id.to_string())
                .or_default();
            for table in statement.tables {
                if let Some(seen) = tables.get_mut(table) {
                    *seen = now;
                } else if tables.len() < MAX_TABLES_PER_BRANCH {
                    tables.insert(table.clone(), now);
                }
            }
        }
    }

    /// Everything aggregated since the last drain (and forgets it).
    pub fn drain(&self) -> Snapshot {
        let mut snapshot = Snapshot::default();
        let mut tables: HashMap<(String, String), SystemTime> = HashMap::new();
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().expect("stats lock"));
            for ((branch_id, fingerprint), aggregate) in taken.entries {
                snapshot.fingerprints.push(FingerprintStats {
                    branch_id,
                    fingerprint,
                    aggregate,
                });
            }
            for (branch_id, used) in taken.tables {
                for (table, last_used) in used {
                    let seen = tables
                        .entry((branch_id.clone(), table))
                        .or_insert(last_used);
                    *seen = (*seen).max(last_used);
                }
            }
        }
        snapshot.tables = tables
            .into_iter()
            .map(|((branch_id, table), last_used)| TableUse {
                branch_id,
                table,
                last_used,
            })
            .collect();
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement<'a>(fingerprint: &'a str, tables: &'a [String]) -> Statement<'a> {
        Statement {
            branch_id: "b1",
            fingerprint,
            verb: "SELECT",
            tables,
            duration: Duration::from_micros(300),
            rows_returned: 2,
            rows_affected: 0,
            error: None,
        }
    }

    #[test]
    fn statements_aggregate_by_fingerprint_within_a_budget() {
        let stats = QueryStats::new(SHARDS);
        let tables = vec!["items".to_string()];
        for _ in 0..3 {
            stats.record(&statement("SELECT * FROM items WHERE id = ?", &tables));
        }
        for i in 0..200 {
            stats.record(&statement(&format!("SELECT {i}"), &[]));
        }
        let snapshot = stats.drain();
        let items = snapshot
            .fingerprints
            .iter()
            .find(|f| f.fingerprint == "SELECT * FROM items WHERE id = ?")
            .unwrap();
        assert_eq!(items.aggregate.count, 3);
        assert_eq!(items.aggregate.rows_returned, 6);
        assert_eq!(
            items.aggregate.latency_buckets[latency_bucket(Duration::from_micros(300))],
            3
        );
        // Bounded: at most one fingerprint per shard, plus the overflow entries.
        assert!(snapshot.fingerprints.len() <= 2 * SHARDS);
        let total: u64 = snapshot
            .fingerprints
            .iter()
            .map(|f| f.aggregate.count)
            .sum();
        assert_eq!(total, 203);
        assert_eq!(snapshot.tables.len(), 1);
        assert_eq!(stats.drain(), Snapshot::default());
    }

    #[test]
    fn latency_buckets_are_powers_of_two() {
        assert_eq!(latency_bucket(Duration::ZERO), 0);
        assert_eq!(latency_bucket(Duration::from_micros(1)), 0);
        assert_eq!(latency_bucket(Duration::from_micros(2)), 1);
        assert_eq!(latency_bucket(Duration::from_micros(1000)), 10);
        assert_eq!(
            latency_bucket(Duration::from_secs(100_000)),
            LATENCY_BUCKETS - 1
        );
    }
}
