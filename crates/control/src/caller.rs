//! Authentication of service tokens (`Authorization: <id>:<secret>`) and the cache that
//! keeps it off the metadata store on the hot path.
//!
//! A verified token, its organization and its grants are cached for
//! `auth.cache_ttl_seconds`. This process invalidates an entry whenever it changes that
//! token or its grants, so its own changes apply at once; another replica's changes
//! apply within the ttl. The secret is always re-verified against the cached digest.

use crate::config::AuthConfig;
use crate::error::{ControlError, ControlResult};
use dbplane_domain::ids::is_public_id;
use dbplane_domain::{
    GrantSet, Organization, OrganizationId, ServiceToken, ServiceTokenId, Timestamp, UserId,
};
use dbplane_store::MetadataStore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A verified token with everything authorization needs.
#[derive(Debug)]
pub struct Credential {
    pub token: ServiceToken,
    pub organization: Organization,
    pub grants: GrantSet,
}

/// The authenticated caller of one request.
#[derive(Clone, Debug)]
pub struct Caller {
    credential: Arc<Credential>,
}

impl Caller {
    pub fn token_id(&self) -> &ServiceTokenId {
        &self.credential.token.id
    }
    pub fn user_id(&self) -> &UserId {
        &self.credential.token.user_id
    }
    pub fn organization_id(&self) -> &OrganizationId {
        &self.credential.organization.id
    }
    pub fn organization_name(&self) -> &str {
        &self.credential.organization.name
    }
    pub fn grants(&self) -> &GrantSet {
        &self.credential.grants
    }
}

struct CacheEntry {
    credential: Arc<Credential>,
    loaded_at: Instant,
    /// Last `last_used_at` written for this token (unix millis), to rate-limit writes.
    last_touch_millis: Arc<AtomicI64>,
}

/// Verifies tokens, with a short-lived cache.
pub struct Authenticator {
    store: Arc<dyn MetadataStore>,
    cache: RwLock<HashMap<ServiceTokenId, CacheEntry>>,
    cache_ttl: Duration,
    last_used_resolution_millis: i64,
}

const BAD_CREDENTIALS: &str = "missing or invalid service token";

impl Authenticator {
    pub fn new(store: Arc<dyn MetadataStore>, config: &AuthConfig) -> Self {
        Self {
            store,
            cache: RwLock::new(HashMap::new()),
            cache_ttl: Duration::from_secs(config.cache_ttl_seconds),
            last_used_resolution_millis: (config.last_used_resolution_seconds as i64) * 1000,
        }
    }

    /// Authenticates an `Authorization` header value.
    pub async fn authenticate(&self, header: Option<&str>) -> ControlResult<Caller> {
        let header = header.ok_or(ControlError::Unauthorized(BAD_CREDENTIALS))?;
        let (id, secret) = header
            .trim()
            .split_once(':')
            .ok_or(ControlError::Unauthorized(BAD_CREDENTIALS))?;
        if !is_public_id(id) || secret.is_empty() {
            return Err(ControlError::Unauthorized(BAD_CREDENTIALS));
        }
        let token_id = ServiceTokenId::from_string(id);
        let (credential, last_touch) = match self.cached(&token_id) {
            Some(hit) => hit,
            None => self.load(&token_id).await?,
        };
        if !credential.token.secret_digest.matches(secret) {
            return Err(ControlError::Unauthorized(BAD_CREDENTIALS));
        }
        let now = Timestamp::now();
        if credential.token.is_expired(now) {
            return Err(ControlError::Unauthorized("service token expired"));
        }
        self.record_use(&token_id, &last_touch, now);
        Ok(Caller { credential })
    }

    /// Forgets a token so its next use reloads it (after any change to it or its grants).
    pub fn invalidate(&self, token: &ServiceTokenId) {
        self.cache
            .write()
            .expect("auth cache lock is never poisoned: no panics while held")
            .remove(token);
    }

    fn cached(&self, token_id: &ServiceTokenId) -> Option<(Arc<Credential>, Arc<AtomicI64>)> {
        let cache = self
            .cache
            .read()
            .expect("auth cache lock is never poisoned: no panics while held");
        let entry = cache.get(token_id)?;
        (entry.loaded_at.elapsed() < self.cache_ttl)
            .then(|| (entry.credential.clone(), entry.last_touch_millis.clone()))
    }

    async fn load(
        &self,
        token_id: &ServiceTokenId,
    ) -> ControlResult<(Arc<Credential>, Arc<AtomicI64>)> {
        let token = self
            .store
            .service_token_by_id(token_id)
            .await?
            .ok_or(ControlError::Unauthorized(BAD_CREDENTIALS))?;
        let organization = self
            .store
            .organization_by_id(&token.organization_id)
            .await?
            .ok_or(ControlError::Unauthorized(BAD_CREDENTIALS))?;
        let grants = GrantSet::new(self.store.grants_of(token_id).await?);
        let last_touch = Arc::new(AtomicI64::new(
            token.last_used_at.map_or(0, Timestamp::unix_millis),
        ));
        let credential = Arc::new(Credential {
            token,
            organization,
            grants,
        });
        if !self.cache_ttl.is_zero() {
            self.cache
                .write()
                .expect("auth cache lock is never poisoned: no panics while held")
                .insert(
                    token_id.clone(),
                    CacheEntry {
                        credential: credential.clone(),
                        loaded_at: Instant::now(),
                        last_touch_millis: last_touch.clone(),
                    },
                );
        }
        Ok((credential, last_touch))
    }

    /// Writes `last_used_at` in the background, at most once per resolution window per
    /// token (the compare-exchange makes concurrent requests elect one writer).
    fn record_use(&self, token_id: &ServiceTokenId, last_touch: &AtomicI64, now: Timestamp) {
        let previous = last_touch.load(Ordering::Relaxed);
        if now.unix_millis() - previous < self.last_used_resolution_millis {
            return;
        }
        if last_touch
            .compare_exchange(
                previous,
                now.unix_millis(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return;
        }
        let store = self.store.clone();
        let token_id = token_id.clone();
        tokio::spawn(async move {
            if let Err(error) = store.touch_service_token(&token_id, now).await {
                tracing::warn!(token_id = %token_id, error = %error, "could not record token use");
            }
        });
    }
}
