//! Writing a staged batch to the target, row by row when the server refuses it, deferring
//! what may be transient (see the `stage` module docs for the rules).

use std::collections::HashSet;

use mysql_async::Value;
use mysql_async::prelude::Queryable;

use super::route::{Change, Route, identity_key};
use super::sql::{self, KeyValue};
use super::stage::{
    OP, OP_DELETE, OP_RESYNC, OP_UPSERT, RESYNC_ATTEMPTS, RowSource, SEQ, Statements, Writer,
    duplicate_key_name,
};
use super::warnings::{self, Warnings};
use super::{DeferredRow, OnlineDdlResult};
use dbplane_schema::online::same_name;

impl Writer {
    /// Applies one batch (each row's last change) to the route's target. `source_readable`
    /// is false while the source is locked for the swap: then nothing can be deferred.
    pub(crate) async fn flush(
        &mut self,
        route: &Route,
        deferred: &mut Vec<DeferredRow>,
        mut changes: Vec<Change>,
        source_readable: bool,
    ) -> OnlineDdlResult<u64> {
        if changes.is_empty() {
            return Ok(0);
        }
        let count = changes.len() as u64;
        let stage = self.stage_index(route).await?;
        for change in &mut changes {
            for &(column, length) in &self.stages[stage].fixed_binary {
                if let Some(Value::Bytes(bytes)) = change.image.get_mut(column)
                    && bytes.len() < length
                {
                    bytes.resize(length, 0);
                }
            }
        }
        let identities: Vec<Vec<Value>> = changes
            .iter()
            .map(|c| route.identity_of(&c.image))
            .collect();
        // A later change decides these rows again.
        let touched: HashSet<Vec<u8>> = identities.iter().map(|i| identity_key(i)).collect();
        deferred.retain(|row| !touched.contains(&identity_key(&row.values())));
        let deletes: Vec<bool> = changes.iter().map(|c| c.delete).collect();
        self.stage_rows(
            stage,
            &route.source_columns,
            changes.into_iter().enumerate().map(|(seq, c)| {
                (
                    seq as u32,
                    if c.delete { OP_DELETE } else { OP_UPSERT },
                    c.image,
                )
            }),
        )
        .await?;

        self.conn.query_drop("START TRANSACTION").await?;
        match self.write(route, stage, RowSource::Staged, None).await? {
            Ok(()) => {
                self.conn.query_drop("COMMIT").await?;
                return Ok(count);
            }
            Err(refused) => {
                self.conn.query_drop("ROLLBACK").await?;
                tracing::debug!(table = %route.source, reason = %refused, "batch refused; row by row");
            }
        }
        for (seq, delete) in deletes.iter().enumerate() {
            let seq = seq as u32;
            self.conn.query_drop("START TRANSACTION").await?;
            let written = if *delete {
                self.write(route, stage, RowSource::Staged, Some(seq))
                    .await?
            } else {
                self.write_resolving(route, stage, RowSource::Staged, seq, deletes.len())
                    .await?
            };
            match written {
                Ok(()) => self.conn.query_drop("COMMIT").await?,
                Err(reason) => {
                    self.conn.query_drop("ROLLBACK").await?;
                    if !source_readable {
                        return Err(route.lost(reason));
                    }
                    let values = identities[seq as usize].clone();
                    tracing::debug!(table = %route.source, %reason, "row deferred until the source is caught up");
                    if !deferred.iter().any(|row| row.values() == values) {
                        deferred.push(DeferredRow {
                            identity: values.into_iter().map(KeyValue::from).collect(),
                            attempts: 0,
                            reason,
                        });
                    }
                }
            }
        }
        Ok(count)
    }

    /// Re-synchronises deferred rows from the source's current content (call it when the
    /// stream has just caught up). A row that fits leaves the list; one that failed
    /// [`RESYNC_ATTEMPTS`] catch-ups is lost.
    pub(crate) async fn resync(
        &mut self,
        route: &Route,
        deferred: &mut Vec<DeferredRow>,
    ) -> OnlineDdlResult<()> {
        if deferred.is_empty() {
            return Ok(());
        }
        let stage = self.stage_index(route).await?;
        let identity_columns: Vec<String> = route
            .identity
            .iter()
            .map(|&i| route.source_columns[i].clone())
            .collect();
        self.stage_rows(
            stage,
            &identity_columns,
            deferred
                .iter()
                .enumerate()
                .map(|(seq, row)| (seq as u32, OP_RESYNC, row.values())),
        )
        .await?;
        let mut kept = Vec::new();
        let mut lost = None;
        for (seq, mut row) in std::mem::take(deferred).into_iter().enumerate() {
            if lost.is_none() {
                let seq = seq as u32;
                self.conn.query_drop("START TRANSACTION").await?;
                match self
                    .write_resolving(route, stage, RowSource::Live, seq, 0)
                    .await?
                {
                    Ok(()) => {
                        self.conn.query_drop("COMMIT").await?;
                        continue;
                    }
                    Err(reason) => {
                        self.conn.query_drop("ROLLBACK").await?;
                        row.attempts += 1;
                        row.reason = reason;
                        if row.attempts >= RESYNC_ATTEMPTS {
                            lost = Some(row.reason.clone());
                        }
                    }
                }
            }
            kept.push(row);
        }
        *deferred = kept;
        match lost {
            Some(reason) => Err(route.lost(reason)),
            None => Ok(()),
        }
    }

