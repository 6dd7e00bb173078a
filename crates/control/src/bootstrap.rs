//! `dbplane admin bootstrap`: the first organization, its administrator and a token
//! that holds everything. Works against the store directly, so it needs no running
//! server (and is safe alongside one: the store serializes writers).

use crate::error::{ControlError, ControlResult};
use crate::organizations::validate_email;
use crate::service_tokens::{grants_of_everything, new_token};
use dbplane_domain::names::validate_organization_name;
use dbplane_domain::secret::NewSecret;
use dbplane_domain::{Organization, OrganizationId, ServiceToken, Timestamp, User, UserId};
use dbplane_store::MetadataStore;

/// What bootstrap made (or found) and the new token's secret.
#[derive(Debug)]
pub struct BootstrapOutcome {
    pub organization: Organization,
    pub user: User,
    pub token: ServiceToken,
    pub secret: NewSecret,
}

/// Creates the organization and its administrator if missing, then issues a token
/// with every access on the organization and all of its databases.
pub async fn bootstrap(
    store: &dyn MetadataStore,
    organization_name: &str,
    email: &str,
    user_name: Option<&str>,
) -> ControlResult<BootstrapOutcome> {
    validate_organization_name(organization_name)
        .map_err(|e| ControlError::invalid("organization", e.to_string()))?;
    validate_email("email", email)?;
    let now = Timestamp::now();
    let display_name = user_name
        .map(str::to_string)
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_string());
    let organization = Organization {
        id: OrganizationId::generate(),
        name: organization_name.to_string(),
        billing_email: email.to_string(),
        idp_managed_roles: false,
        invoice_budget_amount: 0,
        created_at: now,
        updated_at: now,
    };
    let admin = User {
        id: UserId::generate(),
        email: email.to_string(),
        name: display_name,
        default_organization_id: None,
        created_at: now,
        updated_at: now,
    };
    let made = store
        .ensure_organization_with_admin(organization, admin)
        .await?;
    let (token, secret) = new_token(
        made.organization.id.clone(),
        made.user.id.clone(),
        Some("bootstrap".to_string()),
        None,
    );
    store
        .create_service_token(&token, &grants_of_everything(&made.organization.id))
        .await?;
    Ok(BootstrapOutcome {
        organization: made.organization,
        user: made.user,
        token,
        secret,
    })
}
