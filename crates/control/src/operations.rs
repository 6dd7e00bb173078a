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

mod backups;
mod deploys;

pub use backups::*;
pub use deploys::*;

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

// Data plane: databases, branches, passwords and roles.
/// Any database-level access: each shows the database (`get_database` and the like).
const ANY_DATABASE_ACCESS: &[Access] = &[
    ApproveDeployRequest,
    ConnectBranch,
    ConnectProductionBranch,
    ConnectProductionReadOnlyBranch,
    CreateBranch,
    CreateComment,
    CreateDeployRequest,
    DeleteBackups,
    DeleteBranch,
    DeleteBranchPassword,
    DeleteDatabase,
    DeleteProductionBranch,
    DeleteProductionBranchBackups,
    DeleteProductionBranchPassword,
    DeleteProductionReadOnlyBranchPassword,
    DemoteBranches,
    PromoteBranches,
    ReadBackups,
    ReadBranch,
    ReadComment,
    ReadDatabase,
    ReadDeployRequest,
    RestoreBackup,
    RestoreProductionBranchBackup,
    WriteBackups,
    WriteBranchVschema,
    WriteDatabase,
    WriteProductionBranchVschema,
];
/// Reading a branch and what it holds.
const ANY_BRANCH_READ: &[Access] = &[
    ConnectBranch,
    ConnectProductionBranch,
    CreateBranch,
    DeleteBranch,
    ReadBranch,
];
/// Reading a branch's passwords or roles.
const ANY_CREDENTIAL_READ: &[Access] = &[
    ConnectBranch,
    ConnectProductionBranch,
    ConnectProductionReadOnlyBranch,
    CreateBranch,
    DeleteBranch,
    ReadBranch,
];
/// Deleting, resetting or reassigning passwords and roles.
const CREDENTIAL_CHANGE: &[Access] = &[
    DeleteBranchPassword,
    DeleteProductionBranchPassword,
    DeleteProductionReadOnlyBranchPassword,
];
/// Creating, renaming and renewing passwords.
const PASSWORD_WRITE: &[Access] = &[
    ConnectBranch,
    ConnectProductionBranch,
    ConnectProductionReadOnlyBranch,
];
/// Creating, renaming and renewing roles.
const ROLE_WRITE: &[Access] = &[
    CreateBranchPassword,
    CreateProductionBranchPassword,
    CreateProductionReadOnlyBranchPassword,
];

