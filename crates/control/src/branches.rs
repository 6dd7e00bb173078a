//! Branches: create (schema copied from the parent by a job), read, list, rename,
//! delete (with descendants), promote/demote, safe migrations, cluster size, schema and
//! keyspaces.

mod cluster;
mod lifecycle;
mod schema;

use crate::databases::DatabaseDetails;
use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::paging::{PageRequest, Paged};
use crate::regions::Region;
use crate::{Caller, ControlPlane};
use dbplane_domain::data_plane::{Branch, BranchId, BranchState, Database, DatabaseState};
use dbplane_domain::grant::Resource;
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_domain::names::validate_branch_name;
use dbplane_domain::{Access, Organization, Timestamp, User};
use dbplane_store::BranchFilter;

/// Most development branches a database may have (PlanetScale's limit).
pub const MAX_DEVELOPMENT_BRANCHES: u64 = 100;

/// A branch with what its API object shows.
#[derive(Clone, Debug)]
pub struct BranchDetails {
    pub branch: Branch,
    pub database: Database,
    pub organization: Organization,
    pub parent_name: Option<String>,
    pub region: Region,
    /// `host:port` clients connect to: the connection edge for MySQL branches when it
    /// runs, else the branch's server.
    pub address: String,
    /// A password's `access_host_url`: the edge's HTTP SQL API when it serves one (whose
    /// listener also serves MySQL clients that come to it), else `address`.
    pub access_host: String,
    /// The database name clients connect with: the database's own name through the
    /// edge, else the branch's physical database.
    pub connect_database: String,
    pub actor: Option<User>,
    /// The branch whose backup this branch was restored from.
    pub restored_from: Option<Branch>,
    /// The display name of the branch's cluster size (`PS-10` for `PS_10`).
    pub cluster_display_name: String,
}

/// `create_branch` input.
#[derive(Clone, Debug, Default)]
pub struct CreateBranch {
    pub name: String,
    pub parent_branch: Option<String>,
    pub region: Option<String>,
    pub backup_id: Option<String>,
    pub seed_data: Option<String>,
    pub cluster_size: Option<String>,
    pub deletion_protected: Option<bool>,
}

/// `list_branches` filters.
#[derive(Clone, Debug, Default)]
pub struct ListBranches {
    pub query: Option<String>,
    pub production: Option<bool>,
    pub safe_migrations: Option<bool>,
    pub newest_first: bool,
}

impl ControlPlane {
    /// Resolves `database/branch` from a path under `operation`'s requirement.
    pub(crate) async fn authorize_branch(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
        operation: &OperationAccess,
    ) -> ControlResult<(Organization, Database, Branch)> {
        let (organization, database) = self
            .authorize_database(caller, organization, database, operation)
            .await?;
        let branch = self
            .store
            .branch(&database.id, branch)
            .await?
            .ok_or(ControlError::NotFound { resource: "branch" })?;
        Ok((organization, database, branch))
    }

    /// Production branches need the production variant of an access: e.g. deleting one
    /// needs `delete_production_branch`, not just `delete_branch` (semantics.md §5.3).
    pub(crate) fn require_on_branch(
        &self,
        caller: &Caller,
        organization: &Organization,
        database: &Database,
        branch: &Branch,
        development: &[Access],
        production: &[Access],
    ) -> ControlResult<()> {
        let needed = if branch.production {
            production
        } else {
            development
        };
        let resource = Resource::Database {
            organization: &organization.id,
            database: &database.id,
        };
        if caller.grants().holds_any(needed, resource) {
            Ok(())
        } else {
            let names: Vec<&str> = needed.iter().map(|a| a.name()).collect();
            Err(ControlError::Forbidden(format!(
                "this operation on a {} branch needs one of: {}",
                if branch.production {
                    "production"
                } else {
                    "development"
                },
                names.join(", ")
            )))
        }
    }

