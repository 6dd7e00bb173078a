//! A deploy request review.

use super::actor::ActorResponse;
use super::deploy_request::escape_html;
use dbplane_domain::User;
use dbplane_domain::deploys::DeployReview;
use serde::Serialize;

#[derive(Serialize)]
pub struct ReviewResponse {
    id: String,
    body: String,
    html_body: String,
    state: &'static str,
    created_at: String,
    updated_at: String,
    actor: ActorResponse,
}

impl ReviewResponse {
    pub fn new((review, user): (DeployReview, Option<User>)) -> Self {
        Self {
            id: review.id.to_string(),
            html_body: format!("<p>{}</p>", escape_html(&review.body)),
            body: review.body,
            state: review.state.as_str(),
            created_at: review.created_at.to_iso8601(),
            updated_at: review.created_at.to_iso8601(),
            actor: user
                .as_ref()
                .map(ActorResponse::from_user)
                .unwrap_or_else(ActorResponse::unknown),
        }
    }
}