// Lists what the token can see: any database-level access on a database shows it.
operation!(
    LIST_DATABASES,
    "list_databases",
    Requirement::Database(ANY_DATABASE_ACCESS)
);
operation!(
    CREATE_DATABASE,
    "create_database",
    Requirement::Organization(&[CreateDatabases])
);
operation!(
    GET_DATABASE,
    "get_database",
    Requirement::Database(ANY_DATABASE_ACCESS)
);
operation!(
    UPDATE_DATABASE_SETTINGS,
    "update_database_settings",
    Requirement::Database(&[WriteDatabase])
);
operation!(
    DELETE_DATABASE,
    "delete_database",
    Requirement::Database(&[DeleteDatabase])
);
operation!(
    LIST_DATABASE_REGIONS,
    "list_database_regions",
    Requirement::Database(ANY_DATABASE_ACCESS)
);
operation!(
    LIST_READ_ONLY_REGIONS,
    "list_read_only_regions",
    Requirement::Database(ANY_DATABASE_ACCESS)
);
operation!(
    LIST_CLUSTER_SIZE_SKUS,
    "list_cluster_size_skus",
    Requirement::Organization(&[ReadOrganization])
);
operation!(
    LIST_BRANCHES,
    "list_branches",
    Requirement::Database(ANY_BRANCH_READ)
);
operation!(
    CREATE_BRANCH,
    "create_branch",
    Requirement::Database(&[CreateBranch, RestoreBackup, RestoreProductionBranchBackup])
);
operation!(
    GET_BRANCH,
    "get_branch",
    Requirement::Database(ANY_BRANCH_READ)
);
operation!(
    UPDATE_BRANCH,
    "update_branch",
    Requirement::Database(&[WriteDatabase])
);
operation!(
    UPDATE_BRANCH_CLUSTER_CONFIG,
    "update_branch_cluster_config",
    Requirement::Database(&[WriteDatabase])
);
operation!(
    DELETE_BRANCH,
    "delete_branch",
    Requirement::Database(&[DeleteBranch])
);
operation!(
    PROMOTE_BRANCH,
    "promote_branch",
    Requirement::Database(&[ConnectProductionBranch, PromoteBranches])
);
operation!(
    DEMOTE_BRANCH,
    "demote_branch",
    Requirement::Database(&[ConnectProductionBranch, DemoteBranches])
);
// The spec lists no service-token access; we map it to `write_database` (semantics.md §12.1).
operation!(
    ENABLE_SAFE_MIGRATIONS,
    "enable_safe_migrations",
    Requirement::Database(&[WriteDatabase])
);
// The spec lists no service-token access; we map it to `write_database` (semantics.md §12.1).
operation!(
    DISABLE_SAFE_MIGRATIONS,
    "disable_safe_migrations",
    Requirement::Database(&[WriteDatabase])
);
// The spec lists no service-token access; we map it to `write_database` (semantics.md §12.1).
operation!(
    UPDATE_SAFE_MIGRATIONS,
    "update_safe_migrations",
    Requirement::Database(&[WriteDatabase])
);
operation!(
    GET_BRANCH_SCHEMA,
    "get_branch_schema",
    Requirement::Database(ANY_BRANCH_READ)
);
// Not in the spec (semantics.md §5.6); reading the branch schema is enough.
operation!(
    GET_BRANCH_DIFF,
    "get_branch_diff",
    Requirement::Database(ANY_BRANCH_READ)
);
operation!(
    LIST_KEYSPACES,
    "list_keyspaces",
    Requirement::Database(&[ReadBranch])
);
operation!(
    GET_KEYSPACE,
    "get_keyspace",
    Requirement::Database(&[ReadBranch])
);
operation!(
    LIST_PASSWORDS,
    "list_passwords",
    Requirement::Database(ANY_CREDENTIAL_READ)
);
operation!(
    CREATE_PASSWORD,
    "create_password",
    Requirement::Database(PASSWORD_WRITE)
);
operation!(
    GET_PASSWORD,
    "get_password",
    Requirement::Database(ANY_CREDENTIAL_READ)
);
operation!(
    UPDATE_PASSWORD,
    "update_password",
    Requirement::Database(PASSWORD_WRITE)
);
operation!(
    RENEW_PASSWORD,
    "renew_password",
    Requirement::Database(PASSWORD_WRITE)
);
operation!(
    DELETE_PASSWORD,
    "delete_password",
    Requirement::Database(CREDENTIAL_CHANGE)
);
operation!(
    LIST_ROLES,
    "list_roles",
    Requirement::Database(ANY_CREDENTIAL_READ)
);
operation!(
    CREATE_ROLE,
    "create_role",
    Requirement::Database(ROLE_WRITE)
);
operation!(
    GET_ROLE,
    "get_role",
    Requirement::Database(ANY_CREDENTIAL_READ)
);
operation!(
    UPDATE_ROLE,
    "update_role",
    Requirement::Database(ROLE_WRITE)
);
operation!(RENEW_ROLE, "renew_role", Requirement::Database(ROLE_WRITE));
operation!(
    DELETE_ROLE,
    "delete_role",
    Requirement::Database(CREDENTIAL_CHANGE)
);
operation!(
    RESET_DEFAULT_ROLE,
    "reset_default_role",
    Requirement::Database(CREDENTIAL_CHANGE)
);
operation!(
    GET_DEFAULT_ROLE,
    "get_default_role",
    Requirement::Database(ANY_CREDENTIAL_READ)
);
operation!(
    RESET_ROLE,
    "reset_role",
    Requirement::Database(CREDENTIAL_CHANGE)
);
operation!(
    REASSIGN_ROLE_OBJECTS,
    "reassign_role_objects",
    Requirement::Database(CREDENTIAL_CHANGE)
);

