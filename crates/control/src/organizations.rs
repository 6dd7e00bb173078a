//! Organizations: read, list, update.

use crate::error::{ControlError, ControlResult};
use crate::operations;
use crate::paging::{PageRequest, Paged};
use crate::{Caller, ControlPlane};
use dbplane_domain::{Organization, Timestamp};

/// An organization with the counts the API shows.
#[derive(Clone, Debug)]
pub struct OrganizationDetails {
    pub organization: Organization,
    pub database_count: u64,
}

/// The fields `update_organization` may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct OrganizationChanges {
    pub billing_email: Option<String>,
    pub idp_managed_roles: Option<bool>,
    pub invoice_budget_amount: Option<i64>,
}

impl ControlPlane {
    /// `get_organization`.
    pub async fn get_organization(
        &self,
        caller: &Caller,
        name: &str,
    ) -> ControlResult<OrganizationDetails> {
        let organization = self
            .authorize_organization(caller, name, &operations::GET_ORGANIZATION)
            .await?;
        self.organization_details(organization).await
    }

    /// `list_organizations`: the caller's organization when it holds any grant there.
    pub async fn list_organizations(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> ControlResult<Paged<OrganizationDetails>> {
        let visible = if caller.grants().is_empty() {
            Vec::new()
        } else {
            let organization = self
                .authorize_organization(
                    caller,
                    caller.organization_name(),
                    &operations::LIST_ORGANIZATIONS,
                )
                .await?;
            vec![self.organization_details(organization).await?]
        };
        Ok(Paged {
            total: visible.len() as u64,
            items: page.slice(&visible),
            request: page,
        })
    }

    /// `update_organization`.
    pub async fn update_organization(
        &self,
        caller: &Caller,
        name: &str,
        changes: OrganizationChanges,
    ) -> ControlResult<OrganizationDetails> {
        let mut organization = self
            .authorize_organization(caller, name, &operations::UPDATE_ORGANIZATION)
            .await?;
        if let Some(email) = changes.billing_email {
            validate_email("billing_email", &email)?;
            organization.billing_email = email;
        }
        if let Some(idp_managed_roles) = changes.idp_managed_roles {
            organization.idp_managed_roles = idp_managed_roles;
        }
        if let Some(amount) = changes.invoice_budget_amount {
            if amount < 0 {
                return Err(ControlError::invalid(
                    "invoice_budget_amount",
                    "must not be negative",
                ));
            }
            organization.invoice_budget_amount = amount;
        }
        organization.updated_at = Timestamp::now();
        self.store.update_organization(&organization).await?;
        self.organizations.invalidate(&organization.id);
        self.organization_details(organization).await
    }

    async fn organization_details(
        &self,
        organization: Organization,
    ) -> ControlResult<OrganizationDetails> {
        self.organization_details_of(&organization.id).await
    }

    /// The organization and its database count, from the cache when fresh.
    pub(crate) async fn organization_details_of(
        &self,
        id: &dbplane_domain::OrganizationId,
    ) -> ControlResult<OrganizationDetails> {
        if let Some(details) = self.organizations.get(id) {
            return Ok(details);
        }
        let organization =
            self.store
                .organization_by_id(id)
                .await?
                .ok_or(ControlError::NotFound {
                    resource: "organization",
                })?;
        let database_count = self.store.count_databases(id).await?;
        let details = OrganizationDetails {
            organization,
            database_count,
        };
        self.organizations.put(&details);
        Ok(details)
    }
}

/// A plausible email: one `@` with text on both sides, no spaces, bounded length.
pub(crate) fn validate_email(field: &'static str, email: &str) -> ControlResult<()> {
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if valid {
        Ok(())
    } else {
        Err(ControlError::invalid(field, "must be an email address"))
    }
}
