//! Jobs on SQLite. SQLite has one writer at a time, so a claim inside `BEGIN IMMEDIATE`
//! is already exclusive; the epoch check on every later write fences a worker whose
//! lease was taken over.

use super::{SqliteStore, data_rows};
use crate::{JobStore, StoreResult};
use async_trait::async_trait;
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

/// `kinds` as `,a,b,`: `instr(list, ',' || kind || ',')` is then both the filter (> 0)
/// and the order of preference, in one bound parameter.
fn kind_list(kinds: &[JobKind]) -> String {
    let mut list = String::from(",");
    for kind in kinds {
        list.push_str(kind.as_str());
        list.push(',');
    }
    list
}

async fn claim(
    pool: &SqlitePool,
    owner: &str,
    lease_millis: i64,
    kinds: &[JobKind],
) -> StoreResult<Option<Job>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let now = Timestamp::now().unix_millis();
    let mut transaction = pool.begin_with("BEGIN IMMEDIATE").await?;
    let row = sqlx::query(
        "SELECT id FROM jobs WHERE given_up_at IS NULL AND run_after <= ?1 \
         AND (lease_expires_at IS NULL OR lease_expires_at <= ?1) \
         AND instr(?2, ',' || kind || ',') > 0 \
         ORDER BY instr(?2, ',' || kind || ','), run_after, created_at LIMIT 1",
    )
    .bind(now)
    .bind(kind_list(kinds))
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

async fn renew(pool: &SqlitePool, job: &JobId, epoch: i64, lease_millis: i64) -> StoreResult<bool> {
    let now = Timestamp::now().unix_millis();
    let result = sqlx::query(
        "UPDATE jobs SET lease_expires_at = ?, updated_at = ? \
         WHERE id = ? AND lease_epoch = ? AND given_up_at IS NULL",
    )
    .bind(now + lease_millis)
    .bind(now)
    .bind(job.as_str())
    .bind(epoch)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

async fn save_step(
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

/// Frees the lease until `run_at`; `failure` keeps the attempt count and records the
/// error, no failure resets both (the job is waiting, not failing: the next claim is
/// attempt 1).
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

async fn give_up(pool: &SqlitePool, job: &JobId, epoch: i64, error: &str) -> StoreResult<bool> {
    let now = Timestamp::now().unix_millis();
    let result = sqlx::query(
        "UPDATE jobs SET given_up_at = ?1, last_error = ?2, lease_owner = NULL, \
         lease_expires_at = NULL, updated_at = ?1 WHERE id = ?3 AND lease_epoch = ?4",
    )
    .bind(now)
    .bind(error)
    .bind(job.as_str())
    .bind(epoch)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// When the next job can be claimed: due, and its lease (if any) expired. A leased job
/// counts at its lease's expiry, not at its past `run_after`: otherwise every idle worker
/// re-polled (a write transaction) every millisecond while any job ran.
async fn next_due(pool: &SqlitePool, kinds: &[JobKind]) -> StoreResult<Option<Timestamp>> {
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(MAX(run_after, COALESCE(lease_expires_at, run_after))) FROM jobs \
         WHERE given_up_at IS NULL AND instr(?, ',' || kind || ',') > 0",
    )
    .bind(kind_list(kinds))
    .fetch_one(pool)
    .await?;
    Ok(next.map(Timestamp::from_unix_millis))
}

async fn queued_by_kind(pool: &SqlitePool) -> StoreResult<Vec<(JobKind, u64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, COUNT(*) FROM jobs WHERE given_up_at IS NULL AND run_after <= ?1 \
         AND (lease_expires_at IS NULL OR lease_expires_at <= ?1) GROUP BY kind",
    )
    .bind(Timestamp::now().unix_millis())
    .fetch_all(pool)
    .await?;
    // A kind this version does not know (written by a newer one) is left out.
    Ok(rows
        .into_iter()
        .filter_map(|(kind, count)| Some((JobKind::parse(&kind)?, count as u64)))
        .collect())
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue_job(&self, job: &Job) -> StoreResult<()> {
        let mut transaction = self.pool.begin().await?;
        insert(&mut transaction, job).await?;
        transaction.commit().await?;
        Ok(())
    }
    async fn claim_job(
        &self,
        owner: &str,
        lease_millis: i64,
        kinds: &[JobKind],
    ) -> StoreResult<Option<Job>> {
        claim(&self.pool, owner, lease_millis, kinds).await
    }
    async fn renew_job_lease(
        &self,
        job: &JobId,
        epoch: i64,
        lease_millis: i64,
    ) -> StoreResult<bool> {
        renew(&self.pool, job, epoch, lease_millis).await
    }
    async fn save_job_step(
        &self,
        job: &JobId,
        epoch: i64,
        step: &str,
        data: &str,
        lease_millis: i64,
    ) -> StoreResult<bool> {
        save_step(&self.pool, job, epoch, step, data, lease_millis).await
    }
    async fn complete_job(&self, job: &JobId, epoch: i64) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM jobs WHERE id = ? AND lease_epoch = ?")
            .bind(job.as_str())
            .bind(epoch)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }
    async fn retry_job(
        &self,
        job: &JobId,
        epoch: i64,
        error: &str,
        retry_at: Timestamp,
    ) -> StoreResult<bool> {
        release_until(&self.pool, job, epoch, retry_at, Some(error)).await
    }
    async fn defer_job(&self, job: &JobId, epoch: i64, run_at: Timestamp) -> StoreResult<bool> {
        release_until(&self.pool, job, epoch, run_at, None).await
    }
    async fn give_up_job(&self, job: &JobId, epoch: i64, error: &str) -> StoreResult<bool> {
        give_up(&self.pool, job, epoch, error).await
    }
    async fn release_all_leases(&self) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn pending_jobs(&self) -> StoreResult<Vec<Job>> {
        let rows = sqlx::query("SELECT * FROM jobs ORDER BY created_at")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(data_rows::job).collect()
    }
    async fn next_job_due(&self, kinds: &[JobKind]) -> StoreResult<Option<Timestamp>> {
        next_due(&self.pool, kinds).await
    }
    async fn has_job(&self, kind: JobKind, subject_id: &str) -> StoreResult<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = ? AND subject_id = ? AND given_up_at IS NULL",
        )
        .bind(kind.as_str())
        .bind(subject_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }
    async fn queued_jobs_by_kind(&self) -> StoreResult<Vec<(JobKind, u64)>> {
        queued_by_kind(&self.pool).await
    }
}
