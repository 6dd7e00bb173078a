//! Branch credentials: MySQL passwords and Postgres roles, each a real account on the
//! branch's cluster with grants matching its role on that branch's database only.
//!
//! Creation is synchronous (the plain text is returned once) and crash-safe: the row is
//! written as `pending` together with a cleanup job due a minute later, then the
//! account is created, then the row becomes `active`. A crash in between leaves a
//! pending row whose cleanup job drops the account and the row; nothing is orphaned.

mod secrets;

use crate::branches::BranchDetails;
use crate::error::{ControlError, ControlResult};
use crate::operations::{self, OperationAccess};
use crate::paging::{PageRequest, Paged};
use crate::{Caller, ControlPlane};
use dbplane_domain::data_plane::{
    Branch, BranchState, Credential, CredentialId, CredentialState, DatabaseKind, PasswordRole,
};
use dbplane_domain::grant::Resource;
use dbplane_domain::jobs::{Job, JobKind};
use dbplane_domain::names::validate_label;
use dbplane_domain::secret::NewSecret;
use dbplane_domain::{Access, Timestamp, User};
use dbplane_engine::physical::{CredentialRole, CredentialSpec, PhysicalName};

/// Prefix of password plain texts.
pub const PASSWORD_PREFIX: &str = "pscale_pw_";
/// Predefined Postgres roles a role may inherit (the spec's list), plus `postgres`.
pub const INHERITABLE_ROLES: &[&str] = &[
    "pg_checkpoint",
    "pg_create_subscription",
    "pg_maintain",
    "pg_monitor",
    "pg_read_all_data",
    "pg_read_all_settings",
    "pg_read_all_stats",
    "pg_signal_backend",
    "pg_stat_scan_tables",
    "pg_use_reserved_connections",
    "pg_write_all_data",
    "postgres",
];

/// Passwords belong to MySQL branches, roles to Postgres branches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialFamily {
    Password,
    Role,
}

impl CredentialFamily {
    fn kind(self) -> DatabaseKind {
        match self {
            CredentialFamily::Password => DatabaseKind::Mysql,
            CredentialFamily::Role => DatabaseKind::Postgresql,
        }
    }
    fn noun(self) -> &'static str {
        match self {
            CredentialFamily::Password => "password",
            CredentialFamily::Role => "role",
        }
    }
}

/// A credential with what its API object shows.
#[derive(Clone, Debug)]
pub struct CredentialDetails {
    pub credential: Credential,
    pub branch: BranchDetails,
    pub actor: Option<User>,
    /// Only in the response that created or reset the secret.
    pub plain_text: Option<String>,
}

/// `create_password` / `create_role` input.
#[derive(Clone, Debug, Default)]
pub struct CreateCredential {
    pub name: Option<String>,
    pub role: Option<String>,
    pub ttl: Option<i64>,
    pub replica: Option<bool>,
    pub inherited_roles: Option<Vec<String>>,
    /// Makes the branch's default role (internal: `get_default_role`).
    pub is_default: bool,
}

/// The engine role for a credential.
pub fn engine_role(role: PasswordRole) -> CredentialRole {
    match role {
        PasswordRole::Reader => CredentialRole::Reader,
        PasswordRole::Writer => CredentialRole::Writer,
        PasswordRole::Readwriter => CredentialRole::Readwriter,
        PasswordRole::Admin => CredentialRole::Admin,
    }
}

/// What a Postgres role's inherited roles amount to.
fn role_from_inherited(inherited: &[String]) -> PasswordRole {
    let has = |name: &str| inherited.iter().any(|r| r == name);
    if has("postgres") {
        PasswordRole::Admin
    } else if has("pg_write_all_data") && has("pg_read_all_data") {
        PasswordRole::Readwriter
    } else if has("pg_write_all_data") {
        PasswordRole::Writer
    } else {
        PasswordRole::Reader
    }
}

