//! The jobs this runner is running, per kind: which kinds a worker may claim next (those
//! under their limit, the least busy first, so a burst of one kind cannot starve the
//! others) and a slot per running job that frees itself when dropped.

use crate::metrics;
use dbplane_domain::jobs::JobKind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

/// Running jobs by kind, and the limits they are held to.
pub(crate) struct Running {
    counts: Mutex<HashMap<JobKind, usize>>,
    limits: HashMap<JobKind, usize>,
    /// Wakes idle workers when a slot frees (a kind at its limit may be claimed again).
    freed: Arc<Notify>,
}

impl Running {
    pub(crate) fn new(limits: HashMap<JobKind, usize>, freed: Arc<Notify>) -> Self {
        Self {
            counts: Mutex::new(HashMap::new()),
            limits,
            freed,
        }
    }

    /// The kinds a worker may claim now, in order of preference: fewest running first,
    /// ties in [`JobKind::ALL`] order; kinds at their limit are left out.
    pub(crate) fn claimable(&self) -> Vec<JobKind> {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut kinds: Vec<(usize, usize, JobKind)> = JobKind::ALL
            .iter()
            .enumerate()
            .map(|(order, kind)| (counts.get(kind).copied().unwrap_or(0), order, *kind))
            .filter(|(count, _, kind)| self.limits.get(kind).is_none_or(|limit| count < limit))
            .collect();
        kinds.sort_by_key(|(count, order, _)| (*count, *order));
        kinds.into_iter().map(|(_, _, kind)| kind).collect()
    }

    /// Counts a claimed job until the returned slot is dropped.
    pub(crate) fn start(self: &Arc<Self>, kind: JobKind) -> Slot {
        self.add(kind, 1);
        Slot {
            running: self.clone(),
            kind,
        }
    }

    fn add(&self, kind: JobKind, delta: isize) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(kind).or_insert(0);
        *count = count.saturating_add_signed(delta);
        metrics::running(kind, *count);
    }
}

/// One running job; dropping it frees its place.
pub(crate) struct Slot {
    running: Arc<Running>,
    kind: JobKind,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.running.add(self.kind, -1);
        self.running.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_busy_kinds_come_first_and_full_ones_not_at_all() {
        let limits = HashMap::from([(JobKind::RunBackup, 2)]);
        let running = Arc::new(Running::new(limits, Arc::default()));
        assert_eq!(running.claimable(), JobKind::ALL.to_vec());

        let first = running.start(JobKind::RunBackup);
        let claimable = running.claimable();
        assert_eq!(claimable.last(), Some(&JobKind::RunBackup), "busiest last");

        let second = running.start(JobKind::RunBackup);
        assert!(
            !running.claimable().contains(&JobKind::RunBackup),
            "at its limit"
        );

        drop((first, second));
        assert_eq!(running.claimable(), JobKind::ALL.to_vec());
    }
}
