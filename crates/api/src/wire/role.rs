//! `Role`: a Postgres branch credential. Beyond the spec it carries, where the secret
//! is shown, a ready `connection_url`.

use super::actor::ActorResponse;
use super::connection::connection_url;
use dbplane_control::credentials::CredentialDetails;
use dbplane_domain::Timestamp;
use serde::Serialize;

/// Query safety rules are not enforced: both always read `off`.
pub const QUERY_SAFETY_OFF: &str = "off";

#[derive(Serialize)]
pub struct RoleResponse {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    id: String,
    name: String,
    username: String,
    base_username: String,
    /// The secret in the response that created or reset it; empty otherwise.
    password: String,
    database_name: String,
    access_host_url: String,
    private_access_host_url: String,
    private_connection_service_name: String,
    default: bool,
    ready: bool,
    inherited_roles: Vec<String>,
    with_replication: bool,
    query_safety_settings: QuerySafetySettings,
    ttl: i64,
    expires_at: Option<String>,
    expired: bool,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
    disabled_at: Option<String>,
    dropped_at: Option<String>,
    drop_failed: String,
    actor: ActorResponse,
    branch: BranchSummary,
    /// dbplane extension, only with the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_url: Option<String>,
}

#[derive(Serialize)]
struct QuerySafetySettings {
    require_where_on_delete: &'static str,
    require_where_on_update: &'static str,
}

#[derive(Serialize)]
struct BranchSummary {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

impl From<CredentialDetails> for RoleResponse {
    fn from(details: CredentialDetails) -> Self {
        let credential = details.credential;
        let branch = details.branch;
        let username = credential.username();
        let expired = credential.is_expired(Timestamp::now());
        let database_name = branch.branch.physical_name();
        let connection_url = details.plain_text.as_deref().map(|secret| {
            connection_url(
                branch.database.kind,
                &username,
                secret,
                &branch.address,
                &database_name,
            )
        });
        Self {
            kind_tag: "Role",
            id: credential.id.to_string(),
            name: credential.name,
            base_username: username.clone(),
            username,
            password: details.plain_text.unwrap_or_default(),
            database_name,
            access_host_url: branch.address,
            private_access_host_url: String::new(),
            private_connection_service_name: String::new(),
            default: credential.is_default,
            ready: true,
            inherited_roles: credential.inherited_roles,
            // Roles never get REPLICATION; creating one with it is refused.
            with_replication: false,
            query_safety_settings: QuerySafetySettings {
                require_where_on_delete: QUERY_SAFETY_OFF,
                require_where_on_update: QUERY_SAFETY_OFF,
            },
            ttl: credential.ttl_seconds.unwrap_or(0),
            expires_at: credential.expires_at.map(|t| t.to_iso8601()),
            expired,
            created_at: credential.created_at.to_iso8601(),
            updated_at: credential.updated_at.to_iso8601(),
            deleted_at: None,
            disabled_at: None,
            dropped_at: None,
            drop_failed: String::new(),
            actor: details
                .actor
                .as_ref()
                .map(ActorResponse::from_user)
                .unwrap_or_else(ActorResponse::unknown),
            branch: BranchSummary {
                id: branch.branch.id.to_string(),
                name: branch.branch.name,
                created_at: branch.branch.created_at.to_iso8601(),
                updated_at: branch.branch.updated_at.to_iso8601(),
                deleted_at: branch.branch.deleted_at.map(|t| t.to_iso8601()),
            },
            connection_url,
        }
    }
}
