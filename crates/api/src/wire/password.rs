//! `Password`: a MySQL branch credential. Beyond the spec it carries `database_name`
//! (the physical database to connect to) and, where the secret is shown, a ready
//! `connection_url`.

use super::actor::{ActorResponse, actor};
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
    database_branch: DatabaseBranchResponse,
    /// dbplane extension: the database to name when connecting.
    database_name: String,
    /// dbplane extension, only with `plain_text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_url: Option<String>,
}

#[derive(Serialize)]
struct DatabaseBranchResponse {
    id: String,
    name: String,
    mysql_edge_address: String,
    private_edge_connectivity: bool,
    production: bool,
}

impl From<CredentialDetails> for PasswordResponse {
    fn from(details: CredentialDetails) -> Self {
        let credential = details.credential;
        let branch = details.branch;
        let address = branch.address;
        let username = credential.username();
        let expired = credential.is_expired(Timestamp::now());
        let database_name = branch.branch.physical_name();
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
            access_host_url: address.clone(),
            access_host_regional_url: address.clone(),
            access_host_regional_urls: vec![address.clone()],
            actor: actor(details.actor.as_ref()),
            region: RegionResponse::for_organization(branch.region),
            database_branch: DatabaseBranchResponse {
                id: branch.branch.id.to_string(),
                name: branch.branch.name,
                mysql_edge_address: address,
                private_edge_connectivity: false,
                production: branch.branch.production,
            },
            database_name,
            connection_url,
        }
    }
}
