//! `Organization`.

use dbplane_control::organizations::OrganizationDetails;
use serde::Serialize;
use serde_json::{Map, Value};

/// Shard limit shown to clients: a dbplane keyspace is one unsharded database.
const KEYSPACE_SHARD_LIMIT: u64 = 1;

/// `free_databases_remaining`: every database is free and there is no limit on them. The
/// field is an integer (PlanetScale's Go SDK decodes it into an `int`), so "unlimited" is
/// the largest value a 32-bit `int` holds.
const UNLIMITED_FREE_DATABASES: i64 = i32::MAX as i64;

#[derive(Serialize)]
pub struct OrganizationResponse {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    name: String,
    billing_email: String,
    created_at: String,
    updated_at: String,
    plan: &'static str,
    valid_billing_info: bool,
    sso: bool,
    sso_directory: bool,
    single_tenancy: bool,
    managed_tenancy: bool,
    has_past_due_invoices: bool,
    database_count: u64,
    sso_portal_url: Option<String>,
    features: Map<String, Value>,
    idp_managed_roles: bool,
    invoice_budget_amount: String,
    keyspace_shard_limit: u64,
    /// Not in the spec; PlanetScale's Go SDK reads it (`Organization.RemainingFreeDatabases`).
    free_databases_remaining: i64,
    has_card: bool,
    payment_info_required: bool,
}

impl From<OrganizationDetails> for OrganizationResponse {
    fn from(details: OrganizationDetails) -> Self {
        let organization = details.organization;
        Self {
            kind: "Organization",
            id: organization.id.to_string(),
            name: organization.name,
            billing_email: organization.billing_email,
            created_at: organization.created_at.to_iso8601(),
            updated_at: organization.updated_at.to_iso8601(),
            // Self-hosted: no billing, so billing state is always in order.
            plan: "self_hosted",
            valid_billing_info: true,
            sso: false,
            sso_directory: false,
            single_tenancy: true,
            managed_tenancy: false,
            has_past_due_invoices: false,
            database_count: details.database_count,
            sso_portal_url: None,
            features: Map::new(),
            idp_managed_roles: organization.idp_managed_roles,
            invoice_budget_amount: organization.invoice_budget_amount.to_string(),
            keyspace_shard_limit: KEYSPACE_SHARD_LIMIT,
            free_databases_remaining: UNLIMITED_FREE_DATABASES,
            has_card: false,
            payment_info_required: false,
        }
    }
}
