//! The request middleware: request id (echoed in `X-Request-Id`), a tracing span per
//! request, metrics, and the one place where 5xx details are logged.

use crate::AppState;
use crate::error::InternalErrorDetail;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;
use std::time::Instant;
use tracing::Instrument;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client-sent id is kept when it is short and printable, so ids correlate across
/// systems; otherwise a new one is made.
fn request_id(request: &Request) -> HeaderValue {
    if let Some(value) = request.headers().get(&REQUEST_ID)
        && value.len() <= 128
        && !value.is_empty()
        && value.as_bytes().iter().all(|b| b.is_ascii_graphic())
    {
        return value.clone();
    }
    let id: u128 = rand::rng().random();
    HeaderValue::from_str(&format!("{id:032x}")).expect("hex digits are a valid header value")
}

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| state.route_label(matched.as_str()))
        .unwrap_or("unmatched");
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or_default(),
        method = %method,
        route,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    let elapsed = started.elapsed();
    crate::metrics::record_request(&method, route, status.as_u16(), elapsed);
    let _entered = span.enter();
    if let Some(InternalErrorDetail(detail)) =
        response.extensions_mut().remove::<InternalErrorDetail>()
    {
        tracing::error!(status = status.as_u16(), error = %detail, "request failed");
    } else {
        tracing::debug!(
            status = status.as_u16(),
            elapsed_us = elapsed.as_micros() as u64,
            "request served"
        );
    }
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}
