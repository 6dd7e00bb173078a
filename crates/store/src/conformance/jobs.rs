//! Durable jobs: claims, leases and their fencing epochs, attempts, giving up.

use super::TestBackend;
use crate::prelude::*;
use dbplane_domain::Timestamp;
use dbplane_domain::jobs::{Job, JobKind};

const LEASE: i64 = 60_000;

/// A fresh store holding `jobs`.
async fn store_with<B: TestBackend>(jobs: &[Job]) -> (B, B::Store) {
    let backend = B::create().await;
    let store = backend.open().await;
    for job in jobs {
        store.enqueue_job(job).await.unwrap();
    }
    (backend, store)
}

fn job(kind: JobKind, subject: &str) -> Job {
    Job::new(kind, subject, kind.steps()[0], "{}".into())
}

/// A leased job counts at its lease's expiry, not at its past `run_after`: idle workers
/// sleep until then instead of polling while it runs.
pub async fn a_running_job_is_next_due_when_its_lease_expires<B: TestBackend>() {
    let (_backend, store) = store_with::<B>(&[job(JobKind::CreateBranch, "b1")]).await;
    let kinds = JobKind::ALL;
    let before = Timestamp::now().unix_millis();
    let due = store.next_job_due(kinds).await.unwrap().unwrap();
    assert!(due.unix_millis() <= before);
    assert_eq!(
        store.next_job_due(&[JobKind::RunBackup]).await.unwrap(),
        None,
        "only the listed kinds"
    );

    store.claim_job("w", LEASE, kinds).await.unwrap().unwrap();
    let due = store.next_job_due(kinds).await.unwrap().unwrap();
    assert!(
        due.unix_millis() >= before + LEASE,
        "due at the lease's expiry, not now"
    );
}

/// `attempt` counts the tries of the current step: failures raise it, a committed step
/// starts the next at 1, and waiting never counts (a deployment that polls for an hour
/// must not back off like one that failed for an hour).
pub async fn attempts_count_failures_of_the_current_step_only<B: TestBackend>() {
    let first = job(JobKind::CreateBranch, "b1");
    let (_backend, store) = store_with::<B>(std::slice::from_ref(&first)).await;
    let kinds = JobKind::ALL;
    let id = &first.id;

    let claimed = store.claim_job("w", LEASE, kinds).await.unwrap().unwrap();
    assert_eq!(claimed.attempt, 1);
    let now = Timestamp::now();
    assert!(
        store
            .retry_job(id, claimed.lease_epoch, "boom", now)
            .await
            .unwrap()
    );
    let claimed = store.claim_job("w", LEASE, kinds).await.unwrap().unwrap();
    assert_eq!(claimed.attempt, 2, "a failure counts");
    assert_eq!(claimed.last_error.as_deref(), Some("boom"));

    assert!(
        store
            .save_job_step(id, claimed.lease_epoch, "copy_schema", "{}", LEASE)
            .await
            .unwrap()
    );
    assert!(store.defer_job(id, claimed.lease_epoch, now).await.unwrap());
    for _ in 0..3 {
        let claimed = store.claim_job("w", LEASE, kinds).await.unwrap().unwrap();
        assert_eq!(claimed.step, "copy_schema");
        assert_eq!(claimed.attempt, 1, "waiting does not count");
        assert_eq!(claimed.last_error, None);
        assert!(store.defer_job(id, claimed.lease_epoch, now).await.unwrap());
    }
    let claimed = store.claim_job("w", LEASE, kinds).await.unwrap().unwrap();
    assert!(
        !store
            .defer_job(id, claimed.lease_epoch - 1, now)
            .await
            .unwrap(),
        "fenced"
    );
}

/// The runner's fairness rests on this: the first listed kind with a due job wins over
/// older jobs of later kinds, and unlisted kinds (at their limit) are never claimed.
pub async fn claims_take_the_preferred_kind_first_and_only_listed_kinds<B: TestBackend>() {
    let backups: Vec<Job> = (0..3)
        .map(|n| job(JobKind::RunBackup, &format!("backup{n}")))
        .collect();
    let branch = job(JobKind::CreateBranch, "b1");
    let mut all = backups.clone();
    all.push(branch.clone());
    let (_backend, store) = store_with::<B>(&all).await;

    assert!(store.claim_job("w", LEASE, &[]).await.unwrap().is_none());
    let preferred = [JobKind::CreateBranch, JobKind::RunBackup];
    let claimed = store
        .claim_job("w", LEASE, &preferred)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, branch.id, "the preferred kind, though younger");
    let claimed = store
        .claim_job("w", LEASE, &preferred)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        claimed.id, backups[0].id,
        "then the oldest of the next kind"
    );
    assert!(
        store
            .claim_job("w", LEASE, &[JobKind::CreateBranch, JobKind::DeleteBranch])
            .await
            .unwrap()
            .is_none(),
        "backups are not listed"
    );
}