    /// Writes staged rows to the target inside the caller's transaction: all of them
    /// (`seq` None) or one. Deletes go by identity; an upsert updates the row of its identity
    /// (columns the source does not feed keep their values: a revert keeps what the old
    /// table alone holds) and inserts it when it is missing. `Ok(Err(reason))`: the server
    /// refused, or its warnings say a value would change.
    async fn write(
        &mut self,
        route: &Route,
        stage: usize,
        from: RowSource,
        seq: Option<u32>,
    ) -> OnlineDdlResult<Result<(), String>> {
        let statements = self.statements(route, stage, from, seq.is_some());
        let params: Vec<Value> = seq
            .map(|s| vec![Value::UInt(u64::from(s))])
            .unwrap_or_default();
        for statement in [&statements.delete, &statements.update, &statements.insert] {
            match self.conn.exec_drop(statement, params.clone()).await {
                Ok(()) => {}
                Err(mysql_async::Error::Server(refused)) => return Ok(Err(refused.message)),
                Err(other) => return Err(other.into()),
            }
            match warnings::judge(&mut self.conn, &[]).await? {
                Warnings::Harmless => {}
                Warnings::Lossy(reason) | Warnings::NewKeyDuplicate(reason) => {
                    return Ok(Err(reason));
                }
            }
        }
        Ok(Ok(()))
    }

    /// [`Writer::write`] of one upsert, removing stale rows it collides with: on a key the
    /// source implies, any; on another, rows this batch writes again later (`batch` rows).
    async fn write_resolving(
        &mut self,
        route: &Route,
        stage: usize,
        from: RowSource,
        seq: u32,
        batch: usize,
    ) -> OnlineDdlResult<Result<(), String>> {
        let mut resolved: Vec<String> = Vec::new();
        loop {
            let reason = match self.write(route, stage, from, Some(seq)).await? {
                Ok(()) => return Ok(Ok(())),
                Err(reason) => reason,
            };
            let Some(key) = duplicate_key_name(&reason).filter(|key| !resolved.contains(key))
            else {
                return Ok(Err(reason));
            };
            let Some(on) = self.key_match(route, stage, &key, from.alias()) else {
                return Ok(Err(reason));
            };
            let implied = route.implied_keys.contains(&key);
            let name = &self.stages[stage].name;
            let later_in_batch = if implied {
                String::new()
            } else if (seq as usize + 1) < batch {
                format!(
                    " AND EXISTS (SELECT 1 FROM {name} AS l WHERE {} AND l.{} > {seq})",
                    route.identity_match("t", "l"),
                    sql::ident(SEQ)
                )
            } else {
                return Ok(Err(reason));
            };
            self.conn
                .exec_drop(
                    format!(
                        "DELETE t FROM {} AS t JOIN {} ON {on} WHERE g.{} = ? AND NOT ({}){later_in_batch}",
                        sql::qualified(&route.db, &route.target),
                        from.clause(route, name),
                        sql::ident(SEQ),
                        route.identity_match("t", from.alias()),
                    ),
                    (seq,),
                )
                .await?;
            if self.conn.affected_rows() == 0 {
                return Ok(Err(reason));
            }
            resolved.push(key);
        }
    }

    /// The delete, update and insert of [`Writer::write`].
    fn statements(&self, route: &Route, stage: usize, from: RowSource, one: bool) -> Statements {
        let name = &self.stages[stage].name;
        let target = sql::qualified(&route.db, &route.target);
        let alias = from.alias();
        let clause = from.clause(route, name);
        let seq = sql::ident(SEQ);
        let op = sql::ident(OP);
        let only = if one {
            format!(" AND g.{seq} = ?")
        } else {
            String::new()
        };
        let (delete, upserts) = match from {
            // A staged delete, or a deferred row the source no longer has.
            RowSource::Staged => (
                format!(
                    "DELETE t FROM {target} AS t JOIN {clause} ON {} WHERE g.{op} = {OP_DELETE}{only}",
                    route.identity_match("t", alias)
                ),
                format!("g.{op} = {OP_UPSERT}{only}"),
            ),
            RowSource::Live => (
                format!(
                    "DELETE t FROM {target} AS t JOIN {name} AS g ON {} WHERE TRUE{only} AND NOT EXISTS \
                     (SELECT 1 FROM {} AS s WHERE {})",
                    route.identity_match("t", "g"),
                    sql::qualified(&route.db, &route.source),
                    route.identity_match_sources("s", "g"),
                ),
                format!("TRUE{only}"),
            ),
        };
        let assignments = route
            .target_columns
            .iter()
            .zip(&route.source_columns)
            .map(|(t, s)| format!("t.{} = {alias}.{}", sql::ident(t), sql::ident(s)))
            .collect::<Vec<_>>()
            .join(", ");
        Statements {
            delete,
            update: format!(
                "UPDATE {target} AS t JOIN {clause} ON {} SET {assignments} WHERE {upserts}",
                route.identity_match("t", alias)
            ),
            insert: format!(
                "INSERT INTO {target} ({}) SELECT {} FROM {clause} WHERE {upserts} \
                 AND NOT EXISTS (SELECT 1 FROM {target} AS e WHERE {}) ORDER BY g.{seq}",
                route.target_list(),
                route.source_list(alias),
                route.identity_match("e", alias),
            ),
        }
    }

    /// `t.k = x.s AND …` for the target's unique key `key`, when every column of it is fed
    /// from the source.
    fn key_match(&self, route: &Route, stage: usize, key: &str, alias: &str) -> Option<String> {
        let (_, columns) = self.stages[stage]
            .target_keys
            .iter()
            .find(|(name, _)| name == key)?;
        columns
            .iter()
            .map(|column| {
                let index = route
                    .target_columns
                    .iter()
                    .position(|t| same_name(t, column))?;
                Some(format!(
                    "t.{} = {alias}.{}",
                    sql::ident(&route.target_columns[index]),
                    sql::ident(&route.source_columns[index])
                ))
            })
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join(" AND "))
    }
}
