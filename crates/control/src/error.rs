//! Errors of the control plane. The API layer maps each variant to a code and status in
//! one place; `Store` and `Internal` become generic 500s whose detail is only logged.

use dbplane_store::StoreError;
use std::time::Duration;

/// What a service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Missing, or hidden from the caller (no access): the two look the same on purpose.
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// A parameter or body field is invalid; the message names it.
    #[error("{field}: {message}")]
    InvalidParams { field: String, message: String },
    #[error("{0}")]
    BadRequest(String),
    /// The request is understood but the resource's state refuses it.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    /// A database server could not do what was asked right now (it is logged; clients
    /// see a generic 503 and may retry).
    #[error("{0}")]
    Unavailable(String),
    /// A database server did not answer within the time a request may wait for it
    /// (`[api] cluster_timeout_seconds`); clients see a generic 503 and may retry.
    #[error("no answer from the database server within {after:?} while trying to {action}")]
    ClusterTimeout {
        action: &'static str,
        after: Duration,
    },
    #[error("rate limit exceeded")]
    RateLimited { retry_after_seconds: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ControlResult<T> = Result<T, ControlError>;

impl ControlError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ControlError::InvalidParams {
            field: field.into(),
            message: message.into(),
        }
    }
}
