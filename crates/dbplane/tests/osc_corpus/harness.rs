//! Runs one corpus case the way a user meets it: a table on `main` with rows, writers
//! committing every kind of statement, a branch with the ALTER, a gated deploy request,
//! writes while it waits at `pending_cutover`, `apply-deploy`; then the migrated table is
//! compared byte for byte with the oracle.
//!
//! The oracle is MariaDB itself: every statement the writers commit to the live table is
//! committed, in the same order and with the same session settings (SQL mode, time zone,
//! `timestamp`), to a twin table in another database; once the writers stop, the twin gets
//! the deploy request's own `ddl_statement` as a plain `ALTER TABLE` (in the SQL mode the
//! platform documents for conversions). If that `ALTER` succeeds, the deploy must have
//! succeeded and the two tables must be equal: rows (as bytes), definition, and an
//! `AUTO_INCREMENT` that did not go back. If the `ALTER` refuses the rows, the deploy must
//! have ended in `complete_error` with the live table untouched.

use std::time::{Duration, Instant};

use dbplane_testkit::ApiClient;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

use crate::cases::{Case, Expect};
use crate::support::{Login, mysql_root, ready_branch};
use crate::workload::Writers;

/// Rows each table starts with.
pub const SEED_ROWS: u64 = 200;
/// Writer statements committed while the deployment waits at `pending_cutover`.
const GATED_WRITES: u64 = 40;
pub const STEP_TIMEOUT: Duration = Duration::from_secs(120);
/// The writers' `timestamp` (NOW(), CURRENT_TIMESTAMP defaults) starts here: 2026-01-01.
pub const CLOCK: u64 = 1_767_225_600;

/// A database of the corpus: its `main` runs one case at a time.
pub struct Lane {
    pub path: String,
    /// `main`'s physical database.
    pub main_db: String,
    /// Where the twins live.
    pub oracle_db: String,
    /// A `readwriter` password of `main`.
    pub writer: Login,
    pub cluster_port: u16,
}

impl Lane {
    pub async fn create(
        client: &ApiClient,
        organization: &str,
        name: &str,
        cluster_port: u16,
    ) -> Lane {
        crate::support::ready_database(client, organization, name, "mysql").await;
        let path = format!("/v1/organizations/{organization}/databases/{name}");
        let writer = password(client, &path, "main", "readwriter").await;
        let enabled = client
            .post(&format!("{path}/branches/main/safe-migrations"), json!({}))
            .await;
        assert_eq!(enabled.status, 200, "{}", enabled.body);
        let oracle_db = format!("oracle_{name}");
        let mut root = mysql_root(cluster_port).await;
        root.query_drop(format!(
            "CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            ident(&oracle_db)
        ))
        .await
        .unwrap();
        let _ = root.disconnect().await;
        Lane {
            path,
            main_db: writer.physical.clone(),
            oracle_db,
            writer,
            cluster_port,
        }
    }

    pub async fn root_in(&self, db: &str) -> Conn {
        let mut root = mysql_root(self.cluster_port).await;
        root.query_drop(format!("USE {}", ident(db))).await.unwrap();
        root
    }

    async fn deploy_request(&self, client: &ApiClient, number: u64) -> Value {
        let response = client
            .get(&format!("{}/deploy-requests/{number}", self.path))
            .await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.body
    }

    async fn wait_for(
        &self,
        client: &ApiClient,
        number: u64,
        states: &[&str],
    ) -> Result<Value, String> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let request = self.deploy_request(client, number).await;
            let state = request["deployment_state"].as_str().unwrap_or_default();
            if states.contains(&state) {
                return Ok(request);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "deploy request {number} never reached {states:?}: {request}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn post(&self, client: &ApiClient, number: u64, action: &str) -> Result<Value, String> {
        let response = client
            .post(
                &format!("{}/deploy-requests/{number}/{action}", self.path),
                json!({}),
            )
            .await;
        if response.status != 200 {
            return Err(format!("{action}: {} {}", response.status, response.body));
        }
        Ok(response.body)
    }

