//! Backups and backup policies (semantics.md §11).

use super::{OperationAccess, Requirement};
use dbplane_domain::Access::*;

operation!(
    LIST_BACKUPS,
    "list_backups",
    Requirement::Database(&[ReadBackups])
);
operation!(
    CREATE_BACKUP,
    "create_backup",
    Requirement::Database(&[WriteBackups])
);
operation!(
    GET_BACKUP,
    "get_backup",
    Requirement::Database(&[ReadBackups])
);
operation!(
    UPDATE_BACKUP,
    "update_backup",
    Requirement::Database(&[WriteBackups])
);
// Production-branch backups need `delete_production_branch_backups` (checked in the service).
operation!(
    DELETE_BACKUP,
    "delete_backup",
    Requirement::Database(&[DeleteBackups, DeleteProductionBranchBackups])
);
operation!(
    LIST_BACKUP_POLICIES,
    "list_backup_policies",
    Requirement::Database(&[ReadBackups])
);
operation!(
    CREATE_BACKUP_POLICY,
    "create_backup_policy",
    Requirement::Database(&[WriteBackups])
);
operation!(
    GET_BACKUP_POLICY,
    "get_backup_policy",
    Requirement::Database(&[ReadBackups])
);
operation!(
    UPDATE_BACKUP_POLICY,
    "update_backup_policy",
    Requirement::Database(&[WriteBackups])
);
operation!(
    DELETE_BACKUP_POLICY,
    "delete_backup_policy",
    Requirement::Database(&[WriteBackups])
);
