//! A branch's schema (real `CREATE` statements), its diff against its parent, and its
//! keyspace.

use super::BranchDetails;
use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::{Caller, ControlPlane};
use dbplane_domain::data_plane::{Branch, BranchState, Database};
use dbplane_engine::physical::{PhysicalName, SchemaObject};
use dbplane_schema::object_diff::{ObjectDiff, object_diffs};
use std::collections::BTreeMap;

/// Name → `CREATE` statement.
fn definitions(objects: Vec<SchemaObject>) -> BTreeMap<String, String> {
    objects
        .into_iter()
        .map(|object| (object.name, object.definition))
        .collect()
}

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
        self.read_schema(&database, &branch).await
    }

    /// `get_branch_diff` (semantics.md §5.6, not in the spec): the branch's schema against
    /// its parent's, one entry per changed table or view; none for a branch without a
    /// parent.
    pub async fn branch_diff(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
    ) -> ControlResult<Vec<ObjectDiff>> {
        let (_, database, branch) = self
            .authorize_branch(
                caller,
                organization,
                database,
                branch,
                &operations::GET_BRANCH_DIFF,
            )
            .await?;
        let Some(parent_id) = &branch.parent_branch_id else {
            return Ok(Vec::new());
        };
        let parent = self
            .store
            .branch_by_id(parent_id)
            .await?
            .filter(|parent| parent.deleted_at.is_none())
            .ok_or_else(|| {
                ControlError::Unprocessable("the parent branch of this branch was deleted".into())
            })?;
        let before = definitions(self.read_schema(&database, &parent).await?);
        let after = definitions(self.read_schema(&database, &branch).await?);
        Ok(object_diffs(&before, &after))
    }

    /// The real `CREATE` statements of a ready branch.
    async fn read_schema(
        &self,
        database: &Database,
        branch: &Branch,
    ) -> ControlResult<Vec<SchemaObject>> {
        if branch.state != BranchState::Ready {
            return Err(ControlError::Unprocessable(format!(
                "branch {} is not ready yet",
                branch.name
            )));
        }
        let endpoint = self.endpoint_of(database)?;
        let name = PhysicalName::new(branch.physical_name())
            .map_err(|e| ControlError::Unavailable(e.to_string()))?;
        self.on_cluster("read the branch schema", endpoint.admin.schema(&name))
            .await
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
