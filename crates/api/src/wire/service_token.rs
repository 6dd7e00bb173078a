//! `ServiceToken`, its access records, and the CLI's access/grant shapes.

use super::avatar::avatar_url;
use dbplane_control::service_tokens::ServiceTokenDetails;
use dbplane_control::token_accesses::{AccessRecord, ResourceKind};
use dbplane_domain::AccessLevel;
use serde::Serialize;

#[derive(Serialize)]
pub struct ServiceTokenResponse {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    name: Option<String>,
    display_name: String,
    /// The secret: present only in the creation response.
    token: Option<String>,
    plain_text_refresh_token: Option<String>,
    avatar_url: String,
    created_at: String,
    updated_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    actor_id: Option<String>,
    actor_display_name: Option<String>,
    actor_type: Option<&'static str>,
    service_token_accesses: Vec<TokenAccessItem>,
    oauth_accesses_by_resource: AccessesByResource,
}

#[derive(Serialize)]
struct TokenAccessItem {
    id: String,
    access: &'static str,
    description: &'static str,
    resource_name: String,
    resource_id: String,
    resource_type: &'static str,
    resource: ResourceSummary,
}

#[derive(Serialize)]
struct ResourceSummary {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

#[derive(Serialize)]
struct AccessName {
    name: &'static str,
    description: &'static str,
}

#[derive(Serialize)]
struct AccessesByResource {
    database: DatabaseAccesses,
    organization: OrganizationAccesses,
    branch: BranchAccesses,
    user: UserAccesses,
}

#[derive(Serialize)]
struct DatabaseAccesses {
    databases: Vec<DatabaseRef>,
    accesses: Vec<AccessName>,
}

#[derive(Serialize)]
struct DatabaseRef {
    name: String,
    id: String,
    organization: String,
    url: String,
}

#[derive(Serialize)]
struct OrganizationAccesses {
    organizations: Vec<OrganizationRef>,
    accesses: Vec<AccessName>,
}

#[derive(Serialize)]
struct OrganizationRef {
    name: String,
    id: String,
    url: String,
}

#[derive(Serialize)]
struct BranchAccesses {
    branches: Vec<serde_json::Value>,
    accesses: Vec<AccessName>,
}

#[derive(Serialize)]
struct UserAccesses {
    users: Vec<serde_json::Value>,
    accesses: Vec<AccessName>,
}

fn resource_type(kind: &ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Organization => "Organization",
        ResourceKind::Database => "Database",
    }
}

impl ServiceTokenResponse {
    /// Renders a token; `secret` only at creation.
    pub fn new(details: ServiceTokenDetails, secret: Option<String>, base_url: &str) -> Self {
        let token = details.token;
        let organization_url = format!("{base_url}/v1/organizations/{}", details.organization.name);
        let accesses_by_resource = group_by_resource(
            &details.accesses,
            &details.organization.name,
            &details.organization.id.to_string(),
            &organization_url,
        );
        let display_name = token.name.clone().unwrap_or_else(|| token.id.to_string());
        Self {
            kind: "ServiceToken",
            avatar_url: avatar_url(token.id.as_str()),
            id: token.id.to_string(),
            name: token.name,
            display_name,
            token: secret,
            plain_text_refresh_token: None,
            created_at: token.created_at.to_iso8601(),
            updated_at: token.updated_at.to_iso8601(),
            expires_at: token.expires_at.map(|t| t.to_iso8601()),
            last_used_at: token.last_used_at.map(|t| t.to_iso8601()),
            actor_id: details.actor.as_ref().map(|user| user.id.to_string()),
            actor_display_name: details.actor.as_ref().map(|user| user.name.clone()),
            actor_type: details.actor.as_ref().map(|_| "User"),
            service_token_accesses: details.accesses.iter().map(access_item).collect(),
            oauth_accesses_by_resource: accesses_by_resource,
        }
    }
}

