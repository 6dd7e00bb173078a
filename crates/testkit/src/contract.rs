//! The PlanetScale `/v1` API contract, as stripped by `scripts/gen-contract.py`.
//!
//! `contract/planetscale-contract.json` keeps only the facts of PlanetScale's
//! OpenAPI document: every path and method, its `operationId`, its parameters,
//! and the JSON schemas of its request and response bodies. [`Contract`] loads
//! it (embedded at compile time), maps concrete request paths such as
//! `/v1/organizations/acme/service-tokens/abc123` to operations, and checks
//! response bodies against the documented schemas (see [`Contract::validate_response`]).
//!
//! `contract/extensions.json` holds dbplane's extensions in the same format: operations
//! the semantics reference documents but PlanetScale's OpenAPI document lacks (the deploy
//! request and branch diffs). Each is marked `x-dbplane-extension`
//! ([`OperationRef::is_extension`]); [`Contract::load`] merges them so the same checks
//! cover them.

mod validate;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

pub use validate::{Violation, validate_schema};

/// The contract file, embedded so tests need no runtime path logic.
const CONTRACT_JSON: &str = include_str!("../../../contract/planetscale-contract.json");

/// dbplane's extensions of the contract, kept by hand in the same format.
const EXTENSIONS_JSON: &str = include_str!("../../../contract/extensions.json");

/// The path prefix under which PlanetScale serves the API (`servers` in the spec).
const API_PREFIX: &str = "/v1";

/// Why a contract document could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The document is not valid JSON or does not have the contract's shape.
    #[error("contract document does not parse: {0}")]
    Parse(#[from] serde_json::Error),
}

/// Where a request parameter travels (`in` in OpenAPI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    /// A `{name}` segment of the path template.
    Path,
    /// A query-string parameter.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

/// One documented request parameter of an operation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Parameter {
    /// The parameter name, e.g. `organization` or `per_page`.
    pub name: String,
    /// Where the parameter travels.
    #[serde(rename = "in")]
    pub location: ParamLocation,
    /// Whether the request must carry it.
    pub required: bool,
    /// The parameter's schema, if documented.
    pub schema: Option<Value>,
}

/// One operation as stored in the contract file.
#[derive(Debug, Deserialize)]
struct RawOperation {
    #[serde(rename = "operationId")]
    operation_id: String,
    parameters: Vec<Parameter>,
    #[serde(rename = "requestBody")]
    request_body: Option<Value>,
    /// Status code -> JSON schema of the body, or `None` when there is no body.
    responses: BTreeMap<String, Option<Value>>,
    /// The service-token accesses the spec lists for the operation ("at least one of").
    #[serde(rename = "x-service-token-accesses", default)]
    service_token_accesses: Vec<String>,
    /// A dbplane extension, not a PlanetScale operation.
    #[serde(rename = "x-dbplane-extension", default)]
    extension: bool,
}

#[derive(Debug, Deserialize)]
struct RawContract {
    paths: BTreeMap<String, BTreeMap<String, RawOperation>>,
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// An operation together with its route.
#[derive(Debug)]
struct Operation {
    method: String,
    template: String,
    segments: Vec<Segment>,
    raw: RawOperation,
}

/// The PlanetScale API contract: every documented operation and its schemas.
#[derive(Debug)]
pub struct Contract {
    /// Sorted by path template, then method.
    operations: Vec<Operation>,
}

/// A borrowed handle to one operation of a [`Contract`].
#[derive(Debug, Clone, Copy)]
pub struct OperationRef<'a> {
    op: &'a Operation,
}

