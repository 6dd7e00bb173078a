//! The embedded metadata store: SQLite in WAL mode under the data dir. WAL lets the
//! server and `dbplane admin bootstrap` use the same file at once; a busy timeout makes
//! concurrent writers wait instead of failing. Every commit is durable
//! (`synchronous=FULL`, see [`SqliteStore::open`]).

mod backup_policies;
mod backup_rows;
mod backups;
mod backups_impl;
mod branch_stats;
mod branches;
mod credentials;
mod data_plane_impl;
mod data_rows;
mod databases;
mod deploys;
mod edge;
mod grants;
mod jobs;
mod organizations;
mod rows;
mod service_tokens;

use crate::{Bootstrapped, DatabaseIdentity, Page, StoreResult, TenantStore, Window};
use async_trait::async_trait;
use dbplane_domain::{
    Access, AccessGrant, DatabaseId, GrantScope, Organization, OrganizationId, ServiceToken,
    ServiceTokenId, Timestamp, User, UserId,
};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

/// File name of the metadata database inside the data dir.
pub const METADATA_FILE: &str = "metadata.sqlite3";

/// SQLite-backed [`MetadataStore`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(METADATA_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL at every commit. NORMAL (syncing only at checkpoints)
            // can lose the last commits to a power loss while the cluster keeps what they
            // recorded: an account, a database, a cut-over table the store then forgets.
            // Measured on this project's VM disk: ~2.1 ms a commit (FULL) against
            // ~0.04 ms (NORMAL), i.e. ~480 sequential commits/s, far above the control
            // plane's write rate (reads, most of the API, do not commit).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // A local file cannot drop a connection the way a network can; skipping the
        // liveness ping saves one thread round trip per query.
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn ensure_organization_with_admin(
        &self,
        organization: Organization,
        admin: User,
    ) -> StoreResult<Bootstrapped> {
        organizations::ensure_with_admin(&self.pool, organization, admin).await
    }

    async fn organization_by_name(&self, name: &str) -> StoreResult<Option<Organization>> {
        organizations::by_name(&self.pool, name).await
    }

    async fn organization_by_id(&self, id: &OrganizationId) -> StoreResult<Option<Organization>> {
        organizations::by_id(&self.pool, id).await
    }

    async fn update_organization(&self, organization: &Organization) -> StoreResult<()> {
        organizations::update(&self.pool, organization).await
    }

    async fn count_databases(&self, organization: &OrganizationId) -> StoreResult<u64> {
        organizations::count_databases(&self.pool, organization).await
    }

    async fn database_by_name(
        &self,
        organization: &OrganizationId,
        name: &str,
    ) -> StoreResult<Option<DatabaseIdentity>> {
        organizations::database_by_name(&self.pool, organization, name).await
    }

    async fn databases_by_ids(&self, ids: &[DatabaseId]) -> StoreResult<Vec<DatabaseIdentity>> {
        organizations::databases_by_ids(&self.pool, ids).await
    }

    async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<User>> {
        organizations::user_by_id(&self.pool, id).await
    }

    async fn create_service_token(
        &self,
        token: &ServiceToken,
        grants: &[AccessGrant],
    ) -> StoreResult<()> {
        service_tokens::create(&self.pool, token, grants).await
    }

    async fn service_token_by_id(&self, id: &ServiceTokenId) -> StoreResult<Option<ServiceToken>> {
        service_tokens::by_id(&self.pool, id).await
    }

    async fn list_service_tokens(
        &self,
        organization: &OrganizationId,
        window: Window,
    ) -> StoreResult<Page<ServiceToken>> {
        service_tokens::list(&self.pool, organization, window).await
    }

    async fn delete_service_token(
        &self,
        organization: &OrganizationId,
        id: &ServiceTokenId,
    ) -> StoreResult<bool> {
        service_tokens::delete(&self.pool, organization, id).await
    }

    async fn touch_service_token(&self, id: &ServiceTokenId, at: Timestamp) -> StoreResult<()> {
        service_tokens::touch(&self.pool, id, at).await
    }

    async fn grants_of(&self, token: &ServiceTokenId) -> StoreResult<Vec<AccessGrant>> {
        grants::of_token(&self.pool, token).await
    }

    async fn add_grants(
        &self,
        token: &ServiceTokenId,
        new_grants: &[AccessGrant],
    ) -> StoreResult<()> {
        let mut transaction = self.pool.begin().await?;
        grants::insert_all(&mut transaction, token, new_grants).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn remove_grants(
        &self,
        token: &ServiceTokenId,
        accesses: &[Access],
        scope: &GrantScope,
    ) -> StoreResult<()> {
        grants::remove(&self.pool, token, accesses, scope).await
    }
}

#[cfg(test)]
mod tests;