/// Only the holder of the current epoch renews a lease; a claim after expiry fences the
/// old holder out of every write.
pub async fn a_lease_is_renewed_only_by_its_holder<B: TestBackend>() {
    let first = job(JobKind::RunBackup, "backup");
    let (_backend, store) = store_with::<B>(std::slice::from_ref(&first)).await;
    let kinds = JobKind::ALL;
    let id = &first.id;

    let old = store.claim_job("a", 1, kinds).await.unwrap().unwrap();
    // A 1 ms lease: poll until it has expired and another worker can take the job.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let new = loop {
        if let Some(job) = store.claim_job("b", LEASE, kinds).await.unwrap() {
            break job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lease never expired"
        );
        tokio::task::yield_now().await;
    };
    assert!(new.lease_epoch > old.lease_epoch);
    assert!(
        !store
            .renew_job_lease(id, old.lease_epoch, LEASE)
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_job_step(id, old.lease_epoch, "dump", "{}", LEASE)
            .await
            .unwrap()
    );
    assert!(!store.complete_job(id, old.lease_epoch).await.unwrap());
    assert!(
        store
            .renew_job_lease(id, new.lease_epoch, LEASE)
            .await
            .unwrap()
    );
    let due = store.next_job_due(kinds).await.unwrap().unwrap();
    assert!(due.unix_millis() > Timestamp::now().unix_millis() + LEASE / 2);
}

/// A job given up keeps its error for an operator, is never claimed again and no longer
/// counts as work on its subject.
pub async fn a_given_up_job_is_kept_but_never_claimed<B: TestBackend>() {
    let first = job(JobKind::DeleteBranch, "b1");
    let (_backend, store) = store_with::<B>(std::slice::from_ref(&first)).await;
    let kinds = JobKind::ALL;
    let claimed = store.claim_job("w", LEASE, kinds).await.unwrap().unwrap();
    assert!(
        !store
            .give_up_job(&first.id, claimed.lease_epoch - 1, "nope")
            .await
            .unwrap(),
        "fenced"
    );
    assert!(
        store
            .give_up_job(&first.id, claimed.lease_epoch, "the server refused")
            .await
            .unwrap()
    );
    assert!(store.claim_job("w", 0, kinds).await.unwrap().is_none());
    assert_eq!(store.next_job_due(kinds).await.unwrap(), None);
    assert!(!store.has_job(JobKind::DeleteBranch, "b1").await.unwrap());
    let kept = store.pending_jobs().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].given_up_at.is_some());
    assert_eq!(kept[0].last_error.as_deref(), Some("the server refused"));
}

/// Queued means waiting for a worker now: not running, not due later, not given up.
pub async fn queued_jobs_are_counted_by_kind<B: TestBackend>() {
    let later = Timestamp::now().plus_seconds(3600);
    let jobs = [
        job(JobKind::RunBackup, "a"),
        job(JobKind::RunBackup, "b"),
        job(JobKind::RunBackup, "c"),
        job(JobKind::CreateBranch, "d"),
        job(JobKind::CreateBranch, "e").due_at(later),
    ];
    let (_backend, store) = store_with::<B>(&jobs).await;
    store
        .claim_job("w", LEASE, &[JobKind::RunBackup])
        .await
        .unwrap()
        .unwrap();
    let mut queued = store.queued_jobs_by_kind().await.unwrap();
    queued.sort_by_key(|(kind, _)| kind.as_str());
    assert_eq!(
        queued,
        vec![(JobKind::CreateBranch, 1), (JobKind::RunBackup, 2)]
    );
}

/// A committed step is there after the store is closed and opened again.
pub async fn jobs_survive_a_reopen<B: TestBackend>() {
    let first = job(JobKind::CreateBranch, "b1");
    let (backend, store) = store_with::<B>(std::slice::from_ref(&first)).await;
    let claimed = store
        .claim_job("w", LEASE, JobKind::ALL)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .save_job_step(
                &first.id,
                claimed.lease_epoch,
                "copy_schema",
                "{\"n\":1}",
                LEASE
            )
            .await
            .unwrap()
    );
    backend.close(store).await;
    let store = backend.open().await;
    let jobs = store.pending_jobs().await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].step, "copy_schema");
    assert_eq!(jobs[0].data, "{\"n\":1}");
}
