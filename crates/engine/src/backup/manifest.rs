//! The manifest: the record of a complete backup, written last as
//! `<backup_id>/manifest.json`, and what it says about each table and object.

use serde::{Deserialize, Serialize};

use super::BackupError;
use crate::cluster::ClusterKind;
use crate::physical::{SchemaObject, SchemaObjectKind};

/// The manifest format this code writes. 2: a MariaDB table's rows may be split into
/// several objects ([`ManifestTable::parts`]) and a PostgreSQL archive into several
/// objects concatenated in order. 3: MariaDB data objects hold `LOAD DATA` text
/// (tab-separated rows of [`ManifestTable::columns`]) instead of `INSERT` statements; a
/// PostgreSQL table's rows are `COPY` text objects listed as its parts, and the archive
/// (the objects no table lists) holds everything else.
pub const MANIFEST_FORMAT: u32 = 3;
/// The oldest format this code still reads (1: one object per MariaDB table, one archive
/// object per PostgreSQL backup; both are special cases of format 2).
pub const OLDEST_MANIFEST_FORMAT: u32 = 1;
/// The key of a backup's manifest, relative to its prefix.
pub(super) const MANIFEST_NAME: &str = "manifest.json";

/// One table or view of the backed-up schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSchemaObject {
    /// The object's name.
    pub name: String,
    /// `table` or `view`.
    pub kind: String,
    /// Its CREATE statement, as [`ClusterAdmin::schema`] gives it.
    pub definition: String,
}

/// One table's data in a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestTable {
    /// The table's name.
    pub name: String,
    /// Rows at the snapshot.
    pub rows: u64,
    /// Format 1 (MariaDB): the one object holding its rows. `None` in format 2, and where
    /// one archive holds every table (PostgreSQL).
    #[serde(default)]
    pub object: Option<String>,
    /// Format 2 and later: the objects holding its rows, in order (MariaDB: one per
    /// primary-key range; PostgreSQL, format 3: the `COPY` text cut every ~32 MB).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<ManifestPart>,
    /// Format 3 (MariaDB): the columns of each data row, in order (the stored columns;
    /// generated ones are recomputed). Empty for PostgreSQL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ManifestColumn>,
    /// PostgreSQL, format 3: the table's indexes (its key constraints' too), built as soon
    /// as its rows are in. Empty for MariaDB.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<String>,
}

/// A column of a table's data rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestColumn {
    /// The column's name.
    pub name: String,
    /// A `BIT` column, written as its number (`LOAD DATA` cannot read bits directly).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bit: bool,
}

impl ManifestTable {
    /// The objects holding the table's rows, whatever the format.
    pub fn data_parts(&self) -> Vec<ManifestPart> {
        match &self.object {
            Some(object) => vec![ManifestPart {
                object: object.clone(),
                rows: self.rows,
            }],
            None => self.parts.clone(),
        }
    }
}

/// One object of a table's rows (a primary-key range of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPart {
    /// The object's key.
    pub object: String,
    /// Rows in it.
    pub rows: u64,
}

/// One stored object of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestObject {
    /// The key in the store.
    pub key: String,
    /// sha256 of the stored (compressed) bytes, lowercase hex.
    pub sha256: String,
    /// Stored (compressed) size in bytes.
    pub size: u64,
    /// Size before compression.
    pub uncompressed_size: u64,
}

/// The record of a complete backup, written last as `<backup_id>/manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The backup's id (also its key prefix).
    pub backup_id: String,
    /// `mysql` or `postgresql`.
    pub engine: String,
    /// The server's `version()`.
    pub server_version: String,
    /// The physical database backed up.
    pub database: String,
    /// Where the snapshot sits in the server's log: MariaDB `binlog_file:position` (and
    /// GTID), PostgreSQL the WAL LSN.
    pub snapshot_position: String,
    /// Tables and views at backup time, sorted by name.
    pub schema: Vec<ManifestSchemaObject>,
    /// The tables with their row counts.
    pub tables: Vec<ManifestTable>,
    /// Every data object.
    pub objects: Vec<ManifestObject>,
    /// Sum of the objects' stored sizes.
    pub size: u64,
    /// Sum of the objects' uncompressed sizes.
    pub uncompressed_size: u64,
    /// RFC 3339, when the snapshot was taken.
    pub started_at: String,
    /// RFC 3339, when the last object was stored.
    pub completed_at: String,
}

impl BackupManifest {
    /// The schema as one text (the API's schema snapshot): each definition followed by
    /// `;` and a blank line.
    pub fn schema_snapshot(&self) -> String {
        self.schema
            .iter()
            .map(|object| format!("{};\n\n", object.definition.trim_end()))
            .collect()
    }

    /// The engine of the backup.
    pub fn kind(&self) -> Result<ClusterKind, BackupError> {
        match self.engine.as_str() {
            "mysql" => Ok(ClusterKind::Mysql),
            "postgresql" => Ok(ClusterKind::Postgresql),
            other => Err(BackupError::Manifest(format!("unknown engine {other:?}"))),
        }
    }
}

pub(super) fn check_format(format: u32) -> Result<(), String> {
    if (OLDEST_MANIFEST_FORMAT..=MANIFEST_FORMAT).contains(&format) {
        Ok(())
    } else {
        Err(format!(
            "manifest format {format}, this build reads {OLDEST_MANIFEST_FORMAT} to {MANIFEST_FORMAT}"
        ))
    }
}

pub(super) fn manifest_key(backup_id: &str) -> String {
    format!("{backup_id}/{MANIFEST_NAME}")
}

impl From<&SchemaObject> for ManifestSchemaObject {
    fn from(object: &SchemaObject) -> Self {
        ManifestSchemaObject {
            name: object.name.clone(),
            kind: match object.kind {
                SchemaObjectKind::Table => "table",
                SchemaObjectKind::View => "view",
            }
            .to_string(),
            definition: object.definition.clone(),
        }
    }
}

/// One stored object of a table's rows, as a dump session made it.
pub(crate) struct StoredPart {
    /// The table's position in the manifest's tables.
    pub(crate) table: usize,
    /// The part's position in the table.
    pub(crate) part: usize,
    pub(crate) rows: u64,
    pub(crate) object: ManifestObject,
}

/// Lists `parts` in `tables` (rows added up, parts in order) and returns their objects in
/// the same order.
pub(crate) fn add_parts(
    tables: &mut [ManifestTable],
    mut parts: Vec<StoredPart>,
) -> Vec<ManifestObject> {
    parts.sort_by_key(|part| (part.table, part.part));
    let mut objects = Vec::new();
    for part in parts {
        let table = &mut tables[part.table];
        table.rows += part.rows;
        table.parts.push(ManifestPart {
            object: part.object.key.clone(),
            rows: part.rows,
        });
        objects.push(part.object);
    }
    objects
}