impl Contract {
    /// The contract embedded from `contract/planetscale-contract.json` with dbplane's
    /// extensions (`contract/extensions.json`), parsed once per process.
    ///
    /// # Panics
    /// If an embedded file does not parse; regenerate the contract with
    /// `python3 scripts/gen-contract.py`.
    pub fn load() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let mut contract = Contract::from_json(CONTRACT_JSON)
                .expect("contract/planetscale-contract.json must parse");
            let extensions =
                Contract::from_json(EXTENSIONS_JSON).expect("contract/extensions.json must parse");
            contract.operations.extend(extensions.operations);
            contract
                .operations
                .sort_by(|a, b| (&a.template, &a.method).cmp(&(&b.template, &b.method)));
            contract
        })
    }

    /// Parses a contract document in the format written by `gen-contract.py`.
    pub fn from_json(text: &str) -> Result<Contract, ContractError> {
        let raw: RawContract = serde_json::from_str(text)?;
        let mut operations = Vec::new();
        for (template, methods) in raw.paths {
            let segments = split_path(&template)
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(s.to_owned()),
                    },
                )
                .collect::<Vec<_>>();
            for (method, raw) in methods {
                operations.push(Operation {
                    method: method.to_ascii_uppercase(),
                    template: template.clone(),
                    segments: segments.clone(),
                    raw,
                });
            }
        }
        Ok(Contract { operations })
    }

    /// Every `operationId`, in path-template then method order.
    pub fn operation_ids(&self) -> impl Iterator<Item = &str> {
        self.operations
            .iter()
            .map(|op| op.raw.operation_id.as_str())
    }

    /// Every operation, in path-template then method order.
    pub fn operations(&self) -> impl Iterator<Item = OperationRef<'_>> {
        self.operations.iter().map(|op| OperationRef { op })
    }

    /// The operation with this `operationId`, if any.
    pub fn operation_by_id(&self, operation_id: &str) -> Option<OperationRef<'_>> {
        self.operations()
            .find(|op| op.operation_id() == operation_id)
    }

    /// The operation serving `method` (case-insensitive) on a concrete request
    /// path such as `/v1/organizations/acme/service-tokens/abc123?page=2`.
    ///
    /// The `/v1` prefix, the query string and a trailing slash are ignored. When
    /// several templates match, the one whose first differing segment is a
    /// literal wins, so `/organizations/acme/regions` maps to the `regions`
    /// route rather than to a `{param}` route.
    pub fn operation(&self, method: &str, path: &str) -> Option<OperationRef<'_>> {
        let method = method.to_ascii_uppercase();
        let concrete: Vec<&str> = split_path(strip_to_api_path(path)).collect();
        self.operations
            .iter()
            .filter(|op| op.method == method && matches(&op.segments, &concrete))
            // `false < true`: a literal segment (not a param) sorts first.
            .min_by_key(|op| {
                op.segments
                    .iter()
                    .map(|s| matches!(s, Segment::Param(_)))
                    .collect::<Vec<_>>()
            })
            .map(|op| OperationRef { op })
    }

    /// Checks a response body against the contract.
    ///
    /// `body` is [`Value::Null`] for an empty body. An unknown route is a
    /// violation. See [`OperationRef::validate_response`] for the rules.
    pub fn validate_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Vec<Violation>> {
        match self.operation(method, path) {
            Some(op) => op.validate_response(status, body),
            None => Err(vec![Violation::new(
                "$",
                format!(
                    "no operation in the contract for {} {path}",
                    method.to_ascii_uppercase()
                ),
            )]),
        }
    }
}

