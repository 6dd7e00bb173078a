//! Backups of branches (semantics.md §11.1): create (a pending backup and the job that
//! takes it, in one transaction), read, list, protect, delete. Policies, the jobs, the
//! scheduler and restores live in the submodules.

mod input;
pub mod jobs;
mod policies;
pub mod restore;
pub mod scheduler;
mod store_failpoints;

pub use input::{CreateBackup, ListBackups};
pub use policies::BackupPolicyInput;

use crate::error::{ControlError, ControlResult};
use crate::operations;
use crate::paging::{PageRequest, Paged};
use crate::{Caller, ControlPlane};
use dbplane_domain::backups::{Backup, BackupId, BackupPolicy, BackupState};
use dbplane_domain::data_plane::{Branch, BranchState, Database, DatabaseKind};
use dbplane_domain::{Access, Organization, Timestamp, User};

/// A backup with what its API object shows.
#[derive(Clone, Debug)]
pub struct BackupDetails {
    pub backup: Backup,
    pub organization: Organization,
    pub database: Database,
    pub branch: Branch,
    pub policy: Option<BackupPolicy>,
    pub restored_branches: Vec<Branch>,
    pub actor: Option<User>,
}

/// `organization/database/branch` of a path.
#[derive(Clone, Copy, Debug)]
pub struct BranchRef<'a> {
    pub organization: &'a str,
    pub database: &'a str,
    pub branch: &'a str,
}

impl ControlPlane {
    /// `create_backup`.
    pub async fn create_backup(
        &self,
        caller: &Caller,
        path: BranchRef<'_>,
        input: CreateBackup,
    ) -> ControlResult<BackupDetails> {
        let (organization, database, branch) = self
            .authorize_branch(
                caller,
                path.organization,
                path.database,
                path.branch,
                &operations::CREATE_BACKUP,
            )
            .await?;
        let retention = input.retention(self.config.backups.allow_short_units)?;
        let emergency = input.emergency.unwrap_or(false);
        if emergency && database.kind != DatabaseKind::Postgresql {
            return Err(ControlError::invalid(
                "emergency",
                "emergency backups are only supported for PostgreSQL databases",
            ));
        }
        if branch.state != BranchState::Ready {
            return Err(ControlError::Unprocessable(format!(
                "branch {} is not ready yet",
                branch.name
            )));
        }
        let now = Timestamp::now();
        let name = match input.name {
            Some(name) if name.trim().is_empty() || name.len() > 255 => {
                return Err(ControlError::invalid("name", "must be 1 to 255 characters"));
            }
            Some(name) => name,
            None => Backup::default_name(&branch.name, now),
        };
        let mut backup =
            Backup::pending(branch.id.clone(), database.id.clone(), name, retention, now);
        backup.emergency = emergency;
        backup.created_by = Some(caller.user_id().clone());
        self.store
            .create_backup(&backup, &jobs::run_backup_job(&backup))
            .await?;
        self.jobs.notify();
        self.backup_details(organization, database, branch, backup)
            .await
    }

    /// `get_backup`.
    pub async fn get_backup(
        &self,
        caller: &Caller,
        path: BranchRef<'_>,
        id: &str,
    ) -> ControlResult<BackupDetails> {
        let (organization, database, branch, backup) = self
            .authorize_backup(caller, path, id, &operations::GET_BACKUP)
            .await?;
        self.backup_details(organization, database, branch, backup)
            .await
    }

    /// `list_backups`, newest first.
    pub async fn list_backups(
        &self,
        caller: &Caller,
        path: BranchRef<'_>,
        filter: ListBackups,
        page: PageRequest,
    ) -> ControlResult<Paged<BackupDetails>> {
        let (organization, database, branch) = self
            .authorize_branch(
                caller,
                path.organization,
                path.database,
                path.branch,
                &operations::LIST_BACKUPS,
            )
            .await?;
        let production = filter.production;
        let filter = filter.to_store_filter()?;
        if production.is_some_and(|p| p != branch.production) {
            return Ok(Paged {
                items: Vec::new(),
                total: 0,
                request: page,
            });
        }
        let backups = self
            .store
            .list_backups(&branch.id, &filter, page.window())
            .await?;
        let mut items = Vec::with_capacity(backups.items.len());
        for backup in backups.items {
            items.push(
                self.backup_details(
                    organization.clone(),
                    database.clone(),
                    branch.clone(),
                    backup,
                )
                .await?,
            );
        }
        Ok(Paged {
            items,
            total: backups.total,
            request: page,
        })
    }

