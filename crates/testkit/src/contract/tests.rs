//! Tests of the contract against real PlanetScale operations: route matching
//! and response validation.

use serde_json::{Value, json};

use super::*;

fn id_of(method: &str, path: &str) -> Option<&'static str> {
    Contract::load()
        .operation(method, path)
        .map(|op| op.operation_id())
}

#[test]
fn loads_every_operation_with_unique_ids() {
    let contract = Contract::load();
    let ids: Vec<&str> = contract.operation_ids().collect();
    let extensions: Vec<&str> = contract
        .operations()
        .filter(|op| op.is_extension())
        .map(|op| op.operation_id())
        .collect();
    assert_eq!(extensions, ["get_branch_diff", "get_deploy_request_diff"]);
    assert_eq!(ids.len(), 193 + extensions.len());
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
    assert!(ids.contains(&"get_organization"));
}

#[test]
fn matches_templated_paths() {
    assert_eq!(
        id_of("GET", "/v1/organizations/acme"),
        Some("get_organization")
    );
    assert_eq!(
        id_of("get", "/v1/organizations/acme/service-tokens"),
        Some("list_service_tokens")
    );
    assert_eq!(
        id_of("DELETE", "/v1/organizations/acme/service-tokens/abc123"),
        Some("delete_service_token")
    );
    assert_eq!(id_of("GET", "/v1/user"), Some("get_current_user"));
    assert_eq!(id_of("GET", "/v1/regions"), Some("list_public_regions"));
}

#[test]
fn ignores_query_trailing_slash_host_and_missing_prefix() {
    assert_eq!(
        id_of(
            "GET",
            "/v1/organizations/acme/service-tokens?page=2&per_page=5"
        ),
        Some("list_service_tokens")
    );
    assert_eq!(
        id_of("GET", "/v1/organizations/acme/"),
        Some("get_organization")
    );
    assert_eq!(
        id_of("GET", "http://127.0.0.1:8080/v1/organizations/acme?x=1"),
        Some("get_organization")
    );
    assert_eq!(
        id_of("GET", "/organizations/acme"),
        Some("get_organization")
    );
}

#[test]
fn prefers_literal_segments_over_params() {
    let base = "/v1/organizations/acme/databases/db/branches/main";
    assert_eq!(
        id_of("GET", &format!("{base}/roles/default")),
        Some("get_default_role")
    );
    assert_eq!(id_of("GET", &format!("{base}/roles/r1")), Some("get_role"));
    assert_eq!(
        id_of("GET", &format!("{base}/insights/tags/summaries")),
        Some("list_branch_query_tag_summaries")
    );
    assert_eq!(
        id_of("GET", "/v1/organizations/acme/regions"),
        Some("list_regions_for_organization")
    );
}

#[test]
fn method_is_part_of_the_match() {
    let base = "/v1/organizations/acme/databases/db/branches/main/roles";
    // `reset-default` only has POST; a GET falls through to `roles/{id}`.
    assert_eq!(
        id_of("POST", &format!("{base}/reset-default")),
        Some("reset_default_role")
    );
    assert_eq!(
        id_of("GET", &format!("{base}/reset-default")),
        Some("get_role")
    );
    assert_eq!(id_of("PUT", "/v1/user"), None);
}

#[test]
fn unknown_paths_return_none() {
    assert_eq!(id_of("GET", "/v1/nope"), None);
    assert_eq!(id_of("GET", "/v1/organizations/acme/nope"), None);
    assert_eq!(id_of("GET", "/v1"), None);
    assert_eq!(
        id_of("GET", "/v1/organizations/acme/service-tokens/a/b/c"),
        None
    );
    // `/v10` is not the `/v1` prefix.
    assert_eq!(id_of("GET", "/v10/user"), None);
}

#[test]
fn exposes_parameters_and_path_params() {
    let contract = Contract::load();
    let op = contract
        .operation("GET", "/v1/organizations/acme/service-tokens")
        .unwrap();
    assert_eq!(op.method(), "GET");
    assert_eq!(
        op.path_template(),
        "/organizations/{organization}/service-tokens"
    );
    let org = op
        .parameters()
        .iter()
        .find(|p| p.name == "organization")
        .unwrap();
    assert_eq!(org.location, ParamLocation::Path);
    assert!(org.required);
    let page = op.parameters().iter().find(|p| p.name == "page").unwrap();
    assert_eq!(page.location, ParamLocation::Query);
    assert!(!page.required);
    let params = op
        .path_params("/v1/organizations/acme/service-tokens")
        .unwrap();
    assert_eq!(params.get("organization").map(String::as_str), Some("acme"));
    assert!(op.path_params("/v1/user").is_none());
    assert!(op.request_body_schema().is_none());
    assert!(op.documents_status(200));
    assert!(op.response_schema(200).is_some());
    assert!(op.response_schema(404).is_none());
}

