//! The current user: the user on whose behalf the calling token was created.

use crate::error::{ControlError, ControlResult};
use crate::{Caller, ControlPlane};
use dbplane_domain::{Organization, User};

/// A user and their default organization.
#[derive(Clone, Debug)]
pub struct UserDetails {
    pub user: User,
    pub default_organization: Option<Organization>,
}

impl ControlPlane {
    /// `get_current_user`.
    pub async fn current_user(&self, caller: &Caller) -> ControlResult<UserDetails> {
        let user = self
            .store
            .user_by_id(caller.user_id())
            .await?
            .ok_or(ControlError::NotFound { resource: "user" })?;
        let default_organization = match &user.default_organization_id {
            Some(id) => self.store.organization_by_id(id).await?,
            None => None,
        };
        Ok(UserDetails {
            user,
            default_organization,
        })
    }
}