/// The spec an account is created or re-granted with.
pub fn credential_spec(
    credential: &Credential,
    branch: &Branch,
    password: &str,
) -> Result<CredentialSpec, String> {
    Ok(CredentialSpec {
        username: PhysicalName::new(credential.username()).map_err(|e| e.to_string())?,
        password: password.to_string(),
        database: PhysicalName::new(branch.physical_name()).map_err(|e| e.to_string())?,
        role: engine_role(credential.role),
        ddl_allowed: !branch.safe_migrations,
    })
}

impl ControlPlane {
    async fn authorize_credentials(
        &self,
        caller: &Caller,
        path: (&str, &str, &str),
        family: CredentialFamily,
        operation: &OperationAccess,
    ) -> ControlResult<BranchDetails> {
        let (organization, database, branch) = self
            .authorize_branch(caller, path.0, path.1, path.2, operation)
            .await?;
        if database.kind != family.kind() {
            return Err(ControlError::Unprocessable(match family {
                CredentialFamily::Password => {
                    "passwords are for MySQL branches; Postgres branches use roles".into()
                }
                CredentialFamily::Role => {
                    "roles are for Postgres branches; MySQL branches use passwords".into()
                }
            }));
        }
        self.branch_details(organization, database, branch).await
    }

    /// `create_password` / `create_role`.
    pub async fn create_credential(
        &self,
        caller: &Caller,
        path: (&str, &str, &str),
        family: CredentialFamily,
        input: CreateCredential,
    ) -> ControlResult<CredentialDetails> {
        let operation = match family {
            CredentialFamily::Password => &operations::CREATE_PASSWORD,
            CredentialFamily::Role => &operations::CREATE_ROLE,
        };
        let details = self
            .authorize_credentials(caller, path, family, operation)
            .await?;
        self.provision_credential(caller, details, family, input)
            .await
    }

    /// Validates input and creates the credential on an authorized branch.
    async fn provision_credential(
        &self,
        caller: &Caller,
        details: BranchDetails,
        family: CredentialFamily,
        input: CreateCredential,
    ) -> ControlResult<CredentialDetails> {
        if details.branch.state != BranchState::Ready {
            return Err(ControlError::Unprocessable(
                "branch is not ready yet".into(),
            ));
        }
        let (role, inherited_roles) = match family {
            CredentialFamily::Password => {
                let role = match input.role.as_deref() {
                    None => PasswordRole::Admin,
                    Some(text) => text.parse::<PasswordRole>().map_err(|()| {
                        ControlError::invalid("role", "must be reader, writer, readwriter or admin")
                    })?,
                };
                (role, Vec::new())
            }
            CredentialFamily::Role => {
                let inherited = input.inherited_roles.clone().unwrap_or_default();
                if let Some(unknown) = inherited
                    .iter()
                    .find(|r| !INHERITABLE_ROLES.contains(&r.as_str()))
                {
                    return Err(ControlError::invalid(
                        "inherited_roles",
                        format!("unknown role {unknown:?}"),
                    ));
                }
                (role_from_inherited(&inherited), inherited)
            }
        };
        self.check_production_credential_access(caller, &details, family, role)?;
        let name = input
            .name
            .unwrap_or_else(|| format!("{}-{}", family.noun(), Timestamp::now().unix_millis()));
        validate_label("name", &name).map_err(|e| ControlError::invalid("name", e.to_string()))?;
        let ttl = match input.ttl {
            None | Some(0) => None,
            Some(ttl) if ttl < 0 => {
                return Err(ControlError::invalid("ttl", "must not be negative"));
            }
            Some(ttl) => Some(ttl),
        };
        let now = Timestamp::now();
        let mut credential = Credential {
            id: CredentialId::generate(),
            branch_id: details.branch.id.clone(),
            name,
            role,
            inherited_roles,
            replica: input.replica.unwrap_or(false),
            is_default: input.is_default,
            state: CredentialState::Pending,
            created_by: Some(caller.user_id().clone()),
            created_at: now,
            updated_at: now,
            expires_at: ttl.map(|ttl| now.plus_seconds(ttl)),
            ttl_seconds: ttl,
            last_used_at: None,
        };
        let secret = NewSecret::generate(PASSWORD_PREFIX);
        let spec = credential_spec(&credential, &details.branch, secret.expose())
            .map_err(ControlError::Unavailable)?;
        let cleanup = Job::new(
            JobKind::CleanupCredential,
            credential.id.as_str(),
            "check",
            "{}".into(),
        )
        .due_at(now.plus_seconds(self.config.jobs.pending_credential_grace_seconds as i64));
        let mut jobs = vec![cleanup];
        jobs.extend(expiry_job(&credential));
        self.store.insert_credential(&credential, &jobs).await?;
        let endpoint = self.endpoint_of(&details.database)?;
        self.on_cluster(
            "create the account",
            endpoint.admin.create_credential(&spec),
        )
        .await?;
        dbplane_jobs::failpoint("create_credential.after_account").await;
        credential.state = CredentialState::Active;
        self.store.update_credential(&credential).await?;
        // The password logs in through the edge as soon as it is shown.
        if family == CredentialFamily::Password {
            self.edge_password_set(
                &details.database.region,
                credential.username(),
                secret.expose(),
            )
            .await;
        }
        let actor = self.store.user_by_id(caller.user_id()).await?;
        Ok(CredentialDetails {
            credential,
            branch: details,
            actor,
            plain_text: Some(secret.expose().to_string()),
        })
    }

