//! The API error: `{"code": "...", "message": "..."}` with the status of its code. Every
//! control-plane error is mapped here and only here. 5xx bodies are generic; their
//! detail travels in a response extension that the request middleware logs.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dbplane_control::ControlError;
use serde::Serialize;
use std::time::Duration;

/// The messages of 5xx answers: fixed sentences that say what a client can do, never
/// the error's detail (which is logged).
pub mod server_error_message {
    /// A bug or a failing metadata store.
    pub const INTERNAL: &str = "internal server error";
    /// A database server refused or failed the work; it may work later.
    pub const UNAVAILABLE: &str = "a database server is unavailable, retry later";
    /// A database server did not answer within `[api] cluster_timeout_seconds`.
    pub const CLUSTER_TIMEOUT: &str = "a database server did not answer in time, retry later";
    /// The request outlived `[api] request_timeout_seconds`.
    pub const REQUEST_TIMEOUT: &str = "the request did not finish in time, retry later";
    /// Every message above.
    pub const ALL: &[&str] = &[INTERNAL, UNAVAILABLE, CLUSTER_TIMEOUT, REQUEST_TIMEOUT];
}

/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_UNAVAILABLE: u64 = 1;

/// The closed set of error codes the API answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotFound,
    Unauthorized,
    Forbidden,
    BadRequest,
    InvalidParams,
    Unprocessable,
    Conflict,
    RateLimited,
    /// 405; the body says `bad_request`, keeping the code set closed.
    #[serde(rename = "bad_request")]
    MethodNotAllowed,
    /// 413; the body says `bad_request`.
    #[serde(rename = "bad_request")]
    PayloadTooLarge,
    /// 503: a database server could not do it now; retry later.
    #[serde(rename = "internal")]
    Unavailable,
    Internal,
}

impl ErrorCode {
    fn status(self) -> StatusCode {
        match self {
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::BadRequest | ErrorCode::InvalidParams => StatusCode::BAD_REQUEST,
            ErrorCode::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    retry_after_seconds: Option<u64>,
    /// Logged, never sent.
    internal_detail: Option<String>,
}

/// The internal detail of a 5xx, for the logging middleware.
#[derive(Clone, Debug)]
pub struct InternalErrorDetail(pub String);

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: ErrorCode,
    message: &'a str,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_seconds: None,
            internal_detail: None,
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn invalid_params(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InvalidParams, format!("{field}: {message}"))
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        Self {
            internal_detail: Some(detail.into()),
            ..Self::new(ErrorCode::Internal, server_error_message::INTERNAL)
        }
    }
    /// A 503 with `Retry-After`: `message` for the client, `detail` for the log.
    fn unavailable(message: &'static str, detail: String) -> Self {
        Self {
            retry_after_seconds: Some(RETRY_AFTER_UNAVAILABLE),
            internal_detail: Some(detail),
            ..Self::new(ErrorCode::Unavailable, message)
        }
    }
    /// What a request that failed outside its handler answers: 503 when it outlived
    /// its `deadline` (the tower timeout layer), 500 otherwise.
    pub fn request_failed(error: &axum::BoxError, deadline: Duration) -> Self {
        if error.is::<tower::timeout::error::Elapsed>() {
            Self::unavailable(
                server_error_message::REQUEST_TIMEOUT,
                format!("the request outlived its deadline of {deadline:?}"),
            )
        } else {
            Self::internal(error_chain(error.as_ref()))
        }
    }
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl From<ControlError> for ApiError {
    fn from(error: ControlError) -> Self {
        match error {
            ControlError::NotFound { resource } => {
                ApiError::not_found(format!("{resource} not found"))
            }
            ControlError::Unauthorized(message) => ApiError::new(ErrorCode::Unauthorized, message),
            ControlError::Forbidden(message) => ApiError::new(ErrorCode::Forbidden, message),
            ControlError::InvalidParams { field, message } => {
                ApiError::invalid_params(&field, message)
            }
            ControlError::BadRequest(message) => ApiError::bad_request(message),
            ControlError::Unprocessable(message) => {
                ApiError::new(ErrorCode::Unprocessable, message)
            }
            ControlError::Conflict(message) => ApiError::new(ErrorCode::Conflict, message),
            ControlError::RateLimited {
                retry_after_seconds,
            } => ApiError {
                retry_after_seconds: Some(retry_after_seconds),
                ..ApiError::new(ErrorCode::RateLimited, "rate limit exceeded, retry later")
            },
            ControlError::Unavailable(detail) => {
                ApiError::unavailable(server_error_message::UNAVAILABLE, detail)
            }
            error @ ControlError::ClusterTimeout { .. } => {
                ApiError::unavailable(server_error_message::CLUSTER_TIMEOUT, error.to_string())
            }
            ControlError::Store(store_error) => ApiError::internal(error_chain(&store_error)),
        }
    }
}

/// `error: cause: cause` for logs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            code: self.code,
            message: &self.message,
        })
        .unwrap_or_else(|_| br#"{"code":"internal","message":"internal server error"}"#.to_vec());
        let mut response = (self.code.status(), body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(detail) = self.internal_detail {
            response
                .extensions_mut()
                .insert(InternalErrorDetail(detail));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn answer(error: ApiError) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_string());
        let body = to_bytes(response.into_body(), 4096).await.unwrap();
        (status, retry_after, serde_json::from_slice(&body).unwrap())
    }

    #[test]
    fn server_error_messages_are_the_ones_tests_accept() {
        assert_eq!(
            server_error_message::ALL,
            dbplane_testkit::client::SERVER_ERROR_MESSAGES
        );
    }

    #[tokio::test]
    async fn a_cluster_timeout_is_a_503_without_details() {
        let error = ControlError::ClusterTimeout {
            action: "create the account",
            after: Duration::from_secs(10),
        };
        let (status, retry_after, body) = answer(error.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(body["code"], "internal");
        assert_eq!(body["message"], server_error_message::CLUSTER_TIMEOUT);
    }

    #[tokio::test]
    async fn an_unavailable_cluster_hides_the_driver_error() {
        let error =
            ControlError::Unavailable("cannot create the account: Access denied for root".into());
        let (status, _, body) = answer(error.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["message"], server_error_message::UNAVAILABLE);
        assert!(!body.to_string().contains("root"));
    }

    #[tokio::test]
    async fn an_elapsed_request_deadline_is_a_503() {
        let elapsed: axum::BoxError = Box::new(tower::timeout::error::Elapsed::new());
        let error = ApiError::request_failed(&elapsed, Duration::from_secs(30));
        let (status, _, body) = answer(error).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["message"], server_error_message::REQUEST_TIMEOUT);
        let other: axum::BoxError = "boom".into();
        let (status, _, body) = answer(ApiError::request_failed(&other, Duration::ZERO)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["message"], server_error_message::INTERNAL);
    }
}
