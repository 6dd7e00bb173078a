//! Databases: create (with its production default branch `main`), read, list, update
//! settings, delete. Provisioning and dropping run as durable jobs; calls return the
//! resource in its pending state at once.

use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess, Requirement};
use crate::paging::{PageRequest, Paged};
use crate::regions::Region;
use crate::{Caller, ControlPlane};
use dbplane_domain::data_plane::{
    Branch, BranchId, BranchState, Database, DatabaseKind, DatabaseSettings, DatabaseState,
};
use dbplane_domain::grant::Resource;
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_domain::names::validate_database_name;
use dbplane_domain::{AccessGrant, DatabaseId, GrantId, GrantScope, Organization, Timestamp};
use dbplane_store::{BranchFilter, DatabaseSummary};

/// Name of every database's first branch.
pub const DEFAULT_BRANCH_NAME: &str = "main";

/// A database with what its API object shows.
#[derive(Clone, Debug)]
pub struct DatabaseDetails {
    pub database: Database,
    pub organization: Organization,
    pub region: Region,
    pub default_branch: Option<String>,
    pub branches: u64,
    pub production_branches: u64,
    pub development_branches: u64,
    pub at_backup_restore_branches_limit: bool,
    pub default_branch_table_count: u64,
}

/// Longest `notes` accepted: free text, not a document store.
const MAX_NOTES_CHARS: usize = 4096;

/// `create_database` input.
#[derive(Clone, Debug, Default)]
pub struct CreateDatabase {
    pub name: String,
    /// Free text kept with the database (PlanetScale's clients send `notes`).
    pub notes: Option<String>,
    pub kind: Option<String>,
    pub region: Option<String>,
    pub cluster_size: Option<String>,
    pub replicas: Option<i64>,
}

/// `update_database_settings` input; `None` keeps a value.
#[derive(Clone, Debug, Default)]
pub struct DatabaseChanges {
    pub new_name: Option<String>,
    pub automatic_migrations: Option<bool>,
    pub migration_framework: Option<String>,
    pub migration_table_name: Option<String>,
    pub require_approval_for_deploy: Option<bool>,
    pub restrict_branch_region: Option<bool>,
    pub allow_data_branching: Option<bool>,
    pub allow_foreign_key_constraints: Option<bool>,
    pub insights_raw_queries: Option<bool>,
    pub deletion_protected: Option<bool>,
    pub production_branch_web_console: Option<bool>,
    pub default_branch: Option<String>,
}

impl ControlPlane {
    /// Resolves the database named in a path and checks the caller may run
    /// `operation` on it; a database the caller cannot see is a 404.
    pub(crate) async fn authorize_database(
        &self,
        caller: &Caller,
        organization_name: &str,
        database_name: &str,
        operation: &OperationAccess,
    ) -> ControlResult<(Organization, Database)> {
        let organization = self
            .authorize_organization(caller, organization_name, operation)
            .await?;
        let database = self
            .store
            .database(&organization.id, database_name)
            .await?
            .ok_or(ControlError::NotFound {
                resource: "database",
            })?;
        let resource = Resource::Database {
            organization: &organization.id,
            database: &database.id,
        };
        let allowed = match operation.requirement {
            Requirement::Database(accesses) => caller.grants().holds_any(accesses, resource),
            _ => true,
        };
        if !allowed {
            return Err(ControlError::NotFound {
                resource: "database",
            });
        }
        Ok((organization, database))
    }