#[test]
fn operation_by_id_round_trips() {
    let contract = Contract::load();
    for op in contract.operations() {
        let found = contract.operation_by_id(op.operation_id()).unwrap();
        assert_eq!(found.path_template(), op.path_template());
    }
    let create = contract.operation_by_id("create_service_token").unwrap();
    assert!(create.request_body_schema().is_some());
    assert!(contract.operation_by_id("no_such_op").is_none());
}

#[test]
fn rejects_malformed_contract_documents() {
    assert!(matches!(
        Contract::from_json("{\"paths\": 3}"),
        Err(ContractError::Parse(_))
    ));
    assert!(Contract::from_json("not json").is_err());
}

const ORG_PATH: &str = "/v1/organizations/acme";

fn valid_org() -> Value {
    json!({
        "id": "org_1",
        "name": "acme",
        "billing_email": "ops@acme.test",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "plan": "scaler_pro",
        "valid_billing_info": true,
        "sso": false,
        "sso_directory": false,
        "single_tenancy": false,
        "managed_tenancy": false,
        "has_past_due_invoices": null,
        "database_count": 2,
        "sso_portal_url": null,
        "features": {"insights": true},
        "idp_managed_roles": false,
        "invoice_budget_amount": "0.0",
        "keyspace_shard_limit": 32,
        "has_card": true,
        "payment_info_required": false,
        "dbplane_extra_field": "extra properties are allowed"
    })
}

fn org_violations(body: &Value) -> Vec<Violation> {
    Contract::load()
        .validate_response("GET", ORG_PATH, 200, body)
        .expect_err("expected violations")
}

fn locations(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|v| v.location.as_str()).collect()
}

fn token(id: &str) -> Value {
    json!({
        "id": id,
        "name": null,
        "display_name": "ci",
        "avatar_url": "https://example.test/a.png",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "expires_at": null,
        "last_used_at": null,
        "actor_id": null,
        "actor_display_name": null,
        "actor_type": null,
        "service_token_accesses": [],
        "oauth_accesses_by_resource": null
    })
}

fn token_page(tokens: Vec<Value>) -> Value {
    json!({
        "type": "list",
        "current_page": 1,
        "per_page": 25,
        "total_count": tokens.len(),
        "total_pages": 1,
        "next_page": null,
        "next_page_url": null,
        "prev_page": null,
        "prev_page_url": null,
        "data": tokens
    })
}

#[test]
fn valid_org_passes() {
    let contract = Contract::load();
    assert_eq!(
        contract.validate_response("GET", ORG_PATH, 200, &valid_org()),
        Ok(())
    );
}

#[test]
fn missing_required_field_is_reported() {
    let mut org = valid_org();
    org.as_object_mut().unwrap().remove("billing_email");
    let v = org_violations(&org);
    assert_eq!(locations(&v), ["$.billing_email"]);
    assert!(v[0].message.contains("required"), "{}", v[0]);
}

#[test]
fn wrong_type_is_reported() {
    let mut org = valid_org();
    org["database_count"] = json!("2");
    let v = org_violations(&org);
    assert_eq!(locations(&v), ["$.database_count"]);
    assert_eq!(v[0].message, "expected type integer, got string");
}

#[test]
fn fractional_number_is_not_an_integer() {
    let mut org = valid_org();
    org["database_count"] = json!(2.0);
    assert_eq!(locations(&org_violations(&org)), ["$.database_count"]);
}

#[test]
fn null_needs_nullable() {
    let mut org = valid_org();
    org["name"] = Value::Null;
    let v = org_violations(&org);
    assert_eq!(locations(&v), ["$.name"]);
    assert!(v[0].message.contains("not nullable"), "{}", v[0]);
    // `has_past_due_invoices` is nullable, so `null` there is fine (valid_org).
}

#[test]
fn all_violations_are_collected() {
    let mut org = valid_org();
    org["sso"] = json!("no");
    org["plan"] = Value::Null;
    org.as_object_mut().unwrap().remove("id");
    let mut found = locations(&org_violations(&org))
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    found.sort();
    assert_eq!(found, ["$.id", "$.plan", "$.sso"]);
}