operation!(
    LINT_BRANCH_SCHEMA,
    "lint_branch_schema",
    Requirement::Database(ANY_BRANCH_READ)
);

/// Every operation of this table, for the OpenAPI document and tests.
pub const ALL: &[OperationAccess] = &[
    LINT_BRANCH_SCHEMA,
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
    LIST_DATABASES,
    CREATE_DATABASE,
    GET_DATABASE,
    UPDATE_DATABASE_SETTINGS,
    DELETE_DATABASE,
    LIST_DATABASE_REGIONS,
    LIST_READ_ONLY_REGIONS,
    LIST_CLUSTER_SIZE_SKUS,
    LIST_BRANCHES,
    CREATE_BRANCH,
    GET_BRANCH,
    UPDATE_BRANCH,
    UPDATE_BRANCH_CLUSTER_CONFIG,
    DELETE_BRANCH,
    PROMOTE_BRANCH,
    DEMOTE_BRANCH,
    ENABLE_SAFE_MIGRATIONS,
    DISABLE_SAFE_MIGRATIONS,
    UPDATE_SAFE_MIGRATIONS,
    GET_BRANCH_SCHEMA,
    GET_BRANCH_DIFF,
    LIST_KEYSPACES,
    GET_KEYSPACE,
    LIST_PASSWORDS,
    CREATE_PASSWORD,
    GET_PASSWORD,
    UPDATE_PASSWORD,
    RENEW_PASSWORD,
    DELETE_PASSWORD,
    LIST_ROLES,
    CREATE_ROLE,
    GET_ROLE,
    UPDATE_ROLE,
    RENEW_ROLE,
    DELETE_ROLE,
    RESET_DEFAULT_ROLE,
    GET_DEFAULT_ROLE,
    RESET_ROLE,
    REASSIGN_ROLE_OBJECTS,
    LIST_BACKUPS,
    CREATE_BACKUP,
    GET_BACKUP,
    UPDATE_BACKUP,
    DELETE_BACKUP,
    LIST_BACKUP_POLICIES,
    CREATE_BACKUP_POLICY,
    GET_BACKUP_POLICY,
    UPDATE_BACKUP_POLICY,
    DELETE_BACKUP_POLICY,
    LIST_DEPLOY_REQUESTS,
    CREATE_DEPLOY_REQUEST,
    GET_DEPLOY_REQUEST,
    CLOSE_DEPLOY_REQUEST,
    COMPLETE_GATED_DEPLOY_REQUEST,
    UPDATE_AUTO_APPLY,
    UPDATE_AUTO_DELETE_BRANCH,
    CANCEL_DEPLOY_REQUEST,
    COMPLETE_ERRORED_DEPLOY,
    QUEUE_DEPLOY_REQUEST,
    GET_DEPLOYMENT,
    FORCE_CUTOVER_DEPLOY_REQUEST,
    LIST_DEPLOY_OPERATIONS,
    GET_DEPLOY_REQUEST_DIFF,
    COMPLETE_REVERT,
    LIST_DEPLOY_REQUEST_REVIEWS,
    REVIEW_DEPLOY_REQUEST,
    SKIP_REVERT_PERIOD,
    CHECK_DEPLOY_REQUEST_STORAGE,
    GET_DEPLOY_REQUEST_THROTTLER,
    UPDATE_DEPLOY_REQUEST_THROTTLER,
    GET_DATABASE_THROTTLER,
    UPDATE_DATABASE_THROTTLER,
    GET_DEPLOY_QUEUE,
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