    /// `create_database`.
    pub async fn create_database(
        &self,
        caller: &Caller,
        organization_name: &str,
        input: CreateDatabase,
    ) -> ControlResult<DatabaseDetails> {
        let organization = self
            .authorize_organization(caller, organization_name, &operations::CREATE_DATABASE)
            .await?;
        validate_database_name(&input.name)
            .map_err(|e| ControlError::invalid("name", e.to_string()))?;
        let kind = match input.kind.as_deref() {
            None => DatabaseKind::Mysql,
            Some(text) => text
                .parse::<DatabaseKind>()
                .map_err(|()| ControlError::invalid("kind", "must be mysql or postgresql"))?,
        };
        let region = self.usable_region(input.region.as_deref(), kind, "region")?;
        let cluster_size = self.validate_cluster_size(input.cluster_size.as_deref(), "PS_10")?;
        let replicas = input.replicas.unwrap_or(0);
        if !(0..=16).contains(&replicas) {
            return Err(ControlError::invalid(
                "replicas",
                "must be between 0 and 16",
            ));
        }
        if self
            .store
            .database(&organization.id, &input.name)
            .await?
            .is_some()
        {
            return Err(ControlError::Conflict(format!(
                "database {} already exists",
                input.name
            )));
        }
        let notes = input.notes.unwrap_or_default();
        if notes.chars().count() > MAX_NOTES_CHARS {
            return Err(ControlError::invalid(
                "notes",
                format!("at most {MAX_NOTES_CHARS} characters"),
            ));
        }
        let now = Timestamp::now();
        let database = Database {
            id: DatabaseId::generate(),
            organization_id: organization.id.clone(),
            name: input.name,
            notes,
            kind,
            region: region.slug.clone(),
            state: DatabaseState::Pending,
            cluster_size: cluster_size.clone(),
            replicas,
            settings: DatabaseSettings::default(),
            created_by: Some(caller.user_id().clone()),
            created_at: now,
            updated_at: now,
            schema_last_updated_at: None,
        };
        let main = Branch {
            id: BranchId::generate(),
            database_id: database.id.clone(),
            name: DEFAULT_BRANCH_NAME.to_string(),
            parent_branch_id: None,
            production: true,
            safe_migrations: false,
            deletion_protected: false,
            state: BranchState::Pending,
            region: region.slug.clone(),
            cluster_size,
            created_by: Some(caller.user_id().clone()),
            created_at: now,
            updated_at: now,
            schema_last_updated_at: None,
            deleted_at: None,
        };
        let job = crate::data_jobs::create_branch_job(&main, true);
        // A token that creates a database gets every database access on it.
        let grants: Vec<AccessGrant> = dbplane_domain::access::database_accesses()
            .map(|access| AccessGrant {
                id: GrantId::generate(),
                access,
                scope: GrantScope::Database(database.id.clone()),
            })
            .collect();
        self.store
            .create_database(&database, &main, &job, Some((caller.token_id(), &grants)))
            .await
            .map_err(|error| match error {
                dbplane_store::StoreError::Conflict { .. } => {
                    ControlError::Conflict(format!("database {} already exists", database.name))
                }
                other => other.into(),
            })?;
        self.invalidate_token(caller.token_id());
        self.organizations.invalidate(&organization.id);
        self.jobs.notify();
        self.database_details(organization, database).await
    }

    /// `get_database`.
    pub async fn get_database(
        &self,
        caller: &Caller,
        organization: &str,
        name: &str,
    ) -> ControlResult<DatabaseDetails> {
        let (organization, database) = self
            .authorize_database(caller, organization, name, &operations::GET_DATABASE)
            .await?;
        self.database_details(organization, database).await
    }

    /// `list_databases`: the databases the caller holds any database access on.
    pub async fn list_databases(
        &self,
        caller: &Caller,
        organization_name: &str,
        query: Option<&str>,
        page: PageRequest,
    ) -> ControlResult<Paged<DatabaseDetails>> {
        let organization = self
            .authorize_organization(caller, organization_name, &operations::LIST_DATABASES)
            .await?;
        let accesses = operations::LIST_DATABASES.accesses();
        let organization_wide = caller
            .grants()
            .holds_any(accesses, Resource::Organization(&organization.id));
        let any_database = caller.grants().grants().iter().any(|grant| {
            matches!(grant.scope, GrantScope::Database(_)) && accesses.contains(&grant.access)
        });
        if !organization_wide && !any_database {
            return Err(ControlError::NotFound {
                resource: "organization",
            });
        }
        let (visible, total) = if organization_wide {
            // Every database is visible: the store pages.
            let found = self
                .store
                .list_databases(&organization.id, query, page.window())
                .await?;
            (found.items, found.total)
        } else {
            // Visibility is per database, so filter before paginating.
            let all = self
                .store
                .list_databases(
                    &organization.id,
                    query,
                    dbplane_store::Window {
                        offset: 0,
                        limit: u32::MAX as u64,
                    },
                )
                .await?;
            let visible: Vec<Database> = all
                .items
                .into_iter()
                .filter(|database| {
                    caller.grants().holds_any(
                        accesses,
                        Resource::Database {
                            organization: &organization.id,
                            database: &database.id,
                        },
                    )
                })
                .collect();
            let total = visible.len() as u64;
            (page.slice(&visible), total)
        };
        let items = self.page_details(&organization, visible).await?;
        Ok(Paged {
            items,
            total,
            request: page,
        })
    }

