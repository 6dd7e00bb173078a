//! Restoring a backup into a new branch (semantics.md §11.3, §5.1): `create_branch`
//! with `backup_id`, or Data Branching® with `seed_data: "last_successful_backup"`.
//! Here the source backup is found and checked; `branches::create_branch` builds the
//! branch and a `restore_branch` job loads it.

use super::is_restorable;
use crate::branches::CreateBranch;
use crate::error::{ControlError, ControlResult};
use crate::{Caller, ControlPlane};
use dbplane_domain::backups::{Backup, BackupId};
use dbplane_domain::data_plane::{Branch, Database};
use dbplane_domain::ids::is_public_id;
use dbplane_domain::{Access, Organization};

/// The only `seed_data` value.
pub const SEED_LAST_SUCCESSFUL_BACKUP: &str = "last_successful_backup";

/// The backup a new branch is restored from, and the branch it was taken of.
#[derive(Clone, Debug)]
pub struct RestoreSource {
    pub backup: Backup,
    pub source: Branch,
    /// Data Branching: the new branch takes the parent's production flag and size.
    pub seeded: bool,
}

impl ControlPlane {
    /// The restore a `create_branch` asks for, checked; `None` for a plain branch.
    pub(crate) async fn restore_source(
        &self,
        caller: &Caller,
        organization: &Organization,
        database: &Database,
        input: &CreateBranch,
    ) -> ControlResult<Option<RestoreSource>> {
        let (backup, seeded) = match (&input.backup_id, &input.seed_data) {
            (None, None) => return Ok(None),
            (Some(_), Some(_)) => {
                return Err(ControlError::invalid(
                    "seed_data",
                    "cannot be combined with backup_id",
                ));
            }
            (Some(id), None) => (
                self.backup_of_database(organization, database, id).await?,
                false,
            ),
            (None, Some(seed)) => (
                self.last_successful_backup(database, input, seed).await?,
                true,
            ),
        };
        if !is_restorable(&backup) {
            return Err(ControlError::Unprocessable(format!(
                "backup {} is {}; only successful backups can be restored",
                backup.id, backup.state
            )));
        }
        let source = self
            .store
            .branch_by_id(&backup.branch_id)
            .await?
            .ok_or_else(|| {
                ControlError::Unprocessable("the backup's branch no longer exists".into())
            })?;
        // Production backups need the production variant of the restore access.
        self.require_on_branch(
            caller,
            organization,
            database,
            &source,
            &[Access::RestoreBackup, Access::RestoreProductionBranchBackup],
            &[Access::RestoreProductionBranchBackup],
        )?;
        Ok(Some(RestoreSource {
            backup,
            source,
            seeded,
        }))
    }

    /// A backup by id: unknown (or of another organization) → 404; of another
    /// database of the organization → 422 naming the field.
    async fn backup_of_database(
        &self,
        organization: &Organization,
        database: &Database,
        id: &str,
    ) -> ControlResult<Backup> {
        let not_found = ControlError::NotFound { resource: "backup" };
        if !is_public_id(id) {
            return Err(not_found);
        }
        let backup = self
            .store
            .backup_by_id(&BackupId::from_string(id))
            .await?
            .filter(|b| b.deleted_at.is_none())
            .ok_or(not_found)?;
        if backup.database_id != database.id {
            let owner = self.store.database_by_id(&backup.database_id).await?;
            return match owner {
                Some(owner) if owner.organization_id == organization.id => {
                    Err(ControlError::invalid(
                        "backup_id",
                        format!(
                            "the backup belongs to database {}, not {}",
                            owner.name, database.name
                        ),
                    ))
                }
                _ => Err(ControlError::NotFound { resource: "backup" }),
            };
        }
        Ok(backup)
    }

    /// Data Branching: the parent's newest successful backup.
    async fn last_successful_backup(
        &self,
        database: &Database,
        input: &CreateBranch,
        seed: &str,
    ) -> ControlResult<Backup> {
        if seed != SEED_LAST_SUCCESSFUL_BACKUP {
            return Err(ControlError::invalid(
                "seed_data",
                format!("must be {SEED_LAST_SUCCESSFUL_BACKUP:?}"),
            ));
        }
        if !database.settings.allow_data_branching {
            return Err(ControlError::Unprocessable(
                "data branching is not enabled for this database (allow_data_branching)".into(),
            ));
        }
        let parent = match &input.parent_branch {
            Some(name) => self
                .store
                .branch(&database.id, name)
                .await?
                .ok_or_else(|| {
                    ControlError::invalid("parent_branch", format!("no branch named {name:?}"))
                })?,
            None => self
                .store
                .default_branch(&database.id)
                .await?
                .ok_or_else(|| {
                    ControlError::Unprocessable("the database has no default branch".into())
                })?,
        };
        self.store
            .latest_successful_backup(&parent.id)
            .await?
            .ok_or_else(|| {
                ControlError::Unprocessable(format!(
                    "branch {} has no successful backup to seed from",
                    parent.name
                ))
            })
    }
}