impl<'a> OperationRef<'a> {
    /// The `operationId`, e.g. `get_organization`.
    pub fn operation_id(&self) -> &'a str {
        &self.op.raw.operation_id
    }

    /// Whether this is a dbplane extension (`contract/extensions.json`), not an
    /// operation of PlanetScale's document.
    pub fn is_extension(&self) -> bool {
        self.op.raw.extension
    }

    /// The HTTP method, upper-case.
    pub fn method(&self) -> &'a str {
        &self.op.method
    }

    /// The path template without the `/v1` prefix, e.g. `/organizations/{organization}`.
    pub fn path_template(&self) -> &'a str {
        &self.op.template
    }

    /// The documented request parameters (path, query, header).
    pub fn parameters(&self) -> &'a [Parameter] {
        &self.op.raw.parameters
    }

    /// The service-token accesses the reference spec lists for this operation.
    pub fn service_token_accesses(&self) -> &'a [String] {
        &self.op.raw.service_token_accesses
    }

    /// The JSON schema of the request body, if the operation takes one.
    pub fn request_body_schema(&self) -> Option<&'a Value> {
        self.op.raw.request_body.as_ref()
    }

    /// The documented status codes, e.g. `["200", "401", "403", "404", "500"]`.
    pub fn response_statuses(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.op.raw.responses.keys().map(String::as_str)
    }

    /// Whether `status` is documented for this operation.
    pub fn documents_status(&self, status: u16) -> bool {
        self.op.raw.responses.contains_key(&status.to_string())
    }

    /// The JSON schema of the body for `status`; `None` when the status is
    /// undocumented or documented without a body.
    pub fn response_schema(&self, status: u16) -> Option<&'a Value> {
        self.op
            .raw
            .responses
            .get(&status.to_string())
            .and_then(Option::as_ref)
    }

    /// Binds the template's `{param}` segments to the segments of a concrete
    /// request path; `None` if the path does not match this template.
    pub fn path_params(&self, path: &str) -> Option<BTreeMap<&'a str, String>> {
        let concrete: Vec<&str> = split_path(strip_to_api_path(path)).collect();
        if !matches(&self.op.segments, &concrete) {
            return None;
        }
        let mut params = BTreeMap::new();
        for (seg, value) in self.op.segments.iter().zip(concrete) {
            if let Segment::Param(name) = seg {
                params.insert(name.as_str(), value.to_owned());
            }
        }
        Some(params)
    }

    /// Checks a response body (`Value::Null` when empty) against this operation.
    ///
    /// * A documented status with a schema: the body must validate against it.
    /// * A documented status without a schema: a 1xx–3xx body must be empty
    ///   (`null`). Error statuses (4xx/5xx) are documented without a body but
    ///   PlanetScale sends an error object, so their bodies are not checked here.
    /// * An undocumented status: a violation for 2xx, accepted otherwise (error
    ///   bodies are validated elsewhere).
    pub fn validate_response(&self, status: u16, body: &Value) -> Result<(), Vec<Violation>> {
        let Some(documented) = self.op.raw.responses.get(&status.to_string()) else {
            if (200..300).contains(&status) {
                let known = self.response_statuses().collect::<Vec<_>>().join(", ");
                return Err(vec![Violation::new(
                    "$",
                    format!(
                        "status {status} is not documented for {} (documented: {known})",
                        self.operation_id()
                    ),
                )]);
            }
            return Ok(());
        };
        match documented {
            Some(schema) => validate_schema(schema, body),
            None if status >= 400 || body.is_null() => Ok(()),
            None => Err(vec![Violation::new(
                "$",
                format!(
                    "status {status} of {} has no body in the contract, got {}",
                    self.operation_id(),
                    validate::kind_of(body)
                ),
            )]),
        }
    }

    /// Checks a request body against the operation's request-body schema. An
    /// operation without one accepts only an empty (`null`) body.
    pub fn validate_request_body(&self, body: &Value) -> Result<(), Vec<Violation>> {
        match self.request_body_schema() {
            Some(schema) => validate_schema(schema, body),
            None if body.is_null() => Ok(()),
            None => Err(vec![Violation::new(
                "$",
                format!("{} takes no request body", self.operation_id()),
            )]),
        }
    }
}

/// Reduces a request target to the API path: drops any scheme and host, the
/// query string or fragment, and the `/v1` prefix.
fn strip_to_api_path(path: &str) -> &str {
    let path = match path.find("://") {
        Some(i) => {
            let after = &path[i + 3..];
            after.find('/').map_or("/", |j| &after[j..])
        }
        None => path,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    match path.strip_prefix(API_PREFIX) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    }
}

/// The non-empty `/`-separated segments of a path.
fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn matches(template: &[Segment], concrete: &[&str]) -> bool {
    template.len() == concrete.len()
        && template.iter().zip(concrete).all(|(t, c)| match t {
            Segment::Literal(lit) => lit == c,
            Segment::Param(_) => true,
        })
}

#[cfg(test)]
mod tests;
