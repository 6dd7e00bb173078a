//! The oracle and the comparison: MariaDB's own `ALTER TABLE` on the twin, then rows (as
//! bytes), definitions and counters of two tables.

use std::collections::BTreeSet;

use mysql_async::Row;
use mysql_async::prelude::Queryable;

use crate::cases::Case;
use crate::harness::{Lane, ident};
use crate::support::mysql_root;

impl Lane {
    pub async fn oracle_alter(&self, ddl: &[String]) -> Result<(), String> {
        let mut root = self.root_in(&self.oracle_db).await;
        let global: String = root
            .query_first("SELECT @@GLOBAL.sql_mode")
            .await
            .unwrap()
            .unwrap_or_default();
        let mode = dbplane_engine::online_ddl::conversion_sql_mode(&global, true);
        root.query_drop(format!("SET SESSION sql_mode = '{mode}'"))
            .await
            .unwrap();
        let mut result = Ok(());
        for statement in ddl.iter().flat_map(|d| d.split(";\n")) {
            if let Err(error) = root.query_drop(statement).await {
                result = Err(format!("{statement}: {error}"));
                break;
            }
        }
        let _ = root.disconnect().await;
        result
    }

    /// Rows (as bytes, in any order), definitions and row count of two tables.
    pub async fn compare(
        &self,
        case: &Case,
        live: (&str, &str),
        twin: (&str, &str),
    ) -> Result<(), String> {
        let (live_create, live_rows) = self.snapshot(live.0, live.1).await?;
        let (twin_create, twin_rows) = self.snapshot(twin.0, twin.1).await?;
        if live_create != twin_create.replace(&ident(twin.1), &ident(live.1)) {
            return Err(format!(
                "definitions differ:\nlive: {live_create}\ntwin: {twin_create}"
            ));
        }
        if live_rows != twin_rows {
            let missing: Vec<_> = twin_rows.difference(&live_rows).take(3).collect();
            let extra: Vec<_> = live_rows.difference(&twin_rows).take(3).collect();
            return Err(format!(
                "{}: {} rows live, {} in the twin; twin only: {}; live only: {}",
                case.name,
                live_rows.len(),
                twin_rows.len(),
                show(&missing),
                show(&extra)
            ));
        }
        Ok(())
    }

    /// `SHOW CREATE TABLE` (without the counter) and every row as bytes.
    async fn snapshot(
        &self,
        db: &str,
        table: &str,
    ) -> Result<(String, BTreeSet<Vec<Option<Vec<u8>>>>), String> {
        let mut root = self.root_in(db).await;
        let create: Option<(String, String)> = root
            .query_first(format!("SHOW CREATE TABLE {}", ident(table)))
            .await
            .map_err(|e| format!("show create {table}: {e}"))?;
        let create = create.map(|(_, c)| c).unwrap_or_default();
        let create = without_counter(&create);
        let columns: Vec<(String, String)> = root
            .exec(
                "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (db, table),
            )
            .await
            .map_err(|e| e.to_string())?;
        // FLOAT prints 6 digits as text: compare its exact value as a DOUBLE.
        let select: Vec<String> = columns
            .iter()
            .map(|(name, data_type)| match data_type.as_str() {
                "float" => format!("CAST({} AS DOUBLE)", ident(name)),
                _ => ident(name),
            })
            .collect();
        root.query_drop("SET NAMES binary").await.unwrap();
        let rows: Vec<Row> = root
            .query(format!(
                "SELECT {} FROM {}",
                select.join(", "),
                ident(table)
            ))
            .await
            .map_err(|e| format!("select {table}: {e}"))?;
        let _ = root.disconnect().await;
        let rows = rows
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .map(|value| match value {
                        mysql_async::Value::NULL => None,
                        mysql_async::Value::Bytes(bytes) => Some(bytes),
                        other => Some(format!("{other:?}").into_bytes()),
                    })
                    .collect()
            })
            .collect();
        Ok((create, rows))
    }

    pub async fn auto_increment(&self, db: &str, table: &str) -> Option<u64> {
        let mut root = mysql_root(self.cluster_port).await;
        let counter: Option<Option<u64>> = root
            .exec_first(
                "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (db, table),
            )
            .await
            .unwrap();
        let _ = root.disconnect().await;
        counter.flatten()
    }
}

fn show(rows: &[&Vec<Option<Vec<u8>>>]) -> String {
    rows.iter()
        .map(|row| {
            let values: Vec<String> = row
                .iter()
                .map(|v| match v {
                    None => "NULL".into(),
                    Some(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
                })
                .collect();
            format!("({})", values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn without_counter(create: &str) -> String {
    create
        .split(' ')
        .filter(|word| !word.starts_with("AUTO_INCREMENT="))
        .collect::<Vec<_>>()
        .join(" ")
}