    /// `create_branch`.
    pub async fn create_branch(
        &self,
        caller: &Caller,
        organization: &str,
        database_name: &str,
        input: CreateBranch,
    ) -> ControlResult<BranchDetails> {
        let (organization, database) = self
            .authorize_database(
                caller,
                organization,
                database_name,
                &operations::CREATE_BRANCH,
            )
            .await?;
        validate_branch_name(&input.name)
            .map_err(|e| ControlError::invalid("name", e.to_string()))?;
        if database.state != DatabaseState::Ready {
            return Err(ControlError::BadRequest(
                "Database is still initializing and cannot create branches.".into(),
            ));
        }
        let restore = self
            .restore_source(caller, &organization, &database, &input)
            .await?;
        let resource = Resource::Database {
            organization: &organization.id,
            database: &database.id,
        };
        if restore.is_none() && !caller.grants().holds(Access::CreateBranch, resource) {
            return Err(ControlError::Forbidden(
                "creating a branch needs create_branch".into(),
            ));
        }
        let parent = match (&restore, &input.parent_branch) {
            (Some(restore), _) => restore.source.clone(),
            (None, Some(name)) => {
                self.store
                    .branch(&database.id, name)
                    .await?
                    .ok_or_else(|| {
                        ControlError::invalid("parent_branch", format!("no branch named {name:?}"))
                    })?
            }
            (None, None) => self
                .store
                .default_branch(&database.id)
                .await?
                .ok_or_else(|| {
                    ControlError::Unprocessable("the database has no default branch".into())
                })?,
        };
        if restore.is_none() && parent.state != BranchState::Ready {
            return Err(ControlError::Unprocessable(format!(
                "parent branch {} is not ready yet",
                parent.name
            )));
        }
        let region = self.usable_region(
            Some(input.region.as_deref().unwrap_or(&database.region)),
            database.kind,
            "region",
        )?;
        if region.slug != database.region {
            // One cluster per (region, kind) serves a database; branches stay with it.
            return Err(ControlError::invalid(
                "region",
                format!("branches of {} live in {}", database.name, database.region),
            ));
        }
        let cluster_size = self.validate_cluster_size(input.cluster_size.as_deref(), "PS_DEV")?;
        if self
            .store
            .branch(&database.id, &input.name)
            .await?
            .is_some()
        {
            return Err(ControlError::Conflict(format!(
                "branch {} already exists",
                input.name
            )));
        }
        let counts = self.store.branch_counts(&database.id).await?;
        if counts.development >= MAX_DEVELOPMENT_BRANCHES {
            return Err(ControlError::Unprocessable(format!(
                "the database has reached its limit of {MAX_DEVELOPMENT_BRANCHES} development branches"
            )));
        }
        let restored_limit = self.config.backups.restored_branches_limit;
        if restore.is_some() && counts.restored >= restored_limit {
            return Err(ControlError::Unprocessable(format!(
                "the database has reached its limit of {restored_limit} branches restored from backups; delete one first"
            )));
        }
        let now = Timestamp::now();
        // Data Branching from a production parent makes a production branch at the
        // parent's size (semantics.md §5.1).
        let seeded_production = restore
            .as_ref()
            .is_some_and(|restore| restore.seeded && parent.production);
        let branch = Branch {
            id: BranchId::generate(),
            database_id: database.id.clone(),
            name: input.name,
            parent_branch_id: Some(parent.id.clone()),
            production: seeded_production,
            safe_migrations: false,
            deletion_protected: input.deletion_protected.unwrap_or(false),
            state: BranchState::Pending,
            region: region.slug.clone(),
            cluster_size: if seeded_production {
                parent.cluster_size.clone()
            } else {
                cluster_size
            },
            created_by: Some(caller.user_id().clone()),
            created_at: now,
            updated_at: now,
            schema_last_updated_at: None,
            deleted_at: None,
        };
        let stored = match &restore {
            Some(restore) => {
                let record = dbplane_store::BranchRestore {
                    branch_id: branch.id.clone(),
                    backup_id: restore.backup.id.clone(),
                    source_branch_id: restore.source.id.clone(),
                };
                let job = crate::backups::jobs::restore_branch_job(&branch.id, &restore.backup.id);
                self.store
                    .create_restored_branch(&branch, &record, &job)
                    .await
            }
            None => {
                let job = crate::data_jobs::create_branch_job(&branch, false);
                self.store.create_branch(&branch, &job).await
            }
        };
        stored.map_err(|error| match error {
            dbplane_store::StoreError::Conflict { .. } => {
                ControlError::Conflict(format!("branch {} already exists", branch.name))
            }
            other => other.into(),
        })?;
        self.jobs.notify();
        self.branch_details(organization, database, branch).await
    }

