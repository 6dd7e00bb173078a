//! An HTTP client of the dbplane API that checks every response: documented operations
//! against the PlanetScale contract (types, required fields, nullability, enums), and
//! every error against the API's error format.

use crate::contract::Contract;
use reqwest::Method;
use serde_json::Value;

/// A response: status, headers and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl ApiResponse {
    /// The body's `code` field (for errors).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// The error codes the API may answer with.
pub const ERROR_CODES: &[&str] = &[
    "not_found",
    "unauthorized",
    "forbidden",
    "bad_request",
    "invalid_params",
    "unprocessable",
    "conflict",
    "rate_limited",
    "internal",
];

/// The only messages a 5xx may carry: fixed sentences, never an error's detail. The API
/// crate checks that its own list is this one.
pub const SERVER_ERROR_MESSAGES: &[&str] = &[
    "internal server error",
    "a database server is unavailable, retry later",
    "a database server did not answer in time, retry later",
    "the request did not finish in time, retry later",
];

/// A client bound to one server and one credential.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    authorization: Option<String>,
}

impl ApiClient {
    pub fn new(base_url: &str, authorization: Option<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base_url: base_url.to_string(),
            authorization,
        }
    }

    /// The same server with another credential.
    pub fn with_authorization(&self, authorization: Option<String>) -> Self {
        Self {
            authorization,
            ..self.clone()
        }
    }

    pub async fn get(&self, path: &str) -> ApiResponse {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> ApiResponse {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> ApiResponse {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> ApiResponse {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> ApiResponse {
        self.send(Method::DELETE, path, None).await
    }
    pub async fn delete_with(&self, path: &str, body: Value) -> ApiResponse {
        self.send(Method::DELETE, path, Some(body)).await
    }

    /// Sends raw bytes (for malformed-body tests); the response is still checked.
    pub async fn send_raw(&self, method: Method, path: &str, body: Vec<u8>) -> ApiResponse {
        let request = self.request(method.clone(), path).body(body);
        self.finish(method, path, request).await
    }

    /// Sends a request and validates the response; panics on any contract violation.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> ApiResponse {
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.finish(method, path, request).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        request
    }

    async fn finish(
        &self,
        method: Method,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> ApiResponse {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("read the response body");
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{method} {path} -> {status}: body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        assert!(
            headers.contains_key("x-request-id"),
            "{method} {path}: no X-Request-Id header"
        );
        check_response(method.as_str(), path, status, &body);
        ApiResponse {
            status,
            headers,
            body,
        }
    }
}

/// Errors must be `{code, message}` with a known code; successes of documented
/// operations must match the contract.
fn check_response(method: &str, path: &str, status: u16, body: &Value) {
    if status >= 400 {
        let code = body["code"].as_str();
        assert!(
            code.is_some_and(|c| ERROR_CODES.contains(&c)) && body["message"].is_string(),
            "{method} {path} -> {status}: not an API error body: {body}"
        );
        if status >= 500 {
            assert!(
                body["message"]
                    .as_str()
                    .is_some_and(|message| SERVER_ERROR_MESSAGES.contains(&message)),
                "{method} {path} -> {status}: a 5xx must not leak details: {body}"
            );
        }
        return;
    }
    let contract = Contract::load();
    if contract.operation(method, path).is_some()
        && let Err(violations) = contract.validate_response(method, path, status, body)
    {
        let lines: Vec<String> = violations.iter().map(ToString::to_string).collect();
        panic!(
            "{method} {path} -> {status} violates the contract:\n  {}\nbody: {body}",
            lines.join("\n  ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::check_response;
    use serde_json::json;

    #[test]
    #[should_panic(expected = "violates the contract")]
    fn a_response_missing_a_required_field_fails() {
        check_response("GET", "/v1/organizations/acme", 200, &json!({"id": "x"}));
    }

    #[test]
    #[should_panic(expected = "not an API error body")]
    fn an_error_without_a_known_code_fails() {
        check_response(
            "GET",
            "/v1/organizations/acme",
            404,
            &json!({"error": "nope"}),
        );
    }

    #[test]
    #[should_panic(expected = "must not leak")]
    fn a_5xx_with_details_fails() {
        check_response(
            "GET",
            "/v1/regions",
            500,
            &json!({"code": "internal", "message": "sqlite: disk I/O"}),
        );
    }
}
