//! Decoding rows into domain records. Bad rows become `StoreError::Corrupt`, never a
//! panic.

use crate::{DatabaseIdentity, StoreError, StoreResult};
use dbplane_domain::secret::SecretDigest;
use dbplane_domain::{
    Access, AccessGrant, DatabaseId, GrantId, GrantScope, Organization, OrganizationId,
    ServiceToken, ServiceTokenId, Timestamp, User, UserId,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub(crate) fn organization(row: &SqliteRow) -> StoreResult<Organization> {
    Ok(Organization {
        id: OrganizationId::from_string(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        billing_email: row.try_get("billing_email")?,
        idp_managed_roles: row.try_get("idp_managed_roles")?,
        invoice_budget_amount: row.try_get("invoice_budget_amount")?,
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_millis(row.try_get("updated_at")?),
    })
}

pub(crate) fn user(row: &SqliteRow) -> StoreResult<User> {
    Ok(User {
        id: UserId::from_string(row.try_get::<String, _>("id")?),
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        default_organization_id: row
            .try_get::<Option<String>, _>("default_organization_id")?
            .map(OrganizationId::from_string),
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_millis(row.try_get("updated_at")?),
    })
}

pub(crate) fn database_identity(row: &SqliteRow) -> StoreResult<DatabaseIdentity> {
    Ok(DatabaseIdentity {
        id: DatabaseId::from_string(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::from_string(row.try_get::<String, _>("organization_id")?),
        name: row.try_get("name")?,
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_millis(row.try_get("updated_at")?),
    })
}

pub(crate) fn service_token(row: &SqliteRow) -> StoreResult<ServiceToken> {
    Ok(ServiceToken {
        id: ServiceTokenId::from_string(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::from_string(row.try_get::<String, _>("organization_id")?),
        user_id: UserId::from_string(row.try_get::<String, _>("user_id")?),
        name: row.try_get("name")?,
        secret_digest: SecretDigest::from_stored(row.try_get("secret_sha256")?),
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_millis(row.try_get("updated_at")?),
        expires_at: row
            .try_get::<Option<i64>, _>("expires_at")?
            .map(Timestamp::from_unix_millis),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(Timestamp::from_unix_millis),
    })
}

pub(crate) fn grant(row: &SqliteRow) -> StoreResult<AccessGrant> {
    let access_name: String = row.try_get("access")?;
    let access = access_name
        .parse::<Access>()
        .map_err(|()| StoreError::Corrupt {
            entity: "service_token_grant",
            detail: format!("unknown access {access_name:?}"),
        })?;
    let scope_id: String = row.try_get("scope_id")?;
    let scope = match row.try_get::<String, _>("scope_type")?.as_str() {
        "organization" => GrantScope::Organization(OrganizationId::from_string(scope_id)),
        "database" => GrantScope::Database(DatabaseId::from_string(scope_id)),
        other => {
            return Err(StoreError::Corrupt {
                entity: "service_token_grant",
                detail: format!("unknown scope type {other:?}"),
            });
        }
    };
    Ok(AccessGrant {
        id: GrantId::from_string(row.try_get::<String, _>("id")?),
        access,
        scope,
    })
}

/// The `(scope_type, scope_id)` columns of a scope.
pub(crate) fn scope_columns(scope: &GrantScope) -> (&'static str, &str) {
    match scope {
        GrantScope::Organization(id) => ("organization", id.as_str()),
        GrantScope::Database(id) => ("database", id.as_str()),
    }
}
