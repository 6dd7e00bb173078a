//! Promotion, demotion and safe migrations of branches.

use super::BranchDetails;
use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::{Caller, ControlPlane};
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::BranchState;
use dbplane_domain::jobs::{Job, JobKind};

/// Delay before the job re-applying safe-migration grants runs.
const SAFE_MIGRATIONS_SAFETY_NET_SECONDS: i64 = 5;

impl ControlPlane {
    /// `promote_branch`: the branch becomes a production branch.
    pub async fn promote_branch(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
    ) -> ControlResult<BranchDetails> {
        let (organization, database, mut branch) = self
            .authorize_branch(
                caller,
                organization,
                database,
                branch,
                &operations::PROMOTE_BRANCH,
            )
            .await?;
        if branch.state != BranchState::Ready {
            return Err(ControlError::Unprocessable(
                "branch is not ready yet".into(),
            ));
        }
        if !branch.production {
            branch.production = true;
            branch.updated_at = Timestamp::now();
            self.store.update_branch(&branch).await?;
        }
        self.branch_details(organization, database, branch).await
    }

    /// `demote_branch`: at least one production branch must remain, and the default
    /// branch stays production.
    pub async fn demote_branch(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
    ) -> ControlResult<BranchDetails> {
        let (organization, database, mut branch) = self
            .authorize_branch(
                caller,
                organization,
                database,
                branch,
                &operations::DEMOTE_BRANCH,
            )
            .await?;
        if branch.production {
            let counts = self.store.branch_counts(&database.id).await?;
            if counts.production <= 1 {
                return Err(ControlError::Unprocessable(
                    "a database keeps at least one production branch".into(),
                ));
            }
            let default = self.store.default_branch(&database.id).await?;
            if default.is_some_and(|d| d.id == branch.id) {
                return Err(ControlError::Unprocessable(
                    "the default branch must stay a production branch; change the default first"
                        .into(),
                ));
            }
            branch.production = false;
            branch.updated_at = Timestamp::now();
            self.store.update_branch(&branch).await?;
        }
        self.branch_details(organization, database, branch).await
    }

    /// Enables or disables safe migrations. The grants of every credential of the
    /// branch change before the call returns; the job recorded with the change
    /// re-applies them after a crash (idempotently).
    pub async fn set_safe_migrations(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
        enabled: bool,
        operation: &OperationAccess,
    ) -> ControlResult<BranchDetails> {
        let (organization, database, mut branch) = self
            .authorize_branch(caller, organization, database, branch, operation)
            .await?;
        if branch.state != BranchState::Ready {
            return Err(ControlError::Unprocessable(
                "branch is not ready yet".into(),
            ));
        }
        if branch.safe_migrations != enabled {
            branch.safe_migrations = enabled;
            branch.updated_at = Timestamp::now();
            // The job is the safety net for a crash or a failure below; it is due a
            // little later so it does not race this request's own grant changes
            // (concurrent GRANT/REVOKE on one Postgres role fail with "tuple
            // concurrently updated").
            let job = Job::new(
                JobKind::ApplySafeMigrations,
                branch.id.as_str(),
                "apply",
                "{}".into(),
            )
            .due_at(Timestamp::now().plus_seconds(SAFE_MIGRATIONS_SAFETY_NET_SECONDS));
            self.store.update_branch_with_job(&branch, &job).await?;
            self.on_cluster(
                "change grants (the job retries in the background)",
                crate::data_jobs::apply_ddl_rights(
                    self.store.as_ref(),
                    &self.clusters,
                    &database,
                    &branch,
                ),
            )
            .await?;
            // The edge refuses direct DDL on branches with safe migrations.
            self.edge_routes_changed().await;
        }
        self.branch_details(organization, database, branch).await
    }
}
