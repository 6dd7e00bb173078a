//! dbplane's deploy, driven as a user drives it: a branch of `main`, the ALTER run on the
//! branch over its own password, a deploy request (prepared before the timed window),
//! then — timed — `POST .../deploy` until the API reports the cutover done
//! (`complete_pending_revert`). `skip-revert` then ends the revert window.

use anyhow::{Context, Result, bail};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::methods::ChangeTimes;
use crate::platform::{DATABASE, Platform};
use crate::table::ALTER;

/// Between two GETs of the deploy request (bounds the timing error).
const POLL: Duration = Duration::from_millis(20);
/// Longest wait for a check or a deployment (1,000,000 rows on a busy 2-core machine).
const TIMEOUT: Duration = Duration::from_secs(1800);

/// A deploy request whose checks passed, waiting to be deployed.
pub struct Prepared {
    number: u64,
}

fn request_path(platform: &Platform, number: u64) -> String {
    format!(
        "{}/deploy-requests/{number}",
        platform.api.database_path(DATABASE)
    )
}

/// Branches `main`, changes `table` on the branch and opens a deploy request for it.
pub async fn prepare(platform: &Platform, table: &str) -> Result<Prepared> {
    let api = &platform.api;
    let branch = format!("dev-{}", table.replace('_', "-"));
    api.create_branch(DATABASE, &branch).await?;
    let login = api
        .mysql_password(DATABASE, &branch, &format!("{branch}-admin"))
        .await?;
    let mut conn = mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(login.host.as_str())
            .tcp_port(login.port)
            .user(Some(login.user.as_str()))
            .pass(Some(login.password.as_str()))
            .db_name(Some(login.database.as_str()))
            .prefer_socket(false),
    )
    .await
    .context("connect to the branch")?;
    conn.query_drop(format!("ALTER TABLE `{table}` {ALTER}"))
        .await?;
    conn.disconnect().await?;

    let path = format!("{}/deploy-requests", api.database_path(DATABASE));
    let body = json!({"branch": branch, "into_branch": "main", "auto_delete_branch": true});
    let (status, created) = api.post(&path, body).await?;
    if status != 201 {
        bail!("POST {path} answered {status}: {created}");
    }
    let number = created["number"]
        .as_u64()
        .with_context(|| format!("no number in {created}"))?;
    let checked = wait_for(platform, number, &["ready", "no_changes", "error"]).await?;
    if checked["deployment_state"] != "ready" {
        bail!("deploy request {number} is not deployable: {checked}");
    }
    Ok(Prepared { number })
}

/// Deploys a prepared request; `copy` ends when the API first reports the cutover phase.
pub async fn run(platform: &Platform, prepared: Prepared) -> Result<ChangeTimes> {
    let api = &platform.api;
    let path = request_path(platform, prepared.number);
    let started = Instant::now();
    let posted_at = crate::report::utc_now();
    let (status, body) = api.post(&format!("{path}/deploy"), json!({})).await?;
    if status != 200 {
        bail!("POST {path}/deploy answered {status}: {body}");
    }
    // (state, first seen at) in order, for the report.
    let mut seen: Vec<(String, Duration)> = Vec::new();
    let mut copy = None;
    let total = loop {
        let (status, current) = api.get(&path).await?;
        if status != 200 {
            bail!("GET {path} answered {status}: {current}");
        }
        let state = current["deployment_state"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let at = started.elapsed();
        if seen.last().is_none_or(|(last, _)| *last != state) {
            seen.push((state.clone(), at));
        }
        if copy.is_none() && is_past_copy(&state) {
            copy = Some(at);
        }
        if state == "complete_pending_revert" || state == "complete" {
            break at;
        }
        if state.contains("error") || state.contains("cancel") {
            bail!("deployment ended {state}: {current}");
        }
        if at > TIMEOUT {
            bail!("deployment not done after {TIMEOUT:?}: {current}");
        }
        tokio::time::sleep(POLL).await;
    };
    let (status, body) = api.post(&format!("{path}/skip-revert"), json!({})).await?;
    if status != 200 {
        bail!("POST {path}/skip-revert answered {status}: {body}");
    }
    wait_for(platform, prepared.number, &["complete"]).await?;
    let timeline = seen
        .iter()
        .map(|(state, at)| format!("{state} @ {:.2} s", at.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(" → ");
    Ok(ChangeTimes {
        copy: copy.unwrap_or(total),
        total,
        detail: format!(
            "deploy POSTed at {posted_at}; states seen by the API (polled every {POLL:?}): {timeline}"
        ),
    })
}

/// The copy is over once the deployment waits for or runs its cutover.
fn is_past_copy(state: &str) -> bool {
    matches!(
        state,
        "pending_cutover" | "in_progress_cutover" | "complete_pending_revert" | "complete"
    )
}

async fn wait_for(platform: &Platform, number: u64, states: &[&str]) -> Result<Value> {
    let path = request_path(platform, number);
    let started = Instant::now();
    loop {
        let (status, current) = platform.api.get(&path).await?;
        if status != 200 {
            bail!("GET {path} answered {status}: {current}");
        }
        if let Some(state) = current["deployment_state"].as_str()
            && states.contains(&state)
        {
            return Ok(current);
        }
        if started.elapsed() > TIMEOUT {
            bail!("{path} not in {states:?} after {TIMEOUT:?}: {current}");
        }
        tokio::time::sleep(POLL).await;
    }
}
