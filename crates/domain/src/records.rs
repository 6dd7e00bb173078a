//! The records the control plane keeps about tenants and credentials.

use crate::ids::{OrganizationId, ServiceTokenId, UserId};
use crate::secret::SecretDigest;
use crate::timestamp::Timestamp;

/// An organization: the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub billing_email: String,
    pub idp_managed_roles: bool,
    /// Expected monthly budget in whole currency units.
    pub invoice_budget_amount: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A human user of an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub default_organization_id: Option<OrganizationId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A service token. The secret exists only as its digest.
#[derive(Clone, Debug)]
pub struct ServiceToken {
    pub id: ServiceTokenId,
    pub organization_id: OrganizationId,
    /// The user on whose behalf the token was created (its actor).
    pub user_id: UserId,
    pub name: Option<String>,
    pub secret_digest: SecretDigest,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl ServiceToken {
    /// True once the token's ttl has elapsed.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
}