    /// Production branches need the production variants of credential accesses.
    fn check_production_credential_access(
        &self,
        caller: &Caller,
        details: &BranchDetails,
        family: CredentialFamily,
        role: PasswordRole,
    ) -> ControlResult<()> {
        if !details.branch.production {
            return Ok(());
        }
        let resource = Resource::Database {
            organization: &details.organization.id,
            database: &details.database.id,
        };
        let (full, read_only) = match family {
            CredentialFamily::Password => (
                Access::ConnectProductionBranch,
                Access::ConnectProductionReadOnlyBranch,
            ),
            CredentialFamily::Role => (
                Access::CreateProductionBranchPassword,
                Access::CreateProductionReadOnlyBranchPassword,
            ),
        };
        let grants = caller.grants();
        if grants.holds(full, resource)
            || (role == PasswordRole::Reader && grants.holds(read_only, resource))
        {
            Ok(())
        } else {
            Err(ControlError::Forbidden(format!(
                "a {} on a production branch needs {}",
                family.noun(),
                full.name()
            )))
        }
    }

    /// `list_passwords` / `list_roles`.
    pub async fn list_credentials(
        &self,
        caller: &Caller,
        path: (&str, &str, &str),
        family: CredentialFamily,
        page: PageRequest,
    ) -> ControlResult<Paged<CredentialDetails>> {
        let operation = match family {
            CredentialFamily::Password => &operations::LIST_PASSWORDS,
            CredentialFamily::Role => &operations::LIST_ROLES,
        };
        let details = self
            .authorize_credentials(caller, path, family, operation)
            .await?;
        let stored = self
            .store
            .list_credentials(&details.branch.id, page.window())
            .await?;
        let mut items = Vec::with_capacity(stored.items.len());
        for credential in stored.items {
            items.push(
                self.credential_details(credential, details.clone(), None)
                    .await?,
            );
        }
        Ok(Paged {
            items,
            total: stored.total,
            request: page,
        })
    }

    /// `get_password` / `get_role` and the other calls addressing one credential.
    pub async fn get_credential(
        &self,
        caller: &Caller,
        path: (&str, &str, &str),
        family: CredentialFamily,
        id: &str,
        operation: &OperationAccess,
    ) -> ControlResult<CredentialDetails> {
        let details = self
            .authorize_credentials(caller, path, family, operation)
            .await?;
        let credential = self
            .store
            .credential(&details.branch.id, &CredentialId::from_string(id))
            .await?
            .ok_or(ControlError::NotFound {
                resource: family.noun(),
            })?;
        self.credential_details(credential, details, None).await
    }

