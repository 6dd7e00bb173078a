//! Access grants of service tokens.

use super::rows;
use crate::StoreResult;
use dbplane_domain::{Access, AccessGrant, GrantScope, ServiceTokenId, Timestamp};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub(crate) async fn of_token(
    pool: &SqlitePool,
    token: &ServiceTokenId,
) -> StoreResult<Vec<AccessGrant>> {
    let rows = sqlx::query(
        "SELECT id, access, scope_type, scope_id FROM service_token_grants \
         WHERE token_id = ? ORDER BY created_at, id",
    )
    .bind(token.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::grant).collect()
}

/// Inserts grants inside the caller's transaction; existing identical grants are kept
/// as they are (`ON CONFLICT DO NOTHING`), which makes the call idempotent.
pub(crate) async fn insert_all(
    transaction: &mut Transaction<'_, Sqlite>,
    token: &ServiceTokenId,
    grants: &[AccessGrant],
) -> StoreResult<()> {
    let now = Timestamp::now().unix_millis();
    for grant in grants {
        let (scope_type, scope_id) = rows::scope_columns(&grant.scope);
        sqlx::query(
            "INSERT INTO service_token_grants (id, token_id, access, scope_type, scope_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_id, access, scope_type, scope_id) DO NOTHING",
        )
        .bind(grant.id.as_str())
        .bind(token.as_str())
        .bind(grant.access.name())
        .bind(scope_type)
        .bind(scope_id)
        .bind(now)
        .execute(&mut **transaction)
        .await?;
    }
    Ok(())
}

pub(crate) async fn remove(
    pool: &SqlitePool,
    token: &ServiceTokenId,
    accesses: &[Access],
    scope: &GrantScope,
) -> StoreResult<()> {
    let (scope_type, scope_id) = rows::scope_columns(scope);
    let mut transaction = pool.begin().await?;
    for access in accesses {
        sqlx::query(
            "DELETE FROM service_token_grants \
             WHERE token_id = ? AND access = ? AND scope_type = ? AND scope_id = ?",
        )
        .bind(token.as_str())
        .bind(access.name())
        .bind(scope_type)
        .bind(scope_id)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}
