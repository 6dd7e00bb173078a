//! Granting and revoking a token's accesses (the PlanetScale CLI's
//! `/service-tokens/{id}/access` calls). A grant can never exceed what the granting
//! token itself holds on the same scope.

use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::{Caller, ControlPlane};
use dbplane_domain::access::parse_access_names;
use dbplane_domain::grant::misplaced_accesses;
use dbplane_domain::{AccessGrant, GrantId, GrantScope, Organization, Timestamp};

/// What a grant applies to, resolved for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    Organization,
    Database,
}

/// The resource of an access record.
#[derive(Clone, Debug)]
pub struct ResourceRef {
    pub id: String,
    pub name: String,
    pub kind: ResourceKind,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One grant with its resource.
#[derive(Clone, Debug)]
pub struct AccessRecord {
    pub grant: AccessGrant,
    pub resource: ResourceRef,
}

/// A request to add or remove accesses.
#[derive(Clone, Debug)]
pub struct AccessChange {
    /// A database name, or `None` for the organization.
    pub database: Option<String>,
    pub accesses: Vec<String>,
}

impl ControlPlane {
    /// `GET /service-tokens/{id}/access` (and `/grants`, grouped by the API layer).
    pub async fn list_token_accesses(
        &self,
        caller: &Caller,
        organization_name: &str,
        token_id: &str,
        operation: &OperationAccess,
    ) -> ControlResult<Vec<AccessRecord>> {
        let organization = self
            .authorize_organization(caller, organization_name, operation)
            .await?;
        let token = self.token_in(&organization, token_id).await?;
        let grants = self.store.grants_of(&token.id).await?;
        self.access_records(&organization, grants).await
    }

    /// `POST /service-tokens/{id}/access`.
    pub async fn add_token_accesses(
        &self,
        caller: &Caller,
        organization_name: &str,
        token_id: &str,
        change: AccessChange,
    ) -> ControlResult<Vec<AccessRecord>> {
        let organization = self
            .authorize_organization(
                caller,
                organization_name,
                &operations::ADD_SERVICE_TOKEN_ACCESSES,
            )
            .await?;
        let token = self.token_in(&organization, token_id).await?;
        let (scope, accesses) = self.resolve_change(caller, &organization, &change).await?;
        let missing = caller
            .grants()
            .missing_for_delegation(&accesses, &organization.id, &scope);
        if !missing.is_empty() {
            let names: Vec<_> = missing.iter().map(|a| a.name()).collect();
            return Err(ControlError::Forbidden(format!(
                "cannot grant accesses the granting token does not hold: {}",
                names.join(", ")
            )));
        }
        let grants: Vec<AccessGrant> = accesses
            .into_iter()
            .map(|access| AccessGrant {
                id: GrantId::generate(),
                access,
                scope: scope.clone(),
            })
            .collect();
        self.store.add_grants(&token.id, &grants).await?;
        self.authenticator.invalidate(&token.id);
        let all = self.store.grants_of(&token.id).await?;
        self.access_records(&organization, all).await
    }

    /// `DELETE /service-tokens/{id}/access`.
    pub async fn remove_token_accesses(
        &self,
        caller: &Caller,
        organization_name: &str,
        token_id: &str,
        change: AccessChange,
    ) -> ControlResult<Vec<AccessRecord>> {
        let organization = self
            .authorize_organization(
                caller,
                organization_name,
                &operations::REMOVE_SERVICE_TOKEN_ACCESSES,
            )
            .await?;
        let token = self.token_in(&organization, token_id).await?;
        let (scope, accesses) = self.resolve_change(caller, &organization, &change).await?;
        self.store
            .remove_grants(&token.id, &accesses, &scope)
            .await?;
        self.authenticator.invalidate(&token.id);
        let all = self.store.grants_of(&token.id).await?;
        self.access_records(&organization, all).await
    }

    /// Validates names and resolves the scope of a change.
    async fn resolve_change(
        &self,
        caller: &Caller,
        organization: &Organization,
        change: &AccessChange,
    ) -> ControlResult<(GrantScope, Vec<dbplane_domain::Access>)> {
        if change.accesses.is_empty() {
            return Err(ControlError::invalid(
                "access",
                "must name at least one access",
            ));
        }
        let accesses = parse_access_names(&change.accesses)
            .map_err(|unknown| ControlError::invalid("access", unknown.to_string()))?;
        let scope = match &change.database {
            None => GrantScope::Organization(organization.id.clone()),
            Some(name) => {
                let database = self
                    .store
                    .database_by_name(&organization.id, name)
                    .await?
                    .filter(|db| caller.grants().sees_database(&organization.id, &db.id))
                    .ok_or(ControlError::NotFound {
                        resource: "database",
                    })?;
                GrantScope::Database(database.id)
            }
        };
        let misplaced = misplaced_accesses(&accesses, &scope);
        if !misplaced.is_empty() {
            let names: Vec<_> = misplaced.iter().map(|a| a.name()).collect();
            return Err(ControlError::invalid(
                "access",
                format!(
                    "organization-level accesses cannot be granted on a database: {}",
                    names.join(", ")
                ),
            ));
        }
        Ok((scope, accesses))
    }

    /// Joins grants with the resources they apply to.
    pub(crate) async fn access_records(
        &self,
        organization: &Organization,
        grants: Vec<AccessGrant>,
    ) -> ControlResult<Vec<AccessRecord>> {
        let database_ids: Vec<_> = grants
            .iter()
            .filter_map(|grant| match &grant.scope {
                GrantScope::Database(id) => Some(id.clone()),
                GrantScope::Organization(_) => None,
            })
            .collect();
        let databases = if database_ids.is_empty() {
            Vec::new()
        } else {
            self.store.databases_by_ids(&database_ids).await?
        };
        let records = grants
            .into_iter()
            .filter_map(|grant| {
                let resource = match &grant.scope {
                    GrantScope::Organization(_) => ResourceRef {
                        id: organization.id.to_string(),
                        name: organization.name.clone(),
                        kind: ResourceKind::Organization,
                        created_at: organization.created_at,
                        updated_at: organization.updated_at,
                    },
                    GrantScope::Database(id) => {
                        let database = databases.iter().find(|db| &db.id == id)?;
                        ResourceRef {
                            id: database.id.to_string(),
                            name: database.name.clone(),
                            kind: ResourceKind::Database,
                            created_at: database.created_at,
                            updated_at: database.updated_at,
                        }
                    }
                };
                Some(AccessRecord { grant, resource })
            })
            .collect();
        Ok(records)
    }
}
