//! A short-lived cache of organizations and their database counts, so the hot
//! authenticated reads (`get_organization`, and every authorization of an
//! organization-level call) do not query the metadata store. This process invalidates
//! an entry whenever it changes what the entry shows; changes made elsewhere (another
//! replica, `dbplane admin`) show within the ttl, like the auth cache.

use crate::organizations::OrganizationDetails;
use dbplane_domain::OrganizationId;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub struct OrganizationCache {
    ttl: Duration,
    entries: RwLock<HashMap<OrganizationId, (OrganizationDetails, Instant)>>,
}

impl OrganizationCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, id: &OrganizationId) -> Option<OrganizationDetails> {
        let entries = self
            .entries
            .read()
            .expect("organization cache lock is never poisoned");
        entries
            .get(id)
            .filter(|(_, loaded_at)| loaded_at.elapsed() < self.ttl)
            .map(|(details, _)| details.clone())
    }

    pub fn put(&self, details: &OrganizationDetails) {
        if self.ttl.is_zero() {
            return;
        }
        self.entries
            .write()
            .expect("organization cache lock is never poisoned")
            .insert(
                details.organization.id.clone(),
                (details.clone(), Instant::now()),
            );
    }

    pub fn invalidate(&self, id: &OrganizationId) {
        self.entries
            .write()
            .expect("organization cache lock is never poisoned")
            .remove(id);
    }
}