    /// `get_branch`.
    pub async fn get_branch(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
    ) -> ControlResult<BranchDetails> {
        let (organization, database, branch) = self
            .authorize_branch(
                caller,
                organization,
                database,
                branch,
                &operations::GET_BRANCH,
            )
            .await?;
        self.branch_details(organization, database, branch).await
    }

    /// `list_branches`.
    pub async fn list_branches(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        filter: ListBranches,
        page: PageRequest,
    ) -> ControlResult<Paged<BranchDetails>> {
        let (organization, database) = self
            .authorize_database(caller, organization, database, &operations::LIST_BRANCHES)
            .await?;
        let filter = BranchFilter {
            query: filter.query,
            production: filter.production,
            safe_migrations: filter.safe_migrations,
            newest_first: filter.newest_first,
        };
        let branches = self.branches_of(&database.id, &filter, page).await?;
        let mut items = Vec::with_capacity(branches.items.len());
        for branch in branches.items {
            items.push(
                self.branch_details(organization.clone(), database.clone(), branch)
                    .await?,
            );
        }
        Ok(Paged {
            items,
            total: branches.total,
            request: page,
        })
    }

    /// `update_branch`: rename and deletion protection. Credentials keep working: they
    /// are bound to the branch id, not its name.
    pub async fn update_branch(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
        new_name: Option<String>,
        deletion_protected: Option<bool>,
    ) -> ControlResult<BranchDetails> {
        let (organization, database, mut branch) = self
            .authorize_branch(
                caller,
                organization,
                database,
                branch,
                &operations::UPDATE_BRANCH,
            )
            .await?;
        if let Some(new_name) = new_name.filter(|n| n != &branch.name) {
            validate_branch_name(&new_name)
                .map_err(|e| ControlError::invalid("new_name", e.to_string()))?;
            if self.store.branch(&database.id, &new_name).await?.is_some() {
                return Err(ControlError::Conflict(format!(
                    "branch {new_name} already exists"
                )));
            }
            branch.name = new_name;
        }
        if let Some(protected) = deletion_protected {
            branch.deletion_protected = protected;
        }
        branch.updated_at = Timestamp::now();
        self.store
            .update_branch(&branch)
            .await
            .map_err(|error| match error {
                dbplane_store::StoreError::Conflict { .. } => {
                    ControlError::Conflict(format!("branch {} already exists", branch.name))
                }
                other => other.into(),
            })?;
        self.branch_details(organization, database, branch).await
    }

