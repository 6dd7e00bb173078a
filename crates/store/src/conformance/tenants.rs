//! Tenants: organizations, users, service tokens and grants.

use super::TestBackend;
use crate::prelude::*;
use crate::{StoreError, Window};
use dbplane_domain::secret::{NewSecret, SERVICE_TOKEN_PREFIX};
use dbplane_domain::{
    Access, AccessGrant, GrantId, GrantScope, Organization, OrganizationId, ServiceToken,
    ServiceTokenId, Timestamp, User, UserId,
};

pub(crate) fn organization(name: &str) -> Organization {
    let now = Timestamp::now();
    Organization {
        id: OrganizationId::generate(),
        name: name.to_string(),
        billing_email: "ops@example.com".to_string(),
        idp_managed_roles: false,
        invoice_budget_amount: 0,
        created_at: now,
        updated_at: now,
    }
}

pub(crate) fn user(email: &str) -> User {
    let now = Timestamp::now();
    User {
        id: UserId::generate(),
        email: email.to_string(),
        name: "Ops".to_string(),
        default_organization_id: None,
        created_at: now,
        updated_at: now,
    }
}

fn token(organization: &Organization, user: &User) -> ServiceToken {
    let now = Timestamp::now();
    ServiceToken {
        id: ServiceTokenId::generate(),
        organization_id: organization.id.clone(),
        user_id: user.id.clone(),
        name: Some("ci".to_string()),
        secret_digest: NewSecret::generate(SERVICE_TOKEN_PREFIX).digest(),
        created_at: now,
        updated_at: now,
        expires_at: None,
        last_used_at: None,
    }
}

/// Bootstrapping twice changes nothing, and what it wrote is there after a reopen.
pub async fn bootstrap_is_idempotent_and_survives_reopen<B: TestBackend>() {
    let backend = B::create().await;
    let store = backend.open().await;
    let first = store
        .ensure_organization_with_admin(organization("acme"), user("a@example.com"))
        .await
        .unwrap();
    assert!(first.organization_created);
    let second = store
        .ensure_organization_with_admin(organization("acme"), user("a@example.com"))
        .await
        .unwrap();
    assert!(!second.organization_created);
    assert_eq!(first.organization.id, second.organization.id);
    assert_eq!(first.user.id, second.user.id);
    backend.close(store).await;

    let reopened = backend.open().await;
    let found = reopened
        .organization_by_name("acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, first.organization.id);
}

/// Tokens and their grants: conflicts, idempotent grants, `last_used_at`, deletion.
pub async fn tokens_and_grants_round_trip<B: TestBackend>() {
    let backend = B::create().await;
    let store = backend.open().await;
    let boot = store
        .ensure_organization_with_admin(organization("acme"), user("a@example.com"))
        .await
        .unwrap();
    let token = token(&boot.organization, &boot.user);
    let scope = GrantScope::Organization(boot.organization.id.clone());
    let grant = AccessGrant {
        id: GrantId::generate(),
        access: Access::ReadOrganization,
        scope: scope.clone(),
    };
    store
        .create_service_token(&token, std::slice::from_ref(&grant))
        .await
        .unwrap();
    assert!(matches!(
        store.create_service_token(&token, &[]).await,
        Err(StoreError::Conflict { .. })
    ));
    // Adding the same access again is a no-op.
    let duplicate = AccessGrant {
        id: GrantId::generate(),
        ..grant.clone()
    };
    store.add_grants(&token.id, &[duplicate]).await.unwrap();
    assert_eq!(store.grants_of(&token.id).await.unwrap(), vec![grant]);

    let at = Timestamp::from_unix_millis(1_000);
    store.touch_service_token(&token.id, at).await.unwrap();
    store
        .touch_service_token(&token.id, Timestamp::from_unix_millis(500))
        .await
        .unwrap();
    let stored = store.service_token_by_id(&token.id).await.unwrap().unwrap();
    assert_eq!(stored.last_used_at, Some(at));
    assert!(stored.secret_digest == token.secret_digest);

    let page = store
        .list_service_tokens(
            &boot.organization.id,
            Window {
                offset: 0,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);

    store
        .remove_grants(&token.id, &[Access::ReadOrganization], &scope)
        .await
        .unwrap();
    assert!(store.grants_of(&token.id).await.unwrap().is_empty());
    assert!(
        store
            .delete_service_token(&boot.organization.id, &token.id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_service_token(&boot.organization.id, &token.id)
            .await
            .unwrap()
    );
}
