//! Deploy requests, reviews and throttlers on SQLite.

use super::{SqliteStore, jobs};
use crate::deploys::DeployRequestFilter;
use crate::{DeployStore, Page, StoreError, StoreResult, Window};
use async_trait::async_trait;
use dbplane_domain::data_plane::BranchId;
use dbplane_domain::deploys::{
    DeployRequest, DeployRequestId, DeployRequestState, DeployReview, DeployReviewId,
    DeploymentState, ReviewState,
};
use dbplane_domain::jobs::{Job, JobId};
use dbplane_domain::{DatabaseId, ServiceTokenId, Timestamp, UserId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use std::collections::HashSet;

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        entity: "deploy request",
        detail,
    }
}

fn fork_corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        entity: "branch fork schema",
        detail,
    }
}

fn optional_time(row: &SqliteRow, column: &str) -> StoreResult<Option<Timestamp>> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .map(Timestamp::from_unix_millis))
}

fn user(row: &SqliteRow, column: &str) -> StoreResult<Option<UserId>> {
    Ok(row
        .try_get::<Option<String>, _>(column)?
        .map(UserId::from_string))
}

fn request(row: &SqliteRow) -> StoreResult<DeployRequest> {
    let state: String = row.try_get("state")?;
    let deployment: String = row.try_get("deployment")?;
    Ok(DeployRequest {
        id: DeployRequestId::from_string(row.try_get::<String, _>("id")?),
        database_id: DatabaseId::from_string(row.try_get::<String, _>("database_id")?),
        number: row.try_get::<i64, _>("number")?.max(0) as u64,
        branch_id: BranchId::from_string(row.try_get::<String, _>("branch_id")?),
        into_branch_id: BranchId::from_string(row.try_get::<String, _>("into_branch_id")?),
        branch_name: row.try_get("branch_name")?,
        into_branch_name: row.try_get("into_branch_name")?,
        notes: row.try_get("notes")?,
        actor: user(row, "actor_id")?,
        created_by_token: row
            .try_get::<Option<String>, _>("created_by_token")?
            .map(ServiceTokenId::from_string),
        state: DeployRequestState::parse(&state)
            .ok_or_else(|| corrupt(format!("state {state}")))?,
        closed_by: user(row, "closed_by")?,
        closed_at: optional_time(row, "closed_at")?,
        deployed_at: optional_time(row, "deployed_at")?,
        branch_deleted_by: user(row, "branch_deleted_by")?,
        branch_deleted_at: optional_time(row, "branch_deleted_at")?,
        deployment: serde_json::from_str(&deployment)
            .map_err(|e| corrupt(format!("deployment: {e}")))?,
        version: row.try_get("version")?,
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_millis(row.try_get("updated_at")?),
    })
}

fn review(row: &SqliteRow) -> StoreResult<DeployReview> {
    let state: String = row.try_get("state")?;
    Ok(DeployReview {
        id: DeployReviewId::from_string(row.try_get::<String, _>("id")?),
        deploy_request_id: DeployRequestId::from_string(
            row.try_get::<String, _>("deploy_request_id")?,
        ),
        actor: user(row, "actor_id")?,
        token: row
            .try_get::<Option<String>, _>("token_id")?
            .map(ServiceTokenId::from_string),
        state: ReviewState::parse(&state).ok_or_else(|| corrupt(format!("review {state}")))?,
        body: row.try_get("body")?,
        dismissed_at: optional_time(row, "dismissed_at")?,
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
    })
}

fn deployment_json(request: &DeployRequest) -> StoreResult<String> {
    serde_json::to_string(&request.deployment).map_err(|e| corrupt(format!("encode: {e}")))
}

fn user_text(user: &Option<UserId>) -> Option<String> {
    user.as_ref().map(|u| u.as_str().to_string())
}

