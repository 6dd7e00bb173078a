//! The HTTP API of dbplane: PlanetScale's `/v1` surface plus `/healthz` and `/metrics`.
//! Handlers are thin: extract, one control-plane call, render. Every request has a
//! deadline (`[api] request_timeout_seconds`); past it the API answers 503.

pub mod error;
pub mod extract;
pub mod metrics;
mod middleware;
pub mod openapi;
pub mod routes;
pub mod wire;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{BoxError, Router};
use dbplane_control::ControlPlane;
use error::{ApiError, ErrorCode};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use tower::ServiceBuilder;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub control: Arc<ControlPlane>,
    route_templates: Arc<HashSet<&'static str>>,
    openapi: Arc<OnceLock<String>>,
}

impl AppState {
    /// The route template as a `'static` label for metrics.
    fn route_label(&self, matched: &str) -> &'static str {
        self.route_templates
            .get(matched)
            .copied()
            .unwrap_or("other")
    }

    /// Base URL for links in responses.
    pub fn base_url(&self) -> String {
        self.control.config().public_base_url()
    }
}

/// Builds the whole router.
pub fn router(control: Arc<ControlPlane>) -> Router {
    let table = routes::table();
    let mut templates: HashSet<&'static str> = table.iter().map(|(spec, _)| spec.path).collect();
    templates.extend(["/healthz", "/metrics", "/v1/openapi.json"]);
    let deadline = control.config().api.request_timeout();
    let state = AppState {
        control,
        route_templates: Arc::new(templates),
        openapi: Arc::new(OnceLock::new()),
    };
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/v1/openapi.json", get(openapi_json));
    for (spec, handler) in table {
        router = router.route(spec.path, handler);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Inside `observe`, so a request cut off here is still counted and logged.
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |error: BoxError| async move {
                    ApiError::request_failed(&error, deadline)
                }))
                .timeout(deadline),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "status": "ok" })),
    )
}

async fn metrics_text() -> Response {
    let mut response = metrics::render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

async fn openapi_json(State(state): State<AppState>) -> Response {
    let document = state.openapi.get_or_init(|| {
        let table = routes::table();
        let specs: Vec<&routes::RouteSpec> = table.iter().map(|(spec, _)| spec).collect();
        openapi::document(&specs).to_string()
    });
    let mut response = document.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "method not allowed for this route",
    )
}
