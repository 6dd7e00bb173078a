//! The store suite (see `conformance`) on SQLite files in temporary directories, and
//! what only SQLite has.

use super::SqliteStore;
use crate::conformance::TestBackend;
use async_trait::async_trait;

/// A SQLite store in its own temporary directory.
struct Sqlite(tempfile::TempDir);

#[async_trait]
impl TestBackend for Sqlite {
    type Store = SqliteStore;

    async fn create() -> Self {
        Sqlite(tempfile::tempdir().expect("create a temporary directory"))
    }

    async fn open(&self) -> SqliteStore {
        SqliteStore::open(self.0.path())
            .await
            .expect("open the SQLite store")
    }

    async fn close(&self, store: SqliteStore) {
        store.close().await;
    }
}

crate::store_conformance_suite!(Sqlite);

/// Every connection commits durably: WAL with `synchronous=FULL` (2), so a power loss
/// cannot forget a commit (an account the cluster still has).
#[tokio::test]
async fn every_connection_commits_durably() {
    let backend = Sqlite::create().await;
    let store = backend.open().await;
    // More acquisitions than the pool's minimum, so new connections are checked too.
    let mut connections = Vec::new();
    for _ in 0..3 {
        connections.push(store.pool.acquire().await.unwrap());
    }
    for connection in &mut connections {
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut **connection)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut **connection)
            .await
            .unwrap();
        assert_eq!(synchronous, 2, "FULL");
    }
}
