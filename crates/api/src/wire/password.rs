//! `Password`: a MySQL branch credential. Beyond the spec it carries `database_name`
//! (the physical database to connect to), where the secret is shown a ready
//! `connection_url`, and a whole branch object as `database_branch` (the spec lists five
//! of its fields; PlanetScale's Go SDK decodes it as a `DatabaseBranch` and reads them all).

use super::actor::{ActorResponse, actor};
use super::branch::BranchResponse;
use super::connection::connection_url;
use super::region::RegionResponse;
use dbplane_control::credentials::CredentialDetails;
use dbplane_domain::Timestamp;
use serde::Serialize;

#[derive(Serialize)]
pub struct PasswordResponse {
    #[serde(rename = "type")]
    kind_tag: &'static str,
    id: String,
    name: String,
    role: &'static str,
    username: String,
    /// The secret: only in the response that created it.
    plain_text: Option<String>,
    /// IP restrictions are not supported: always null (allow all).
    cidrs: Option<Vec<String>>,
    created_at: String,
    deleted_at: Option<String>,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    expired: bool,
    renewable: bool,
    ttl_seconds: Option<i64>,
    replica: bool,
    direct_vtgate: bool,
    direct_vtgate_addresses: Vec<String>,
    access_host_url: String,
    access_host_regional_url: String,
    access_host_regional_urls: Vec<String>,
    actor: Option<ActorResponse>,
    region: RegionResponse,
    database_branch: BranchResponse,
    /// dbplane extension: the database to name when connecting.
    database_name: String,
    /// dbplane extension, only with `plain_text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_url: Option<String>,
}

impl PasswordResponse {
    pub fn new(details: CredentialDetails, base_url: &str) -> Self {
        let credential = details.credential;
        let branch = details.branch;
        let address = branch.address.clone();
        let username = credential.username();
        let expired = credential.is_expired(Timestamp::now());
        let database_name = branch.connect_database.clone();
        let region = RegionResponse::for_organization(branch.region.clone());
        let connection_url = details.plain_text.as_deref().map(|secret| {
            connection_url(
                branch.database.kind,
                &username,
                secret,
                &address,
                &database_name,
            )
        });
        Self {
            kind_tag: "Password",
            id: credential.id.to_string(),
            name: credential.name,
            role: credential.role.as_str(),
            username,
            plain_text: details.plain_text,
            cidrs: None,
            created_at: credential.created_at.to_iso8601(),
            deleted_at: None,
            expires_at: credential.expires_at.map(|t| t.to_iso8601()),
            last_used_at: credential.last_used_at.map(|t| t.to_iso8601()),
            expired,
            renewable: credential.ttl_seconds.is_some(),
            ttl_seconds: credential.ttl_seconds,
            replica: credential.replica,
            direct_vtgate: false,
            direct_vtgate_addresses: Vec::new(),
            access_host_url: branch.access_host.clone(),
            access_host_regional_url: branch.access_host.clone(),
            access_host_regional_urls: vec![branch.access_host.clone()],
            actor: actor(details.actor.as_ref()),
            region,
            database_branch: BranchResponse::new(branch, base_url),
            database_name,
            connection_url,
        }
    }
}