/// States the queue query reads (the caller filters acknowledged failures out).
const QUEUE_STATES: &[DeploymentState] = &[
    DeploymentState::Queued,
    DeploymentState::Submitting,
    DeploymentState::InProgress,
    DeploymentState::PendingCutover,
    DeploymentState::InProgressVschema,
    DeploymentState::InProgressCancel,
    DeploymentState::InProgressCutover,
    DeploymentState::CompletePendingRevert,
    DeploymentState::InProgressRevert,
    DeploymentState::InProgressRevertVschema,
    DeploymentState::CompleteError,
    DeploymentState::CompleteRevertError,
];

#[async_trait]
impl DeployStore for SqliteStore {
    async fn create_deploy_request(
        &self,
        request: &mut DeployRequest,
        new_jobs: &[Job],
    ) -> StoreResult<()> {
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(number) FROM deploy_requests WHERE database_id = ?")
                .bind(request.database_id.as_str())
                .fetch_one(&mut *transaction)
                .await?;
        request.number = last.unwrap_or(0).max(0) as u64 + 1;
        sqlx::query(
            "INSERT INTO deploy_requests (id, database_id, number, branch_id, into_branch_id, branch_name, \
             into_branch_name, notes, actor_id, created_by_token, state, deployment_state, queued_at, closed_by, \
             closed_at, deployed_at, branch_deleted_by, branch_deleted_at, deployment, version, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(request.id.as_str())
        .bind(request.database_id.as_str())
        .bind(request.number as i64)
        .bind(request.branch_id.as_str())
        .bind(request.into_branch_id.as_str())
        .bind(&request.branch_name)
        .bind(&request.into_branch_name)
        .bind(&request.notes)
        .bind(user_text(&request.actor))
        .bind(request.created_by_token.as_ref().map(|t| t.as_str().to_string()))
        .bind(request.state.as_str())
        .bind(request.deployment.state.as_str())
        .bind(request.deployment.queued_at.map(Timestamp::unix_millis))
        .bind(user_text(&request.closed_by))
        .bind(request.closed_at.map(Timestamp::unix_millis))
        .bind(request.deployed_at.map(Timestamp::unix_millis))
        .bind(user_text(&request.branch_deleted_by))
        .bind(request.branch_deleted_at.map(Timestamp::unix_millis))
        .bind(deployment_json(request)?)
        .bind(request.version)
        .bind(request.created_at.unix_millis())
        .bind(request.updated_at.unix_millis())
        .execute(&mut *transaction)
        .await
        .map_err(|e| StoreError::from_write("deploy request", e))?;
        for job in new_jobs {
            jobs::insert(&mut transaction, job).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn deploy_request(
        &self,
        database: &DatabaseId,
        number: u64,
    ) -> StoreResult<Option<DeployRequest>> {
        sqlx::query("SELECT * FROM deploy_requests WHERE database_id = ? AND number = ?")
            .bind(database.as_str())
            .bind(number as i64)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(request)
            .transpose()
    }

    async fn deploy_request_by_id(
        &self,
        id: &DeployRequestId,
    ) -> StoreResult<Option<DeployRequest>> {
        sqlx::query("SELECT * FROM deploy_requests WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(request)
            .transpose()
    }

    async fn list_deploy_requests(
        &self,
        database: &DatabaseId,
        filter: &DeployRequestFilter,
        window: Window,
    ) -> StoreResult<Page<DeployRequest>> {
        let where_clause = "database_id = ? AND (? IS NULL OR state = ?) \
             AND (? = 0 OR deployment_state = 'complete') \
             AND (? IS NULL OR branch_id = ?) AND (? IS NULL OR into_branch_id = ?)";
        let state = filter.state.map(|s| s.as_str());
        let branch = filter.branch.as_ref().map(|b| b.as_str().to_string());
        let into = filter.into_branch.as_ref().map(|b| b.as_str().to_string());
        // Audited: the fragments are constants of this function; values are bound.
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM deploy_requests WHERE {where_clause}"
        )))
        .bind(database.as_str())
        .bind(state)
        .bind(state)
        .bind(filter.deployed)
        .bind(&branch)
        .bind(&branch)
        .bind(&into)
        .bind(&into)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM deploy_requests WHERE {where_clause} ORDER BY number DESC LIMIT ? OFFSET ?"
        )))
        .bind(database.as_str())
        .bind(state)
        .bind(state)
        .bind(filter.deployed)
        .bind(&branch)
        .bind(&branch)
        .bind(&into)
        .bind(&into)
        .bind(window.limit as i64)
        .bind(window.offset as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows.iter().map(request).collect::<StoreResult<_>>()?,
            total: total.max(0) as u64,
        })
    }

    async fn latest_deploy_request(
        &self,
        database: &DatabaseId,
    ) -> StoreResult<Option<DeployRequest>> {
        sqlx::query(
            "SELECT * FROM deploy_requests WHERE database_id = ? ORDER BY number DESC LIMIT 1",
        )
        .bind(database.as_str())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(request)
        .transpose()
    }

    async fn save_deploy_request(
        &self,
        request: &mut DeployRequest,
        new_jobs: &[Job],
        finish: Option<(&JobId, i64)>,
    ) -> StoreResult<bool> {
        let now = Timestamp::now();
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let updated = sqlx::query(
            "UPDATE deploy_requests SET branch_name = ?, into_branch_name = ?, notes = ?, state = ?, \
             deployment_state = ?, queued_at = ?, closed_by = ?, closed_at = ?, deployed_at = ?, \
             branch_deleted_by = ?, branch_deleted_at = ?, deployment = ?, version = version + 1, updated_at = ? \
             WHERE id = ? AND version = ?",
        )
        .bind(&request.branch_name)
        .bind(&request.into_branch_name)
        .bind(&request.notes)
        .bind(request.state.as_str())
        .bind(request.deployment.state.as_str())
        .bind(request.deployment.queued_at.map(Timestamp::unix_millis))
        .bind(user_text(&request.closed_by))
        .bind(request.closed_at.map(Timestamp::unix_millis))
        .bind(request.deployed_at.map(Timestamp::unix_millis))
        .bind(user_text(&request.branch_deleted_by))
        .bind(request.branch_deleted_at.map(Timestamp::unix_millis))
        .bind(deployment_json(request)?)
        .bind(now.unix_millis())
        .bind(request.id.as_str())
        .bind(request.version)
        .execute(&mut *transaction)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some((job, epoch)) = finish
            && !jobs::complete_in(&mut transaction, job, epoch).await?
        {
            return Ok(false);
        }
        for job in new_jobs {
            jobs::insert(&mut transaction, job).await?;
        }
        transaction.commit().await?;
        request.version += 1;
        request.updated_at = now;
        Ok(true)
    }

    async fn deploy_queue(&self, database: &DatabaseId) -> StoreResult<Vec<DeployRequest>> {
        let placeholders = vec!["?"; QUEUE_STATES.len()].join(", ");
        // Audited: only placeholders are formatted in; values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM deploy_requests WHERE database_id = ? AND deployment_state IN ({placeholders}) \
             ORDER BY queued_at, number"
        )))
        .bind(database.as_str());
        for state in QUEUE_STATES {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(request).collect()
    }

    async fn stale_deploy_requests(
        &self,
        states: &[DeploymentState],
        checked_before: Timestamp,
        limit: u64,
    ) -> StoreResult<Vec<DeployRequest>> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; states.len()].join(", ");
        // The check time lives in the deployment document; open requests in these states
        // are few, so reading it there beats keeping a copy in a column in step.
        // Audited: only placeholders are formatted in; values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM (SELECT *, COALESCE(json_extract(deployment, '$.schema_last_updated_at'), 0) \
             AS checked_at FROM deploy_requests WHERE state = 'open' AND deployment_state IN ({placeholders})) \
             WHERE checked_at < ? ORDER BY checked_at, id LIMIT ?"
        )));
        for state in states {
            query = query.bind(state.as_str());
        }
        let rows = query
            .bind(checked_before.unix_millis())
            .bind(limit.min(i64::MAX as u64) as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(request).collect()
    }

    async fn insert_review(&self, review: &DeployReview) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO deploy_request_reviews (id, deploy_request_id, actor_id, token_id, state, body, \
             dismissed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(review.id.as_str())
        .bind(review.deploy_request_id.as_str())
        .bind(user_text(&review.actor))
        .bind(review.token.as_ref().map(|t| t.as_str().to_string()))
        .bind(review.state.as_str())
        .bind(&review.body)
        .bind(review.dismissed_at.map(Timestamp::unix_millis))
        .bind(review.created_at.unix_millis())
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_write("review", e))?;
        Ok(())
    }

    async fn list_reviews(
        &self,
        request: &DeployRequestId,
        window: Window,
    ) -> StoreResult<Page<DeployReview>> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM deploy_request_reviews WHERE deploy_request_id = ?",
        )
        .bind(request.as_str())
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT * FROM deploy_request_reviews WHERE deploy_request_id = ? \
             ORDER BY created_at, id LIMIT ? OFFSET ?",
        )
        .bind(request.as_str())
        .bind(window.limit as i64)
        .bind(window.offset as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows.iter().map(review).collect::<StoreResult<_>>()?,
            total: total.max(0) as u64,
        })
    }

    async fn has_standing_approval(&self, request: &DeployRequestId) -> StoreResult<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM deploy_request_reviews WHERE deploy_request_id = ? \
             AND state = 'approved' AND dismissed_at IS NULL",
        )
        .bind(request.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }

    async fn standing_approvals(
        &self,
        requests: &[DeployRequestId],
    ) -> StoreResult<HashSet<DeployRequestId>> {
        let mut approved = HashSet::new();
        for chunk in requests.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            // Audited: only placeholders are formatted in; values are bound.
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                "SELECT DISTINCT deploy_request_id FROM deploy_request_reviews \
                 WHERE deploy_request_id IN ({placeholders}) AND state = 'approved' \
                 AND dismissed_at IS NULL"
            )));
            for id in chunk {
                query = query.bind(id.as_str());
            }
            approved.extend(
                query
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(DeployRequestId::from_string),
            );
        }
        Ok(approved)
    }

    async fn dismiss_approvals(&self, request: &DeployRequestId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE deploy_request_reviews SET dismissed_at = ? WHERE deploy_request_id = ? \
             AND state = 'approved' AND dismissed_at IS NULL",
        )
        .bind(Timestamp::now().unix_millis())
        .bind(request.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn database_throttle_ratio(&self, database: &DatabaseId) -> StoreResult<Option<u8>> {
        let ratio: Option<i64> =
            sqlx::query_scalar("SELECT ratio FROM deploy_throttlers WHERE database_id = ?")
                .bind(database.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(ratio.map(|r| r.clamp(0, 95) as u8))
    }

    async fn set_database_throttle_ratio(
        &self,
        database: &DatabaseId,
        ratio: u8,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO deploy_throttlers (database_id, ratio, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (database_id) DO UPDATE SET ratio = excluded.ratio, updated_at = excluded.updated_at",
        )
        .bind(database.as_str())
        .bind(ratio as i64)
        .bind(Timestamp::now().unix_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_branch_fork_schema(
        &self,
        branch: &BranchId,
        statements: &[String],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO branch_fork_schemas (branch_id, statements, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (branch_id) DO UPDATE SET statements = excluded.statements",
        )
        .bind(branch.as_str())
        .bind(serde_json::to_string(statements).map_err(|e| fork_corrupt(e.to_string()))?)
        .bind(Timestamp::now().unix_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn branch_fork_schema(&self, branch: &BranchId) -> StoreResult<Option<Vec<String>>> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT statements FROM branch_fork_schemas WHERE branch_id = ?")
                .bind(branch.as_str())
                .fetch_optional(&self.pool)
                .await?;
        text.map(|text| serde_json::from_str(&text).map_err(|e| fork_corrupt(e.to_string())))
            .transpose()
    }
}