    /// Runs `case` end to end; `Err` says what went wrong.
    pub async fn run(&self, client: &ApiClient, index: usize, case: &Case) -> Result<(), String> {
        let table = case.table_name(index);
        let keep = format!("{table}_keep");
        let ddl_table = ident(&table);
        // The table, on `main` and as twins (one to ALTER, one kept as it is).
        for (db, name) in [
            (&self.main_db, &table),
            (&self.oracle_db, &table),
            (&self.oracle_db, &keep),
        ] {
            let mut root = self.root_in(db).await;
            root.query_drop(format!("SET SESSION {}", case.session_settings()))
                .await
                .map_err(|e| format!("session: {e}"))?;
            root.query_drop(case.create(name))
                .await
                .map_err(|e| format!("create: {e}"))?;
            let rows: Vec<String> = (1..=SEED_ROWS).map(|n| (case.row)(n)).collect();
            root.query_drop(format!(
                "SET timestamp = {CLOCK}; INSERT INTO {} ({}) VALUES {}",
                ident(name),
                case.insert,
                rows.join(", ")
            ))
            .await
            .map_err(|e| format!("seed: {e}"))?;
            // The top ids go: the AUTO_INCREMENT counter is now above the highest id.
            root.query_drop(format!(
                "DELETE FROM {} WHERE id > {}",
                ident(name),
                SEED_ROWS - 5
            ))
            .await
            .map_err(|e| format!("seed delete: {e}"))?;
            let _ = root.disconnect().await;
        }
        let counter_before = self.auto_increment(&self.main_db, &table).await;

        let writers = Writers::start(self, case, index, &table).await?;
        let mut number = None;
        let outcome = self
            .deploy(client, index, case, &table, &writers, &mut number)
            .await;
        let written = writers.stop().await;
        let result = match outcome {
            Err(error) => Err(error),
            Ok(Deployed::Refused) => Ok(()),
            Ok(Deployed::Failed(message)) => {
                self.expect_oracle_refusal(case, &table, &keep, &message)
                    .await
            }
            Ok(Deployed::CutOver(number, ddl)) => {
                let compared = self
                    .expect_oracle_equal(case, &table, &ddl, counter_before)
                    .await;
                match compared {
                    Ok(()) if case.revert => {
                        self.revert(client, case, index, number, &table, &keep)
                            .await
                    }
                    other => other,
                }
            }
        };
        let result = result.and_then(|()| match written {
            Ok(count) if count > 0 => Ok(()),
            Ok(_) => Err("the writers committed nothing".into()),
            Err(error) => Err(error),
        });
        if let Some(number) = number {
            self.finish_request(client, number).await;
        }
        self.clean_up(client, index, &table, &keep, &ddl_table)
            .await;
        result
    }

    /// Whatever happened, the deploy request leaves the queue free for the next case.
    async fn finish_request(&self, client: &ApiClient, number: u64) {
        let request = self.deploy_request(client, number).await;
        let action = match request["deployment_state"].as_str().unwrap_or_default() {
            "complete_pending_revert" => "skip-revert",
            "complete_error" => "complete-deploy",
            "pending_cutover" | "in_progress" | "queued" | "submitting" => "cancel",
            _ => "close",
        };
        let _ = self.post(client, number, action).await;
        let _ = self
            .wait_for(
                client,
                number,
                &[
                    "complete",
                    "complete_revert",
                    "complete_cancel",
                    "cancelled",
                    "complete_error",
                    "ready",
                    "no_changes",
                    "error",
                ],
            )
            .await;
    }

