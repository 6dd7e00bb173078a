//! Reads a table's [`TableShape`] (the online schema change's view of its columns and
//! unique keys, see `dbplane_schema::online`) from `information_schema`.

use dbplane_schema::online::{ColumnShape, KeyPart, TableShape, TypeFamily, UniqueKey};
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::OnlineDdlResult;

pub(crate) async fn read_shape(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> OnlineDdlResult<TableShape> {
    let columns: Vec<(String, String, String, Option<String>, String, String)> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLLATION_NAME, IS_NULLABLE, IS_GENERATED \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await?;
    let parts: Vec<(String, String, Option<u64>)> = conn
        .exec(
            "SELECT INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
             ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX",
            (db, table),
        )
        .await?;
    let mut unique_keys: Vec<UniqueKey> = Vec::new();
    for (index, column, prefix) in parts {
        let part = KeyPart { column, prefix };
        match unique_keys.last_mut() {
            Some(key) if key.name == index => key.parts.push(part),
            _ => unique_keys.push(UniqueKey {
                name: index,
                parts: vec![part],
            }),
        }
    }
    Ok(TableShape {
        columns: columns
            .into_iter()
            .map(
                |(name, data_type, column_type, collation, nullable, generated)| ColumnShape {
                    name,
                    column_type,
                    family: TypeFamily::of_data_type(&data_type),
                    collation,
                    nullable: nullable == "YES",
                    generated: generated != "NEVER",
                },
            )
            .collect(),
        unique_keys,
    })
}
