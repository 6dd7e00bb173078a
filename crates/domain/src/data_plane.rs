//! Records of the data plane as the control plane keeps them: databases, branches and
//! their credentials, with their state machines. Physical names (the real database and
//! account names on a cluster) derive from ids only, never from user input.

use crate::ids::{DatabaseId, OrganizationId, UserId};
use crate::timestamp::Timestamp;
use std::fmt;
use std::str::FromStr;

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $( $variant:ident => $text:literal ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $( $variant, )* }

        impl $name {
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            /// The API's string for the value.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )* }
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(text: &str) -> Result<Self, ()> {
                match text { $( $text => Ok($name::$variant), )* _ => Err(()) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use wire_enum;

wire_enum!(
    /// The engine behind a database; fixed at creation.
    DatabaseKind { Mysql => "mysql", Postgresql => "postgresql" }
);

wire_enum!(
    /// `database.state`. dbplane uses `pending → ready`; deletion hides the database at
    /// once and a job removes what it owned.
    DatabaseState { Pending => "pending", Ready => "ready" }
);

wire_enum!(
    /// `branch.state`: `pending → ready`.
    BranchState { Pending => "pending", Ready => "ready" }
);

wire_enum!(
    /// Role of a MySQL password (semantics.md §6.1). Fixed at creation.
    PasswordRole { Reader => "reader", Writer => "writer", Readwriter => "readwriter", Admin => "admin" }
);

/// The only state changes of a database or branch: `pending → ready`. Anything else is
/// refused, so a replayed job step cannot move a resource backwards.
pub fn can_transition<S: PartialEq + Copy>(from: S, to: S, pending: S, ready: S) -> bool {
    from == pending && to == ready || from == to
}

impl DatabaseState {
    pub fn can_become(self, next: DatabaseState) -> bool {
        can_transition(self, next, DatabaseState::Pending, DatabaseState::Ready)
    }
}

impl BranchState {
    pub fn can_become(self, next: BranchState) -> bool {
        can_transition(self, next, BranchState::Pending, BranchState::Ready)
    }
}

/// Database settings that `update_database_settings` changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseSettings {
    pub deletion_protected: bool,
    pub require_approval_for_deploy: bool,
    pub allow_data_branching: bool,
    pub foreign_keys_enabled: bool,
    pub restrict_branch_region: bool,
    pub automatic_migrations: Option<bool>,
    pub migration_framework: Option<String>,
    pub migration_table_name: Option<String>,
    pub insights_raw_queries: bool,
    pub production_branch_web_console: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            deletion_protected: false,
            require_approval_for_deploy: false,
            allow_data_branching: false,
            foreign_keys_enabled: true,
            restrict_branch_region: false,
            automatic_migrations: None,
            migration_framework: None,
            migration_table_name: None,
            insights_raw_queries: false,
            production_branch_web_console: false,
        }
    }
}

/// A database.
#[derive(Clone, Debug)]
pub struct Database {
    pub id: DatabaseId,
    pub organization_id: OrganizationId,
    pub name: String,
    /// Free text given at creation.
    pub notes: String,
    pub kind: DatabaseKind,
    pub region: String,
    pub state: DatabaseState,
    pub cluster_size: String,
    pub replicas: i64,
    pub settings: DatabaseSettings,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub schema_last_updated_at: Option<Timestamp>,
}

crate::public_id_type!(
    /// Id of a branch.
    BranchId
);
crate::public_id_type!(
    /// Id of a branch password (MySQL) or role (Postgres).
    CredentialId
);

/// A branch: a real database on its cluster.
#[derive(Clone, Debug)]
pub struct Branch {
    pub id: BranchId,
    pub database_id: DatabaseId,
    pub name: String,
    pub parent_branch_id: Option<BranchId>,
    pub production: bool,
    pub safe_migrations: bool,
    pub deletion_protected: bool,
    pub state: BranchState,
    pub region: String,
    pub cluster_size: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub schema_last_updated_at: Option<Timestamp>,
    /// Set when the branch was deleted; a job then drops what it owned.
    pub deleted_at: Option<Timestamp>,
}

impl Branch {
    /// The physical database of the branch on its cluster.
    pub fn physical_name(&self) -> String {
        physical_database_name(&self.id)
    }
}

/// `dbp_<branch id>`: lowercase, digits, underscore; never user input.
pub fn physical_database_name(branch: &BranchId) -> String {
    format!("dbp_{}", branch.as_str())
}

/// `dbu_<credential id>`.
pub fn physical_username(credential: &CredentialId) -> String {
    format!("dbu_{}", credential.as_str())
}

/// Whether a credential's account exists for real yet (see `credentials` in control).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialState {
    /// The row was written; the account may not exist; not yet shown to the client.
    Pending,
    Active,
}

impl CredentialState {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialState::Pending => "pending",
            CredentialState::Active => "active",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(CredentialState::Pending),
            "active" => Some(CredentialState::Active),
            _ => None,
        }
    }
}

/// A branch password (MySQL) or role (Postgres): a real account on the cluster.
#[derive(Clone, Debug)]
pub struct Credential {
    pub id: CredentialId,
    pub branch_id: BranchId,
    pub name: String,
    pub role: PasswordRole,
    /// Postgres roles: the predefined roles it inherits (`pg_read_all_data`, ...).
    pub inherited_roles: Vec<String>,
    pub replica: bool,
    /// The branch's default role (`postgres`), at most one per branch.
    pub is_default: bool,
    pub state: CredentialState,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub ttl_seconds: Option<i64>,
    pub last_used_at: Option<Timestamp>,
}

impl Credential {
    pub fn username(&self) -> String {
        physical_username(&self.id)
    }
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_only_move_forward() {
        assert!(BranchState::Pending.can_become(BranchState::Ready));
        assert!(BranchState::Ready.can_become(BranchState::Ready));
        assert!(!BranchState::Ready.can_become(BranchState::Pending));
        assert!(DatabaseState::Pending.can_become(DatabaseState::Ready));
        assert!(!DatabaseState::Ready.can_become(DatabaseState::Pending));
    }

    #[test]
    fn wire_names_round_trip() {
        for role in PasswordRole::ALL {
            assert_eq!(role.as_str().parse::<PasswordRole>(), Ok(*role));
        }
        assert_eq!(
            "postgresql".parse::<DatabaseKind>(),
            Ok(DatabaseKind::Postgresql)
        );
        assert!("oracle".parse::<DatabaseKind>().is_err());
    }

    #[test]
    fn physical_names_come_from_ids() {
        let branch = BranchId::from_string("abc123def456");
        assert_eq!(physical_database_name(&branch), "dbp_abc123def456");
    }
}
