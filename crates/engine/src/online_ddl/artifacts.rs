//! Cleanup: cancel before cutover, drop what a finished (or abandoned) change leaves.

use super::{OnlineDdl, OnlineDdlError, OnlineDdlResult, OnlineDdlState, Phase, sql};

impl OnlineDdl {
    /// Abandons a change before its cutover: drops the shadow. Idempotent. Refused once the
    /// tables were swapped (that is a revert, or the end of the revert window).
    pub async fn cancel(&self, state: &OnlineDdlState) -> OnlineDdlResult<()> {
        if matches!(state.phase, Phase::CutOver | Phase::Reverted) {
            return Err(OnlineDdlError::Invalid(format!(
                "`{}` was already cut over: it can only be reverted",
                state.table
            )));
        }
        let mut conn = self.conn().await?;
        // A swap the state has not recorded (a crash right after the RENAME) must not lose
        // the table that is live now.
        if !sql::table_exists(&mut conn, &state.database, &state.shadow_table).await?
            && sql::table_exists(&mut conn, &state.database, &state.old_table).await?
        {
            return Err(OnlineDdlError::Invalid(format!(
                "`{}` looks cut over (`{}` exists, `{}` does not): resume the cutover first",
                state.table, state.old_table, state.shadow_table
            )));
        }
        drop_tables(&mut conn, &state.database, &[&state.shadow_table]).await
    }

    /// Drops every table the change leaves besides the live one: the shadow, the kept
    /// original `_<t>_dbp_old` (the end of the revert window) and, after a revert, the
    /// new-schema `_<t>_dbp_rev`. Idempotent. Call it only when the change is over (after
    /// cutover or revert): before cutover it is the same as [`OnlineDdl::cancel`].
    pub async fn drop_artifacts(&self, state: &OnlineDdlState) -> OnlineDdlResult<()> {
        if !matches!(state.phase, Phase::CutOver | Phase::Reverted) {
            return self.cancel(state).await;
        }
        let mut conn = self.conn().await?;
        let reverted = state.reverted_table();
        let mut names = vec![state.shadow_table.as_str(), reverted.as_str()];
        // After a revert the old table is live again under its own name.
        if state.phase == Phase::CutOver {
            names.push(&state.old_table);
        }
        drop_tables(&mut conn, &state.database, &names).await
    }
}

async fn drop_tables(
    conn: &mut mysql_async::Conn,
    db: &str,
    tables: &[&str],
) -> OnlineDdlResult<()> {
    let list = tables
        .iter()
        .map(|t| sql::qualified(db, t))
        .collect::<Vec<_>>()
        .join(", ");
    crate::locks::bounded_ddl(
        conn,
        &format!("DROP TABLE IF EXISTS {list}"),
        crate::locks::DEFAULT_BUDGET,
    )
    .await?;
    Ok(())
}
