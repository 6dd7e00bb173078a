//! Organizations, their users and database identities.

use super::rows;
use crate::{Bootstrapped, DatabaseIdentity, StoreError, StoreResult};
use dbplane_domain::{DatabaseId, Organization, OrganizationId, User, UserId};
use sqlx::SqlitePool;

/// Idempotent: an existing organization (by name) and user (by email) are reused; the
/// user becomes an admin member of the organization either way.
pub(crate) async fn ensure_with_admin(
    pool: &SqlitePool,
    organization: Organization,
    admin: User,
) -> StoreResult<Bootstrapped> {
    // BEGIN IMMEDIATE semantics: take the write lock first so two bootstraps serialize.
    let mut transaction = pool.begin_with("BEGIN IMMEDIATE").await?;
    let existing_org = sqlx::query("SELECT * FROM organizations WHERE name = ?")
        .bind(&organization.name)
        .fetch_optional(&mut *transaction)
        .await?;
    let (organization, organization_created) = match existing_org {
        Some(row) => (rows::organization(&row)?, false),
        None => {
            sqlx::query(
                "INSERT INTO organizations (id, name, billing_email, idp_managed_roles, \
                 invoice_budget_amount, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(organization.id.as_str())
            .bind(&organization.name)
            .bind(&organization.billing_email)
            .bind(organization.idp_managed_roles)
            .bind(organization.invoice_budget_amount)
            .bind(organization.created_at.unix_millis())
            .bind(organization.updated_at.unix_millis())
            .execute(&mut *transaction)
            .await
            .map_err(|e| StoreError::from_write("organization", e))?;
            (organization, true)
        }
    };
    let existing_user = sqlx::query("SELECT * FROM users WHERE email = ?")
        .bind(&admin.email)
        .fetch_optional(&mut *transaction)
        .await?;
    let user = match existing_user {
        Some(row) => rows::user(&row)?,
        None => {
            sqlx::query(
                "INSERT INTO users (id, email, name, default_organization_id, created_at, \
                 updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(admin.id.as_str())
            .bind(&admin.email)
            .bind(&admin.name)
            .bind(organization.id.as_str())
            .bind(admin.created_at.unix_millis())
            .bind(admin.updated_at.unix_millis())
            .execute(&mut *transaction)
            .await
            .map_err(|e| StoreError::from_write("user", e))?;
            User {
                default_organization_id: Some(organization.id.clone()),
                ..admin
            }
        }
    };
    sqlx::query(
        "INSERT INTO organization_members (organization_id, user_id, role, created_at) \
         VALUES (?, ?, 'admin', ?) ON CONFLICT (organization_id, user_id) DO UPDATE SET role = 'admin'",
    )
    .bind(organization.id.as_str())
    .bind(user.id.as_str())
    .bind(user.created_at.unix_millis())
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Bootstrapped {
        organization,
        user,
        organization_created,
    })
}

pub(crate) async fn by_name(pool: &SqlitePool, name: &str) -> StoreResult<Option<Organization>> {
    sqlx::query("SELECT * FROM organizations WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(rows::organization)
        .transpose()
}

pub(crate) async fn by_id(
    pool: &SqlitePool,
    id: &OrganizationId,
) -> StoreResult<Option<Organization>> {
    sqlx::query("SELECT * FROM organizations WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(rows::organization)
        .transpose()
}

pub(crate) async fn update(pool: &SqlitePool, organization: &Organization) -> StoreResult<()> {
    sqlx::query(
        "UPDATE organizations SET billing_email = ?, idp_managed_roles = ?, \
         invoice_budget_amount = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&organization.billing_email)
    .bind(organization.idp_managed_roles)
    .bind(organization.invoice_budget_amount)
    .bind(organization.updated_at.unix_millis())
    .bind(organization.id.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn count_databases(
    pool: &SqlitePool,
    organization: &OrganizationId,
) -> StoreResult<u64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM databases WHERE organization_id = ? AND deleted_at IS NULL",
    )
    .bind(organization.as_str())
    .fetch_one(pool)
    .await?;
    Ok(count.max(0) as u64)
}

pub(crate) async fn database_by_name(
    pool: &SqlitePool,
    organization: &OrganizationId,
    name: &str,
) -> StoreResult<Option<DatabaseIdentity>> {
    sqlx::query("SELECT id, organization_id, name, created_at, updated_at FROM databases WHERE organization_id = ? AND name = ? AND deleted_at IS NULL")
        .bind(organization.as_str())
        .bind(name)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(rows::database_identity)
        .transpose()
}

pub(crate) async fn databases_by_ids(
    pool: &SqlitePool,
    ids: &[DatabaseId],
) -> StoreResult<Vec<DatabaseIdentity>> {
    let mut identities = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(
            "SELECT id, organization_id, name, created_at, updated_at FROM databases WHERE id = ?",
        )
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?;
        if let Some(row) = row {
            identities.push(rows::database_identity(&row)?);
        }
    }
    Ok(identities)
}

pub(crate) async fn user_by_id(pool: &SqlitePool, id: &UserId) -> StoreResult<Option<User>> {
    sqlx::query("SELECT * FROM users WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(rows::user)
        .transpose()
}