    /// `update_database_settings`.
    pub async fn update_database(
        &self,
        caller: &Caller,
        organization_name: &str,
        name: &str,
        changes: DatabaseChanges,
    ) -> ControlResult<DatabaseDetails> {
        let (organization, mut database) = self
            .authorize_database(
                caller,
                organization_name,
                name,
                &operations::UPDATE_DATABASE_SETTINGS,
            )
            .await?;
        if let Some(new_name) = changes.new_name.filter(|n| n != &database.name) {
            validate_database_name(&new_name)
                .map_err(|e| ControlError::invalid("new_name", e.to_string()))?;
            if self
                .store
                .database(&organization.id, &new_name)
                .await?
                .is_some()
            {
                return Err(ControlError::Conflict(format!(
                    "database {new_name} already exists"
                )));
            }
            database.name = new_name;
        }
        let settings = &mut database.settings;
        apply(
            &mut settings.automatic_migrations,
            changes.automatic_migrations.map(Some),
        );
        apply(
            &mut settings.migration_framework,
            changes.migration_framework.map(Some),
        );
        apply(
            &mut settings.migration_table_name,
            changes.migration_table_name.map(Some),
        );
        apply(
            &mut settings.require_approval_for_deploy,
            changes.require_approval_for_deploy,
        );
        apply(
            &mut settings.restrict_branch_region,
            changes.restrict_branch_region,
        );
        apply(
            &mut settings.allow_data_branching,
            changes.allow_data_branching,
        );
        apply(
            &mut settings.foreign_keys_enabled,
            changes.allow_foreign_key_constraints,
        );
        apply(
            &mut settings.insights_raw_queries,
            changes.insights_raw_queries,
        );
        apply(&mut settings.deletion_protected, changes.deletion_protected);
        apply(
            &mut settings.production_branch_web_console,
            changes.production_branch_web_console,
        );
        if settings.automatic_migrations == Some(true)
            && (settings.migration_framework.is_none() || settings.migration_table_name.is_none())
        {
            return Err(ControlError::invalid(
                "automatic_migrations",
                "needs migration_framework and migration_table_name",
            ));
        }
        if let Some(default_name) = changes.default_branch {
            let branch = self
                .store
                .branch(&database.id, &default_name)
                .await?
                .ok_or_else(|| ControlError::invalid("default_branch", "no such branch"))?;
            if database.kind == DatabaseKind::Postgresql && !branch.production {
                return Err(ControlError::invalid(
                    "default_branch",
                    "must be a production branch",
                ));
            }
            self.store
                .set_default_branch(&database.id, &branch.id)
                .await?;
        }
        database.updated_at = Timestamp::now();
        self.store.update_database(&database).await?;
        // A new name is what clients connect with.
        self.edge_routes_changed().await;
        self.database_details(organization, database).await
    }

    /// `delete_database`: hides it at once; a job drops every branch and credential.
    pub async fn delete_database(
        &self,
        caller: &Caller,
        organization_name: &str,
        name: &str,
    ) -> ControlResult<()> {
        let (_, database) = self
            .authorize_database(
                caller,
                organization_name,
                name,
                &operations::DELETE_DATABASE,
            )
            .await?;
        if database.settings.deletion_protected {
            return Err(ControlError::Unprocessable(
                "database is deletion protected; turn deletion_protected off first".into(),
            ));
        }
        let job = Job::new(
            JobKind::DeleteDatabase,
            database.id.as_str(),
            "drop_branches",
            "{}".into(),
        );
        self.store
            .mark_database_deleted(&database.id, Timestamp::now(), &job)
            .await?;
        self.edge_routes_changed().await;
        self.organizations.invalidate(&database.organization_id);
        self.jobs.notify();
        Ok(())
    }

