//! The API error: `{"code": "...", "message": "..."}` with the status of its code. Every
//! control-plane error is mapped here and only here. 5xx bodies are generic; their
//! detail travels in a response extension that the request middleware logs.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dbplane_control::ControlError;
use serde::Serialize;

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
            ..Self::new(ErrorCode::Internal, "internal server error")
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
            ControlError::Unavailable(detail) => ApiError {
                code: ErrorCode::Unavailable,
                message: "internal server error".to_string(),
                retry_after_seconds: Some(1),
                internal_detail: Some(detail),
            },
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
