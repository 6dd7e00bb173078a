//! A branch's schema (real `CREATE` statements) and its keyspace.

use super::BranchDetails;
use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::{Caller, ControlPlane};
use dbplane_domain::data_plane::BranchState;
use dbplane_engine::physical::{PhysicalName, SchemaObject};

impl ControlPlane {
    /// `get_branch_schema`: the real `CREATE` statement of every table and view.
    pub async fn branch_schema(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
        keyspace: Option<&str>,
    ) -> ControlResult<Vec<SchemaObject>> {
        let (_, database, branch) = self
            .authorize_branch(
                caller,
                organization,
                database,
                branch,
                &operations::GET_BRANCH_SCHEMA,
            )
            .await?;
        if let Some(keyspace) = keyspace
            && keyspace != database.name
        {
            return Err(ControlError::NotFound {
                resource: "keyspace",
            });
        }
        if branch.state != BranchState::Ready {
            return Err(ControlError::Unprocessable(
                "branch is not ready yet".into(),
            ));
        }
        let endpoint = self.endpoint_of(&database)?;
        let name = PhysicalName::new(branch.physical_name())
            .map_err(|e| ControlError::Unavailable(e.to_string()))?;
        endpoint
            .admin
            .schema(&name)
            .await
            .map_err(|e| ControlError::Unavailable(format!("cannot read the branch schema: {e}")))
    }

    /// The keyspace of a branch: one per branch, named after the database.
    pub async fn branch_keyspace(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
        keyspace: Option<&str>,
        operation: &OperationAccess,
    ) -> ControlResult<BranchDetails> {
        let (organization, database, branch) = self
            .authorize_branch(caller, organization, database, branch, operation)
            .await?;
        if let Some(keyspace) = keyspace
            && keyspace != database.name
        {
            return Err(ControlError::NotFound {
                resource: "keyspace",
            });
        }
        self.branch_details(organization, database, branch).await
    }
}
