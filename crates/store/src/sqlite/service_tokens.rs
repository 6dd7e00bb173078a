//! Service tokens.

use super::{grants, rows};
use crate::{Page, StoreError, StoreResult, Window};
use dbplane_domain::{AccessGrant, OrganizationId, ServiceToken, ServiceTokenId, Timestamp};
use sqlx::SqlitePool;

pub(crate) async fn create(
    pool: &SqlitePool,
    token: &ServiceToken,
    initial_grants: &[AccessGrant],
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    sqlx::query(
        "INSERT INTO service_tokens (id, organization_id, user_id, name, secret_sha256, \
         created_at, updated_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(token.id.as_str())
    .bind(token.organization_id.as_str())
    .bind(token.user_id.as_str())
    .bind(token.name.as_deref())
    .bind(token.secret_digest.as_str())
    .bind(token.created_at.unix_millis())
    .bind(token.updated_at.unix_millis())
    .bind(token.expires_at.map(Timestamp::unix_millis))
    .bind(token.last_used_at.map(Timestamp::unix_millis))
    .execute(&mut *transaction)
    .await
    .map_err(|e| StoreError::from_write("service token", e))?;
    grants::insert_all(&mut transaction, &token.id, initial_grants).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn by_id(
    pool: &SqlitePool,
    id: &ServiceTokenId,
) -> StoreResult<Option<ServiceToken>> {
    sqlx::query("SELECT * FROM service_tokens WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(rows::service_token)
        .transpose()
}

pub(crate) async fn list(
    pool: &SqlitePool,
    organization: &OrganizationId,
    window: Window,
) -> StoreResult<Page<ServiceToken>> {
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM service_tokens WHERE organization_id = ?")
            .bind(organization.as_str())
            .fetch_one(pool)
            .await?;
    let rows = sqlx::query(
        "SELECT * FROM service_tokens WHERE organization_id = ? \
         ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
    )
    .bind(organization.as_str())
    .bind(window.limit as i64)
    .bind(window.offset as i64)
    .fetch_all(pool)
    .await?;
    let items = rows
        .iter()
        .map(rows::service_token)
        .collect::<StoreResult<_>>()?;
    Ok(Page {
        items,
        total: total.max(0) as u64,
    })
}

pub(crate) async fn delete(
    pool: &SqlitePool,
    organization: &OrganizationId,
    id: &ServiceTokenId,
) -> StoreResult<bool> {
    let result = sqlx::query("DELETE FROM service_tokens WHERE id = ? AND organization_id = ?")
        .bind(id.as_str())
        .bind(organization.as_str())
        .execute(pool)
        .await?;
    Ok(result.rows_affected() > 0)
}

pub(crate) async fn touch(
    pool: &SqlitePool,
    id: &ServiceTokenId,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE service_tokens SET last_used_at = ? \
         WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
    )
    .bind(at.unix_millis())
    .bind(id.as_str())
    .bind(at.unix_millis())
    .execute(pool)
    .await?;
    Ok(())
}