fn access_item(record: &AccessRecord) -> TokenAccessItem {
    TokenAccessItem {
        id: record.grant.id.to_string(),
        access: record.grant.access.name(),
        description: record.grant.access.description(),
        resource_name: record.resource.name.clone(),
        resource_id: record.resource.id.clone(),
        resource_type: resource_type(&record.resource.kind),
        resource: ResourceSummary {
            id: record.resource.id.clone(),
            name: record.resource.name.clone(),
            created_at: record.resource.created_at.to_iso8601(),
            updated_at: record.resource.updated_at.to_iso8601(),
            deleted_at: None,
        },
    }
}

fn push_unique(names: &mut Vec<AccessName>, access: dbplane_domain::Access) {
    if !names.iter().any(|existing| existing.name == access.name()) {
        names.push(AccessName {
            name: access.name(),
            description: access.description(),
        });
    }
}

fn group_by_resource(
    records: &[AccessRecord],
    organization_name: &str,
    organization_id: &str,
    organization_url: &str,
) -> AccessesByResource {
    let mut organization_accesses = Vec::new();
    let mut database_accesses = Vec::new();
    let mut databases: Vec<DatabaseRef> = Vec::new();
    for record in records {
        match record.grant.access.level() {
            AccessLevel::Organization => {
                push_unique(&mut organization_accesses, record.grant.access)
            }
            AccessLevel::Database => push_unique(&mut database_accesses, record.grant.access),
        }
        if record.resource.kind == ResourceKind::Database
            && !databases.iter().any(|db| db.id == record.resource.id)
        {
            databases.push(DatabaseRef {
                name: record.resource.name.clone(),
                id: record.resource.id.clone(),
                organization: organization_name.to_string(),
                url: format!("{organization_url}/databases/{}", record.resource.name),
            });
        }
    }
    let organizations = if organization_accesses.is_empty() {
        Vec::new()
    } else {
        vec![OrganizationRef {
            name: organization_name.to_string(),
            id: organization_id.to_string(),
            url: organization_url.to_string(),
        }]
    };
    AccessesByResource {
        database: DatabaseAccesses {
            databases,
            accesses: database_accesses,
        },
        organization: OrganizationAccesses {
            organizations,
            accesses: organization_accesses,
        },
        branch: BranchAccesses {
            branches: Vec::new(),
            accesses: Vec::new(),
        },
        user: UserAccesses {
            users: Vec::new(),
            accesses: Vec::new(),
        },
    }
}

/// One record of the CLI's `/access` calls.
#[derive(Serialize)]
pub struct AccessRecordResponse {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    access: &'static str,
    description: &'static str,
    resource: AccessResource,
}

#[derive(Serialize)]
struct AccessResource {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl From<&AccessRecord> for AccessRecordResponse {
    fn from(record: &AccessRecord) -> Self {
        Self {
            id: record.grant.id.to_string(),
            kind: match record.resource.kind {
                ResourceKind::Organization => "OrganizationAccess",
                ResourceKind::Database => "DatabaseAccess",
            },
            access: record.grant.access.name(),
            description: record.grant.access.description(),
            resource: AccessResource {
                id: record.resource.id.clone(),
                name: record.resource.name.clone(),
                kind: resource_type(&record.resource.kind),
            },
        }
    }
}

/// One resource of the CLI's `/grants` call with the accesses held on it.
#[derive(Serialize)]
pub struct GrantResponse {
    id: String,
    resource_name: String,
    resource_type: &'static str,
    resource_id: String,
    accesses: Vec<GrantAccess>,
}

#[derive(Serialize)]
struct GrantAccess {
    access: &'static str,
    description: &'static str,
}

/// Groups access records by resource, in first-seen order.
pub fn grants(records: &[AccessRecord]) -> Vec<GrantResponse> {
    let mut grouped: Vec<GrantResponse> = Vec::new();
    for record in records {
        let access = GrantAccess {
            access: record.grant.access.name(),
            description: record.grant.access.description(),
        };
        match grouped
            .iter_mut()
            .find(|g| g.resource_id == record.resource.id)
        {
            Some(group) => group.accesses.push(access),
            None => grouped.push(GrantResponse {
                id: record.resource.id.clone(),
                resource_name: record.resource.name.clone(),
                resource_type: resource_type(&record.resource.kind),
                resource_id: record.resource.id.clone(),
                accesses: vec![access],
            }),
        }
    }
    grouped
}
