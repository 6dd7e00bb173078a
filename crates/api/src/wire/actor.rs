//! The actor object `{id, display_name, avatar_url}`: who created a resource. It also
//! carries `type` ("User"), which the spec leaves out but PlanetScale sends and its Go SDK
//! reads (`planetscale.Actor.Type`).

use super::avatar::avatar_url;
use dbplane_domain::User;
use serde::Serialize;

/// Every actor is a user: service tokens act for the user who owns them.
const USER: &str = "User";

#[derive(Serialize)]
pub struct ActorResponse {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    display_name: String,
    avatar_url: String,
}

impl ActorResponse {
    pub fn from_user(user: &User) -> Self {
        Self {
            kind: USER,
            id: user.id.to_string(),
            display_name: user.name.clone(),
            avatar_url: avatar_url(&user.email),
        }
    }

    /// For schemas whose actor is not nullable, when the creator is no longer known.
    pub fn unknown() -> Self {
        Self {
            kind: USER,
            id: String::new(),
            display_name: "unknown".to_string(),
            avatar_url: avatar_url(""),
        }
    }
}

/// The nullable actor most resources carry.
pub fn actor(user: Option<&User>) -> Option<ActorResponse> {
    user.map(ActorResponse::from_user)
}