    /// `delete_branch`: the default branch and protected branches are refused; a branch
    /// with children needs `delete_descendants`.
    pub async fn delete_branch(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
        delete_descendants: bool,
    ) -> ControlResult<()> {
        let (organization, database, branch) = self
            .authorize_branch(
                caller,
                organization,
                database,
                branch,
                &operations::DELETE_BRANCH,
            )
            .await?;
        self.require_on_branch(
            caller,
            &organization,
            &database,
            &branch,
            // A production access covers development branches too.
            &[Access::DeleteBranch, Access::DeleteProductionBranch],
            &[Access::DeleteProductionBranch],
        )?;
        let default = self.store.default_branch(&database.id).await?;
        if default.as_ref().is_some_and(|d| d.id == branch.id) {
            return Err(ControlError::Unprocessable(
                "the default branch cannot be deleted; make another branch the default first"
                    .into(),
            ));
        }
        if branch.deletion_protected {
            return Err(ControlError::Unprocessable(
                "branch is deletion protected".into(),
            ));
        }
        let mut doomed = vec![branch.clone()];
        let mut index = 0;
        while index < doomed.len() {
            let children = self.store.child_branches(&doomed[index].id).await?;
            if !children.is_empty() && !delete_descendants {
                let names: Vec<_> = children.iter().map(|c| c.name.as_str()).collect();
                return Err(ControlError::Unprocessable(format!(
                    "branch {} has child branches ({}); pass delete_descendants=true to delete them too",
                    doomed[index].name,
                    names.join(", ")
                )));
            }
            for child in children {
                if child.deletion_protected || default.as_ref().is_some_and(|d| d.id == child.id) {
                    return Err(ControlError::Unprocessable(format!(
                        "descendant branch {} cannot be deleted",
                        child.name
                    )));
                }
                doomed.push(child);
            }
            index += 1;
        }
        let jobs: Vec<(BranchId, Job)> = doomed
            .iter()
            .map(|b| {
                (
                    b.id.clone(),
                    Job::new(
                        JobKind::DeleteBranch,
                        b.id.as_str(),
                        "drop_credentials",
                        "{}".into(),
                    ),
                )
            })
            .collect();
        self.store
            .mark_branches_deleted(&jobs, Timestamp::now())
            .await?;
        self.edge_routes_changed().await;
        self.jobs.notify();
        Ok(())
    }

    pub(crate) fn endpoint_of(
        &self,
        database: &Database,
    ) -> ControlResult<&crate::clusters::ClusterEndpoint> {
        self.clusters
            .for_database(database)
            .map_err(|error| ControlError::Unavailable(error.to_string()))
    }

    pub(crate) async fn branch_details(
        &self,
        organization: Organization,
        database: Database,
        branch: Branch,
    ) -> ControlResult<BranchDetails> {
        let parent_name = match &branch.parent_branch_id {
            Some(id) => self.store.branch_by_id(id).await?.map(|parent| parent.name),
            None => None,
        };
        let actor = match &branch.created_by {
            Some(id) => self.store.user_by_id(id).await?,
            None => None,
        };
        let region = self
            .regions
            .by_slug(&branch.region)
            .cloned()
            .unwrap_or_else(|| self.regions.default_region().clone());
        let through_edge = self
            .edge
            .as_ref()
            .filter(|_| database.kind == dbplane_domain::data_plane::DatabaseKind::Mysql);
        let access_host = through_edge.and_then(|edge| edge.public_http_address.clone());
        let (address, connect_database) = match through_edge {
            Some(edge) => (edge.public_address.clone(), database.name.clone()),
            None => (
                self.clusters
                    .get(&database.region, database.kind)
                    .map(|endpoint| endpoint.address())
                    .unwrap_or_default(),
                branch.physical_name(),
            ),
        };
        let restored_from = match self.store.branch_restore(&branch.id).await? {
            Some(restore) => self.store.branch_by_id(&restore.source_branch_id).await?,
            None => None,
        };
        let cluster_display_name = self
            .config
            .cluster_sizes
            .iter()
            .find(|size| size.name == branch.cluster_size)
            .map_or_else(
                || branch.cluster_size.clone(),
                |size| size.display_name.clone(),
            );
        Ok(BranchDetails {
            restored_from,
            cluster_display_name,
            branch,
            database,
            organization,
            parent_name,
            region,
            access_host: access_host.unwrap_or_else(|| address.clone()),
            address,
            connect_database,
            actor,
        })
    }

    /// Database details for responses that embed the database.
    pub async fn database_of(&self, details: &BranchDetails) -> ControlResult<DatabaseDetails> {
        self.database_details(details.organization.clone(), details.database.clone())
            .await
    }
}
