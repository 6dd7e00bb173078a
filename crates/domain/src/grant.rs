//! Grants: which accesses a token holds, and where. The authorization rule of the API
//! lives here, in one pure function, so it is tested without a server.

use crate::access::{Access, AccessLevel};
use crate::ids::{DatabaseId, GrantId, OrganizationId};

/// What a grant applies to. An organization-scoped grant of a database-level access
/// covers every current and future database of that organization.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GrantScope {
    Organization(OrganizationId),
    Database(DatabaseId),
}

/// One access held by a token on one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessGrant {
    pub id: GrantId,
    pub access: Access,
    pub scope: GrantScope,
}

/// The resource an operation acts on, for authorization.
#[derive(Clone, Copy, Debug)]
pub enum Resource<'a> {
    Organization(&'a OrganizationId),
    Database {
        organization: &'a OrganizationId,
        database: &'a DatabaseId,
    },
}

/// All grants of one token (which belongs to exactly one organization).
#[derive(Clone, Debug, Default)]
pub struct GrantSet {
    grants: Vec<AccessGrant>,
}

impl GrantSet {
    pub fn new(grants: Vec<AccessGrant>) -> Self {
        Self { grants }
    }
    pub fn grants(&self) -> &[AccessGrant] {
        &self.grants
    }
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// Whether the token holds `access` on `resource`. An organization grant covers its
    /// databases; a database grant covers only that database.
    pub fn holds(&self, access: Access, resource: Resource<'_>) -> bool {
        self.grants.iter().any(|grant| {
            grant.access == access
                && match (&grant.scope, resource) {
                    (GrantScope::Organization(org), Resource::Organization(target)) => {
                        org == target
                    }
                    (GrantScope::Organization(org), Resource::Database { organization, .. }) => {
                        org == organization
                    }
                    (GrantScope::Database(db), Resource::Database { database, .. }) => {
                        db == database
                    }
                    (GrantScope::Database(_), Resource::Organization(_)) => false,
                }
        })
    }

    /// "At least one of": the rule every operation uses.
    pub fn holds_any(&self, accesses: &[Access], resource: Resource<'_>) -> bool {
        accesses.iter().any(|access| self.holds(*access, resource))
    }

    /// Whether the token holds any access that touches `database` (used to decide
    /// whether the database is visible at all).
    pub fn sees_database(&self, organization: &OrganizationId, database: &DatabaseId) -> bool {
        self.grants.iter().any(|grant| match &grant.scope {
            GrantScope::Organization(org) => {
                org == organization && grant.access.level() == AccessLevel::Database
            }
            GrantScope::Database(db) => db == database,
        })
    }

    /// The accesses of `wanted` the holder may NOT hand out on `scope`: a grant can
    /// never exceed what its granter holds.
    pub fn missing_for_delegation(
        &self,
        wanted: &[Access],
        organization: &OrganizationId,
        scope: &GrantScope,
    ) -> Vec<Access> {
        wanted
            .iter()
            .copied()
            .filter(|access| {
                let resource = match scope {
                    GrantScope::Organization(org) => Resource::Organization(org),
                    GrantScope::Database(database) => Resource::Database {
                        organization,
                        database,
                    },
                };
                !self.holds(*access, resource)
            })
            .collect()
    }
}

/// Checks that every access may be granted on the scope: organization-level accesses
/// only on the organization. Returns the offending accesses.
pub fn misplaced_accesses(accesses: &[Access], scope: &GrantScope) -> Vec<Access> {
    match scope {
        GrantScope::Organization(_) => Vec::new(),
        GrantScope::Database(_) => accesses
            .iter()
            .copied()
            .filter(|access| access.level() == AccessLevel::Organization)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(access: Access, scope: GrantScope) -> AccessGrant {
        AccessGrant {
            id: GrantId::generate(),
            access,
            scope,
        }
    }

    #[test]
    fn organization_grant_covers_all_databases_database_grant_only_its_own() {
        let org = OrganizationId::generate();
        let other_org = OrganizationId::generate();
        let db_a = DatabaseId::generate();
        let db_b = DatabaseId::generate();
        let set = GrantSet::new(vec![
            grant(Access::ReadBranch, GrantScope::Organization(org.clone())),
            grant(Access::DeleteBranch, GrantScope::Database(db_a.clone())),
        ]);
        let on = |database| Resource::Database {
            organization: &org,
            database,
        };
        assert!(set.holds(Access::ReadBranch, on(&db_a)));
        assert!(set.holds(Access::ReadBranch, on(&db_b)));
        assert!(set.holds(Access::DeleteBranch, on(&db_a)));
        assert!(!set.holds(Access::DeleteBranch, on(&db_b)));
        assert!(!set.holds(Access::DeleteBranch, Resource::Organization(&org)));
        let foreign = Resource::Database {
            organization: &other_org,
            database: &db_b,
        };
        assert!(!set.holds(Access::ReadBranch, foreign));
        assert!(set.holds_any(&[Access::CreateBranch, Access::ReadBranch], on(&db_b)));
    }

    #[test]
    fn delegation_never_exceeds_the_granter() {
        let org = OrganizationId::generate();
        let db = DatabaseId::generate();
        let granter = GrantSet::new(vec![
            grant(Access::ReadBranch, GrantScope::Database(db.clone())),
            grant(
                Access::ReadOrganization,
                GrantScope::Organization(org.clone()),
            ),
        ]);
        let on_db = GrantScope::Database(db.clone());
        let on_org = GrantScope::Organization(org.clone());
        assert!(
            granter
                .missing_for_delegation(&[Access::ReadBranch], &org, &on_db)
                .is_empty()
        );
        // Holding read_branch on one database does not allow granting it org-wide.
        assert_eq!(
            granter.missing_for_delegation(&[Access::ReadBranch], &org, &on_org),
            vec![Access::ReadBranch]
        );
        assert_eq!(
            granter.missing_for_delegation(&[Access::CreateDatabases], &org, &on_org),
            vec![Access::CreateDatabases]
        );
    }

    #[test]
    fn organization_accesses_cannot_be_granted_on_a_database() {
        let scope = GrantScope::Database(DatabaseId::generate());
        assert_eq!(
            misplaced_accesses(&[Access::ReadBranch, Access::CreateDatabases], &scope),
            vec![Access::CreateDatabases]
        );
    }
}
