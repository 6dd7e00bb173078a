//! Which service-token accesses each operation requires ("at least one of"), from the
//! reference spec's per-operation authorization blocks. Where the spec lists none, the
//! mapping is ours and says so. This table is the single source the services check and
//! the OpenAPI document publishes (`x-service-token-accesses`).

use dbplane_domain::Access;

/// Who may call an operation.
#[derive(Clone, Copy, Debug)]
pub enum Requirement {
    /// No credentials needed.
    Public,
    /// Any valid token.
    Authenticated,
    /// At least one of these accesses on the organization named in the path.
    Organization(&'static [Access]),
    /// At least one of these accesses on the database named in the path.
    Database(&'static [Access]),
}

/// An implemented operation and its requirement.
#[derive(Clone, Copy, Debug)]
pub struct OperationAccess {
    pub operation_id: &'static str,
    pub requirement: Requirement,
}

impl OperationAccess {
    /// The accesses of the requirement (empty for public/authenticated operations).
    pub fn accesses(&self) -> &'static [Access] {
        match self.requirement {
            Requirement::Public | Requirement::Authenticated => &[],
            Requirement::Organization(accesses) | Requirement::Database(accesses) => accesses,
        }
    }
}

use Access::*;

macro_rules! operation {
    ($name:ident, $id:literal, $requirement:expr) => {
        pub const $name: OperationAccess = OperationAccess {
            operation_id: $id,
            requirement: $requirement,
        };
    };
}

operation!(
    GET_CURRENT_USER,
    "get_current_user",
    Requirement::Authenticated
);
operation!(
    LIST_PUBLIC_REGIONS,
    "list_public_regions",
    Requirement::Public
);
operation!(
    LIST_REGIONS_FOR_ORGANIZATION,
    "list_regions_for_organization",
    Requirement::Organization(&[ReadOrganization])
);
// The spec lists no service-token access: a token sees the organizations it has grants
// in (semantics.md §1); enforced in the service.
operation!(
    LIST_ORGANIZATIONS,
    "list_organizations",
    Requirement::Authenticated
);
operation!(
    GET_ORGANIZATION,
    "get_organization",
    Requirement::Organization(&[ReadOrganization])
);
// OAuth-only in the spec; we map it to the `write_organization` access it names.
operation!(
    UPDATE_ORGANIZATION,
    "update_organization",
    Requirement::Organization(&[WriteOrganization])
);
operation!(
    LIST_SERVICE_TOKENS,
    "list_service_tokens",
    Requirement::Organization(&[ReadServiceTokens])
);
operation!(
    CREATE_SERVICE_TOKEN,
    "create_service_token",
    Requirement::Organization(&[WriteServiceTokens])
);
operation!(
    GET_SERVICE_TOKEN,
    "get_service_token",
    Requirement::Organization(&[ReadServiceTokens])
);
operation!(
    DELETE_SERVICE_TOKEN,
    "delete_service_token",
    Requirement::Organization(&[DeleteServiceTokens])
);
// The grant calls of the PlanetScale CLI (not in the current spec).
operation!(
    LIST_SERVICE_TOKEN_ACCESSES,
    "list_service_token_accesses",
    Requirement::Organization(&[ReadServiceTokens])
);
operation!(
    LIST_SERVICE_TOKEN_GRANTS,
    "list_service_token_grants",
    Requirement::Organization(&[ReadServiceTokens])
);
operation!(
    ADD_SERVICE_TOKEN_ACCESSES,
    "add_service_token_accesses",
    Requirement::Organization(&[WriteServiceTokens])
);
operation!(
    REMOVE_SERVICE_TOKEN_ACCESSES,
    "remove_service_token_accesses",
    Requirement::Organization(&[WriteServiceTokens])
);

/// Every operation of this table, for the OpenAPI document and tests.
pub const ALL: &[OperationAccess] = &[
    GET_CURRENT_USER,
    LIST_PUBLIC_REGIONS,
    LIST_REGIONS_FOR_ORGANIZATION,
    LIST_ORGANIZATIONS,
    GET_ORGANIZATION,
    UPDATE_ORGANIZATION,
    LIST_SERVICE_TOKENS,
    CREATE_SERVICE_TOKEN,
    GET_SERVICE_TOKEN,
    DELETE_SERVICE_TOKEN,
    LIST_SERVICE_TOKEN_ACCESSES,
    LIST_SERVICE_TOKEN_GRANTS,
    ADD_SERVICE_TOKEN_ACCESSES,
    REMOVE_SERVICE_TOKEN_ACCESSES,
];

/// Looks an operation up by id.
pub fn by_id(operation_id: &str) -> Option<&'static OperationAccess> {
    ALL.iter().find(|op| op.operation_id == operation_id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<_> = super::ALL.iter().map(|op| op.operation_id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len());
    }
}
