//! `Database`.

use super::connection::database_url;
use super::region::RegionResponse;
use dbplane_control::branches::MAX_DEVELOPMENT_BRANCHES;
use dbplane_control::databases::{DEFAULT_BRANCH_NAME, DatabaseDetails};
use dbplane_domain::data_plane::DatabaseState;
use serde::Serialize;

/// The plan shown for every database: there is no billing.
const PLAN: &str = "self_hosted";

/// A database's `data_import` (always null: dbplane has no external imports).
#[derive(Serialize)]
pub struct DataImportResponse {
    state: String,
    import_check_errors: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    data_source: DataSourceResponse,
}

#[derive(Serialize)]
pub struct DataSourceResponse {
    hostname: String,
    port: u16,
    database: String,
}

#[derive(Serialize)]
pub struct DatabaseResponse {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    id: String,
    name: String,
    /// Not in the spec; PlanetScale's Go SDK reads it (`Database.Notes`).
    notes: String,
    kind: &'static str,
    state: &'static str,
    ready: bool,
    plan: &'static str,
    region: RegionResponse,
    default_branch: String,
    url: String,
    /// dbplane has no web console; the API resource stands in for the page.
    html_url: String,
    branches_url: String,
    created_at: String,
    updated_at: String,
    schema_last_updated_at: Option<String>,
    branches_count: u64,
    development_branches_count: u64,
    production_branches_count: u64,
    issues_count: Option<u64>,
    open_schema_recommendations_count: u64,
    default_branch_table_count: u64,
    default_branch_shard_count: u64,
    default_branch_read_only_regions_count: u64,
    sharded: bool,
    deletion_protected: bool,
    multiple_admins_required_for_deletion: bool,
    require_approval_for_deploy: bool,
    allow_data_branching: bool,
    foreign_keys_enabled: bool,
    restrict_branch_region: bool,
    automatic_migrations: Option<bool>,
    migration_framework: Option<String>,
    migration_table_name: Option<String>,
    insights_raw_queries: bool,
    insights_enabled: bool,
    production_branch_web_console: bool,
    at_backup_restore_branches_limit: bool,
    at_development_branch_usage_limit: bool,
    resizing: bool,
    resize_queued: bool,
    config_changing: bool,
    config_change_queued: bool,
    data_import: Option<DataImportResponse>,
}

impl DatabaseResponse {
    pub fn new(details: DatabaseDetails, base_url: &str) -> Self {
        let database = details.database;
        let settings = database.settings;
        let url = database_url(base_url, &details.organization.name, &database.name);
        Self {
            kind_tag: "Database",
            id: database.id.to_string(),
            kind: database.kind.as_str(),
            state: database.state.as_str(),
            ready: database.state == DatabaseState::Ready,
            plan: PLAN,
            region: RegionResponse::for_organization(details.region),
            default_branch: details
                .default_branch
                .unwrap_or_else(|| DEFAULT_BRANCH_NAME.to_string()),
            branches_url: format!("{url}/branches"),
            html_url: url.clone(),
            url,
            name: database.name,
            notes: database.notes,
            created_at: database.created_at.to_iso8601(),
            updated_at: database.updated_at.to_iso8601(),
            schema_last_updated_at: database.schema_last_updated_at.map(|t| t.to_iso8601()),
            branches_count: details.branches,
            development_branches_count: details.development_branches,
            production_branches_count: details.production_branches,
            issues_count: Some(0),
            open_schema_recommendations_count: 0,
            default_branch_table_count: details.default_branch_table_count,
            // One unsharded keyspace on one server, no read-only regions.
            default_branch_shard_count: 1,
            default_branch_read_only_regions_count: 0,
            sharded: false,
            deletion_protected: settings.deletion_protected,
            multiple_admins_required_for_deletion: false,
            require_approval_for_deploy: settings.require_approval_for_deploy,
            allow_data_branching: settings.allow_data_branching,
            foreign_keys_enabled: settings.foreign_keys_enabled,
            restrict_branch_region: settings.restrict_branch_region,
            automatic_migrations: settings.automatic_migrations,
            migration_framework: settings.migration_framework,
            migration_table_name: settings.migration_table_name,
            insights_raw_queries: settings.insights_raw_queries,
            insights_enabled: false,
            production_branch_web_console: settings.production_branch_web_console,
            at_backup_restore_branches_limit: details.at_backup_restore_branches_limit,
            at_development_branch_usage_limit: details.development_branches
                >= MAX_DEVELOPMENT_BRANCHES,
            resizing: false,
            resize_queued: false,
            config_changing: false,
            config_change_queued: false,
            data_import: None,
        }
    }
}
