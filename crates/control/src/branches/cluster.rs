//! A branch's cluster size (`update_branch_cluster_config`).

use crate::error::{ControlError, ControlResult};
use crate::operations;
use crate::{Caller, ControlPlane};
use dbplane_domain::Timestamp;

impl ControlPlane {
    /// Records a new cluster size for the branch. The size must be configured and offered
    /// for the branch's kind (development or production). Branches share their region's
    /// servers, so nothing is resized: the size is what `cluster_name` shows and what a
    /// branch restored or promoted from it starts with.
    pub async fn update_branch_cluster_size(
        &self,
        caller: &Caller,
        organization: &str,
        database: &str,
        branch: &str,
        cluster_size: Option<&str>,
    ) -> ControlResult<()> {
        let (_, _, mut branch) = self
            .authorize_branch(
                caller,
                organization,
                database,
                branch,
                &operations::UPDATE_BRANCH_CLUSTER_CONFIG,
            )
            .await?;
        let Some(requested) = cluster_size else {
            return Err(ControlError::invalid("cluster_size", "is required"));
        };
        let Some(size) = self
            .config
            .cluster_sizes
            .iter()
            .find(|size| size.name == requested)
        else {
            return Err(ControlError::invalid(
                "cluster_size",
                format!("unknown cluster size {requested:?}"),
            ));
        };
        let offered = if branch.production {
            size.production
        } else {
            size.development
        };
        if !offered {
            let kind = if branch.production {
                "production"
            } else {
                "development"
            };
            return Err(ControlError::invalid(
                "cluster_size",
                format!("{requested} is not offered for {kind} branches"),
            ));
        }
        if branch.cluster_size != size.name {
            branch.cluster_size = size.name.clone();
            branch.updated_at = Timestamp::now();
            self.store.update_branch(&branch).await?;
        }
        Ok(())
    }
}
