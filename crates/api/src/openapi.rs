//! The OpenAPI document this server publishes at `/v1/openapi.json`. It lists exactly
//! the operations of the route table. Operations that exist in the PlanetScale contract
//! reuse its parameters and schemas, so the document and the implementation agree with
//! the reference; dbplane's extensions come from `contract/extensions.json` (same format)
//! or, for the CLI's token access calls, carry their own short schemas.

use crate::routes::RouteSpec;
use serde_json::{Map, Value, json};

/// The stripped PlanetScale contract (paths, parameters, schemas; no prose).
const CONTRACT: &str = include_str!("../../../contract/planetscale-contract.json");
/// dbplane's documented extensions (the deploy request and branch diffs).
const EXTENSIONS: &str = include_str!("../../../contract/extensions.json");

/// Builds the document for the given routes.
pub fn document(routes: &[&RouteSpec]) -> Value {
    let documents: Vec<Value> = [CONTRACT, EXTENSIONS]
        .iter()
        .map(|text| serde_json::from_str(text).unwrap_or(Value::Null))
        .collect();
    let mut paths: Map<String, Value> = Map::new();
    for route in routes {
        let spec_path = route.path.trim_start_matches("/v1");
        let method = route.method.as_str().to_lowercase();
        let pointer = format!("/paths/{}/{method}", escape_pointer(spec_path));
        let mut operation = documents
            .iter()
            .find_map(|document| document.pointer(&pointer))
            .cloned()
            .map(from_contract)
            .unwrap_or_else(|| extension_operation(route));
        let accesses: Vec<&str> = route
            .operation
            .accesses()
            .iter()
            .map(|a| a.name())
            .collect();
        operation["operationId"] = json!(route.operation.operation_id);
        operation["x-service-token-accesses"] = json!(accesses);
        if !matches!(
            route.operation.requirement,
            dbplane_control::operations::Requirement::Public
        ) {
            operation["security"] = json!([{ "serviceToken": [] }]);
        }
        paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("path items are objects")
            .insert(method, operation);
    }
    json!({
        "openapi": "3.0.1",
        "info": {
            "title": "dbplane",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The PlanetScale-compatible API served by this dbplane."
        },
        "components": {
            "securitySchemes": {
                "serviceToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "<service token id>:<service token>"
                }
            }
        },
        "paths": paths,
    })
}

fn escape_pointer(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

/// Converts a contract operation into OpenAPI form.
fn from_contract(contract_operation: Value) -> Value {
    let mut responses = Map::new();
    if let Some(stated) = contract_operation["responses"].as_object() {
        for (status, schema) in stated {
            let response = match schema {
                Value::Null => json!({ "description": status }),
                schema => json!({
                    "description": status,
                    "content": { "application/json": { "schema": schema } }
                }),
            };
            responses.insert(status.clone(), response);
        }
    }
    let mut operation = json!({
        "parameters": contract_operation["parameters"],
        "responses": responses,
    });
    if let Some(body) = contract_operation
        .get("requestBody")
        .filter(|b| !b.is_null())
    {
        operation["requestBody"] = json!({ "content": { "application/json": { "schema": body } } });
    }
    operation
}

/// Operations dbplane serves beyond the current spec and its extensions file (the CLI's
/// token access calls).
fn extension_operation(route: &RouteSpec) -> Value {
    let path_parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    let access_record = json!({
        "type": "object",
        "required": ["id", "type", "access", "resource"],
        "properties": {
            "id": { "type": "string" },
            "type": { "type": "string" },
            "access": { "type": "string" },
            "description": { "type": "string" },
            "resource": {
                "type": "object",
                "required": ["id", "name", "type"],
                "properties": {
                    "id": { "type": "string" }, "name": { "type": "string" }, "type": { "type": "string" }
                }
            }
        }
    });
    let list = json!({
        "type": "object",
        "required": ["data"],
        "properties": { "data": { "type": "array", "items": access_record } }
    });
    let mut operation = json!({
        "parameters": path_parameters,
        "responses": { "200": { "description": "200", "content": { "application/json": { "schema": list } } } }
    });
    if route.method != axum::http::Method::GET {
        operation["requestBody"] = json!({ "content": { "application/json": { "schema": {
            "type": "object",
            "required": ["access"],
            "properties": {
                "database": { "type": "string", "nullable": true },
                "access": { "type": "array", "items": { "type": "string" } }
            }
        }}}});
    }
    operation
}