    /// `update_password` / `update_role`: rename.
    pub async fn rename_credential(
        &self,
        caller: &Caller,
        path: (&str, &str, &str),
        family: CredentialFamily,
        id: &str,
        name: Option<String>,
        operation: &OperationAccess,
    ) -> ControlResult<CredentialDetails> {
        let mut details = self
            .get_credential(caller, path, family, id, operation)
            .await?;
        if let Some(name) = name {
            validate_label("name", &name)
                .map_err(|e| ControlError::invalid("name", e.to_string()))?;
            details.credential.name = name;
            details.credential.updated_at = Timestamp::now();
            self.store.update_credential(&details.credential).await?;
        }
        Ok(details)
    }

    /// `renew_password` / `renew_role`: another ttl from now.
    pub async fn renew_credential(
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
        let Some(ttl) = details.credential.ttl_seconds else {
            return Err(ControlError::Unprocessable(format!(
                "this {} does not expire",
                family.noun()
            )));
        };
        let now = Timestamp::now();
        details.credential.expires_at = Some(now.plus_seconds(ttl));
        details.credential.updated_at = now;
        // The new expiry and the job enforcing it commit together; then logins open
        // again (a no-op when the credential had not expired yet).
        let job = expiry_job(&details.credential).expect("a credential with a ttl has an expiry");
        self.store
            .update_credential_with_job(&details.credential, &job)
            .await?;
        self.jobs.notify();
        let endpoint = self.endpoint_of(&details.branch.database)?;
        let username = PhysicalName::new(details.credential.username())
            .map_err(|e| ControlError::Unavailable(e.to_string()))?;
        self.on_cluster(
            "unlock the account",
            endpoint.admin.set_login_enabled(&username, true),
        )
        .await?;
        self.edge_routes_changed().await;
        Ok(details)
    }

    /// `delete_password` / `delete_role`: the account is dropped (its sessions end),
    /// then the row. Repeating after a failure finishes the job.
    pub async fn delete_credential(
        &self,
        caller: &Caller,
        path: (&str, &str, &str),
        family: CredentialFamily,
        id: &str,
    ) -> ControlResult<()> {
        let operation = match family {
            CredentialFamily::Password => &operations::DELETE_PASSWORD,
            CredentialFamily::Role => &operations::DELETE_ROLE,
        };
        let details = self
            .get_credential(caller, path, family, id, operation)
            .await?;
        let branch = &details.branch;
        self.require_on_branch(
            caller,
            &branch.organization,
            &branch.database,
            &branch.branch,
            // A production access covers development branches too.
            &[
                Access::DeleteBranchPassword,
                Access::DeleteProductionBranchPassword,
                Access::DeleteProductionReadOnlyBranchPassword,
            ],
            &[
                Access::DeleteProductionBranchPassword,
                Access::DeleteProductionReadOnlyBranchPassword,
            ],
        )?;
        let endpoint = self.endpoint_of(&branch.database)?;
        let username = PhysicalName::new(details.credential.username())
            .map_err(|e| ControlError::Unavailable(e.to_string()))?;
        let database = PhysicalName::new(branch.branch.physical_name())
            .map_err(|e| ControlError::Unavailable(e.to_string()))?;
        self.on_cluster(
            "drop the account",
            endpoint.admin.drop_credential(&username, &database),
        )
        .await?;
        self.store
            .delete_credential(&details.credential.id, None)
            .await?;
        self.edge_routes_changed().await;
        Ok(())
    }

    async fn credential_details(
        &self,
        credential: Credential,
        branch: BranchDetails,
        plain_text: Option<String>,
    ) -> ControlResult<CredentialDetails> {
        let actor = match &credential.created_by {
            Some(id) => self.store.user_by_id(id).await?,
            None => None,
        };
        Ok(CredentialDetails {
            credential,
            branch,
            actor,
            plain_text,
        })
    }
}

/// The job that locks a credential's logins when its ttl elapses.
pub fn expiry_job(credential: &Credential) -> Option<Job> {
    let expires_at = credential.expires_at?;
    Some(
        Job::new(
            JobKind::ExpireCredential,
            credential.id.as_str(),
            "check",
            "{}".into(),
        )
        .due_at(expires_at),
    )
}
