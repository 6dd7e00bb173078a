//! Branch credentials (passwords and roles) on SQLite.

use super::{data_rows, jobs};
use crate::{Page, StoreError, StoreResult, Window};
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::{BranchId, Credential, CredentialId};
use dbplane_domain::jobs::{Job, JobId};
use sqlx::SqlitePool;

pub(crate) async fn insert(
    pool: &SqlitePool,
    credential: &Credential,
    new_jobs: &[Job],
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    sqlx::query(
        "INSERT INTO credentials (id, branch_id, name, role, inherited_roles, replica, is_default, state, \
         created_by, created_at, updated_at, expires_at, ttl_seconds, last_used_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(credential.id.as_str())
    .bind(credential.branch_id.as_str())
    .bind(&credential.name)
    .bind(credential.role.as_str())
    .bind(credential.inherited_roles.join(","))
    .bind(credential.replica)
    .bind(credential.is_default)
    .bind(credential.state.as_str())
    .bind(credential.created_by.as_ref().map(|u| u.as_str().to_string()))
    .bind(credential.created_at.unix_millis())
    .bind(credential.updated_at.unix_millis())
    .bind(credential.expires_at.map(Timestamp::unix_millis))
    .bind(credential.ttl_seconds)
    .bind(credential.last_used_at.map(Timestamp::unix_millis))
    .execute(&mut *transaction)
    .await
    .map_err(|e| StoreError::from_write("credential", e))?;
    for job in new_jobs {
        jobs::insert(&mut transaction, job).await?;
    }
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn get(
    pool: &SqlitePool,
    branch: &BranchId,
    id: &CredentialId,
) -> StoreResult<Option<Credential>> {
    sqlx::query("SELECT * FROM credentials WHERE branch_id = ? AND id = ? AND state = 'active'")
        .bind(branch.as_str())
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(data_rows::credential)
        .transpose()
}

pub(crate) async fn by_id(pool: &SqlitePool, id: &CredentialId) -> StoreResult<Option<Credential>> {
    sqlx::query("SELECT * FROM credentials WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(data_rows::credential)
        .transpose()
}

pub(crate) async fn list(
    pool: &SqlitePool,
    branch: &BranchId,
    window: Window,
) -> StoreResult<Page<Credential>> {
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM credentials WHERE branch_id = ? AND state = 'active'",
    )
    .bind(branch.as_str())
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query(
        "SELECT * FROM credentials WHERE branch_id = ? AND state = 'active' ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
    )
    .bind(branch.as_str())
    .bind(window.limit as i64)
    .bind(window.offset as i64)
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items: rows
            .iter()
            .map(data_rows::credential)
            .collect::<StoreResult<_>>()?,
        total: total.max(0) as u64,
    })
}

pub(crate) async fn all(pool: &SqlitePool, branch: &BranchId) -> StoreResult<Vec<Credential>> {
    let rows = sqlx::query("SELECT * FROM credentials WHERE branch_id = ? ORDER BY created_at")
        .bind(branch.as_str())
        .fetch_all(pool)
        .await?;
    rows.iter().map(data_rows::credential).collect()
}

pub(crate) async fn update(pool: &SqlitePool, credential: &Credential) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    write(&mut transaction, credential).await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn update_with_job(
    pool: &SqlitePool,
    credential: &Credential,
    job: &Job,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    write(&mut transaction, credential).await?;
    jobs::insert(&mut transaction, job).await?;
    transaction.commit().await?;
    Ok(())
}

async fn write(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    credential: &Credential,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE credentials SET name = ?, state = ?, updated_at = ?, expires_at = ?, ttl_seconds = ?, \
         last_used_at = ? WHERE id = ?",
    )
    .bind(&credential.name)
    .bind(credential.state.as_str())
    .bind(credential.updated_at.unix_millis())
    .bind(credential.expires_at.map(Timestamp::unix_millis))
    .bind(credential.ttl_seconds)
    .bind(credential.last_used_at.map(Timestamp::unix_millis))
    .bind(credential.id.as_str())
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

pub(crate) async fn delete(
    pool: &SqlitePool,
    id: &CredentialId,
    job: Option<(&JobId, i64)>,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    if let Some((job, epoch)) = job
        && !jobs::complete_in(&mut transaction, job, epoch).await?
    {
        return Ok(());
    }
    sqlx::query("DELETE FROM credentials WHERE id = ?")
        .bind(id.as_str())
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn default_of(
    pool: &SqlitePool,
    branch: &BranchId,
) -> StoreResult<Option<Credential>> {
    sqlx::query("SELECT * FROM credentials WHERE branch_id = ? AND is_default = 1")
        .bind(branch.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(data_rows::credential)
        .transpose()
}
