//! Every data-plane response shape, built from hand-made details and checked against
//! the PlanetScale contract, without a server.

mod backups;
mod deploys;
mod fixtures;

use super::branch::BranchResponse;
use super::cluster_size::ClusterSizeSkuResponse;
use super::database::DatabaseResponse;
use super::keyspace::KeyspaceResponse;
use super::list::{ListEnvelope, Totals};
use super::password::PasswordResponse;
use super::region::{ReadOnlyRegionResponse, RegionResponse};
use super::role::RoleResponse;
use super::schema::{SchemaItem, SchemaResponse};
use dbplane_control::Config;
use dbplane_control::regions::ReadOnlyRegion;
use dbplane_domain::data_plane::DatabaseKind;
use dbplane_testkit::contract::Contract;
use fixtures::{
    BASE, branch_details, credential_details, database_details, paged, pagination, region,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

const DATABASE: &str = "/v1/organizations/acme/databases/shop";
const BRANCH: &str = "/v1/organizations/acme/databases/shop/branches/dev";
/// Operations every route of which is checked below (none are exempt).
const NOT_AVAILABLE: &[&str] = &[];

/// Collects contract violations of every rendered response.
#[derive(Default)]
struct Checker {
    checked: BTreeSet<String>,
    failures: Vec<String>,
}

impl Checker {
    fn check(&mut self, method: &str, path: &str, status: u16, body: impl Serialize) {
        let json = serde_json::to_value(body).expect("serializes");
        self.check_value(method, path, status, &json);
    }

    fn check_value(&mut self, method: &str, path: &str, status: u16, json: &Value) {
        let contract = Contract::load();
        let operation = contract
            .operation(method, path)
            .unwrap_or_else(|| panic!("no contract operation for {method} {path}"));
        self.checked.insert(operation.operation_id().to_string());
        if let Err(violations) = contract.validate_response(method, path, status, json) {
            for violation in violations {
                self.failures.push(format!(
                    "{} ({method} {path} {status}): {violation}",
                    operation.operation_id()
                ));
            }
        }
    }
}

fn check_databases(checker: &mut Checker) {
    for kind in [DatabaseKind::Mysql, DatabaseKind::Postgresql] {
        let render = || DatabaseResponse::new(database_details(kind), BASE);
        checker.check("GET", DATABASE, 200, render());
        checker.check("POST", "/v1/organizations/acme/databases", 201, render());
        checker.check("PATCH", DATABASE, 200, render());
        let path = "/v1/organizations/acme/databases";
        let list = ListEnvelope::new(
            &pagination(path),
            paged(vec![database_details(kind), database_details(kind)]),
            Totals::Include,
            |details| DatabaseResponse::new(details, BASE),
        );
        checker.check("GET", path, 200, list);
    }
    checker.check_value("DELETE", DATABASE, 204, &Value::Null);
    let path = "/v1/organizations/acme/databases/shop/regions";
    let regions = ListEnvelope::new(
        &pagination(path),
        paged(vec![region()]),
        Totals::Omit,
        RegionResponse::for_organization,
    );
    checker.check("GET", path, 200, regions);
    check_read_only_regions(checker);
    let skus: Vec<ClusterSizeSkuResponse> = Config::default()
        .cluster_sizes
        .into_iter()
        .enumerate()
        .map(|(position, size)| ClusterSizeSkuResponse::new(size, position))
        .collect();
    assert!(!skus.is_empty());
    checker.check("GET", "/v1/organizations/acme/cluster-size-skus", 200, skus);
}

/// None exist yet; the shape is checked with one made by hand, and empty.
fn check_read_only_regions(checker: &mut Checker) {
    let path = "/v1/organizations/acme/databases/shop/read-only-regions";
    let now = dbplane_domain::Timestamp::now();
    let read_only = ReadOnlyRegion {
        id: "abcdefghijkl".into(),
        region: region(),
        actor: Some(fixtures::user()),
        created_at: now,
        updated_at: now,
        ready_at: None,
    };
    for items in [vec![read_only], Vec::new()] {
        let list = ListEnvelope::new(
            &pagination(path),
            paged(items),
            Totals::Omit,
            ReadOnlyRegionResponse::from,
        );
        checker.check("GET", path, 200, list);
    }
}

fn check_branches(checker: &mut Checker) {
    for kind in [DatabaseKind::Mysql, DatabaseKind::Postgresql] {
        for development in [true, false] {
            let render = || BranchResponse::new(branch_details(kind, development), BASE);
            let branches = "/v1/organizations/acme/databases/shop/branches";
            checker.check("POST", branches, 201, render());
            checker.check("GET", BRANCH, 200, render());
            checker.check("PATCH", BRANCH, 200, render());
            checker.check("POST", &format!("{BRANCH}/promote"), 200, render());
            checker.check("POST", &format!("{BRANCH}/demote"), 200, render());
            let lint = format!("{BRANCH}/schema/lint");
            let error = dbplane_schema::lint::LintError {
                lint_error: dbplane_schema::lint::LintCode::NoUniqueKey,
                subject_type: "table".into(),
                keyspace_name: "shop".into(),
                table_name: "events".into(),
                error_description: "table events has no unique key".into(),
                docs_url: "https://planetscale.com/docs".into(),
                column_name: String::new(),
                foreign_key_column_names: Vec::new(),
                auto_increment_column_names: Vec::new(),
                charset_name: String::new(),
                engine_name: String::new(),
                vindex_name: String::new(),
                json_path: String::new(),
                check_constraint_name: String::new(),
                enum_value: String::new(),
                partitioning_type: String::new(),
                partition_name: String::new(),
            };
            let errors = ListEnvelope::new(
                &pagination(&lint),
                paged(vec![error]),
                Totals::Omit,
                crate::wire::schema::LintErrorResponse::from,
            );
            checker.check("GET", &lint, 200, errors);
            let safe = format!("{BRANCH}/safe-migrations");
            checker.check("POST", &safe, 200, render());
            checker.check("DELETE", &safe, 200, render());
            checker.check("PUT", &safe, 200, render());
            let list = ListEnvelope::new(
                &pagination(branches),
                paged(vec![
                    branch_details(kind, development),
                    branch_details(kind, !development),
                ]),
                Totals::Include,
                |details| BranchResponse::new(details, BASE),
            );
            checker.check("GET", branches, 200, list);
            let keyspace =
                || KeyspaceResponse::new(branch_details(kind, development), "PS-10".into());
            checker.check("GET", &format!("{BRANCH}/keyspaces/shop"), 200, keyspace());
            let path = format!("{BRANCH}/keyspaces");
            let list = ListEnvelope::new(
                &pagination(&path),
                paged(vec![keyspace()]),
                Totals::Omit,
                std::convert::identity,
            );
            checker.check("GET", &path, 200, list);
        }
    }
    checker.check_value("DELETE", BRANCH, 204, &Value::Null);
    checker.check_value("PATCH", &format!("{BRANCH}/cluster"), 204, &Value::Null);
    let schema = SchemaResponse {
        data: vec![SchemaItem::new(
            "users".into(),
            "CREATE TABLE `users` (`id` bigint NOT NULL)".into(),
        )],
    };
    checker.check("GET", &format!("{BRANCH}/schema"), 200, schema);
    check_diff(checker, &format!("{BRANCH}/diff"));
}

/// A page of a diff (a dbplane extension, `contract/extensions.json`): two changed
/// tables, one per page.
fn check_diff(checker: &mut Checker, path: &str) {
    let items = vec![
        (
            "users".to_string(),
            " CREATE TABLE `users` (\n-  `id` int\n+  `id` bigint\n )".to_string(),
        ),
        (
            "notes".to_string(),
            "+CREATE TABLE `notes` (\n+  `id` int\n+)".to_string(),
        ),
    ];
    let page = crate::wire::schema::diff_page(&pagination(path), items);
    checker.check("GET", path, 200, page);
}

fn check_credentials(checker: &mut Checker) {
    let cases = [(Some("pscale_pw_secret"), Some(3600)), (None, None)];
    let passwords = format!("{BRANCH}/passwords");
    let password = format!("{passwords}/abc123");
    for (secret, ttl) in cases {
        let render =
            || PasswordResponse::new(credential_details(DatabaseKind::Mysql, secret, ttl), BASE);
        checker.check("POST", &passwords, 201, render());
        checker.check("GET", &password, 200, render());
        checker.check("PATCH", &password, 200, render());
        checker.check("POST", &format!("{password}/renew"), 200, render());
        let list = ListEnvelope::new(
            &pagination(&passwords),
            paged(vec![
                credential_details(DatabaseKind::Mysql, secret, ttl),
                credential_details(DatabaseKind::Mysql, None, None),
            ]),
            Totals::Include,
            |details| PasswordResponse::new(details, BASE),
        );
        checker.check("GET", &passwords, 200, list);
    }
    checker.check_value("DELETE", &password, 204, &Value::Null);

    let roles = format!("{BRANCH}/roles");
    let role = format!("{roles}/abc123");
    for (secret, ttl) in cases {
        let render =
            || RoleResponse::from(credential_details(DatabaseKind::Postgresql, secret, ttl));
        checker.check("POST", &roles, 200, render());
        checker.check("GET", &role, 200, render());
        checker.check("PATCH", &role, 200, render());
        checker.check("POST", &format!("{role}/renew"), 200, render());
        checker.check("POST", &format!("{role}/reset"), 200, render());
        checker.check("GET", &format!("{roles}/default"), 200, render());
        checker.check("POST", &format!("{roles}/reset-default"), 200, render());
        let list = ListEnvelope::new(
            &pagination(&roles),
            paged(vec![
                credential_details(DatabaseKind::Postgresql, secret, ttl),
                credential_details(DatabaseKind::Postgresql, None, None),
            ]),
            Totals::Include,
            RoleResponse::from,
        );
        checker.check("GET", &roles, 200, list);
    }
    checker.check_value("DELETE", &role, 204, &Value::Null);
    checker.check_value("POST", &format!("{role}/reassign"), 204, &Value::Null);
}

#[test]
fn data_plane_responses_match_the_contract() {
    let mut checker = Checker::default();
    check_databases(&mut checker);
    check_branches(&mut checker);
    check_credentials(&mut checker);
    backups::check_backups(&mut checker);
    deploys::check_deploys(&mut checker);
    assert!(
        checker.failures.is_empty(),
        "contract violations:\n{}",
        checker.failures.join("\n")
    );
    // Every data-plane route of the table had its success response checked.
    for (spec, _) in crate::routes::table() {
        let id = spec.operation.operation_id;
        let data_plane =
            spec.path.contains("/databases") || spec.path.ends_with("/cluster-size-skus");
        if data_plane && !NOT_AVAILABLE.contains(&id) {
            assert!(checker.checked.contains(id), "{id} was not checked");
        }
    }
}

#[test]
fn the_check_rejects_a_missing_required_field() {
    let mut json = serde_json::to_value(DatabaseResponse::new(
        database_details(DatabaseKind::Mysql),
        BASE,
    ))
    .expect("serializes");
    json.as_object_mut().expect("object").remove("state");
    assert!(
        Contract::load()
            .validate_response("GET", DATABASE, 200, &json)
            .is_err()
    );
}

#[test]
fn routes_match_contract_operations() {
    let contract = Contract::load();
    for (spec, _) in crate::routes::table() {
        let id = spec.operation.operation_id;
        match contract.operation(spec.method.as_str(), spec.path) {
            Some(operation) => assert_eq!(operation.operation_id(), id, "{}", spec.path),
            // The CLI's token access calls are in neither the spec nor our extensions.
            None => assert!(
                !spec.path.contains("/databases"),
                "{id}: {} {} is not in the contract",
                spec.method,
                spec.path
            ),
        }
    }
}

#[test]
fn secrets_come_with_a_connection_url() {
    let created = serde_json::to_value(PasswordResponse::new(
        credential_details(DatabaseKind::Mysql, Some("pscale_pw_secret"), None),
        BASE,
    ))
    .expect("serializes");
    let username = created["username"].as_str().expect("username");
    let database = created["database_name"].as_str().expect("database_name");
    // Through the edge, with the database's own name.
    assert_eq!(
        created["connection_url"],
        format!("mysql://{username}:pscale_pw_secret@127.0.0.1:3309/{database}")
    );
    assert_eq!(database, "shop");
    let listed = serde_json::to_value(PasswordResponse::new(
        credential_details(DatabaseKind::Mysql, None, None),
        BASE,
    ))
    .expect("serializes");
    assert!(listed.get("connection_url").is_none());
    assert!(listed["plain_text"].is_null());

    let role = serde_json::to_value(RoleResponse::from(credential_details(
        DatabaseKind::Postgresql,
        Some("pscale_pw_secret"),
        Some(60),
    )))
    .expect("serializes");
    assert!(
        role["connection_url"]
            .as_str()
            .expect("connection_url")
            .starts_with("postgresql://")
    );
    assert_eq!(role["password"], "pscale_pw_secret");
    assert_eq!(role["ttl"], 60);
}
