//! Service-level tests on a real SQLite store.

use crate::bootstrap::bootstrap;
use crate::token_accesses::AccessChange;
use crate::{Config, ControlError, ControlPlane, PageRequest};
use dbplane_store::{MetadataStore, SqliteStore};
use std::sync::Arc;

async fn plane() -> (tempfile::TempDir, Arc<dyn MetadataStore>, ControlPlane) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn MetadataStore> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let plane = ControlPlane::new(store.clone(), Arc::new(Config::default()));
    (dir, store, plane)
}

/// Bootstraps `acme` and authenticates its all-access token.
async fn acme_admin(
    store: &dyn MetadataStore,
    plane: &ControlPlane,
) -> (crate::bootstrap::BootstrapOutcome, crate::Caller) {
    let acme = bootstrap(store, "acme", "a@acme.test", None).await.unwrap();
    let caller = plane
        .authenticate(Some(&header(&acme.token.id, acme.secret.expose())))
        .await
        .unwrap();
    (acme, caller)
}

fn header(id: &impl std::fmt::Display, secret: &str) -> String {
    format!("{id}:{secret}")
}

#[tokio::test]
async fn bootstrap_token_sees_its_organization_and_nothing_else() {
    let (_dir, store, plane) = plane().await;
    let (acme, caller) = acme_admin(store.as_ref(), &plane).await;
    let globex = bootstrap(store.as_ref(), "globex", "g@globex.test", None)
        .await
        .unwrap();
    let org = plane.get_organization(&caller, "acme").await.unwrap();
    assert_eq!(org.organization.id, acme.organization.id);
    assert!(matches!(
        plane.get_organization(&caller, "globex").await,
        Err(ControlError::NotFound { .. })
    ));
    let globex_token = globex.token.id.to_string();
    assert!(matches!(
        plane
            .get_service_token(&caller, "acme", &globex_token)
            .await,
        Err(ControlError::NotFound { .. })
    ));
}

#[tokio::test]
async fn bad_credentials_are_unauthorized() {
    let (_dir, store, plane) = plane().await;
    let acme = bootstrap(store.as_ref(), "acme", "a@acme.test", None)
        .await
        .unwrap();
    for bad in [
        None,
        Some("garbage".to_string()),
        Some(header(&acme.token.id, "pscale_tkn_wrong")),
        Some(format!("zzzzzzzzzzzz:{}", acme.secret.expose())),
    ] {
        assert!(matches!(
            plane.authenticate(bad.as_deref()).await,
            Err(ControlError::Unauthorized(_))
        ));
    }
}

#[tokio::test]
async fn new_tokens_hold_nothing_and_grants_are_bounded_by_the_granter() {
    let (_dir, store, plane) = plane().await;
    let (_acme, admin) = acme_admin(store.as_ref(), &plane).await;
    let created = plane
        .create_service_token(&admin, "acme", Some("ci".into()), None)
        .await
        .unwrap();
    let ci_header = header(&created.details.token.id, created.secret.expose());
    let ci = plane.authenticate(Some(&ci_header)).await.unwrap();
    assert!(matches!(
        plane.get_organization(&ci, "acme").await,
        Err(ControlError::NotFound { .. })
    ));
    let listed = plane
        .list_organizations(&ci, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 0);

    let ci_id = created.details.token.id.to_string();
    let records = plane
        .add_token_accesses(
            &admin,
            "acme",
            &ci_id,
            AccessChange {
                database: None,
                accesses: vec!["read_organization".into(), "write_service_tokens".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(records.len(), 2);
    // The grant applies at once (the cache entry was invalidated).
    let ci = plane.authenticate(Some(&ci_header)).await.unwrap();
    plane.get_organization(&ci, "acme").await.unwrap();

    // ci holds write_service_tokens but not create_databases: it cannot hand that out.
    let third = plane
        .create_service_token(&ci, "acme", None, Some(3600))
        .await
        .unwrap();
    let refused = plane
        .add_token_accesses(
            &ci,
            "acme",
            &third.details.token.id.to_string(),
            AccessChange {
                database: None,
                accesses: vec!["create_databases".into()],
            },
        )
        .await;
    assert!(matches!(refused, Err(ControlError::Forbidden(_))));

    let unknown = plane
        .add_token_accesses(
            &admin,
            "acme",
            &ci_id,
            AccessChange {
                database: None,
                accesses: vec!["fly".into()],
            },
        )
        .await;
    assert!(
        matches!(unknown, Err(ControlError::InvalidParams { ref message, .. }) if message.contains("fly"))
    );
}

#[tokio::test]
async fn deleted_and_expired_tokens_stop_authenticating() {
    let (_dir, store, plane) = plane().await;
    let (_acme, admin) = acme_admin(store.as_ref(), &plane).await;
    let created = plane
        .create_service_token(&admin, "acme", None, None)
        .await
        .unwrap();
    let h = header(&created.details.token.id, created.secret.expose());
    plane.authenticate(Some(&h)).await.unwrap();
    plane
        .delete_service_token(&admin, "acme", &created.details.token.id.to_string())
        .await
        .unwrap();
    assert!(plane.authenticate(Some(&h)).await.is_err());
}

#[tokio::test]
async fn organization_reads_see_this_process_updates_at_once() {
    let (_dir, store, plane) = plane().await;
    let (_acme, caller) = acme_admin(store.as_ref(), &plane).await;
    let before = plane.get_organization(&caller, "acme").await.unwrap();
    assert_eq!(before.organization.billing_email, "a@acme.test");
    let changes = crate::organizations::OrganizationChanges {
        billing_email: Some("billing@acme.test".into()),
        ..Default::default()
    };
    plane
        .update_organization(&caller, "acme", changes)
        .await
        .unwrap();
    let after = plane.get_organization(&caller, "acme").await.unwrap();
    assert_eq!(
        after.organization.billing_email, "billing@acme.test",
        "the cache was invalidated"
    );
}
