//! Durable jobs: long work (provisioning, copying schema, dropping) recorded in the
//! metadata store together with the state change that asked for it, and carried out in
//! idempotent steps by a leased worker.

use crate::timestamp::Timestamp;

crate::public_id_type!(
    /// Id of a job.
    JobId
);

/// What a job does. Stored by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Provision a new branch (a database's first branch, or a development branch).
    CreateBranch,
    /// Drop a branch's credentials and physical database, then forget it.
    DeleteBranch,
    /// Drop every branch of a deleted database, then forget it.
    DeleteDatabase,
    /// Re-apply a branch's credentials' grants after safe migrations changed.
    ApplySafeMigrations,
    /// Drop the account of a credential whose creation never completed.
    CleanupCredential,
    /// Lock a credential's logins when its ttl elapses (renewal unlocks).
    ExpireCredential,
    /// Take a backup of a branch into the backup store.
    RunBackup,
    /// Delete a backup's stored objects (user delete, retention, branch gone).
    DeleteBackup,
    /// Provision a branch from a backup: schema and data.
    RestoreBranch,
    /// Compute a deploy request's diff, merge check and lint (`pending → ready|…`).
    CheckDeployRequest,
    /// Run a queued deployment: wait for its lane, copy, cut over, keep the revert
    /// window, finish (or cancel, revert).
    RunDeployment,
}

impl JobKind {
    pub const ALL: &'static [JobKind] = &[
        JobKind::CreateBranch,
        JobKind::DeleteBranch,
        JobKind::DeleteDatabase,
        JobKind::ApplySafeMigrations,
        JobKind::CleanupCredential,
        JobKind::ExpireCredential,
        JobKind::RunBackup,
        JobKind::DeleteBackup,
        JobKind::RestoreBranch,
        JobKind::CheckDeployRequest,
        JobKind::RunDeployment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::CreateBranch => "create_branch",
            JobKind::DeleteBranch => "delete_branch",
            JobKind::DeleteDatabase => "delete_database",
            JobKind::ApplySafeMigrations => "apply_safe_migrations",
            JobKind::CleanupCredential => "cleanup_credential",
            JobKind::ExpireCredential => "expire_credential",
            JobKind::RunBackup => "run_backup",
            JobKind::DeleteBackup => "delete_backup",
            JobKind::RestoreBranch => "restore_branch",
            JobKind::CheckDeployRequest => "check_deploy_request",
            JobKind::RunDeployment => "run_deployment",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.as_str() == text)
    }

    /// Every step a job of this kind can be at. Metrics label steps with these (anything
    /// else is [`UNKNOWN_STEP`]) so a stored string can never grow a label set.
    pub fn steps(self) -> &'static [&'static str] {
        match self {
            JobKind::CreateBranch => &["create_database", "copy_schema", "finish"],
            JobKind::DeleteBranch => &["drop_credentials", "drop_database", "purge"],
            JobKind::DeleteDatabase => &["drop_branches", "purge"],
            JobKind::ApplySafeMigrations => &["apply"],
            JobKind::CleanupCredential | JobKind::ExpireCredential => &["check"],
            JobKind::RunBackup => &["start", "dump"],
            JobKind::DeleteBackup => &["delete_files"],
            JobKind::RestoreBranch => &["restore", "finish"],
            JobKind::CheckDeployRequest => &["check"],
            JobKind::RunDeployment => &[
                "wait_turn",
                "submit",
                "create",
                "instant",
                "prepare",
                "copy",
                "ready",
                "gated",
                "cutover",
                "revert_window",
                "cleanup",
                "revert",
                "revert_cleanup",
                "cancel",
            ],
        }
    }

    /// `step` as one of [`JobKind::steps`], or [`UNKNOWN_STEP`].
    pub fn step_label(self, step: &str) -> &'static str {
        self.steps()
            .iter()
            .copied()
            .find(|known| *known == step)
            .unwrap_or(UNKNOWN_STEP)
    }
}

/// The label of a step its kind does not list (a job written by a newer version).
pub const UNKNOWN_STEP: &str = "unknown";

/// A job as stored. `step` names the next step to run; `data` is the job's own JSON.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    /// The id of the resource the job works on.
    pub subject_id: String,
    pub step: String,
    pub data: String,
    pub attempt: i64,
    /// Fencing token: bumped at every claim; every write of the job checks it.
    pub lease_epoch: i64,
    pub run_after: Timestamp,
    pub last_error: Option<String>,
    /// Set when the runner gave the job up (its step failed on every allowed attempt)
    /// and its resource has no error state to show it: the job is kept, with
    /// `last_error`, for an operator, and never claimed again.
    pub given_up_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl Job {
    /// A new job, due now, starting at `first_step`.
    pub fn new(
        kind: JobKind,
        subject_id: impl Into<String>,
        first_step: &str,
        data: String,
    ) -> Self {
        let now = Timestamp::now();
        Self {
            id: JobId::generate(),
            kind,
            subject_id: subject_id.into(),
            step: first_step.to_string(),
            data,
            attempt: 0,
            lease_epoch: 0,
            run_after: now,
            last_error: None,
            given_up_at: None,
            created_at: now,
        }
    }

    /// The same job, due at `at`.
    pub fn due_at(mut self, at: Timestamp) -> Self {
        self.run_after = at;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(*kind));
        }
    }

    #[test]
    fn steps_label_themselves_and_strangers_are_unknown() {
        assert_eq!(JobKind::RunBackup.step_label("dump"), "dump");
        assert_eq!(JobKind::RunBackup.step_label("copy"), UNKNOWN_STEP);
        for kind in JobKind::ALL {
            assert!(!kind.steps().is_empty(), "{}", kind.as_str());
        }
    }
}