    /// `update_backup`: toggles `protected`.
    pub async fn update_backup(
        &self,
        caller: &Caller,
        path: BranchRef<'_>,
        id: &str,
        protected: Option<bool>,
    ) -> ControlResult<BackupDetails> {
        let (organization, database, branch, mut backup) = self
            .authorize_backup(caller, path, id, &operations::UPDATE_BACKUP)
            .await?;
        if let Some(protected) = protected
            && protected != backup.protected
        {
            backup.protected = protected;
            backup.updated_at = Timestamp::now();
            self.store
                .set_backup_protected(&backup.id, protected, backup.updated_at)
                .await?;
        }
        self.backup_details(organization, database, branch, backup)
            .await
    }

    /// `delete_backup`: refused while protected, required, or still being taken; the
    /// row is marked deleted and a job removes the stored files.
    pub async fn delete_backup(
        &self,
        caller: &Caller,
        path: BranchRef<'_>,
        id: &str,
    ) -> ControlResult<()> {
        let (organization, database, branch, backup) = self
            .authorize_backup(caller, path, id, &operations::DELETE_BACKUP)
            .await?;
        self.require_on_branch(
            caller,
            &organization,
            &database,
            &branch,
            &[Access::DeleteBackups, Access::DeleteProductionBranchBackups],
            &[Access::DeleteProductionBranchBackups],
        )?;
        if backup.protected {
            return Err(ControlError::Unprocessable(
                "backup is protected; unprotect it (protected: false) before deleting it".into(),
            ));
        }
        if backup.required {
            return Err(ControlError::Unprocessable(
                "backup was taken by a required backup policy and cannot be deleted; it expires with its retention".into(),
            ));
        }
        let restoring = self.store.restored_branches(&backup.id).await?;
        if let Some(pending) = restoring
            .iter()
            .find(|b| b.deleted_at.is_none() && b.state == BranchState::Pending)
        {
            return Err(ControlError::Unprocessable(format!(
                "branch {} is being restored from this backup; wait until it is ready",
                pending.name
            )));
        }
        if !backup.state.is_terminal() {
            return Err(ControlError::Unprocessable(format!(
                "backup is {}; wait until it completes before deleting it",
                backup.state
            )));
        }
        self.store
            .mark_backups_deleted(
                &[(backup.id.clone(), jobs::delete_backup_job(&backup.id))],
                Timestamp::now(),
            )
            .await?;
        self.jobs.notify();
        Ok(())
    }

    /// Resolves a live backup of the branch in the path.
    async fn authorize_backup(
        &self,
        caller: &Caller,
        path: BranchRef<'_>,
        id: &str,
        operation: &operations::OperationAccess,
    ) -> ControlResult<(Organization, Database, Branch, Backup)> {
        let (organization, database, branch) = self
            .authorize_branch(
                caller,
                path.organization,
                path.database,
                path.branch,
                operation,
            )
            .await?;
        let backup = self
            .store
            .backup_by_id(&BackupId::from_string(id))
            .await?
            .filter(|b| b.branch_id == branch.id && b.deleted_at.is_none())
            .ok_or(ControlError::NotFound { resource: "backup" })?;
        Ok((organization, database, branch, backup))
    }

    pub(crate) async fn backup_details(
        &self,
        organization: Organization,
        database: Database,
        branch: Branch,
        backup: Backup,
    ) -> ControlResult<BackupDetails> {
        let policy = match &backup.policy_id {
            Some(id) => self.store.backup_policy(&database.id, id).await?,
            None => None,
        };
        let restored_branches = self.store.restored_branches(&backup.id).await?;
        let actor = match &backup.created_by {
            Some(id) => self.store.user_by_id(id).await?,
            None => None,
        };
        Ok(BackupDetails {
            backup,
            organization,
            database,
            branch,
            policy,
            restored_branches,
            actor,
        })
    }
}

/// Whether a backup's state says its files may exist and be complete.
pub fn is_restorable(backup: &Backup) -> bool {
    backup.state == BackupState::Success && backup.deleted_at.is_none()
}
