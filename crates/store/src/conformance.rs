//! The store test suite, written once against the [`MetadataStore`] traits so that every
//! backend runs the same checks. A backend implements [`TestBackend`] (a fresh, empty
//! store it can open again after closing it) and expands [`store_conformance_suite!`]
//! with it inside a test module: each check becomes one `#[tokio::test]`.
//!
//! Compiled for this crate's tests and, with the `conformance` feature, for another
//! crate's (a Postgres backend's) tests.

pub mod backups;
pub mod data_plane;
pub mod jobs;
pub mod read_model;
pub mod tenants;

use crate::MetadataStore;
use async_trait::async_trait;

/// A store backend under test.
#[async_trait]
pub trait TestBackend: Sized + Send + Sync + 'static {
    type Store: MetadataStore;

    /// A place for a new, empty store (a temporary directory, a scratch database), kept
    /// while the value lives.
    async fn create() -> Self;
    /// Opens the store (migrating it); again after [`TestBackend::close`], the same one.
    async fn open(&self) -> Self::Store;
    /// Closes the store as a server shutting down would.
    async fn close(&self, store: Self::Store);
}

/// Expands to one `#[tokio::test]` per check of the suite, run against `$backend` (a
/// [`TestBackend`]). The caller's crate needs `tokio` (with its `macros` feature).
#[macro_export]
macro_rules! store_conformance_suite {
    ($backend:ty) => {
        $crate::store_conformance_suite!(@checks $backend;
            tenants::bootstrap_is_idempotent_and_survives_reopen,
            tenants::tokens_and_grants_round_trip,
            backups::databases_get_required_default_policies_that_run_once,
            backups::a_run_due_while_the_last_one_works_is_recorded_as_ignored,
            backups::the_reaper_takes_expired_unprotected_backups_only,
            data_plane::database_notes_round_trip,
            data_plane::branch_updates_write_every_changeable_field,
            jobs::a_running_job_is_next_due_when_its_lease_expires,
            jobs::attempts_count_failures_of_the_current_step_only,
            jobs::claims_take_the_preferred_kind_first_and_only_listed_kinds,
            jobs::a_lease_is_renewed_only_by_its_holder,
            jobs::a_given_up_job_is_kept_but_never_claimed,
            jobs::queued_jobs_are_counted_by_kind,
            jobs::jobs_survive_a_reopen,
            read_model::summaries_read_stored_table_counts,
            read_model::stale_deploy_requests_are_open_checked_before_and_oldest_first,
        );
    };
    (@checks $backend:ty; $($module:ident :: $check:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $check() {
                $crate::conformance::$module::$check::<$backend>().await;
            }
        )*
    };
}
