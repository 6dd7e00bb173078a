//! `lint_branch_schema`: the branch's live schema, introspected into the schema
//! engine's model and linted with the database's settings.

use crate::error::{ControlError, ControlResult};
use crate::operations;
use crate::paging::{PageRequest, Paged};
use crate::{Caller, ControlPlane};
use dbplane_domain::data_plane::{BranchState, DatabaseKind};
use dbplane_engine::physical::PhysicalName;
use dbplane_schema::Dialect;
use dbplane_schema::lint::{LintError, LintOptions, lint};

impl ControlPlane {
    /// Lint errors of a branch's schema; empty when clean.
    pub async fn lint_branch_schema(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
        page: PageRequest,
    ) -> ControlResult<Paged<LintError>> {
        let (_, database, branch) = self
            .authorize_branch(
                caller,
                organization,
                database,
                branch,
                &operations::LINT_BRANCH_SCHEMA,
            )
            .await?;
        if branch.state != BranchState::Ready {
            return Err(ControlError::Unprocessable(
                "branch is not ready yet".into(),
            ));
        }
        let endpoint = self.endpoint_of(&database)?;
        let name = PhysicalName::new(branch.physical_name())
            .map_err(|e| ControlError::Unavailable(e.to_string()))?;
        let schema = self
            .on_cluster("read the branch schema", endpoint.admin.introspect(&name))
            .await?;
        let dialect = match database.kind {
            DatabaseKind::Mysql => Dialect::Mariadb,
            DatabaseKind::Postgresql => Dialect::Postgres,
        };
        let mut options = LintOptions::new(dialect, database.name.clone());
        options.foreign_keys_allowed = database.settings.foreign_keys_enabled;
        // Deployments leave their artifacts only on branches with safe migrations (the
        // only ones they deploy into, where users run no DDL): elsewhere a table named
        // like one is the user's.
        if dialect == Dialect::Mariadb && !branch.safe_migrations {
            options.reserved = Some(dbplane_engine::deploy::is_deploy_artifact);
        }
        let errors = lint(&schema, &options);
        Ok(Paged {
            total: errors.len() as u64,
            items: page.slice(&errors),
            request: page,
        })
    }
}