    async fn deploy(
        &self,
        client: &ApiClient,
        index: usize,
        case: &Case,
        table: &str,
        writers: &Writers,
        number_out: &mut Option<u64>,
    ) -> Result<Deployed, String> {
        let branch = format!("case{index}");
        ready_branch(client, &self.path, &branch, Some("main")).await;
        let admin = password(client, &self.path, &branch, "admin").await;
        let mut conn = admin.mysql().await.map_err(|e| e.to_string())?;
        conn.query_drop(format!("ALTER TABLE {} {}", ident(table), case.alter))
            .await
            .map_err(|e| format!("the ALTER on the branch: {e}"))?;
        let _ = conn.disconnect().await;
        writers.wait_for_more(20).await?;

        let created = client
            .post(
                &format!("{}/deploy-requests", self.path),
                json!({"branch": branch, "into_branch": "main", "auto_cutover": false}),
            )
            .await;
        if created.status != 201 {
            return Err(format!("open: {} {}", created.status, created.body));
        }
        let number = created.body["number"].as_u64().unwrap();
        *number_out = Some(number);
        let checked = self
            .wait_for(client, number, &["ready", "no_changes", "error"])
            .await?;
        let ddl: Vec<String> = checked["deployment"]["deploy_operations"]
            .as_array()
            .map(|operations| {
                operations
                    .iter()
                    .filter_map(|o| o["ddl_statement"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let state = checked["deployment_state"].as_str().unwrap_or_default();
        if let Expect::Refused(reason) = case.expect {
            let said = format!(
                "{} {}",
                checked["deployment"]["deploy_check_errors"], checked["deployment"]["lint_errors"]
            );
            let _ = self.post(client, number, "close").await;
            return if state == "error" && said.contains(reason) {
                Ok(Deployed::Refused)
            } else {
                Err(format!(
                    "expected a refusal naming {reason:?}, got {state}: {said}"
                ))
            };
        }
        if state != "ready" {
            return Err(format!("checks: {state}: {checked}"));
        }
        if let Some(expected) = case.ddl_contains
            && !ddl.iter().any(|d| d.contains(expected))
        {
            return Err(format!("the deploy's statement {ddl:?} lacks {expected:?}"));
        }
        self.post(client, number, "deploy").await?;
        let waiting = self
            .wait_for(client, number, &["pending_cutover", "complete_error"])
            .await?;
        if waiting["deployment_state"] == "complete_error" {
            return Ok(Deployed::Failed(waiting.to_string()));
        }
        // Writes that only the change stream can carry: the copy is done.
        writers.wait_for_more(GATED_WRITES).await?;
        writers.pause().await?;
        self.post(client, number, "apply-deploy").await?;
        let done = self
            .wait_for(
                client,
                number,
                &["complete_pending_revert", "complete_error"],
            )
            .await?;
        if done["deployment_state"] == "complete_error" {
            return Ok(Deployed::Failed(done.to_string()));
        }
        Ok(Deployed::CutOver(number, ddl))
    }

    /// The deploy cut over: the twin, altered the same way, must equal the live table.
    async fn expect_oracle_equal(
        &self,
        case: &Case,
        table: &str,
        ddl: &[String],
        counter_before: Option<u64>,
    ) -> Result<(), String> {
        if let Err(refused) = self.oracle_alter(ddl).await {
            return Err(format!(
                "the deploy cut over, but MariaDB's own ALTER refuses the rows: {refused}"
            ));
        }
        self.compare(case, (&self.main_db, table), (&self.oracle_db, table))
            .await?;
        let after = self.auto_increment(&self.main_db, table).await;
        let twin = self.auto_increment(&self.oracle_db, table).await;
        if after < counter_before || after < twin {
            return Err(format!(
                "AUTO_INCREMENT went back: {after:?} after the deploy, {counter_before:?} before, twin {twin:?}"
            ));
        }
        Ok(())
    }

    /// The deploy failed: MariaDB's own ALTER must refuse the rows too, and the live table
    /// must be untouched (equal to the twin that was not altered).
    async fn expect_oracle_refusal(
        &self,
        case: &Case,
        table: &str,
        keep: &str,
        message: &str,
    ) -> Result<(), String> {
        self.compare(case, (&self.main_db, table), (&self.oracle_db, keep))
            .await
            .map_err(|e| format!("the deploy failed ({message}) and the table changed: {e}"))?;
        let request: Value = serde_json::from_str(message).unwrap_or_default();
        let operations = request["deployment"]["deploy_operations"].clone();
        let ddl: Vec<String> = operations
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["ddl_statement"].as_str().map(String::from))
            .collect();
        match self.oracle_alter(&ddl).await {
            Err(_) => Ok(()),
            Ok(()) => Err(format!(
                "the deploy failed, but MariaDB's own ALTER keeps every row: {}",
                request["deployment"]["deploy_check_errors"]
            )),
        }
    }

    /// Writes in the revert window, then `revert`: the old-schema table must hold exactly
    /// what the never-altered twin holds.
    async fn revert(
        &self,
        client: &ApiClient,
        case: &Case,
        index: usize,
        number: u64,
        table: &str,
        keep: &str,
    ) -> Result<(), String> {
        // The live table (new schema), the altered twin and the kept one all follow.
        let writers = Writers::start(self, case, index + 10_000, table).await?;
        writers.wait_for_more(GATED_WRITES).await?;
        let written = writers.stop().await?;
        if written == 0 {
            return Err("no writes in the revert window".into());
        }
        self.post(client, number, "revert").await?;
        let reverted = self
            .wait_for(
                client,
                number,
                &["complete_revert", "complete_revert_error"],
            )
            .await?;
        if reverted["deployment_state"] != "complete_revert" {
            return Err(format!("revert: {reverted}"));
        }
        self.compare(case, (&self.main_db, table), (&self.oracle_db, keep))
            .await
            .map_err(|e| format!("after the revert: {e}"))
    }

    async fn clean_up(
        &self,
        client: &ApiClient,
        index: usize,
        table: &str,
        keep: &str,
        ddl_table: &str,
    ) {
        let _ = client
            .delete(&format!("{}/branches/case{index}", self.path))
            .await;
        let mut root = mysql_root(self.cluster_port).await;
        for suffix in ["", "_dbp_new", "_dbp_old", "_dbp_rev", "_dbp_drop"] {
            let name = if suffix.is_empty() {
                table.to_string()
            } else {
                format!("_{table}{suffix}")
            };
            let _ = root
                .query_drop(format!(
                    "DROP TABLE IF EXISTS {}.{}",
                    ident(&self.main_db),
                    ident(&name)
                ))
                .await;
        }
        let _ = root
            .query_drop(format!(
                "DROP TABLE IF EXISTS {db}.{ddl_table}, {db}.{}",
                ident(keep),
                db = ident(&self.oracle_db)
            ))
            .await;
        let _ = root.disconnect().await;
    }
}

/// How a case's deploy ended.
enum Deployed {
    /// Refused at check time, as expected.
    Refused,
    /// `complete_error` (the deploy request as JSON).
    Failed(String),
    /// Cut over: the request number and its statements.
    CutOver(u64, Vec<String>),
}

/// A password of `role` on a branch of the database at `path`.
async fn password(client: &ApiClient, path: &str, branch: &str, role: &str) -> Login {
    let created = client
        .post(
            &format!("{path}/branches/{branch}/passwords"),
            json!({"name": format!("{branch}-{role}"), "role": role}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    Login::from_password(&created.body)
}

pub use dbplane_schema::quote::mariadb_ident as ident;