#[test]
fn bad_enum_value_is_reported() {
    let contract = Contract::load();
    let database = contract
        .operation("GET", "/v1/organizations/acme/databases/db")
        .unwrap()
        .response_schema(200)
        .unwrap();
    let v = validate_schema(database, &json!({"kind": "oracle", "state": "ready"})).unwrap_err();
    let kind: Vec<_> = v.iter().filter(|v| v.location == "$.kind").collect();
    assert_eq!(kind.len(), 1, "{v:?}");
    assert!(
        kind[0].message.contains("\"oracle\" is not one of"),
        "{}",
        kind[0]
    );
    assert!(!v.iter().any(|v| v.location == "$.state"), "{v:?}");
}

#[test]
fn bad_nested_array_element_is_located() {
    let contract = Contract::load();
    let path = "/v1/organizations/acme/service-tokens";
    let good = token_page(vec![token("a"), token("b")]);
    assert_eq!(contract.validate_response("GET", path, 200, &good), Ok(()));

    let mut bad = token_page(vec![token("a"), token("b")]);
    bad["data"][0]["expires_at"] = json!(1_700_000_000);
    bad["data"][1].as_object_mut().unwrap().remove("id");
    let v = contract
        .validate_response("GET", path, 200, &bad)
        .unwrap_err();
    assert_eq!(locations(&v), ["$.data[0].expires_at", "$.data[1].id"]);
}

#[test]
fn public_regions_and_current_user() {
    let contract = Contract::load();
    let region = json!({
        "id": "r1", "provider": "AWS", "enabled": true,
        "public_ip_addresses": ["10.0.0.1"], "display_name": "Local",
        "location": "here", "slug": "local"
    });
    let mut page = json!({
        "type": "list", "current_page": 1, "per_page": 25,
        "next_page": null, "next_page_url": null,
        "prev_page": null, "prev_page_url": null, "data": [region]
    });
    assert_eq!(
        contract.validate_response("GET", "/v1/regions", 200, &page),
        Ok(())
    );
    page["data"][0]["public_ip_addresses"][0] = json!(10);
    let v = contract
        .validate_response("GET", "/v1/regions?page=1", 200, &page)
        .unwrap_err();
    assert_eq!(locations(&v), ["$.data[0].public_ip_addresses[0]"]);

    let user = json!({
        "id": "u1", "display_name": "Ada", "name": "Ada", "email": "ada@test",
        "avatar_url": "", "created_at": "t", "updated_at": "t",
        "two_factor_auth_configured": false, "default_organization": null
    });
    assert_eq!(
        contract.validate_response("GET", "/v1/user", 200, &user),
        Ok(())
    );
    let v = contract
        .validate_response("GET", "/v1/user", 200, &json!({"default_organization": {}}))
        .unwrap_err();
    assert!(
        locations(&v).contains(&"$.default_organization.id"),
        "{v:?}"
    );
    assert!(locations(&v).contains(&"$.email"), "{v:?}");
}

#[test]
fn status_rules() {
    let contract = Contract::load();
    let token_path = "/v1/organizations/acme/service-tokens/abc123";
    // 204 without a body.
    assert_eq!(
        contract.validate_response("DELETE", token_path, 204, &Value::Null),
        Ok(())
    );
    let v = contract
        .validate_response("DELETE", token_path, 204, &json!({}))
        .unwrap_err();
    assert!(v[0].message.contains("no body"), "{}", v[0]);
    // Undocumented 2xx is a violation; undocumented errors are not.
    let v = contract
        .validate_response("GET", ORG_PATH, 201, &valid_org())
        .unwrap_err();
    assert!(v[0].message.contains("not documented"), "{}", v[0]);
    assert_eq!(
        contract.validate_response("GET", ORG_PATH, 409, &json!({})),
        Ok(())
    );
    // Documented error statuses carry no schema; their bodies are not checked here.
    let error = json!({"code": "not_found", "message": "Not Found"});
    assert_eq!(
        contract.validate_response("GET", ORG_PATH, 404, &error),
        Ok(())
    );
    // Unknown route.
    let v = contract
        .validate_response("GET", "/v1/nope", 200, &json!({}))
        .unwrap_err();
    assert!(v[0].message.contains("no operation"), "{}", v[0]);
    // Not an object at all.
    let v = contract
        .validate_response("GET", ORG_PATH, 200, &json!([]))
        .unwrap_err();
    assert_eq!(v, [Violation::new("$", "expected type object, got array")]);
}
