//! Hand-made control-plane details for the contract tests.

use crate::extract::Pagination;
use dbplane_control::branches::BranchDetails;
use dbplane_control::credentials::CredentialDetails;
use dbplane_control::databases::DatabaseDetails;
use dbplane_control::regions::Region;
use dbplane_control::{PageRequest, Paged};
use dbplane_domain::data_plane::{
    Branch, BranchId, BranchState, Credential, CredentialId, CredentialState, Database,
    DatabaseKind, DatabaseSettings, DatabaseState, PasswordRole,
};
use dbplane_domain::{DatabaseId, Organization, OrganizationId, Timestamp, User, UserId};

pub const BASE: &str = "http://127.0.0.1:8080";

pub fn region() -> Region {
    Region {
        id: "abcdefghijkl".into(),
        slug: "us-east".into(),
        display_name: "Local us-east".into(),
        location: "Local".into(),
        provider: "dbplane".into(),
        enabled: true,
        current_default: true,
        public_ip_addresses: vec!["127.0.0.1".into()],
        mysql_supported: true,
        postgresql_supported: true,
    }
}

pub fn organization() -> Organization {
    Organization {
        id: OrganizationId::generate(),
        name: "acme".into(),
        billing_email: "ops@acme.test".into(),
        idp_managed_roles: false,
        invoice_budget_amount: 0,
        created_at: Timestamp::from_unix_millis(1_700_000_000_000),
        updated_at: Timestamp::from_unix_millis(1_700_000_000_000),
    }
}

pub fn user() -> User {
    User {
        id: UserId::generate(),
        email: "ada@acme.test".into(),
        name: "Ada".into(),
        default_organization_id: None,
        created_at: Timestamp::from_unix_millis(1_700_000_000_000),
        updated_at: Timestamp::from_unix_millis(1_700_000_000_000),
    }
}

/// A ready database; `settings` with nullable fields both set and unset across kinds.
pub fn database(kind: DatabaseKind) -> Database {
    let settings = match kind {
        DatabaseKind::Mysql => DatabaseSettings::default(),
        DatabaseKind::Postgresql => DatabaseSettings {
            automatic_migrations: Some(true),
            migration_framework: Some("rails".into()),
            migration_table_name: Some("schema_migrations".into()),
            ..DatabaseSettings::default()
        },
    };
    Database {
        id: DatabaseId::generate(),
        organization_id: OrganizationId::generate(),
        name: "shop".into(),
        notes: "orders and invoices".into(),
        kind,
        region: "us-east".into(),
        state: DatabaseState::Ready,
        cluster_size: "PS_10".into(),
        replicas: 2,
        settings,
        created_by: None,
        created_at: Timestamp::from_unix_millis(1_700_000_000_000),
        updated_at: Timestamp::from_unix_millis(1_700_000_100_000),
        schema_last_updated_at: Some(Timestamp::from_unix_millis(1_700_000_200_000)),
    }
}

pub fn database_details(kind: DatabaseKind) -> DatabaseDetails {
    DatabaseDetails {
        database: database(kind),
        organization: organization(),
        region: region(),
        default_branch: Some("main".into()),
        branches: 2,
        production_branches: 1,
        development_branches: 1,
        at_backup_restore_branches_limit: false,
        default_branch_table_count: 3,
    }
}

/// A development branch (`parent` set, actor known) or a pending production one.
pub fn branch_details(kind: DatabaseKind, development: bool) -> BranchDetails {
    let now = Timestamp::from_unix_millis(1_700_000_300_000);
    let mut details = BranchDetails {
        branch: Branch {
            id: BranchId::generate(),
            database_id: DatabaseId::generate(),
            name: if development { "dev" } else { "main" }.into(),
            parent_branch_id: development.then(BranchId::generate),
            production: !development,
            safe_migrations: !development,
            deletion_protected: false,
            state: if development {
                BranchState::Ready
            } else {
                BranchState::Pending
            },
            region: "us-east".into(),
            cluster_size: if development { "PS_DEV" } else { "PS_10" }.into(),
            created_by: None,
            created_at: now,
            updated_at: now,
            schema_last_updated_at: None,
            deleted_at: None,
        },
        database: database(kind),
        organization: organization(),
        parent_name: development.then(|| "main".to_string()),
        region: region(),
        address: "127.0.0.1:3309".into(),
        access_host: "127.0.0.1:3310".into(),
        connect_database: "shop".into(),
        actor: development.then(user),
        restored_from: None,
        cluster_display_name: if development { "Development" } else { "PS-10" }.into(),
    };
    // Both nullabilities of `restored_from_branch`.
    if development {
        details.restored_from = Some(details.branch.clone());
    }
    details
}

/// A credential; `secret` as at creation or reset, `ttl` to cover both nullabilities.
pub fn credential_details(
    kind: DatabaseKind,
    secret: Option<&str>,
    ttl: Option<i64>,
) -> CredentialDetails {
    let now = Timestamp::from_unix_millis(1_700_000_400_000);
    CredentialDetails {
        credential: Credential {
            id: CredentialId::generate(),
            branch_id: BranchId::generate(),
            name: "ci".into(),
            role: PasswordRole::Readwriter,
            inherited_roles: match kind {
                DatabaseKind::Mysql => Vec::new(),
                DatabaseKind::Postgresql => {
                    vec!["pg_read_all_data".into(), "pg_write_all_data".into()]
                }
            },
            replica: false,
            is_default: false,
            state: CredentialState::Active,
            created_by: None,
            created_at: now,
            updated_at: now,
            expires_at: ttl.map(|ttl| now.plus_seconds(ttl)),
            ttl_seconds: ttl,
            last_used_at: ttl.map(|_| now),
        },
        branch: branch_details(kind, true),
        actor: ttl.map(|_| user()),
        plain_text: secret.map(str::to_string),
    }
}

pub fn pagination(path: &str) -> Pagination {
    Pagination {
        request: PageRequest::new(Some(1), Some(1)).expect("valid page"),
        path: path.to_string(),
        base_url: BASE.to_string(),
    }
}

/// Two items of which the page shows the first, so `next_page` is set.
pub fn paged<T>(items: Vec<T>) -> Paged<T> {
    let request = PageRequest::new(Some(1), Some(1)).expect("valid page");
    Paged {
        total: items.len() as u64,
        items: items.into_iter().take(1).collect(),
        request,
    }
}
