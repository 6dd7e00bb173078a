//! Secrets and the default role: resetting a credential's password, the Postgres
//! default role `postgres`, and role reassignment.

use super::{CreateCredential, CredentialDetails, CredentialFamily, PASSWORD_PREFIX};
use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::{Caller, ControlPlane};
use dbplane_domain::Timestamp;
use dbplane_domain::data_plane::CredentialState;
use dbplane_domain::secret::NewSecret;
use dbplane_engine::physical::PhysicalName;

impl ControlPlane {
    /// `reset_role`: a new secret for the same account, returned once.
    pub async fn reset_credential_secret(
        &self,
        caller: &Caller,
        path: (&str, &str, &str),
        family: CredentialFamily,
        id: &str,
        operation: &OperationAccess,
    ) -> ControlResult<CredentialDetails> {
        let mut details = self
            .get_credential(caller, path, family, id, operation)
            .await?;
        details.plain_text = Some(self.replace_secret(&details).await?);
        Ok(details)
    }

    /// `get_default_role` (reset = false) and `reset_default_role` (reset = true). The
    /// default role `postgres` is made on first use; its password is shown when it is
    /// made or reset, and never stored.
    pub async fn default_role(
        &self,
        caller: &Caller,
        path: (&str, &str, &str),
        reset: bool,
    ) -> ControlResult<CredentialDetails> {
        let operation = if reset {
            &operations::RESET_DEFAULT_ROLE
        } else {
            &operations::GET_DEFAULT_ROLE
        };
        let details = self
            .authorize_credentials(caller, path, CredentialFamily::Role, operation)
            .await?;
        match self.store.default_credential(&details.branch.id).await? {
            None => {
                let input = CreateCredential {
                    name: Some("postgres".to_string()),
                    inherited_roles: Some(vec!["postgres".to_string()]),
                    is_default: true,
                    ..CreateCredential::default()
                };
                self.provision_credential(caller, details, CredentialFamily::Role, input)
                    .await
            }
            Some(credential) if credential.state == CredentialState::Pending => {
                Err(ControlError::Conflict(
                    "the default role is being created; retry in a moment".into(),
                ))
            }
            Some(credential) => {
                let mut found = self.credential_details(credential, details, None).await?;
                if reset {
                    found.plain_text = Some(self.replace_secret(&found).await?);
                }
                Ok(found)
            }
        }
    }

    /// `reassign_role_objects` (and `delete_role`'s `successor`): checks the successor
    /// is a role of the same branch. Objects made through dbplane credentials belong to
    /// the branch's owner role, never to a login role, so nothing needs moving; the
    /// call stays valid for clients that make it.
    pub async fn reassign_role_objects(
        &self,
        caller: &Caller,
        path: (&str, &str, &str),
        id: &str,
        successor: &str,
    ) -> ControlResult<()> {
        let details = self
            .get_credential(
                caller,
                path,
                CredentialFamily::Role,
                id,
                &operations::REASSIGN_ROLE_OBJECTS,
            )
            .await?;
        self.check_successor(&details, successor).await
    }

    /// A successor is `postgres` (the default role) or another role of the branch.
    pub async fn check_successor(
        &self,
        details: &CredentialDetails,
        successor: &str,
    ) -> ControlResult<()> {
        if successor == "postgres" {
            return Ok(());
        }
        let all = self
            .store
            .all_credentials(&details.branch.branch.id)
            .await?;
        let known = all.iter().any(|c| {
            c.id != details.credential.id
                && c.state == CredentialState::Active
                && (c.name == successor || c.username() == successor || c.id.as_str() == successor)
        });
        if known {
            Ok(())
        } else {
            Err(ControlError::invalid(
                "successor",
                format!("no other role named {successor:?} on this branch"),
            ))
        }
    }

    /// Sets a fresh secret on the credential's account and returns it.
    async fn replace_secret(&self, details: &CredentialDetails) -> ControlResult<String> {
        let secret = NewSecret::generate(PASSWORD_PREFIX);
        let endpoint = self.endpoint_of(&details.branch.database)?;
        let username = PhysicalName::new(details.credential.username())
            .map_err(|e| ControlError::Unavailable(e.to_string()))?;
        self.on_cluster(
            "reset the password",
            endpoint.admin.set_password(&username, secret.expose()),
        )
        .await?;
        let mut credential = details.credential.clone();
        credential.updated_at = Timestamp::now();
        self.store.update_credential(&credential).await?;
        if details.branch.database.kind == dbplane_domain::data_plane::DatabaseKind::Mysql {
            self.edge_password_set(
                &details.branch.database.region,
                credential.username(),
                secret.expose(),
            )
            .await;
        }
        Ok(secret.expose().to_string())
    }
}
