//! Jobs on SQLite. SQLite has one writer at a time, so a claim inside `BEGIN IMMEDIATE`
//! is already exclusive; the epoch check on every later write fences a worker whose
//! lease was taken over.

use super::data_rows;
use crate::StoreResult;
use dbplane_domain::Timestamp;
use dbplane_domain::jobs::{Job, JobId, JobKind};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// Inserts a job inside the caller's transaction.
pub(crate) async fn insert(
    transaction: &mut Transaction<'_, Sqlite>,
    job: &Job,
) -> StoreResult<()> {
    let now = Timestamp::now().unix_millis();
    sqlx::query(
        "INSERT INTO jobs (id, kind, subject_id, step, data, attempt, run_after, lease_epoch, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, 0, ?, 0, ?, ?)",
    )
    .bind(job.id.as_str())
    .bind(job.kind.as_str())
    .bind(&job.subject_id)
    .bind(&job.step)
    .bind(&job.data)
    .bind(job.run_after.unix_millis())
    .bind(now)
    .bind(now)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

pub(crate) async fn claim(
    pool: &SqlitePool,
    owner: &str,
    lease_millis: i64,
) -> StoreResult<Option<Job>> {
    let now = Timestamp::now().unix_millis();
    let mut transaction = pool.begin_with("BEGIN IMMEDIATE").await?;
    let row = sqlx::query(
        "SELECT id FROM jobs WHERE run_after <= ? AND (lease_expires_at IS NULL OR lease_expires_at <= ?) \
         ORDER BY run_after, created_at LIMIT 1",
    )
    .bind(now)
    .bind(now)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(row) = row else {
        transaction.commit().await?;
        return Ok(None);
    };
    let id: String = sqlx::Row::try_get(&row, "id")?;
    let claimed = sqlx::query(
        "UPDATE jobs SET lease_owner = ?, lease_expires_at = ?, lease_epoch = lease_epoch + 1, \
         attempt = attempt + 1, updated_at = ? WHERE id = ? RETURNING *",
    )
    .bind(owner)
    .bind(now + lease_millis)
    .bind(now)
    .bind(&id)
    .fetch_one(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Some(data_rows::job(&claimed)?))
}

pub(crate) async fn save_step(
    pool: &SqlitePool,
    job: &JobId,
    epoch: i64,
    step: &str,
    data: &str,
    lease_millis: i64,
) -> StoreResult<bool> {
    let now = Timestamp::now().unix_millis();
    // The next step starts at its first attempt: earlier failures were the last step's.
    let result = sqlx::query(
        "UPDATE jobs SET step = ?, data = ?, attempt = 1, lease_expires_at = ?, updated_at = ? \
         WHERE id = ? AND lease_epoch = ?",
    )
    .bind(step)
    .bind(data)
    .bind(now + lease_millis)
    .bind(now)
    .bind(job.as_str())
    .bind(epoch)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn complete(pool: &SqlitePool, job: &JobId, epoch: i64) -> StoreResult<bool> {
    let result = sqlx::query("DELETE FROM jobs WHERE id = ? AND lease_epoch = ?")
        .bind(job.as_str())
        .bind(epoch)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Completes a job inside the caller's transaction (when a job's last step is itself a
/// metadata change, the two commit together).
pub(crate) async fn complete_in(
    transaction: &mut Transaction<'_, Sqlite>,
    job: &JobId,
    epoch: i64,
) -> StoreResult<bool> {
    let result = sqlx::query("DELETE FROM jobs WHERE id = ? AND lease_epoch = ?")
        .bind(job.as_str())
        .bind(epoch)
        .execute(&mut **transaction)
        .await?;
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn retry(
    pool: &SqlitePool,
    job: &JobId,
    epoch: i64,
    error: &str,
    retry_at: Timestamp,
) -> StoreResult<bool> {
    release_until(pool, job, epoch, retry_at, Some(error)).await
}

/// Releases the lease until `run_at` without counting an attempt: the job is waiting
/// (for its turn, a window, a shutdown), not failing. The next claim is attempt 1.
pub(crate) async fn defer(
    pool: &SqlitePool,
    job: &JobId,
    epoch: i64,
    run_at: Timestamp,
) -> StoreResult<bool> {
    release_until(pool, job, epoch, run_at, None).await
}

/// Frees the lease until `run_at`; `failure` keeps the attempt count and records the
/// error, no failure resets both.
async fn release_until(
    pool: &SqlitePool,
    job: &JobId,
    epoch: i64,
    run_at: Timestamp,
    failure: Option<&str>,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE jobs SET attempt = CASE WHEN ?1 IS NULL THEN 0 ELSE attempt END, last_error = ?1, \
         run_after = ?2, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?3 \
         WHERE id = ?4 AND lease_epoch = ?5",
    )
    .bind(failure)
    .bind(run_at.unix_millis())
    .bind(Timestamp::now().unix_millis())
    .bind(job.as_str())
    .bind(epoch)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(crate) async fn release_all(pool: &SqlitePool) -> StoreResult<()> {
    sqlx::query("UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL")
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn pending(pool: &SqlitePool) -> StoreResult<Vec<Job>> {
    let rows = sqlx::query("SELECT * FROM jobs ORDER BY created_at")
        .fetch_all(pool)
        .await?;
    rows.iter().map(data_rows::job).collect()
}

/// When the next job can be claimed: due, and its lease (if any) expired. A leased job
/// counts at its lease's expiry, not at its past `run_after`: otherwise every idle worker
/// re-polled (a write transaction) every millisecond while any job ran.
pub(crate) async fn next_due(pool: &SqlitePool) -> StoreResult<Option<Timestamp>> {
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(MAX(run_after, COALESCE(lease_expires_at, run_after))) FROM jobs",
    )
    .fetch_one(pool)
    .await?;
    Ok(next.map(Timestamp::from_unix_millis))
}

pub(crate) async fn exists(
    pool: &SqlitePool,
    kind: JobKind,
    subject_id: &str,
) -> StoreResult<bool> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = ? AND subject_id = ?")
            .bind(kind.as_str())
            .bind(subject_id)
            .fetch_one(pool)
            .await?;
    Ok(count > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::SqliteStore;

    /// A store (in a temporary directory, kept while the guard lives) holding one job.
    async fn store_with_a_job() -> (tempfile::TempDir, SqliteStore, Job) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let job = Job::new(JobKind::CreateBranch, "b1", "first", "{}".into());
        let mut transaction = store.pool.begin().await.unwrap();
        insert(&mut transaction, &job).await.unwrap();
        transaction.commit().await.unwrap();
        (dir, store, job)
    }

    #[tokio::test]
    async fn a_running_job_is_next_due_when_its_lease_expires() {
        let (_dir, store, _job) = store_with_a_job().await;
        let pool = &store.pool;
        let before = Timestamp::now().unix_millis();
        assert!(next_due(pool).await.unwrap().unwrap().unix_millis() <= before);

        claim(pool, "w", 60_000).await.unwrap().unwrap();
        let due = next_due(pool).await.unwrap().unwrap().unix_millis();
        assert!(due >= before + 60_000, "due at the lease's expiry, not now");
    }

    /// `attempt` counts the tries of the current step: failures raise it, a committed
    /// step starts the next at 1, and waiting never counts (a deployment that polls for
    /// an hour must not back off like one that failed for an hour).
    #[tokio::test]
    async fn attempts_count_failures_of_the_current_step_only() {
        let (_dir, store, job) = store_with_a_job().await;
        let pool = &store.pool;

        let claimed = claim(pool, "w", 60_000).await.unwrap().unwrap();
        assert_eq!(claimed.attempt, 1);
        let now = Timestamp::now();
        assert!(
            retry(pool, &job.id, claimed.lease_epoch, "boom", now)
                .await
                .unwrap()
        );
        let claimed = claim(pool, "w", 60_000).await.unwrap().unwrap();
        assert_eq!(claimed.attempt, 2, "a failure counts");
        assert_eq!(claimed.last_error.as_deref(), Some("boom"));

        assert!(
            save_step(pool, &job.id, claimed.lease_epoch, "second", "{}", 60_000)
                .await
                .unwrap()
        );
        assert!(
            defer(pool, &job.id, claimed.lease_epoch, now)
                .await
                .unwrap()
        );
        for _ in 0..3 {
            let claimed = claim(pool, "w", 60_000).await.unwrap().unwrap();
            assert_eq!(claimed.attempt, 1, "waiting does not count");
            assert_eq!(claimed.last_error, None);
            assert!(
                defer(pool, &job.id, claimed.lease_epoch, now)
                    .await
                    .unwrap()
            );
        }
        let claimed = claim(pool, "w", 60_000).await.unwrap().unwrap();
        assert!(
            !defer(pool, &job.id, claimed.lease_epoch - 1, now)
                .await
                .unwrap(),
            "fenced"
        );
    }
}
