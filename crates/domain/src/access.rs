//! The catalogue of service-token accesses (semantics.md §12.1). Organization-level
//! accesses can only be granted on the organization; database-level accesses can be
//! granted on one database or on the organization, which then means "all current and
//! future databases".

use std::fmt;
use std::str::FromStr;

/// Where an access may be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessLevel {
    Organization,
    Database,
}

macro_rules! accesses {
    ($( $variant:ident => $name:literal, $level:ident, $description:literal; )*) => {
        /// One service-token access. Serialized with its PlanetScale name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Access { $( $variant, )* }

        impl Access {
            /// Every access, in catalogue order.
            pub const ALL: &'static [Access] = &[ $( Access::$variant, )* ];

            /// The wire name (`read_branch`, ...).
            pub fn name(self) -> &'static str {
                match self { $( Access::$variant => $name, )* }
            }
            /// Whether the access is granted per organization or per database.
            pub fn level(self) -> AccessLevel {
                match self { $( Access::$variant => AccessLevel::$level, )* }
            }
            /// A short human description, shown in access records.
            pub fn description(self) -> &'static str {
                match self { $( Access::$variant => $description, )* }
            }
        }

        impl FromStr for Access {
            type Err = ();
            fn from_str(name: &str) -> Result<Self, ()> {
                match name { $( $name => Ok(Access::$variant), )* _ => Err(()) }
            }
        }
    };
}

accesses! {
    ReadOrganization => "read_organization", Organization, "Read organization";
    WriteOrganization => "write_organization", Organization, "Write organization";
    ReadInvoices => "read_invoices", Organization, "Read invoices";
    ReadAuditLogs => "read_audit_logs", Organization, "Read audit logs";
    ReadDatabases => "read_databases", Organization, "Read databases";
    CreateDatabases => "create_databases", Organization, "Create databases";
    DeleteDatabases => "delete_databases", Organization, "Delete databases";
    ReadOauthApplications => "read_oauth_applications", Organization, "Read OAuth applications";
    ReadOauthTokens => "read_oauth_tokens", Organization, "Read OAuth tokens";
    WriteOauthTokens => "write_oauth_tokens", Organization, "Write OAuth tokens";
    DeleteOauthTokens => "delete_oauth_tokens", Organization, "Delete OAuth tokens";
    ReadServiceTokens => "read_service_tokens", Organization, "Read service tokens";
    WriteServiceTokens => "write_service_tokens", Organization, "Write service tokens";
    DeleteServiceTokens => "delete_service_tokens", Organization, "Delete service tokens";
    WriteTeams => "write_teams", Organization, "Write teams";
    ReadMetricsEndpoints => "read_metrics_endpoints", Organization, "Read metrics endpoints";
    ReadDatabase => "read_database", Database, "Read database";
    WriteDatabase => "write_database", Database, "Write database";
    DeleteDatabase => "delete_database", Database, "Delete database";
    CreateBranch => "create_branch", Database, "Create branches";
    ReadBranch => "read_branch", Database, "Read branches";
    DeleteBranch => "delete_branch", Database, "Delete branches";
    DeleteProductionBranch => "delete_production_branch", Database, "Delete production branches";
    PromoteBranches => "promote_branches", Database, "Promote branches";
    DemoteBranches => "demote_branches", Database, "Demote branches";
    ConnectBranch => "connect_branch", Database, "Connect to branches";
    ConnectProductionBranch => "connect_production_branch", Database, "Connect to production branches";
    ConnectProductionReadOnlyBranch => "connect_production_read_only_branch", Database, "Connect to production branches read-only";
    CreateBranchPassword => "create_branch_password", Database, "Create branch passwords";
    CreateProductionBranchPassword => "create_production_branch_password", Database, "Create production branch passwords";
    CreateProductionReadOnlyBranchPassword => "create_production_read_only_branch_password", Database, "Create production read-only branch passwords";
    DeleteBranchPassword => "delete_branch_password", Database, "Delete branch passwords";
    DeleteProductionBranchPassword => "delete_production_branch_password", Database, "Delete production branch passwords";
    DeleteProductionReadOnlyBranchPassword => "delete_production_read_only_branch_password", Database, "Delete production read-only branch passwords";
    CreateDeployRequest => "create_deploy_request", Database, "Create and deploy deploy requests";
    ReadDeployRequest => "read_deploy_request", Database, "Read deploy requests";
    ApproveDeployRequest => "approve_deploy_request", Database, "Approve deploy requests";
    ReviewDeployRequest => "review_deploy_request", Database, "Review deploy requests";
    CreateComment => "create_comment", Database, "Create comments";
    ReadComment => "read_comment", Database, "Read comments";
    ReadBackups => "read_backups", Database, "Read backups";
    WriteBackups => "write_backups", Database, "Write backups";
    DeleteBackups => "delete_backups", Database, "Delete backups";
    DeleteProductionBranchBackups => "delete_production_branch_backups", Database, "Delete production branch backups";
    RestoreBackup => "restore_backup", Database, "Restore backups";
    RestoreProductionBranchBackup => "restore_production_branch_backup", Database, "Restore production branch backups";
    WriteBranchVschema => "write_branch_vschema", Database, "Write branch VSchema";
    WriteProductionBranchVschema => "write_production_branch_vschema", Database, "Write production branch VSchema";
    ReadSchemaRecommendations => "read_schema_recommendations", Database, "Read schema recommendations";
    CloseSchemaRecommendations => "close_schema_recommendations", Database, "Close schema recommendations";
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Names that are not accesses, reported together so the caller can fix them at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown access names: {}", .0.join(", "))]
pub struct UnknownAccesses(pub Vec<String>);

/// Parses a list of access names, failing with every unknown name.
pub fn parse_access_names<S: AsRef<str>>(names: &[S]) -> Result<Vec<Access>, UnknownAccesses> {
    let mut accesses = Vec::with_capacity(names.len());
    let mut unknown = Vec::new();
    for name in names {
        match name.as_ref().parse::<Access>() {
            Ok(access) if !accesses.contains(&access) => accesses.push(access),
            Ok(_) => {}
            Err(()) => unknown.push(name.as_ref().to_string()),
        }
    }
    if unknown.is_empty() {
        Ok(accesses)
    } else {
        Err(UnknownAccesses(unknown))
    }
}

/// Every database-level access: what a token gets on a database it creates.
pub fn database_accesses() -> impl Iterator<Item = Access> {
    Access::ALL
        .iter()
        .copied()
        .filter(|access| access.level() == AccessLevel::Database)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for access in Access::ALL {
            assert_eq!(access.name().parse::<Access>(), Ok(*access));
        }
    }

    #[test]
    fn unknown_names_are_all_reported() {
        let err = parse_access_names(&["read_branch", "fly", "read_branch", "swim"]).unwrap_err();
        assert_eq!(err.0, vec!["fly".to_string(), "swim".to_string()]);
        assert_eq!(
            parse_access_names(&["read_branch", "read_branch"]).unwrap(),
            vec![Access::ReadBranch]
        );
    }
}
