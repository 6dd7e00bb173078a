//! Service tokens: create (secret shown once), list, get, delete.

use crate::error::{ControlError, ControlResult};
use crate::operations;
use crate::paging::{PageRequest, Paged};
use crate::token_accesses::AccessRecord;
use crate::{Caller, ControlPlane};
use dbplane_domain::names::validate_label;
use dbplane_domain::secret::{NewSecret, SERVICE_TOKEN_PREFIX};
use dbplane_domain::{
    AccessGrant, Organization, OrganizationId, ServiceToken, ServiceTokenId, Timestamp, User,
    UserId,
};

/// A token with its actor and accesses, as every token response shows it.
#[derive(Clone, Debug)]
pub struct ServiceTokenDetails {
    pub token: ServiceToken,
    pub organization: Organization,
    /// The user on whose behalf the token was created; `None` if that user is gone.
    pub actor: Option<User>,
    pub accesses: Vec<AccessRecord>,
}

/// A newly created token and its secret, which is never available again.
#[derive(Debug)]
pub struct CreatedServiceToken {
    pub details: ServiceTokenDetails,
    pub secret: NewSecret,
}

/// Longest accepted ttl: 100 years.
const MAX_TTL_SECONDS: i64 = 100 * 365 * 24 * 3600;

impl ControlPlane {
    /// `create_service_token`. The new token acts for the caller's user and holds no
    /// access until granted one.
    pub async fn create_service_token(
        &self,
        caller: &Caller,
        organization_name: &str,
        name: Option<String>,
        ttl_seconds: Option<i64>,
    ) -> ControlResult<CreatedServiceToken> {
        let organization = self
            .authorize_organization(caller, organization_name, &operations::CREATE_SERVICE_TOKEN)
            .await?;
        if let Some(name) = &name {
            validate_label("name", name)
                .map_err(|e| ControlError::invalid("name", e.to_string()))?;
        }
        let expires_in = validate_ttl(ttl_seconds)?;
        let (token, secret) = new_token(
            organization.id.clone(),
            caller.user_id().clone(),
            name,
            expires_in,
        );
        self.store.create_service_token(&token, &[]).await?;
        let details = self.token_details(token, organization).await?;
        Ok(CreatedServiceToken { details, secret })
    }

    /// `list_service_tokens`.
    pub async fn list_service_tokens(
        &self,
        caller: &Caller,
        organization_name: &str,
        page: PageRequest,
    ) -> ControlResult<Paged<ServiceTokenDetails>> {
        let organization = self
            .authorize_organization(caller, organization_name, &operations::LIST_SERVICE_TOKENS)
            .await?;
        let stored = self
            .store
            .list_service_tokens(&organization.id, page.window())
            .await?;
        let mut items = Vec::with_capacity(stored.items.len());
        for token in stored.items {
            items.push(self.token_details(token, organization.clone()).await?);
        }
        Ok(Paged {
            items,
            total: stored.total,
            request: page,
        })
    }

    /// `get_service_token`.
    pub async fn get_service_token(
        &self,
        caller: &Caller,
        organization_name: &str,
        token_id: &str,
    ) -> ControlResult<ServiceTokenDetails> {
        let organization = self
            .authorize_organization(caller, organization_name, &operations::GET_SERVICE_TOKEN)
            .await?;
        let token = self.token_in(&organization, token_id).await?;
        self.token_details(token, organization).await
    }

    /// `delete_service_token`. The token stops authenticating at once on this replica.
    pub async fn delete_service_token(
        &self,
        caller: &Caller,
        organization_name: &str,
        token_id: &str,
    ) -> ControlResult<()> {
        let organization = self
            .authorize_organization(caller, organization_name, &operations::DELETE_SERVICE_TOKEN)
            .await?;
        let token_id = ServiceTokenId::from_string(token_id);
        if !self
            .store
            .delete_service_token(&organization.id, &token_id)
            .await?
        {
            return Err(ControlError::NotFound {
                resource: "service token",
            });
        }
        self.authenticator.invalidate(&token_id);
        Ok(())
    }

    /// A token of `organization`, or 404.
    pub(crate) async fn token_in(
        &self,
        organization: &Organization,
        token_id: &str,
    ) -> ControlResult<ServiceToken> {
        self.store
            .service_token_by_id(&ServiceTokenId::from_string(token_id))
            .await?
            .filter(|token| token.organization_id == organization.id)
            .ok_or(ControlError::NotFound {
                resource: "service token",
            })
    }

    pub(crate) async fn token_details(
        &self,
        token: ServiceToken,
        organization: Organization,
    ) -> ControlResult<ServiceTokenDetails> {
        let actor = self.store.user_by_id(&token.user_id).await?;
        let grants = self.store.grants_of(&token.id).await?;
        let accesses = self.access_records(&organization, grants).await?;
        Ok(ServiceTokenDetails {
            token,
            organization,
            actor,
            accesses,
        })
    }
}

fn validate_ttl(ttl_seconds: Option<i64>) -> ControlResult<Option<i64>> {
    match ttl_seconds {
        None | Some(0) => Ok(None),
        Some(ttl) if ttl < 0 => Err(ControlError::invalid("ttl", "must not be negative")),
        Some(ttl) if ttl > MAX_TTL_SECONDS => Err(ControlError::invalid(
            "ttl",
            format!("must be at most {MAX_TTL_SECONDS} seconds"),
        )),
        Some(ttl) => Ok(Some(ttl)),
    }
}

/// A token record and its secret; only the digest goes to the store.
pub(crate) fn new_token(
    organization_id: OrganizationId,
    user_id: UserId,
    name: Option<String>,
    expires_in_seconds: Option<i64>,
) -> (ServiceToken, NewSecret) {
    let secret = NewSecret::generate(SERVICE_TOKEN_PREFIX);
    let now = Timestamp::now();
    let token = ServiceToken {
        id: ServiceTokenId::generate(),
        organization_id,
        user_id,
        name,
        secret_digest: secret.digest(),
        created_at: now,
        updated_at: now,
        expires_at: expires_in_seconds.map(|ttl| now.plus_seconds(ttl)),
        last_used_at: None,
    };
    (token, secret)
}

/// Grants of every access on the organization (every database-level access then
/// covers all current and future databases).
pub(crate) fn grants_of_everything(organization: &OrganizationId) -> Vec<AccessGrant> {
    dbplane_domain::Access::ALL
        .iter()
        .map(|access| AccessGrant {
            id: dbplane_domain::GrantId::generate(),
            access: *access,
            scope: dbplane_domain::GrantScope::Organization(organization.clone()),
        })
        .collect()
}
