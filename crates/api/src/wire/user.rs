//! `User`.

use super::avatar::avatar_url;
use dbplane_control::users::UserDetails;
use serde::Serialize;

#[derive(Serialize)]
pub struct OrganizationSummary {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

#[derive(Serialize)]
pub struct UserResponse {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    display_name: String,
    name: String,
    email: String,
    avatar_url: String,
    created_at: String,
    updated_at: String,
    two_factor_auth_configured: bool,
    default_organization: Option<OrganizationSummary>,
    sso: bool,
    managed: bool,
    directory_managed: bool,
    email_verified: bool,
}

impl From<UserDetails> for UserResponse {
    fn from(details: UserDetails) -> Self {
        let user = details.user;
        Self {
            kind: "User",
            avatar_url: avatar_url(&user.email),
            id: user.id.to_string(),
            display_name: user.name.clone(),
            name: user.name,
            email: user.email,
            created_at: user.created_at.to_iso8601(),
            updated_at: user.updated_at.to_iso8601(),
            two_factor_auth_configured: false,
            default_organization: details.default_organization.map(|org| OrganizationSummary {
                id: org.id.to_string(),
                name: org.name,
                created_at: org.created_at.to_iso8601(),
                updated_at: org.updated_at.to_iso8601(),
                deleted_at: None,
            }),
            sso: false,
            managed: false,
            directory_managed: false,
            // dbplane sends no verification mail; the operator vouches for the address.
            email_verified: false,
        }
    }
}
