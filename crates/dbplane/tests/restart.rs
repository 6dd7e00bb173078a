//! Durability across restarts: tokens, grants and organization changes written before
//! a restart (graceful or kill -9) are all there after it, and old tokens still work.

use dbplane_testkit::TestServer;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_dbplane");

#[tokio::test]
async fn state_survives_restart_and_crash() {
    let mut server = TestServer::start(BIN).await;
    let acme = server.bootstrap("acme", "ops@acme.test");
    let admin = server.client(Some(acme.header()));
    let updated = admin
        .patch(
            "/v1/organizations/acme",
            json!({"billing_email": "billing@acme.test", "invoice_budget_amount": 250, "idp_managed_roles": true}),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body["invoice_budget_amount"], "250");
    let created = admin
        .post(
            "/v1/organizations/acme/service-tokens",
            json!({"name": "deployer", "ttl": 86400}),
        )
        .await;
    let token_id = created.body["id"].as_str().unwrap().to_string();
    let deployer_header = format!("{token_id}:{}", created.body["token"].as_str().unwrap());
    let granted = admin
        .post(
            &format!("/v1/organizations/acme/service-tokens/{token_id}/access"),
            json!({"access": ["read_organization", "read_service_tokens"]}),
        )
        .await;
    assert_eq!(granted.status, 200);
    let before = admin
        .get(&format!("/v1/organizations/acme/service-tokens/{token_id}"))
        .await
        .body;

    for crash in [false, true] {
        if crash {
            server.kill();
            server.start_again().await;
        } else {
            server.restart().await;
        }
        let admin = server.client(Some(acme.header()));
        let organization = admin.get("/v1/organizations/acme").await;
        assert_eq!(organization.status, 200);
        assert_eq!(organization.body["billing_email"], "billing@acme.test");
        assert_eq!(organization.body["invoice_budget_amount"], "250");
        assert_eq!(organization.body["idp_managed_roles"], true);
        let after = admin
            .get(&format!("/v1/organizations/acme/service-tokens/{token_id}"))
            .await
            .body;
        assert_eq!(after["name"], before["name"]);
        assert_eq!(after["expires_at"], before["expires_at"]);
        assert_eq!(
            after["service_token_accesses"],
            before["service_token_accesses"]
        );
        let deployer = server.client(Some(deployer_header.clone()));
        assert_eq!(
            deployer.get("/v1/organizations/acme").await.status,
            200,
            "crash={crash}"
        );
        assert_eq!(
            deployer
                .get("/v1/organizations/acme/service-tokens")
                .await
                .status,
            200
        );
        assert_eq!(
            deployer
                .post("/v1/organizations/acme/service-tokens", json!({}))
                .await
                .status,
            404,
            "the grant set is exactly what it was"
        );
    }
}
