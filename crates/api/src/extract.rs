//! Extractors whose rejections use the API's error body: JSON bodies, query strings,
//! path parameters, pagination and the authenticated caller.

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use bytes::Bytes;
use dbplane_control::{Caller, PageRequest};
use objects_only::ObjectsOnly;
use serde::de::DeserializeOwned;

mod objects_only;

/// A JSON request body: every handler reads its body through this one extractor. An
/// empty body reads as `{}` so calls whose fields are all optional may omit it. Malformed
/// JSON is a `bad_request`; a body (or an object in it) that is not a JSON object, or a
/// field of the wrong type, is `invalid_params` naming the field (`body` for the whole).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(_)
                        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
                    {
                        ApiError::new(
                            ErrorCode::PayloadTooLarge,
                            "request body is larger than 1 MiB",
                        )
                    }
                    other => ApiError::bad_request(format!("could not read request body: {other}")),
                })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let value: serde_json::Value = serde_json::from_slice(text)
            .map_err(|error| ApiError::bad_request(format!("malformed JSON body: {error}")))?;
        serde_path_to_error::deserialize(ObjectsOnly(value))
            .map(JsonBody)
            .map_err(|error| {
                let path = error.path().to_string();
                let field = if path == "." { "body" } else { path.as_str() };
                ApiError::invalid_params(field, error.into_inner())
            })
    }
}

/// The raw query pairs of a request.
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// An optional unsigned integer parameter.
    pub fn unsigned(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|value| {
                value
                    .parse::<u64>()
                    .map_err(|_| ApiError::invalid_params(name, "must be a positive integer"))
            })
            .transpose()
    }

    /// An optional boolean parameter: `true` or `false`.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|value| match value {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::invalid_params(name, "must be true or false")),
            })
            .transpose()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map(QueryPairs)
            .map_err(|error| ApiError::bad_request(format!("malformed query string: {error}")))
    }
}

/// `page`/`per_page` plus what is needed to build `next_page_url`.
pub struct Pagination {
    pub request: PageRequest,
    pub path: String,
    pub base_url: String,
}

impl FromRequestParts<AppState> for Pagination {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let query = QueryPairs::from_request_parts(parts, state).await?;
        let request = PageRequest::new(query.unsigned("page")?, query.unsigned("per_page")?)?;
        // The same base as every resource's `url`, whatever Host the request named.
        let base_url = state.control.config().public_base_url();
        Ok(Self {
            request,
            path: parts.uri.path().to_string(),
            base_url,
        })
    }
}

/// The authenticated caller (401 when the credentials are missing or wrong, 429 when
/// its rate limit is spent).
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        Ok(Authenticated(state.control.authenticate(header).await?))
    }
}

/// Path parameters, with rejections in the API's error format.
pub struct PathParams<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParams(value))
            .map_err(|rejection| ApiError::bad_request(format!("invalid path: {rejection}")))
    }
}