    /// `list_database_regions`: the database's region.
    pub async fn list_database_regions(
        &self,
        caller: &Caller,
        organization: &str,
        name: &str,
        page: PageRequest,
    ) -> ControlResult<Paged<Region>> {
        let (_, database) = self
            .authorize_database(
                caller,
                organization,
                name,
                &operations::LIST_DATABASE_REGIONS,
            )
            .await?;
        let regions: Vec<Region> = self
            .regions
            .by_slug(&database.region)
            .cloned()
            .into_iter()
            .collect();
        Ok(Paged {
            total: regions.len() as u64,
            items: page.slice(&regions),
            request: page,
        })
    }

    pub(crate) async fn database_details(
        &self,
        organization: Organization,
        database: Database,
    ) -> ControlResult<DatabaseDetails> {
        let mut summaries = self
            .store
            .database_summaries(std::slice::from_ref(&database.id))
            .await?;
        let summary = summaries.remove(&database.id).unwrap_or_default();
        Ok(self.details_from(organization, database, summary))
    }

    /// The details of a page of databases, from the metadata store alone: a fixed
    /// number of queries however long the page, and no database server asked (the
    /// table count is the one the background refresher stored).
    async fn page_details(
        &self,
        organization: &Organization,
        databases: Vec<Database>,
    ) -> ControlResult<Vec<DatabaseDetails>> {
        let ids: Vec<DatabaseId> = databases.iter().map(|d| d.id.clone()).collect();
        let mut summaries = self.store.database_summaries(&ids).await?;
        Ok(databases
            .into_iter()
            .map(|database| {
                let summary = summaries.remove(&database.id).unwrap_or_default();
                self.details_from(organization.clone(), database, summary)
            })
            .collect())
    }

    fn details_from(
        &self,
        organization: Organization,
        database: Database,
        summary: DatabaseSummary,
    ) -> DatabaseDetails {
        let region = self
            .regions
            .by_slug(&database.region)
            .cloned()
            .unwrap_or_else(|| self.regions.default_region().clone());
        let counts = summary.counts;
        let table_count = match &summary.default_branch {
            Some(branch) if branch.state == BranchState::Ready => {
                summary.default_branch_table_count
            }
            _ => 0,
        };
        DatabaseDetails {
            region,
            default_branch: summary.default_branch.map(|b| b.name),
            branches: counts.total,
            production_branches: counts.production,
            development_branches: counts.development,
            at_backup_restore_branches_limit: counts.restored
                >= self.config.backups.restored_branches_limit,
            default_branch_table_count: table_count,
            database,
            organization,
        }
    }

    /// A region that exists, is enabled, supports `kind` and has a cluster for it.
    pub(crate) fn usable_region(
        &self,
        slug: Option<&str>,
        kind: DatabaseKind,
        field: &str,
    ) -> ControlResult<Region> {
        let region =
            match slug {
                Some(slug) => self.regions.by_slug(slug).cloned().ok_or_else(|| {
                    ControlError::invalid(field, format!("unknown region {slug:?}"))
                })?,
                None => self.regions.default_region().clone(),
            };
        let supported = match kind {
            DatabaseKind::Mysql => region.mysql_supported,
            DatabaseKind::Postgresql => region.postgresql_supported,
        };
        if !region.enabled || !supported {
            return Err(ControlError::invalid(
                field,
                format!("region {} does not accept {kind} databases", region.slug),
            ));
        }
        if self.clusters.get(&region.slug, kind).is_none() {
            return Err(ControlError::Unprocessable(format!(
                "no {kind} cluster serves region {}; configure one under [clusters]",
                region.slug
            )));
        }
        Ok(region)
    }

    pub(crate) fn validate_cluster_size(
        &self,
        size: Option<&str>,
        default: &str,
    ) -> ControlResult<String> {
        let size = size.unwrap_or(default);
        if self.config.cluster_sizes.iter().any(|s| s.name == size) {
            Ok(size.to_string())
        } else {
            Err(ControlError::invalid(
                "cluster_size",
                format!("unknown cluster size {size:?}"),
            ))
        }
    }

    /// Live branches of a database matching a filter (used by list_branches).
    pub(crate) async fn branches_of(
        &self,
        database: &DatabaseId,
        filter: &BranchFilter,
        page: PageRequest,
    ) -> ControlResult<Paged<Branch>> {
        let stored = self
            .store
            .list_branches(database, filter, page.window())
            .await?;
        Ok(Paged {
            items: stored.items,
            total: stored.total,
            request: page,
        })
    }
}

fn apply<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}
